"""Copy the models the packaged app needs into one folder (given as the argument), so the
bundle carries them without the Python packages (and torch) that ship or build them:
silero-vad's ONNX (silence trimming), the speaker encoder's ONNX (similarity score,
built once from Resemblyzer's weights with torch, which only this build step needs) and
the DNSMOS networks (quality score) from the speechmos wheel, under their own relative paths."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path


def main(target: str) -> int:
    from voicestudio.audio.cleanup import model_path as vad_model_path
    from voicestudio.evaluate.dnsmos import P808_MODEL, STANDARD, model_file
    from voicestudio.evaluate.speaker_model import MODEL_FILE, ensure_encoder_model

    out = Path(target)
    out.mkdir(parents=True, exist_ok=True)
    shutil.copy2(vad_model_path(), out / "silero_vad.onnx")
    ensure_encoder_model(out / MODEL_FILE)
    for relative in (STANDARD.model, P808_MODEL):
        (out / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(model_file(relative), out / relative)
    for path in sorted(p for p in out.rglob("*") if p.is_file()):
        print(f"staged {path} ({path.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "build/models"))
