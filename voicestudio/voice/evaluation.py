"""Score a voice against real recordings of its speaker: one table, three rows.

The voice reads each sentence of a texts file (neutral styling) and is scored on
speaker similarity (SECS to the mean embedding of the reference recordings), word
error rate (PocketSphinx), mel-cepstral distortion (against a reference recording of
the same sentence, where there is one) and prosody. Two rows put those numbers in
context: the base voice reading the same sentences (the floor a clone starts from)
and the real recordings themselves (the ceiling: each clip's similarity to the mean
of the others, and the recognizer's WER on real speech, which is far from 0 for
many speakers).

References are a VoiceStudio project (the takes that train, project.selection) or any
folder the importer understands: an LJSpeech ``metadata.csv``, a ``manifest.tsv`` or ``.txt``
transcripts.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from voicestudio.audio.cleanup import InvalidAudioError
from voicestudio.audio.io import read_audio
from voicestudio.audio.recognizer import transcribe
from voicestudio.errors import AudioFileError, VoiceStudioError
from voicestudio.evaluate import DEFAULT_MAX_REFERENCES
from voicestudio.evaluate.buzz import mean_buzz
from voicestudio.evaluate.dnsmos import (
    DnsmosUnavailableError,
    QualityScore,
    default_scorer,
    mean_quality,
)
from voicestudio.evaluate.mcd import mel_cepstral_distortion
from voicestudio.evaluate.prosody import ProsodyAccumulator, ProsodyStats
from voicestudio.evaluate.secs import SpeakerEncoder, cosine, default_encoder, mean_embedding, unit
from voicestudio.project import selection
from voicestudio.project.importer import find_pairs
from voicestudio.project.project import PROJECT_FILE, ProjectError, VoiceProject
from voicestudio.styling.controls import StyleControls
from voicestudio.text.compare import edit_distance, normalize_words
from voicestudio.text.files import read_text_file
from voicestudio.voice.catalog import bundled_voice, load_voice, resolve_voice

#: Real clips the recognizer and DNSMOS are run on for the ceiling (they are the slow steps).
REFERENCE_WER_CLIPS = 10
MAX_TEXTS_FILE_BYTES = 4 << 20

if TYPE_CHECKING:
    from voicestudio.voice.synthesizer import Synthesizer

Progress = Callable[[str], None]


class EvaluationError(VoiceStudioError):
    """The references or the texts to evaluate with are missing or unusable."""


@dataclass(frozen=True)
class ReferenceClip:
    path: Path
    text: str


@dataclass(frozen=True)
class ReferenceSet:
    """Recordings of the speaker with what they say."""

    source: Path
    layout: str
    clips: tuple[ReferenceClip, ...]


@dataclass(frozen=True)
class VoiceScores:
    """A synthetic voice reading the texts. ``mcd_db`` is the mean over the ``mcd_texts``
    sentences that have a reference recording (None when none has)."""

    name: str
    secs: float
    secs_per_text: tuple[float, ...]
    wer: float
    mcd_db: float | None
    mcd_texts: int
    prosody: ProsodyStats
    quality: QualityScore | None = None  # DNSMOS, mean over the texts; None: not installed
    buzz: float | None = None  # evaluate.buzz, median over the texts (natural speech: about 1)


@dataclass(frozen=True)
class RealScores:
    """The references themselves. ``secs_ceiling`` is each clip's similarity to the mean of
    the others, averaged (None with fewer than two clips); ``wer`` is over ``wer_clips`` clips."""

    clips: int
    secs_ceiling: float | None
    wer: float | None
    wer_clips: int
    prosody: ProsodyStats
    quality: QualityScore | None = None  # DNSMOS over the ``wer_clips`` clips
    buzz: float | None = None


@dataclass(frozen=True)
class EvaluationReport:
    reference: str
    texts: tuple[str, ...]
    voice: VoiceScores
    floor: VoiceScores | None
    real: RealScores
    seconds: float
    notes: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def format_table(self) -> str:
        """A plain-text table, one row per voice, then what the columns mean."""
        header = (f"{'':30} {'SECS':>6} {'OVRL':>5} {'SIG':>5} {'WER':>6} {'MCD dB':>7} "
                  f"{'buzz':>5} {'F0 med':>7} {'F0 p10-p90':>12} {'range':>6} {'rate':>6}")
        units = (f"{'':30} {'':>6} {'':>5} {'':>5} {'':>6} {'':>7} {'':>5} {'Hz':>7} {'Hz':>12} "
                 f"{'st':>6} {'ph/s':>6}")
        v = self.voice
        rows = [_row(f"voice {v.name}", v.secs, v.quality, v.wer, v.mcd_db, v.buzz, v.prosody)]
        if self.floor is not None:
            f = self.floor
            rows.append(_row(f"base voice {f.name}", f.secs, f.quality, f.wer, f.mcd_db, f.buzz,
                             f.prosody))
        r = self.real
        rows.append(_row("real speech (ceiling)", r.secs_ceiling, r.quality, r.wer, None, r.buzz,
                         r.prosody))
        mcd_note = (f"against the reference recording of the same sentence "
                    f"({self.voice.mcd_texts} of {len(self.texts)} "
                    f"sentence{'s' if len(self.texts) != 1 else ''} have one)")
        n = len(self.texts)
        lines = [
            f"{self.voice.name} against {self.reference}: {self.real.clips} reference clips, "
            f"{n} sentence{'s' if n != 1 else ''} (scored in {self.seconds:.0f} s)",
            "",
            header,
            units,
            *rows,
            "",
            "SECS  speaker similarity (Resemblyzer cosine) to the mean of the references; for real "
            "speech, each clip to the mean of the others",
            "OVRL, SIG  DNSMOS P.835 overall and speech-signal quality, 1 (bad) .. 5 (excellent), "
            f"from the audio alone (real speech: {self.real.wer_clips} clips)",
            f"WER   word error rate by PocketSphinx (real speech: {self.real.wer_clips} clips)",
            f"MCD   mel-cepstral distortion {mcd_note}",
            "buzz  power repeating with the decoder's 256-sample frame (86 Hz at 22.05 kHz), "
            "natural speech about 1",
            "F0    pitch over voiced frames (median, 10th-90th percentile, their range in "
            "semitones); rate: phonemes per second of speech",
        ]
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)


def _row(label: str, secs: float | None, quality: QualityScore | None, wer: float | None,
         mcd: float | None, buzz: float | None, p: ProsodyStats) -> str:
    def num(value: float | None, width: int, digits: int) -> str:
        return f"{value:>{width}.{digits}f}" if value is not None else f"{'-':>{width}}"

    known = p.f0_p10_hz is not None and p.f0_p90_hz is not None
    f0_span = f"{p.f0_p10_hz:.0f}-{p.f0_p90_hz:.0f}" if known else "-"
    ovrl, sig = (quality.ovrl, quality.sig) if quality is not None else (None, None)
    return (f"{label[:30]:30} {num(secs, 6, 3)} {num(ovrl, 5, 2)} {num(sig, 5, 2)} "
            f"{num(wer, 6, 3)} {num(mcd, 7, 2)} {num(buzz, 5, 2)} {num(p.f0_median_hz, 7, 1)} "
            f"{f0_span:>12} {num(p.f0_range_st, 6, 1)} {num(p.speaking_rate_pps, 6, 1)}")


def quality_of(clips: list[tuple[np.ndarray, int]],
               notes: list[str] | None = None) -> QualityScore | None:
    """DNSMOS over ``clips``, or None (with a note) when its models are not installed."""
    try:
        return mean_quality(clips, default_scorer())
    except DnsmosUnavailableError as exc:
        if notes is not None and str(exc) not in notes:
            notes.append(f"no quality score: {exc}")
        return None


# ----------------------------------------------------------------------------- inputs


def text_key(text: str) -> str:
    """What two transcripts must share to count as the same sentence (case, punctuation ignored)."""
    return " ".join(normalize_words(text))


def load_reference_set(spec: str | Path) -> ReferenceSet:
    """A project folder or name, or a folder of recordings with transcripts."""

    path = Path(spec).expanduser()
    if (path.is_dir() and (path / PROJECT_FILE).is_file()) or not path.exists():
        try:
            project = VoiceProject.open(spec)
        except ProjectError as exc:
            if path.exists():
                raise
            raise EvaluationError(f"reference recordings not found: {spec} is neither a folder "
                                  "nor a project name") from exc
        clips = tuple(ReferenceClip(path, candidate.prompt.text)
                      for candidate, path in selection.training_files(project))
        source, layout = project.folder, "VoiceStudio project"
    else:
        if not path.is_dir():
            raise EvaluationError(
                f"{path} is a file; give the folder of reference recordings (or a project)")
        layout, pairs = find_pairs(path)
        clips = tuple(ReferenceClip(audio, text) for audio, text in pairs
                      if text.strip() and audio.is_file())
        source = path
    if not clips:
        raise EvaluationError(f"no usable reference recordings with transcripts in {source}")
    return ReferenceSet(source, layout, clips)


def read_texts(path: str | Path) -> list[str]:
    """Sentences to synthesize: one per line; blank lines and lines starting with # are skipped."""
    content = read_text_file(Path(path), MAX_TEXTS_FILE_BYTES, "texts file", EvaluationError)
    texts = [line.strip() for line in content.splitlines()
             if line.strip() and not line.lstrip().startswith("#")]
    if not texts:
        raise EvaluationError(f"texts file {path} has no sentences (one per line)")
    return texts


