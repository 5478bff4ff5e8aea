"""The Train panel: clone the project's voice by fine-tuning the base voice on its takes.

A face over ``Trainer`` and ``publish`` (the same calls as ``voicestudio train``): the
user picks a time budget and a device, the one-time base preparation is shown as its own
step, and a run reports its progress, losses, similarity and previews live from a
:class:`~voicestudio.gui.train_worker.TrainWorker` thread. torch is never imported here:
the worker imports the trainer when a run starts, and CUDA is probed in a subprocess.
"""

from __future__ import annotations

import math
import os
import time
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
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
from voicestudio.gui.train_worker import (
    NO_TORCH_MESSAGE,
    TorchProbe,
    TorchReport,
    TrainChoice,
    TrainWorker,
)
from voicestudio.gui.widgets.inline_message import InlineMessage
from voicestudio.gui.widgets.loss_plot import LossPlot, QualityPlot, SimilarityPlot
from voicestudio.project import selection
from voicestudio.threads import training_threads
from voicestudio.training import locations

#: Time budgets offered (minutes). Quick is the CLI's default; Studio is where the
#: feasibility run reached similarity 0.85 (ARCHITECTURE.md, "The speaker model").
QUICK_MINUTES = 5
STUDIO_MINUTES = 30
MAX_CUSTOM_MINUTES = 24 * 60
PROGRESS_STEPS = 1000  # resolution of the progress bar
LOG_LINES = 5000

NO_PROJECT_HINT = "Open or create a voice project (File menu) to train a voice from its takes."

_torch_report: TorchReport | None = None  # one probe per process; the answer does not change


