"""The Train panel's state and what it shows for each training event, without Qt.

The panel forwards its actions (start, cancel, shut down, another project) and the
worker's events (``training.events``) here; each answer is a :class:`Shown`, what changes
on screen, which the panel applies to its widgets. Where a run is stands in one
:class:`TrainState`; the rest is data (the last loss, the published voice, a refusal).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from typing import TYPE_CHECKING

from voicestudio.gui.controllers.messages import Level
from voicestudio.project import selection
from voicestudio.training import locations
from voicestudio.training.events import (
    CheckpointSaved,
    Event,
    Failed,
    Finished,
    Loss,
    Notice,
    PreviewReady,
    Progress,
    Published,
    Publishing,
    Stage,
    StageKind,
)

if TYPE_CHECKING:
    from voicestudio.safety.consent import ConsentRefusal
    from voicestudio.training.publish import PublishedVoice

#: Time budgets offered (minutes). Quick is the CLI's default; Studio is where the
#: feasibility run reached similarity 0.85 (docs/architecture.md, "The speaker model").
QUICK_MINUTES = 5
STUDIO_MINUTES = 30


NO_PROJECT_HINT = "Open or create a voice project (File menu) to train a voice from its takes."


class Budget(Enum):
    """The time budgets offered; CUSTOM takes the user's minutes."""

    QUICK = "quick"
    STUDIO = "studio"
    CUSTOM = "custom"

    def minutes(self, custom: float) -> float:
        return {Budget.QUICK: QUICK_MINUTES, Budget.STUDIO: STUDIO_MINUTES}.get(self, custom)


@dataclass(frozen=True)
class TrainChoice:
    """What the user chose in the panel; the worker makes it a ``TrainConfig`` inside its
    thread (building one in the GUI thread would import torch)."""

    minutes: float = 5.0
    device: str = "auto"  # auto | cpu | cuda (TrainConfig.device)
    threads: int | None = None


class TrainState(StrEnum):
    """Where the panel's run is. The outcomes' values (finished, cancelled, failed) are what
    the panel's ``run_ended`` signal carries."""

    IDLE = "idle"  # no run yet for this project
    RUNNING = "running"
    CANCELLING = "cancelling"  # asked to stop after the current step
    PUBLISHING = "publishing"  # training finished; the voice is being published
    PUBLISHING_BEST = "publishing the best so far"  # cancelled after some steps
    FINISHED = "finished"
    CANCELLED = "cancelled"
    FAILED = "failed"
    CLOSED = "closed"  # the panel shut down: nothing starts, late events are ignored

    @property
    def is_outcome(self) -> bool:
        return self in (TrainState.FINISHED, TrainState.CANCELLED, TrainState.FAILED)


@dataclass(frozen=True)
class Message:
    """The panel's inline message; empty text hides it."""

    text: str
    level: Level = Level.INFO


CLEARED = Message("")


@dataclass(frozen=True)
class BaseStep:
    """The base-model box while a preparation runs: its progress and what it is doing."""

    fraction: float
    text: str


@dataclass
class Shown:
    """What one action or event changes on screen; None and empty: unchanged."""

    clear: bool = False  # a new run: plots, previews and the progress bar start empty
    status: str | None = None  # the line above the progress bar
    progress: tuple[float, str] | None = None  # the bar's fraction and its words
    base: BaseStep | None = None
    base_done: bool = False  # no preparation runs (any more): the box shows the base's state
    log: list[str] = field(default_factory=list)
    loss: Loss | None = None  # a point for the loss plot
    preview: PreviewReady | None = None  # a row to play and points for the score plots
    message: Message | None = None
    status_bar: str | None = None  # the window's status bar
    published: PublishedVoice | None = None  # a new voice in the project


