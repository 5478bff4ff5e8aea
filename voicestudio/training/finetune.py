"""Fine-tune the base VITS voice on a project's takes.

Recipe (ARCHITECTURE.md, "The speaker model"): the text encoder and duration predictor
stay frozen (joe's pronunciation and rhythm), the posterior encoder and decoder learn
the new voice from 45 × mel L1 on a decoder segment + KL to the prior, with the
text-to-frame alignment found by monotonic alignment search. The feasibility run's
discriminator (VITS' own, 47 M parameters) tripled the step time and gained nothing within
15 minutes; a 0.3 M-parameter STFT one (``c_adv``, training.adversarial) costs 2.6× per step
and keeps the clone's quality near the base voice's, so it is on. Each step sees crops
around its decoder segment (``crop_context_frames``), and the decoder's upsampling stays
as the base has it (``train_upsampling``): the README's "What was tried" has the figures.

The flow stays frozen too. Trained, it learns to map the prior to latents that barely
change from frame to frame; the decoder then repeats itself every 256 samples and the
clone buzzes at the 86 Hz frame rate (RAPT reads that buzz as the pitch: 83-90 Hz
p10-p90 for pmatthes, whose real range is 5.6 semitones). With the flow frozen, 150
steps on pmatthes gave SECS 0.849 (0.834 trained), a natural 78-106 Hz range and a
third of the buzz. ``c_sync`` (a loss on the frame-synchronous average) is on;
``c_stft`` (multi-resolution STFT) cost similarity in the first recipe and stays off.

The :class:`Trainer` knows nothing of Qt: it reports through a callback of events and
stops when its cancel flag is set, so the CLI prints a progress bar and the GUI's
QThread worker forwards the same events as signals.
"""

from __future__ import annotations

import contextlib
import json
import math
import random
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
from piper.train.vits import commons
from piper.train.vits.losses import kl_loss

from voicestudio.audio.io import write_audio
from voicestudio.constants import MODEL_RATE
from voicestudio.errors import VoiceStudioError
from voicestudio.evaluate.secs import default_encoder
from voicestudio.project.project import VoiceProject
from voicestudio.safety.consent import ConsentError, ConsentRefusal, ConsentScreen, require_consent
from voicestudio.threads import training_threads
from voicestudio.training.adversarial import Critic
from voicestudio.training.alignment import maximum_path
from voicestudio.training.base import (
    BasePrepConfig,
    TrainingCancelled,
    ensure_base,
    joe_phoneme_ids,
    load_base,
    torch_threads,
)
from voicestudio.training.checkpoint_choice import BestSoFar, CheckpointChoice, Evaluation
from voicestudio.training.checkpoints import (
    CheckpointError,
    load_state,
    remove_stale_temporaries,
    save_state,
)
from voicestudio.training.critic_prep import CriticPrepConfig, ensure_critic
from voicestudio.training.dataset import DataConfig, TrainingData, Utterance, collect
from voicestudio.training.features import (
    HOP,
    frame_sync_loss,
    linear_spectrogram,
    mel_spectrogram,
    spec_to_mel,
    stft_loss,
)
from voicestudio.training.register import RegisterConfig

PREVIEW_TEXT = "The quick brown fox jumps over the lazy dog, and my own voice reads it aloud."
VALIDATION_TEXTS = (
    PREVIEW_TEXT,
    "Please call Stella and ask her to bring these things with her from the store.",
    "We will meet again on Thursday afternoon, when the weather should be better.",
)
CHECKPOINT_FORMAT = 1


