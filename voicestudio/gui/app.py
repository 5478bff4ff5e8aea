"""Application entry point. Until the studio panels land this is a small window that
speaks a line with the chosen voice and plays it, so ``make run`` shows a working app."""

from __future__ import annotations

import os
import sys

from PySide6.QtCore import QObject, Qt, QThread, Signal
from PySide6.QtWidgets import (
    QApplication,
    QLabel,
    QMainWindow,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from voicestudio import __version__
from voicestudio.errors import VoiceStudioError


class _SpeakWorker(QObject):
    """Runs one synthesis off the GUI thread (engine call only; no DSP here)."""

    finished = Signal(object, str)  # Audio or None, message

    def __init__(self, preview, text: str) -> None:
        super().__init__()
        self.preview, self.text = preview, text

    def run(self) -> None:
        from voicestudio.styling.controls import StyleControls

        try:
            audio = self.preview.render(self.text, StyleControls())
            self.finished.emit(audio, f"{audio.duration_s:.1f} s of speech")
        except VoiceStudioError as exc:
            self.finished.emit(None, str(exc))
        except Exception as exc:  # a bug: report it instead of leaving the button disabled
            self.finished.emit(None, f"internal error: {exc!r}")


class MainWindow(QMainWindow):
    def __init__(self, voice_spec: str | None = None) -> None:
        super().__init__()
        self.setWindowTitle(f"VoiceStudio {__version__}")
        self.resize(720, 420)
        from voicestudio.voice.catalog import load_voice
        from voicestudio.voice.preview import PreviewSession
        from voicestudio.voice.synthesizer import Synthesizer

        self.voice = load_voice(voice_spec, provider="auto", threads=1)
        self.preview = PreviewSession(Synthesizer(self.voice))
        self._thread: QThread | None = None

        central = QWidget(self)
        layout = QVBoxLayout(central)
        title = QLabel("<h2>VoiceStudio</h2>"
                       "<p>Recording, training and the full Synthesize &amp; Customize panel are on their way. "
                       "For now: type a line and press <b>Speak</b>, or use <code>voicestudio say</code>.</p>")
        title.setWordWrap(True)
        title.setTextFormat(Qt.TextFormat.RichText)
        self.text = QPlainTextEdit("Hello! This is VoiceStudio speaking with the bundled voice.")
        self.speak = QPushButton("Speak")
        self.speak.clicked.connect(self.on_speak)
        self.status = QLabel("")
        layout.addWidget(title)
        layout.addWidget(self.text)
        layout.addWidget(self.speak)
        layout.addWidget(self.status)
        self.setCentralWidget(central)
        self.statusBar().showMessage(f"Voice: {self.voice.name} · provider: {self.voice.provider.used}")
        self.last_audio = None

    def on_speak(self) -> None:
        if self._thread is not None and self._thread.isRunning():
            return  # one synthesis at a time (the button is disabled meanwhile)
        self.speak.setEnabled(False)
        self.status.setText("Synthesizing…")
        self._thread = QThread(self)
        self._worker = _SpeakWorker(self.preview, self.text.toPlainText())
        self._worker.moveToThread(self._thread)
        self._thread.started.connect(self._worker.run)
        self._worker.finished.connect(self._on_done)
        self._worker.finished.connect(self._thread.quit)
        self._thread.start()

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        """Let a running synthesis finish before the window (and its thread) go away."""
        if self._thread is not None and self._thread.isRunning():
            self._thread.quit()
            self._thread.wait(30_000)
        super().closeEvent(event)

    def _on_done(self, audio, message: str) -> None:
        self.speak.setEnabled(True)
        self.last_audio = audio
        self.status.setText(message)
        if audio is not None:
            self._play(audio)

    def _play(self, audio) -> None:
        try:
            import sounddevice as sd

            sd.play(audio.samples, audio.sample_rate)
        except Exception as exc:  # no PortAudio or no output device: say so, keep the audio
            hint = " (install libportaudio2)" if isinstance(exc, OSError) else ""
            self.status.setText(f"{self.status.text()} — cannot play: {exc}{hint}")


def display_problem() -> str | None:
    """Why no window can open here (None when it can): Qt would otherwise abort the process."""
    if QApplication.instance() is not None or os.environ.get("QT_QPA_PLATFORM"):
        return None
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return ("no display to open the VoiceStudio window on (DISPLAY and WAYLAND_DISPLAY are unset); "
                "use 'voicestudio say' and the other commands (see 'voicestudio --help'), "
                "or set QT_QPA_PLATFORM=offscreen to run the window without a screen")
    return None


def run_gui(voice: str | None = None) -> int:
    problem = display_problem()
    if problem:
        raise VoiceStudioError(problem)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("VoiceStudio")
    window = MainWindow(voice)
    window.show()
    return app.exec()
