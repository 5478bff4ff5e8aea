"""Lines on a timeline: placed sample-accurately at their cues, summed, normalized.

Each line is resampled to the output rate on its own and placed at
``round(start_s * rate)``, so its first sample is within half a sample of its cue
however long the track is (no drift from accumulating durations). The loudness gain
is one curve over the whole track; every stem is its line times the curve over its
span, so the stems add up to the track exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from voicestudio.audio.io import resample
from voicestudio.dubbing.loudness import LoudnessResult, normalize
from voicestudio.dubbing.types import DubRenderError, DubSettings, LineRender, LineStatus
from voicestudio.voice.timings import WordTime


@dataclass
class Placement:
    """One line in the track: where it starts and its audio at the track's gain."""

    result: LineRender
    start_sample: int
    samples: np.ndarray  # at the output rate, gain applied
    rate: int = 0  # the output rate

    @property
    def end_sample(self) -> int:
        return self.start_sample + len(self.samples)

    @property
    def words(self) -> tuple[WordTime, ...] | None:
        """The line's word times on the track (a cued line's are already on it; a line
        without a cue's count from where the mix put it)."""
        words = self.result.words
        if words is None or self.result.line.timed:
            return words
        return tuple(w.shifted(self.start_sample / self.rate) for w in words)


@dataclass
class DubMix:
    track: np.ndarray  # float32, output rate, normalized
    rate: int
    placements: list[Placement]
    loudness: LoudnessResult
    warnings: list[str] = field(default_factory=list)  # about the whole track

    @property
    def duration_s(self) -> float:
        return len(self.track) / self.rate


def mix(results: Sequence[LineRender], settings: DubSettings, end_s: float | None = None) -> DubMix:
    """Place every rendered line and normalize the sum. ``end_s`` (the last cue's end) sets
    the track's length for a timed script; untimed lines follow each other with
    ``settings.gap_s`` of silence between them."""
    rate = settings.rate
    pending = [r.line.index for r in results if not r.done]
    if pending:
        raise DubRenderError(
            f"{len(pending)} line(s) are not rendered yet (first: line {pending[0]}); "
            "render all first"
        )
    placed: list[tuple[LineRender, int, np.ndarray]] = []
    cursor = 0
    for result in results:
        if result.status is LineStatus.SKIPPED or result.samples is None:
            continue
        audio = resample(result.samples, result.sample_rate, rate)
        if result.line.start_s is not None:
            start = int(round(result.line.start_s * rate))
        else:
            start = cursor + (int(round(settings.gap_s * rate)) if placed else 0)
        placed.append((result, start, audio))
        cursor = start + len(audio)
    if not placed:
        raise DubRenderError("nothing speakable in any line of the script")
    # A line running past the last cue's end makes the track longer; that line's own warning
    # says so (a line that fits ends at most FIT_TOLERANCE_S after its cue).
    audio_end = max(start + len(audio) for _, start, audio in placed)
    length = audio_end if end_s is None else max(audio_end, int(round(end_s * rate)))
    warnings: list[str] = []
    track = np.zeros(length, dtype=np.float64)
    for _, start, audio in placed:
        track[start:start + len(audio)] += audio
    gain, loudness = normalize(track, rate, settings.target_lufs, settings.ceiling_dbtp)
    if loudness.warning:
        warnings.append(loudness.warning)
    placements = [
        Placement(result, start, (audio * gain[start : start + len(audio)]).astype(np.float32),
                  rate)
        for result, start, audio in placed
    ]
    out = (track * gain).astype(np.float32)
    return DubMix(out, rate, placements, loudness, warnings)
