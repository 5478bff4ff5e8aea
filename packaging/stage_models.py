"""Copy the models the packaged app needs into one folder (given as the argument), so the
bundle carries them without the Python packages (and torch) that ship or build them:
silero-vad's ONNX (silence trimming) and the speaker encoder's ONNX (similarity score,
built once from Resemblyzer's weights with torch, which only this build step needs)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path


def main(target: str) -> int:
    from voicestudio.audio.cleanup import model_path as vad_model_path
    from voicestudio.evaluate.secs import MODEL_FILE, ensure_encoder_model

    out = Path(target)
    out.mkdir(parents=True, exist_ok=True)
    shutil.copy2(vad_model_path(), out / "silero_vad.onnx")
    ensure_encoder_model(out / MODEL_FILE)
    for path in sorted(out.iterdir()):
        print(f"staged {path} ({path.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "build/models"))
