"""Frame-rate buzz: how much of a clip repeats with the VITS decoder's 256-sample frame.

The decoder upsamples each latent frame by transposed convolutions; when it learns to lean
on the frame grid, the clone buzzes at 22050 / 256 = 86 Hz, a comb the mel losses and
similarity scores cannot see (see ``training/finetune.py``). Speech has no phase tied to
that grid, so averaging a clip frame by frame (a synchronous average) keeps about
1 / frames of its power; a grid-locked buzz survives whole. The figure is that average's
power times the number of frames over the clip's power: about 1 for natural speech, and
each unit above it is a frame's worth of buzz. ``training.features.frame_sync_loss`` is
the same measure as a torch loss (against the target's power instead of the clip's own).
"""

from __future__ import annotations

import numpy as np

from voicestudio.audio.io import resample
from voicestudio.constants import MODEL_RATE

#: The grid: the base voice (and every clone of it) runs at 22.05 kHz with a 256-sample hop.
GRID_RATE = MODEL_RATE
GRID_HOP = 256


def frame_buzz(samples: np.ndarray, sample_rate: int, hop: int = GRID_HOP) -> float:
    """The synchronous-average power ratio of ``samples`` on the decoder's frame grid
    (resampled to 22.05 kHz first); NaN for a silent or too-short clip."""
    x = np.asarray(samples, dtype=np.float64)
    if sample_rate != GRID_RATE:
        x = resample(x.astype(np.float32), sample_rate, GRID_RATE).astype(np.float64)
    frames = len(x) // hop
    if frames < 2:
        return float("nan")
    x = x[: frames * hop]
    x = x - x.mean()  # a DC offset is "locked" to any grid; it is no buzz
    power = float(np.mean(x**2))
    if power <= 0.0:
        return float("nan")
    average = x.reshape(frames, hop).mean(axis=0)
    return float(np.mean(average**2) * frames / power)


def mean_buzz(clips: list[tuple[np.ndarray, int]]) -> float | None:
    """The median of :func:`frame_buzz` over clips (None when none can be measured): one
    odd clip should not decide the figure."""
    values = [v for v in (frame_buzz(s, r) for s, r in clips) if np.isfinite(v)]
    return float(np.median(values)) if values else None
