"""The Train panel: clone the project's voice by fine-tuning the base voice on its takes.

A face over ``train_and_publish`` (the run ``voicestudio train`` makes too): the user
picks a time budget and a device, the one-time base preparation is shown as its own
step, and a run reports its progress, losses, similarity and previews live from a
:class:`~voicestudio.gui.train_worker.TrainWorker` thread. What each event shows, and
where the run is, the Qt-free :class:`~voicestudio.gui.controllers.train.TrainController`
decides; this panel builds widgets and binds them to it. torch is never imported here:
the worker imports the trainer when a run starts, and CUDA is probed in a subprocess.
"""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QSizePolicy,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from voicestudio.errors import VoiceStudioError
from voicestudio.gui.controllers.train import (
    QUICK_MINUTES,
    STUDIO_MINUTES,
    Budget,
    Shown,
    TrainChoice,
    TrainController,
    TrainState,
    describe_project,
)
from voicestudio.gui.train_worker import TorchProbe, TorchReport, TrainWorker
from voicestudio.gui.widgets.consent_statement import ConsentStatementActions
from voicestudio.gui.widgets.inline_message import InlineMessage
from voicestudio.gui.widgets.loss_plot import LossPlot, QualityPlot, SimilarityPlot
from voicestudio.gui.widgets.preview_list import PreviewList, PreviewRow
from voicestudio.threads import cpu_cores, training_threads
from voicestudio.training import locations
from voicestudio.training.control import NO_TORCH_MESSAGE
from voicestudio.training.events import PreviewReady, StageKind

MAX_CUSTOM_MINUTES = 24 * 60
PROGRESS_STEPS = 1000  # resolution of the progress bar
LOG_LINES = 5000
BUDGETS = (Budget.QUICK, Budget.STUDIO, Budget.CUSTOM)  # the radio buttons' ids
DEVICES = ("auto", "cpu", "cuda")


