"""Resemblyzer's speaker encoder in torch, exported once to ONNX for the app.

The speaker-similarity score (``voicestudio.evaluate.secs``) runs on onnxruntime so
the app needs no torch; this module is the one place torch touches it. The network
is Resemblyzer's ``VoiceEncoder`` (3-layer LSTM 40 → 256, linear 256 → 256, ReLU,
L2 norm), written out here because the ``resemblyzer`` package imports librosa and
webrtcvad at import time: only its weights file ``pretrained.pt`` is read.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import torch
from torch import nn

from voicestudio.project.store import atomic_write_bytes

N_MELS = 40
HIDDEN = 256
EMBEDDING = 256
LAYERS = 3
ONNX_OPSET = 15
INPUT_NAME = "mels"
OUTPUT_NAME = "embedding"


class SpeakerEncoderNet(nn.Module):
    """Mel frames ``[batch, frames, 40]`` (linear mel power) → unit embeddings ``[batch, 256]``."""

    def __init__(self) -> None:
        super().__init__()
        self.lstm = nn.LSTM(N_MELS, HIDDEN, LAYERS, batch_first=True)
        self.linear = nn.Linear(HIDDEN, EMBEDDING)
        self.relu = nn.ReLU()

    def forward(self, mels: torch.Tensor) -> torch.Tensor:
        _, (hidden, _) = self.lstm(mels)
        raw = self.relu(self.linear(hidden[-1]))
        # Resemblyzer divides by the plain norm; the floor only guards an all-zero ReLU output.
        return raw / torch.clamp(torch.linalg.vector_norm(raw, dim=1, keepdim=True), min=1e-12)


def load_encoder(weights: str | Path) -> SpeakerEncoderNet:
    """The network with Resemblyzer's pretrained weights, in eval mode.

    The checkpoint also holds the GE2E loss' similarity scale and bias, which the
    encoder does not use; every network weight must be present.
    """
    checkpoint = torch.load(Path(weights), map_location="cpu", weights_only=True)
    state = checkpoint.get("model_state", checkpoint)
    net = SpeakerEncoderNet()
    wanted = net.state_dict().keys()
    missing = [k for k in wanted if k not in state]
    if missing:
        raise ValueError(
            f"{weights} is not a Resemblyzer encoder checkpoint: it lacks {', '.join(missing)}"
        )
    net.load_state_dict({k: state[k] for k in wanted})
    return net.eval()


def export_onnx_bytes(net: SpeakerEncoderNet) -> bytes:
    """The ONNX model (opset 15, batch and frame axes dynamic) as bytes."""
    example = torch.zeros(1, 160, N_MELS)
    buffer = io.BytesIO()
    with torch.no_grad(), warnings.catch_warnings():
        # The exporter warns that a dynamic batch may break the LSTM's initial state; here that
        # state is built from the input's shape (tests run batches of 1 and more against torch).
        warnings.filterwarnings(
            "ignore", message="Exporting a model to ONNX with a batch_size other than 1"
        )
        # The TorchScript exporter is deprecated but is the one that needs no onnxscript.
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        torch.onnx.export(
            net,
            (example,),
            buffer,
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            dynamic_axes={INPUT_NAME: {0: "batch", 1: "frames"}, OUTPUT_NAME: {0: "batch"}},
            opset_version=ONNX_OPSET,
            # the dynamo exporter needs onnxscript, which VoiceStudio does not install
            dynamo=False,
        )
    return buffer.getvalue()


def build_onnx(weights: str | Path, path: str | Path) -> Path:
    """Export the encoder to ``path`` atomically (a crash never leaves a torn model there)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, export_onnx_bytes(load_encoder(weights)))
    return path
