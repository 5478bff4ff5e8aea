"""Checkpoints that survive kill -9 and never execute code when loaded.

Writes go to a temporary file in the same folder, are fsynced and renamed over the
old file, so a checkpoint on disk is always either the previous complete one or the
new complete one. Loading uses ``weights_only=True``: tensors and plain data only.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import torch

from voicestudio.errors import VoiceStudioError
from voicestudio.project.store import fsync_dir


class CheckpointError(VoiceStudioError):
    """A checkpoint is missing, damaged or of an unknown kind."""


def save_state(path: Path, state: dict[str, Any]) -> None:
    """Atomically replace ``path`` with ``state`` (tensors, numbers, strings, lists, dicts)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(state, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        fsync_dir(path.parent)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_state(path: Path) -> dict[str, Any]:
    """Load a checkpoint written by :func:`save_state`; anything else is refused clearly."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise CheckpointError(f"checkpoint not found: {path}") from None
    except Exception as exc:  # torch raises many kinds for damaged or foreign files
        raise CheckpointError(
            f"checkpoint {path} is damaged or not a VoiceStudio checkpoint ({exc})"
        ) from exc
    if not isinstance(state, dict):
        raise CheckpointError(f"checkpoint {path} is not a VoiceStudio checkpoint")
    return state


def remove_stale_temporaries(folder: Path) -> None:
    """Temporary files left by a save that was killed midway."""
    for tmp in folder.glob(".*.tmp"):
        tmp.unlink(missing_ok=True)