def spread(items: Sequence, limit: int | None) -> list:
    """At most ``limit`` items, evenly spread over the sequence (all when ``limit`` is None)."""
    if limit is None or len(items) <= limit:
        return list(items)
    if limit < 1:
        raise ValueError("limit must be at least 1")
    return [items[i] for i in np.linspace(0, len(items) - 1, limit).round().astype(int)]


# ----------------------------------------------------------------------------- scoring


def score_voice(
    synth: Synthesizer,
    texts: Sequence[str],
    reference_embedding: np.ndarray,
    references_by_text: dict[str, ReferenceClip],
    encoder: SpeakerEncoder,
    progress: Progress | None = None,
    notes: list[str] | None = None,
) -> VoiceScores:
    """Synthesize every text with ``synth`` (neutral styling) and score the audio."""
    name = synth.voice.name
    rate = synth.sample_rate
    controls = StyleControls()
    prosody = ProsodyAccumulator(synth.voice.config.espeak_voice or "en-us")
    clips, errors, words, mcds = [], 0, 0, []
    for i, text in enumerate(texts, start=1):
        if progress:
            progress(f"{name}: sentence {i}/{len(texts)}")
        audio = np.concatenate([chunk.samples for chunk in synth.synthesize(text, controls)])
        clips.append((audio, rate))
        reference = normalize_words(text)
        errors += edit_distance(reference, normalize_words(transcribe(audio, rate)))
        words += len(reference)
        prosody.add(audio, rate, text)
        match = references_by_text.get(text_key(text))
        if match is not None:
            try:
                ref = read_audio(match.path)
                mcds.append(mel_cepstral_distortion(ref.samples, ref.sample_rate, audio, rate))
            except InvalidAudioError as exc:  # no speech found in one of the two
                if notes is not None:
                    notes.append(f"no MCD for {text[:40]!r} ({name}): {exc}")
    per_text = tuple(float(e @ reference_embedding) for e in encoder.embed_many(clips))
    if progress:
        progress(f"{name}: quality")
    return VoiceScores(
        name=name,
        secs=float(np.mean(per_text)),
        secs_per_text=per_text,
        wer=errors / words if words else 0.0,
        mcd_db=float(np.mean(mcds)) if mcds else None,
        mcd_texts=len(mcds),
        prosody=prosody.stats(),
        quality=quality_of(clips, notes),
        buzz=mean_buzz(clips),
    )


