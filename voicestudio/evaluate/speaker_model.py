"""The speaker encoder's ONNX model: where it is, and building it once from Resemblyzer's
weights (torch, only then; in a child process when the caller must stay torch-free).

The model is built once from Resemblyzer's ``pretrained.pt`` by
``voicestudio.training.speaker_encoder`` and kept in the user data folder; an installation
without torch can copy that one file in, and the packaged app ships it among its
resources (``paths.bundled_model``).
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from voicestudio.errors import VoiceStudioError
from voicestudio.paths import bundled_model, user_data_dir

#: Bump the version in the file name whenever the exported graph changes.
MODEL_FILE = "speaker_encoder-v1.onnx"
#: Building the model in a child process: importing torch and exporting takes ~10-30 s.
BUILD_TIMEOUT_S = 600.0

INSTALL_WEIGHTS_HINT = (
    ".venv/bin/python -m pip install --no-deps Resemblyzer  (or run `make install`)"
)

_build_lock = threading.Lock()


class SpeakerEncoderUnavailableError(VoiceStudioError):
    """The speaker-similarity model is not there and cannot be built here."""


def encoder_model_path() -> Path:
    """Where the ONNX speaker encoder is: the copy a packaged app ships (it has no torch to
    build one), else the user data folder's ``models/``, where it is built the first time."""
    bundled = bundled_model(MODEL_FILE)
    if bundled is not None:
        return bundled
    return user_data_dir() / "models" / MODEL_FILE


def resemblyzer_weights_path() -> Path:
    """Resemblyzer's ``pretrained.pt``, found without importing the package (its
    ``__init__`` imports librosa and webrtcvad, which VoiceStudio does not install)."""
    try:
        spec = importlib.util.find_spec("resemblyzer")
    except (ImportError, ValueError):
        spec = None
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for folder in locations:
        path = Path(folder) / "pretrained.pt"
        if path.is_file():
            return path
    raise SpeakerEncoderUnavailableError(
        "building the speaker-similarity model needs Resemblyzer's pretrained weights, which are "
        f"not installed; install them with: {INSTALL_WEIGHTS_HINT}"
    )


def ensure_encoder_model(path: str | Path | None = None) -> Path:
    """The ONNX encoder's path, building it from Resemblyzer's weights the first time.

    Building needs torch (the training extra). Without it the error says how to get
    the model: install the extra once, or copy the file from another installation.
    """
    path = Path(path) if path is not None else encoder_model_path()
    with _build_lock:
        if path.is_file():
            return path
        weights = resemblyzer_weights_path()
        if importlib.util.find_spec("torch") is None:
            raise SpeakerEncoderUnavailableError(
                f"the speaker-similarity model {path} has not been built yet, and building it "
                "needs torch, which is not installed; install the training extra (pip install "
                f"'voicestudio[train]') and run this once, or copy {MODEL_FILE} from another "
                f"VoiceStudio installation into {path.parent}"
            )
        from voicestudio.training.speaker_encoder import build_onnx

        try:
            return build_onnx(weights, path)
        except (OSError, ValueError, RuntimeError) as exc:
            raise SpeakerEncoderUnavailableError(
                f"cannot build the speaker-similarity model {path}: {exc}"
            ) from exc


_BUILD_SCRIPT = """
import sys
from voicestudio.errors import VoiceStudioError
from voicestudio.evaluate.speaker_model import ensure_encoder_model
try:
    ensure_encoder_model(sys.argv[1])
except VoiceStudioError as exc:
    print(exc, file=sys.stderr)
    sys.exit(3)
"""


class EncoderBuildCancelled(SpeakerEncoderUnavailableError):
    """The caller's ``cancelled()`` said stop while the child was building; nothing was kept."""


def build_encoder_model_in_subprocess(
    path: str | Path | None = None,
    timeout_s: float = BUILD_TIMEOUT_S,
    cancelled: Callable[[], bool] | None = None,
) -> Path:
    """Like :func:`ensure_encoder_model`, but a missing model is built by a child Python
    process, so torch never enters the caller (the GUI must stay torch-free). Blocks until
    the child is done: call it off the GUI thread. ``cancelled()`` is polled a few times a
    second; when it says stop, the child is killed (the model is written atomically, so no
    half file is left) and :class:`EncoderBuildCancelled` raised, so a closing window never
    waits half a minute for a torch import."""
    path = Path(path) if path is not None else encoder_model_path()
    if path.is_file():
        return path
    # a packaged app: sys.executable is the app, and it has no torch
    if getattr(sys, "frozen", False):
        raise SpeakerEncoderUnavailableError(
            f"the speaker-similarity model {path} is not there, and this build cannot make it; "
            f"copy {MODEL_FILE} from a VoiceStudio installation "
            f"with the training extra into {path.parent}"
        )
    try:  # a folder that cannot be made is known in a millisecond; the child takes half a minute
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SpeakerEncoderUnavailableError(
            f"cannot build the speaker-similarity model {path}: folder {path.parent} cannot be "
            f"created ({exc.strerror or exc})"
        ) from exc
    with _build_lock:
        if path.is_file():
            return path
        try:
            child = subprocess.Popen(
                [sys.executable, "-c", _BUILD_SCRIPT, str(path)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
        except OSError as exc:
            raise SpeakerEncoderUnavailableError(
                f"cannot start Python to build the speaker-similarity model: {exc}"
            ) from exc
        stderr = _wait_for_child(child, timeout_s, cancelled)
    message = stderr.strip()
    if child.returncode == 3 and message:
        raise SpeakerEncoderUnavailableError(message)
    if child.returncode != 0 or not path.is_file():
        last = message.splitlines()[-1] if message else "no error output"
        raise SpeakerEncoderUnavailableError(
            f"building the speaker-similarity model {path} failed (exit "
            f"status {child.returncode}): {last}"
        )
    return path


def _wait_for_child(
    child: subprocess.Popen, timeout_s: float, cancelled: Callable[[], bool] | None
) -> str:
    """The child's stderr once it exited; kills it on a timeout or a cancel."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return child.communicate(timeout=0.2)[1] or ""
        except subprocess.TimeoutExpired:
            pass
        stop = cancelled is not None and cancelled()
        if stop or time.monotonic() > deadline:
            child.kill()
            child.communicate()
            if stop:
                raise EncoderBuildCancelled("building the speaker-similarity model was cancelled")
            raise SpeakerEncoderUnavailableError(
                f"building the speaker-similarity model took longer than {timeout_s:.0f} s "
                "and was stopped"
            )
