"""A second base voice in a higher register, for speakers far above the base voice.

joe speaks at about 87 Hz. Fine-tuned on a woman's takes for a few minutes, his decoder learns
her timbre but not her pitch: it still makes joe's pitch from joe's latents, and the prosody
calibration then pushes the output up by about 16 semitones (with WORLD when this was written,
by overlap-add since 2026-12-07), which flattens and roughens the voice. So a high base is
prepared once per machine: joe reads the recording script, WORLD moves each reading up
(:attr:`RegisterConfig.shift_st`, with the formants raised by :attr:`RegisterConfig.formant`),
and the base's decoder learns to make that voice from joe's own latents (known at synthesis, so
this is supervised: no alignment, no prior to match) while its posterior encoder learns to hear
it. A fine-tune of a speaker whose pitch is above :data:`HIGH_VOICE_HZ` starts from this base
(``TrainConfig.register``).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from enum import Enum

import numpy as np
import torch

from voicestudio.constants import MODEL_RATE
from voicestudio.training import locations
from voicestudio.training.base import (
    BaseModelError,
    Progress,
    TrainingCancelled,
    base_fingerprint,
    joe_phoneme_ids,
    load_base,
    script_texts,
    torch_threads,
)
from voicestudio.training.checkpoints import load_state, save_state
from voicestudio.training.features import (
    HOP,
    frame_sync_loss,
    linear_spectrogram,
    mel_spectrogram,
)

#: Above this F0 median (Hz) a speaker starts from the high base: halfway, in semitones,
#: between the base voice (87 Hz) and the high base (174 Hz), about where adult male and
#: female speaking voices part.
HIGH_VOICE_HZ = 125.0


class Register(Enum):
    """Which base a fine-tune starts from."""

    AUTO = "auto"  # by the speaker's measured pitch
    LOW = "low"  # joe as he is
    HIGH = "high"  # the high base (prepared on first use)


@dataclass(frozen=True)
class RegisterConfig:
    shift_st: float = 12.0  # 87 Hz -> 174 Hz
    formant: float = 1.17  # vocal tracts of women are about 15-20 % shorter than men's
    texts: int | None = 120  # script prompts joe reads (about 8 minutes of speech)
    minutes: float = 4.0
    steps: int | None = None
    batch: int = 4
    segment_frames: int = 32
    learning_rate: float = 2e-4
    c_mel: float = 45.0
    c_sync: float = 1.0  # keeps the decoder from the frame-rate buzz a mel loss cannot see
    noise_scale: float = 0.667
    noise_w: float = 0.8
    threads: int | None = None
    seed: int = 1234


def high_base_path():
    return locations.high_base_model_path()


def is_high_base_prepared(path=None) -> bool:
    path = path or high_base_path()
    if not path.is_file():
        return False
    try:
        return load_state(path)["meta"].get("fingerprint") == base_fingerprint()
    except Exception:  # noqa: BLE001 - any unreadable cache is rebuilt
        return False


def raise_register(audio: np.ndarray, shift_st: float, formant: float) -> np.ndarray:
    """joe's reading one register up: F0 × 2^(shift/12), formants × ``formant`` (WORLD)."""
    from voicestudio.styling.world import analyze, synthesize, warp_envelope

    # without folding octave slips: the high base was measured (and is cached) as it was
    analysis = analyze(audio, MODEL_RATE, fold_slips=False)
    f0 = np.where(analysis.f0 > 0, analysis.f0 * 2.0 ** (shift_st / 12.0), 0.0)
    out = synthesize(
        f0, warp_envelope(analysis.sp, formant), analysis.ap, MODEL_RATE, analysis.frame_period_ms
    )
    out = out[: len(audio)]
    if len(out) < len(audio):
        out = np.pad(out, (0, len(audio) - len(out)))
    peak = float(np.max(np.abs(out))) or 1.0
    return (out * min(1.0, 0.95 / peak)).astype(np.float32)


def prepare_high_base(
    config: RegisterConfig | None = None,
    progress: Progress | None = None,
    cancelled: Callable[[], bool] = lambda: False,
    path=None,
):
    """Build and cache the high base from the prepared base (see the module docstring)."""
    config = config or RegisterConfig()
    path = path or high_base_path()
    progress = progress or (lambda stage, fraction, message: None)
    started = time.monotonic()
    torch.manual_seed(config.seed)
    rng = random.Random(config.seed)
    with torch_threads(config.threads):
        model, meta = load_base()
        readings = _high_readings(model, script_texts(config.texts), config, progress, cancelled)
        step, mel_l1 = _learn_high(model, readings, config, rng, progress, cancelled)
        model.eval()
        saved = {**meta, "register": {**asdict(config), "steps": step, "mel_l1": mel_l1},
                 "seconds_register": time.monotonic() - started}
        save_state(path, {"model": model.state_dict(), "meta": saved})
        progress("register", 1.0, f"high base ready ({step} steps, mel L1 {mel_l1:.3f})")
        return path


