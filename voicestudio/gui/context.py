"""What every panel shares: the open project, the chosen devices and provider, loaded
voices, the speaker used for playback, and the app's settings.

Panels receive one :class:`StudioContext` and listen to its signals instead of reaching
into each other, so a panel can be built (and tested) on its own.
"""

from __future__ import annotations

import contextlib
import threading
from pathlib import Path

from PySide6.QtCore import QObject, QSettings, Signal

from voicestudio.errors import VoiceStudioError

MAX_RECENT = 8


class StudioContext(QObject):
    """Shared state of one main window. Emits ``project_changed`` (VoiceProject or None)
    when a project is opened or closed, ``project_edited`` when the open project's prompts or
    takes changed (views refresh, nothing resets), ``voices_changed`` when a trained voice was
    added,
    ``devices_changed`` when the input/output device or provider changes, and
    ``status`` with a short message for the status bar."""

    project_changed = Signal(object)
    project_edited = Signal()
    voices_changed = Signal()
    devices_changed = Signal()
    status = Signal(str)

    def __init__(self, settings: QSettings | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.settings = settings or QSettings()
        self.project = None  # voicestudio.project.project.VoiceProject | None
        self._voices: dict[tuple[str, str], object] = {}
        self._voice_lock = threading.Lock()
        self._player = None
        #: Grows with every sound played: whoever started one can tell whether it still plays.
        self.sounds_played = 0

    # -- project
    def set_project(self, project) -> None:
        """Make ``project`` (a VoiceProject, or None) current and remember it as recent."""
        self.project = project
        if project is not None:
            self.add_recent(project.folder)
        self.project_changed.emit(project)

    def recent_projects(self) -> list[str]:
        value = self.settings.value("recent_projects", [])
        if isinstance(value, str):  # QSettings gives a bare string for a one-element list
            value = [value]
        return [str(v) for v in (value or []) if Path(str(v)).is_dir()]

    def add_recent(self, path: str | Path) -> None:
        path = str(Path(path).resolve())
        recent = [p for p in self.recent_projects() if p != path]
        self.settings.setValue("recent_projects", [path, *recent][:MAX_RECENT])

    # -- devices and provider (None = the system default device)
    @property
    def input_device(self) -> str | None:
        return self.settings.value("input_device") or None

    @input_device.setter
    def input_device(self, name: str | None) -> None:
        self.settings.setValue("input_device", name or "")
        self.devices_changed.emit()

    @property
    def output_device(self) -> str | None:
        return self.settings.value("output_device") or None

    @output_device.setter
    def output_device(self, name: str | None) -> None:
        self.settings.setValue("output_device", name or "")
        self._close_player()
        self.devices_changed.emit()

    @property
    def provider(self) -> str:
        """"auto", "cpu" or "cuda" (onnxruntime execution provider for synthesis)."""
        value = str(self.settings.value("provider", "auto"))
        return value if value in ("auto", "cpu", "cuda") else "auto"

    @provider.setter
    def provider(self, value: str) -> None:
        self.settings.setValue("provider", value)
        with self._voice_lock:
            self._voices.clear()
        self.devices_changed.emit()

    # -- voices
    def voice(self, spec: str | None = None):
        """A loaded VoiceModel for ``spec`` (catalog name, file, or project folder), cached per
        provider. Thread-safe: workers call it. Raises VoiceStudioError with a clear message."""
        from voicestudio.voice.catalog import load_voice

        key = (spec or "", self.provider)
        with self._voice_lock:
            voice = self._voices.get(key)
        if voice is None:
            voice = load_voice(spec, provider=self.provider, threads=1)
            with self._voice_lock:
                self._voices.setdefault(key, voice)
        return voice

    def synthesizer(self, spec: str | None = None):
        """A Synthesizer over :meth:`voice` that says words as the lexicons say (the user's,
        with the open project's on top). Call it off the GUI thread: it loads a voice."""
        from voicestudio.project.lexicon_store import lexicon_for
        from voicestudio.voice.synthesizer import Synthesizer

        return Synthesizer(self.voice(spec), lexicon=lexicon_for(self.project))

    def forget_voices(self) -> None:
        """Drop cached voices (after a voice file was replaced)."""
        with self._voice_lock:
            self._voices.clear()

    # -- playback through one shared player, so a new sound stops the previous one
    def play(self, samples, sample_rate: int) -> None:
        """Play on the chosen output device; raises VoiceStudioError (e.g. no device)."""
        from voicestudio.audio.player import Player

        if self._player is None:
            self._player = Player(self.output_device)
        self._player.stop()
        self.sounds_played += 1
        self._player.play(samples, sample_rate)

    def stop_playback(self) -> None:
        if self._player is not None:
            self._player.stop()

    @property
    def is_playing(self) -> bool:
        return self._player is not None and self._player.is_playing

    @property
    def playback_position_s(self) -> float | None:
        """Seconds into the sound playing (as far as it went to the device); None when
        nothing plays."""
        return self._player.position_s if self.is_playing else None

    def _close_player(self) -> None:
        if self._player is not None:
            with contextlib.suppress(VoiceStudioError):
                self._player.stop()
            self._player = None

    def close(self) -> None:
        self._close_player()
