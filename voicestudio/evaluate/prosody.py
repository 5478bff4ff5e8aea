"""Pitch and tempo statistics of a voice, pooled over many clips.

A clone can sound like its speaker in timbre yet speak at someone else's pitch or
pace (the base voice's duration predictor is frozen during fine-tuning), so a
voice's prosody is measured beside its similarity score and stored in its sidecar.

F0 comes from the tracker styling uses: RAPT (pysptk) refined by WORLD's StoneMask,
on 5 ms frames. The search range is 50-500 Hz: it holds low male voices (down to
~60 Hz in creak-free speech) and high female ones (up to ~400 Hz when excited), and
one range for every voice keeps statistics comparable. Statistics pool the voiced
frames of all clips (a clip's median of a few voiced frames would count as much as a
long clip's), and percentiles (10th / 90th) rather than extremes are reported, since
an odd octave slip of the tracker lands in the tails.

pysptk's RAPT keeps state from one call to the next, so the same clip analysed twice
can differ in a few frames (measured on a real 8 s clip: 5 of 794 voiced frames by
more than 1 %, percentiles by under 0.2 %): figures reproduce to that level, not bit
for bit.

Speaking rate is phoneme symbols per second of speech: espeak-ng's phonemes of the
transcript (as the voice model sees them) over the time Silero VAD marks as speech,
so pauses between phrases do not count as slow speech.
"""

from __future__ import annotations

import math
import unicodedata
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import numpy as np

from voicestudio.audio.cleanup import prepare_samples, speech_segments
from voicestudio.audio.io import resample

with warnings.catch_warnings():
    # pyworld imports pkg_resources only for its version (see styling/world.py).
    warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)
    import pysptk
    import pyworld as pw

#: F0 search range of the tracker (see the module docstring).
F0_FLOOR_HZ = 50.0
F0_CEIL_HZ = 500.0
#: Analysis rate: 16 kHz keeps every harmonic that matters for F0 and makes RAPT ~3x cheaper
#: than at 44.1 kHz.
F0_RATE = 16_000
FRAME_PERIOD_MS = 5.0
#: RAPT needs a few frames of signal; a shorter clip has no measurable pitch.
MIN_F0_SECONDS = 0.1
DEFAULT_ESPEAK_VOICE = "en-us"


@dataclass(frozen=True)
class ProsodyStats:
    """Pitch and tempo of a voice. Field names are stored in voice sidecars: keep them stable.

    - ``f0_median_hz``: median F0 over all voiced frames, in Hz;
    - ``f0_p10_hz`` / ``f0_p90_hz``: 10th and 90th percentile of those frames, in Hz;
    - ``f0_range_st``: ``12·log2(p90 / p10)``, the pitch range in semitones;
    - ``voiced_frames``: how many 5 ms voiced frames the F0 figures rest on;
    - ``speaking_rate_pps``: phoneme symbols per second of VAD speech, or None without
      transcripts.

    F0 fields are None when no frame was voiced.
    """

    f0_median_hz: float | None
    f0_p10_hz: float | None
    f0_p90_hz: float | None
    f0_range_st: float | None
    voiced_frames: int
    speaking_rate_pps: float | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ProsodyStats:
        """Read what :meth:`to_dict` wrote; unknown keys (from a newer version) are ignored."""
        if not isinstance(data, Mapping):
            raise ValueError("prosody statistics must be a JSON object")
        values: dict[str, Any] = {}
        for f in fields(cls):
            value = data.get(f.name)
            if f.name == "voiced_frames":
                if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                    raise ValueError(
                        f"prosody field 'voiced_frames' must be a whole number >= 0 (got {value!r})"
                    )
            elif value is not None:
                if (
                    isinstance(value, bool)
                    or not isinstance(value, int | float)
                    or not math.isfinite(value)
                ):
                    raise ValueError(
                        f"prosody field {f.name!r} must be a number or null (got {value!r})"
                    )
                value = float(value)
            values[f.name] = value
        return cls(**values)


