"""What a training run reports, as types: the trainer, ``train_and_publish`` and both front
ends (``voicestudio train`` and the Train panel) share them.

Imports neither torch nor Qt, so the GUI process can hold and dispatch on these events
without loading the trainer. Every event says in words what happened (``message``, or the
front end words it from the fields), but no front end reads those words to decide
anything: it dispatches on the event's type and its Enum fields.

- :class:`Stage`: progress within a stage (a bar's fraction and what is being done).
- :class:`Notice` and its kinds: a fact worth a line in the log (a take left out, the data
  ready, a resumed run, publishing steps).
- :class:`Progress`, :class:`Loss`, :class:`PreviewReady`, :class:`CheckpointSaved`: the
  training loop.
- :class:`Finished`, :class:`Failed`, :class:`Published`: how the run ended.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:  # annotations only: these modules are not needed to hold the events
    from voicestudio.safety.consent import ConsentCheck, ConsentRefusal
    from voicestudio.training.dataset import Exclusion, ExclusionReason
    from voicestudio.training.publish import PublishedVoice


class StageKind(Enum):
    """The stages of a run, in their order."""

    CONSENT = "consent"  # the speaker's statement, checked before anything slow
    BASE = "base"  # the base model (and what else is prepared once per machine)
    DATA = "data"  # the takes, checked and screened before the first step
    TRAIN = "train"
    PUBLISH = "publish"  # export, calibration and registration of the voice


class PublishStep(Enum):
    """The steps of publishing a trained voice."""

    CONSENT = "consent"  # the statement against the takes the voice was trained on
    EXPORT = "export"
    CALIBRATION = "calibration"  # the speaker's pitch and pace against the voice's


@dataclass(frozen=True)
class Event:
    """Base of all training events. ``stage``: the stage it belongs to (None: the run as a
    whole)."""

    stage: ClassVar[StageKind | None] = None


# ----------------------------------------------------------------------------- stages
@dataclass(frozen=True)
class Stage(Event):
    """Progress within a stage: ``fraction`` of it done, ``message`` what is being done."""

    kind: StageKind
    fraction: float
    message: str

    @property
    def stage(self) -> StageKind:  # type: ignore[override]
        return self.kind


# ----------------------------------------------------------------------------- notices
@dataclass(frozen=True)
class Notice(Event):
    """A fact worth one line in a log; ``message`` is its sentence, its kind's ``template``
    filled from its fields."""

    template: ClassVar[str] = ""

    @property
    def message(self) -> str:
        return self.template.format(self=self)


@dataclass(frozen=True)
class ConsentChecked(Notice):
    """The consent statement compared with the takes (``safety.consent.ConsentCheck``, in
    short): the statement's take, its similarity to the takes and the threshold it needs,
    how many takes are someone else's, and the check's own sentence (``text``)."""

    template: ClassVar[str] = "{self.text}"
    take: str
    similarity: float
    threshold: float
    reference_takes: int
    foreign_takes: int
    text: str

    @classmethod
    def of(cls, check: ConsentCheck):
        return cls(check.take, check.similarity, check.threshold, check.reference_takes,
                   len(check.left_out), check.describe())


@dataclass(frozen=True)
class ConsentVerified(ConsentChecked):
    """The gate passed: the statement is the speaker's (before anything slow)."""

    stage: ClassVar[StageKind] = StageKind.CONSENT


@dataclass(frozen=True)
class TakesScreened(ConsentChecked):
    """Every take that passed the data checks was compared with the statement; takes that
    are someone else's are left out (each also as a :class:`TakeLeftOut`)."""

    stage: ClassVar[StageKind] = StageKind.DATA


@dataclass(frozen=True)
class TakeLeftOut(Notice):
    """A take that cannot help, left out of training (``training.dataset.Exclusion``):
    ``detail`` says what is wrong and what to do, ``text`` the exclusion's own sentence."""

    stage: ClassVar[StageKind] = StageKind.DATA
    template: ClassVar[str] = "{self.text}"
    take: str
    reason: ExclusionReason
    detail: str
    text: str

    @classmethod
    def of(cls, exclusion: Exclusion):
        return cls(exclusion.take, exclusion.reason, exclusion.detail, exclusion.describe())


