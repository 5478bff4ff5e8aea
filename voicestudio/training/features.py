"""Spectrograms exactly as Piper's VITS training computes them (linear for the posterior
encoder, log-mel for the reconstruction loss), with our own Slaney filterbank instead
of librosa's."""

from __future__ import annotations

import torch

from voicestudio.audio.mel import mel_filterbank

SAMPLE_RATE = 22050
N_FFT = 1024
HOP = 256
N_MELS = 80

_windows: dict[str, torch.Tensor] = {}
_mel_bases: dict[str, torch.Tensor] = {}


def linear_spectrogram(y: torch.Tensor) -> torch.Tensor:
    """``[B, T]`` audio → ``[B, 513, T // 256]`` magnitudes (Piper's padding, no centring)."""
    key = str(y.device)
    if key not in _windows:
        _windows[key] = torch.hann_window(N_FFT, device=y.device)
    pad = (N_FFT - HOP) // 2
    y = torch.nn.functional.pad(y.unsqueeze(1), (pad, pad), mode="reflect").squeeze(1)
    spec = torch.stft(
        y, N_FFT, hop_length=HOP, win_length=N_FFT, window=_windows[key], center=False, return_complex=True
    )
    return torch.sqrt(spec.real**2 + spec.imag**2 + 1e-6)


def spec_to_mel(spec: torch.Tensor) -> torch.Tensor:
    """Linear magnitudes → natural-log mel magnitudes (floor 1e-5), as Piper's loss uses."""
    key = str(spec.device)
    if key not in _mel_bases:
        _mel_bases[key] = torch.from_numpy(mel_filterbank(SAMPLE_RATE, N_FFT, N_MELS).copy()).to(spec.device)
    return torch.log(torch.clamp(torch.matmul(_mel_bases[key], spec), min=1e-5))


def mel_spectrogram(y: torch.Tensor) -> torch.Tensor:
    return spec_to_mel(linear_spectrogram(y))
