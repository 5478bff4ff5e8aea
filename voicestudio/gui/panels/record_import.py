"""Importing recordings made elsewhere into the Record panel's project.

A part of the Record panel: the button, a progress bar and Cancel, and the import itself
(:func:`voicestudio.project.importer.import_folder`, which the CLI runs too) on a worker
thread. The panel decides whether an import may start and refreshes itself on
``finished``.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QProgressBar, QPushButton, QVBoxLayout, QWidget

from voicestudio.gui.context import StudioContext
from voicestudio.gui.controllers import record as control
from voicestudio.gui.widgets.inline_message import InlineMessage
from voicestudio.gui.workers import Task, run_task

#: Progress is shown in thousandths; the text on the bar is cut to this many characters.
PROGRESS_STEPS = 1000
PROGRESS_TEXT_CHARS = 60


class RecordingsImport(QWidget):
    """Runs one import at a time; ``requested`` when the button is pressed, ``finished``
    when an import ended (done, failed or cancelled)."""

    requested = Signal()
    finished = Signal()

    def __init__(
        self, ctx: StudioContext, message: InlineMessage, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.message = message
        self.task: Task | None = None
        self.last_report = None  # ImportReport of the last import
        self._folder = ""
        self.button = QPushButton("Import recordings…")
        self.button.setToolTip(
            "Add existing recordings with transcripts (LJSpeech metadata.csv, "
            "manifest.tsv or a .txt beside each audio file)"
        )
        self.button.clicked.connect(self.requested)
        self.progress = QProgressBar()
        self.progress.setRange(0, PROGRESS_STEPS)
        self.progress.setTextVisible(True)
        self.progress.hide()
        self.cancel_button = QPushButton("Cancel import")
        self.cancel_button.clicked.connect(self.cancel)
        self.cancel_button.hide()
        buttons = QHBoxLayout()
        buttons.addWidget(self.button, 1)
        buttons.addWidget(self.cancel_button)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(6)
        column.addWidget(self.progress)
        column.addLayout(buttons)

    @property
    def running(self) -> bool:
        return self.task is not None

    def start(self, project, folder: str) -> Task:
        """Import ``folder`` into ``project`` in the background."""
        from voicestudio.project.importer import import_folder

        def work(handle):
            def progress(done: int, total: int, name: str) -> None:
                handle.report((done - 1) / max(1, total), f"Importing {done} of {total}: {name}")

            return import_folder(project, folder, on_progress=progress)

        self._folder = folder
        self.progress.setValue(0)
        self.progress.setFormat("Importing…")
        self.progress.show()
        self.cancel_button.show()
        self.message.show_message(f"Importing recordings from {folder}…", "info")
        self.task = run_task(
            work,
            self,
            done=self._on_done,
            failed=self._on_failed,
            cancelled=self._on_cancelled,
            progress=self._on_progress,
        )
        self.task.finished.connect(self._on_finished)
        return self.task

    def cancel(self) -> None:
        if self.task is not None:
            self.task.cancel()
            self.progress.setFormat("Cancelling…")

    def _on_progress(self, fraction: float, text: str) -> None:
        self.progress.setValue(int(round(PROGRESS_STEPS * fraction)))
        self.progress.setFormat(text[:PROGRESS_TEXT_CHARS])

    def _on_done(self, report) -> None:
        self.last_report = report
        notice = control.import_notice(report, self._folder)
        self.message.show_message(notice.text, notice.level)
        self.ctx.status.emit(f"Imported {report.imported} takes")

    def _on_failed(self, message: str) -> None:
        self.message.error(f"Import failed: {message}")

    def _on_cancelled(self) -> None:
        self.message.show_message(
            "Import cancelled; the recordings imported so far are kept.", "warning"
        )

    def _on_finished(self) -> None:
        self.task = None
        self.progress.hide()
        self.cancel_button.hide()
        self.finished.emit()