@dataclass(frozen=True)
class TrainConfig:
    """One fine-tuning run. ``minutes`` is the training time budget (the one-time base
    preparation is not counted); ``steps``, when set, replaces it."""

    minutes: float = 5.0
    steps: int | None = None
    device: str = "auto"  # auto | cpu | cuda
    threads: int | None = None  # torch CPU threads; default leaves a core for the GUI on 4+ cores
    batch_size: int = 3
    learning_rate: float = 2e-4
    betas: tuple[float, float] = (0.8, 0.99)
    c_mel: float = 45.0
    c_kl: float = 1.0
    grad_clip: float = 100.0
    segment_frames: int = 32
    train_flow: bool = False  # see the module docstring: a trained flow makes the clone buzz
    train_duration: bool = False  # learn the speaker's rhythm (the duration predictor's own loss)
    # With ``train_duration`` (cropped step): the duration predictor is also pulled towards the
    # base voice's own durations for the same text (mean squared log-duration difference, this
    # weight), so a few minutes of takes move the rhythm without unlearning it. 0: off.
    c_duration_anchor: float = 0.0
    # Let the prior's last layer (the text encoder's 1x1 projection to the latent means and
    # scales) learn: the prior can then move to the speaker's latents, pitch included, where a
    # frozen one holds the base voice's; the text encoder's own layers stay frozen.
    train_prior: bool = False
    # A cropped step: the posterior encoder, the flow and the KL see only this many frames of
    # context either side of the decoder's segment (their receptive fields are about 32
    # frames), with the text-to-frame alignment found on whole takes every ``realign_every_s``
    # instead of at every step. None: whole takes every step (the first recipe). On by
    # default: 3.6x the steps in a budget (README, "What was tried for clone quality").
    crop_context_frames: int | None = 32
    realign_every_s: float = 150.0
    # Which base to start from (training.register.Register's values): "auto" picks the high
    # base for a speaker above register.HIGH_VOICE_HZ; "low" is joe as he is.
    register: str = "low"
    # The decoder's transposed convolutions (its upsampling, 22050/256 = 86 times a second)
    # are where a frame-rate comb can grow and where the clone's quality went (one 5-minute
    # run: DNSMOS OVRL 2.71 trained, 3.14 frozen for pmatthes; 2.16 and 3.01 for ljspeech,
    # whose similarity rose too); False (the default) keeps them as the base has them.
    train_upsampling: bool = False
    # Evaluate, keep and export an exponential moving average of the learning weights (this
    # decay per step) rather than the last step's: it smooths away the noise of single
    # updates, which a short fine-tune without a discriminator hears as artefacts. None: off.
    ema_decay: float | None = None
    # The decoder also learns from the path inference takes: latents drawn from the prior
    # laid out by the alignment (noise ``prior_noise``, as synthesis uses) and through the
    # flow in reverse, against the same audio (mel L1 weighted ``c_prior``). Trained only on
    # the posterior's latents, the decoder meets unfamiliar latents when it speaks, and
    # answers with the base voice's pitch or a frame-rate buzz. Cropped step only; 0: off.
    c_prior: float = 0.0
    prior_noise: float = 0.667
    # Mixed fine-tuning (training.base_corpus): this fraction of the batches is the base voice
    # reading ``mix_base_texts`` script prompts, rendered at the start, so the model keeps
    # practising what it pronounced well. 0: off.
    mix_base: float = 0.0
    mix_base_texts: int = 40
    # Adversarial training (cropped step only): a small multi-resolution STFT discriminator
    # (training.adversarial) learns beside the voice, and the decoder is also trained to
    # fool it (least-squares GAN + feature matching, weighted ``c_adv``, as VITS does with
    # weight 1) from step ``adv_after_steps`` on, once the discriminator has learned a little.
    # Mel L1 alone smooths the fine-tuned decoder's output step by step. 0: off. On by default:
    # a step costs 2.6x as much, and the 5-minute clones still sound better (README).
    c_adv: float = 1.0
    adv_after_steps: int = 50
    # Start the discriminator from one prepared once per machine against the base voice
    # (training.critic_prep, about 2 minutes, not counted in the budget) instead of a random
    # one; the decoder then learns from it from the first step.
    prepared_critic: bool = False
    critic: CriticPrepConfig = field(default_factory=CriticPrepConfig)
    # Which evaluated checkpoint is kept (training.checkpoint_choice.CheckpointChoice's values).
    keep: str = "similarity"
    c_stft: float = 0.0  # multi-resolution STFT loss (features.stft_loss)
    c_sync: float = 1.0  # frame-rate buzz penalty (features.frame_sync_loss)
    checkpoint_every_s: float = 60.0
    checkpoint_every_steps: int | None = None  # for tests and fast GPUs
    evaluate_every_s: float = 60.0  # preview + similarity score
    evaluate_every_steps: int | None = None
    seed: int = 1234
    data: DataConfig = field(default_factory=DataConfig)
    base: BasePrepConfig = field(default_factory=BasePrepConfig)
    high_base: RegisterConfig = field(default_factory=RegisterConfig)


# ----------------------------------------------------------------------------- events
@dataclass(frozen=True)
class Event:
    pass


@dataclass(frozen=True)
class Stage(Event):
    """A phase of the run with its own progress: "base", "data", "train", "export"."""

    stage: str
    fraction: float
    message: str


@dataclass(frozen=True)
class Progress(Event):
    step: int
    fraction: float
    elapsed_s: float
    eta_s: float | None


@dataclass(frozen=True)
class Loss(Event):
    step: int
    total: float
    mel_l1: float
    kl: float


@dataclass(frozen=True)
class PreviewReady(Event):
    """An evaluation: the preview file, the validation sentences' mean similarity to the
    speaker and their mean DNSMOS overall quality (None: that score is unavailable)."""

    step: int
    path: Path
    similarity: float | None
    quality: float | None = None


@dataclass(frozen=True)
class CheckpointSaved(Event):
    step: int
    path: Path
    best: bool


@dataclass(frozen=True)
class Finished(Event):
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


@dataclass
class TrainResult:
    best_path: Path
    best_step: int
    similarity: float | None
    steps: int
    cancelled: bool
    data: TrainingData


class TrainingError(VoiceStudioError):
    """Training cannot start or continue; the message says why."""


