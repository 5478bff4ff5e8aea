"""The way on when a project lacks its consent statement, or the gate refused it: record the
statement now (the window shows its prompt in Record), or add a recording of it made
elsewhere, checked on a worker as ``voicestudio project consent --file`` checks it and
stored only when it passes. Its two widgets (the buttons' row and the verdict's message
line) go into the owner's layout.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QHBoxLayout, QPushButton, QWidget

from voicestudio.errors import VoiceStudioError
from voicestudio.gui.controllers.train import record_button_text, refusal_text, sentence
from voicestudio.gui.widgets.inline_message import InlineMessage
from voicestudio.gui.workers import Cancelled, TaskHandle, run_task
from voicestudio.project import selection


class ConsentStatementActions(QObject):
    """Two widgets for the owner's layout: ``actions`` (the buttons' row, shown when needed)
    and ``message`` (the verdict), children of ``parent``.

    ``record_statement(index)``: show that prompt in Record. ``stored()``: a recording
    passed and is the project's statement now. ``checking_changed()``: a check began or
    ended. ``may_act()`` (the owner's) says whether the buttons may act now.
    """

    record_statement = Signal(int)
    stored = Signal()
    checking_changed = Signal()

    def __init__(self, ctx, may_act: Callable[[], bool], parent: QWidget) -> None:
        super().__init__(parent)
        self.ctx, self._may_act, self._parent = ctx, may_act, parent
        self.task = None  # the running check of an added recording
        self.actions = QWidget(parent)
        row = QHBoxLayout(self.actions)
        row.setContentsMargins(0, 0, 0, 0)
        self.record_button = QPushButton("Record the statement now")
        self.record_button.setToolTip("Show the consent statement's prompt in Record")
        self.add_button = QPushButton("Add a recording of it…")
        self.add_button.setToolTip("A recording of the speaker reading the statement, made "
                                   "elsewhere: it is checked and stored only if it passes")
        self.record_button.clicked.connect(self.record_now)
        self.add_button.clicked.connect(lambda: self.add_recording())
        row.addWidget(self.record_button)
        row.addWidget(self.add_button)
        row.addStretch(1)
        self.message = InlineMessage(parent)

    @property
    def checking(self) -> bool:
        return self.task is not None

    def statement_recorded(self) -> bool:
        """The open project has a take of its statement."""
        project = self.ctx.project
        return project is not None and selection.is_statement_recorded(project)

    def show_state(self, refusal, needed: bool, enabled: bool) -> None:
        """Show the row when ``needed`` (or while checking); the Record button's words follow
        the gate's ``refusal``."""
        self.actions.setVisible(needed or self.checking)
        self.record_button.setText(record_button_text(refusal))
        for button in (self.record_button, self.add_button):
            button.setEnabled(needed and enabled and not self.checking)

    def record_now(self) -> None:
        """Show the statement's prompt in Record (an imported corpus gets the prompt first)."""
        project = self.ctx.project
        if project is None or not self._may_act():
            return
        created = selection.consent_prompt(project) is None
        try:
            index = selection.consent_prompt(project, create=True)
        except VoiceStudioError as exc:
            self.message.error(f"Cannot add the statement to the project: {exc}")
            return
        if created:
            self.ctx.project_edited.emit()
        self.record_statement.emit(index)

    def add_recording(self, path: str | Path | None = None) -> bool:
        """Check a recording of the statement made elsewhere and store it when it passes (asks
        for the file when none is given). False when no check started."""
        project = self.ctx.project
        if project is None or self.checking or not self._may_act():
            return False
        path = path if path is not None else self._ask_file()
        if not path:
            return False
        name = Path(path).name
        self.message.show_message(f"Checking {name}: its take checks, the reading of the "
                                  "statement and the voice against the takes…", "info")
        self.task = run_task(lambda handle: _check(project, path, handle), self,
                             done=lambda outcome: self._checked(project, name, outcome),
                             failed=lambda message: self.message.error(sentence(message)))
        self.task.finished.connect(self._check_ended)
        self.checking_changed.emit()
        return True

    def stop(self) -> None:
        """Cancel a running check and wait for it (nothing was stored yet)."""
        if self.task is not None:
            self.task.cancel()  # checked between takes; the recognizer's few seconds run out
            self.task.wait(120_000)

    def _ask_file(self) -> str:
        from PySide6.QtWidgets import QFileDialog

        from voicestudio.audio.io import READABLE_SUFFIXES

        patterns = " ".join(f"*{suffix}" for suffix in READABLE_SUFFIXES)
        path, _ = QFileDialog.getOpenFileName(self._parent, "A recording of the consent statement",
                                              str(Path.home()),
                                              f"Audio ({patterns});;All files (*)")
        return path

    def _checked(self, project, name: str, outcome) -> None:
        """In the GUI thread: store a recording that passed, into the project it was checked for."""
        from voicestudio.safety.consent import ConsentRefusal
        from voicestudio.safety.statement_file import store_consent_recording

        if isinstance(outcome, ConsentRefusal):
            self.message.error(refusal_text(outcome))
            return
        if self.ctx.project is not project:
            self.message.show_message(f"{name} passed, but another project is open now, so it was "
                                      f"not stored; add it again to “{project.name}”.", "warning")
            return
        try:
            stored = store_consent_recording(project, outcome)
        except VoiceStudioError as exc:
            self.message.error(f"{name} passed, but cannot be stored: {exc}")
            return
        self.message.show_message(f"{name} is stored as the consent statement. "
                                  f"{sentence(stored.describe())}", "ok")
        self.stored.emit()
        self.ctx.project_edited.emit()

    def _check_ended(self) -> None:
        self.task = None
        self.checking_changed.emit()


def _check(project, path, handle: TaskHandle):
    """On the worker: read-only checks; a refusal is an outcome, not an error."""
    from voicestudio.safety.consent import ConsentCheckCancelled, ConsentError
    from voicestudio.safety.statement_file import check_consent_recording

    try:
        return check_consent_recording(project, path, cancelled=lambda: handle.cancelled)
    except ConsentCheckCancelled:
        raise Cancelled() from None
    except ConsentError as exc:
        return exc.refusal
