"""Named style presets a user saves and loads (the Synthesize panel's "presets" row).

They are kept as JSON in the user data folder, never pickled, written atomically, and
checked on load with :meth:`StyleControls.validated`. A damaged file is never
overwritten: loading says what is wrong and leaves it alone; the next save sets it
aside (``style_presets.json.broken``, numbered when that exists) before starting a new file.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, fields
from pathlib import Path

from voicestudio.errors import VoiceStudioError
from voicestudio.paths import user_data_dir
from voicestudio.project.store import atomic_write_bytes
from voicestudio.styling.controls import StyleControls

PRESETS_FILE = "style_presets.json"
FORMAT_VERSION = 1
MAX_NAME_CHARS = 60
MAX_PRESETS = 500
MAX_FILE_BYTES = 1 << 20
_CONTROL_FIELDS = {f.name for f in fields(StyleControls)}


class PresetError(VoiceStudioError):
    """A preset name or the presets file is unusable."""


class PresetFileError(PresetError):
    """The presets file is damaged; it has been left as it was."""


def presets_path() -> Path:
    return user_data_dir() / PRESETS_FILE


def check_name(name: str) -> str:
    """The name, trimmed; raises :class:`PresetError` when it cannot be a preset's name."""
    if not isinstance(name, str):
        raise PresetError("a preset name must be text")
    name = " ".join(name.split())
    if not name:
        raise PresetError("give the preset a name")
    if len(name) > MAX_NAME_CHARS:
        raise PresetError(
            f"a preset name has at most {MAX_NAME_CHARS} characters (got {len(name)})"
        )
    return name


class PresetStore:
    """The presets file: ``load()`` (name → controls), ``save(name, controls)``, ``delete(name)``.
    Every call reads the file afresh, so two windows never undo each other's presets."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else presets_path()

    def load(self) -> dict[str, StyleControls]:
        """Name → validated controls, sorted by name (case-insensitive); empty without a file."""
        if not self.path.exists():
            return {}
        try:
            size = self.path.stat().st_size
            if size > MAX_FILE_BYTES:
                raise PresetFileError(self._damaged(f"implausibly large ({size} bytes)"))
            data = json.loads(self.path.read_bytes().decode("utf-8"))
        except OSError as exc:
            raise PresetError(
                f"cannot read style presets {self.path}: {exc.strerror or exc}"
            ) from exc
        except UnicodeDecodeError as exc:
            raise PresetFileError(self._damaged(f"not UTF-8 text (byte {exc.start})")) from exc
        except json.JSONDecodeError as exc:
            raise PresetFileError(
                self._damaged(f"{exc.msg} at line {exc.lineno}, column {exc.colno}")
            ) from exc
        return self._parse(data)

    def names(self) -> list[str]:
        return list(self.load())

    def get(self, name: str) -> StyleControls:
        presets = self.load()
        if name not in presets:
            raise PresetError(f"no style preset named {name!r}")
        return presets[name]

    def save(self, name: str, controls: StyleControls) -> Path | None:
        """Add or replace preset ``name``. Returns where a damaged file was set aside (or None)."""
        name = check_name(name)
        controls = controls.validated()
        kept = None
        try:
            presets = self.load()
        except PresetFileError:
            kept = self._set_aside()
            presets = {}
        if name not in presets and len(presets) >= MAX_PRESETS:
            raise PresetError(f"there are already {MAX_PRESETS} style presets; delete some first")
        presets[name] = controls
        self._write(presets)
        return kept

    def delete(self, name: str) -> None:
        presets = self.load()
        if presets.pop(name, None) is None:
            raise PresetError(f"no style preset named {name!r}")
        self._write(presets)

    # ------------------------------------------------------------------ internals
    def _damaged(self, detail: str) -> str:
        return (
            f"the style presets file {self.path} is damaged ({detail}); it was left as it is. "
            "Fix it in a text editor, or save a preset: the damaged file is then kept beside it "
            f"as {self.path.name}.broken and a new one started"
        )

    def _parse(self, data: object) -> dict[str, StyleControls]:
        if not isinstance(data, dict) or not isinstance(data.get("presets"), dict):
            raise PresetFileError(self._damaged('expected a JSON object with a "presets" object'))
        version = data.get("version")
        if isinstance(version, int) and version > FORMAT_VERSION:
            raise PresetFileError(
                self._damaged(f"written by a newer VoiceStudio (version {version})")
            )
        presets: dict[str, StyleControls] = {}
        for name, values in data["presets"].items():
            if not isinstance(values, dict):
                raise PresetFileError(self._damaged(f"preset {name!r} is not a JSON object"))
            unknown = sorted(set(values) - _CONTROL_FIELDS)
            if unknown:
                raise PresetFileError(
                    self._damaged(f"preset {name!r} has unknown fields: {', '.join(unknown)}")
                )
            if "emotion" in values and not isinstance(values["emotion"], str):
                raise PresetFileError(self._damaged(f"preset {name!r}: emotion must be a name"))
            try:
                presets[check_name(name)] = StyleControls(**values).validated()
            except VoiceStudioError as exc:
                raise PresetFileError(self._damaged(f"preset {name!r}: {exc}")) from exc
        return dict(sorted(presets.items(), key=lambda kv: kv[0].casefold()))

    def _write(self, presets: dict[str, StyleControls]) -> None:
        payload = {"version": FORMAT_VERSION, "presets": {n: asdict(c) for n, c in presets.items()}}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise PresetError(f"cannot create {self.path.parent}: {exc.strerror or exc}") from exc
        try:
            atomic_write_bytes(
                self.path,
                (json.dumps(payload, indent=2, ensure_ascii=False) + "\n").encode("utf-8"),
            )
        except VoiceStudioError as exc:
            raise PresetError(f"cannot save style presets: {exc}") from exc

    def _set_aside(self) -> Path:
        target = self.path.with_name(self.path.name + ".broken")
        number = 1
        while target.exists():
            number += 1
            target = self.path.with_name(f"{self.path.name}.broken{number}")
        try:
            os.replace(self.path, target)
        except OSError as exc:
            raise PresetError(
                f"cannot set the damaged {self.path} aside: {exc.strerror or exc}"
            ) from exc
        return target
