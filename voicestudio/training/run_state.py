"""What a fine-tuning run carries from step to step and saves in its checkpoints, and the
schedule of its evaluations and checkpoints.

``state.pt`` (resumable) holds the model, the optimizer, the step, the training time, the
best evaluation so far, the data's fingerprint (a resumed run must train on the same
takes) and, when they are on, the weight average and the critic. ``best.pt`` holds the
kept weights (the average's, when on) with their score and the run's configuration.
"""

from __future__ import annotations

import contextlib
import random
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch

from voicestudio.training.checkpoint_choice import BestSoFar

if TYPE_CHECKING:
    from voicestudio.training.adversarial import Critic

CHECKPOINT_FORMAT = 1


class Every:
    """Due every ``steps`` steps when set, otherwise every ``seconds`` (evaluations and
    checkpoints: a GPU makes many steps a minute, a CPU few; tests count steps)."""

    def __init__(self, seconds: float, steps: int | None, step: int = 0) -> None:
        self.seconds, self.steps = seconds, steps
        self.last_step, self.last_time = step, time.monotonic()

    def due(self, step: int, now: float) -> bool:
        if self.steps:
            return step - self.last_step >= self.steps
        return now - self.last_time >= self.seconds

    def done(self, step: int) -> None:
        self.last_step, self.last_time = step, time.monotonic()


@dataclass
class RunState:
    """A run's learning state. ``elapsed_s()`` counts training time only: earlier sessions'
    (``elapsed_before_s``, from a resumed state) plus this session's since ``started``."""

    model: Any  # the VITS SynthesizerTrn being fine-tuned
    optimizer: torch.optim.Optimizer
    fingerprint: str  # TrainingData.fingerprint() of what it trains on
    best: BestSoFar
    rng: random.Random  # draws the batches; reseeded with the step on resume
    step: int = 0
    elapsed_before_s: float = 0.0
    started: float = field(default_factory=time.monotonic)
    average: WeightAverage | None = None
    critic: Critic | None = None

    def elapsed_s(self) -> float:
        return self.elapsed_before_s + time.monotonic() - self.started

    def checkpoint(self) -> dict[str, Any]:
        """What ``state.pt`` holds (see the module docstring)."""
        return {
            "format": CHECKPOINT_FORMAT,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "step": self.step,
            "elapsed_s": self.elapsed_s(),
            **self.best.to_state(),
            "data_fingerprint": self.fingerprint,
            **({"ema": self.average.shadow} if self.average is not None else {}),
            **({"critic": self.critic.state()} if self.critic is not None else {}),
        }

    def kept(self, config_json: str) -> dict[str, Any]:
        """What ``best.pt`` holds: the model as it is now (call it with the average applied)."""
        return {
            "format": CHECKPOINT_FORMAT,
            "model": self.model.state_dict(),
            "step": self.step,
            "score": self.best.similarity,
            "data_fingerprint": self.fingerprint,
            "config": config_json,
        }

    def averaged(self):
        """A ``with`` block in which the model holds the weight average (when on)."""
        if self.average is None:
            return contextlib.nullcontext()
        return self.average.applied(self.model)


class WeightAverage:
    """An exponential moving average of a model's learning parameters
    (``TrainConfig.ema_decay``)."""

    def __init__(self, model, decay: float, shadow: dict[str, torch.Tensor] | None = None) -> None:
        self.decay = float(decay)
        params = dict(model.named_parameters())
        self.names = [n for n, p in params.items() if p.requires_grad]
        if shadow is not None and set(shadow) == set(self.names):
            self.shadow = {n: shadow[n].detach().clone().to(params[n].device) for n in self.names}
        else:
            self.shadow = {n: params[n].detach().clone() for n in self.names}

    def update(self, model) -> None:
        params = dict(model.named_parameters())
        with torch.no_grad():
            for name in self.names:
                shadow = self.shadow[name].mul_(self.decay)
                shadow.add_(params[name].detach(), alpha=1.0 - self.decay)

    @contextlib.contextmanager
    def applied(self, model):
        """The average in the model's parameters for the ``with`` block, then the trained
        ones back."""
        params = dict(model.named_parameters())
        kept = {n: params[n].detach().clone() for n in self.names}
        with torch.no_grad():
            for name in self.names:
                params[name].copy_(self.shadow[name])
        try:
            yield
        finally:
            with torch.no_grad():
                for name in self.names:
                    params[name].copy_(kept[name])