class TrainController:
    """The Train panel's logic (see the module docstring)."""

    def __init__(self) -> None:
        self.state = TrainState.IDLE
        self.stage: StageKind | None = None  # the stage the run is in
        self.project = None  # the open project
        self.run_project = None  # the project the run trains (the user may switch meanwhile)
        self.refusal: ConsentRefusal | None = None  # the gate's, for the open project
        self.published: PublishedVoice | None = None  # the last run's voice
        self.finished: Finished | None = None  # how the last run's training ended
        self.last_mel: float | None = None

    @property
    def busy(self) -> bool:
        """A run's thread is going (from ``start`` until ``ended``)."""
        return self.run_project is not None and self.state is not TrainState.CLOSED

    @property
    def cancellable(self) -> bool:
        return self.busy and self.state is TrainState.RUNNING

    # ------------------------------------------------------------------ actions
    def start(self, project, resume: bool, budget: Budget | None,
              choice: TrainChoice | None) -> Shown:
        """A run of ``project`` begins (``budget`` and ``choice`` None: a given configuration)."""
        self.state, self.stage = TrainState.RUNNING, None
        self.run_project, self.published, self.finished, self.last_mel = project, None, None, None
        what = "Resuming the training" if resume else "Training"
        if choice is None:
            line = f"{what} of “{project.name}” with a given configuration"
        else:
            threads = f"{choice.threads} CPU thread{'s' if choice.threads != 1 else ''}"
            line = (f"{what} of “{project.name}”: {budget.value} budget "
                    f"({choice.minutes:g} min), device {choice.device}, {threads}")
        return Shown(clear=True, status="Starting… (loading the trainer)", log=[line],
                     message=CLEARED, status_bar=f"Training “{project.name}”…")

    def cancel(self) -> Shown | None:
        """The user asked to stop; None when there is nothing to stop (or it was asked)."""
        if not self.cancellable:
            return None
        self.state = TrainState.CANCELLING
        return Shown(status="Cancelling after the current step…",
                     log=["cancel asked: stopping after the current step (the best so far is "
                          "kept)"])

    def close(self) -> None:
        """The panel shuts down: whatever arrives later is ignored."""
        self.state = TrainState.CLOSED

    def open_project(self, project) -> Shown:
        """Another project is open; its views start empty unless a run is going."""
        self.project, self.refusal = project, None
        if self.busy or self.state is TrainState.CLOSED:
            return Shown()
        self.state, self.published = TrainState.IDLE, None
        status = "Not started." if project is not None else ""
        return Shown(clear=True, message=CLEARED, status=status)

    def statement_stored(self) -> None:
        """A consent statement passed and was stored: the last refusal no longer holds."""
        self.refusal = None

    def ended(self) -> Shown:
        """The run's thread stopped; ``state`` is then its outcome."""
        shown = Shown(base_done=True)
        if self.state is TrainState.CLOSED:
            return shown
        if not self.state.is_outcome:  # ended without a verdict (should not happen): say so
            self.state = TrainState.FAILED
            shown.message = Message("Training stopped without a result; see the log.", Level.ERROR)
        self.run_project, self.stage = None, None
        return shown

    # ------------------------------------------------------------------ events
    def handle(self, event: Event) -> Shown:
        """What ``event`` changes on screen."""
        shown = Shown()
        if self.state is TrainState.CLOSED:
            return shown
        self._enter(event, shown)
        if isinstance(event, Stage):
            self._on_stage(event, shown)
        elif isinstance(event, Notice):
            self._on_notice(event, shown)
        elif isinstance(event, Loss):
            self.last_mel, shown.loss = event.mel_l1, event
        elif isinstance(event, Progress):
            self._on_progress(event, shown)
        elif isinstance(event, PreviewReady):
            shown.preview = event
            shown.log.append(f"step {event.step}: preview {event.path.name}, "
                             f"{scores(event.similarity, event.quality)}")
        elif isinstance(event, CheckpointSaved):
            shown.log.append(f"step {event.step}: best so far (kept in {event.path.name})"
                             if event.best else
                             f"step {event.step}: checkpoint saved (a run can resume from here)")
        elif isinstance(event, Finished):
            self._on_finished(event, shown)
        elif isinstance(event, Failed):
            self._on_failed(event, shown)
        elif isinstance(event, Published):
            self._on_published(event.voice, shown)
        return shown

    def _enter(self, event: Event, shown: Shown) -> None:
        """A stage begins: the base step shows a preparation, or stops showing one."""
        stage = event.stage
        if stage is None or stage is self.stage:
            return
        if self.stage is StageKind.BASE:
            shown.base_done = True
        if stage is StageKind.BASE:
            shown.log.append("preparing the base model (once per machine; measured: "
                             f"{locations.BASE_PREPARATION_TIME})")
        elif isinstance(event, Stage):  # the sentence that opens a stage goes in the log
            shown.log.append(event.message)
        self.stage = stage

    def _on_stage(self, event: Stage, shown: Shown) -> None:
        shown.status = _stage_status(event.kind, event.message)
        if event.kind is StageKind.BASE:
            shown.base = BaseStep(min(1.0, max(0.0, event.fraction)), event.message)
            if event.fraction >= 1.0:  # a preparation's part is done (base, critic, high base)
                shown.log.append(event.message)

    def _on_notice(self, event: Notice, shown: Shown) -> None:
        shown.log.append(event.message)
        shown.status = _stage_status(event.stage, event.message)
        if isinstance(event, Publishing) and self.state is TrainState.CANCELLED:
            self.state = TrainState.PUBLISHING_BEST  # a cancelled run's best so far
            done = self.finished
            shown.message = Message(f"Training cancelled at step {done.steps}. The best so far "
                                    f"(step {done.best_step}) is being published; Resume "
                                    "continues the training.")

    def _on_progress(self, event: Progress, shown: Shown) -> None:
        shown.progress = (event.fraction, f"step {event.step}  ·  {time_left(event.eta_s)}")
        loss = f"  ·  mel L1 {self.last_mel:.3f}" if self.last_mel is not None else ""
        shown.status = f"Training  ·  step {event.step}  ·  {clock(event.elapsed_s)} elapsed{loss}"

    def _on_finished(self, event: Finished, shown: Shown) -> None:
        self.finished, steps = event, event.steps
        best = f"best at step {event.best_step} (similarity {score(event.similarity)})"
        if not event.cancelled:  # a run that ends normally is always published
            self.state = TrainState.PUBLISHING
            shown.progress = (1.0, f"step {steps}  ·  done")
            shown.log.append(f"training finished after {steps} steps; {best}")
            shown.status = f"Finished {steps} steps; publishing the voice…"
            return
        self.state = TrainState.CANCELLED
        if steps == 0:
            shown.status = "Cancelled before the first step."
            shown.message = Message("Training cancelled before the first step; no voice was made.")
            shown.log.append("cancelled before the first step")
            return
        shown.log.append(f"training cancelled after {steps} steps; {best}")
        shown.status = f"Cancelled at step {steps}."
        shown.message = Message(f"Training cancelled at step {steps}; Resume continues the "
                                "training.")

    def _on_failed(self, event: Failed, shown: Shown) -> None:
        if self.state is TrainState.FAILED:  # said once
            return
        self.state = TrainState.FAILED
        self.refusal = event.refusal if self.run_project is self.project else None
        text = refusal_text(event.refusal) if event.refusal is not None else event.message
        shown.message = Message(text[:1].upper() + text[1:], Level.ERROR)
        shown.log.append(f"failed: {event.message}")
        shown.status = "Training stopped: see the message above."

    def _on_published(self, published: PublishedVoice, shown: Shown) -> None:
        cancelled = self.state is TrainState.PUBLISHING_BEST
        self.state = TrainState.CANCELLED if cancelled else TrainState.FINISHED
        self.published, entry, where = published, published.entry, published.path.parent
        c = published.calibration
        shown.log += [f"voice “{entry.name}” saved in {where}",
                      f"prosody calibration: pitch {c.pitch_shift_st:+.2f} st, range "
                      f"×{c.range_scale:.2f}, length scale {c.length_scale:.2f}"]
        lead = "Cancelled, but the best so far is" if cancelled else "Your voice is"
        shown.message = Message(f"{lead} ready: “{entry.name}” (similarity "
                                f"{score(entry.similarity)}), saved in {where}. Pick it in "
                                "Synthesize & Customize.", Level.OK)
        shown.status = f"Voice “{entry.name}” published."
        shown.published = published
        if self.run_project is not None:
            shown.status_bar = f"New voice “{entry.name}” in project “{self.run_project.name}”"


