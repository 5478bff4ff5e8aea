"""Loudness helpers shared by synthesis, styling and (later) take checks."""

from __future__ import annotations

import numpy as np
from scipy.ndimage import minimum_filter1d, uniform_filter1d

_EPS = 1e-12


def rms_dbfs(samples: np.ndarray) -> float:
    """RMS level in dB relative to a full-scale sine-free square (0 dBFS = RMS 1.0)."""
    samples = np.asarray(samples, dtype=np.float64)
    if samples.size == 0:
        return -np.inf
    return 10.0 * np.log10(np.mean(samples**2) + _EPS)


def active_rms_dbfs(
    samples: np.ndarray, sample_rate: int, window_s: float = 0.02, floor_db: float = 40.0
) -> float:
    """RMS over the windows within ``floor_db`` of the loudest one: speech level without pauses.

    Used instead of plain RMS so that adding a pause or slowing speech down does
    not count as "quieter".
    """
    samples = np.asarray(samples, dtype=np.float64)
    hop = max(1, int(sample_rate * window_s))
    n = len(samples) // hop
    if n == 0:
        return rms_dbfs(samples)
    power = np.mean(samples[: n * hop].reshape(n, hop) ** 2, axis=1) + _EPS
    power_db = 10.0 * np.log10(power)
    active = power[power_db > power_db.max() - floor_db]
    return 10.0 * np.log10(np.mean(active))


def peak_limit(
    samples: np.ndarray, sample_rate: int, ceiling: float = 0.97, window_s: float = 0.004
) -> np.ndarray:
    """Look-ahead peak limiter: a smooth gain curve that keeps every sample within ``ceiling``.

    The gain needed at each sample is min-filtered and then averaged over the same
    window; an average of window minima never exceeds the need at its centre, so
    the ceiling holds exactly while the gain moves over milliseconds, not per sample.
    """
    samples = np.asarray(samples, dtype=np.float32)
    need = np.minimum(1.0, ceiling / np.maximum(np.abs(samples), 1e-9))
    if need.min() >= 1.0:
        return samples
    size = 2 * max(1, int(window_s * sample_rate)) + 1
    gain = uniform_filter1d(minimum_filter1d(need, size, mode="nearest"), size, mode="nearest")
    return (samples * np.minimum(gain, need)).astype(np.float32)


def set_speech_level(
    samples: np.ndarray, sample_rate: int, level_dbfs: float, ceiling: float = 0.97
) -> np.ndarray:
    """Bring the active-speech RMS to ``level_dbfs`` with peaks limited to ``ceiling``.

    When limiting takes level away (a loud setting), the gain is raised and the limiter
    run again, so the asked-for level is met: louder speech comes out denser, as it
    does from a real voice, instead of quieter than requested.
    """
    samples = np.asarray(samples, dtype=np.float32)
    if samples.size == 0 or not np.any(samples):
        return samples
    gain_db = level_dbfs - active_rms_dbfs(samples, sample_rate)
    out = samples
    previous: tuple[float, float] | None = None  # (gain, level) of the last try, for a secant step
    for _ in range(10):
        out = peak_limit(samples * np.float32(10.0 ** (gain_db / 20.0)), sample_rate, ceiling)
        level = active_rms_dbfs(out, sample_rate)
        shortfall = level_dbfs - level
        if abs(shortfall) < 0.05:
            break
        slope = 1.0
        if previous is not None and abs(level - previous[1]) > 1e-3:
            slope = max(0.05, (level - previous[1]) / (gain_db - previous[0]))
        previous = (gain_db, level)
        gain_db += min(shortfall / slope, 12.0)
    return out
