"""The consent gate: a voice is trained and exported only for the person who said yes.

Every recording script starts with a consent statement naming the project and the
date. The gate checks, in this order, that the statement prompt has a take; that the
take passed its checks, is not a copy of a training take, and reads the statement (the
speech recognizer runs when the take checks did not); and that it is the voice of the
takes: the cosine of its speaker embedding (the same Resemblyzer encoder as the
similarity score, on onnxruntime) with the mean embedding of the takes must reach
:data:`THRESHOLD`.

It runs three times. When training starts, before anything slow, against up to
:data:`REFERENCE_TAKES` takes spread over the session (:func:`require_consent`). Once
the training data is collected, against every take that will be trained on
(:func:`screen_training_data`): a take further than :data:`TAKE_THRESHOLD` from the
statement is someone else's and is left out with that reason, and training is refused
when that is most of the speech or the rest still does not match. And before the
voice is exported, against the data it was trained on. The voice's sidecar records the
consent take's SHA-256, score and threshold, so a voice can be traced to the statement
that allowed it. (That record guards against mistakes, not against someone editing
the sidecar by hand.)

The thresholds come from ``benchmarks/consent.py`` on ../shared/data/speech; its
figures are in the README.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from voicestudio.errors import AudioFileError, VoiceStudioError

if TYPE_CHECKING:  # the encoder pulls in onnxruntime and the VAD: loaded when a check runs
    from voicestudio.audio.io import Audio
    from voicestudio.evaluate.secs import SpeakerEncoder
    from voicestudio.project.project import Take, VoiceProject
    from voicestudio.training.dataset import TrainingData

#: A clip against the mean of a speaker's takes: the same speaker scored 0.853 or more on the
#: corpus, other speakers 0.731 or less (benchmarks/consent.py). 0.80 sits in that gap, a
#: little nearer the other speakers: a real consent take is read in the same session and room.
THRESHOLD = 0.80
#: The statement against one take: the same speaker's clip pairs scored 0.77 or more in
#: 99.5 % of pairs (0.68 at the lowest, a short take), other speakers' 0.73 or less in 99.9 %.
#: Below 0.70 a take is taken to be someone else's and left out of training.
TAKE_THRESHOLD = 0.70
#: Training is refused when more than this share of the speech is someone else's.
MAX_FOREIGN_SHARE = 0.5
#: Takes of the quick check before training: enough to average out one odd take, few
#: enough to embed in a second or two.
REFERENCE_TAKES = 16
#: Less speech than this gives an unreliable embedding (the statement takes about 7 s).
MIN_CONSENT_S = 2.0
#: A reading-check character error rate above this means the take is not the statement
#: (the take checks' own warning level, calibrated on the corpus).
MAX_READING_CER = 0.65
#: The sidecar key under "voicestudio" that holds :meth:`ConsentCheck.to_dict`.
SIDECAR_KEY = "consent"

_reading_cache: dict[str, tuple[float, str]] = {}  # sha256 of a take -> (CER, what was heard)
_reading_lock = threading.Lock()


class ConsentError(VoiceStudioError):
    """Training or export is refused: no consent take, or one that is not the speaker's."""


@dataclass(frozen=True)
class ConsentCheck:
    """The outcome of comparing a project's consent take with its training takes."""

    take: str
    sha256: str
    similarity: float
    threshold: float
    reference_takes: int
    checked: str
    left_out: tuple[str, ...] = ()  # training takes that were someone else's

    @property
    def verified(self) -> bool:
        return self.similarity >= self.threshold

    def to_dict(self) -> dict[str, Any]:
        """For the voice sidecar: what was checked, against what, and the outcome."""
        record = {**asdict(self), "similarity": round(self.similarity, 4), "verified": self.verified}
        record["left_out"] = list(self.left_out)
        return record

    def describe(self) -> str:
        outcome = "verified" if self.verified else "NOT the same speaker"
        return (f"consent take {self.take}: {outcome} (similarity {self.similarity:.3f} to "
                f"{self.reference_takes} training takes; needs {self.threshold:.2f})")


