"""The Record panel: read each prompt of the project's script into the microphone.

The Friture shape: the PortAudio callback only fills the recorder's ring (in
:class:`voicestudio.audio.recorder.Recorder`); a QTimer in the GUI thread drains what is
new, feeds it to :class:`voicestudio.audio.analysis.LiveAnalyzer` and hands the results to
widgets that only draw. A finished take is saved into the project at once (nothing is
lost), then checked on a worker thread
(:func:`voicestudio.project.recording.check_recorded_take`), one take at a time; the
verdicts come back as badges. What to show and allow is decided Qt-free in
:mod:`voicestudio.gui.controllers.record`; this module binds widgets to it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QCoreApplication, QEventLoop, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from voicestudio.errors import VoiceStudioError
from voicestudio.gui.context import StudioContext
from voicestudio.gui.controllers import record as control
from voicestudio.gui.controllers.record import NO_PROJECT_HINT, Notice, PendingCheck
from voicestudio.gui.panels.record_checks import TakeChecker
from voicestudio.gui.panels.record_import import RecordingsImport
from voicestudio.gui.widgets.inline_message import InlineMessage
from voicestudio.gui.widgets.input_picker import InputPicker
from voicestudio.gui.widgets.live_input import LiveInput
from voicestudio.gui.widgets.prompt_table import PromptTable
from voicestudio.gui.widgets.take_view import TakeView
from voicestudio.project import recording, selection

#: How often the play button looks whether playback has ended.
PLAYBACK_POLL_MS = 150
#: Longest wait on close for a running check or import to end (the take itself is saved).
SHUTDOWN_WAIT_S = 60.0
PROMPT_LIST_WIDTH = 300

CONSENT_HINT = (
    "Consent comes first. Read this statement aloud in your normal voice: it is kept with the "
    "project as a record that the speaker agreed to have a synthetic voice made from these "
    "recordings."
)


def _hint(text: str = "") -> QLabel:
    label = QLabel(text)
    label.setProperty("role", "hint")
    return label


def _button(text: str, tooltip: str, slot) -> QPushButton:
    button = QPushButton(text)
    button.setToolTip(tooltip)
    button.clicked.connect(slot)
    return button


def _row(*widgets: QWidget, stretch_at: int) -> QHBoxLayout:
    """A row of widgets with a stretch before widget ``stretch_at``."""
    row = QHBoxLayout()
    for position, widget in enumerate(widgets):
        if position == stretch_at:
            row.addStretch(1)
        row.addWidget(widget)
    return row


class RecordPanel(QWidget):
    """Record, retake, skip and check the prompts of the current project.

    Shortcut methods: :meth:`toggle_record`, :meth:`toggle_play`, :meth:`next_prompt`,
    :meth:`previous_prompt`. ``takes_changed`` is emitted when a take was added (recorded
    or imported) or its checks arrived, for panels that summarise the project;
    ``inputs_listed`` when the input devices were listed again (the status bar follows).
    """

    title = "Record"
    takes_changed = Signal()
    inputs_listed = Signal()

    def __init__(self, ctx: StudioContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.index = 0  # the prompt in view
        self.last_capture = None  # recorder.Capture of the last recording (samples in memory)
        self._record_project = None
        self._record_index = 0
        self._shown_audio: tuple[str, np.ndarray, int] | None = None  # (take file, samples, rate)
        self._closed = False
        self._play_timer = QTimer(self)
        self._play_timer.setInterval(PLAYBACK_POLL_MS)
        self._play_timer.timeout.connect(self._poll_playback)

        self._build()
        self.ctx.project_changed.connect(self._on_project_changed)
        self.ctx.project_edited.connect(self._on_project_edited)
        self.refresh_devices()
        self._on_project_changed(self.ctx.project)

    # ================================================================== layout
    def _build(self) -> None:
        self.device_message = InlineMessage()  # device problems stay apart from the rest
        self.message = InlineMessage()
        self.checker = TakeChecker(self.message, self)
        self.checker.checked.connect(self._on_take_checked)
        body = QHBoxLayout()
        body.setSpacing(12)
        body.addLayout(self._build_reading(), 1)
        body.addWidget(self._build_prompt_list())
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(6)
        outer.addLayout(self._build_top())
        outer.addWidget(self.device_message)
        outer.addWidget(self.message)
        outer.addLayout(body, 1)

    def _build_top(self) -> QHBoxLayout:
        """The title, and the input picker with its Refresh button."""
        heading = QLabel(self.title)
        heading.setProperty("role", "title")
        self.input_picker = InputPicker(self.ctx, self.device_message)
        self.input_picker.chosen.connect(self.select_device)
        self.input_picker.listed.connect(self.inputs_listed)
        self.device_combo = self.input_picker.combo
        self.refresh_button = self.input_picker.refresh_button
        return _row(heading, self.input_picker, stretch_at=1)

    def _build_reading(self) -> QVBoxLayout:
        """The prompt to read, the buttons, the live input and the take in view."""
        column = QVBoxLayout()
        column.setSpacing(6)
        self._build_prompt(column)
        column.addLayout(self._build_buttons())
        self.live = LiveInput(self)
        self.live.ended.connect(self._finish_recording)
        column.addLayout(self.live.graphs, 1)
        column.addLayout(self.live.status_row)
        self.take_view = TakeView()
        column.addWidget(self.take_view, 1)
        # The parts tests and the benchmarks look at.
        self.spectrogram, self.meter = self.live.spectrogram, self.live.meter
        self.record_status, self.overflow_label = self.live.status, self.live.overflow_label
        self.waveform, self.take_label = self.take_view.waveform, self.take_view.caption
        return column

    def _build_prompt(self, column: QVBoxLayout) -> None:
        self.progress_label = _hint()
        self.prompt_label = QLabel()
        self.prompt_label.setProperty("role", "prompt")
        self.prompt_label.setWordWrap(True)
        self.prompt_label.setMinimumHeight(86)
        self.prompt_label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self.prompt_label.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
        self.consent_label = _hint(CONSENT_HINT)
        self.consent_label.setWordWrap(True)
        self.consent_label.hide()
        for widget in (self.progress_label, self.prompt_label, self.consent_label):
            column.addWidget(widget)

    def _build_buttons(self) -> QHBoxLayout:
        self.record_button = _button(
            "● Record", "Start recording this prompt; click again to stop (R)", self.toggle_record
        )
        self.record_button.setProperty("accent", True)
        self.record_button.setMinimumWidth(110)
        self.retake_button = _button(
            "Retake", "Record this prompt again (older takes are kept)", self.retake
        )
        self.skip_button = _button(
            "Skip",
            "Leave this prompt out and go to the next one not recorded yet",
            self.skip_prompt,
        )
        self.previous_button = _button(
            "◀ Previous", "Previous prompt (Left arrow)", self.previous_prompt
        )
        self.next_button = _button("Next ▶", "Next prompt (Right arrow)", self.next_prompt)
        self.play_button = _button(
            "▶ Play take", "Play the take of this prompt (Space)", self.toggle_play
        )
        buttons = (self.record_button, self.retake_button, self.skip_button,
                   self.previous_button, self.next_button, self.play_button)
        for button in buttons:
            # A click must not leave the focus on the button: Space is the play shortcut, and a
            # focused button would take it as a second click.
            button.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        return _row(*buttons, stretch_at=3)

    def _build_prompt_list(self) -> QWidget:
        """The prompts with their verdicts, and importing recordings made elsewhere."""
        self.summary_label = _hint()
        self.prompt_table = PromptTable()
        self.prompt_table.cellClicked.connect(lambda row, _col: self.go_to_prompt(row))
        self.importer = RecordingsImport(self.ctx, self.message)
        self.importer.requested.connect(lambda: self.import_recordings())
        self.importer.finished.connect(self._on_import_finished)
        self.import_button, self.import_progress = self.importer.button, self.importer.progress
        prompts_title = QLabel("Prompts")
        prompts_title.setStyleSheet("font-weight: 600;")
        column = QVBoxLayout()
        column.setSpacing(6)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(prompts_title)
        column.addWidget(self.summary_label)
        column.addWidget(self.prompt_table, 1)
        column.addWidget(self.importer)
        box = QWidget()
        box.setLayout(column)
        box.setFixedWidth(PROMPT_LIST_WIDTH)
        return box

    # ================================================================== state
    @property
    def project(self):
        return self.ctx.project

    @property
    def recorder(self):
        """The :class:`~voicestudio.audio.recorder.Recorder` of the running take, or None."""
        return self.live.recorder

    @property
    def recording(self) -> bool:
        return self.live.recorder is not None

    @property
    def importing(self) -> bool:
        return self.importer.running

    @property
    def last_import(self):
        """The ImportReport of the last import, or None."""
        return self.importer.last_report

    @property
    def checking(self) -> bool:
        """A take is waiting for, or under, its checks."""
        return self.checker.queue.busy

    def _current_take(self):
        project = self.project
        if project is None or not project.prompts:
            return None
        return project.prompts[self.index].chosen_take

    def _show_notice(self, notice: Notice) -> None:
        self.message.show_message(notice.text, notice.level)

    def _update_buttons(self) -> None:
        state = control.controls(
            self.project,
            self.index,
            recording=self.recording,
            importing=self.importing,
            has_take=self._current_take() is not None,
            playing=self._play_timer.isActive(),
        )
        self.record_button.setEnabled(state.record)
        self.record_button.setText(state.record_text)
        self.retake_button.setEnabled(state.retake)
        self.skip_button.setEnabled(state.skip)
        self.previous_button.setEnabled(state.previous)
        self.next_button.setEnabled(state.next)
        self.play_button.setEnabled(state.play)
        self.play_button.setText(state.play_text)
        self.import_button.setEnabled(state.import_recordings)
        self.input_picker.setEnabled(state.choose_input)
        self.prompt_table.setEnabled(state.choose_input)

    # ================================================================== devices
    def refresh_devices(self) -> None:
        """List the input devices again (the default first) and select the chosen one."""
        self.input_picker.refresh()

    def input_summary(self) -> str:
        """The input in use as the picker shows it ("No microphone found" when there is none),
        so the status bar never says more than the Record panel knows."""
        return self.input_picker.summary()

    def device_names(self) -> list[str]:
        """Device names in the picker, as listed (for tests and the status bar)."""
        return self.input_picker.names()

    def select_device(self, name: str | None) -> bool:
        """Record from ``name`` (None = the system default). Shows an inline error and returns
        False when no such input exists; the choice is kept either way (it may come back)."""
        if self.recording:
            self.device_message.show_message(
                "Stop the recording before changing the microphone.", "warning"
            )
            return False
        return self.input_picker.select(name)

    # ================================================================== project and prompts
    def _on_project_changed(self, project) -> None:
        if self.recording:  # keep what was being recorded, in the project it belongs to
            self._finish_recording()
        self._shown_audio = None
        self.index = recording.resume_index(project) if project is not None else 0
        self._fill_table()
        self._show_prompt()
        if project is None:
            self.message.show_message(NO_PROJECT_HINT, "info")
        elif self.message.text() == NO_PROJECT_HINT:
            self.message.clear_message()

    def _on_project_edited(self) -> None:
        """Another panel added a prompt or a take (the consent statement): show it."""
        if self.recording or self.project is None:
            return
        self._fill_table()
        self._show_prompt()

    def _fill_table(self) -> None:
        project = self.project
        self.prompt_table.setRowCount(0)
        if project is None:
            self.summary_label.setText("No project open")
            return
        self.prompt_table.setRowCount(len(project.prompts))
        for row in range(len(project.prompts)):
            self._fill_row(row)
        self._update_summary()

    def _fill_row(self, row: int) -> None:
        project = self.project
        if project is not None and 0 <= row < len(project.prompts):
            self.prompt_table.set_row(row, control.prompt_row(project, row, self.checker.queue))

    def _update_summary(self) -> None:
        if self.project is not None:
            self.summary_label.setText(control.summary_text(self.project.summary()))

    def _show_prompt(self) -> None:
        project = self.project
        if project is None or not project.prompts:
            self.progress_label.setText("" if project is None else "This project has no prompts.")
            self.prompt_label.setText(
                "No project open." if project is None else "Import recordings to fill this project."
            )
            self.consent_label.hide()
        else:
            self.index = min(max(0, self.index), len(project.prompts) - 1)
            self.progress_label.setText(control.progress_text(project, self.index))
            self.prompt_label.setText(project.prompts[self.index].text)
            self.consent_label.setVisible(selection.is_consent_prompt(project, self.index))
            self.prompt_table.show_row(self.index)
        self._show_take()
        self._update_buttons()

    def go_to_prompt(self, index: int) -> None:
        """Show prompt ``index`` (from 0); ignored while recording."""
        project = self.project
        if self.recording or project is None or not project.prompts:
            return
        if self.ctx.is_playing:
            self.ctx.stop_playback()
        self.index = min(max(0, int(index)), len(project.prompts) - 1)
        self._show_prompt()

    def next_prompt(self) -> None:
        self.go_to_prompt(self.index + 1)

    def previous_prompt(self) -> None:
        self.go_to_prompt(self.index - 1)

    def skip_prompt(self) -> None:
        """Mark this prompt skipped (when it has no take) and go to the next one not recorded."""
        project = self.project
        if self.recording or self.importing or project is None or not project.prompts:
            return
        try:
            project.skip(self.index)
        except (VoiceStudioError, OSError) as exc:
            self.message.error(f"Cannot skip this prompt: {exc}")
            return
        self._fill_row(self.index)
        self._update_summary()
        self.go_to_prompt(control.prompt_after_skip(project, self.index))

    # ================================================================== the take in view
    def _show_take(self) -> None:
        """Waveform and badges of the chosen take of the prompt in view."""
        take = self._current_take()
        if take is None:
            self._shown_audio = None
            has_prompts = self.project is not None and self.project.prompts
            self.take_view.clear(
                "No take of this prompt yet. Press Record (R) and read the prompt."
                if has_prompts else ""
            )
            return
        audio = self._take_audio(take)
        checking = self.checker.queue.holds(take)
        caption = control.take_caption(self.project.prompts[self.index], take, checking)
        shown = take.report.checks if take.report is not None and not checking else []
        self.take_view.show_take(
            audio[1:] if audio is not None else None, caption, control.check_rows(shown)
        )

    def _take_audio(self, take) -> tuple[str, np.ndarray, int] | None:
        if self._shown_audio is not None and self._shown_audio[0] == take.file:
            return self._shown_audio
        from voicestudio.audio.io import read_audio

        try:
            audio = read_audio(self.project.take_path(take))
        except (VoiceStudioError, OSError) as exc:
            self.message.show_message(f"Cannot read the take {take.file}: {exc}", "warning")
            return None
        self._shown_audio = (take.file, audio.samples, audio.sample_rate)
        return self._shown_audio

    def badges(self) -> list[QLabel]:
        """The check badges in view (for tests)."""
        return self.take_view.badges()

    # ================================================================== recording
    def toggle_record(self) -> None:
        """Start recording the prompt in view, or stop the take being recorded."""
        if self.recording:
            self.stop_recording()
        else:
            self.start_recording()

    def retake(self) -> None:
        """Record the prompt in view again (its older takes stay)."""
        if not self.recording:
            self.start_recording()

    def start_recording(self) -> bool:
        """Open the chosen microphone and record the prompt in view; False (with an inline
        message) when that cannot start."""
        from voicestudio.audio.recorder import Recorder

        if self.recording:
            return False
        refusal = control.cannot_record(self.project, self.importing)
        if refusal is not None:
            self._show_notice(refusal)
            return False
        self.ctx.stop_playback()
        self._play_timer.stop()
        limit = recording.interactive_limit_s(self.project.prompts[self.index].text)
        recorder = Recorder(self.ctx.input_device, max_seconds=limit)
        try:
            recorder.start()
        except VoiceStudioError as exc:
            self.device_message.error(f"Cannot record: {exc}")
            return False
        self.live.start(recorder, limit)
        self._record_project, self._record_index = self.project, self.index
        self.message.clear_message()
        self.device_message.clear_message()
        self._update_buttons()
        self.ctx.status.emit(f"Recording prompt {self.index + 1} from {recorder.device.name}")
        return True

    def stop_recording(self) -> None:
        """End the take: save it into the project, then check it in the background."""
        if self.recording:
            self._finish_recording()

    def _finish_recording(self, check: bool = True) -> None:
        capture = self.live.stop()
        project, index = self._record_project, self._record_index
        self._record_project = None
        self.last_capture = capture
        self._update_buttons()
        saved, notice = control.save_capture(project, index, capture)
        if notice is not None:
            self._show_notice(notice)
        if saved is None:
            return
        self.ctx.status.emit(f"Saved {saved.file} ({saved.duration_s:.1f} s)")
        if check:
            text = project.prompts[index].text
            self.checker.add(
                PendingCheck(project, index, saved, capture.samples, capture.sample_rate, text)
            )
        if project is self.project:
            self._shown_audio = (saved.file, capture.samples, capture.sample_rate)
            self._fill_row(index)
            self._update_summary()
            self._show_prompt()
        self.takes_changed.emit()
        self.checker.start_next()

    def _on_take_checked(self, item: PendingCheck | None) -> None:
        if item is not None:
            if item.project is self.project:
                self._fill_row(item.index)
                self._update_summary()
                if item.index == self.index:
                    self._show_take()
            self.takes_changed.emit()
        self._update_buttons()

    # ================================================================== playback
    def toggle_play(self) -> None:
        """Play the take of the prompt in view, or stop playback."""
        if self.recording:
            return
        if self.ctx.is_playing:
            self.ctx.stop_playback()
            self._play_timer.stop()
            self._update_buttons()
            return
        take = self._current_take()
        audio = self._take_audio(take) if take is not None else None
        if audio is None:
            if take is None:
                self.message.show_message("This prompt has no take to play yet.", "info")
            return
        try:
            self.ctx.play(audio[1], audio[2])
        except VoiceStudioError as exc:
            self.message.error(f"Cannot play the take: {exc}")
            return
        self._play_timer.start()
        self._update_buttons()

    def _poll_playback(self) -> None:
        if not self.ctx.is_playing:
            self._play_timer.stop()
            self._update_buttons()

    # ================================================================== import
    def import_recordings(self, folder: str | None = None):
        """Import a folder of recordings with transcripts into the project in the background
        (asks for the folder when none is given). Returns the running task, or None."""
        refusal = control.cannot_import(
            self.project, self.recording or self.importing, self.checking
        )
        if refusal is not None:
            self._show_notice(refusal)
            return None
        if folder is None:
            folder = QFileDialog.getExistingDirectory(
                self, "Import recordings with transcripts", str(Path.home())
            )
            if not folder:
                return None
        task = self.importer.start(self.project, folder)
        self._update_buttons()
        return task

    def cancel_import(self) -> None:
        self.importer.cancel()

    def _on_import_finished(self) -> None:
        self._fill_table()
        self._show_prompt()
        self.takes_changed.emit()

    # ================================================================== closing
    def shutdown(self) -> None:
        """Stop the recorder (keeping the take), the timers and the background work. Safe twice."""
        if self._closed:
            return
        if self.recording:
            self._finish_recording(check=False)  # saved, left unchecked: nothing is lost
        self._closed = True
        self.live.timer.stop()
        self._play_timer.stop()
        self.checker.close()
        self.importer.cancel()
        self._wait_for_tasks(SHUTDOWN_WAIT_S)
        self.ctx.stop_playback()

    def _wait_for_tasks(self, timeout_s: float) -> None:
        """Let running tasks end. Their outcome is relayed through this thread's event queue
        (see workers.Task), so events are processed while waiting instead of blocking."""
        import time

        deadline = time.monotonic() + timeout_s
        while self.checker.running or self.importer.running:
            if time.monotonic() >= deadline:
                return
            QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
            time.sleep(0.005)
