"""Phonemes via piper's bundled espeak-ng bridge (no system espeak needed).

espeak-ng is a process-wide C library with global state, so every call goes
through one lock.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence

from piper.const import BOS, EOS, PAD
from piper.phonemize_espeak import EspeakPhonemizer

_LOCK = threading.Lock()
_PHONEMIZER: EspeakPhonemizer | None = None


def phonemize(text: str, espeak_voice: str) -> list[list[str]]:
    """Text → phonemes grouped by sentence (espeak's own sentence split)."""
    global _PHONEMIZER
    with _LOCK:
        if _PHONEMIZER is None:
            _PHONEMIZER = EspeakPhonemizer()
        sentences = _PHONEMIZER.phonemize(espeak_voice, text)
    return [s for s in sentences if any(p.strip() for p in s)]


def phoneme_ids(
    phonemes: Sequence[str], id_map: Mapping[str, Sequence[int]]
) -> tuple[list[int], set[str]]:
    """Phonemes → model ids in Piper's layout (BOS, PAD between phonemes, EOS).

    Returns the ids and the phonemes the voice does not know (skipped).
    """
    ids, _, missing = phoneme_id_spans(phonemes, id_map)
    return ids, missing


def phoneme_id_spans(
    phonemes: Sequence[str], id_map: Mapping[str, Sequence[int]]
) -> tuple[list[int], list[tuple[int, int]], set[str]]:
    """:func:`phoneme_ids` plus, per phoneme, the range of ids it became (its own ids and the
    PAD after it, as Piper's alignments count them; empty for a phoneme the voice lacks), so
    the model's per-id durations can be read back as phoneme times."""
    ids: list[int] = [*id_map[BOS], *id_map[PAD]]
    spans: list[tuple[int, int]] = []
    missing: set[str] = set()
    for phoneme in phonemes:
        mapped = id_map.get(phoneme)
        if mapped is None:
            missing.add(phoneme)
            spans.append((len(ids), len(ids)))
            continue
        start = len(ids)
        ids.extend(mapped)
        ids.extend(id_map[PAD])
        spans.append((start, len(ids)))
    ids.extend(id_map[EOS])
    return ids, spans, missing