# ----------------------------------------------------------------------------- which take
def consent_prompt(project: VoiceProject, create: bool = False) -> int | None:
    """The index of the project's consent statement: ``consent_index`` when that prompt is a
    consent statement. A project made by importing a corpus may have none: with ``create``
    the filled-in statement is added as a prompt and remembered."""
    from voicestudio.text.script import is_consent

    index = project.consent_index
    if index is not None and 0 <= index < len(project.prompts) and is_consent(project.prompts[index].text):
        return index
    if not create:
        return None
    index = project.add_prompt(statement_for(project))
    project.consent_index = index
    project.save()
    return index


def statement_for(project: VoiceProject) -> str:
    """The consent statement a project without one gets, filled in for today."""
    from voicestudio.text.script import CONSENT_TEMPLATE, fill_consent

    return fill_consent(CONSENT_TEMPLATE, project.name, datetime.now().date())


def how_to_record(project: VoiceProject, index: int | None) -> str:
    """The ways to record the statement, with this project's prompt number and folder."""
    if index is None:
        return (f"add it from a recording of the speaker reading “{statement_for(project)}”: "
                f"voicestudio project consent \"{project.folder}\" --file STATEMENT.wav")
    return (f"record the consent statement (prompt {index + 1} in the Record panel, or "
            f"`voicestudio record --project \"{project.folder}\" --prompt {index + 1}`), or add a recording "
            f"of it with `voicestudio project consent \"{project.folder}\" --file STATEMENT.wav`")


def consent_take(project: VoiceProject) -> tuple[int, Take]:
    """The consent prompt's chosen take, or :class:`ConsentError` saying what to record."""
    index = consent_prompt(project)
    if index is None:
        raise ConsentError(
            f"project {project.name!r} has no consent statement among its prompts, so VoiceStudio cannot "
            f"tell that the speaker agreed to be cloned; {how_to_record(project, None)}"
        )
    take = project.prompts[index].chosen_take
    if take is None:
        raise ConsentError(
            f"training and exporting a voice need the speaker's recorded consent, and project "
            f"{project.name!r} has none yet: {how_to_record(project, index)}"
        )
    return index, take


def reference_takes(project: VoiceProject, skip: int | None, limit: int = REFERENCE_TAKES) -> list[Path]:
    """Up to ``limit`` chosen training takes spread over the session (not prompt ``skip``,
    not takes whose checks failed unless the user accepted them, not missing files)."""
    paths = _training_take_paths(project, skip)
    if len(paths) <= limit:
        return paths
    return [paths[int(i)] for i in np.linspace(0, len(paths) - 1, limit).round()]


def _training_take_paths(project: VoiceProject, skip: int | None) -> list[Path]:
    paths = []
    for i, prompt in enumerate(project.prompts):
        take = prompt.chosen_take
        if i == skip or i == project.consent_index or take is None:
            continue
        if take.verdict == "fail" and not take.accepted_by_user:
            continue
        try:
            path = project.take_path(take)
        except AudioFileError:  # a link out of the project is never read
            continue
        if path.is_file():
            paths.append(path)
    return paths


