"""A project's takes → training utterances, with every problem found before training starts.

Each take is read, checked (takes never checked are checked now, without the slow
reading check), trimmed to its speech, resampled to the model's rate and brought to
the level joe's own output has (the posterior encoder was distilled on that level).
Takes that cannot help are left out with a reason; if too little remains, training
is refused with a message that says what to fix.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from enum import Enum

import numpy as np

from voicestudio.audio.checks import check_take
from voicestudio.audio.cleanup import InvalidAudioError
from voicestudio.audio.denoise import MODEL_KEY, default_denoiser
from voicestudio.audio.io import read_audio, resample, write_audio
from voicestudio.audio.levels import set_speech_level
from voicestudio.constants import MODEL_RATE
from voicestudio.errors import AudioFileError, VoiceStudioError
from voicestudio.project import selection
from voicestudio.project.project import VoiceProject
from voicestudio.safety.consent import ForeignTake


class TrainingDataError(VoiceStudioError):
    """The project's takes cannot train a voice; the message lists what to fix."""


@dataclass(frozen=True)
class DataConfig:
    """Limits on what a take must be to train on. Why these numbers:

    - 16 kHz: below it the upper half of the model's band would be empty.
    - 4-30 phonemes per second of speech: read English runs 10-15; far outside that
      the transcript does not belong to the recording (wrong prompt, cut-off take).
    - 20 s / 4 takes minimum: fewer gives a clone that barely moves from the base voice.
    """

    min_sample_rate: int = 16_000
    min_takes: int = 4
    min_seconds: float = 20.0
    max_take_s: float = 20.0
    min_phonemes_per_s: float = 4.0
    max_phonemes_per_s: float = 30.0
    validation_takes: int = 2  # held out for the similarity reference, never trained on
    # Train on a copy of each take with the room's noise removed (audio.denoise); the take
    # files stay as they are, and the copies are kept in the project's cache.
    denoise: bool = False


class ExclusionReason(Enum):
    """Why a take was left out of training (each exclusion also says it in words)."""

    UNREADABLE = "unreadable"
    LOW_RATE = "low sample rate"
    FAILED_CHECKS = "failed checks"
    TOO_LONG = "too long"
    TRANSCRIPT_MISMATCH = "transcript does not fit"
    FOREIGN_SPEAKER = "someone else's voice"  # the consent gate's screen


@dataclass(frozen=True)
class Exclusion:
    take: str  # the take file, relative to the project
    reason: ExclusionReason
    detail: str  # for people: what is wrong and what to do

    def describe(self) -> str:
        return f"left out {self.take}: {self.detail}"


@dataclass
class Utterance:
    name: str
    text: str
    ids: list[int]
    audio: np.ndarray  # float32 mono at MODEL_RATE, speech only, at the reference level


@dataclass
class TrainingData:
    train: list[Utterance]
    held_out: list[Utterance]
    excluded: list[Exclusion] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return sum(len(u.audio) for u in self.train) / MODEL_RATE

    def fingerprint(self) -> str:
        """Hash of exactly what is trained on (texts and audio), stored with the voice."""
        digest = hashlib.sha256()
        for u in sorted(self.train + self.held_out, key=lambda u: u.name):
            digest.update(u.name.encode())
            digest.update(u.text.encode())
            digest.update(np.ascontiguousarray(u.audio).tobytes())
        return digest.hexdigest()

    def left_out(self, reason: ExclusionReason) -> list[str]:
        """The take files left out for ``reason``."""
        return [e.take for e in self.excluded if e.reason is reason]


def collect(
    project: VoiceProject,
    phoneme_ids: Callable[[list[str]], list[list[int]]],
    level_dbfs: float,
    config: DataConfig | None = None,
    progress: Callable[[int, int], None] | None = None,
    screen: Callable[[list[Utterance]], list[ForeignTake]] | None = None,
) -> TrainingData:
    """The project's chosen takes as utterances, or :class:`TrainingDataError`. ``screen``
    (the consent gate's) names utterances to leave out, with reasons, before the minimums
    and the held-out split apply."""
    config = config or DataConfig()
    chosen = selection.candidates(project)
    if not chosen:
        raise TrainingDataError(
            f"project {project.name!r} has no recorded takes besides the consent statement: "
            "record or import takes first"
        )
    kept: list[Utterance] = []
    excluded: list[Exclusion] = []
    all_ids = phoneme_ids([c.prompt.text for c in chosen])
    for n, (candidate, ids) in enumerate(zip(chosen, all_ids, strict=True)):
        if progress:
            progress(n + 1, len(chosen))
        outcome = _utterance(project, candidate, ids, level_dbfs, config)
        (kept if isinstance(outcome, Utterance) else excluded).append(outcome)
    if screen is not None and kept:
        gone = screen(kept)
        excluded.extend(
            Exclusion(f.take, ExclusionReason.FOREIGN_SPEAKER, f.describe()) for f in gone
        )
        names = {f.take for f in gone}
        kept = [u for u in kept if u.name not in names]
    _refuse_too_little(kept, excluded, config)
    held = _held_out(kept, config)
    return TrainingData(
        train=[u for i, u in enumerate(kept) if i not in held],
        held_out=[u for i, u in enumerate(kept) if i in held],
        excluded=excluded,
    )


