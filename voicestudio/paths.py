"""Where VoiceStudio keeps and finds things: bundled resources and the user's data.

``VOICESTUDIO_DATA_DIR`` overrides the per-user data folder (tests and portable
installs use it), so nothing is ever written to a real home folder by accident.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "VoiceStudio"


def resources_dir() -> Path:
    """The ``resources/`` folder: packed into the wheel, or beside the package in a checkout."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "_resources", here.parent / "resources"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"VoiceStudio resources not found near {here}")


def user_data_dir() -> Path:
    """Per-user data folder (voices, projects, caches); created on demand by callers."""
    override = os.environ.get("VOICESTUDIO_DATA_DIR")
    if override:
        return Path(override).expanduser()
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def user_voices_dir() -> Path:
    """Folder where a user drops extra Piper voices (``.onnx`` + ``.onnx.json``)."""
    return user_data_dir() / "voices"


def bundled_model(name: str) -> Path | None:
    """A model file shipped inside a packaged app's resources (``models/NAME``), or None.

    Installs from source find their models in the Python packages that ship them; the
    PyInstaller bundle, which leaves those packages (and torch) out, carries copies here."""
    try:
        path = resources_dir() / "models" / name
    except FileNotFoundError:
        return None
    return path if path.is_file() else None