# ----------------------------------------------------------------------------- the checks
def check_consent(
    project: VoiceProject,
    encoder: SpeakerEncoder | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> ConsentCheck:
    """Compare the consent take with up to :data:`REFERENCE_TAKES` training takes. Raises
    :class:`ConsentError` when there is nothing to compare (no consent take, no training
    takes) or the take cannot stand as consent (failed checks, a copy of a training take,
    unreadable, too short, reading another text); a comparison that ran is returned,
    verified or not."""
    index = consent_prompt(project)
    if not _training_take_paths(project, index):  # said first: nothing recorded needs takes first
        raise ConsentError(
            f"project {project.name!r} has no recorded takes besides the consent statement: record or "
            "import takes first"
        )
    index, take = consent_take(project)
    data, audio = _consent_recording(project, index, take)
    encoder = _encoder(encoder, cancelled)
    consent = _embed_statement(encoder, audio, take.file, project, index)
    references = reference_takes(project, index)
    from voicestudio.evaluate import secs

    reference = secs.cached_reference_embedding(references, encoder)
    return _check(take.file, data, secs.cosine(consent, reference), len(references))


def require_consent(
    project: VoiceProject,
    encoder: SpeakerEncoder | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> ConsentCheck:
    """:func:`check_consent`, refusing with an explanation when the voices differ."""
    return _refuse_unless_verified(project, check_consent(project, encoder, cancelled))


def screen_training_data(
    project: VoiceProject, data: TrainingData, encoder: SpeakerEncoder | None = None
) -> tuple[TrainingData, ConsentCheck]:
    """Compare the consent take with every take that will be trained on. Takes further than
    :data:`TAKE_THRESHOLD` from it are someone else's: they are left out with that reason
    (training is refused when they are most of the speech); the rest must match the
    statement as a whole (:data:`THRESHOLD`). Returns the data to train on and the check."""
    from voicestudio.evaluate import secs
    from voicestudio.training.dataset import MODEL_RATE

    index, take = consent_take(project)
    digest, audio = _consent_recording(project, index, take)
    encoder = _encoder(encoder, None)
    consent = _embed_statement(encoder, audio, take.file, project, index)
    everything = data.train + data.held_out
    if not everything:
        raise ConsentError(f"project {project.name!r} has no takes to train on")
    embeddings = encoder.embed_many([(u.audio, MODEL_RATE) for u in everything])
    scores = {u.name: float(np.dot(e, consent)) for u, e in zip(everything, embeddings, strict=True)}
    foreign = [u for u in everything if scores[u.name] < TAKE_THRESHOLD]
    foreign_s = sum(len(u.audio) for u in foreign) / MODEL_RATE
    total_s = sum(len(u.audio) for u in everything) / MODEL_RATE
    if foreign_s > MAX_FOREIGN_SHARE * total_s:
        names = ", ".join(u.name for u in foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
        raise ConsentError(
            f"{len(foreign)} of {len(everything)} takes ({100 * foreign_s / total_s:.0f} % of the speech) do not sound "
            f"like the person who recorded the consent statement ({take.file}): {names}. VoiceStudio only clones a "
            f"voice whose owner recorded the consent statement. If it is the same person, "
            f"{how_to_record(project, index)}, with the same microphone and room as the other takes"
        )
    gone = {u.name for u in foreign}
    kept = [u for u in everything if u.name not in gone]
    reason = f"does not sound like the person who recorded the consent statement (similarity {{:.2f}}; below " \
             f"{TAKE_THRESHOLD:.2f} is taken to be someone else)"
    screened = replace(
        data,
        train=[u for u in data.train if u.name not in gone],
        held_out=[u for u in data.held_out if u.name not in gone],
        excluded=list(data.excluded) + [(u.name, reason.format(scores[u.name])) for u in foreign],
    )
    mean = secs.mean_embedding(embeddings[[i for i, u in enumerate(everything) if u.name not in gone]])
    check = _check(take.file, digest, secs.cosine(consent, mean), len(kept), tuple(sorted(gone)))
    return screened, _refuse_unless_verified(project, check)


def add_consent_recording(project: VoiceProject, path: str | Path, encoder: SpeakerEncoder | None = None,
                          asr: bool = True) -> ConsentCheck:
    """Store a recording of the statement (made outside VoiceStudio) as the consent take,
    only once it passes: its take checks, the reading check (``asr``) and the comparison
    with the takes. The statement prompt is added first when the project has none."""
    from voicestudio.audio.checks import check_take
    from voicestudio.audio.io import check_rate, read_audio

    audio = read_audio(path)  # AudioFileError with the reason for anything unreadable
    check_rate(audio.sample_rate)
    index = consent_prompt(project)
    text = project.prompts[index].text if index is not None else statement_for(project)
    report = check_take(audio.samples, audio.sample_rate, text if asr else None)
    label = Path(path).name
    if report.failed:
        problems = "; ".join(c.message for c in report.problems if c.verdict == "fail")
        raise ConsentError(f"{label} cannot be the consent take: it failed its checks ({problems}); nothing was stored")
    if asr and report.asr_text is None:
        raise ConsentError(f"cannot check that {label} reads the consent statement: the speech recognizer did "
                           "not run; reinstall VoiceStudio (make install); nothing was stored")
    if report.asr_text is not None:
        _refuse_misreading(label, reading_error(text, report.asr_text), report.asr_text, "nothing was stored")
    if not _training_take_paths(project, index):
        raise ConsentError(f"project {project.name!r} has no recorded takes besides the consent statement: "
                           "import or record the takes first, then add the statement")
    _refuse_copies(project, hashlib.sha256(Path(path).read_bytes()).hexdigest(), label, index)
    encoder = _encoder(encoder, None)
    from voicestudio.evaluate import secs

    consent = _embed_statement(encoder, audio, label, project, index)
    references = reference_takes(project, index)
    similarity = secs.cosine(consent, secs.cached_reference_embedding(references, encoder))
    check = _check(label, "", similarity, len(references))
    if not check.verified:
        raise ConsentError(f"{_mismatch(check)}; nothing was stored. VoiceStudio only clones a voice whose owner "
                           "recorded the consent statement: add a recording of the same person as the takes")
    index = consent_prompt(project, create=True)
    take = project.add_take(index, audio.samples, audio.sample_rate, report=report.to_dict(),
                            source=f"import:{Path(path).resolve()}")
    stored = hashlib.sha256(project.take_path(take).read_bytes()).hexdigest()  # the take file, as later checks see it
    return replace(check, take=take.file, sha256=stored)


# ----------------------------------------------------------------------------- helpers
def _consent_recording(project: VoiceProject, index: int, take: Take) -> tuple[str, Audio]:
    """(sha256, audio) of a consent take that may stand as consent."""
    from voicestudio.audio.io import read_audio

    if take.verdict == "fail" and not take.accepted_by_user:
        problems = "; ".join(str(c.get("message")) for c in (take.report or {}).get("checks", [])
                             if isinstance(c, dict) and c.get("verdict") == "fail")
        raise ConsentError(f"the consent take {take.file} failed its checks ({problems or 'see the take'}); "
                           f"{how_to_record(project, index)} again")
    try:
        path = project.take_path(take)
        data = path.read_bytes()
        audio = read_audio(path)
    except (AudioFileError, OSError) as exc:
        raise ConsentError(f"the consent take {take.file} cannot be read ({exc}); "
                           f"{how_to_record(project, index)} again") from exc
    digest = hashlib.sha256(data).hexdigest()
    _refuse_copies(project, digest, take.file, index)
    cer, heard = _reading(take, digest, audio, project.prompts[index].text)
    _refuse_misreading(take.file, cer, heard, f"{how_to_record(project, index)} again, reading it as shown")
    return digest, audio


def reading_error(statement: str, heard: str) -> float:
    """Character error rate of what the recognizer heard against the statement, numbers left
    out on both sides: the date is written in digits ("November 29, 2026") and heard as words
    ("twenty nine", "two thousand twenty six", "twenty twenty six"), which would otherwise
    count as errors in every statement."""
    from voicestudio.audio.checks import char_error_rate
    from voicestudio.evaluate.wer import normalize_words

    written = " ".join(w for w in normalize_words(statement) if not w.isdigit())
    spoken = " ".join(w for w in normalize_words(heard) if not _NUMBER_WORD.match(w))
    return char_error_rate(written, spoken)


_NUMBER_WORD = re.compile(
    r"^(zero|oh|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|"
    r"sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred|"
    r"thousand|first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|eleventh|twelfth|"
    r"[a-z]+teenth|[a-z]+tieth|\d+(st|nd|rd|th)?)$"
)


def _reading(take: Take, digest: str, audio: Audio, statement: str) -> tuple[float, str]:
    """How far the consent take's reading is from the statement (:func:`reading_error`), from
    what the take checks heard, else recognized now (once per recording; a missing
    recognizer is a refusal, as the statement cannot be checked)."""
    report = take.report or {}
    heard = report.get("asr_text")
    if isinstance(heard, str):
        return reading_error(statement, heard), heard
    with _reading_lock:
        cached = _reading_cache.get(digest)
    if cached is not None:
        return cached
    try:
        from voicestudio.evaluate.wer import transcribe

        heard = transcribe(audio.samples, audio.sample_rate)
    except ImportError as exc:
        raise ConsentError(f"cannot check that the consent take {take.file} reads the consent statement: the "
                           f"speech recognizer is not installed ({exc}); reinstall VoiceStudio (make install)") from exc
    result = (reading_error(statement, heard), heard)
    with _reading_lock:
        _reading_cache[digest] = result
    return result


def _refuse_misreading(label: str, cer: float, heard: str | None, advice: str) -> None:
    if cer > MAX_READING_CER:
        raise ConsentError(f"{label} does not read the consent statement"
                           + (f" (the recognizer heard {heard!r})" if heard else "") + f"; {advice}")


def _refuse_copies(project: VoiceProject, digest: str, label: str, index: int | None) -> None:
    """A training take cannot double as the statement (it would match itself)."""
    for path in _training_take_paths(project, index):
        if hashlib.sha256(path.read_bytes()).hexdigest() == digest:
            raise ConsentError(f"{label} is the same recording as the training take "
                               f"{path.relative_to(project.folder).as_posix()}: the consent statement must be "
                               "a recording of its own")


def _embed_statement(encoder: SpeakerEncoder, audio: Audio, label: str, project: VoiceProject,
                     index: int | None) -> np.ndarray:
    from voicestudio.evaluate import secs

    try:
        speech = secs.preprocess(audio.samples, audio.sample_rate)
    except VoiceStudioError as exc:
        raise ConsentError(f"the consent take {label} cannot be checked: {exc}; "
                           f"{how_to_record(project, index)} again") from exc
    if len(speech) < MIN_CONSENT_S * secs.SAMPLE_RATE:
        raise ConsentError(
            f"the consent take {label} holds {len(speech) / secs.SAMPLE_RATE:.1f} s of speech, too little to "
            f"recognise a voice (at least {MIN_CONSENT_S:g} s); {how_to_record(project, index)} again, reading "
            "all of it"
        )
    return encoder.embed(audio.samples, audio.sample_rate)


def _encoder(encoder: SpeakerEncoder | None, cancelled: Callable[[], bool] | None) -> SpeakerEncoder:
    if encoder is not None:
        return encoder
    from voicestudio.evaluate import secs

    secs.build_encoder_model_in_subprocess(cancelled=cancelled)
    return secs.default_encoder()


def _check(take: str, digest: str, similarity: float, references: int, left_out: Sequence[str] = ()) -> ConsentCheck:
    return ConsentCheck(take=take, sha256=digest, similarity=similarity, threshold=THRESHOLD,
                        reference_takes=references, checked=datetime.now(UTC).isoformat(timespec="seconds"),
                        left_out=tuple(left_out))


def _mismatch(check: ConsentCheck) -> str:
    return (f"the consent statement ({check.take}) and the training takes do not sound like the same person "
            f"(speaker similarity {check.similarity:.2f}; the gate needs {check.threshold:.2f}, and recordings of "
            "one speaker in one session usually score 0.85 or more)")


def _refuse_unless_verified(project: VoiceProject, check: ConsentCheck) -> ConsentCheck:
    if not check.verified:
        index = consent_prompt(project)
        raise ConsentError(
            f"{_mismatch(check)}. VoiceStudio only clones a voice whose owner recorded the consent statement. If "
            f"it is the same person, {how_to_record(project, index)} again, with the same microphone and room "
            "as the other takes"
        )
    return check


# ----------------------------------------------------------------------------- sidecars
def sidecar_consent(sidecar: dict[str, Any]) -> dict[str, Any] | None:
    """The consent record of a voice sidecar, or None (a voice not trained by VoiceStudio,
    or one trained before consent was checked)."""
    fields = sidecar.get("voicestudio")
    record = fields.get(SIDECAR_KEY) if isinstance(fields, dict) else None
    return record if isinstance(record, dict) else None


def is_clone(sidecar: dict[str, Any]) -> bool:
    """Whether a sidecar describes a voice VoiceStudio trained from someone's takes."""
    fields = sidecar.get("voicestudio")
    provenance = fields.get("provenance") if isinstance(fields, dict) else None
    return isinstance(provenance, dict) and "training_data_sha256" in provenance


def require_exportable(sidecar: dict[str, Any], name: str) -> None:
    """Refuse to export a cloned voice whose sidecar has no verified consent record (a guard
    against mistakes: a sidecar edited by hand can claim anything)."""
    if not is_clone(sidecar):
        return
    record = sidecar_consent(sidecar)
    if record is None or record.get("verified") is not True or not isinstance(record.get("sha256"), str):
        raise ConsentError(
            f"voice {name!r} was cloned from a recording project without a verified consent take (it was "
            "trained before VoiceStudio checked consent, or its record is missing); train it again from a "
            "project with the speaker's consent statement to export it"
        )
