"""Broadcast loudness: integrated loudness to a target (EBU R128) under a true-peak ceiling.

Loudness is measured by ``pyloudnorm`` (ITU-R BS.1770-4, gated). True peak is measured
as BS.1770 does it, on a 4× oversampled signal, because peaks between samples are what
clip in a codec or a D/A converter. When the gain that meets the target would push the
true peak over the ceiling, a look-ahead limiter takes the peaks down and the gain is
raised again, until both hold; the whole result is one gain curve, so stems can carry
exactly the gain their part of the track got.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import minimum_filter1d, uniform_filter1d

from voicestudio.errors import VoiceStudioError

#: EBU R128 broadcast target, and the usual web/streaming one.
BROADCAST_LUFS = -23.0
WEB_LUFS = -16.0
TRUE_PEAK_CEILING_DBTP = -1.0
OVERSAMPLE = 4
#: The limiter aims this far under the ceiling, so rounding to 16/24 bits cannot cross it.
CEILING_MARGIN_DB = 0.15
#: Stop adjusting when the integrated loudness is this close to the target.
LOUDNESS_TOLERANCE_LU = 0.1
#: Look-ahead and release of the limiter's gain curve.
LIMITER_WINDOW_S = 0.005
MAX_ROUNDS = 8
#: pyloudnorm needs one 400 ms gating block at least.
MIN_MEASURE_S = 0.4
#: More gain than this means the voice came out near-silent (a broken voice, energy turned
#: right down): the track is still normalized, but its noise is raised as much, so say so.
QUIET_GAIN_DB = 30.0


@dataclass(frozen=True)
class LoudnessResult:
    measured_lufs: float  # before any gain
    integrated_lufs: float  # after
    true_peak_dbtp: float  # after
    gain_db: float  # the overall gain; the limiter takes peaks down from there
    limited: bool  # whether the limiter had to act
    warning: str = ""


def integrated_loudness(samples: np.ndarray, rate: int) -> float:
    """Gated integrated loudness in LUFS (−inf for silence)."""
    x = np.asarray(samples, dtype=np.float64)
    short = int(np.ceil(MIN_MEASURE_S * rate)) - len(x)
    if short > 0:  # silence below the gate adds nothing to the measure
        x = np.concatenate([x, np.zeros(short)])
    import pyloudnorm  # here, not at the top: with scipy.signal it takes about a second to
    # import, and the app imports this module while it builds its window

    return float(pyloudnorm.Meter(rate).integrated_loudness(x))


def true_peak_dbtp(samples: np.ndarray) -> float:
    """Peak of the 4× oversampled signal in dBTP (−inf for silence)."""
    peak = float(np.max(peak_envelope(samples), initial=0.0))
    return float(20.0 * np.log10(peak)) if peak > 0 else float("-inf")


def peak_envelope(samples: np.ndarray) -> np.ndarray:
    """Per sample, the largest magnitude of the 4× oversampled signal from it to the next.

    Oversampled in blocks (with overlap for the filter), so a long track does not need
    four times its memory at once.
    """
    from scipy.signal import resample_poly

    x = np.asarray(samples, dtype=np.float64)
    out = np.empty(len(x), dtype=np.float64)
    for a in range(0, len(x), _BLOCK):
        b = min(len(x), a + _BLOCK)
        lo, hi = max(0, a - _PAD), min(len(x), b + _PAD)
        over = np.abs(resample_poly(x[lo:hi], OVERSAMPLE, 1))
        over = over[(a - lo) * OVERSAMPLE: (b - lo) * OVERSAMPLE]
        out[a:b] = np.maximum(over.reshape(b - a, OVERSAMPLE).max(axis=1), np.abs(x[a:b]))
    return out


_BLOCK = 1 << 18
_PAD = 64  # original samples either side: far more than the polyphase filter reaches


def normalize(
    samples: np.ndarray,
    rate: int,
    target_lufs: float = BROADCAST_LUFS,
    ceiling_dbtp: float = TRUE_PEAK_CEILING_DBTP,
) -> tuple[np.ndarray, LoudnessResult]:
    """The per-sample gain that brings ``samples`` to ``target_lufs`` with true peaks at
    or under ``ceiling_dbtp``, and what it achieved. Apply it as ``samples * gain``."""
    x = np.asarray(samples, dtype=np.float64)
    measured = integrated_loudness(x, rate)
    if not np.isfinite(measured):
        raise VoiceStudioError(
            "the track is silent (below the -70 LUFS gate): there is nothing to normalize; "
            "check the voice and the energy setting"
        )
    ceiling = 10.0 ** ((ceiling_dbtp - CEILING_MARGIN_DB) / 20.0)
    gain_db = target_lufs - measured
    gain = np.full(len(x), 10.0 ** (gain_db / 20.0))
    limited = False
    loudness = measured
    for _ in range(MAX_ROUNDS):
        peak_gain = _limiter_gain(x * gain, rate, ceiling)
        if peak_gain is not None:
            gain *= peak_gain
            limited = True
        loudness = integrated_loudness(x * gain, rate)
        shortfall = target_lufs - loudness
        if abs(shortfall) <= LOUDNESS_TOLERANCE_LU:
            break
        gain *= 10.0 ** (shortfall / 20.0)
        gain_db += shortfall
    out = x * gain
    peak = true_peak_dbtp(out)
    # the loop ran out: the ceiling wins over loudness
    if peak > ceiling_dbtp - CEILING_MARGIN_DB / 2:
        gain *= 10.0 ** ((ceiling_dbtp - CEILING_MARGIN_DB - peak) / 20.0)
        out = x * gain
        loudness, peak = integrated_loudness(out, rate), true_peak_dbtp(out)
    warnings = []
    if target_lufs - measured > QUIET_GAIN_DB:
        warnings.append(f"the track was near-silent ({measured:.1f} LUFS) and was raised by "
                        f"{target_lufs - measured:.0f} dB; listen for noise")
    if abs(loudness - target_lufs) > 0.5:
        warnings.append(
            f"integrated loudness is {loudness:.1f} LUFS, not {target_lufs:g}: the true-peak "
            f"ceiling ({ceiling_dbtp:g} dBTP) does not allow more"
        )
    return gain.astype(np.float32), LoudnessResult(
        measured, loudness, peak, gain_db, limited, "; ".join(warnings)
    )


def _limiter_gain(y: np.ndarray, rate: int, ceiling: float) -> np.ndarray | None:
    """A smooth gain ≤ 1 that keeps the oversampled peaks of ``y`` under ``ceiling`` (None: not
    needed).

    The need per sample comes from the oversampled signal around it; it is min-filtered and
    then averaged over the same window, and an average of window minima never exceeds the
    need at the window's centre, so the ceiling holds while the gain moves over milliseconds.
    """
    envelope = peak_envelope(y)
    need = np.minimum(1.0, ceiling / np.maximum(envelope, 1e-12))
    if need.min() >= 1.0:
        return None
    size = 2 * max(1, int(LIMITER_WINDOW_S * rate)) + 1
    smooth = uniform_filter1d(minimum_filter1d(need, size, mode="nearest"), size, mode="nearest")
    return np.minimum(smooth, need)
