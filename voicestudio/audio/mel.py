"""Mel filterbanks and power spectra in numpy, shared by the speaker encoder and training.

Both Resemblyzer (40 mels at 16 kHz) and VITS (80 mels at 22.05 kHz) were trained on
librosa's Slaney-style filters (Slaney mel scale, area-normalised triangles). The same
filters are built here so neither the app nor training needs librosa.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

_F_SP = 200.0 / 3  # Slaney scale: linear below 1 kHz ...
_MIN_LOG_HZ = 1000.0
_MIN_LOG_MEL = _MIN_LOG_HZ / _F_SP
_LOGSTEP = np.log(6.4) / 27.0  # ... logarithmic above


def hz_to_mel(hz: np.ndarray | float) -> np.ndarray:
    hz = np.asarray(hz, dtype=np.float64)
    mel = hz / _F_SP
    log_part = hz >= _MIN_LOG_HZ
    return np.where(
        log_part, _MIN_LOG_MEL + np.log(np.maximum(hz, 1e-9) / _MIN_LOG_HZ) / _LOGSTEP, mel
    )


def mel_to_hz(mel: np.ndarray | float) -> np.ndarray:
    mel = np.asarray(mel, dtype=np.float64)
    hz = mel * _F_SP
    log_part = mel >= _MIN_LOG_MEL
    return np.where(log_part, _MIN_LOG_HZ * np.exp(_LOGSTEP * (mel - _MIN_LOG_MEL)), hz)


@lru_cache(maxsize=8)
def mel_filterbank(
    sample_rate: int, n_fft: int, n_mels: int, fmin: float = 0.0, fmax: float | None = None
) -> np.ndarray:
    """``[n_mels, n_fft // 2 + 1]`` float32 triangles, each with unit area (Slaney norm)."""
    fmax = sample_rate / 2 if fmax is None else fmax
    fft_hz = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)  # librosa's bins, also for an odd n_fft
    edges_hz = mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2))
    widths = np.diff(edges_hz)
    ramps = edges_hz[:, None] - fft_hz[None, :]
    lower = -ramps[:-2] / widths[:-1, None]
    upper = ramps[2:] / widths[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    weights *= (2.0 / (edges_hz[2:] - edges_hz[:-2]))[:, None]
    weights.flags.writeable = False
    return weights.astype(np.float32)


def power_spectrogram(
    samples: np.ndarray, n_fft: int, hop: int, win_length: int | None = None
) -> np.ndarray:
    """``|STFT|²`` as ``[frames, n_fft // 2 + 1]`` with a periodic Hann window and centred,
    reflect-padded frames (librosa's defaults)."""
    win_length = win_length or n_fft
    samples = np.asarray(samples, dtype=np.float32)
    pad = n_fft // 2
    mode = "reflect" if len(samples) > pad else "constant"
    padded = np.pad(samples, pad, mode=mode)
    n_frames = 1 + max(0, (len(padded) - n_fft) // hop)
    window = np.zeros(n_fft, dtype=np.float32)
    start = (n_fft - win_length) // 2
    window[start : start + win_length] = np.hanning(win_length + 1)[:-1]
    frames = np.lib.stride_tricks.sliding_window_view(padded, n_fft)[::hop][:n_frames]
    spectrum = np.fft.rfft(frames * window, axis=1)
    return (spectrum.real**2 + spectrum.imag**2).astype(np.float32)
