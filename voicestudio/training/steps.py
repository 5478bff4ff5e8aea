"""The fine-tune's loss steps: which parts learn, the training items, and one optimizer step
on a batch, whole takes (``_step``) or crops around the decoder's segment (``_step_cropped``).

The recipe and its reasons are in ``training/finetune.py``'s docstring and
docs/architecture.md, "The speaker model". :class:`LossSteps` is a part of the
:class:`~voicestudio.training.finetune.Trainer` (it reads the trainer's ``config`` and
``_critic``); it is kept here so the trainer's module holds the run, this one the maths.
The order of random draws (``random.randint`` per item in the cropped step, the flow's
and the posterior encoder's noise) is the recipe's: the README's figures were measured with it.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
from piper.train.vits import commons
from piper.train.vits.losses import kl_loss

from voicestudio.training.alignment import maximum_path
from voicestudio.training.dataset import Utterance
from voicestudio.training.errors import TrainingError
from voicestudio.training.features import (
    HOP,
    frame_sync_loss,
    linear_spectrogram,
    mel_spectrogram,
    spec_to_mel,
    stft_loss,
)

if TYPE_CHECKING:
    from voicestudio.training.adversarial import Critic
    from voicestudio.training.finetune import TrainConfig

Losses = tuple[float, float, float]  # (total, mel L1, KL) of a step, for the events


@dataclass
class TrainItem:
    """One utterance as the steps see it (on the CPU; a step moves what it needs)."""

    ids: torch.Tensor  # phoneme ids
    spec: torch.Tensor  # linear spectrogram [bins, frames]
    mel: torch.Tensor  # its mel spectrogram
    audio: torch.Tensor  # the waveform, cut to whole frames
    base: bool = False  # the base voice's speech (mixed fine-tuning), not a take
    # The cropped step's caches (``LossSteps._cache_prior``): the frozen text encoder's
    # hidden states and prior per phoneme, and with the duration anchor the base's durations.
    x_enc: torch.Tensor | None = None
    m_p: torch.Tensor | None = None
    logs_p: torch.Tensor | None = None
    logw_base: torch.Tensor | None = None
    path: torch.Tensor | None = None  # frame → phoneme (``LossSteps._align``)


@dataclass
class Batches:
    """The items a run trains on, in batches of similar length; ``draw`` picks the next."""

    takes: list[TrainItem]
    base: list[TrainItem]  # the base voice's (mixed fine-tuning); often none
    take_batches: list[list[int]]
    base_batches: list[list[int]]

    @classmethod
    def of(cls, takes: list[TrainItem], base: list[TrainItem], size: int) -> Batches:
        base_batches = length_buckets(base, size) if base else []
        return cls(takes, base, length_buckets(takes, size), base_batches)

    @property
    def items(self) -> list[TrainItem]:
        return self.takes + self.base

    def draw(self, rng: random.Random, mix_base: float) -> list[TrainItem]:
        """A batch of the base voice's speech with probability ``mix_base``, else of takes."""
        if self.base_batches and rng.random() < mix_base:
            return [self.base[i] for i in rng.choice(self.base_batches)]
        return [self.takes[i] for i in rng.choice(self.take_batches)]


