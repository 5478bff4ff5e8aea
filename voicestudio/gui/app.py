"""Application entry point: checks that a window can open, applies the theme and shows
the studio (``voicestudio.gui.main_window``)."""

from __future__ import annotations

import os
import sys

from PySide6.QtWidgets import QApplication

from voicestudio.display import window_libraries_problem, window_platform
from voicestudio.errors import VoiceStudioError
from voicestudio.gui.theme import apply_theme
from voicestudio.paths import APP_NAME


def display_problem() -> str | None:
    """Why no window can open here (None when it can): Qt would otherwise abort the process,
    for want of a display or of a system library its platform plugin needs."""
    if QApplication.instance() is not None:
        return None
    chosen = os.environ.get("QT_QPA_PLATFORM")
    platform = window_platform()
    if sys.platform.startswith("linux") and (not chosen or platform is not None):
        display = {"xcb": "DISPLAY", "wayland": "WAYLAND_DISPLAY"}.get(platform or "")
        if platform is None or not os.environ.get(display or ""):
            unset = display or "DISPLAY and WAYLAND_DISPLAY"
            return (f"no display to open the VoiceStudio window on ({unset} {'is' if display else 'are'} unset); "
                    "use 'voicestudio say' and the other commands (see 'voicestudio --help'), "
                    "or set QT_QPA_PLATFORM=offscreen to run the window without a screen")
    missing = window_libraries_problem()
    return missing.message() if missing is not None else None


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
