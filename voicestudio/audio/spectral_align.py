"""Where the sounds of one reading of a word lie in another's: DTW on spectral features.

A forced aligner finds a performance's words well, its phones less so (PocketSphinx's phones
last at least 30 ms and absorb pauses). Inside a word both readings hold the same sounds in
the same order, so a dynamic time warp of their spectra finds where each sound of one lies
in the other, even between two speakers: the features are mel cepstra without the level
(c0), normalised over what they are made of (mean and variance; a performance's whole
recording, a synthesized sentence), which removes most of what differs
between two voices and microphones and keeps what differs between sounds. The warp's slope
is held between 1/2 and 2 (no sound of one reading is stretched over more than twice its
length in the other), which also keeps it from following noise.
"""

from __future__ import annotations

import numpy as np
from scipy.fft import dct

from voicestudio.audio.io import resample
from voicestudio.audio.mel import mel_filterbank, power_spectrogram

#: Analysis rate and frame step, also of a performance's pitch and level contours
#: (``voice/performance.py``): 16 kHz holds every pitch, level and spectral cue, and makes a
#: 5 ms frame exactly 80 samples (RAPT needs a whole number of samples per frame).
RATE = 16_000
FRAME_S = 0.005
_HOP = round(RATE * FRAME_S)
_WINDOW = 400  # 25 ms
_N_FFT = 512
_N_MELS = 40
#: Cepstra 1 … 12: the spectral envelope's shape, without its level (c0).
_N_CEPS = 12


def spectral_features(samples: np.ndarray, rate: int) -> np.ndarray:
    """``[frames, 12]`` mel cepstra, frame ``i`` centred on ``i * FRAME_S`` seconds, each
    coefficient normalised to zero mean and unit variance over the recording."""
    x = resample(np.asarray(samples, np.float32), int(rate), RATE)
    power = power_spectrogram(x, _N_FFT, _HOP, _WINDOW)
    mel = power @ mel_filterbank(RATE, _N_FFT, _N_MELS).T
    ceps = dct(np.log(np.maximum(mel, 1e-10)), type=2, norm="ortho", axis=1)[:, 1:_N_CEPS + 1]
    spread = ceps.std(axis=0)
    return ((ceps - ceps.mean(axis=0)) / np.where(spread > 0, spread, 1.0)).astype(np.float32)


def warp(a: np.ndarray, b: np.ndarray) -> np.ndarray | None:
    """For each frame of ``a``, the (fractional) frame of ``b`` it corresponds to (the mean
    of the frames of ``b`` the path pairs it with), from a DTW of the two feature sequences
    with both ends' cells tied and the slope between 1/2 and 2; None when the lengths differ
    too much for such a path (more than twice)."""
    n, m = len(a), len(b)
    if n < 2 or m < 2 or m > 2 * n - 1 or n > 2 * m - 1:
        return None
    cost = np.sqrt(np.maximum(
        (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T, 0.0))
    # Steps (1,1), (1,2) and (2,1): each row depends only on the two before it.
    total = np.full((n, m), np.inf)
    step = np.zeros((n, m), np.int8)  # 0: diagonal, 1: from (i-1, j-2), 2: from (i-2, j-1)
    total[0, 0] = cost[0, 0]
    for i in range(1, n):
        options = np.full((3, m), np.inf)
        options[0, 1:] = total[i - 1, :-1]
        options[1, 2:] = total[i - 1, :-2] + cost[i, 1:-1]
        if i >= 2:
            options[2, 1:] = total[i - 2, :-1] + cost[i - 1, 1:]
        step[i] = np.argmin(options, axis=0)
        total[i] = cost[i] + options[step[i], np.arange(m)]
    if not np.isfinite(total[-1, -1]):
        return None
    sums, counts = np.zeros(n), np.zeros(n)
    i, j = n - 1, m - 1
    while True:
        sums[i] += j
        counts[i] += 1
        if i == 0 and j == 0:
            break
        kind = step[i, j]
        if kind == 0:
            i, j = i - 1, j - 1
        elif kind == 1:
            sums[i] += j - 1  # (i, j-1) is passed on the way
            counts[i] += 1
            i, j = i - 1, j - 2
        else:
            sums[i - 1] += j  # (i-1, j) is passed on the way
            counts[i - 1] += 1
            i, j = i - 2, j - 1
    return sums / counts