class TrainPanel(QWidget):
    """Budget and device choices, the base-model step, start / resume / cancel, progress
    with ETA, live loss and similarity plots, previews to play, and a log.

    ``run_started()`` when a run begins; ``run_ended(outcome)`` once its thread stopped,
    with ``outcome`` a :class:`TrainState` outcome (a ``str``: "finished", "cancelled",
    "failed"). While the project lacks its consent statement, or the gate refused the last
    run, two buttons show the way on: ``record_statement(index)`` asks the window to show
    that prompt in Record, and *Add a recording of it…* checks a file as
    ``voicestudio project consent --file`` does.
    """

    title = "Train"

    run_started = Signal()
    run_ended = Signal(str)
    record_statement = Signal(int)

    def __init__(self, ctx, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.controller = TrainController()
        self._worker: TrainWorker | None = None
        self.torch_report: TorchReport | None = None
        self._probe: TorchProbe | None = None

        self._build()
        self._restore_choices()
        self.ctx.project_changed.connect(self._on_project_changed)
        self.ctx.project_edited.connect(self._update_state)
        self._on_project_changed(self.ctx.project)
        self._probe_torch()

    # ------------------------------------------------------------------ layout
    def _build(self) -> None:
        root = QVBoxLayout(self)
        root.setContentsMargins(16, 12, 16, 12)
        self._build_header(root)
        body = QHBoxLayout()
        body.setSpacing(14)
        root.addLayout(body, 1)
        left_widget = QWidget()  # choices, the base step, actions
        left = QVBoxLayout(left_widget)
        left_widget.setFixedWidth(340)
        left.setContentsMargins(0, 0, 0, 0)
        body.addWidget(left_widget)
        left.addWidget(self._build_budget_box())
        left.addWidget(self._build_device_box())
        left.addWidget(self._build_base_box())
        left.addLayout(self._build_buttons())
        left.addStretch(1)
        right = QVBoxLayout()  # progress, curves, previews, log
        body.addLayout(right, 1)
        self._build_progress(right)
        right.addLayout(self._build_plots(), 3)
        right.addLayout(self._build_previews_and_log(), 2)

    def _build_header(self, root: QVBoxLayout) -> None:
        heading = QLabel("Train your voice")
        heading.setProperty("role", "title")
        self.project_label = QLabel()
        self.project_label.setProperty("role", "hint")
        self.project_label.setWordWrap(True)
        self.message = InlineMessage(self)
        self.statement = ConsentStatementActions(self.ctx, self._may_act_on_statement, self)
        self.statement.record_statement.connect(self.record_statement)
        self.statement.stored.connect(self.controller.statement_stored)
        self.statement.checking_changed.connect(self._update_state)
        # its parts, for the window and tests
        self.consent_actions, self.consent_message = self.statement.actions, self.statement.message
        self.record_statement_button = self.statement.record_button
        self.add_statement_button = self.statement.add_button
        for widget in (heading, self.project_label, self.message, self.consent_actions,
                       self.consent_message):
            root.addWidget(widget)

    def _build_budget_box(self) -> QGroupBox:
        box = QGroupBox("Time budget")
        grid = QGridLayout(box)
        self.quick_radio = QRadioButton(f"Quick  (≈ {QUICK_MINUTES} min)")
        self.quick_radio.setToolTip("A first clone: recognisably you after a few minutes on the "
                                    "CPU.")
        self.studio_radio = QRadioButton(f"Studio  (≈ {STUDIO_MINUTES} min)")
        self.studio_radio.setToolTip("Longer training: closer to your voice.")
        self.custom_radio = QRadioButton("Custom")
        self.minutes_spin = QSpinBox()
        self.minutes_spin.setRange(1, MAX_CUSTOM_MINUTES)
        self.minutes_spin.setValue(15)
        self.minutes_spin.setSuffix(" min")
        self.minutes_spin.setToolTip("Training time; the one-time base preparation is not counted.")
        self.budget_group = QButtonGroup(self)
        for i, radio in enumerate((self.quick_radio, self.studio_radio, self.custom_radio)):
            self.budget_group.addButton(radio, i)
        grid.addWidget(self.quick_radio, 0, 0, 1, 2)
        grid.addWidget(self.studio_radio, 1, 0, 1, 2)
        grid.addWidget(self.custom_radio, 2, 0)
        grid.addWidget(self.minutes_spin, 2, 1)
        self.budget_group.idToggled.connect(self._on_choice_changed)
        self.minutes_spin.valueChanged.connect(self._on_choice_changed)
        return box

    def _build_device_box(self) -> QGroupBox:
        box = QGroupBox("Device")
        grid = QGridLayout(box)
        self.auto_radio = QRadioButton("Auto")
        self.auto_radio.setToolTip("The GPU when CUDA works, otherwise the CPU.")
        self.cpu_radio = QRadioButton("CPU")
        self.cuda_radio = QRadioButton("CUDA")
        self.cuda_radio.setEnabled(False)
        self.cuda_radio.setToolTip("Checking whether PyTorch can use an NVIDIA GPU here…")
        self.device_group = QButtonGroup(self)
        for i, radio in enumerate((self.auto_radio, self.cpu_radio, self.cuda_radio)):
            self.device_group.addButton(radio, i)
            grid.addWidget(radio, 0, i)
        cores = cpu_cores()
        self.cpu_radio.setToolTip(f"Train on the processor ({cores} cores).")
        threads_label = QLabel("CPU threads")
        self.threads_spin = QSpinBox()
        self.threads_spin.setRange(1, max(1, cores))
        self.threads_spin.setValue(training_threads())
        tip = (f"Threads for training (default {training_threads()} of {cores}: all cores up to 3, "
               "one left free on bigger machines).")
        threads_label.setToolTip(tip)
        self.threads_spin.setToolTip(tip)
        grid.addWidget(threads_label, 1, 0, 1, 2)
        grid.addWidget(self.threads_spin, 1, 2)
        self.device_group.idToggled.connect(self._on_choice_changed)
        self.threads_spin.valueChanged.connect(self._on_threads_changed)
        return box

    def _build_base_box(self) -> QGroupBox:
        box = QGroupBox("Base model  (once per machine)")
        layout = QVBoxLayout(box)
        row = QHBoxLayout()
        self.base_badge = QLabel()
        self.base_badge.setProperty("role", "badge")
        self.base_label = QLabel()
        self.base_label.setWordWrap(True)
        row.addWidget(self.base_badge, 0, Qt.AlignmentFlag.AlignTop)
        row.addWidget(self.base_label, 1)
        layout.addLayout(row)
        self.base_progress = QProgressBar()
        self.base_progress.setRange(0, PROGRESS_STEPS)
        self.base_progress.setTextVisible(False)
        self.base_progress.setFixedHeight(8)
        self.base_progress.hide()
        layout.addWidget(self.base_progress)
        return box

    def _build_buttons(self) -> QHBoxLayout:
        buttons = QHBoxLayout()
        self.start_button = QPushButton("Start training")
        self.start_button.setProperty("accent", True)
        self.start_button.setToolTip("Start a new training on this project's takes.")
        self.resume_button = QPushButton("Resume")
        self.resume_button.setToolTip("Continue the project's last training from its checkpoint.")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop after the current step; the best voice so far is kept "
                                      "and published.")
        self.start_button.clicked.connect(lambda: self.start())
        self.resume_button.clicked.connect(lambda: self.resume())
        self.cancel_button.clicked.connect(self.cancel)
        buttons.addWidget(self.start_button, 1)
        buttons.addWidget(self.resume_button)
        buttons.addWidget(self.cancel_button)
        return buttons

    def _build_progress(self, column: QVBoxLayout) -> None:
        self.stage_label = QLabel("Not started.")
        self.stage_label.setProperty("role", "hint")
        self.progress_bar = QProgressBar()
        self.progress_bar.setRange(0, PROGRESS_STEPS)
        self.progress_bar.setValue(0)
        self.progress_bar.setFormat("%p %")
        column.addWidget(self.stage_label)
        column.addWidget(self.progress_bar)

    def _build_plots(self) -> QHBoxLayout:
        plots = QHBoxLayout()
        self.loss_plot = LossPlot()
        self.similarity_plot = SimilarityPlot()
        self.quality_plot = QualityPlot()
        self.loss_plot.setMinimumHeight(200)
        scores_column = QVBoxLayout()
        for plot in (self.similarity_plot, self.quality_plot):
            plot.setMinimumHeight(96)
            scores_column.addWidget(plot, 1)
        for plot in self._plots:
            plot.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        plots.addWidget(self.loss_plot, 3)
        plots.addLayout(scores_column, 2)
        return plots

    def _build_previews_and_log(self) -> QHBoxLayout:
        bottom = QHBoxLayout()
        previews_box = QGroupBox("Previews")
        self.previews = PreviewList()
        self.previews.play.connect(self.play_preview)
        QVBoxLayout(previews_box).addWidget(self.previews)
        self.previews.setToolTip("The preview sentence in the voice as it was at each evaluation.")
        log_box = QGroupBox("Log")
        self.log = QPlainTextEdit()
        QVBoxLayout(log_box).addWidget(self.log)
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(LOG_LINES)
        self.log.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        bottom.addWidget(previews_box, 2)
        bottom.addWidget(log_box, 3)
        return bottom

    @property
    def _plots(self) -> tuple[LossPlot, SimilarityPlot, QualityPlot]:
        return self.loss_plot, self.similarity_plot, self.quality_plot

    # ------------------------------------------------------------------ choices
    def _restore_choices(self) -> None:
        """The choices saved in the settings; the widgets' signals are blocked meanwhile, so
        nothing is saved back (a wish for CUDA waits for the probe's answer)."""
        s = self.ctx.settings
        budget = str(s.value("train/budget", Budget.QUICK.value))
        device = str(s.value("train/device", "auto"))
        try:
            minutes = int(s.value("train/minutes", self.minutes_spin.value()))
            threads = int(s.value("train/threads", training_threads()))
        except (TypeError, ValueError):
            minutes, threads = self.minutes_spin.value(), training_threads()
        with QSignalBlocker(self.minutes_spin), QSignalBlocker(self.threads_spin), \
                QSignalBlocker(self.budget_group), QSignalBlocker(self.device_group):
            self.minutes_spin.setValue(minutes)
            self.threads_spin.setValue(min(max(1, threads), self.threads_spin.maximum()))
            radios = {b.value: self.budget_group.button(i) for i, b in enumerate(BUDGETS)}
            radios.get(budget, self.quick_radio).setChecked(True)
            # CUDA is unknown until the probe answers: start on Auto (the GPU if it works)
            (self.cpu_radio if device == "cpu" else self.auto_radio).setChecked(True)
        self._update_choice_widgets()

    def _on_choice_changed(self, *_args) -> None:
        self._update_choice_widgets()
        s = self.ctx.settings
        s.setValue("train/budget", self.budget.value)
        s.setValue("train/minutes", self.minutes_spin.value())
        s.setValue("train/device", self.device)

    def _on_threads_changed(self, value: int) -> None:
        """Kept only once the user sets it: otherwise the default (one rule for the panel and
        the trainer, threads.training_threads) follows the machine."""
        self.ctx.settings.setValue("train/threads", value)

    def _update_choice_widgets(self) -> None:
        idle = not self.busy
        self.minutes_spin.setEnabled(idle and self.custom_radio.isChecked())
        self.threads_spin.setEnabled(idle and not self.cuda_radio.isChecked())

    @property
    def budget(self) -> Budget:
        return BUDGETS[max(0, self.budget_group.checkedId())]

    @property
    def minutes(self) -> float:
        """The chosen training time budget in minutes."""
        return self.budget.minutes(self.minutes_spin.value())

    @property
    def device(self) -> str:
        return DEVICES[max(0, self.device_group.checkedId())]

    def choice(self) -> TrainChoice:
        return TrainChoice(minutes=float(self.minutes), device=self.device,
                           threads=self.threads_spin.value())

    # ------------------------------------------------------------------ torch / CUDA probe
    def _probe_torch(self) -> None:
        self._probe = TorchProbe(self)  # asks once per process; later panels get the answer
        self._probe.done.connect(self.apply_torch_report)
        self._probe.start()

    def apply_torch_report(self, report: TorchReport) -> None:
        """Offer CUDA only when the probe found it working; without torch, say how to get it."""
        self.torch_report = report
        if report.cuda:
            self.cuda_radio.setEnabled(not self.busy)
            self.cuda_radio.setToolTip(f"Train on the GPU ({report.gpu})." if report.gpu
                                       else "Train on the GPU.")
            if str(self.ctx.settings.value("train/device", "auto")) == "cuda" and not self.busy:
                self.cuda_radio.setChecked(True)
        else:
            self.cuda_radio.setEnabled(False)
            reason = report.reason or "CUDA does not work here"
            self.cuda_radio.setToolTip(f"Not available: {reason}.")
            if self.cuda_radio.isChecked():
                self.auto_radio.setChecked(True)
        if report.torch is None:
            self.start_button.setToolTip(report.reason or "PyTorch is not installed")
        self._update_state()
        self._explain_missing_torch()

    def _explain_missing_torch(self) -> None:
        report = self.torch_report
        if report is not None and report.torch is None and not self.message.text():
            self.message.show_message(f"{report.reason}: {NO_TORCH_MESSAGE}", "warning")

    # ------------------------------------------------------------------ project
    def _on_project_changed(self, project) -> None:
        self._show(self.controller.open_project(project))
        if not self.statement.checking:
            self.consent_message.clear_message()
        self._update_state()
        self._explain_missing_torch()

    # ------------------------------------------------------------------ consent statement
    def record_statement_now(self) -> None:
        """Show the statement's prompt in Record (an imported corpus gets the prompt first)."""
        self.statement.record_now()

    def add_statement_recording(self, path: str | Path | None = None) -> bool:
        """Check a recording of the statement made elsewhere and store it when it passes (asks
        for the file when none is given); the verdict shows under the buttons. False when no
        check started."""
        return self.statement.add_recording(path)

    @property
    def checking_statement(self) -> bool:
        """An added statement recording is being checked."""
        return self.statement.checking

    def _may_act_on_statement(self) -> bool:
        return not self.busy and self.controller.state is not TrainState.CLOSED

    def showEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        # the base model or a resumable state may have appeared meanwhile (e.g. from the CLI)
        self._update_state()
        super().showEvent(event)

    # ------------------------------------------------------------------ state
    @property
    def busy(self) -> bool:
        """A training run (or its publishing) is going."""
        return self.controller.busy

    @property
    def worker(self) -> TrainWorker | None:
        """The running run's worker (its ``event`` signal can be watched), or None."""
        return self._worker

    @property
    def state(self) -> TrainState:
        """IDLE before any run, then where the run is, then its outcome."""
        return self.controller.state

    @property
    def published_voice(self):
        """The PublishedVoice of the last run, or None."""
        return self.controller.published

    def _update_state(self) -> None:
        project = self.ctx.project
        has_project, busy = project is not None, self.busy
        torch_missing = self.torch_report is not None and self.torch_report.torch is None
        self.project_label.setText(describe_project(self.ctx.project))
        checking = self.statement.checking
        refusal = self.controller.refusal
        refused = refusal is not None and refusal.remedy is not None
        needed = has_project and (refused or not self.statement.statement_recorded())
        self.statement.show_state(refusal if refused else None, needed, not busy)
        idle = has_project and not busy and not torch_missing and not checking
        self.start_button.setEnabled(idle)
        self.resume_button.setEnabled(idle and locations.can_resume(project))
        self.cancel_button.setEnabled(self.controller.cancellable)
        for radio in (self.quick_radio, self.studio_radio, self.custom_radio, self.auto_radio,
                      self.cpu_radio):
            radio.setEnabled(not busy)
        cuda = self.torch_report is not None and self.torch_report.cuda
        self.cuda_radio.setEnabled(not busy and cuda)
        self._update_choice_widgets()
        if self.controller.stage is not StageKind.BASE:
            self._show_base_state()

    def _show_base_state(self) -> None:
        if locations.base_model_present():
            self._set_badge("ready", "pass")
            self.base_label.setText("Prepared. It is shared by all your projects.")
        else:
            self._set_badge("first run", "warn")
            self.base_label.setText(
                "Not prepared yet. The first training prepares it before it starts, once per "
                f"machine (measured: {locations.BASE_PREPARATION_TIME}).")

    def _set_badge(self, text: str, level: str) -> None:
        self.base_badge.setText(text)
        self.base_badge.setProperty("badge", level)
        self.base_badge.style().unpolish(self.base_badge)
        self.base_badge.style().polish(self.base_badge)

    # ------------------------------------------------------------------ actions
    def start(self, config=None) -> bool:
        """Start a new training of the current project. ``config`` (a ``TrainConfig``)
        replaces the panel's choices (tests use tiny runs). False when nothing started."""
        return self._begin(config, resume=False)

    def resume(self, config=None) -> bool:
        """Continue the project's last training from its saved state."""
        return self._begin(config, resume=True)

    def cancel(self) -> None:
        """Stop the run after its current step; the best checkpoint so far is kept."""
        shown = self.controller.cancel() if self._worker is not None else None
        if shown is None:
            return
        self._worker.cancel()
        self._show(shown)
        self._update_state()

    def _begin(self, config, resume: bool) -> bool:
        if not self._may_act_on_statement() or self.statement.checking:
            return False
        project = self.ctx.project
        if project is None:
            self.message.error(describe_project(None))
            return False
        if resume and not locations.can_resume(project):
            self.message.error("There is no training to resume in this project: start a new "
                               "training instead.")
            self._update_state()
            return False
        choice = self.choice() if config is None else None
        self._show(self.controller.start(project, resume, self.budget, choice))
        worker = TrainWorker(project, config if config is not None else choice, resume, self)
        worker.event.connect(self._on_event)
        worker.ended.connect(self._on_ended)
        self._worker = worker
        self._update_state()
        worker.start()
        self.run_started.emit()
        return True

    # ------------------------------------------------------------------ the run's events
    def _on_event(self, event) -> None:
        before = (self.controller.state, self.controller.refusal)
        self._show(self.controller.handle(event))
        if (self.controller.state, self.controller.refusal) != before:
            self._update_state()

    def _on_ended(self) -> None:
        worker, self._worker = self._worker, None
        if worker is not None:
            worker.deleteLater()
        self._show(self.controller.ended())
        self._update_state()
        for plot in self._plots:
            plot.redraw()
        if self.controller.state.is_outcome:
            self.run_ended.emit(self.controller.state)

    def _show(self, shown: Shown) -> None:
        """Bind the widgets to what the controller says changed."""
        if shown.clear:
            self._clear_run_views()
        if shown.status is not None:
            self.stage_label.setText(shown.status)
        if shown.progress is not None:
            fraction, words = shown.progress
            self.progress_bar.setValue(int(round(min(1.0, max(0.0, fraction)) * PROGRESS_STEPS)))
            self.progress_bar.setFormat(f"%p %  ·  {words}")
        if shown.base is not None:
            if self.base_progress.isHidden():  # a preparation begins
                self._set_badge("preparing", "warn")
                self.base_progress.show()
            self.base_progress.setValue(int(round(shown.base.fraction * PROGRESS_STEPS)))
            self.base_label.setText(shown.base.text)
        if shown.base_done:
            self.base_progress.hide()
            self._show_base_state()
        for line in shown.log:
            self._log(line)
        if shown.loss is not None:
            self.loss_plot.add_loss(shown.loss.step, shown.loss.total, shown.loss.mel_l1)
        if shown.preview is not None:
            self._add_preview(shown.preview)
        if shown.message is not None:
            self.message.show_message(shown.message.text, shown.message.level)
        if shown.status_bar is not None:
            self.ctx.status.emit(shown.status_bar)
        if shown.published is not None:
            self.ctx.voices_changed.emit()

    # ------------------------------------------------------------------ previews, log
    def _add_preview(self, preview: PreviewReady) -> None:
        if preview.similarity is not None:
            self.similarity_plot.add_score(preview.step, preview.similarity)
        if preview.quality is not None:
            self.quality_plot.add_score(preview.step, preview.quality)
        self.previews.add(preview.step, preview.path, preview.similarity, preview.quality)

    def play_preview(self, path: Path) -> None:
        """Play a preview WAV through the shared player; problems show inline."""
        from voicestudio.audio.io import read_audio

        try:
            audio = read_audio(path)
            self.ctx.play(audio.samples, audio.sample_rate)
        except VoiceStudioError as exc:
            self.message.error(f"Cannot play {Path(path).name}: {exc}")

    def preview_rows(self) -> list[PreviewRow]:
        return self.previews.rows()

    def _clear_run_views(self) -> None:
        for plot in self._plots:
            plot.clear_points()
        self.previews.clear()
        self.progress_bar.setValue(0)
        self.progress_bar.setFormat("%p %")

    def _log(self, text: str) -> None:
        self.log.appendPlainText(f"{time.strftime('%H:%M:%S')}  {text}")

    # ------------------------------------------------------------------ shutdown
    def shutdown(self) -> None:
        """Cancel a run and wait for its thread (the trainer keeps the best so far and its
        state, so Resume continues it next time); stop the probe and the plot timers. Safe
        to call twice."""
        worker = self._worker
        self.controller.close()
        if worker is not None:
            worker.cancel(publish=False)  # closing: keep the checkpoints for Resume, no waiting
            worker.wait()
        self.statement.stop()
        if self._probe is not None:
            self._probe.stop()
        for plot in self._plots:
            plot.stop()