@dataclass(frozen=True)
class DataReady(Notice):
    """The takes that train, and their speech in seconds."""

    stage: ClassVar[StageKind] = StageKind.DATA
    template: ClassVar[str] = "{self.takes} takes, {self.minutes:.1f} min of speech"
    takes: int
    seconds: float

    @property
    def minutes(self) -> float:
        return self.seconds / 60


@dataclass(frozen=True)
class HighBaseChosen(Notice):
    """The speaker's median pitch is above ``threshold_hz``: the run starts from the high base."""

    stage: ClassVar[StageKind] = StageKind.DATA
    template: ClassVar[str] = ("the speaker's pitch ({self.f0_hz:.0f} Hz) is above "
                               "{self.threshold_hz:g} Hz: starting from the high base")
    f0_hz: float
    threshold_hz: float


@dataclass(frozen=True)
class BaseVoiceMixedIn(Notice):
    """Mixed fine-tuning: the base voice reads ``prompts`` script prompts to train beside."""

    stage: ClassVar[StageKind] = StageKind.DATA
    template: ClassVar[str] = "the base voice reads {self.prompts} prompts to train beside"
    prompts: int


@dataclass(frozen=True)
class Resumed(Notice):
    """A run continued from its saved state at ``step``."""

    stage: ClassVar[StageKind] = StageKind.TRAIN
    template: ClassVar[str] = "resumed at step {self.step}"
    step: int


@dataclass(frozen=True)
class ScoreUnavailable(Notice):
    """The speaker-similarity score cannot be measured (its model is missing): the run goes
    on, and every evaluation's similarity is None."""

    stage: ClassVar[StageKind] = StageKind.TRAIN
    template: ClassVar[str] = "similarity score unavailable: {self.reason}"
    reason: str


@dataclass(frozen=True)
class Publishing(Notice):
    """A step of publishing the voice has begun."""

    stage: ClassVar[StageKind] = StageKind.PUBLISH
    step: PublishStep

    @property
    def message(self) -> str:
        return _PUBLISH_STEPS[self.step]


_PUBLISH_STEPS = {
    PublishStep.CONSENT: "checking the speaker's consent statement",
    PublishStep.EXPORT: "exporting the voice to ONNX",
    PublishStep.CALIBRATION: "measuring the speaker's pitch and pace",
}


# ----------------------------------------------------------------------------- the loop
@dataclass(frozen=True)
class Progress(Event):
    """A step done: the run's ``fraction`` (of its steps or its time budget), the training
    time so far and the estimated time left (None until it can be estimated)."""

    stage: ClassVar[StageKind] = StageKind.TRAIN
    step: int
    fraction: float
    elapsed_s: float
    eta_s: float | None


@dataclass(frozen=True)
class Loss(Event):
    stage: ClassVar[StageKind] = StageKind.TRAIN
    step: int
    total: float
    mel_l1: float
    kl: float


@dataclass(frozen=True)
class PreviewReady(Event):
    """An evaluation: the preview file, the validation sentences' mean similarity to the
    speaker and their mean DNSMOS overall quality (None: that score is unavailable)."""

    stage: ClassVar[StageKind] = StageKind.TRAIN
    step: int
    path: Path
    similarity: float | None
    quality: float | None = None


@dataclass(frozen=True)
class CheckpointSaved(Event):
    """``best``: the kept checkpoint (best.pt); otherwise the resumable state (state.pt)."""

    stage: ClassVar[StageKind] = StageKind.TRAIN
    step: int
    path: Path
    best: bool


# ----------------------------------------------------------------------------- the end
@dataclass(frozen=True)
class Finished(Event):
    """Training ended (publishing may follow): ``steps`` trained in all, the kept step and
    its similarity; ``cancelled`` when it stopped early."""

    stage: ClassVar[StageKind] = StageKind.TRAIN
    best_step: int
    similarity: float | None
    cancelled: bool
    steps: int


@dataclass(frozen=True)
class Failed(Event):
    """The run stopped. ``refusal``: the consent gate refused it, with its reason and remedy
    (the GUI then offers its own ways to record or add the statement)."""

    message: str
    refusal: ConsentRefusal | None = None


@dataclass(frozen=True)
class Published(Event):
    """The voice is exported, calibrated and registered in its project."""

    stage: ClassVar[StageKind] = StageKind.PUBLISH
    voice: PublishedVoice
