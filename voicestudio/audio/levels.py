"""Loudness helpers shared by synthesis, styling and (later) take checks."""

from __future__ import annotations

import numpy as np

_EPS = 1e-12


def rms_dbfs(samples: np.ndarray) -> float:
    """RMS level in dB relative to a full-scale sine-free square (0 dBFS = RMS 1.0)."""
    samples = np.asarray(samples, dtype=np.float64)
    if samples.size == 0:
        return -np.inf
    return 10.0 * np.log10(np.mean(samples**2) + _EPS)


def active_rms_dbfs(samples: np.ndarray, sample_rate: int, window_s: float = 0.02, floor_db: float = 40.0) -> float:
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


def soft_limit(samples: np.ndarray, ceiling: float = 0.98, knee: float = 0.8) -> np.ndarray:
    """Leave samples below ``knee`` alone; bend the rest smoothly toward ``ceiling``.

    A loud style (+12 dB) then never wraps or hard-clips, and normal speech is untouched.
    """
    samples = np.asarray(samples, dtype=np.float32)
    over = np.abs(samples) > knee
    if not over.any():
        return samples
    out = samples.copy()
    span = ceiling - knee
    x = np.abs(samples[over]) - knee
    out[over] = np.sign(samples[over]) * (knee + span * np.tanh(x / span))
    return out