@dataclass
class _Readings:
    """The base voice's readings a register up: joe's latents with the raised audio, its
    linear spectrogram and mel spectrogram, one entry per prompt."""

    latents: list = field(default_factory=list)
    audios: list = field(default_factory=list)
    specs: list = field(default_factory=list)
    mels: list = field(default_factory=list)


def _high_readings(model, texts: list[str], config: RegisterConfig, progress: Progress,
                   cancelled: Callable[[], bool]) -> _Readings:
    readings = _Readings()
    for i, ids in enumerate(joe_phoneme_ids(texts)):
        if cancelled():
            raise TrainingCancelled("base preparation cancelled")
        with torch.no_grad():
            audio, _attn, _mask, (z, *_rest) = model.infer(
                torch.tensor([ids]), torch.tensor([len(ids)]), noise_scale=config.noise_scale,
                noise_scale_w=config.noise_w)
        frames = audio.shape[-1] // HOP
        high = raise_register(audio[0, 0].numpy(), config.shift_st, config.formant)
        high_t = torch.from_numpy(high[: frames * HOP])
        readings.latents.append(z[0, :, :frames])
        readings.audios.append(high_t)
        readings.specs.append(linear_spectrogram(high_t[None])[0])
        readings.mels.append(mel_spectrogram(high_t[None])[0])
        progress("register", 0.3 * (i + 1) / len(texts),
                 f"joe reads prompt {i + 1} of {len(texts)} a register up")
    return readings


def _learn_high(model, readings: _Readings, config: RegisterConfig, rng: random.Random,
                progress: Progress, cancelled: Callable[[], bool]) -> tuple[int, float]:
    """Train the decoder to speak the raised readings from joe's latents, and the posterior
    encoder to hear them as those latents; (steps, last mel L1)."""
    parts = list(model.dec.parameters()) + list(model.enc_q.parameters())
    optimizer = torch.optim.AdamW(parts, lr=config.learning_rate, betas=(0.8, 0.99), eps=1e-9)
    model.train()
    budget_s = config.minutes * 60.0
    train_started = time.monotonic()
    step, mel_l1 = 0, float("nan")
    seg = config.segment_frames
    usable = [i for i, z in enumerate(readings.latents) if z.shape[-1] > seg]
    while True:
        elapsed = time.monotonic() - train_started
        fraction = step / config.steps if config.steps else elapsed / budget_s
        if fraction >= 1.0:
            return step, mel_l1
        if cancelled():
            raise TrainingCancelled("base preparation cancelled")
        chosen = [rng.choice(usable) for _ in range(config.batch)]
        starts = [rng.randint(0, readings.latents[i].shape[-1] - seg) for i in chosen]
        pairs = list(zip(chosen, starts, strict=True))
        z_b = torch.stack([readings.latents[i][:, s : s + seg] for i, s in pairs])
        y_b = torch.stack([readings.audios[i][s * HOP : (s + seg) * HOP] for i, s in pairs])
        y_mel = torch.stack([readings.mels[i][:, s : s + seg] for i, s in pairs])
        y_hat = model.dec(z_b)[:, 0]
        y_hat_mel = mel_spectrogram(y_hat)
        frames = min(y_mel.shape[-1], y_hat_mel.shape[-1])
        mel_loss = torch.nn.functional.l1_loss(y_mel[..., :frames], y_hat_mel[..., :frames])
        # the posterior encoder hears the high voice as joe's latents (as the base distils it)
        spec_b = torch.stack([readings.specs[i][:, s : s + seg] for i, s in pairs])
        lengths = torch.full((len(chosen),), seg, dtype=torch.long)
        _zq, m_q, logs_q, _m = model.enc_q(spec_b, lengths)
        nll = torch.mean(logs_q + 0.5 * (z_b - m_q) ** 2 * torch.exp(-2.0 * logs_q))
        loss = config.c_mel * mel_loss + nll + config.c_sync * frame_sync_loss(y_hat, y_b, HOP)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(parts, 100.0)
        optimizer.step()
        step += 1
        mel_l1 = float(mel_loss.item())
        if step % 25 == 0 or step == 1:
            progress("register", 0.3 + 0.7 * min(1.0, fraction),
                     f"high base step {step}: mel L1 {mel_l1:.3f}")


def load_high_base():
    """The high base (model, metadata); BaseModelError when it is missing or stale."""
    path = high_base_path()
    if not is_high_base_prepared(path):
        raise BaseModelError("the high base has not been prepared on this machine")
    return load_base(path)


def speaker_f0_median(clips: list[np.ndarray], rate: int, limit: int = 20) -> float | None:
    """The median F0 (Hz) over voiced frames of up to ``limit`` clips (RAPT), or None."""
    from voicestudio.evaluate.prosody import f0_contour

    values = [(lambda f0: f0[f0 > 0])(f0_contour(c, rate)) for c in clips[:limit]]
    voiced = (
        np.concatenate([v for v in values if v.size])
        if any(v.size for v in values)
        else np.zeros(0)
    )
    return float(np.median(voiced)) if voiced.size else None