def f0_contour(
    samples: np.ndarray, sample_rate: int, floor: float = F0_FLOOR_HZ, ceil: float = F0_CEIL_HZ
) -> np.ndarray:
    """F0 in Hz per 5 ms frame (0 where unvoiced): RAPT, refined by StoneMask, at 16 kHz."""
    x = resample(prepare_samples(samples, sample_rate), int(sample_rate), F0_RATE).astype(
        np.float64
    )
    if len(x) < MIN_F0_SECONDS * F0_RATE:
        return np.zeros(0)
    hop = int(round(F0_RATE * FRAME_PERIOD_MS / 1000.0))
    # RAPT expects 16-bit-scaled samples; its frame i is centred on sample i * hop.
    f0 = np.asarray(
        pysptk.rapt(
            (x * 32767.0).astype(np.float32), F0_RATE, hop, min=floor, max=ceil, otype="f0"
        ),
        dtype=np.float64,
    )
    t = np.arange(len(f0)) * hop / F0_RATE
    return pw.stonemask(np.ascontiguousarray(x), np.ascontiguousarray(f0), t, F0_RATE)


def phoneme_count(text: str, espeak_voice: str = DEFAULT_ESPEAK_VOICE) -> int:
    """Phoneme symbols espeak-ng gives for ``text``: letters of its IPA, without stress and
    length marks, spaces or punctuation (a diphthong counts as two, consistently)."""
    from voicestudio.text.phonemize import phonemize

    return sum(
        1 for sentence in phonemize(text, espeak_voice) for p in sentence for ch in p
        if unicodedata.category(ch) in ("Ll", "Lu", "Lo")
    )


def speech_seconds(samples: np.ndarray, sample_rate: int) -> float:
    """Seconds of speech by Silero VAD (pauses of 0.1 s and more left out)."""
    return float(sum(end - start for start, end in speech_segments(samples, sample_rate)))


@dataclass
class ProsodyAccumulator:
    """Pools voiced F0 frames and (phonemes, speech seconds) over clips, then summarizes."""

    espeak_voice: str = DEFAULT_ESPEAK_VOICE
    f0_frames: list[np.ndarray] = field(default_factory=list)
    phonemes: int = 0
    speech_s: float = 0.0

    def add(self, samples: np.ndarray, sample_rate: int, text: str | None = None) -> None:
        f0 = f0_contour(samples, sample_rate)
        self.f0_frames.append(f0[f0 > 0])
        if text and text.strip():
            seconds = speech_seconds(samples, sample_rate)
            if seconds > 0:
                self.phonemes += phoneme_count(text, self.espeak_voice)
                self.speech_s += seconds

    def stats(self) -> ProsodyStats:
        voiced = np.concatenate(self.f0_frames) if self.f0_frames else np.zeros(0)
        rate = self.phonemes / self.speech_s if self.speech_s > 0 else None
        if voiced.size == 0:
            return ProsodyStats(None, None, None, None, 0, rate)
        p10, median, p90 = (float(v) for v in np.percentile(voiced, [10, 50, 90]))
        return ProsodyStats(
            f0_median_hz=median,
            f0_p10_hz=p10,
            f0_p90_hz=p90,
            f0_range_st=12.0 * math.log2(p90 / p10),
            voiced_frames=int(voiced.size),
            speaking_rate_pps=rate,
        )


def prosody_stats(
    clips: Iterable[tuple[np.ndarray, int] | tuple[np.ndarray, int, str | None]],
    espeak_voice: str = DEFAULT_ESPEAK_VOICE,
) -> ProsodyStats:
    """Pooled statistics of ``(samples, sample_rate[, transcript])`` clips of one voice.

    The speaking rate counts only clips with a transcript.
    """
    acc = ProsodyAccumulator(espeak_voice)
    for clip in clips:
        samples, rate, *rest = clip
        acc.add(samples, int(rate), rest[0] if rest else None)
    return acc.stats()