def _stage_status(stage: StageKind | None, message: str) -> str | None:
    """The status line during a stage (the training's is its progress)."""
    return {
        StageKind.CONSENT: "Checking the speaker's consent statement…",
        StageKind.BASE: "Preparing the base model (once per machine)…",
        StageKind.DATA: f"Checking takes: {message}",
        StageKind.PUBLISH: f"Publishing the voice: {message}…",
    }.get(stage)


# ----------------------------------------------------------------------------- words
def describe_project(project) -> str:
    """The panel's line about the open project: its takes, voices and consent statement."""
    if project is None:
        return NO_PROJECT_HINT
    summary = project.summary()
    takes = len(selection.takes_that_train(project))
    voices = len(project.voices)
    trained = f"; {voices} trained voice{'s' if voices != 1 else ''}" if voices else ""
    if selection.is_statement_recorded(project):
        gate = "Consent statement recorded; it is compared with the takes when training starts."
    else:
        where = prompt_place(selection.consent_prompt(project))
        gate = (f"No consent statement recorded yet: training needs the speaker to read it first "
                f"({where}), or a recording of them reading it.")
    return (f"Project “{project.name}”: {takes} take{'s' if takes != 1 else ''} to train on "
            f"({summary.minutes:.1f} min recorded){trained}. {gate}")