class LossSteps:
    """The steps of :class:`~voicestudio.training.finetune.Trainer` (see the module docstring)."""

    config: TrainConfig
    _critic: Critic | None

    def _optimizer(self, model) -> torch.optim.Optimizer:
        """AdamW over the parts that learn; the others are frozen here."""
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
        return torch.optim.AdamW(params, lr=self.config.learning_rate, betas=self.config.betas,
                                 eps=1e-9)

    @staticmethod
    def _prepare(utterances: list[Utterance], device: torch.device,
                 base: bool = False) -> list[TrainItem]:
        out = []
        for u in utterances:
            audio = torch.from_numpy(u.audio[: len(u.audio) // HOP * HOP].copy())
            spec = linear_spectrogram(audio[None])[0]
            ids = torch.tensor(u.ids, dtype=torch.long)
            out.append(TrainItem(ids, spec, spec_to_mel(spec), audio, base))
        return out

    # ------------------------------------------------------------------ the whole-take step
    def _step(self, model, optimizer, batch: list[TrainItem], device: torch.device) -> Losses:
        cfg = self.config
        x, x_lengths = pad([b.ids for b in batch], device)
        spec, spec_lengths = pad([b.spec for b in batch], device)
        mel, _ = pad([b.mel for b in batch], device)
        waveform_losses = bool(cfg.c_stft or cfg.c_sync)
        batch_audio = pad([b.audio for b in batch], device)[0][:, None] if waveform_losses else None
        with torch.no_grad():
            x_enc, m_p, logs_p, x_mask = model.enc_p(x, x_lengths)
        if cfg.train_prior:  # the projection again, with its gradient (x_enc is its input)
            m_p, logs_p = _split_prior(model, model.enc_p.proj(x_enc) * x_mask, dim=1)
        z, m_q, logs_q, y_mask = model.enc_q(spec, spec_lengths)
        z_p = model.flow(z, y_mask)
        attn = monotonic_attention(z_p, m_p, logs_p, x_mask, y_mask)
        m_p = torch.matmul(attn.squeeze(1), m_p.transpose(1, 2)).transpose(1, 2)
        logs_p = torch.matmul(attn.squeeze(1), logs_p.transpose(1, 2)).transpose(1, 2)
        segment = min(cfg.segment_frames, int(spec_lengths.min()))
        z_slice, ids_slice = commons.rand_slice_segments(z, spec_lengths, segment)
        audio = model.dec(z_slice)
        y_mel = commons.slice_segments(mel, ids_slice, segment)
        mel_l1 = _mel_l1(y_mel, mel_spectrogram(audio[:, 0]))
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
    def _cache_prior(model, items: list[TrainItem], device: torch.device,
                     anchor: bool = False) -> None:
        """The frozen text encoder's hidden states per take, computed once (it is about a
        tenth of a whole-take step); with ``anchor``, also the base voice's log-durations."""
        with torch.no_grad():
            for item in items:
                ids = item.ids[None].to(device)
                lengths = torch.tensor([ids.shape[-1]], device=device)
                x_enc, m_p, logs_p, mask = model.enc_p(ids, lengths)
                item.x_enc, item.m_p, item.logs_p = x_enc[0], m_p[0], logs_p[0]
                if anchor:
                    item.logw_base = log_durations(model, x_enc, mask)[0, 0].cpu()

    def _prior_of(self, model, item: TrainItem) -> tuple[torch.Tensor, torch.Tensor]:
        """(means, log-scales) of the prior per phoneme: cached, or through the learning
        projection when ``train_prior``."""
        if not self.config.train_prior:
            return item.m_p, item.logs_p
        return _split_prior(model, model.enc_p.proj(item.x_enc[None])[0], dim=0)

    def _align(self, model, items: list[TrainItem], device: torch.device, chunk: int = 4) -> None:
        """Each take's frame-to-phoneme path by monotonic alignment search on the whole take,
        with the model as it is now (no gradients)."""
        was_training = model.enc_q.training
        model.enc_q.eval()
        try:
            with torch.no_grad():
                for start in range(0, len(items), chunk):
                    part = items[start:start + chunk]
                    x, x_lengths = pad([b.ids for b in part], device)
                    spec, spec_lengths = pad([b.spec for b in part], device)
                    _x, m_p, logs_p, x_mask = model.enc_p(x, x_lengths)
                    if self.config.train_prior:
                        m_p, logs_p = _split_prior(model, model.enc_p.proj(_x) * x_mask, dim=1)
                    z, _m_q, _logs_q, y_mask = model.enc_q(spec, spec_lengths)
                    attn = monotonic_attention(model.flow(z, y_mask), m_p, logs_p, x_mask, y_mask)
                    for i, item in enumerate(part):
                        frames, phones = int(spec_lengths[i]), int(x_lengths[i])
                        item.path = attn[i, 0, :frames, :phones].argmax(-1).cpu()
        finally:
            model.enc_q.train(was_training)

    def _step_cropped(self, model, optimizer, batch: list[TrainItem],
                      device: torch.device) -> Losses:
        """One step on crops of ``segment + 2 × context`` frames around the decoder's segment,
        against the prior laid out by each take's stored alignment."""
        cfg = self.config
        context, segment = int(cfg.crop_context_frames), cfg.segment_frames
        window = segment + 2 * context
        specs, mels, priors, logs, crops, starts = [], [], [], [], [], []
        for item in batch:
            frames = item.spec.shape[-1]
            width = min(window, frames)
            crop = random.randint(0, frames - width)
            if width == window:
                seg = context
            else:
                seg = random.randint(0, max(0, width - min(segment, width)))
            path = item.path[crop:crop + width].to(device)
            m_p, logs_p = self._prior_of(model, item)
            specs.append(item.spec[:, crop:crop + width])
            mels.append(item.mel[:, crop:crop + width])
            priors.append(m_p[:, path])
            logs.append(logs_p[:, path])
            crops.append(crop)
            starts.append(seg)
        spec, lengths = pad(specs, device)
        mel, _ = pad(mels, device)
        m_p, _ = pad(priors, device)
        logs_p, _ = pad(logs, device)
        z, _m_q, logs_q, y_mask = model.enc_q(spec, lengths)
        z_p = model.flow(z, y_mask)
        kl = kl_loss(z_p, logs_q, m_p, logs_p, y_mask)
        segment = min(segment, int(lengths.min()))
        ids_slice = torch.tensor(starts, dtype=torch.long, device=device)
        ids_slice = ids_slice.clamp(max=int(lengths.min()) - segment)
        audio = model.dec(commons.slice_segments(z, ids_slice, segment))
        y_mel = commons.slice_segments(mel, ids_slice, segment)
        mel_l1 = _mel_l1(y_mel, mel_spectrogram(audio[:, 0]))
        loss = cfg.c_mel * mel_l1 + cfg.c_kl * kl
        if cfg.c_prior:
            drawn = m_p + torch.randn_like(m_p) * torch.exp(logs_p) * cfg.prior_noise
            z_prior = model.flow(drawn * y_mask, y_mask, reverse=True)
            spoken = model.dec(commons.slice_segments(z_prior, ids_slice, segment))
            spoken = mel_spectrogram(spoken[:, 0])
            loss = loss + cfg.c_prior * _mel_l1(y_mel, spoken)
        if cfg.train_duration:
            loss = loss + self._duration_loss_from_paths(model, batch, device)
        if cfg.c_stft or cfg.c_sync or self._critic is not None:
            segments = zip(crops, ids_slice.tolist(), strict=True)
            offsets = [(crop + int(seg)) * HOP for crop, seg in segments]
            loss = self._waveform_losses(loss, audio, batch, offsets, segment * HOP, device)
        return self._apply(loss, optimizer, mel_l1, kl)

    def _waveform_losses(self, loss: torch.Tensor, audio: torch.Tensor, batch: list[TrainItem],
                         offsets: list[int], samples: int, device: torch.device) -> torch.Tensor:
        """``loss`` plus the cropped step's losses on the waveform against the takes' own
        samples: STFT, frame-rate buzz, and the critic's (which also learns from this batch)."""
        cfg = self.config
        target = torch.stack([b.audio[o:o + samples] for b, o in zip(batch, offsets, strict=True)])
        target = target.to(device)
        if cfg.c_stft:
            loss = loss + cfg.c_stft * stft_loss(audio[:, 0], target)
        if cfg.c_sync:
            loss = loss + cfg.c_sync * frame_sync_loss(audio[:, 0], target, HOP)
        if self._critic is not None:
            self._critic.learn(target[:, None], audio)
            if self._critic.steps > (0 if cfg.prepared_critic else cfg.adv_after_steps):
                loss = loss + cfg.c_adv * self._critic.generator_loss(target[:, None], audio)
        return loss

    def _duration_loss_from_paths(self, model, batch: list[TrainItem],
                                  device: torch.device) -> torch.Tensor:
        x, x_lengths = pad([b.ids for b in batch], device)
        with torch.no_grad():
            x_enc, _m, _l, x_mask = model.enc_p(x, x_lengths)
        w = torch.zeros(x_mask.shape, device=device)
        for i, item in enumerate(batch):
            counts = torch.bincount(item.path, minlength=int(x_lengths[i]))
            w[i, 0, : counts.shape[0]] = counts.to(device)
        if model.use_sdp:
            loss = model.dp(x_enc, x_mask, w).sum() / x_mask.sum()
        else:
            logw = model.dp(x_enc, x_mask)
            loss = torch.sum((logw - torch.log(w + 1e-6) * x_mask) ** 2) / x_mask.sum()
        if self.config.c_duration_anchor and all(item.logw_base is not None for item in batch):
            base, _ = pad([item.logw_base for item in batch], device)
            drift = (log_durations(model, x_enc, x_mask)[:, 0] - base) * x_mask[:, 0]
            loss = loss + self.config.c_duration_anchor * torch.sum(drift**2) / x_mask.sum()
        return loss

    # ------------------------------------------------------------------ shared
    def _apply(self, loss: torch.Tensor, optimizer, mel_l1: torch.Tensor,
               kl: torch.Tensor) -> Losses:
        """Backward and one optimizer step (gradients clipped); the losses for the events."""
        if not torch.isfinite(loss):
            raise TrainingError("training diverged (the loss is not a number); resume from the "
                                "last checkpoint")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        params = [p for g in optimizer.param_groups for p in g["params"]]
        torch.nn.utils.clip_grad_norm_(params, self.config.grad_clip)
        optimizer.step()
        return float(loss.item()), float(mel_l1.item()), float(kl.item())

    @staticmethod
    def _duration_loss(model, x_enc: torch.Tensor, x_mask: torch.Tensor,
                       attn: torch.Tensor) -> torch.Tensor:
        """The duration predictor's loss on the alignment's durations, as VITS trains it."""
        w = attn.sum(2)
        if model.use_sdp:
            return model.dp(x_enc, x_mask, w).sum() / x_mask.sum()
        logw = model.dp(x_enc, x_mask)
        return torch.sum((logw - torch.log(w + 1e-6) * x_mask) ** 2) / x_mask.sum()


def _split_prior(model, stats: torch.Tensor, dim: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The text encoder's projection output as (means, log-scales)."""
    m_p, logs_p = torch.split(stats, model.enc_p.out_channels, dim=dim)
    return m_p, logs_p


def _mel_l1(target: torch.Tensor, produced: torch.Tensor) -> torch.Tensor:
    """Mel L1 over the frames both have."""
    frames = min(target.shape[-1], produced.shape[-1])
    return torch.nn.functional.l1_loss(target[..., :frames], produced[..., :frames])


def log_durations(model, x_enc: torch.Tensor, x_mask: torch.Tensor) -> torch.Tensor:
    """``[b, 1, phonemes]`` log-durations (frames) the duration predictor gives, without noise
    (with gradients, when it learns)."""
    if model.use_sdp:
        return model.dp(x_enc, x_mask, reverse=True, noise_scale=0.0)
    return model.dp(x_enc, x_mask)


def monotonic_attention(z_p, m_p, logs_p, x_mask, y_mask) -> torch.Tensor:
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


def pad(tensors: list[torch.Tensor], device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """The tensors zero-padded along their last axis into one batch, and their lengths."""
    lengths = torch.tensor([t.shape[-1] for t in tensors], dtype=torch.long)
    shape = (len(tensors), *tensors[0].shape[:-1], int(lengths.max()))
    out = torch.zeros(shape, dtype=tensors[0].dtype)
    for i, t in enumerate(tensors):
        out[i, ..., : t.shape[-1]] = t
    return out.to(device), lengths.to(device)


def length_buckets(items: list[TrainItem], size: int) -> list[list[int]]:
    """Batches of similar length (little padding): consecutive runs of the length order."""
    order = sorted(range(len(items)), key=lambda i: items[i].spec.shape[-1])
    size = max(1, min(size, len(order)))
    return [order[i : i + size] for i in range(0, len(order) - size + 1)]


def train_mode(model) -> None:
    """Training mode for what learns; the frozen text encoder and duration predictor stay in
    eval mode (their dropout would otherwise change the alignment targets every step)."""
    model.train()
    model.enc_p.eval()
    model.dp.eval()