def leave_one_out_similarity(embeddings: np.ndarray) -> float | None:
    """Mean over clips of the cosine between a clip and the mean of all the others."""
    if len(embeddings) < 2:
        return None
    total = embeddings.sum(axis=0)
    return float(np.mean([cosine(e, unit(total - e)) for e in embeddings]))


def score_references(
    refs: ReferenceSet,
    chosen: Sequence[ReferenceClip],
    sentences: Sequence[str],
    encoder: SpeakerEncoder,
    language: str,
    progress: Progress | None,
    notes: list[str],
) -> tuple[RealScores, np.ndarray]:
    """The ceiling row from the real recordings ``chosen`` (embeddings, pitch and tempo, the
    recognizer on a few of them), and the mean embedding a voice is compared with."""
    wanted = {text_key(t) for t in sentences}
    # Recognizer on real speech: the sentences the voice reads first, then clips spread over
    # the set.
    wer_clips = [c for c in chosen if text_key(c.text) in wanted][:REFERENCE_WER_CLIPS]
    wer_clips += [c for c in spread(chosen, REFERENCE_WER_CLIPS) if c not in wer_clips]
    wer_clips = wer_clips[:REFERENCE_WER_CLIPS]
    audio, prosody = [], ProsodyAccumulator(language)
    recognized_audio: list[tuple[np.ndarray, int]] = []
    errors = words = 0
    for i, clip in enumerate(chosen, start=1):
        if progress and (i == len(chosen) or i % 10 == 0):
            progress(f"references: {i}/{len(chosen)}")
        try:
            a = read_audio(clip.path)
            if not np.any(a.samples):
                raise InvalidAudioError("the recording is silent")
            prosody.add(a.samples, a.sample_rate, clip.text)
        except (AudioFileError, InvalidAudioError) as exc:
            notes.append(f"skipped reference {clip.path.name}: {exc}")
            continue
        audio.append(a)
        if clip in wer_clips:
            ref_words = normalize_words(clip.text)
            heard = normalize_words(transcribe(a.samples, a.sample_rate))
            errors += edit_distance(ref_words, heard)
            words += len(ref_words)
            recognized_audio.append((a.samples, a.sample_rate))
    if len(audio) < 2:
        raise EvaluationError(f"fewer than 2 readable reference recordings in {refs.source}")
    embeddings = encoder.embed_many(audio)
    real = RealScores(
        clips=len(audio),
        secs_ceiling=leave_one_out_similarity(embeddings),
        wer=errors / words if words else None,
        wer_clips=len(recognized_audio),
        prosody=prosody.stats(),
        quality=quality_of(recognized_audio, notes),
        buzz=mean_buzz([(a.samples, a.sample_rate) for a in audio]),
    )
    return real, mean_embedding(embeddings)