def clock(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    if seconds >= 3600:
        return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
    return f"{seconds // 60}:{seconds % 60:02d}"


def time_left(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds):
        return "estimating time left"
    if seconds < 60:
        return f"{max(1, int(round(seconds)))} s left"
    return f"about {int(round(seconds / 60))} min left"


def sentence(text: str) -> str:
    """An engine message (lower case, no full stop: the CLI prints it after "error:") as a
    sentence."""
    text = text.strip()
    return text[:1].upper() + text[1:] + ("" if text.endswith((".", "!", "?")) else ".")


def score(similarity: float | None) -> str:
    return f"{similarity:.3f}" if similarity is not None else "not measured"


def scores(similarity: float | None, quality: float | None) -> str:
    quality_words = f"  ·  quality {quality:.2f}" if quality is not None else ""
    return f"similarity {score(similarity)}{quality_words}"


def record_button_text(refusal: ConsentRefusal | None) -> str:
    """The Record button's words: "again" when the gate refused a statement that exists."""
    again = refusal is not None and refusal.remedy is not None and refusal.remedy.again
    return "Record the statement again" if again else "Record the statement now"


def refusal_text(refusal: ConsentRefusal) -> str:
    """A consent refusal in the panel's words: the reason, then the buttons below rather
    than terminal commands."""
    text = sentence(refusal.reason)
    remedy = refusal.remedy
    if remedy is None:
        return text
    advice = f", {remedy.advice}" if remedy.advice else ""
    return (f"{text} Use “{record_button_text(refusal)}” below ({prompt_place(remedy.index)}"
            f"{advice}) or “Add a recording of it…” for a recording made elsewhere.")


def prompt_place(index: int | None) -> str:
    """Where the statement is recorded: its prompt in Record, or a new one."""
    return f"prompt {index + 1} in Record" if index is not None else "a new prompt in Record"
