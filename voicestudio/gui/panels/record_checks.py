"""Checking the Record panel's saved takes in the background, one at a time.

A part of the Record panel. A take is saved before it is checked (the checks take
seconds; an interruption must not lose it): the saved takes queue up in a
:class:`~voicestudio.gui.controllers.record.CheckQueue`, and each in turn is checked on a
worker thread by :func:`voicestudio.project.recording.check_recorded_take`, the function the
CLI calls, and its report stored with the take.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from voicestudio.errors import VoiceStudioError
from voicestudio.gui.controllers.record import CheckQueue, PendingCheck
from voicestudio.gui.widgets.inline_message import InlineMessage
from voicestudio.gui.workers import Task, run_task
from voicestudio.project import recording


class TakeChecker(QObject):
    """``checked`` carries the :class:`PendingCheck` whose checks ended (report stored, or a
    warning shown in ``message`` when they could not run)."""

    checked = Signal(object)

    def __init__(self, message: InlineMessage, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.message = message
        self.queue = CheckQueue()
        self.task: Task | None = None
        self._closed = False

    @property
    def running(self) -> bool:
        return self.task is not None

    def add(self, item: PendingCheck) -> None:
        """Queue a saved take; :meth:`start_next` starts its checks when none are running."""
        self.queue.add(item)

    def close(self) -> None:
        """Start nothing more (the takes left waiting stay saved, unchecked)."""
        self._closed = True
        self.queue.drop_waiting()

    def start_next(self) -> None:
        if self.task is not None or self._closed:
            return
        item = self.queue.start_next()
        if item is None:
            return

        def work(handle):
            return recording.check_recorded_take(item.samples, item.sample_rate, item.text)

        self.task = run_task(work, self, done=self._on_done, failed=self._on_failed)
        self.task.finished.connect(self._on_finished)

    def _on_done(self, report) -> None:
        item = self.queue.current
        if item is None:
            return
        try:
            recording.store_report(item.project, item.take, report)
        except (VoiceStudioError, OSError) as exc:
            self.message.error(f"The checks of prompt {item.index + 1} could not be saved: {exc}")

    def _on_failed(self, message: str) -> None:
        item = self.queue.current
        where = f"prompt {item.index + 1}" if item is not None else "the take"
        self.message.show_message(
            f"The take of {where} is saved, but its checks could not run: {message}", "warning"
        )

    def _on_finished(self) -> None:
        item, self.task = self.queue.finish(), None
        self.checked.emit(item)
        self.start_next()
