"""Spectrograms exactly as Piper's VITS training computes them (linear for the posterior
encoder, log-mel for the reconstruction loss), with our own Slaney filterbank instead
of librosa's."""

from __future__ import annotations

import torch

from voicestudio.audio.mel import mel_filterbank
from voicestudio.constants import MODEL_RATE

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
        y,
        N_FFT,
        hop_length=HOP,
        win_length=N_FFT,
        window=_windows[key],
        center=False,
        return_complex=True,
    )
    return torch.sqrt(spec.real**2 + spec.imag**2 + 1e-6)


def spec_to_mel(spec: torch.Tensor) -> torch.Tensor:
    """Linear magnitudes → natural-log mel magnitudes (floor 1e-5), as Piper's loss uses."""
    key = str(spec.device)
    if key not in _mel_bases:
        _mel_bases[key] = torch.from_numpy(mel_filterbank(MODEL_RATE, N_FFT, N_MELS).copy()).to(
            spec.device
        )
    return torch.log(torch.clamp(torch.matmul(_mel_bases[key], spec), min=1e-5))


def mel_spectrogram(y: torch.Tensor) -> torch.Tensor:
    return spec_to_mel(linear_spectrogram(y))


#: (FFT size, hop) of the multi-resolution STFT loss: the 2048-point window resolves
#: harmonics 11 Hz apart, so a decoder buzz at the 86 Hz frame rate shows up as a comb
#: the mel loss (1024 points, 80 bands) smooths away.
STFT_RESOLUTIONS = ((512, 128), (1024, 256), (2048, 512))


def stft_loss(y_hat: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Multi-resolution STFT loss (spectral convergence + log magnitude), averaged."""
    total = y_hat.new_zeros(())
    for n_fft, hop in STFT_RESOLUTIONS:
        key = f"{y.device}-{n_fft}"
        if key not in _windows:
            _windows[key] = torch.hann_window(n_fft, device=y.device)
        mags = [
            torch.stft(s, n_fft, hop_length=hop, window=_windows[key], return_complex=True)
            .abs()
            .clamp(min=1e-7)
            for s in (y_hat, y)
        ]
        convergence = torch.linalg.norm(mags[1] - mags[0]) / torch.linalg.norm(mags[1]).clamp(
            min=1e-7
        )
        total = total + convergence + torch.nn.functional.l1_loss(mags[0].log(), mags[1].log())
    return total / len(STFT_RESOLUTIONS)


def frame_sync_loss(y_hat: torch.Tensor, y: torch.Tensor, hop: int = HOP) -> torch.Tensor:
    """How much of ``y_hat`` repeats with the decoder's frame period.

    Speech has no phase tied to the 256-sample frame grid, so averaging a segment frame
    by frame (a synchronous average) leaves about 1/frames of its power; a
    transposed-convolution buzz at 22050/256 = 86 Hz is phase-locked to the grid and
    survives whole. The mel loss cannot see it (its bands smooth the 86 Hz comb away).
    Scaled by the target's power so that natural speech scores about 1.
    """
    frames = y.shape[-1] // hop
    a_hat = y_hat[..., : frames * hop].reshape(*y_hat.shape[:-1], frames, hop).mean(-2)
    power = y[..., : frames * hop].pow(2).mean().clamp(min=1e-8)
    return a_hat.pow(2).mean() * frames / power
