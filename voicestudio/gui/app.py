"""Application entry point: checks that a window can open, applies the theme and shows
the studio (``voicestudio.gui.main_window``)."""

from __future__ import annotations

import sys

from PySide6.QtWidgets import QApplication

from voicestudio.display import check_window
from voicestudio.errors import VoiceStudioError
from voicestudio.gui.theme import apply_theme
from voicestudio.paths import APP_NAME


def display_problem() -> str | None:
    """Why no window can open here (None when it can): Qt would otherwise abort the process,
    for want of a display that answers or of a system library its platform plugin needs."""
    if QApplication.instance() is not None:
        return None
    check = check_window()
    return None if check.ok else check.message()


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