def pick_device(choice: str) -> torch.device:
    if choice not in ("auto", "cpu", "cuda"):
        raise TrainingError(f"unknown device {choice!r}: choose auto, cpu or cuda")
    if choice == "cuda" and not torch.cuda.is_available():
        raise TrainingError("CUDA was asked for, but torch finds no usable NVIDIA GPU here; use --device cpu")
    if choice == "cuda" or (choice == "auto" and torch.cuda.is_available()):
        return torch.device("cuda")
    return torch.device("cpu")


def training_dir(project: VoiceProject) -> Path:
    return project.models_dir / "training"


# ----------------------------------------------------------------------------- trainer
class Trainer:
    """Fine-tunes one project. ``run()`` blocks; call :meth:`cancel` from any thread."""

    def __init__(
        self, project: VoiceProject, config: TrainConfig | None = None, on_event: Callable[[Event], None] | None = None
    ) -> None:
        self.project = project
        self.config = config or TrainConfig()
        self._emit = on_event or (lambda event: None)
        self._cancel = threading.Event()
        self.folder = training_dir(project)
        self._average: WeightAverage | None = None
        self._critic: Critic | None = None

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    @property
    def state_path(self) -> Path:
        return self.folder / "state.pt"

    @property
    def best_path(self) -> Path:
        return self.folder / "best.pt"

    # ------------------------------------------------------------------ run
    def run(self, resume: bool = False) -> TrainResult:
        try:
            return self._run(resume)
        except TrainingCancelled:
            raise
        except VoiceStudioError as exc:
            self._emit(Failed(str(exc), exc.refusal if isinstance(exc, ConsentError) else None))
            raise
        except torch.cuda.OutOfMemoryError as exc:
            message = "the GPU ran out of memory; train on the CPU (--device cpu) or close other GPU programs"
            self._emit(Failed(message))
            raise TrainingError(message) from exc
        except MemoryError as exc:
            message = "the computer ran out of memory while training; close other programs and resume"
            self._emit(Failed(message))
            raise TrainingError(message) from exc

    def _run(self, resume: bool) -> TrainResult:
        cfg = self.config
        device = pick_device(cfg.device)
        with torch_threads(cfg.threads or training_threads()):
            # 0. consent: the speaker's own statement, checked before anything slow
            self._emit(Stage("consent", 0.0, "checking the speaker's consent statement"))
            consent = require_consent(self.project, default_encoder())
            self._emit(Stage("consent", 1.0, consent.describe()))
            # 1. base model (once per machine)
            ensure_base(cfg.base, lambda s, f, m: self._emit(Stage("base", f, m)), self._cancel.is_set)
            model, base_meta = load_base()
            critic_weights = None
            if cfg.c_adv and cfg.prepared_critic and not resume:
                critic_weights = ensure_critic(
                    model, float(base_meta["reference_level_dbfs"]), cfg.critic,
                    lambda s, f, m: self._emit(Stage("base", f, m)), self._cancel.is_set,
                )
            # 2. data, fully validated before the first step
            self._emit(Stage("data", 0.0, "checking takes"))
            screen = ConsentScreen(self.project, default_encoder())  # every take against the statement
            data = collect(
                self.project,
                joe_phoneme_ids,
                float(base_meta["reference_level_dbfs"]),
                cfg.data,
                lambda n, total: self._emit(Stage("data", n / total, f"checked take {n} of {total}")),
                screen,
            )
            if screen.check is not None:
                self._emit(Stage("data", 1.0, screen.check.describe()))
            for exclusion in data.excluded:
                self._emit(Stage("data", 1.0, exclusion.describe()))
            self._emit(Stage("data", 1.0, f"{len(data.train)} takes, {data.seconds / 60:.1f} min of speech"))
            base_items: list[Utterance] = []
            if cfg.mix_base > 0:
                from voicestudio.training.base_corpus import base_utterances

                self._emit(Stage("data", 1.0, f"the base voice reads {cfg.mix_base_texts} prompts to train beside"))
                base_items = base_utterances(model, cfg.mix_base_texts, float(base_meta["reference_level_dbfs"]),
                                             seed=cfg.seed)
            if not resume:
                model = self._start_model(model, data)
            fingerprint = data.fingerprint()
            # 3. state: fresh or resumed
            self.folder.mkdir(parents=True, exist_ok=True)
            remove_stale_temporaries(self.folder)
            step, elapsed = 0, 0.0
            best = BestSoFar(CheckpointChoice(cfg.keep))
            model.to(device)
            optimizer = self._optimizer(model)
            resumed_average = None
            rng = random.Random(cfg.seed)
            torch.manual_seed(cfg.seed)
            if resume:
                if not self.state_path.is_file():
                    raise TrainingError(f"nothing to resume in {self.folder}: start a new training instead")
                state = load_state(self.state_path)
                if state.get("data_fingerprint") != fingerprint:
                    raise TrainingError(
                        "the project's takes changed since this training started; start a new training "
                        "(the old result stays until the new one is better)"
                    )
                model.load_state_dict(state["model"])
                try:
                    optimizer.load_state_dict(state["optimizer"])
                except ValueError as exc:  # another set of parts was learning (an older recipe)
                    raise TrainingError(
                        "this training was started with different settings (other parts of the model were "
                        "learning); start a new training (the old result stays until the new one is better)"
                    ) from exc
                step, elapsed = int(state["step"]), float(state["elapsed_s"])
                best = BestSoFar.from_state(CheckpointChoice(cfg.keep), state)
                resumed_average = state.get("ema")
                rng.seed(cfg.seed + step)
                torch.manual_seed(cfg.seed + step)
                self._emit(Stage("train", self._fraction(step, elapsed), f"resumed at step {step}"))
            average = WeightAverage(model, cfg.ema_decay, resumed_average) if cfg.ema_decay else None
            self._average = average
            self._critic = (
                Critic(device, cfg.betas, state.get("critic") if resume else None, critic_weights)
                if cfg.c_adv else None
            )
            reference = self._reference_embedding(data)
            train_specs = self._prepare(data.train, device)
            batches = _length_buckets(train_specs, cfg.batch_size)
            base_specs = [{**item, "base": True} for item in self._prepare(base_items, device)]
            base_batches = _length_buckets(base_specs, cfg.batch_size) if base_specs else []
            cropped = cfg.crop_context_frames is not None
            if cropped:
                anchor = cfg.train_duration and cfg.c_duration_anchor > 0
                self._cache_prior(model, train_specs + base_specs, device, anchor)
                self._align(model, train_specs + base_specs, device)
            last_align = time.monotonic()

            # 4. the loop
            last_checkpoint = last_eval = time.monotonic()
            steps_at_checkpoint = steps_at_eval = step
            loop_started, elapsed_before = time.monotonic(), elapsed
            validation_ids = joe_phoneme_ids(list(VALIDATION_TEXTS))
            _train_mode(model)
            cancelled = False

            def spent() -> float:
                return elapsed_before + time.monotonic() - loop_started

            while True:
                if self._fraction(step, spent()) >= 1.0:
                    break
                if self.cancelled:
                    cancelled = True
                    break
                if base_batches and rng.random() < cfg.mix_base:
                    batch = [base_specs[i] for i in rng.choice(base_batches)]
                else:
                    batch = [train_specs[i] for i in rng.choice(batches)]
                if cropped and time.monotonic() - last_align >= cfg.realign_every_s:
                    self._align(model, train_specs + base_specs, device)
                    last_align = time.monotonic()
                step_fn = self._step_cropped if cropped else self._step
                total, mel_l1, kl = step_fn(model, optimizer, batch, device)
                if average is not None:
                    average.update(model)
                step += 1
                self._emit(Loss(step, total, mel_l1, kl))
                elapsed = spent()
                fraction = self._fraction(step, elapsed)
                eta = elapsed * (1 - fraction) / fraction if fraction > 0 else None
                self._emit(Progress(step, min(1.0, fraction), elapsed, eta))
                now = time.monotonic()
                due_eval = (
                    step - steps_at_eval >= cfg.evaluate_every_steps
                    if cfg.evaluate_every_steps
                    else now - last_eval >= cfg.evaluate_every_s
                )
                if due_eval or step == 1:
                    with _averaged(average, model):
                        evaluation = self._evaluate(model, step, validation_ids, reference, device)
                        last_eval, steps_at_eval = time.monotonic(), step
                        if best.offer(evaluation):
                            self._save_best(model, step, best, fingerprint)
                due_checkpoint = (
                    step - steps_at_checkpoint >= cfg.checkpoint_every_steps
                    if cfg.checkpoint_every_steps
                    else now - last_checkpoint >= cfg.checkpoint_every_s
                )
                if due_checkpoint:
                    self._save_state(model, optimizer, step, spent(), best, fingerprint)
                    last_checkpoint, steps_at_checkpoint = time.monotonic(), step
            # 5. last evaluation and state, so nothing done is lost
            with _averaged(average, model):
                if step > steps_at_eval and not cancelled:
                    evaluation = self._evaluate(model, step, validation_ids, reference, device)
                    if best.offer(evaluation):
                        self._save_best(model, step, best, fingerprint)
                if not self.best_path.is_file():  # cancelled before the first evaluation
                    self._save_best(model, step, best, fingerprint)
            self._save_state(model, optimizer, step, spent(), best, fingerprint)
            self._emit(Finished(best.step, best.similarity, cancelled, step))
            return TrainResult(self.best_path, best.step, best.similarity, step, cancelled, data)

    # ------------------------------------------------------------------ pieces
    def _start_model(self, model, data: TrainingData):
        """The base to fine-tune: joe, or for a high voice the high base (prepared once per
        machine on first use, reported as a base stage)."""
        from voicestudio.training.register import (
            HIGH_VOICE_HZ,
            Register,
            is_high_base_prepared,
            load_high_base,
            prepare_high_base,
            speaker_f0_median,
        )

        choice = Register(self.config.register)
        if choice is Register.LOW:
            return model
        if choice is Register.AUTO:
            f0 = speaker_f0_median([u.audio for u in data.train], MODEL_RATE)
            if f0 is None or f0 <= HIGH_VOICE_HZ:
                return model
            self._emit(Stage("data", 1.0, f"the speaker's pitch ({f0:.0f} Hz) is above {HIGH_VOICE_HZ:g} Hz: "
                                          "starting from the high base"))
        if not is_high_base_prepared():
            config = replace(self.config.high_base, threads=self.config.high_base.threads or self.config.threads)
            prepare_high_base(config, lambda s, f, m: self._emit(Stage("base", f, m)), self._cancel.is_set)
        return load_high_base()[0]

    def _fraction(self, step: int, elapsed_s: float) -> float:
        if self.config.steps is not None:
            return step / max(1, self.config.steps)
        return elapsed_s / max(1e-9, self.config.minutes * 60.0)

    def _optimizer(self, model) -> torch.optim.Optimizer:
        frozen = [model.enc_p] + ([] if self.config.train_duration else [model.dp])
        frozen += [] if self.config.train_flow else [model.flow]
        for module in frozen:
            for p in module.parameters():
                p.requires_grad_(False)
        if self.config.train_prior:
            for p in model.enc_p.proj.parameters():
                p.requires_grad_(True)
        if not self.config.train_upsampling:
            for p in model.dec.ups.parameters():
                p.requires_grad_(False)
        params = [p for name, p in model.named_parameters() if p.requires_grad]
        return torch.optim.AdamW(params, lr=self.config.learning_rate, betas=self.config.betas, eps=1e-9)

    def _prepare(self, utterances: list[Utterance], device: torch.device) -> list[dict]:
        out = []
        for u in utterances:
            audio = torch.from_numpy(u.audio[: len(u.audio) // HOP * HOP].copy())
            spec = linear_spectrogram(audio[None])[0]
            out.append({"ids": torch.tensor(u.ids, dtype=torch.long), "spec": spec, "mel": spec_to_mel(spec),
                        "audio": audio})
        return out

    def _step(self, model, optimizer, batch: list[dict], device: torch.device) -> tuple[float, float, float]:
        cfg = self.config
        x, x_lengths = _pad([b["ids"] for b in batch], device)
        spec, spec_lengths = _pad([b["spec"] for b in batch], device)
        mel, _ = _pad([b["mel"] for b in batch], device)
        waveform_losses = bool(cfg.c_stft or cfg.c_sync)
        batch_audio = _pad([b["audio"] for b in batch], device)[0][:, None] if waveform_losses else None
        with torch.no_grad():
            x_enc, m_p, logs_p, x_mask = model.enc_p(x, x_lengths)
        if cfg.train_prior:  # the projection again, with its gradient (x_enc is its input)
            m_p, logs_p = torch.split(model.enc_p.proj(x_enc) * x_mask, model.enc_p.out_channels, dim=1)
        z, m_q, logs_q, y_mask = model.enc_q(spec, spec_lengths)
        z_p = model.flow(z, y_mask)
        attn = _monotonic_attention(z_p, m_p, logs_p, x_mask, y_mask)
        m_p = torch.matmul(attn.squeeze(1), m_p.transpose(1, 2)).transpose(1, 2)
        logs_p = torch.matmul(attn.squeeze(1), logs_p.transpose(1, 2)).transpose(1, 2)
        segment = min(cfg.segment_frames, int(spec_lengths.min()))
        z_slice, ids_slice = commons.rand_slice_segments(z, spec_lengths, segment)
        audio = model.dec(z_slice)
        y_mel = commons.slice_segments(mel, ids_slice, segment)
        y_hat_mel = mel_spectrogram(audio[:, 0])
        frames = min(y_mel.shape[-1], y_hat_mel.shape[-1])
        mel_l1 = torch.nn.functional.l1_loss(y_mel[..., :frames], y_hat_mel[..., :frames])
        kl = kl_loss(z_p, logs_q, m_p, logs_p, y_mask)
        loss = cfg.c_mel * mel_l1 + cfg.c_kl * kl
        if cfg.train_duration:
            loss = loss + self._duration_loss(model, x_enc, x_mask, attn)
        if waveform_losses:
            y_audio = commons.slice_segments(batch_audio, ids_slice * HOP, segment * HOP)
            if cfg.c_stft:
                loss = loss + cfg.c_stft * stft_loss(audio[:, 0], y_audio[:, 0])
            if cfg.c_sync:
                loss = loss + cfg.c_sync * frame_sync_loss(audio[:, 0], y_audio[:, 0], HOP)
        return self._apply(loss, optimizer, mel_l1, kl)

    # ------------------------------------------------------------------ the cropped step
    @staticmethod
    def _cache_prior(model, items: list[dict], device: torch.device, anchor: bool = False) -> None:
        """The frozen text encoder's hidden states per take, computed once (it is about a
        tenth of a whole-take step); with ``anchor``, also the base voice's log-durations."""
        with torch.no_grad():
            for item in items:
                ids = item["ids"][None].to(device)
                x_enc, m_p, logs_p, mask = model.enc_p(ids, torch.tensor([ids.shape[-1]], device=device))
                item["x_enc"], item["m_p"], item["logs_p"] = x_enc[0], m_p[0], logs_p[0]
                if anchor:
                    item["logw_base"] = _log_durations(model, x_enc, mask)[0, 0].cpu()

    def _prior_of(self, model, item: dict) -> tuple[torch.Tensor, torch.Tensor]:
        """(means, log-scales) of the prior per phoneme: cached, or through the learning
        projection when ``train_prior``."""
        if not self.config.train_prior:
            return item["m_p"], item["logs_p"]
        m_p, logs_p = torch.split(model.enc_p.proj(item["x_enc"][None])[0], model.enc_p.out_channels, dim=0)
        return m_p, logs_p

    def _align(self, model, items: list[dict], device: torch.device, chunk: int = 4) -> None:
        """Each take's frame-to-phoneme path by monotonic alignment search on the whole take,
        with the model as it is now (no gradients)."""
        was_training = model.enc_q.training
        model.enc_q.eval()
        try:
            with torch.no_grad():
                for start in range(0, len(items), chunk):
                    part = items[start:start + chunk]
                    x, x_lengths = _pad([b["ids"] for b in part], device)
                    spec, spec_lengths = _pad([b["spec"] for b in part], device)
                    _x, m_p, logs_p, x_mask = model.enc_p(x, x_lengths)
                    if self.config.train_prior:
                        m_p, logs_p = torch.split(model.enc_p.proj(_x) * x_mask, model.enc_p.out_channels, dim=1)
                    z, _m_q, _logs_q, y_mask = model.enc_q(spec, spec_lengths)
                    attn = _monotonic_attention(model.flow(z, y_mask), m_p, logs_p, x_mask, y_mask)
                    for i, item in enumerate(part):
                        frames, phones = int(spec_lengths[i]), int(x_lengths[i])
                        item["path"] = attn[i, 0, :frames, :phones].argmax(-1).cpu()
        finally:
            model.enc_q.train(was_training)

    def _step_cropped(self, model, optimizer, batch: list[dict], device: torch.device) -> tuple[float, float, float]:
        """One step on crops of ``segment + 2 × context`` frames around the decoder's segment,
        against the prior laid out by each take's stored alignment."""
        cfg = self.config
        context, segment = int(cfg.crop_context_frames), cfg.segment_frames
        window = segment + 2 * context
        specs, mels, priors, logs, crops, starts = [], [], [], [], [], []
        for item in batch:
            frames = item["spec"].shape[-1]
            width = min(window, frames)
            crop = random.randint(0, frames - width)
            if width == window:
                seg = context
            else:
                seg = random.randint(0, max(0, width - min(segment, width)))
            path = item["path"][crop:crop + width].to(device)
            m_p, logs_p = self._prior_of(model, item)
            specs.append(item["spec"][:, crop:crop + width])
            mels.append(item["mel"][:, crop:crop + width])
            priors.append(m_p[:, path])
            logs.append(logs_p[:, path])
            crops.append(crop)
            starts.append(seg)
        spec, lengths = _pad(specs, device)
        mel, _ = _pad(mels, device)
        m_p, _ = _pad(priors, device)
        logs_p, _ = _pad(logs, device)
        z, _m_q, logs_q, y_mask = model.enc_q(spec, lengths)
        z_p = model.flow(z, y_mask)
        kl = kl_loss(z_p, logs_q, m_p, logs_p, y_mask)
        segment = min(segment, int(lengths.min()))
        ids_slice = torch.tensor(starts, dtype=torch.long, device=device).clamp(max=int(lengths.min()) - segment)
        audio = model.dec(commons.slice_segments(z, ids_slice, segment))
        y_mel = commons.slice_segments(mel, ids_slice, segment)
        y_hat_mel = mel_spectrogram(audio[:, 0])
        frames = min(y_mel.shape[-1], y_hat_mel.shape[-1])
        mel_l1 = torch.nn.functional.l1_loss(y_mel[..., :frames], y_hat_mel[..., :frames])
        loss = cfg.c_mel * mel_l1 + cfg.c_kl * kl
        if cfg.c_prior:
            drawn = m_p + torch.randn_like(m_p) * torch.exp(logs_p) * cfg.prior_noise
            z_prior = model.flow(drawn * y_mask, y_mask, reverse=True)
            spoken = mel_spectrogram(model.dec(commons.slice_segments(z_prior, ids_slice, segment))[:, 0])
            n = min(y_mel.shape[-1], spoken.shape[-1])
            loss = loss + cfg.c_prior * torch.nn.functional.l1_loss(y_mel[..., :n], spoken[..., :n])
        if cfg.train_duration:
            loss = loss + self._duration_loss_from_paths(model, batch, device)
        if cfg.c_stft or cfg.c_sync or self._critic is not None:
            offsets = [(crop + int(seg)) * HOP for crop, seg in zip(crops, ids_slice.tolist(), strict=True)]
            target = torch.stack([b["audio"][o:o + segment * HOP] for b, o in zip(batch, offsets, strict=True)])
            target = target.to(device)
            if cfg.c_stft:
                loss = loss + cfg.c_stft * stft_loss(audio[:, 0], target)
            if cfg.c_sync:
                loss = loss + cfg.c_sync * frame_sync_loss(audio[:, 0], target, HOP)
            if self._critic is not None:
                self._critic.learn(target[:, None], audio)
                if self._critic.steps > (0 if cfg.prepared_critic else cfg.adv_after_steps):
                    loss = loss + cfg.c_adv * self._critic.generator_loss(target[:, None], audio)
        return self._apply(loss, optimizer, mel_l1, kl)

    def _duration_loss_from_paths(self, model, batch: list[dict], device: torch.device) -> torch.Tensor:
        x, x_lengths = _pad([b["ids"] for b in batch], device)
        with torch.no_grad():
            x_enc, _m, _l, x_mask = model.enc_p(x, x_lengths)
        w = torch.zeros(x_mask.shape, device=device)
        for i, item in enumerate(batch):
            counts = torch.bincount(item["path"], minlength=int(x_lengths[i]))
            w[i, 0, : counts.shape[0]] = counts.to(device)
        if model.use_sdp:
            loss = model.dp(x_enc, x_mask, w).sum() / x_mask.sum()
        else:
            logw = model.dp(x_enc, x_mask)
            loss = torch.sum((logw - torch.log(w + 1e-6) * x_mask) ** 2) / x_mask.sum()
        if self.config.c_duration_anchor and all("logw_base" in item for item in batch):
            base, _ = _pad([item["logw_base"] for item in batch], device)
            drift = (_log_durations(model, x_enc, x_mask)[:, 0] - base) * x_mask[:, 0]
            loss = loss + self.config.c_duration_anchor * torch.sum(drift**2) / x_mask.sum()
        return loss

    def _apply(self, loss: torch.Tensor, optimizer, mel_l1: torch.Tensor, kl: torch.Tensor) -> tuple[float, float, float]:
        """Backward and one optimizer step (gradients clipped); the losses for the events."""
        if not torch.isfinite(loss):
            raise TrainingError("training diverged (the loss is not a number); resume from the last checkpoint")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_([p for g in optimizer.param_groups for p in g["params"]], self.config.grad_clip)
        optimizer.step()
        return float(loss.item()), float(mel_l1.item()), float(kl.item())

    @staticmethod
    def _duration_loss(model, x_enc: torch.Tensor, x_mask: torch.Tensor, attn: torch.Tensor) -> torch.Tensor:
        """The duration predictor's loss on the alignment's durations, as VITS trains it."""
        w = attn.sum(2)
        if model.use_sdp:
            return model.dp(x_enc, x_mask, w).sum() / x_mask.sum()
        logw = model.dp(x_enc, x_mask)
        return torch.sum((logw - torch.log(w + 1e-6) * x_mask) ** 2) / x_mask.sum()

    def _reference_embedding(self, data: TrainingData) -> np.ndarray | None:
        clips = data.held_out or data.train[:5]
        try:
            encoder = default_encoder()
        except VoiceStudioError as exc:
            self._emit(Stage("train", 0.0, f"similarity score unavailable: {exc}"))
            return None
        return encoder.embed_speaker([(u.audio, MODEL_RATE) for u in clips])

    def _evaluate(
        self, model, step: int, validation_ids: list[list[int]], reference: np.ndarray | None, device: torch.device
    ) -> Evaluation:
        """Synthesize the validation sentences; save the first as this step's preview; their
        mean similarity to the speaker and mean quality."""
        from voicestudio.evaluate.secs import default_encoder

        model.eval()
        clips = [synthesize(model, ids, device) for ids in validation_ids]
        _train_mode(model)
        previews = self.folder / "previews"
        previews.mkdir(parents=True, exist_ok=True)
        preview_path = previews / f"step-{step:06d}.wav"
        write_audio(preview_path, clips[0], MODEL_RATE)
        score = None
        if reference is not None:
            encoder = default_encoder()
            score = float(np.mean([float(np.dot(encoder.embed(c, MODEL_RATE), reference)) for c in clips]))
        quality = _quality(clips)
        self._emit(PreviewReady(step, preview_path, score, quality))
        return Evaluation(step, score, quality)

    def _save_best(self, model, step: int, best: BestSoFar, fingerprint: str) -> None:
        save_state(
            self.best_path,
            {
                "format": CHECKPOINT_FORMAT,
                "model": model.state_dict(),
                "step": step,
                "score": best.similarity,
                "data_fingerprint": fingerprint,
                "config": json.dumps(asdict(self.config)),
            },
        )
        self._emit(CheckpointSaved(step, self.best_path, True))

    def _save_state(self, model, optimizer, step, elapsed, best: BestSoFar, fingerprint) -> None:
        save_state(
            self.state_path,
            {
                "format": CHECKPOINT_FORMAT,
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "step": step,
                "elapsed_s": elapsed,
                **best.to_state(),
                "data_fingerprint": fingerprint,
                **({"ema": self._average.shadow} if self._average is not None else {}),
                **({"critic": self._critic.state()} if self._critic is not None else {}),
            },
        )
        self._emit(CheckpointSaved(step, self.state_path, False))


def _quality(clips: list[np.ndarray]) -> float | None:
    """Mean DNSMOS overall quality of the validation clips, or None without its models."""
    from voicestudio.evaluate.dnsmos import DnsmosUnavailableError, mean_quality

    try:
        return mean_quality([(c, MODEL_RATE) for c in clips]).ovrl
    except DnsmosUnavailableError:
        return None


def synthesize(model, ids: list[int], device: torch.device, noise_scale: float = 0.667, seed: int = 0) -> np.ndarray:
    """One utterance from the torch model, reproducibly (fixed noise seed)."""
    generator_state = torch.get_rng_state()
    torch.manual_seed(seed)
    try:
        with torch.no_grad():
            x = torch.tensor([ids], dtype=torch.long, device=device)
            audio = model.infer(x, torch.tensor([len(ids)], device=device), noise_scale=noise_scale, noise_scale_w=0.8)[0]
    finally:
        torch.set_rng_state(generator_state)
    return audio[0, 0].float().cpu().numpy()


def load_trained(path: Path):
    """A fine-tuned model from ``best.pt`` (or ``state.pt``)."""
    from voicestudio.training.base import build_model

    state = load_state(path)
    if state.get("format") != CHECKPOINT_FORMAT or "model" not in state:
        raise CheckpointError(f"{path} is not a VoiceStudio training checkpoint")
    model = build_model()
    model.load_state_dict(state["model"])
    return model.eval(), state


class WeightAverage:
    """An exponential moving average of a model's learning parameters (``TrainConfig.ema_decay``)."""

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
                self.shadow[name].mul_(self.decay).add_(params[name].detach(), alpha=1.0 - self.decay)

    @contextlib.contextmanager
    def applied(self, model):
        """The average in the model's parameters for the ``with`` block, then the trained ones back."""
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


def _averaged(average: WeightAverage | None, model):
    return average.applied(model) if average is not None else contextlib.nullcontext()


def _log_durations(model, x_enc: torch.Tensor, x_mask: torch.Tensor) -> torch.Tensor:
    """``[b, 1, phonemes]`` log-durations (frames) the duration predictor gives, without noise
    (with gradients, when it learns)."""
    if model.use_sdp:
        return model.dp(x_enc, x_mask, reverse=True, noise_scale=0.0)
    return model.dp(x_enc, x_mask)


def _monotonic_attention(z_p, m_p, logs_p, x_mask, y_mask) -> torch.Tensor:
    """``[b, 1, frames, phonemes]`` hard alignment of the latents to the prior (VITS' MAS)."""
    with torch.no_grad():
        s_p_sq_r = torch.exp(-2 * logs_p)
        neg_cent = (
            torch.sum(-0.5 * math.log(2 * math.pi) - logs_p, [1], keepdim=True)
            + torch.matmul(-0.5 * (z_p**2).transpose(1, 2), s_p_sq_r)
            + torch.matmul(z_p.transpose(1, 2), m_p * s_p_sq_r)
            + torch.sum(-0.5 * (m_p**2) * s_p_sq_r, [1], keepdim=True)
        )
        attn_mask = torch.unsqueeze(x_mask, 2) * torch.unsqueeze(y_mask, -1)
        return maximum_path(neg_cent, attn_mask.squeeze(1)).unsqueeze(1)


def _pad(tensors: list[torch.Tensor], device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    lengths = torch.tensor([t.shape[-1] for t in tensors], dtype=torch.long)
    out = torch.zeros((len(tensors), *tensors[0].shape[:-1], int(lengths.max())), dtype=tensors[0].dtype)
    for i, t in enumerate(tensors):
        out[i, ..., : t.shape[-1]] = t
    return out.to(device), lengths.to(device)


def _length_buckets(items: list[dict], size: int) -> list[list[int]]:
    """Batches of similar length (little padding): consecutive runs of the length order."""
    order = sorted(range(len(items)), key=lambda i: items[i]["spec"].shape[-1])
    size = max(1, min(size, len(order)))
    return [order[i : i + size] for i in range(0, len(order) - size + 1)]


def _train_mode(model) -> None:
    """Training mode for what learns; the frozen text encoder and duration predictor stay in
    eval mode (their dropout would otherwise change the alignment targets every step)."""
    model.train()
    model.enc_p.eval()
    model.dp.eval()
