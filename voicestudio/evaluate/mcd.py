"""Mel-cepstral distortion (MCD) between two renderings of the same text, in dB.

MCD compares spectral envelopes (timbre, formants), independent of pitch: WORLD's
CheapTrick envelope on the F0 of :mod:`voicestudio.evaluate.prosody`, turned into a
24th-order mel-cepstrum (frequency warping alpha 0.455, which approximates the mel
scale at 22.05 kHz; both clips are resampled to that rate). c0, the frame energy, is
left out, so loudness does not count. Only frames that Silero VAD marks as speech
are compared, and the two sequences are aligned by dynamic time warping, since the
same text is never spoken with the same timing. Per aligned frame pair

    MCD = (10 / ln 10) · sqrt(2 · Σ_{d=1..24} (c_d - c'_d)²)

and the result is the mean over the alignment path. Typical figures: a clip against
itself 0, against a re-timed copy of itself a few dB, against another speaker reading
the same text clearly more (see tests/test_evaluate.py).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

from voicestudio.audio.cleanup import InvalidAudioError, prepare_samples, speech_segments
from voicestudio.audio.io import resample
from voicestudio.evaluate.prosody import FRAME_PERIOD_MS, f0_contour

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)
    import pysptk
    import pyworld as pw

MCD_RATE = 22_050
ORDER = 24
ALPHA = 0.455  # pysptk.util.mcepalpha(22050): the all-pass warping closest to the mel scale
#: CheapTrick's window spans three periods of this F0 (1024-point FFT at 22.05 kHz).
ENVELOPE_FLOOR_HZ = 71.0
_DB = 10.0 / math.log(10.0)
#: DTW keeps a full cost matrix; above this many cells both sequences are decimated (a
#: 20 s clip against another at 5 ms frames is 16 M cells, 128 MB of float64).
MAX_DTW_CELLS = 16_000_000


@dataclass(frozen=True)
class MCDResult:
    """The distortion and what it rests on (frames are 5 ms)."""

    mcd_db: float
    reference_frames: int
    test_frames: int
    path_length: int


def mel_cepstrum(samples: np.ndarray, sample_rate: int, speech_only: bool = True) -> np.ndarray:
    """``[frames, 24]`` mel-cepstrum c1..c24 of 5 ms frames (c0 dropped), speech frames only.

    Raises :class:`InvalidAudioError` when the clip holds no speech.
    """
    x = prepare_samples(samples, sample_rate)
    f0 = f0_contour(x, sample_rate)
    if f0.size == 0:
        raise InvalidAudioError("the clip is too short to compare (under 0.1 s)")
    t = np.arange(len(f0)) * FRAME_PERIOD_MS / 1000.0
    keep = np.ones(len(f0), dtype=bool)
    if speech_only:
        keep[:] = False
        for start, end in speech_segments(x, sample_rate):
            keep |= (t >= start) & (t < end)
        if not keep.any():
            raise InvalidAudioError(
                "no speech found in the clip: mel-cepstral distortion needs speech in both"
            )
    y = resample(x, int(sample_rate), MCD_RATE).astype(np.float64)
    fft_size = pw.get_cheaptrick_fft_size(MCD_RATE, ENVELOPE_FLOOR_HZ)
    sp = pw.cheaptrick(y, np.ascontiguousarray(f0[keep]), np.ascontiguousarray(t[keep]), MCD_RATE,
                       f0_floor=ENVELOPE_FLOOR_HZ, fft_size=fft_size)
    mc = pysptk.sp2mc(sp, order=ORDER, alpha=ALPHA)
    return np.ascontiguousarray(mc[:, 1:])


def dtw_path(cost: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Minimum-cost monotonic alignment of a ``[n, m]`` cost matrix, from (0, 0) to (n-1, m-1),
    with unit steps right, down and diagonally. Returns the row and column index of each pair.

    Rows are filled with vector operations: within a row
    ``D[i, j] = min(T[j], C[i, j] + D[i, j-1])`` with ``T[j] = C[i, j] + min(D[i-1, j], D[i-1,
    j-1])``,
    which unrolls to ``S[j] + min_{k<=j}(T[k] - S[k])`` where ``S`` is the row's running sum of C.
    """
    cost = np.asarray(cost, dtype=np.float64)
    n, m = cost.shape
    if n == 0 or m == 0:
        raise ValueError("DTW needs two non-empty sequences")
    total = np.empty((n, m))
    total[0] = np.cumsum(cost[0])
    for i in range(1, n):
        above = total[i - 1]
        best_from_above = np.minimum(above, np.concatenate(([np.inf], above[:-1])))
        running = np.cumsum(cost[i])
        total[i] = running + np.minimum.accumulate(cost[i] + best_from_above - running)
    rows, cols = [n - 1], [m - 1]
    i, j = n - 1, m - 1
    while i > 0 or j > 0:
        if i == 0:
            j -= 1
        elif j == 0:
            i -= 1
        else:
            step = int(np.argmin((total[i - 1, j - 1], total[i - 1, j], total[i, j - 1])))
            i, j = (i - 1, j - 1) if step == 0 else (i - 1, j) if step == 1 else (i, j - 1)
        rows.append(i)
        cols.append(j)
    return np.asarray(rows[::-1]), np.asarray(cols[::-1])


def distortion(reference_mc: np.ndarray, test_mc: np.ndarray) -> MCDResult:
    """MCD of two mel-cepstrum sequences (c0 already removed), DTW-aligned."""
    a, b = np.asarray(reference_mc, dtype=np.float64), np.asarray(test_mc, dtype=np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(
            f"mel-cepstra must be [frames, order] with the same order (got {a.shape} and {b.shape})"
        )
    stride = max(1, math.ceil(math.sqrt(len(a) * len(b) / MAX_DTW_CELLS)))
    a, b = a[::stride], b[::stride]
    squared = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T
    cost = np.sqrt(np.maximum(squared, 0.0))
    rows, cols = dtw_path(cost)
    per_pair = _DB * math.sqrt(2.0) * cost[rows, cols]
    return MCDResult(float(per_pair.mean()), len(reference_mc), len(test_mc), len(rows))


def mel_cepstral_distortion(
    reference: np.ndarray, reference_rate: int, test: np.ndarray, test_rate: int
) -> float:
    """MCD in dB between two clips of the same text (0 for identical audio)."""
    return distortion(mel_cepstrum(reference, reference_rate), mel_cepstrum(test, test_rate)).mcd_db
