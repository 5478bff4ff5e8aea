"""Crash-safe JSON files: write to a temporary file, fsync, rename; keep the last good copy.

A kill -9 at any instant leaves either the old or the new ``project.json`` in place,
never a torn one, and ``project.json.bak`` holds a good copy (the last or the one
before), so a file damaged later by other hands can be put back.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import time
from pathlib import Path
from typing import Any

from voicestudio.errors import VoiceStudioError

MAX_JSON_BYTES = 64 << 20


class ProjectFileError(VoiceStudioError):
    """A project file is missing, damaged, or from a newer VoiceStudio."""


def fsync_dir(folder: Path) -> None:
    """Make a rename durable: the directory entry itself must reach the disk."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.part")
    try:
        with open(tmp, "xb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise ProjectFileError(f"cannot save {path}: {exc.strerror or exc}") from exc
    fsync_dir(path.parent)


def backup_path(path: Path) -> Path:
    return path.with_name(path.name + ".bak")


def save_json(path: Path, data: dict[str, Any], keep_backup: bool = True) -> None:
    """Atomically replace ``path``, then refresh ``path.bak`` with the same good bytes."""
    payload = (json.dumps(data, indent=2, ensure_ascii=False, sort_keys=False) + "\n").encode(
        "utf-8"
    )
    atomic_write_bytes(path, payload)
    if keep_backup:
        atomic_write_bytes(backup_path(path), payload)


def load_json(path: Path) -> dict[str, Any]:
    """Parse a JSON object, with an exact message (line and column) when it is damaged."""
    if not path.is_file():
        raise ProjectFileError(f"{path} does not exist")
    size = path.stat().st_size
    if size > MAX_JSON_BYTES:
        raise ProjectFileError(f"{path} is implausibly large ({size} bytes)")
    raw = path.read_bytes()
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ProjectFileError(f"{path} is damaged: not UTF-8 text (byte {exc.start})") from exc
    except json.JSONDecodeError as exc:
        raise ProjectFileError(
            f"{path} is damaged: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        ) from exc
    if not isinstance(data, dict):
        raise ProjectFileError(
            f"{path} is damaged: expected a JSON object, found {type(data).__name__}"
        )
    return data


def restore_backup(path: Path) -> Path | None:
    """Put ``path.bak`` back in place. Returns where the damaged file was kept (None if there was
    none)."""
    backup = backup_path(path)
    if not backup.is_file():
        raise ProjectFileError(f"no backup copy {backup} to restore")
    load_json(backup)  # refuse to restore a damaged backup
    kept = None
    if path.exists():
        kept = path.with_name(f"{path.name}.damaged-{time.strftime('%Y%m%d-%H%M%S')}")
        shutil.copyfile(path, kept)
    atomic_write_bytes(path, backup.read_bytes())
    return kept