def _clock(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}" if seconds >= 3600 else \
        f"{seconds // 60}:{seconds % 60:02d}"


def _time_left(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds):
        return "estimating time left"
    if seconds < 60:
        return f"{max(1, int(round(seconds)))} s left"
    return f"about {int(round(seconds / 60))} min left"


def _sentence(text: str) -> str:
    """An engine message (lower case, no full stop: the CLI prints it after "error:") as a sentence."""
    text = text.strip()
    return text[:1].upper() + text[1:] + ("" if text.endswith((".", "!", "?")) else ".")


def record_button_text(refusal) -> str:
    """The Record button's words: "again" when the gate refused a statement that exists."""
    again = refusal is not None and refusal.remedy is not None and refusal.remedy.again
    return "Record the statement again" if again else "Record the statement now"


def refusal_text(refusal) -> str:
    """A consent refusal (``safety.consent.ConsentRefusal``) in the panel's words: the reason,
    then the buttons below rather than terminal commands."""
    text = _sentence(refusal.reason)
    remedy = refusal.remedy
    if remedy is None:
        return text
    where = f"prompt {remedy.index + 1} in Record" if remedy.index is not None else "a new prompt in Record"
    advice = f", {remedy.advice}" if remedy.advice else ""
    return (f"{text} Use “{record_button_text(refusal)}” below ({where}{advice}) or “Add a recording of it…” "
            "for a recording made elsewhere.")


def _score(similarity: float | None) -> str:
    return f"{similarity:.3f}" if similarity is not None else "not measured"


def _scores(similarity: float | None, quality: float | None) -> str:
    return f"similarity {_score(similarity)}" + (f"  ·  quality {quality:.2f}" if quality is not None else "")


class PreviewRow(QWidget):
    """One intermediate preview: its step and score, and a Play button."""

    def __init__(self, step: int, path: Path, similarity: float | None, quality: float | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.step, self.path, self.similarity, self.quality = step, path, similarity, quality
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 2, 6, 2)
        self.label = QLabel(f"Step {step}  ·  {_scores(similarity, quality)}")
        self.play_button = QPushButton("Play")
        self.play_button.setToolTip(f"Play {path.name}")
        layout.addWidget(self.label, 1)
        layout.addWidget(self.play_button)


class TrainPanel(QWidget):
    """Budget and device choices, the base-model step, start / resume / cancel, progress
    with ETA, live loss and similarity plots, previews to play, and a log.

    ``run_started()`` when a run begins; ``run_ended(outcome)`` once its thread stopped,
    with ``outcome`` one of "finished", "cancelled", "failed". While the project lacks its
    consent statement, or the gate refused the last run, two buttons show the way on:
    ``record_statement(index)`` asks the window to show that prompt in Record, and *Add a
    recording of it…* checks a file as ``voicestudio project consent --file`` does.
    """

    title = "Train"

    run_started = Signal()
    run_ended = Signal(str)
    record_statement = Signal(int)

    def __init__(self, ctx, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self._worker: TrainWorker | None = None
        self._run_project = None  # the project the running worker trains (the user may switch)
        self._outcome = ""  # "", "running", "finished", "cancelled", "failed"
        self._cancelling = False
        self._publishing = False  # training ended, the voice is being exported (not cancellable)
        self._published = None  # PublishedVoice of the last run
        self._base_running = False
        self._last_mel: float | None = None
        self._shut_down = False
        self.torch_report: TorchReport | None = None
        self._probe: TorchProbe | None = None
        self._refusal = None  # the consent gate's ConsentRefusal of the last run of this project
        self._restoring = False  # settings being applied: not the user's choice
        self._consent_task = None  # the running check of an added statement recording

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
        heading = QLabel("Train your voice")
        heading.setProperty("role", "title")
        self.project_label = QLabel()
        self.project_label.setProperty("role", "hint")
        self.project_label.setWordWrap(True)
        self.message = InlineMessage(self)
        root.addWidget(heading)
        root.addWidget(self.project_label)
        root.addWidget(self.message)
        self.consent_actions = QWidget()
        consent_row = QHBoxLayout(self.consent_actions)
        consent_row.setContentsMargins(0, 0, 0, 0)
        self.record_statement_button = QPushButton("Record the statement now")
        self.record_statement_button.setToolTip("Show the consent statement's prompt in Record")
        self.add_statement_button = QPushButton("Add a recording of it…")
        self.add_statement_button.setToolTip("A recording of the speaker reading the statement, made elsewhere: "
                                             "it is checked and stored only if it passes")
        self.record_statement_button.clicked.connect(self.record_statement_now)
        self.add_statement_button.clicked.connect(lambda: self.add_statement_recording())
        consent_row.addWidget(self.record_statement_button)
        consent_row.addWidget(self.add_statement_button)
        consent_row.addStretch(1)
        self.consent_message = InlineMessage(self)
        root.addWidget(self.consent_actions)
        root.addWidget(self.consent_message)

        body = QHBoxLayout()
        body.setSpacing(14)
        root.addLayout(body, 1)

        # left column: choices, the base step, actions
        left = QVBoxLayout()
        left_widget = QWidget()
        left_widget.setLayout(left)
        left_widget.setFixedWidth(340)
        left.setContentsMargins(0, 0, 0, 0)
        body.addWidget(left_widget)

        budget_box = QGroupBox("Time budget")
        grid = QGridLayout(budget_box)
        self.quick_radio = QRadioButton(f"Quick  (≈ {QUICK_MINUTES} min)")
        self.quick_radio.setToolTip("A first clone: recognisably you after a few minutes on the CPU.")
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
        left.addWidget(budget_box)

        device_box = QGroupBox("Device")
        grid = QGridLayout(device_box)
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
        cores = os.cpu_count() or 1
        self.cpu_radio.setToolTip(f"Train on the processor ({cores} cores).")
        threads_label = QLabel("CPU threads")
        self.threads_spin = QSpinBox()
        self.threads_spin.setRange(1, max(1, cores))
        self.threads_spin.setValue(training_threads())
        tip = f"Threads for training (default {training_threads()} of {cores}: "
        tip += "all cores up to 3, one left free on bigger machines)."
        threads_label.setToolTip(tip)
        self.threads_spin.setToolTip(tip)
        grid.addWidget(threads_label, 1, 0, 1, 2)
        grid.addWidget(self.threads_spin, 1, 2)
        self.device_group.idToggled.connect(self._on_choice_changed)
        self.threads_spin.valueChanged.connect(self._on_threads_changed)
        left.addWidget(device_box)

        base_box = QGroupBox("Base model  (once per machine)")
        base_layout = QVBoxLayout(base_box)
        row = QHBoxLayout()
        self.base_badge = QLabel()
        self.base_badge.setProperty("role", "badge")
        self.base_label = QLabel()
        self.base_label.setWordWrap(True)
        row.addWidget(self.base_badge, 0, Qt.AlignmentFlag.AlignTop)
        row.addWidget(self.base_label, 1)
        base_layout.addLayout(row)
        self.base_progress = QProgressBar()
        self.base_progress.setRange(0, PROGRESS_STEPS)
        self.base_progress.setTextVisible(False)
        self.base_progress.setFixedHeight(8)
        self.base_progress.hide()
        base_layout.addWidget(self.base_progress)
        left.addWidget(base_box)

        buttons = QHBoxLayout()
        self.start_button = QPushButton("Start training")
        self.start_button.setProperty("accent", True)
        self.start_button.setToolTip("Start a new training on this project's takes.")
        self.resume_button = QPushButton("Resume")
        self.resume_button.setToolTip("Continue the project's last training from its checkpoint.")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop after the current step; the best voice so far is kept and published.")
        self.start_button.clicked.connect(lambda: self.start())
        self.resume_button.clicked.connect(lambda: self.resume())
        self.cancel_button.clicked.connect(self.cancel)
        buttons.addWidget(self.start_button, 1)
        buttons.addWidget(self.resume_button)
        buttons.addWidget(self.cancel_button)
        left.addLayout(buttons)
        left.addStretch(1)

        # right column: progress, curves, previews, log
        right = QVBoxLayout()
        body.addLayout(right, 1)
        self.stage_label = QLabel("Not started.")
        self.stage_label.setProperty("role", "hint")
        self.progress_bar = QProgressBar()
        self.progress_bar.setRange(0, PROGRESS_STEPS)
        self.progress_bar.setValue(0)
        self.progress_bar.setFormat("%p %")
        right.addWidget(self.stage_label)
        right.addWidget(self.progress_bar)

        plots = QHBoxLayout()
        self.loss_plot = LossPlot()
        self.similarity_plot = SimilarityPlot()
        self.quality_plot = QualityPlot()
        self.loss_plot.setMinimumHeight(200)
        scores = QVBoxLayout()
        for plot in (self.similarity_plot, self.quality_plot):
            plot.setMinimumHeight(96)
            scores.addWidget(plot, 1)
        for plot in (self.loss_plot, self.similarity_plot, self.quality_plot):
            plot.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        plots.addWidget(self.loss_plot, 3)
        plots.addLayout(scores, 2)
        right.addLayout(plots, 3)

        bottom = QHBoxLayout()
        previews_box = QGroupBox("Previews")
        previews_layout = QVBoxLayout(previews_box)
        self.previews = QListWidget()
        self.previews.setToolTip("The preview sentence in the voice as it was at each evaluation.")
        previews_layout.addWidget(self.previews)
        log_box = QGroupBox("Log")
        log_layout = QVBoxLayout(log_box)
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(LOG_LINES)
        self.log.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        log_layout.addWidget(self.log)
        bottom.addWidget(previews_box, 2)
        bottom.addWidget(log_box, 3)
        right.addLayout(bottom, 2)

    # ------------------------------------------------------------------ choices
    def _restore_choices(self) -> None:
        s = self.ctx.settings
        budget = str(s.value("train/budget", "quick"))
        device = str(s.value("train/device", "auto"))
        try:
            minutes = int(s.value("train/minutes", self.minutes_spin.value()))
            threads = int(s.value("train/threads", training_threads()))
        except (TypeError, ValueError):
            minutes, threads = self.minutes_spin.value(), training_threads()
        self.minutes_spin.setValue(minutes)
        self._restoring = True
        self.threads_spin.setValue(min(max(1, threads), self.threads_spin.maximum()))
        self._restoring = False
        {"studio": self.studio_radio, "custom": self.custom_radio}.get(budget, self.quick_radio).setChecked(True)
        # CUDA is unknown until the probe answers: start on Auto, which picks the GPU if it works
        {"cpu": self.cpu_radio}.get(device, self.auto_radio).setChecked(True)
        if device == "cuda":  # keep the wish until the probe has answered
            s.setValue("train/device", "cuda")
        self._update_choice_widgets()

    def _on_choice_changed(self, *_args) -> None:
        self._update_choice_widgets()
        s = self.ctx.settings
        s.setValue("train/budget", self.budget_name)
        s.setValue("train/minutes", self.minutes_spin.value())
        s.setValue("train/device", self.device)

    def _on_threads_changed(self, value: int) -> None:
        """Kept only once the user sets it: otherwise the default (one rule for the panel and
        the trainer, threads.training_threads) follows the machine."""
        if not self._restoring:
            self.ctx.settings.setValue("train/threads", value)
    def _update_choice_widgets(self) -> None:
        idle = not self.busy
        self.minutes_spin.setEnabled(idle and self.custom_radio.isChecked())
        self.threads_spin.setEnabled(idle and not self.cuda_radio.isChecked())

    @property
    def budget_name(self) -> str:
        return {0: "quick", 1: "studio", 2: "custom"}[max(0, self.budget_group.checkedId())]

    @property
    def minutes(self) -> float:
        """The chosen training time budget in minutes."""
        return {"quick": QUICK_MINUTES, "studio": STUDIO_MINUTES}.get(self.budget_name, self.minutes_spin.value())

    @property
    def device(self) -> str:
        return {0: "auto", 1: "cpu", 2: "cuda"}[max(0, self.device_group.checkedId())]

    def choice(self) -> TrainChoice:
        return TrainChoice(minutes=float(self.minutes), device=self.device, threads=self.threads_spin.value())

    # ------------------------------------------------------------------ torch / CUDA probe
    def _probe_torch(self) -> None:
        if _torch_report is not None:
            self.apply_torch_report(_torch_report)
            return
        self._probe = TorchProbe(self)
        self._probe.done.connect(self._on_probed)
        self._probe.start()

    def _on_probed(self, report: TorchReport) -> None:
        global _torch_report
        if not (report.reason or "").startswith("the PyTorch check"):  # a failed check may work next time
            _torch_report = report
        self.apply_torch_report(report)

    def apply_torch_report(self, report: TorchReport) -> None:
        """Offer CUDA only when the probe found it working; without torch, say how to get it."""
        self.torch_report = report
        if report.cuda:
            self.cuda_radio.setEnabled(not self.busy)
            self.cuda_radio.setToolTip(f"Train on the GPU ({report.gpu})." if report.gpu else "Train on the GPU.")
            if str(self.ctx.settings.value("train/device", "auto")) == "cuda" and not self.busy:
                self.cuda_radio.setChecked(True)
        else:
            self.cuda_radio.setEnabled(False)
            self.cuda_radio.setToolTip(f"Not available: {report.reason or 'CUDA does not work here'}.")
            if self.cuda_radio.isChecked():
                self.auto_radio.setChecked(True)
        if report.torch is None:
            self.start_button.setToolTip(report.reason or "PyTorch is not installed")
        self._update_state()
        self._explain_missing_torch()

    def _explain_missing_torch(self) -> None:
        if self.torch_report is not None and self.torch_report.torch is None and not self.message.text():
            self.message.show_message(f"{self.torch_report.reason}: {NO_TORCH_MESSAGE}", "warning")

    # ------------------------------------------------------------------ project
    def _on_project_changed(self, project) -> None:
        if not self.busy:
            self._clear_run_views()
            self.message.clear_message()
            self._published = None
            self._outcome = ""
            self.stage_label.setText("Not started." if project is not None else "")
        self._refusal = None
        if self._consent_task is None:
            self.consent_message.clear_message()
        self._update_state()
        self._explain_missing_torch()

    # ------------------------------------------------------------------ consent statement
    def _statement_recorded(self) -> bool:
        project = self.ctx.project
        statement = selection.consent_prompt(project) if project is not None else None
        return statement is not None and bool(project.prompts[statement].takes)

    def record_statement_now(self) -> None:
        """Show the statement's prompt in Record (an imported corpus gets the prompt first)."""
        project = self.ctx.project
        if project is None or self.busy:
            return
        created = selection.consent_prompt(project) is None
        try:
            index = selection.consent_prompt(project, create=True)
        except VoiceStudioError as exc:
            self.consent_message.error(f"Cannot add the statement to the project: {exc}")
            return
        if created:
            self.ctx.project_edited.emit()
        self.record_statement.emit(index)

    def add_statement_recording(self, path: str | Path | None = None) -> bool:
        """Check a recording of the statement made elsewhere and store it when it passes (asks
        for the file when none is given); the verdict shows under the buttons. False when no
        check started."""
        from voicestudio.gui.workers import Cancelled, run_task
        from voicestudio.safety import consent

        project = self.ctx.project
        if project is None or self.busy or self._consent_task is not None or self._shut_down:
            return False
        if path is None:
            from PySide6.QtWidgets import QFileDialog

            from voicestudio.audio.io import READABLE_SUFFIXES

            patterns = " ".join(f"*{suffix}" for suffix in READABLE_SUFFIXES)
            path, _ = QFileDialog.getOpenFileName(self, "A recording of the consent statement", str(Path.home()),
                                                  f"Audio ({patterns});;All files (*)")
            if not path:
                return False
        name = Path(path).name
        self.consent_message.show_message(f"Checking {name}: its take checks, the reading of the statement and "
                                          "the voice against the takes…", "info")

        def check(handle):
            """On the worker: read-only checks; a refusal is an outcome, not an error."""
            try:
                return consent.check_consent_recording(project, path, cancelled=lambda: handle.cancelled)
            except consent.ConsentCheckCancelled:
                raise Cancelled() from None
            except consent.ConsentError as exc:
                return exc.refusal

        def checked(outcome) -> None:
            """In the GUI thread: store a recording that passed, into the project it was checked for."""
            if isinstance(outcome, consent.ConsentRefusal):
                self.consent_message.error(refusal_text(outcome))
                return
            if self.ctx.project is not project:
                self.consent_message.show_message(f"{name} passed, but another project is open now, so it was not "
                                                  f"stored; add it again to “{project.name}”.", "warning")
                return
            try:
                stored = consent.store_consent_recording(project, outcome)
            except VoiceStudioError as exc:
                self.consent_message.error(f"{name} passed, but cannot be stored: {exc}")
                return
            self._refusal = None
            self.consent_message.show_message(f"{name} is stored as the consent statement. "
                                              f"{_sentence(stored.describe())}", "ok")
            self.ctx.project_edited.emit()

        def ended() -> None:
            self._consent_task = None
            self._update_state()

        self._consent_task = run_task(check, self, done=checked,
                                      failed=lambda message: self.consent_message.error(_sentence(message)))
        self._consent_task.finished.connect(ended)
        self._update_state()
        return True

    @property
    def checking_statement(self) -> bool:
        """An added statement recording is being checked."""
        return self._consent_task is not None

    def showEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        # the base model or a resumable state may have appeared meanwhile (e.g. from the CLI)
        self._update_state()
        super().showEvent(event)

    def _describe_project(self) -> str:
        project = self.ctx.project
        if project is None:
            return NO_PROJECT_HINT
        summary = project.summary()
        takes = len(selection.takes_that_train(project))
        voices = len(project.voices)
        trained = f"; {voices} trained voice{'s' if voices != 1 else ''}" if voices else ""
        statement = selection.consent_prompt(project)
        if statement is not None and project.prompts[statement].takes:
            gate = "Consent statement recorded; it is compared with the takes when training starts."
        else:
            where = f"prompt {statement + 1} in Record" if statement is not None else "a new prompt in Record"
            gate = (f"No consent statement recorded yet: training needs the speaker to read it first ({where}), "
                    "or a recording of them reading it.")
        return (f"Project “{project.name}”: {takes} take{'s' if takes != 1 else ''} to train on "
                f"({summary.minutes:.1f} min recorded){trained}. {gate}")

    # ------------------------------------------------------------------ state
    @property
    def busy(self) -> bool:
        """A training run (or its publishing) is going."""
        return self._worker is not None

    @property
    def worker(self) -> TrainWorker | None:
        """The running run's worker (its signals can be watched), or None."""
        return self._worker

    @property
    def state(self) -> str:
        """"" before any run, then "running", "finished", "cancelled" or "failed"."""
        return self._outcome

    @property
    def published_voice(self):
        """The PublishedVoice of the last run, or None."""
        return self._published

    def _update_state(self) -> None:
        project = self.ctx.project
        has_project = project is not None
        busy = self.busy
        torch_missing = self.torch_report is not None and self.torch_report.torch is None
        self.project_label.setText(self._describe_project())
        checking = self._consent_task is not None
        refused = self._refusal is not None and self._refusal.remedy is not None
        needs_statement = has_project and (refused or not self._statement_recorded())
        self.consent_actions.setVisible(needs_statement or checking)
        self.record_statement_button.setText(record_button_text(self._refusal if refused else None))
        self.record_statement_button.setEnabled(needs_statement and not busy and not checking)
        self.add_statement_button.setEnabled(needs_statement and not busy and not checking)
        idle = has_project and not busy and not torch_missing and not checking
        self.start_button.setEnabled(idle)
        self.resume_button.setEnabled(idle and locations.can_resume(project))
        self.cancel_button.setEnabled(busy and not self._cancelling and not self._publishing)
        for radio in (self.quick_radio, self.studio_radio, self.custom_radio, self.auto_radio, self.cpu_radio):
            radio.setEnabled(not busy)
        self.cuda_radio.setEnabled(not busy and self.torch_report is not None and self.torch_report.cuda)
        self._update_choice_widgets()
        if not self._base_running:
            self._show_base_state()

    def _show_base_state(self) -> None:
        if locations.base_model_present():
            self._set_badge("ready", "pass")
            self.base_label.setText("Prepared. It is shared by all your projects.")
        else:
            self._set_badge("first run", "warn")
            self.base_label.setText(
                "Not prepared yet. The first training prepares it before it starts, once per machine "
                f"(measured: {locations.BASE_PREPARATION_TIME})."
            )

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
        if self._worker is None or self._cancelling:
            return
        self._cancelling = True
        self._worker.cancel()
        self.stage_label.setText("Cancelling after the current step…")
        self._log("cancel asked: stopping after the current step (the best so far is kept)")
        self._update_state()

    def _begin(self, config, resume: bool) -> bool:
        if self.busy or self._shut_down or self._consent_task is not None:
            return False
        project = self.ctx.project
        if project is None:
            self.message.error(NO_PROJECT_HINT)
            return False
        if resume and not locations.can_resume(project):
            self.message.error("There is no training to resume in this project: start a new training instead.")
            self._update_state()
            return False
        choice = self.choice()
        self._clear_run_views()
        self.message.clear_message()
        self._published = None
        self._cancelling = False
        self._outcome = "running"
        self._run_project = project
        what = "Resuming the training" if resume else "Training"
        if config is None:
            self._log(f"{what} of “{project.name}”: {self.budget_name} budget ({choice.minutes:g} min), "
                      f"device {choice.device}, {choice.threads} CPU thread{'s' if choice.threads != 1 else ''}")
        else:
            self._log(f"{what} of “{project.name}” with a given configuration")
        self.stage_label.setText("Starting… (loading the trainer)")
        worker = TrainWorker(project, config if config is not None else choice, resume, self)
        worker.stage.connect(self._on_stage)
        worker.progress.connect(self._on_progress)
        worker.loss.connect(self._on_loss)
        worker.preview.connect(self._on_preview)
        worker.checkpoint.connect(self._on_checkpoint)
        worker.finished.connect(self._on_finished)
        worker.failed.connect(self._on_failed)
        worker.published.connect(self._on_published)
        worker.ended.connect(self._on_ended)
        self._worker = worker
        self._update_state()
        worker.start()
        self.ctx.status.emit(f"Training “{project.name}”…")
        self.run_started.emit()
        return True

    # ------------------------------------------------------------------ worker signals
    def _on_stage(self, stage: str, fraction: float, message: str) -> None:
        if stage == "base":
            if not self._base_running:
                self._base_running = True
                self._log(f"preparing the base model (once per machine; measured: "
                          f"{locations.BASE_PREPARATION_TIME})")
                self._set_badge("preparing", "warn")
                self.base_progress.show()
            self.base_progress.setValue(int(round(min(1.0, max(0.0, fraction)) * PROGRESS_STEPS)))
            self.base_label.setText(message)
            self.stage_label.setText("Preparing the base model (once per machine)…")
            if fraction >= 1.0:
                self._log(message)
            return
        if self._base_running:  # any later stage means the base is ready
            self._base_running = False
            self.base_progress.hide()
            self._show_base_state()
        if stage == "consent":
            self.stage_label.setText("Checking the speaker's consent statement…")
            self._log(message)
        elif stage == "data":
            self.stage_label.setText(f"Checking takes: {message}")
            if not message.startswith("checked take"):
                self._log(message)
        elif stage == "publish":
            self.stage_label.setText(f"Publishing the voice: {message}…")
            self._log(message)
        else:
            self._log(message)

    def _on_progress(self, step: int, fraction: float, elapsed_s: float, eta_s) -> None:
        value = int(round(min(1.0, max(0.0, fraction)) * PROGRESS_STEPS))
        self.progress_bar.setValue(value)
        self.progress_bar.setFormat(f"%p %  ·  step {step}  ·  {_time_left(eta_s)}")
        loss = f"  ·  mel L1 {self._last_mel:.3f}" if self._last_mel is not None else ""
        self.stage_label.setText(f"Training  ·  step {step}  ·  {_clock(elapsed_s)} elapsed{loss}")

    def _on_loss(self, step: int, total: float, mel_l1: float, _kl: float) -> None:
        self._last_mel = mel_l1
        self.loss_plot.add_loss(step, total, mel_l1)

    def _on_preview(self, step: int, path: str, similarity, quality=None) -> None:
        if similarity is not None:
            self.similarity_plot.add_score(step, similarity)
        if quality is not None:
            self.quality_plot.add_score(step, quality)
        row = PreviewRow(step, Path(path), similarity, quality)
        row.play_button.clicked.connect(lambda _=False, p=Path(path): self.play_preview(p))
        item = QListWidgetItem()
        item.setSizeHint(row.sizeHint())
        self.previews.insertItem(0, item)  # newest first
        self.previews.setItemWidget(item, row)
        self._log(f"step {step}: preview {Path(path).name}, {_scores(similarity, quality)}")

    def _on_checkpoint(self, step: int, path: str, best: bool) -> None:
        if best:
            self._log(f"step {step}: best so far (kept in {Path(path).name})")
        else:
            self._log(f"step {step}: checkpoint saved (a run can resume from here)")

    def _on_finished(self, best_step: int, similarity, cancelled: bool, steps: int) -> None:
        self._outcome = "cancelled" if cancelled else "finished"
        if cancelled:
            if steps == 0:
                self.stage_label.setText("Cancelled before the first step.")
                self.message.show_message("Training cancelled before the first step; no voice was made.", "info")
                self._log("cancelled before the first step")
                return
            self._publishing = self._worker is not None and self._worker.publishes_after_cancel
            self._log(f"training cancelled after {steps} steps; best at step {best_step} "
                      f"(similarity {_score(similarity)})")
            self.stage_label.setText(f"Cancelled at step {steps}; publishing the best so far…")
            self.message.show_message(f"Training cancelled at step {steps}. The best so far (step {best_step}) "
                                      "is being published; Resume continues the training.", "info")
        else:
            self._publishing = True
            self.progress_bar.setValue(PROGRESS_STEPS)
            self.progress_bar.setFormat(f"%p %  ·  step {steps}  ·  done")
            self._log(f"training finished after {steps} steps; best at step {best_step} "
                      f"(similarity {_score(similarity)})")
            self.stage_label.setText(f"Finished {steps} steps; publishing the voice…")
        self._update_state()

    def _on_failed(self, message: str, refusal=None) -> None:
        self._outcome = "failed"
        self._refusal = refusal if self._run_project is self.ctx.project else None
        self.message.error(refusal_text(refusal) if refusal is not None else message)
        self._log(f"failed: {message}")
        self.stage_label.setText("Training stopped: see the message above.")

    def _on_published(self, published) -> None:
        self._published = published
        entry = published.entry
        project = self._run_project
        where = published.path.parent
        self._log(f"voice “{entry.name}” saved in {where}")
        c = published.calibration
        self._log(f"prosody calibration: pitch {c.pitch_shift_st:+.2f} st, range ×{c.range_scale:.2f}, "
                  f"length scale {c.length_scale:.2f}")
        lead = "Cancelled, but the best so far is" if self._outcome == "cancelled" else "Your voice is"
        self.message.show_message(
            f"{lead} ready: “{entry.name}” (similarity {_score(entry.similarity)}), saved in {where}. "
            f"Pick it in Synthesize & Customize.", "ok")
        self.stage_label.setText(f"Voice “{entry.name}” published.")
        self.ctx.voices_changed.emit()
        if project is not None:
            self.ctx.status.emit(f"New voice “{entry.name}” in project “{project.name}”")

    def _on_ended(self) -> None:
        worker, self._worker = self._worker, None
        if worker is not None:
            worker.deleteLater()
        if self._outcome == "running":  # ended without a verdict (should not happen): say so
            self._outcome = "failed"
            self.message.error("Training stopped without a result; see the log.")
        self._cancelling = False
        self._publishing = False
        self._base_running = False
        self.base_progress.hide()
        self._run_project = None
        self._update_state()
        self.loss_plot.redraw()
        self.similarity_plot.redraw()
        self.quality_plot.redraw()
        self.run_ended.emit(self._outcome)

    # ------------------------------------------------------------------ previews, log
    def play_preview(self, path: Path) -> None:
        """Play a preview WAV through the shared player; problems show inline."""
        from voicestudio.audio.io import read_audio

        try:
            audio = read_audio(path)
            self.ctx.play(audio.samples, audio.sample_rate)
        except VoiceStudioError as exc:
            self.message.error(f"Cannot play {Path(path).name}: {exc}")

    def preview_rows(self) -> list[PreviewRow]:
        return [self.previews.itemWidget(self.previews.item(i)) for i in range(self.previews.count())]

    def _clear_run_views(self) -> None:
        self.loss_plot.clear_points()
        self.similarity_plot.clear_points()
        self.quality_plot.clear_points()
        self.previews.clear()
        self.progress_bar.setValue(0)
        self.progress_bar.setFormat("%p %")
        self._last_mel = None

    def _log(self, text: str) -> None:
        self.log.appendPlainText(f"{time.strftime('%H:%M:%S')}  {text}")

    # ------------------------------------------------------------------ shutdown
    def shutdown(self) -> None:
        """Cancel a run and wait for its thread (the trainer keeps the best so far and its
        state, so Resume continues it next time); stop the probe and the plot timers. Safe
        to call twice."""
        self._shut_down = True
        worker = self._worker
        if worker is not None:
            worker.cancel(publish=False)  # closing: keep the checkpoints for Resume, do not make the user wait
            worker.wait()
        task = self._consent_task
        if task is not None:  # a statement being checked: nothing was stored yet, so stop it
            task.cancel()  # checked between takes; the recognizer's few seconds run to their end
            task.wait(120_000)
        if self._probe is not None:
            self._probe.stop()
        self.loss_plot.stop()
        self.similarity_plot.stop()
        self.quality_plot.stop()
