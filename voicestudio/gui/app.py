"""Application entry point: checks that a window can open, applies the theme and shows
the studio (``voicestudio.gui.main_window``)."""

from __future__ import annotations

import os
import sys

from PySide6.QtWidgets import QApplication

from voicestudio.errors import VoiceStudioError
from voicestudio.gui.theme import apply_theme
from voicestudio.paths import APP_NAME


def display_problem() -> str | None:
    """Why no window can open here (None when it can): Qt would otherwise abort the process."""
    if QApplication.instance() is not None or os.environ.get("QT_QPA_PLATFORM"):
        return None
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return ("no display to open the VoiceStudio window on (DISPLAY and WAYLAND_DISPLAY are unset); "
                "use 'voicestudio say' and the other commands (see 'voicestudio --help'), "
                "or set QT_QPA_PLATFORM=offscreen to run the window without a screen")
    return None


def run_gui(voice: str | None = None, project: str | None = None) -> int:
    problem = display_problem()
    if problem:
        raise VoiceStudioError(problem)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName(APP_NAME)
    app.setOrganizationName(APP_NAME)
    apply_theme(app)
    from voicestudio.gui.main_window import MainWindow

    window = MainWindow(project=project)
    if voice:
        window.synthesize.select_voice(voice)
    window.show()
    return app.exec()
