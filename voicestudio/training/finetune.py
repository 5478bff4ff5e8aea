"""Fine-tune the base VITS voice on a project's takes.

The base voice is "joe", Piper's en_US-joe-medium (bundled with VoiceStudio): every clone
starts from his weights. Recipe (docs/architecture.md, "The speaker model"): the text
encoder and duration predictor stay frozen (joe's pronunciation and rhythm), the posterior
encoder and decoder learn the new voice from 45 × mel L1 on a decoder segment + KL to the
prior, with the text-to-frame alignment found by monotonic alignment search. The
feasibility run's discriminator (VITS' own, 47 M parameters) tripled the step time and
gained nothing within 15 minutes; a 0.3 M-parameter STFT one (``c_adv``,
training.adversarial) costs 2.6× per step and keeps the clone's quality near the base
voice's, so it is on. Each step sees crops around its decoder segment
(``crop_context_frames``), and the decoder's upsampling stays as the base has it
(``train_upsampling``): the README's "What was tried" has the figures.

The flow stays frozen too. Trained, it learns to map the prior to latents that barely
change from frame to frame; the decoder then repeats itself every 256 samples and the
clone buzzes at the 86 Hz frame rate (RAPT reads that buzz as the pitch: 83-90 Hz
p10-p90 for pmatthes, whose real range is 5.6 semitones). With the flow frozen, 150
steps on pmatthes gave SECS 0.849 (0.834 trained), a natural 78-106 Hz range and a
third of the buzz. ``c_sync`` (a loss on the frame-synchronous average) is on;
``c_stft`` (multi-resolution STFT) cost similarity in the first recipe and stays off.

The :class:`Trainer` knows nothing of Qt: it reports typed events
(:mod:`voicestudio.training.events`) through a callback and stops when its cancel flag is
set. A run goes through its phases in order: the consent gate, the base model, the data,
the start (fresh or resumed) state, the loop, the finish. The loss steps are in
:mod:`~voicestudio.training.steps`, the run's state in :mod:`~voicestudio.training.run_state`,
and ``training.job.train_and_publish`` is the run the CLI and the GUI start.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from voicestudio.audio.io import write_audio
from voicestudio.constants import MODEL_RATE
from voicestudio.errors import VoiceStudioError
from voicestudio.evaluate.secs import default_encoder
from voicestudio.project.project import VoiceProject
from voicestudio.safety.consent import ConsentError, ConsentScreen, require_consent
from voicestudio.threads import training_threads
from voicestudio.training.adversarial import Critic
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
from voicestudio.training.errors import TrainingError
from voicestudio.training.events import (
    BaseVoiceMixedIn,
    CheckpointSaved,
    ConsentVerified,
    DataReady,
    Event,
    Failed,
    Finished,
    HighBaseChosen,
    Loss,
    PreviewReady,
    Progress,
    Resumed,
    ScoreUnavailable,
    Stage,
    StageKind,
    TakeLeftOut,
    TakesScreened,
)
from voicestudio.training.register import RegisterConfig
from voicestudio.training.run_state import CHECKPOINT_FORMAT, Every, RunState, WeightAverage
from voicestudio.training.steps import Batches, LossSteps, train_mode

PREVIEW_TEXT = "The quick brown fox jumps over the lazy dog, and my own voice reads it aloud."
VALIDATION_TEXTS = (
    PREVIEW_TEXT,
    "Please call Stella and ask her to bring these things with her from the store.",
    "We will meet again on Thursday afternoon, when the weather should be better.",
)


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


@dataclass
class TrainResult:
    best_path: Path
    best_step: int
    similarity: float | None
    steps: int
    cancelled: bool
    data: TrainingData


def pick_device(choice: str) -> torch.device:
    if choice not in ("auto", "cpu", "cuda"):
        raise TrainingError(f"unknown device {choice!r}: choose auto, cpu or cuda")
    if choice == "cuda" and not torch.cuda.is_available():
        raise TrainingError("CUDA was asked for, but torch finds no usable NVIDIA GPU here; "
                            "use --device cpu")
    if choice == "cuda" or (choice == "auto" and torch.cuda.is_available()):
        return torch.device("cuda")
    return torch.device("cpu")


def training_dir(project: VoiceProject) -> Path:
    return project.models_dir / "training"


@dataclass(frozen=True)
class _Scoring:
    """What an evaluation measures against: the validation sentences' phoneme ids and the
    speaker's embedding (None: the similarity score is unavailable)."""

    validation_ids: list[list[int]]
    reference: np.ndarray | None


