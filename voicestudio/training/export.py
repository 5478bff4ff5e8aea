"""Export a fine-tuned model as a Piper voice: ``NAME.onnx`` + ``NAME.onnx.json``.

Same inputs and output as joe (``input``, ``input_lengths``, ``scales`` → ``output``),
so the file runs in Piper as well as in VoiceStudio; a second output, the phoneme durations
(Piper's alignment patch, ``voice.alignment``), gives word timings. The sidecar is joe's, with
VoiceStudio's own fields under ``"voicestudio"`` (prosody calibration, styling
defaults, provenance, training-data hash). The export is checked against the torch
model with the noise scales at 0 before it is kept.
"""

from __future__ import annotations

import copy
import json
import shutil
import tempfile
import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch

from voicestudio import __version__
from voicestudio.errors import VoiceStudioError
from voicestudio.project.store import fsync_dir
from voicestudio.training.base import joe_paths, joe_phoneme_ids
from voicestudio.voice.alignment import add_durations_to_file

OPSET = 15
#: The acceptance bound for ONNX vs torch (noise 0); exports measure ~1e-5.
MAX_EXPORT_DIFF = 1e-3
CHECK_TEXT = "Checking that the exported voice speaks exactly like the trained one."


class ExportError(VoiceStudioError):
    """The voice could not be exported or does not match the trained model."""


class _InferenceWrapper(torch.nn.Module):
    """Piper's ONNX signature around ``SynthesizerTrn.infer``."""

    def __init__(self, model) -> None:
        super().__init__()
        self.model = model

    def forward(self, text, text_lengths, scales):
        audio = self.model.infer(
            text,
            text_lengths,
            noise_scale=scales[0],
            length_scale=scales[1],
            noise_scale_w=scales[2],
        )[0]
        return audio.unsqueeze(1)


def export_voice(
    model,
    folder: Path,
    name: str,
    voicestudio_fields: dict[str, Any] | None = None,
    length_scale: float = 1.0,
) -> Path:
    """Write ``folder/name.onnx`` and its sidecar atomically; return the ``.onnx`` path.

    The folder appears complete or not at all: the files are written to a temporary
    folder beside it, checked, then renamed into place.
    """
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        onnx_path = staging / f"{name}.onnx"
        wrapper = _InferenceWrapper(copy.deepcopy(model).cpu()).eval()
        ids = joe_phoneme_ids([CHECK_TEXT])[0]
        dummy = (
            torch.tensor([ids], dtype=torch.long),
            torch.tensor([len(ids)], dtype=torch.long),
            torch.tensor([0.667, 1.0, 0.8], dtype=torch.float32),
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer warnings about Python control flow in VITS
            torch.onnx.export(
                wrapper,
                dummy,
                str(onnx_path),
                opset_version=OPSET,
                dynamo=False,
                input_names=["input", "input_lengths", "scales"],
                output_names=["output"],
                dynamic_axes={
                    "input": {0: "batch_size", 1: "phonemes"},
                    "input_lengths": {0: "batch_size"},
                    "output": {0: "batch_size", 2: "time"},
                },
            )
        wrapper.eval()  # the exporter restores the mode it found; be sure dropout is off
        difference = compare_with_torch(wrapper.model, onnx_path, ids)
        if not difference <= MAX_EXPORT_DIFF:
            raise ExportError(
                f"the exported voice differs from the trained model by {difference:.2e} "
                f"(limit {MAX_EXPORT_DIFF:g})"
            )
        add_durations_to_file(onnx_path)  # word timings; Piper reads output 0 and ignores it
        sidecar = json.loads(joe_paths()[1].read_text(encoding="utf-8"))
        sidecar["dataset"] = name
        sidecar.setdefault("inference", {})["length_scale"] = round(float(length_scale), 4)
        fields = dict(voicestudio_fields or {})
        fields.setdefault("provenance", {}).update(
            {
                "base_voice": "en_US-joe-medium",
                "exported": datetime.now(UTC).isoformat(timespec="seconds"),
                "voicestudio_version": __version__,
                "export_max_abs_diff": difference,
            }
        )
        sidecar["voicestudio"] = fields
        (staging / f"{name}.onnx.json").write_text(
            json.dumps(sidecar, indent=2, ensure_ascii=False), encoding="utf-8"
        )
        if folder.exists():
            shutil.rmtree(folder)
        staging.rename(folder)
        fsync_dir(folder.parent)
        return folder / f"{name}.onnx"
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def compare_with_torch(model, onnx_path: Path, ids: list[int]) -> float:
    """Max abs difference of the waveforms from torch and onnxruntime at noise 0."""
    import onnxruntime as ort

    with torch.no_grad():
        expected = model.infer(
            torch.tensor([ids], dtype=torch.long),
            torch.tensor([len(ids)]),
            noise_scale=0.0,
            noise_scale_w=0.0,
        )[0][0, 0].numpy()
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    got = session.run(
        None,
        {
            "input": np.array([ids], dtype=np.int64),
            "input_lengths": np.array([len(ids)], dtype=np.int64),
            "scales": np.array([0.0, 1.0, 0.0], dtype=np.float32),
        },
    )[0].reshape(-1)
    if got.shape != expected.shape:
        return float("inf")
    return float(np.max(np.abs(got - expected)))
