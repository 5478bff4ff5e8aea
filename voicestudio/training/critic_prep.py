"""A discriminator prepared once per machine, so a fine-tune does not start against a random one
(``TrainConfig.prepared_critic``).

A fresh critic needs tens of steps before its verdicts mean anything, and in a 5-minute
budget those steps are a large share (``adv_after_steps`` waits 50 of about 270). Prepared
here: the base voice reads script prompts (real speech), and the decoder speaks the same
audio back from the posterior encoder's latents (the fake), which is what the fine-tune's
decoder does at every step; the critic learns to tell the two apart. The file is keyed to
the installed joe weights like the base model, and is rebuilt when they change.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from voicestudio.errors import VoiceStudioError
from voicestudio.training import locations
from voicestudio.training.adversarial import Critic
from voicestudio.training.base import Progress, TrainingCancelled, base_fingerprint
from voicestudio.training.base_corpus import base_utterances
from voicestudio.training.checkpoints import load_state, save_state
from voicestudio.training.features import HOP, linear_spectrogram

CRITIC_FORMAT = 1


@dataclass(frozen=True)
class CriticPrepConfig:
    """How long the critic practises: ``texts`` prompts read by the base voice and
    ``minutes`` of discriminator steps (``steps``, when set, replaces the minutes)."""

    texts: int = 40
    minutes: float = 2.0
    steps: int | None = None
    batch: int = 3
    segment_frames: int = 32
    seed: int = 1234


def critic_path() -> Path:
    return locations.critic_model_path()


def prepared_weights(path: Path | None = None) -> dict | None:
    """The prepared critic's weights, or None when there is none that fits the installed base
    voice (missing, damaged, or made from other joe weights or another format)."""
    path = path or critic_path()
    if not path.is_file():
        return None
    try:
        saved = load_state(path)
    except VoiceStudioError:
        return None
    meta = saved.get("meta")
    if not isinstance(meta, dict) or "model" not in saved:
        return None
    if meta.get("fingerprint") != base_fingerprint() or meta.get("format") != CRITIC_FORMAT:
        return None
    return saved["model"]


def ensure_critic(
    model,
    level_dbfs: float,
    config: CriticPrepConfig | None = None,
    progress: Progress | None = None,
    cancelled: Callable[[], bool] = lambda: False,
    path: Path | None = None,
) -> dict:
    """The prepared critic's weights, preparing them first when there are none."""
    path = path or critic_path()
    weights = prepared_weights(path)
    if weights is None:
        _prepare(
            model,
            level_dbfs,
            config or CriticPrepConfig(),
            progress or (lambda s, f, m: None),
            cancelled,
            path,
        )
        weights = prepared_weights(path)
    if weights is None:  # written a moment ago: only a broken disk gets here
        raise VoiceStudioError(f"the prepared discriminator {path} could not be read back")
    return weights


def _prepare(model, level_dbfs: float, config: CriticPrepConfig, progress: Progress,
             cancelled: Callable[[], bool], path: Path) -> None:
    """Train and save the critic on the base ``model`` (its weights unchanged, left in eval
    mode). Cancelling leaves no file behind."""
    started = time.monotonic()
    progress("critic", 0.0, f"the base voice reads {config.texts} prompts for the discriminator")
    items = base_utterances(model, config.texts, level_dbfs, seed=config.seed)
    frames = config.segment_frames
    clips = []  # (audio, posterior means, posterior log-scales) of each long-enough reading
    model.eval()  # as load_base gives it; the trainer sets its own modes before the loop
    with torch.no_grad():
        for item in items:
            audio = torch.from_numpy(item.audio[: len(item.audio) // HOP * HOP].copy())
            spec = linear_spectrogram(audio[None])
            if spec.shape[-1] < frames:
                continue
            _z, m_q, logs_q, _mask = model.enc_q(spec, torch.tensor([spec.shape[-1]]))
            clips.append((audio, m_q[0], logs_q[0]))
    if not clips:
        raise VoiceStudioError("the base voice's readings are too short to prepare a discriminator")
    critic = Critic(torch.device("cpu"))
    rng = random.Random(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    loop_started = time.monotonic()
    loss = float("nan")
    while True:
        step = critic.steps
        fraction = (
            step / config.steps
            if config.steps
            else (time.monotonic() - loop_started) / (config.minutes * 60)
        )
        if fraction >= 1.0:
            break
        if cancelled():
            raise TrainingCancelled("discriminator preparation cancelled")
        real, fake = [], []
        for _ in range(config.batch):
            audio, m_q, logs_q = rng.choice(clips)
            start = rng.randint(0, m_q.shape[-1] - frames)
            mean, scale = m_q[:, start:start + frames], torch.exp(logs_q[:, start:start + frames])
            z = mean + torch.randn(mean.shape, generator=generator) * scale
            with torch.no_grad():
                fake.append(model.dec(z[None])[0])
            real.append(audio[None, start * HOP:(start + frames) * HOP])
        loss = critic.learn(torch.stack(real), torch.stack(fake))
        if critic.steps % 10 == 0 or critic.steps == 1:
            progress(
                "critic", min(1.0, fraction), f"discriminator step {critic.steps}: loss {loss:.3f}"
            )
    meta = {
        "format": CRITIC_FORMAT,
        "fingerprint": base_fingerprint(),
        "steps": critic.steps,
        "loss": loss,
        "texts": len(items),
        "seconds": time.monotonic() - started,
        "config": json.dumps(asdict(config)),
    }
    save_state(path, {"model": critic.model.state_dict(), "meta": meta})
    progress("critic", 1.0, f"discriminator ready ({critic.steps} steps, {meta['seconds']:.0f} s)")