def evaluate_voice(
    voice: str | None,
    reference: str | Path | ReferenceSet,
    texts: Sequence[str] | str | Path,
    floor: bool = True,
    max_references: int | None = DEFAULT_MAX_REFERENCES,
    encoder: SpeakerEncoder | None = None,
    provider: str = "auto",
    progress: Progress | None = None,
) -> EvaluationReport:
    """Score ``voice`` (a spec :func:`~voicestudio.voice.catalog.load_voice` accepts) against
    ``reference`` on ``texts`` (sentences, or a file of them). See the module docstring."""
    from voicestudio.voice.synthesizer import Synthesizer

    started = time.monotonic()
    if max_references is not None and max_references < 2:
        raise EvaluationError("at least 2 reference recordings are needed (--max-references)")
    if isinstance(texts, str | Path):
        sentences = read_texts(texts)
    else:
        sentences = [t.strip() for t in texts if t.strip()]
    if not sentences:
        raise EvaluationError("no sentences to evaluate with")
    refs = reference if isinstance(reference, ReferenceSet) else load_reference_set(reference)
    model = load_voice(voice, provider=provider)  # a bad voice fails before the slow work
    encoder = encoder or default_encoder()
    notes: list[str] = []

    by_text: dict[str, ReferenceClip] = {}
    for clip in refs.clips:
        by_text.setdefault(text_key(clip.text), clip)
    chosen = spread(refs.clips, max_references)
    language = model.config.espeak_voice or "en-us"
    real, target = score_references(refs, chosen, sentences, encoder, language, progress, notes)

    voice_scores = score_voice(Synthesizer(model), sentences, target, by_text, encoder, progress,
                               notes)
    floor_scores = None
    if floor:
        if resolve_voice(voice).model_path.resolve() == bundled_voice().model_path.resolve():
            notes.append("the voice is the base voice, so there is no separate floor row")
        else:
            base = Synthesizer(load_voice(None, provider=provider))
            floor_scores = score_voice(base, sentences, target, by_text, encoder, progress, notes)
    return EvaluationReport(
        reference=f"{refs.source} ({refs.layout})",
        texts=tuple(sentences),
        voice=voice_scores,
        floor=floor_scores,
        real=real,
        seconds=time.monotonic() - started,
        notes=tuple(notes),
    )