def _utterance(project: VoiceProject, candidate: selection.Candidate, ids: list[int],
               level_dbfs: float, config: DataConfig) -> Utterance | Exclusion:
    """One take read, checked (now, without the slow reading check, when it never was),
    trimmed to its speech and brought to the model's rate and level; or why it is left out."""
    take, name = candidate.take, candidate.take.file
    try:
        clip = read_audio(project.take_path(take))
    except (AudioFileError, OSError) as exc:
        return Exclusion(name, ExclusionReason.UNREADABLE, f"cannot be read ({exc})")
    samples, rate = clip.samples, clip.sample_rate
    if rate < config.min_sample_rate:
        return Exclusion(name, ExclusionReason.LOW_RATE,
                         f"recorded at {rate} Hz; at least {config.min_sample_rate} Hz is needed")
    try:
        checked = take.report if take.report is not None else check_take(samples, rate)
    except (ValueError, InvalidAudioError) as exc:
        return Exclusion(name, ExclusionReason.UNREADABLE, str(exc))
    if not selection.may_train(replace(take, report=checked)):
        problems = "; ".join(c.message for c in checked.problems if c.verdict == "fail")
        return Exclusion(name, ExclusionReason.FAILED_CHECKS,
                         f"failed its checks ({problems or 'see the take report'})")
    if config.denoise:
        samples = denoised(project, take, samples, rate)
    start, end = checked.speech_start_s, checked.speech_end_s
    if start is not None and end is not None and end > start:
        samples = samples[int(start * rate) : int(np.ceil(end * rate))]
    seconds = len(samples) / rate
    if seconds > config.max_take_s:
        return Exclusion(name, ExclusionReason.TOO_LONG, f"{seconds:.1f} s is longer than "
                         f"{config.max_take_s:g} s; split it into sentences")
    rate_pps = (len(ids) - 2) / 2 / max(seconds, 1e-3)  # ids interleave pads: ~2 per phoneme
    if not config.min_phonemes_per_s <= rate_pps <= config.max_phonemes_per_s:
        return Exclusion(
            name, ExclusionReason.TRANSCRIPT_MISMATCH,
            f"its transcript does not fit the recording ({rate_pps:.1f} phonemes per second; "
            f"read speech has {config.min_phonemes_per_s:g}-{config.max_phonemes_per_s:g}): "
            f"check that it reads {candidate.prompt.text[:60]!r}",
        )
    audio = resample(samples, rate, MODEL_RATE) if rate != MODEL_RATE else samples
    audio = set_speech_level(audio.astype(np.float32), MODEL_RATE, level_dbfs)
    return Utterance(name, candidate.prompt.text, list(ids), audio)


def _refuse_too_little(
    kept: list[Utterance], excluded: list[Exclusion], config: DataConfig
) -> None:
    seconds = sum(len(u.audio) for u in kept) / MODEL_RATE
    if len(kept) >= config.min_takes and seconds >= config.min_seconds:
        return
    detail = "".join(f"\n  - {e.take}: {e.detail}" for e in excluded[:10])
    more = f"\n  … and {len(excluded) - 10} more" if len(excluded) > 10 else ""
    raise TrainingDataError(
        f"too little usable audio to train: {len(kept)} takes, {seconds:.0f} s "
        f"(at least {config.min_takes} takes and {config.min_seconds:g} s are needed)"
        + (f"; {len(excluded)} takes were left out:{detail}{more}" if excluded else "")
    )


def _held_out(kept: list[Utterance], config: DataConfig) -> set[int]:
    """Indices of the takes held out for the similarity reference: spread over the length
    order, so the reference covers short and long ones; never below the minimum to train."""
    held = min(config.validation_takes, max(0, len(kept) - config.min_takes))
    if not held:
        return set()
    order = sorted(range(len(kept)), key=lambda i: len(kept[i].audio))
    return {order[int(k)] for k in np.linspace(0, len(order) - 1, held + 2)[1:-1].round()}


def denoised(project: VoiceProject, take, samples: np.ndarray, rate: int) -> np.ndarray:
    """``samples`` of ``take`` with the noise removed, from the project's cache when this
    take file was cleaned before (the copy is keyed by the file's SHA-256 and the model)."""
    digest = hashlib.sha256(project.take_path(take).read_bytes()).hexdigest()[:32]
    cached = project.models_dir / "cache" / "denoised" / f"{digest}-{MODEL_KEY}.wav"
    if cached.is_file():
        try:
            clip = read_audio(cached)
            if clip.sample_rate == rate and len(clip.samples) == len(samples):
                return clip.samples
        except AudioFileError:
            pass  # a damaged cache file is made again
    clean = default_denoiser().clean(samples, rate)
    cached.parent.mkdir(parents=True, exist_ok=True)
    write_audio(cached, clean, rate, fmt="float")
    return clean
