"""Markup inside a sentence: a span's style as per-frame edits (pitch and level by overlap-add,
a rate by WORLD), a break as silence inserted between two words. Both need the model's phoneme
durations to know where a word is (``Synthesizer`` falls back to plain speech, and says so, for
a voice without them)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from voicestudio.styling.world import FrameEdits
from voicestudio.text.markup import NEUTRAL, SpanStyle
from voicestudio.voice.timings import Pause, TimeMap

#: Pitch and level glide over this long at a span's edges: a step would click.
GLIDE_S = 0.02
#: Fade at each side of an inserted silence, so the cut never clicks.
FADE_S = 0.005


@dataclass(frozen=True)
class WordSpan:
    """A word in the model's output (samples ``[start, end)``), its style and the silence
    asked for after it."""

    start: int
    end: int
    style: SpanStyle = NEUTRAL
    pause_after: float = 0.0


def frame_edits(words: Sequence[WordSpan], n_frames: int, hop: int, sample_rate: int
                ) -> FrameEdits | None:
    """Per-frame rate, pitch and gain for ``words`` (None when every word is neutral). The
    gap between two words of the same style takes that style too (a slow span is slow
    throughout), other gaps stay neutral."""
    if all(w.style.neutral for w in words):
        return None
    rate, pitch, gain = np.ones(n_frames), np.zeros(n_frames), np.zeros(n_frames)
    for k, word in enumerate(words):
        if word.style.neutral:
            continue
        end = word.end
        if k + 1 < len(words) and words[k + 1].style == word.style:
            end = words[k + 1].start
        a, b = int(round(word.start / hop)), min(n_frames, int(round(end / hop)) + 1)
        rate[a:b], pitch[a:b], gain[a:b] = word.style.rate, word.style.pitch_st, \
            word.style.volume_db
    glide = max(1, int(round(GLIDE_S * sample_rate / hop)))
    return FrameEdits(rate, smoothed(pitch, glide), smoothed(gain, glide))


def smoothed(values: np.ndarray, width: int) -> np.ndarray:
    """A ``width``-frame moving average, edges held: per-frame edits glide, never step."""
    if width <= 1 or not values.any():
        return values
    kernel = np.ones(width) / width
    return np.convolve(np.pad(values, (width // 2, width - 1 - width // 2), mode="edge"),
                       kernel, mode="valid")


def edited_time_map(edits: FrameEdits, hop: int, sample_rate: int, speed: float) -> TimeMap:
    """Where each model sample lands once ``edits`` retimed the frames (at ``speed``)."""
    boundaries = edits.output_frames(speed)
    return TimeMap(np.arange(len(boundaries)) * float(hop), boundaries * hop / sample_rate)


def pauses_between(words: Sequence[WordSpan]) -> tuple[Pause, ...]:
    """A pause in the middle of the gap after each word that asks for one (not the last word:
    the silence after a sentence is added after its audio)."""
    return tuple(Pause((w.end + nxt.start) / 2.0, w.pause_after)
                 for w, nxt in zip(words[:-1], words[1:], strict=True) if w.pause_after > 0)


def insert_pauses(audio: np.ndarray, sample_rate: int, time_map: TimeMap) -> np.ndarray:
    """``audio`` with the map's pauses inserted as silence, the edges faded."""
    if not time_map.pauses:
        return audio
    fade = max(1, int(FADE_S * sample_rate))
    parts, last = [], 0
    plain = TimeMap(time_map.model, time_map.seconds)  # positions before any insertion
    for pause in sorted(time_map.pauses, key=lambda p: p.at):
        cut = min(len(audio), max(last, int(round(plain(pause.at) * sample_rate))))
        piece = audio[last:cut].copy()
        _fade(piece, fade, out=True)
        if parts or last:
            _fade(piece, fade, out=False)
        parts += [piece, np.zeros(int(round(pause.seconds * sample_rate)), np.float32)]
        last = cut
    tail = audio[last:].copy()
    _fade(tail, fade, out=False)
    return np.concatenate([*parts, tail]).astype(np.float32)


def _fade(piece: np.ndarray, length: int, out: bool) -> None:
    n = min(length, len(piece))
    if n == 0:
        return
    ramp = np.linspace(1.0, 0.0, n) if out else np.linspace(0.0, 1.0, n)
    if out:
        piece[len(piece) - n:] *= ramp
    else:
        piece[:n] *= ramp
