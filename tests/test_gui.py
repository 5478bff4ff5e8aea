"""The placeholder main window, offscreen: builds with the bundled voice, speaks in the background."""

from __future__ import annotations

import sys

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import Qt  # noqa: E402

from voicestudio.audio.io import Audio  # noqa: E402
from voicestudio.gui.app import MainWindow  # noqa: E402

SPEAK_TIMEOUT_MS = 30_000


@pytest.fixture
def window(qtbot):
    win = MainWindow()
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    yield win
    if win._thread is not None:  # never destroy a running QThread
        qtbot.waitUntil(lambda: not win._thread.isRunning(), timeout=SPEAK_TIMEOUT_MS)


def _playback_possible() -> bool:
    try:
        import sounddevice as sd

        return any(d["max_output_channels"] for d in sd.query_devices())
    except Exception:
        return False


def test_window_shows_voice_and_provider(window):
    message = window.statusBar().currentMessage()
    assert "en_US-joe-medium" in message
    assert f"provider: {window.voice.provider.used}" in message
    assert window.voice.provider.used in ("cpu", "cuda")
    assert window.windowTitle().startswith("VoiceStudio")
    assert window.speak.isEnabled() and window.text.toPlainText().strip()


def test_speak_synthesizes_in_background(qtbot, window, artifacts_dir):
    window.text.setPlainText("Testing the speak button. One, two, three.")
    qtbot.mouseClick(window.speak, Qt.MouseButton.LeftButton)
    assert not window.speak.isEnabled()  # disabled while the worker runs
    assert window._thread is not None and window._thread is not window.thread()

    qtbot.waitUntil(lambda: window.last_audio is not None, timeout=SPEAK_TIMEOUT_MS)
    audio = window.last_audio
    assert isinstance(audio, Audio)
    assert audio.sample_rate == window.voice.sample_rate == 22050
    assert audio.samples.size > audio.sample_rate and audio.duration_s > 1.0
    assert window.speak.isEnabled()

    status = window.status.text()
    assert "s of speech" in status
    if not _playback_possible():  # no PortAudio or no output device: said so, no crash
        assert "cannot play" in status, status
    qtbot.waitUntil(lambda: not window._thread.isRunning(), timeout=SPEAK_TIMEOUT_MS)

    window.grab().save(str(artifacts_dir / "main_window.png"))
    assert (artifacts_dir / "main_window.png").stat().st_size > 1000


def test_speak_with_unspeakable_text_shows_the_error(qtbot, window):
    window.text.setPlainText("\U0001F600 \U0001F389")
    qtbot.mouseClick(window.speak, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(window.speak.isEnabled, timeout=SPEAK_TIMEOUT_MS)
    assert window.last_audio is None
    assert "nothing speakable" in window.status.text()

    window.text.setPlainText("   ")
    qtbot.mouseClick(window.speak, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(window.speak.isEnabled, timeout=SPEAK_TIMEOUT_MS)
    assert "empty" in window.status.text()


def test_closing_while_speaking_waits_for_the_worker(qtbot):
    """Closing mid-synthesis must not destroy a running QThread (Qt would abort the process)."""
    win = MainWindow()
    qtbot.addWidget(win)
    win.show()
    win.text.setPlainText("A fairly long sentence that takes a moment to synthesize and style.")
    qtbot.mouseClick(win.speak, Qt.MouseButton.LeftButton)
    assert win._thread is not None
    win.close()
    assert not win._thread.isRunning()


def test_no_display_is_a_clear_error(monkeypatch):
    from voicestudio.gui import app

    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setattr(app.QApplication, "instance", staticmethod(lambda: None))
    monkeypatch.setattr(app.sys, "platform", "linux")
    assert "no display" in app.display_problem()


SHOW_AND_SPEAK = """
import sys
from PySide6.QtWidgets import QApplication
app = QApplication([])
from voicestudio.gui.app import MainWindow
win = MainWindow()
win.show()
app.processEvents()
print("torch" in sys.modules)
"""


def test_showing_the_window_does_not_import_torch():
    """In a fresh interpreter (this test process may have imported torch for training tests)."""
    import os
    import subprocess

    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    done = subprocess.run([sys.executable, "-c", SHOW_AND_SPEAK], capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "False", "showing the window must not import torch"
