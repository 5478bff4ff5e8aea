"""One training run from start to finish: train, then publish the voice.

``voicestudio train`` and the Train panel both run :func:`train_and_publish`, so they end
a run the same way:

- a run that ends normally publishes its best checkpoint;
- a cancelled run that trained at least one step publishes its best so far, unless the
  caller said not to (``RunControl.cancel(publish=False)``: the app is closing); the
  checkpoints stay either way, so Resume continues the training;
- a run cancelled before its first step (before it began, or while the base was prepared)
  publishes nothing;
- every error a person can act on is announced by a :class:`Failed` event, then raised.

Ctrl-C in the terminal is no cancel: the KeyboardInterrupt passes through, and the last
checkpoint stays for ``--resume`` (the CLI says so).
"""

from __future__ import annotations

from collections.abc import Callable

from voicestudio.errors import VoiceStudioError
from voicestudio.project.project import VoiceProject
from voicestudio.safety.consent import ConsentError
from voicestudio.training.base import TrainingCancelled
from voicestudio.training.control import RunControl
from voicestudio.training.events import Event, Failed, Finished, Published
from voicestudio.training.finetune import TrainConfig, Trainer
from voicestudio.training.publish import PublishedVoice, publish


def train_and_publish(project: VoiceProject, config: TrainConfig,
                      on_event: Callable[[Event], None] | None = None, *, resume: bool = False,
                      control: RunControl | None = None) -> PublishedVoice | None:
    """Train ``project`` (``resume``: from its saved state) and publish the voice; every
    event, publishing's included, goes to ``on_event``. The published voice, or None when
    nothing was published (see the module docstring)."""
    emit = on_event or (lambda event: None)
    control = control or RunControl()
    if control.cancelled:  # before it began
        emit(Finished(0, None, True, 0))
        return None
    trainer = Trainer(project, config, emit, stop=control.stop)
    try:
        result = trainer.run(resume=resume)
    except TrainingCancelled:  # during the base preparation: nothing trained
        emit(Finished(0, None, True, 0))
        return None
    if result.cancelled and (result.steps == 0 or not control.publish_after_cancel):
        return None
    try:
        published = publish(project, result, config, emit)
    except VoiceStudioError as exc:
        refusal = exc.refusal if isinstance(exc, ConsentError) else None  # the panel's buttons
        emit(Failed(f"training finished, but the voice could not be published: {exc}", refusal))
        raise
    emit(Published(published))
    return published
