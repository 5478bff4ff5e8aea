"""The Record panel: read each prompt of the project's script into the microphone.

The Friture shape: the PortAudio callback only fills the recorder's ring (in
:class:`voicestudio.audio.devices.Recorder`); a QTimer in the GUI thread drains what is
new, feeds it to :class:`voicestudio.audio.analysis.LiveAnalyzer` and hands the results to
widgets that only draw. A finished take is saved into the project at once (nothing is
lost), then checked on a worker thread (:func:`voicestudio.project.recording.check_recorded_take`),
one take at a time; the verdicts come back as badges.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import QCoreApplication, QEventLoop, Qt, QTimer, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from voicestudio.audio.take_report import CheckResult
from voicestudio.errors import VoiceStudioError
from voicestudio.gui.context import StudioContext
from voicestudio.gui.theme import COLORS
from voicestudio.gui.widgets.inline_message import InlineMessage
from voicestudio.gui.widgets.level_meter import LevelMeterWidget
from voicestudio.gui.widgets.spectrogram import SpectrogramView
from voicestudio.gui.widgets.waveform import WaveformView
from voicestudio.gui.workers import run_task
from voicestudio.project import recording, selection

#: How often the GUI drains the recorder and redraws the meter and spectrogram (~50 fps).
UPDATE_INTERVAL_MS = 20
#: How often the play button looks whether playback has ended.
PLAYBACK_POLL_MS = 150
#: Longest wait on close for a running check or import to end (the take itself is saved).
SHUTDOWN_WAIT_S = 60.0
PROMPT_COLUMN_CHARS = 48
#: The last take's waveform and badges: room for seven checks; the live view gets the rest.
TAKE_AREA_MAX_HEIGHT = 230

NO_PROJECT_HINT = "Open or create a voice project (File menu) to record its prompts."
CONSENT_HINT = (
    "Consent comes first. Read this statement aloud in your normal voice: it is kept with the "
    "project as a record that the speaker agreed to have a synthetic voice made from these recordings."
)
VERDICT_COLORS = {"pass": COLORS["ok"], "warn": COLORS["warning"], "fail": COLORS["error"]}


@dataclass
class _PendingCheck:
    """A saved take waiting for (or under) its checks."""

    project: object  # VoiceProject
    index: int
    take: object  # voicestudio.project.project.Take
    samples: np.ndarray
    sample_rate: int
    text: str


def _seconds_text(seconds: float) -> str:
    minutes, rest = divmod(max(0.0, seconds), 60.0)
    return f"{int(minutes)}:{rest:04.1f}"


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
        self.recorder = None  # voicestudio.audio.devices.Recorder while a take runs
        self.analyzer = None  # LiveAnalyzer of the running take
        self.last_take = None  # devices.Take of the last recording (samples kept in memory)
        self.last_import = None  # ImportReport of the last import
        self._record_project = None
        self._record_index = 0
        self._shown_audio: tuple[str, np.ndarray, int] | None = None  # (take file, samples, rate)
        self._checks: deque[_PendingCheck] = deque()
        self._checking: _PendingCheck | None = None
        self._check_task = None
        self._import_task = None
        self._closed = False
        self._limit_s = 0.0

        self._timer = QTimer(self)
        self._timer.setInterval(UPDATE_INTERVAL_MS)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self._tick)
        self._play_timer = QTimer(self)
        self._play_timer.setInterval(PLAYBACK_POLL_MS)
        self._play_timer.timeout.connect(self._poll_playback)

        self._build()
        self.ctx.project_changed.connect(self._on_project_changed)
        self.ctx.devices_changed.connect(self._on_devices_changed)
        self.ctx.project_edited.connect(self._on_project_edited)
        self.refresh_devices()
        self._on_project_changed(self.ctx.project)

    # ================================================================== layout
    def _build(self) -> None:
        heading = QLabel(self.title)
        heading.setProperty("role", "title")
        self.device_combo = QComboBox()
        self.device_combo.setMinimumWidth(260)
        self.device_combo.setToolTip("The microphone to record from")
        self.device_combo.activated.connect(self._on_device_chosen)
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.setToolTip("List the audio inputs again")
        self.refresh_button.clicked.connect(self.refresh_devices)
        top = QHBoxLayout()
        top.addWidget(heading)
        top.addStretch(1)
        device_label = QLabel("Input")
        device_label.setProperty("role", "hint")
        top.addWidget(device_label)
        top.addWidget(self.device_combo)
        top.addWidget(self.refresh_button)

        self.device_message = InlineMessage()  # device problems stay apart from the rest
        self.message = InlineMessage()

        # -- the prompt
        self.progress_label = QLabel()
        self.progress_label.setProperty("role", "hint")
        self.prompt_label = QLabel()
        self.prompt_label.setProperty("role", "prompt")
        self.prompt_label.setWordWrap(True)
        self.prompt_label.setMinimumHeight(86)
        self.prompt_label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self.prompt_label.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
        self.consent_label = QLabel(CONSENT_HINT)
        self.consent_label.setProperty("role", "hint")
        self.consent_label.setWordWrap(True)
        self.consent_label.hide()

        # -- the buttons
        self.record_button = QPushButton("● Record")
        self.record_button.setProperty("accent", True)
        self.record_button.setToolTip("Start recording this prompt; click again to stop (R)")
        self.record_button.setMinimumWidth(110)
        self.record_button.clicked.connect(self.toggle_record)
        self.retake_button = QPushButton("Retake")
        self.retake_button.setToolTip("Record this prompt again (older takes are kept)")
        self.retake_button.clicked.connect(self.retake)
        self.skip_button = QPushButton("Skip")
        self.skip_button.setToolTip("Leave this prompt out and go to the next one not recorded yet")
        self.skip_button.clicked.connect(self.skip_prompt)
        self.previous_button = QPushButton("◀ Previous")
        self.previous_button.setToolTip("Previous prompt (Left arrow)")
        self.previous_button.clicked.connect(self.previous_prompt)
        self.next_button = QPushButton("Next ▶")
        self.next_button.setToolTip("Next prompt (Right arrow)")
        self.next_button.clicked.connect(self.next_prompt)
        self.play_button = QPushButton("▶ Play take")
        self.play_button.setToolTip("Play the take of this prompt (Space)")
        self.play_button.clicked.connect(self.toggle_play)
        for button in (self.record_button, self.retake_button, self.skip_button, self.previous_button,
                       self.next_button, self.play_button):
            # A click must not leave the focus on the button: Space is the play shortcut, and a
            # focused button would take it as a second click.
            button.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        buttons = QHBoxLayout()
        for button in (self.record_button, self.retake_button, self.skip_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        for button in (self.previous_button, self.next_button, self.play_button):
            buttons.addWidget(button)

        # -- live input
        self.spectrogram = SpectrogramView()
        self.meter = LevelMeterWidget()
        live = QHBoxLayout()
        live.setSpacing(6)
        live.addWidget(self.spectrogram, 1)
        live.addWidget(self.meter)
        self.record_status = QLabel("Not recording")
        self.record_status.setProperty("role", "hint")
        self.overflow_label = QLabel()
        self.overflow_label.setStyleSheet(f"color: {COLORS['warning']};")
        self.overflow_label.hide()
        status_row = QHBoxLayout()
        status_row.addWidget(self.record_status, 1)
        status_row.addWidget(self.overflow_label)

        # -- the take in view: waveform and check badges
        self.waveform = WaveformView()
        self.waveform.setMinimumHeight(110)
        self.take_label = QLabel("No take yet")
        self.take_label.setProperty("role", "hint")
        self.take_label.setWordWrap(True)
        self._checks_box = QWidget()
        self._checks_grid = QGridLayout(self._checks_box)
        self._checks_grid.setContentsMargins(0, 0, 0, 0)
        self._checks_grid.setHorizontalSpacing(8)
        self._checks_grid.setVerticalSpacing(3)
        self._checks_grid.setColumnStretch(1, 1)
        checks_scroll = QScrollArea()
        checks_scroll.setWidget(self._checks_box)
        checks_scroll.setWidgetResizable(True)
        checks_scroll.setFrameShape(QFrame.Shape.NoFrame)
        checks_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        checks_column = QVBoxLayout()
        checks_column.setSpacing(4)
        checks_column.addWidget(self.take_label)
        checks_column.addWidget(checks_scroll, 1)
        take_box = QWidget()
        take_box.setMaximumHeight(TAKE_AREA_MAX_HEIGHT)
        take_row = QHBoxLayout(take_box)
        take_row.setContentsMargins(0, 0, 0, 0)
        take_row.addWidget(self.waveform, 5)
        take_row.addLayout(checks_column, 6)

        left = QVBoxLayout()
        left.setSpacing(6)
        left.addWidget(self.progress_label)
        left.addWidget(self.prompt_label)
        left.addWidget(self.consent_label)
        left.addLayout(buttons)
        left.addLayout(live, 1)
        left.addLayout(status_row)
        left.addWidget(take_box, 1)

        # -- the prompt list and import
        self.summary_label = QLabel()
        self.summary_label.setProperty("role", "hint")
        self.prompt_table = QTableWidget(0, 3)
        self.prompt_table.setHorizontalHeaderLabels(["#", "Prompt", "Check"])
        self.prompt_table.verticalHeader().hide()
        self.prompt_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.prompt_table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.prompt_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.prompt_table.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the arrows stay shortcuts
        self.prompt_table.setWordWrap(False)
        self.prompt_table.verticalHeader().setDefaultSectionSize(22)
        header = self.prompt_table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        self.prompt_table.cellClicked.connect(lambda row, _col: self.go_to_prompt(row))
        self.import_button = QPushButton("Import recordings…")
        self.import_button.setToolTip("Add existing recordings with transcripts (LJSpeech metadata.csv, "
                                      "manifest.tsv or a .txt beside each audio file)")
        self.import_button.clicked.connect(lambda: self.import_recordings())
        self.import_progress = QProgressBar()
        self.import_progress.setRange(0, 1000)
        self.import_progress.setTextVisible(True)
        self.import_progress.hide()
        self.cancel_import_button = QPushButton("Cancel import")
        self.cancel_import_button.clicked.connect(self.cancel_import)
        self.cancel_import_button.hide()
        right = QVBoxLayout()
        right.setSpacing(6)
        prompts_title = QLabel("Prompts")
        prompts_title.setStyleSheet("font-weight: 600;")
        right.addWidget(prompts_title)
        right.addWidget(self.summary_label)
        right.addWidget(self.prompt_table, 1)
        right.addWidget(self.import_progress)
        import_row = QHBoxLayout()
        import_row.addWidget(self.import_button, 1)
        import_row.addWidget(self.cancel_import_button)
        right.addLayout(import_row)
        right_box = QWidget()
        right_box.setLayout(right)
        right_box.setFixedWidth(300)
        right.setContentsMargins(0, 0, 0, 0)

        body = QHBoxLayout()
        body.setSpacing(12)
        body.addLayout(left, 1)
        body.addWidget(right_box)

        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(6)
        outer.addLayout(top)
        outer.addWidget(self.device_message)
        outer.addWidget(self.message)
        outer.addLayout(body, 1)

    # ================================================================== state
    @property
    def project(self):
        return self.ctx.project

    @property
    def recording(self) -> bool:
        return self.recorder is not None

    @property
    def importing(self) -> bool:
        return self._import_task is not None

    @property
    def checking(self) -> bool:
        """A take is waiting for, or under, its checks."""
        return self._checking is not None or bool(self._checks)

    def _current_take(self):
        project = self.project
        if project is None or not project.prompts:
            return None
        return project.prompts[self.index].chosen_take

    def _update_buttons(self) -> None:
        project = self.project
        has_prompts = project is not None and bool(project.prompts)
        free = has_prompts and not self.recording and not self.importing
        self.record_button.setEnabled(has_prompts and not self.importing)
        self.record_button.setText("■ Stop" if self.recording else "● Record")
        self.retake_button.setEnabled(free and self._current_take() is not None)
        self.skip_button.setEnabled(free)
        self.previous_button.setEnabled(has_prompts and not self.recording and self.index > 0)
        self.next_button.setEnabled(has_prompts and not self.recording and self.index < len(project.prompts) - 1)
        self.play_button.setEnabled(not self.recording and self._current_take() is not None)
        self.play_button.setText("■ Stop playback" if self._play_timer.isActive() else "▶ Play take")
        self.import_button.setEnabled(project is not None and not self.recording and not self.importing)
        self.device_combo.setEnabled(not self.recording)
        self.refresh_button.setEnabled(not self.recording)
        self.prompt_table.setEnabled(not self.recording)

    # ================================================================== devices
    def refresh_devices(self) -> None:
        """List the input devices again (the default first) and select the chosen one."""
        from voicestudio.audio.devices import AudioDeviceError, list_devices

        self.device_combo.blockSignals(True)
        try:
            self.device_combo.clear()
            try:
                devices = list_devices("input")
            except AudioDeviceError as exc:
                self.device_combo.addItem("No audio input available", None)
                self.device_message.error(str(exc))
                return
            if not devices:
                self.device_combo.addItem("No microphone found", None)
                self.device_message.error("No microphone (input device) found: connect one, check that the sound "
                                   "server (PipeWire or PulseAudio) is running, then press Refresh.")
                return
            self.device_message.clear_message()
            devices.sort(key=lambda d: not d.is_default)
            for device in devices:
                if device.is_default:
                    self.device_combo.addItem(f"{device.name} (system default)", None)
                else:
                    self.device_combo.addItem(device.name, device.name)
            if not any(d.is_default for d in devices):  # no default reported: first one stands in
                self.device_combo.setItemData(0, None)
                self.device_combo.setItemText(0, f"{devices[0].name} (system default)")
            self._select_in_combo(self.ctx.input_device)
        finally:
            self.device_combo.blockSignals(False)
            self.inputs_listed.emit()

    def input_summary(self) -> str:
        """The input in use as the picker shows it ("No microphone found" when there is none),
        so the status bar never says more than the Record panel knows."""
        return self.device_combo.currentText() or "system default"

    def device_names(self) -> list[str]:
        """Device names in the picker, as listed (for tests and the status bar)."""
        return [self.device_combo.itemText(i) for i in range(self.device_combo.count())]

    def _select_in_combo(self, name: str | None) -> None:
        index = self.device_combo.findData(name)
        if index < 0 and name is not None:  # chosen earlier, not connected now: keep it visible
            self.device_combo.addItem(f"{name} (not found)", name)
            index = self.device_combo.count() - 1
            self.device_message.show_message(
                f"The microphone {name!r} chosen earlier is not connected. Connect it and press Refresh, "
                "or choose another input.", "warning")
        self.device_combo.setCurrentIndex(max(0, index))

    def select_device(self, name: str | None) -> bool:
        """Record from ``name`` (None = the system default). Shows an inline error and returns
        False when no such input exists; the choice is kept either way (it may come back)."""
        from voicestudio.audio.devices import find_device

        if self.recording:
            self.device_message.show_message("Stop the recording before changing the microphone.", "warning")
            return False
        self.ctx.input_device = name  # emits devices_changed → the picker follows
        try:
            device = find_device(name, "input")
        except VoiceStudioError as exc:
            self.device_message.error(f"{exc}")
            return False
        self.device_message.clear_message()
        self.ctx.status.emit(f"Recording from {device.name}")
        return True

    def _on_device_chosen(self, row: int) -> None:
        self.select_device(self.device_combo.itemData(row))

    def _on_devices_changed(self) -> None:
        if self.device_combo.currentData() == self.ctx.input_device:
            return
        self.device_combo.blockSignals(True)
        try:
            index = self.device_combo.findData(self.ctx.input_device)
            if index >= 0:
                self.device_combo.setCurrentIndex(index)
            else:
                self._select_in_combo(self.ctx.input_device)
        finally:
            self.device_combo.blockSignals(False)

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
        table = self.prompt_table
        table.setRowCount(0)
        if project is None:
            self.summary_label.setText("No project open")
            return
        table.setRowCount(len(project.prompts))
        for row in range(len(project.prompts)):
            self._fill_row(row)
        self._update_summary()

    def _fill_row(self, row: int) -> None:
        project = self.project
        if project is None or not 0 <= row < len(project.prompts):
            return
        prompt = project.prompts[row]
        text = prompt.text if len(prompt.text) <= PROMPT_COLUMN_CHARS else prompt.text[: PROMPT_COLUMN_CHARS - 1] + "…"
        if selection.is_consent_prompt(project, row):
            text = "Consent: " + text
        number = QTableWidgetItem(str(row + 1))
        number.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        words = QTableWidgetItem(text)
        words.setToolTip(prompt.text)
        take = prompt.chosen_take
        if take is None:
            verdict = "skipped" if prompt.status == "skipped" else "—"
        elif self._is_checking(take):
            verdict = "checking"
        else:
            verdict = take.verdict
        check = QTableWidgetItem(verdict)
        check.setForeground(QColor(VERDICT_COLORS.get(verdict, COLORS["muted"])))
        for column, item in enumerate((number, words, check)):
            self.prompt_table.setItem(row, column, item)

    def _update_summary(self) -> None:
        project = self.project
        if project is None:
            return
        s = project.summary()
        self.summary_label.setText(f"{s.recorded} of {s.prompts} recorded · {s.minutes:.1f} min"
                                   + (f" · {s.skipped} skipped" if s.skipped else ""))

    def _show_prompt(self) -> None:
        project = self.project
        if project is None or not project.prompts:
            self.progress_label.setText("" if project is None else "This project has no prompts.")
            self.prompt_label.setText("No project open." if project is None
                                      else "Import recordings to fill this project.")
            self.consent_label.hide()
            self._show_take()
            self._update_buttons()
            return
        self.index = min(max(0, self.index), len(project.prompts) - 1)
        prompt = project.prompts[self.index]
        consent = selection.is_consent_prompt(project, self.index)
        status = {"recorded": f"{len(prompt.takes)} take{'s' if len(prompt.takes) != 1 else ''}",
                  "skipped": "skipped", "pending": "not recorded yet"}.get(prompt.status, prompt.status)
        label = recording.prompt_label(project, self.index)
        self.progress_label.setText(f"{label} · consent statement · {status}" if consent else f"{label} · {status}")
        self.prompt_label.setText(prompt.text)
        self.consent_label.setVisible(consent)
        self.prompt_table.blockSignals(True)
        self.prompt_table.selectRow(self.index)
        self.prompt_table.blockSignals(False)
        item = self.prompt_table.item(self.index, 0)
        if item is not None:
            self.prompt_table.scrollToItem(item, QAbstractItemView.ScrollHint.EnsureVisible)
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
        after = self.index + 1
        pending = project.next_pending(after) if after < len(project.prompts) else None
        self.go_to_prompt(pending if pending is not None and pending >= after else min(after, len(project.prompts) - 1))

    # ================================================================== the take in view
    def _is_checking(self, take) -> bool:
        return any(item.take is take for item in (self._checking, *self._checks) if item is not None)

    def _show_take(self) -> None:
        """Waveform and badges of the chosen take of the prompt in view."""
        take = self._current_take()
        if take is None:
            self._shown_audio = None
            self.waveform.clear()
            self.take_label.setText("No take of this prompt yet. Press Record (R) and read the prompt."
                                    if self.project is not None and self.project.prompts else "")
            self._set_badges([])
            return
        audio = self._take_audio(take)
        if audio is None:
            self.waveform.clear()
        else:
            self.waveform.set_audio(audio[1], audio[2])
        prompt = self.project.prompts[self.index]
        number = prompt.takes.index(take) + 1 if take in prompt.takes else len(prompt.takes)
        where = f"Take {number} of {len(prompt.takes)} · {take.duration_s:.1f} s · {take.sample_rate} Hz"
        if self._is_checking(take):
            self.take_label.setText(f"{where} · checking the take…")
            self._set_badges([])
        elif take.report is None:
            self.take_label.setText(f"{where} · not checked")
            self._set_badges([])
        else:
            verdict = take.verdict
            advice = {"pass": "good to train on", "warn": "usable; a retake may be better",
                      "fail": "do not train on it: record it again"}.get(verdict, "")
            self.take_label.setText(f"{where} · {verdict}: {advice}")
            self._set_badges(take.report.checks)

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

    def _set_badges(self, checks: list[CheckResult]) -> None:
        grid = self._checks_grid
        while grid.count():
            widget = grid.takeAt(0).widget()
            if widget is not None:
                widget.hide()  # at once: deleteLater waits for the event loop
                widget.deleteLater()
        for row in range(grid.rowCount()):
            grid.setRowStretch(row, 0)
        order = list(recording.CHECK_LABELS)
        checks = sorted(checks, key=lambda c: order.index(c.name) if c.name in order else len(order))
        for row, check in enumerate(checks):
            verdict = check.verdict
            badge = QLabel(recording.CHECK_LABELS.get(check.name, check.name))
            badge.setProperty("role", "badge")
            badge.setProperty("badge", verdict)
            badge.setObjectName(f"check_{check.name}")
            badge.setToolTip(f"{verdict}: {check.message}")
            badge.setAlignment(Qt.AlignmentFlag.AlignCenter)
            badge.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
            message = QLabel(check.message)
            message.setWordWrap(True)
            message.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
            message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            if verdict == "pass":
                message.setProperty("role", "hint")
            grid.addWidget(badge, row, 0, Qt.AlignmentFlag.AlignTop)
            grid.addWidget(message, row, 1)
        grid.setRowStretch(len(checks), 1)

    def badges(self) -> list[QLabel]:
        """The check badges in view (for tests)."""
        return [w for w in self._checks_box.findChildren(QLabel) if w.property("role") == "badge"
                and not w.isHidden()]

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
        from voicestudio.audio.analysis import LiveAnalyzer
        from voicestudio.audio.devices import Recorder

        project = self.project
        if self.recording:
            return False
        if project is None or not project.prompts:
            self.message.show_message(NO_PROJECT_HINT if project is None else
                                      "This project has no prompts to record.", "info")
            return False
        if self.importing:
            self.message.show_message("Wait for the import to finish before recording.", "warning")
            return False
        self.ctx.stop_playback()
        self._play_timer.stop()
        prompt = project.prompts[self.index]
        limit = recording.interactive_limit_s(prompt.text)
        recorder = Recorder(self.ctx.input_device, max_seconds=limit)
        try:
            recorder.start()
        except VoiceStudioError as exc:
            self.device_message.error(f"Cannot record: {exc}")
            return False
        self.recorder = recorder
        self.analyzer = LiveAnalyzer(recorder.sample_rate)
        self.spectrogram.configure(recorder.sample_rate, self.analyzer.hop, self.analyzer.frequencies)
        self.meter.reset()
        self.overflow_label.hide()
        self._record_project, self._record_index = project, self.index
        self._limit_s = limit
        self.message.clear_message()
        self.device_message.clear_message()
        self._timer.start()
        self._update_buttons()
        self._update_record_status()
        self.ctx.status.emit(f"Recording prompt {self.index + 1} from {recorder.device.name}")
        return True

    def stop_recording(self) -> None:
        """End the take: save it into the project, then check it in the background."""
        if self.recording:
            self._finish_recording()

    def _tick(self) -> None:
        """Timer: move what the recorder captured into the analyzer and the widgets."""
        recorder = self.recorder
        if recorder is None:
            self._timer.stop()
            return
        self._drain(recorder)
        self._update_record_status()
        if not recorder.is_recording:  # it ended by itself: maximum length, or the device failed
            self._finish_recording()

    def _drain(self, recorder) -> None:
        samples = recorder.read_new()
        columns = self.analyzer.feed(samples).columns if samples.size else ()
        if len(columns):
            self.spectrogram.add_columns(columns)
        else:  # audio comes in blocks: between them the picture glides on with time
            self.spectrogram.advance()
        self.meter.set_levels(recorder.levels())

    def _update_record_status(self) -> None:
        recorder = self.recorder
        if recorder is None:
            return
        device = recorder.device.name if recorder.device else "the microphone"
        text = (f"● Recording {_seconds_text(recorder.seconds_recorded)} "
                f"(stops by itself at {self._limit_s:.0f} s) · {device} · {recorder.sample_rate} Hz")
        if text != self.record_status.text():  # changes ten times a second, not on every frame
            self.record_status.setText(text)
        lost = recorder.input_overflows, recorder.dropped_frames
        if any(lost):
            self.overflow_label.setText(f"Audio lost: {lost[0]} input overflows, {lost[1]} dropped frames")
            self.overflow_label.show()

    def _finish_recording(self, check: bool = True) -> None:
        recorder, self.recorder = self.recorder, None
        self._timer.stop()
        take = recorder.stop()
        self._drain(recorder)  # the last few milliseconds, for the picture
        project, index = self._record_project, self._record_index
        self._record_project = None
        self.last_take = take
        lost = f" · audio lost: {take.input_overflows} overflows, {take.dropped_frames} frames" if not take.complete \
            and take.error is None else ""
        self.record_status.setText(f"Recorded {take.duration_s:.1f} s from {take.device} at {take.sample_rate} Hz{lost}")
        self._update_buttons()
        if take.samples.size == 0:
            self.message.error("Nothing was recorded" + (f": {take.error}" if take.error else "."))
            return
        try:
            saved = recording.save_recorded_take(project, index, take.samples, take.sample_rate)
        except (VoiceStudioError, OSError) as exc:
            self.message.error(f"The take could not be saved: {exc}. Free some disk space or check the project "
                               "folder, then record it again.")
            return
        if take.notice:
            self.message.show_message(take.notice, "error" if take.error else "warning")
        self.ctx.status.emit(f"Saved {saved.file} ({saved.duration_s:.1f} s)")
        if check:
            self._checks.append(_PendingCheck(project, index, saved, take.samples, take.sample_rate,
                                              project.prompts[index].text))
        if project is self.project:
            self._shown_audio = (saved.file, take.samples, take.sample_rate)
            self._fill_row(index)
            self._update_summary()
            self._show_prompt()
        self.takes_changed.emit()
        self._start_next_check()

    # ================================================================== checks (one at a time)
    def _start_next_check(self) -> None:
        if self._check_task is not None or not self._checks or self._closed:
            return
        item = self._checks.popleft()
        self._checking = item

        def work(handle):
            return recording.check_recorded_take(item.samples, item.sample_rate, item.text)

        self._check_task = run_task(work, self, done=self._on_check_done, failed=self._on_check_failed)
        self._check_task.finished.connect(self._on_check_finished)

    def _on_check_done(self, report) -> None:
        item = self._checking
        if item is None:
            return
        try:
            recording.store_report(item.project, item.take, report)
        except (VoiceStudioError, OSError) as exc:
            self.message.error(f"The checks of prompt {item.index + 1} could not be saved: {exc}")

    def _on_check_failed(self, message: str) -> None:
        item = self._checking
        where = f"prompt {item.index + 1}" if item is not None else "the take"
        self.message.show_message(f"The take of {where} is saved, but its checks could not run: {message}", "warning")

    def _on_check_finished(self) -> None:
        item, self._checking, self._check_task = self._checking, None, None
        if item is not None and item.project is self.project:
            self._fill_row(item.index)
            self._update_summary()
            if item.index == self.index:
                self._show_take()
        if item is not None:
            self.takes_changed.emit()
        self._update_buttons()
        self._start_next_check()

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
        from voicestudio.project.importer import import_folder

        project = self.project
        if project is None:
            self.message.show_message(NO_PROJECT_HINT, "info")
            return None
        if self.recording or self.importing:
            self.message.show_message("Finish the recording or import in progress first.", "warning")
            return None
        if self.checking:
            self.message.show_message("The last take is still being checked; import when its badges appear.",
                                      "warning")
            return None
        if folder is None:
            folder = QFileDialog.getExistingDirectory(self, "Import recordings with transcripts", str(Path.home()))
            if not folder:
                return None

        def work(handle):
            def progress(done: int, total: int, name: str) -> None:
                handle.report((done - 1) / max(1, total), f"Importing {done} of {total}: {name}")

            return import_folder(project, folder, on_progress=progress)

        self._import_folder = folder
        self.import_progress.setValue(0)
        self.import_progress.setFormat("Importing…")
        self.import_progress.show()
        self.cancel_import_button.show()
        self.message.show_message(f"Importing recordings from {folder}…", "info")
        self._import_task = run_task(work, self, done=self._on_import_done, failed=self._on_import_failed,
                                     cancelled=self._on_import_cancelled, progress=self._on_import_progress)
        self._import_task.finished.connect(self._on_import_finished)
        self._update_buttons()
        return self._import_task

    def cancel_import(self) -> None:
        if self._import_task is not None:
            self._import_task.cancel()
            self.import_progress.setFormat("Cancelling…")

    def _on_import_progress(self, fraction: float, text: str) -> None:
        self.import_progress.setValue(int(round(1000 * fraction)))
        self.import_progress.setFormat(text[:60])

    def _on_import_done(self, report) -> None:
        self.last_import = report
        text = (f"Imported {report.imported} take{'s' if report.imported != 1 else ''} "
                f"({report.seconds / 60:.1f} min) from {self._import_folder} [{report.layout}]")
        if report.already_present:
            text += f"; {report.already_present} were already in the project"
        if report.skipped:
            shown = "; ".join(f"{name}: {reason}" for name, reason in report.skipped[:3])
            more = f" and {len(report.skipped) - 3} more" if len(report.skipped) > 3 else ""
            text += f". Skipped {len(report.skipped)}: {shown}{more}"
        self.message.show_message(text + ".", "warning" if report.skipped else "ok")
        self.ctx.status.emit(f"Imported {report.imported} takes")

    def _on_import_failed(self, message: str) -> None:
        self.message.error(f"Import failed: {message}")

    def _on_import_cancelled(self) -> None:
        self.message.show_message("Import cancelled; the recordings imported so far are kept.", "warning")

    def _on_import_finished(self) -> None:
        self._import_task = None
        self.import_progress.hide()
        self.cancel_import_button.hide()
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
        self._timer.stop()
        self._play_timer.stop()
        self._checks.clear()
        if self._import_task is not None:
            self._import_task.cancel()
        self._wait_for_tasks(SHUTDOWN_WAIT_S)
        self.ctx.stop_playback()

    def _wait_for_tasks(self, timeout_s: float) -> None:
        """Let running tasks end. Their outcome is relayed through this thread's event queue
        (see workers.Task), so events are processed while waiting instead of blocking."""
        import time

        deadline = time.monotonic() + timeout_s
        while (self._check_task is not None or self._import_task is not None) and time.monotonic() < deadline:
            QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
            time.sleep(0.005)
