"""The base speaker model: joe's VITS weights back in torch, plus a posterior encoder
distilled from joe's own synthesis.

Piper's ONNX export keeps only what inference needs, so the posterior encoder
(``enc_q``, audio → latent) that fine-tuning needs is missing. It is rebuilt once per
machine by letting joe speak the recording script: when joe synthesizes, the latent
``z`` that produced each frame is known, so a fresh encoder can learn spectrogram →
``z`` from pairs. The result is cached in the user data folder and shared by every
project.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import random
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import numpy_helper
from piper.train.vits.models import SynthesizerTrn

from voicestudio.audio.levels import active_rms_dbfs
from voicestudio.constants import MODEL_RATE
from voicestudio.errors import VoiceStudioError
from voicestudio.text.script import default_script_path, is_consent, read_prompts
from voicestudio.training import locations
from voicestudio.training.checkpoints import load_state, save_state
from voicestudio.training.features import linear_spectrogram, mel_spectrogram
from voicestudio.training.locations import BASE_FORMAT, BASE_PREPARATION_TIME
from voicestudio.voice.catalog import bundled_voice
from voicestudio.voice.model import VoiceConfig, config_ids, text_phonemes

#: Piper's "medium" VITS settings, which joe was trained with.
MEDIUM_HPARAMS = dict(
    n_vocab=256,
    spec_channels=513,
    segment_size=32,
    inter_channels=192,
    hidden_channels=192,
    filter_channels=768,
    n_heads=2,
    n_layers=6,
    kernel_size=3,
    p_dropout=0.1,
    resblock="2",
    resblock_kernel_sizes=(3, 5, 7),
    resblock_dilation_sizes=((1, 2), (2, 6), (3, 12)),
    upsample_rates=(8, 8, 4),
    upsample_initial_channel=256,
    upsample_kernel_sizes=(16, 16, 8),
    use_sdp=True,
)

#: Parameters the ONNX lacks: the posterior encoder (rebuilt here), the duration
#: predictor's training-only flows, and one flow Piper's inference path skips.
NOT_IN_ONNX_PREFIXES = ("enc_q.", "dp.post_", "dp.flows.1.")

Progress = Callable[[str, float, str], None]  # (stage, fraction 0..1, message)


class BaseModelError(VoiceStudioError):
    """The base model cannot be built or loaded."""


@dataclass(frozen=True)
class BasePrepConfig:
    """How the posterior encoder is distilled. Defaults: the whole recording script
    (~20 min of joe) and 5 minutes of training, which reached mel L1 ≈ 0.3 in the
    feasibility run (it falls 2.0 → 0.4 in the first minute)."""

    texts: int | None = None  # how many script prompts joe speaks; None = all
    minutes: float = 5.0
    steps: int | None = None  # if set, overrides minutes
    batch: int = 8
    crop_frames: int = 128
    lr_start: float = 1e-3
    lr_end: float = 1e-4
    noise_scale: float = 0.667
    noise_w: float = 0.8
    threads: int | None = None
    seed: int = 1234


def build_model() -> SynthesizerTrn:
    """An untrained medium VITS with weight norm removed everywhere, so parameters are
    plain tensors matching the ONNX initializers (and the model copies and exports cleanly)."""
    with _quiet_weight_norm():
        model = SynthesizerTrn(**MEDIUM_HPARAMS)
    model.dec.remove_weight_norm()
    model.enc_q.enc.remove_weight_norm()
    for layer in model.flow.flows:
        if hasattr(layer, "enc"):
            layer.enc.remove_weight_norm()
    return model


def joe_paths() -> tuple[Path, Path]:
    info = bundled_voice()
    return info.model_path, info.config_path


def load_onnx_weights(model: SynthesizerTrn, onnx_path: Path) -> list[str]:
    """Copy a Piper medium voice's ONNX weights into ``model``; return the names left untouched.

    Handles the export's quirks: the text embedding is named ``sid``; the flow's WaveNet
    convolutions are anonymous (found through the node that consumes them); the duration
    predictor's first flow stores ``exp(-logs)`` instead of ``logs``.
    """
    graph = onnx.load(str(onnx_path)).graph
    inits = {i.name: i for i in graph.initializer}
    consumer: dict[str, str] = {}
    for node in graph.node:
        for name in node.input:
            if name.startswith("onnx::Conv_"):
                consumer.setdefault(name, node.name)
    found: dict[str, np.ndarray] = {}
    for name, init in inits.items():
        if name.startswith("onnx::Conv_") and name in consumer:
            # "/flow/flows.6/enc/in_layers.0/Conv" -> "flow.flows.6.enc.in_layers.0.weight"
            path = consumer[name].strip("/").rsplit("/", 1)[0].replace("/", ".")
            found[f"{path}.weight"] = numpy_helper.to_array(init)
        elif not name.startswith(("/", "onnx::")):
            found[name] = numpy_helper.to_array(init)
    if "sid" in found:
        found["enc_p.emb.weight"] = found.pop("sid")
    folded = "/dp/flows.0/Exp_output_0"
    if folded in inits:
        found["dp.flows.0.logs"] = -np.log(numpy_helper.to_array(inits[folded]))

    state = model.state_dict()
    untouched = []
    for key, tensor in state.items():
        if key in found:
            value = torch.from_numpy(np.array(found[key])).to(tensor.dtype)
            if value.shape != tensor.shape:
                if value.numel() != tensor.numel():
                    raise BaseModelError(
                        f"{onnx_path.name}: {key} has shape {tuple(value.shape)}, "
                        f"expected {tuple(tensor.shape)}"
                    )
                value = value.reshape(tensor.shape)
            state[key] = value
        else:
            untouched.append(key)
    unexpected = [k for k in untouched if not k.startswith(NOT_IN_ONNX_PREFIXES)]
    if unexpected:
        raise BaseModelError(
            f"{onnx_path.name} is not a Piper medium VITS voice: "
            f"{len(unexpected)} weights missing (e.g. {unexpected[0]})"
        )
    model.load_state_dict(state)
    return untouched


def base_model_path() -> Path:
    return locations.base_model_path()


def base_fingerprint() -> str:
    """Identifies the joe weights the cache was built from (a reinstall of another joe rebuilds)."""
    model_path, _ = joe_paths()
    st = model_path.stat()
    return hashlib.sha256(f"{model_path.name}:{st.st_size}:{BASE_FORMAT}".encode()).hexdigest()[:16]


def is_prepared(path: Path | None = None) -> bool:
    path = path or base_model_path()
    if not path.is_file():
        return False
    try:
        meta = load_state(path)["meta"]
    except VoiceStudioError:
        return False
    return meta.get("fingerprint") == base_fingerprint()


def load_base(path: Path | None = None) -> tuple[SynthesizerTrn, dict]:
    """The prepared base model and its metadata (reference level, distillation score)."""
    path = path or base_model_path()
    if not path.is_file():
        raise BaseModelError(
            "the base model has not been prepared on this machine yet: run `voicestudio train "
            f"--prepare-base` (a one-time step; measured: {BASE_PREPARATION_TIME}) or start a "
            "training, which prepares it first"
        )
    saved = load_state(path)
    model = build_model()
    try:
        model.load_state_dict(saved["model"])
    except RuntimeError as exc:
        raise BaseModelError(
            f"the prepared base model {path} does not fit this version: {exc}"
        ) from exc
    return model.eval(), dict(saved["meta"])


def load_joe() -> SynthesizerTrn:
    """joe in torch without a posterior encoder (enough for inference and weight checks)."""
    model = build_model()
    load_onnx_weights(model, joe_paths()[0])
    return model.eval()


def joe_phoneme_ids(texts: list[str]) -> list[list[int]]:
    """Phoneme ids for ``texts`` exactly as the runtime makes them for joe."""
    config = VoiceConfig.from_file(joe_paths()[1])
    out = []
    for text in texts:
        groups = text_phonemes(text, config)
        phonemes = [p for i, g in enumerate(groups) for p in ([" "] if i else []) + g]
        ids, _missing = config_ids(phonemes, config)
        out.append(ids)
    return out


@contextlib.contextmanager
def torch_threads(threads: int | None):
    """Torch's thread count for the block (``None``: as it is), then back: the count is the
    whole process's, and the GUI's own work must get its threads back."""
    before = torch.get_num_threads()
    torch.set_num_threads(threads or before)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def script_texts(limit: int | None = None) -> list[str]:
    """The recording script's prompts the base voice speaks for preparation (never the consent
    statement: nobody's voice but the speaker's may read it), the first ``limit`` of them."""
    texts = [p for p in read_prompts(default_script_path()) if not is_consent(p)]
    return texts if limit is None else texts[:limit]


def prepare_base(
    config: BasePrepConfig | None = None,
    progress: Progress | None = None,
    cancelled: Callable[[], bool] = lambda: False,
    path: Path | None = None,
) -> Path:
    """Build and cache the base model. Cancelling leaves no cache behind (nothing half-made
    is ever loaded); the work is redone next time."""
    config = config or BasePrepConfig()
    path = path or base_model_path()
    progress = progress or (lambda stage, fraction, message: None)
    started = time.monotonic()
    torch.manual_seed(config.seed)
    rng = random.Random(config.seed)
    with torch_threads(config.threads):
        model = load_joe()
        texts = script_texts(config.texts)
        specs, latents, levels = _joe_reads(model, texts, config, progress, cancelled)
        mel_l1_start = reconstruction_l1(model, specs[:4], latents[:4])
        step = _distil_posterior(model, specs, latents, config, rng, progress, cancelled)
        mel_l1 = reconstruction_l1(model, specs[:4], latents[:4])
        model.enc_q.eval()
        meta = {
            "format": BASE_FORMAT,
            "fingerprint": base_fingerprint(),
            "reference_level_dbfs": float(np.median(levels)),
            "distil_steps": step,
            "distil_mel_l1": mel_l1,
            "distil_mel_l1_start": mel_l1_start,
            "texts": len(texts),
            "seconds": time.monotonic() - started,
            "config": json.dumps(asdict(config)),
        }
        save_state(path, {"model": model.state_dict(), "meta": meta})
        progress("done", 1.0, f"base model ready (mel L1 {mel_l1:.3f}, {meta['seconds']:.0f} s)")
        return path


def _joe_reads(model, texts: list[str], config: BasePrepConfig, progress: Progress,
               cancelled: Callable[[], bool]) -> tuple[list, list, list[float]]:
    """The base voice reads ``texts``: each reading's linear spectrogram, its latents (what the
    posterior encoder is distilled to find) and its speech level."""
    specs, latents, levels = [], [], []
    for i, ids in enumerate(joe_phoneme_ids(texts)):
        if cancelled():
            raise TrainingCancelled("base preparation cancelled")
        x = torch.tensor([ids], dtype=torch.long)
        with torch.no_grad():
            audio, _attn, _mask, (z, *_rest) = model.infer(
                x,
                torch.tensor([len(ids)]),
                noise_scale=config.noise_scale,
                noise_scale_w=config.noise_w,
            )
            spec = linear_spectrogram(audio[:, 0])
        specs.append(spec[0])
        latents.append(z[0, :, : spec.shape[-1]])
        levels.append(active_rms_dbfs(audio[0, 0].numpy(), MODEL_RATE))
        progress("synthesize", (i + 1) / len(texts), f"joe speaks prompt {i + 1} of {len(texts)}")
    return specs, latents, levels


def _distil_posterior(model, specs: list, latents: list, config: BasePrepConfig,
                      rng: random.Random, progress: Progress,
                      cancelled: Callable[[], bool]) -> int:
    """Train the posterior encoder to find the readings' latents from their spectrograms
    (Gaussian likelihood on random crops, the learning rate decaying over the budget); the
    number of steps taken."""
    enc_q = model.enc_q
    enc_q.train()
    optimizer = torch.optim.AdamW(enc_q.parameters(), lr=config.lr_start)
    budget_s = config.minutes * 60.0
    train_started = time.monotonic()
    step = 0
    while True:
        elapsed = time.monotonic() - train_started
        fraction = step / config.steps if config.steps else elapsed / budget_s
        if fraction >= 1.0:
            return step
        if cancelled():
            raise TrainingCancelled("base preparation cancelled")
        decay = (config.lr_end / config.lr_start) ** min(1.0, fraction)
        for group in optimizer.param_groups:  # exponential decay over the budget
            group["lr"] = config.lr_start * decay
        spec_b, z_b = _random_crops(specs, latents, config.batch, config.crop_frames, rng)
        lengths = torch.full((spec_b.shape[0],), spec_b.shape[-1], dtype=torch.long)
        _z, m_q, logs_q, _mask = enc_q(spec_b, lengths)
        loss = torch.mean(logs_q + 0.5 * (z_b - m_q) ** 2 * torch.exp(-2.0 * logs_q))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(enc_q.parameters(), 100.0)
        optimizer.step()
        step += 1
        if step % 25 == 0 or step == 1:
            mel_l1 = reconstruction_l1(model, specs[:2], latents[:2])
            progress("distil", min(1.0, fraction),
                     f"posterior encoder step {step}: mel L1 {mel_l1:.3f}")


def ensure_base(
    config: BasePrepConfig | None = None, progress: Progress | None = None, cancelled=lambda: False
) -> Path:
    path = base_model_path()
    if not is_prepared(path):
        prepare_base(config, progress, cancelled, path)
    return path


def reconstruction_l1(
    model: SynthesizerTrn, specs: list[torch.Tensor], latents: list[torch.Tensor]
) -> float:
    """Mel L1 between ``dec(enc_q(spec))`` and ``dec(z)``: how well the encoder hears joe.
    (The latents hold prior noise, so their own error plateaus; the audio is what matters.)"""
    was_training = model.enc_q.training
    model.enc_q.eval()
    total = 0.0
    with torch.no_grad():
        for spec, z in zip(specs, latents, strict=True):
            frames = min(spec.shape[-1], 200)
            _z, m_q, _logs, _mask = model.enc_q(spec[None, :, :frames], torch.tensor([frames]))
            heard = mel_spectrogram(model.dec(m_q)[:, 0])
            truth = mel_spectrogram(model.dec(z[None, :, :frames])[:, 0])
            total += torch.mean(torch.abs(heard - truth)).item()
    model.enc_q.train(was_training)
    return total / max(1, len(specs))


def _random_crops(
    specs, latents, batch: int, frames: int, rng: random.Random
) -> tuple[torch.Tensor, torch.Tensor]:
    spec_out, z_out = [], []
    usable = [i for i, s in enumerate(specs) if s.shape[-1] >= frames] or list(range(len(specs)))
    frames = min(frames, min(specs[i].shape[-1] for i in usable))
    for _ in range(batch):
        i = rng.choice(usable)
        start = rng.randint(0, specs[i].shape[-1] - frames)
        spec_out.append(specs[i][:, start : start + frames])
        z_out.append(latents[i][:, start : start + frames])
    return torch.stack(spec_out), torch.stack(z_out)


class TrainingCancelled(VoiceStudioError):
    """The user cancelled; whatever was safely saved is kept."""


@contextlib.contextmanager
def _quiet_weight_norm():
    """Piper's modules use the deprecated weight_norm API; its FutureWarning is noise here."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        yield