# ----------------------------------------------------------------------------- trainer
class Trainer(LossSteps):
    """Fine-tunes one project. ``run()`` blocks; call :meth:`cancel` from any thread (or set
    ``stop``, a ``threading.Event`` the caller shares)."""

    def __init__(self, project: VoiceProject, config: TrainConfig | None = None,
                 on_event: Callable[[Event], None] | None = None,
                 stop: threading.Event | None = None) -> None:
        self.project = project
        self.config = config or TrainConfig()
        self._emit = on_event or (lambda event: None)
        self._cancel = stop if stop is not None else threading.Event()
        self.folder = training_dir(project)
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
        """Train; a :class:`Failed` event precedes every error a user can act on."""
        try:
            return self._run(resume)
        except TrainingCancelled:
            raise
        except VoiceStudioError as exc:
            self._emit(Failed(str(exc), exc.refusal if isinstance(exc, ConsentError) else None))
            raise
        except torch.cuda.OutOfMemoryError as exc:
            message = ("the GPU ran out of memory; train on the CPU (--device cpu) or close other "
                       "GPU programs")
            self._emit(Failed(message))
            raise TrainingError(message) from exc
        except MemoryError as exc:
            message = ("the computer ran out of memory while training; close other programs and "
                       "resume")
            self._emit(Failed(message))
            raise TrainingError(message) from exc

    def _run(self, resume: bool) -> TrainResult:
        cfg = self.config
        device = pick_device(cfg.device)
        with torch_threads(cfg.threads or training_threads()):
            self._check_consent()
            model, level, critic_weights = self._prepare_base(resume)
            data, base_utterances = self._collect_data(model, level)
            if not resume:
                model = self._start_model(model, data)
            run = self._start_state(model, data.fingerprint(), device, resume, critic_weights)
            reference = self._reference_embedding(data)
            scoring = _Scoring(joe_phoneme_ids(list(VALIDATION_TEXTS)), reference)
            batches = self._batches(run, data, base_utterances, device)
            cancelled, evaluated_step = self._loop(run, batches, scoring, device)
            return self._finish(run, data, scoring, device, cancelled, evaluated_step)

    # ------------------------------------------------------------------ phases
    def _check_consent(self) -> None:
        """The speaker's own statement, checked before anything slow."""
        self._emit(Stage(StageKind.CONSENT, 0.0, "checking the speaker's consent statement"))
        self._emit(ConsentVerified.of(require_consent(self.project, default_encoder())))

    def _base_progress(self, _step: str, fraction: float, message: str) -> None:
        """The preparations' progress callback (base, critic, high base) as base-stage events."""
        self._emit(Stage(StageKind.BASE, fraction, message))

    def _prepare_base(self, resume: bool) -> tuple[object, float, dict | None]:
        """The base model (prepared once per machine) and its reference level; the prepared
        critic's weights when a fresh run starts from one."""
        cfg = self.config
        ensure_base(cfg.base, self._base_progress, self._cancel.is_set)
        model, base_meta = load_base()
        level = float(base_meta["reference_level_dbfs"])
        critic_weights = None
        if cfg.c_adv and cfg.prepared_critic and not resume:
            critic_weights = ensure_critic(model, level, cfg.critic, self._base_progress,
                                           self._cancel.is_set)
        return model, level, critic_weights

    def _collect_data(self, model, level: float) -> tuple[TrainingData, list[Utterance]]:
        """The takes, fully validated and screened against the consent statement before the
        first step; with mixed fine-tuning, the base voice's own utterances too."""
        cfg = self.config
        self._emit(Stage(StageKind.DATA, 0.0, "checking takes"))
        screen = ConsentScreen(self.project, default_encoder())  # every take against the statement

        def checked(n: int, total: int) -> None:
            self._emit(Stage(StageKind.DATA, n / total, f"checked take {n} of {total}"))

        data = collect(self.project, joe_phoneme_ids, level, cfg.data, checked, screen)
        if screen.check is not None:
            self._emit(TakesScreened.of(screen.check))
        for exclusion in data.excluded:
            self._emit(TakeLeftOut.of(exclusion))
        self._emit(DataReady(len(data.train), data.seconds))
        if cfg.mix_base <= 0:
            return data, []
        from voicestudio.training.base_corpus import base_utterances

        self._emit(BaseVoiceMixedIn(cfg.mix_base_texts))
        return data, base_utterances(model, cfg.mix_base_texts, level, seed=cfg.seed)

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
            self._emit(HighBaseChosen(f0, HIGH_VOICE_HZ))
        if not is_high_base_prepared():
            high = self.config.high_base
            config = replace(high, threads=high.threads or self.config.threads)
            prepare_high_base(config, self._base_progress, self._cancel.is_set)
        return load_high_base()[0]

    def _start_state(self, model, fingerprint: str, device: torch.device, resume: bool,
                     critic_weights: dict | None) -> RunState:
        """A fresh run's state, or the saved one (``resume``); seeds the batch order and
        torch's generator (the same for a run and its resumption at the same step)."""
        cfg = self.config
        self.folder.mkdir(parents=True, exist_ok=True)
        remove_stale_temporaries(self.folder)
        best = BestSoFar(CheckpointChoice(cfg.keep))
        model.to(device)
        run = RunState(model, self._optimizer(model), fingerprint, best, random.Random(cfg.seed))
        torch.manual_seed(cfg.seed)
        saved = self._restore(run) if resume else {}
        if cfg.ema_decay:
            run.average = WeightAverage(model, cfg.ema_decay, saved.get("ema"))
        if cfg.c_adv:
            run.critic = Critic(device, cfg.betas, saved.get("critic"), critic_weights)
        self._critic = run.critic  # the steps read it
        return run

    def _restore(self, run: RunState) -> dict:
        """The saved state into ``run``, refused when it does not fit this run; the state."""
        cfg = self.config
        if not self.state_path.is_file():
            raise TrainingError(f"nothing to resume in {self.folder}: start a new training instead")
        state = load_state(self.state_path)
        if state.get("data_fingerprint") != run.fingerprint:
            raise TrainingError(
                "the project's takes changed since this training started; start a new training "
                "(the old result stays until the new one is better)"
            )
        run.model.load_state_dict(state["model"])
        try:
            run.optimizer.load_state_dict(state["optimizer"])
        except ValueError as exc:  # another set of parts was learning (an older recipe)
            raise TrainingError(
                "this training was started with different settings (other parts of the model "
                "were learning); start a new training (the old result stays until the new one "
                "is better)"
            ) from exc
        run.step, run.elapsed_before_s = int(state["step"]), float(state["elapsed_s"])
        run.best = BestSoFar.from_state(CheckpointChoice(cfg.keep), state)
        run.rng.seed(cfg.seed + run.step)
        torch.manual_seed(cfg.seed + run.step)
        self._emit(Resumed(run.step))
        return state

    def _batches(self, run: RunState, data: TrainingData, base_utterances: list[Utterance],
                 device: torch.device) -> Batches:
        """The training items in length buckets; for the cropped step, their cached prior and
        their first alignment."""
        cfg = self.config
        takes = self._prepare(data.train, device)
        base = self._prepare(base_utterances, device, base=True)
        batches = Batches.of(takes, base, cfg.batch_size)
        if cfg.crop_context_frames is not None:
            anchor = cfg.train_duration and cfg.c_duration_anchor > 0
            self._cache_prior(run.model, batches.items, device, anchor)
            self._align(run.model, batches.items, device)
        return batches

    def _loop(self, run: RunState, batches: Batches, scoring: _Scoring,
              device: torch.device) -> tuple[bool, int]:
        """Steps until the budget is spent or the run is cancelled; (cancelled, the step last
        evaluated). The first step is always evaluated: a preview right away."""
        cfg = self.config
        cropped = cfg.crop_context_frames is not None
        realign = Every(cfg.realign_every_s, None)
        evaluations = Every(cfg.evaluate_every_s, cfg.evaluate_every_steps, run.step)
        checkpoints = Every(cfg.checkpoint_every_s, cfg.checkpoint_every_steps, run.step)
        run.started = time.monotonic()
        train_mode(run.model)
        step_fn = self._step_cropped if cropped else self._step
        while self._fraction(run.step, run.elapsed_s()) < 1.0:
            if self.cancelled:
                return True, evaluations.last_step
            batch = batches.draw(run.rng, cfg.mix_base)
            if cropped and realign.due(run.step, time.monotonic()):
                self._align(run.model, batches.items, device)
                realign.done(run.step)
            self._train_step(run, step_fn, batch, device)
            now = time.monotonic()
            if evaluations.due(run.step, now) or run.step == 1:
                with run.averaged():
                    self._evaluate_and_keep(run, scoring, device)
                evaluations.done(run.step)
            if checkpoints.due(run.step, now):
                self._save_state(run)
                checkpoints.done(run.step)
        return False, evaluations.last_step

    def _train_step(self, run: RunState, step_fn, batch, device: torch.device) -> None:
        """One optimizer step, the weight average's update, and their events."""
        total, mel_l1, kl = step_fn(run.model, run.optimizer, batch, device)
        if run.average is not None:
            run.average.update(run.model)
        run.step += 1
        self._emit(Loss(run.step, total, mel_l1, kl))
        elapsed = run.elapsed_s()
        fraction = self._fraction(run.step, elapsed)
        eta = elapsed * (1 - fraction) / fraction if fraction > 0 else None
        self._emit(Progress(run.step, min(1.0, fraction), elapsed, eta))

    def _finish(self, run: RunState, data: TrainingData, scoring: _Scoring, device: torch.device,
                cancelled: bool, evaluated_step: int) -> TrainResult:
        """The last evaluation and state, so nothing done is lost."""
        with run.averaged():
            if run.step > evaluated_step and not cancelled:
                self._evaluate_and_keep(run, scoring, device)
            if not self.best_path.is_file():  # cancelled before the first evaluation
                self._save_best(run)
        self._save_state(run)
        best = run.best
        self._emit(Finished(best.step, best.similarity, cancelled, run.step))
        return TrainResult(self.best_path, best.step, best.similarity, run.step, cancelled, data)

    # ------------------------------------------------------------------ pieces
    def _fraction(self, step: int, elapsed_s: float) -> float:
        if self.config.steps is not None:
            return step / max(1, self.config.steps)
        return elapsed_s / max(1e-9, self.config.minutes * 60.0)

    def _reference_embedding(self, data: TrainingData) -> np.ndarray | None:
        clips = data.held_out or data.train[:5]
        try:
            encoder = default_encoder()
        except VoiceStudioError as exc:
            self._emit(ScoreUnavailable(str(exc)))
            return None
        return encoder.embed_speaker([(u.audio, MODEL_RATE) for u in clips])

    def _evaluate_and_keep(self, run: RunState, scoring: _Scoring, device: torch.device) -> None:
        """Evaluate the model as it is (call it with the average applied); keep it when best."""
        evaluation = self._evaluate(run.model, run.step, scoring.validation_ids, scoring.reference,
                                    device)
        if run.best.offer(evaluation):
            self._save_best(run)

    def _evaluate(self, model, step: int, validation_ids: list[list[int]],
                  reference: np.ndarray | None, device: torch.device) -> Evaluation:
        """Synthesize the validation sentences; save the first as this step's preview; their
        mean similarity to the speaker and mean quality."""
        model.eval()
        clips = [synthesize(model, ids, device) for ids in validation_ids]
        train_mode(model)
        previews = self.folder / "previews"
        previews.mkdir(parents=True, exist_ok=True)
        preview_path = previews / f"step-{step:06d}.wav"
        write_audio(preview_path, clips[0], MODEL_RATE)
        score = None
        if reference is not None:
            encoder = default_encoder()
            score = float(np.mean([float(np.dot(encoder.embed(c, MODEL_RATE), reference))
                                   for c in clips]))
        quality = _quality(clips)
        self._emit(PreviewReady(step, preview_path, score, quality))
        return Evaluation(step, score, quality)

    def _save_best(self, run: RunState) -> None:
        save_state(self.best_path, run.kept(json.dumps(asdict(self.config))))
        self._emit(CheckpointSaved(run.step, self.best_path, True))

    def _save_state(self, run: RunState) -> None:
        save_state(self.state_path, run.checkpoint())
        self._emit(CheckpointSaved(run.step, self.state_path, False))


def _quality(clips: list[np.ndarray]) -> float | None:
    """Mean DNSMOS overall quality of the validation clips, or None without its models."""
    from voicestudio.evaluate.dnsmos import DnsmosUnavailableError, mean_quality

    try:
        return mean_quality([(c, MODEL_RATE) for c in clips]).ovrl
    except DnsmosUnavailableError:
        return None


def synthesize(model, ids: list[int], device: torch.device, noise_scale: float = 0.667,
               seed: int = 0) -> np.ndarray:
    """One utterance from the torch model, reproducibly (fixed noise seed)."""
    generator_state = torch.get_rng_state()
    torch.manual_seed(seed)
    try:
        with torch.no_grad():
            x = torch.tensor([ids], dtype=torch.long, device=device)
            lengths = torch.tensor([len(ids)], device=device)
            audio = model.infer(x, lengths, noise_scale=noise_scale, noise_scale_w=0.8)[0]
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
