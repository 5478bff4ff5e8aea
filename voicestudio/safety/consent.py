"""The consent gate: a voice is trained and exported only for the person who said yes.

Every recording script starts with VoiceStudio's consent statement, fixed wording that
names the project and the date. The statement's take must have passed its checks, read
the statement (the speech recognizer runs on it when the take checks did not) and not
be a copy of a training take. Then it is compared by voice, with the Resemblyzer
encoder of the similarity score (onnxruntime), with each take:

* a take scoring under :data:`TAKE_THRESHOLD` against the statement is someone else's:
  it is left out of training, named, with that reason; when such takes are most of the
  speech (:data:`MAX_FOREIGN_SHARE`), training is refused;
* the statement against the mean embedding of the other takes must reach
  :data:`THRESHOLD`.

The comparison runs when training starts, on the take files, before anything slow
(:func:`require_consent`, also ``voicestudio project consent``); on the collected
training data, whose foreign takes it removes (:class:`ConsentScreen`, given to
``collect``); and before the trained voice is exported, on the data it was trained on
(:func:`verify_trained_data`). The voice's sidecar records the consent take's SHA-256,
score, threshold and the takes left out. (That record guards against mistakes, not
against someone editing the sidecar by hand.)

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
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from voicestudio.audio.io import Audio, read_audio
from voicestudio.audio.recognizer import transcribe
from voicestudio.constants import MODEL_RATE
from voicestudio.errors import AudioFileError, VoiceStudioError
from voicestudio.project import selection
from voicestudio.text.compare import char_error_rate, normalize_words

# The similarity encoder (evaluate.secs, speaker_model) and the take checks pull in scipy,
# onnxruntime and the VAD (about 0.4 s): they are imported where a check runs.
if TYPE_CHECKING:
    from voicestudio.evaluate.secs import SpeakerEncoder
    from voicestudio.project.project import Take, VoiceProject

#: A clip against the mean of a speaker's takes: the same speaker scored 0.852 or more on the
#: corpus, other speakers 0.736 or less (benchmarks/consent.py). 0.80 sits in that gap, a
#: little nearer the other speakers: a real consent take is read in the same session and room.
THRESHOLD = 0.80
#: The statement against one take: the same speaker's clip pairs fell under 0.70 in 0.03 %
#: of pairs (short takes; our synthetic test speaker's short takes score 0.76-0.81), other
#: speakers' reached it in 3 % (0.744 at the most). Below it a take is taken to be someone
#: else's and is left out of training; the few of a stranger's takes that pass one by one
#: cannot carry the mean of the rest past :data:`THRESHOLD`.
TAKE_THRESHOLD = 0.70
#: Two recordings of one speaker scored 0.976 at the most: above this they are one recording.
COPY_SIMILARITY = 0.99
#: Training is refused when more than this share of the speech is someone else's.
MAX_FOREIGN_SHARE = 0.5
#: Less speech than this gives an unreliable embedding (the statement takes about 7 s).
MIN_CONSENT_S = 2.0
#: The reading check's character error rate (numbers left out) above which the take is not
#: the statement. Every transcript of the corpus scored 0.669 or more against the statement;
#: the base voice's reading of it, through the same recognizer, about 0.45.
MAX_READING_CER = 0.55
#: The sidecar key under "voicestudio" that holds :meth:`ConsentCheck.to_dict`.
SIDECAR_KEY = "consent"
#: The reason a take of someone else is left out of training, in words.
FOREIGN_REASON = "does not sound like the person who recorded the consent statement"

_reading_cache: dict[str, tuple[float, str]] = {}  # sha256 of a take -> (CER, what was heard)
_cache_lock = threading.Lock()


class TakeAudio(Protocol):
    """A take as training holds it: its file (relative to the project) and its audio at
    :data:`~voicestudio.constants.MODEL_RATE`."""

    name: str
    audio: np.ndarray


@dataclass(frozen=True)
class ForeignTake:
    """A take the screen found to be someone else's (similarity to the statement)."""

    take: str
    similarity: float

    def describe(self) -> str:
        return (
            f"{FOREIGN_REASON} (similarity {self.similarity:.2f}; under {TAKE_THRESHOLD:.2f} is "
            "taken to be someone else)"
        )


@dataclass(frozen=True)
class ConsentRemedy:
    """What the speaker can do about a refusal: record the statement (``again`` when a take
    of it exists and must be replaced), or add a recording of it made elsewhere. Each front
    end words it its own way: the command line its commands (``cli.errors``), the Train
    panel its buttons."""

    folder: Path
    index: int | None  # the statement's prompt; None: the project has none yet
    statement: str
    again: bool = False
    # how to record it, e.g. "with the same microphone and room as the other takes"
    advice: str = ""


@dataclass(frozen=True)
class ConsentRefusal:
    """Why the gate refused (no commands in it), and the remedy when there is one."""

    reason: str
    remedy: ConsentRemedy | None = None


class ConsentError(VoiceStudioError):
    """Training or export is refused: no consent take, or one that is not the speaker's.
    ``reason`` (also ``str()``) says why; ``remedy``, when recording the statement would help,
    what to do, for each front end to put in its own words."""

    def __init__(self, reason: str, remedy: ConsentRemedy | None = None) -> None:
        self.reason, self.remedy = reason, remedy
        super().__init__(reason)

    @property
    def refusal(self) -> ConsentRefusal:
        return ConsentRefusal(self.reason, self.remedy)


@dataclass(frozen=True)
class ConsentCheck:
    """The outcome of comparing a project's consent take with its takes."""

    take: str
    sha256: str
    similarity: float  # the statement against the mean of the takes that are the speaker's
    threshold: float
    reference_takes: int  # takes compared
    checked: str
    left_out: tuple[str, ...] = ()  # takes that are someone else's
    foreign_share: float = 0.0  # their share of the speech

    @property
    def verified(self) -> bool:
        return self.similarity >= self.threshold and self.foreign_share <= MAX_FOREIGN_SHARE

    def to_dict(self) -> dict[str, Any]:
        """For the voice sidecar: what was checked, against what, and the outcome."""
        record = {
            **asdict(self),
            "similarity": round(self.similarity, 4),
            "verified": self.verified,
        }
        record["left_out"], record["foreign_share"] = (
            list(self.left_out),
            round(self.foreign_share, 4),
        )
        return record

    def describe(self) -> str:
        outcome = "verified" if self.verified else "NOT verified"
        others = (f"; {len(self.left_out)} takes are someone else's and are left out"
                  if self.left_out and self.foreign_share < 0.9 else "")
        return (f"consent take {self.take}: {outcome} (similarity {self.similarity:.3f} to "
                f"{self.reference_takes} takes; needs {self.threshold:.2f}{others})")


# ----------------------------------------------------------------------------- which take
def remedy(
    project: VoiceProject, index: int | None, again: bool = False, advice: str = ""
) -> ConsentRemedy:
    """Record (or add) the statement of ``project``, whose prompt is ``index``."""
    statement = (
        project.prompts[index].text if index is not None else selection.statement_for(project)
    )
    return ConsentRemedy(project.folder, index, statement, again, advice)


def consent_take(project: VoiceProject) -> tuple[int, Take]:
    """The consent prompt's chosen take, or :class:`ConsentError` saying what to record."""
    index = selection.consent_prompt(project)
    if index is None:
        raise ConsentError(
            f"project {project.name!r} has no consent statement among its prompts, so VoiceStudio "
            "cannot tell that the speaker agreed to be cloned",
            remedy(project, None),
        )
    take = project.prompts[index].chosen_take
    if take is None:
        raise ConsentError(
            f"training and exporting a voice need the speaker's recorded consent, and project "
            f"{project.name!r} has none yet", remedy(project, index))
    return index, take


# ----------------------------------------------------------------------------- the checks
def check_consent(
    project: VoiceProject,
    encoder: SpeakerEncoder | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> ConsentCheck:
    """Compare the consent take with every training take's file. Raises
    :class:`ConsentError` when there is nothing to compare (no consent take, no training
    takes) or the take cannot stand as consent (failed checks, a copy of a training take,
    unreadable, too short, reading another text); a comparison that ran is returned,
    verified or not."""
    takes = selection.training_files(project)
    if not takes:  # said first: a project with nothing recorded needs takes before anything
        raise ConsentError(
            f"project {project.name!r} has no recorded takes to train on: "
            "record or import takes first"
        )
    index, take = consent_take(project)
    digest, audio = _consent_recording(project, index, take)
    encoder = encoder_for(encoder, cancelled)
    consent = embed_statement(encoder, audio, take.file, project, index)
    return compare_with_files(project, take.file, digest, consent, takes, encoder)


def require_consent(
    project: VoiceProject,
    encoder: SpeakerEncoder | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> ConsentCheck:
    """:func:`check_consent`, refusing with an explanation unless verified."""
    return refuse_unless_verified(project, check_consent(project, encoder, cancelled))


class ConsentScreen:
    """Given to ``collect``: the consent take against every utterance that passed the data
    checks. Returns the ones that are someone else's, with the reason, so they are left
    out before the data minimums and the held-out split; refuses (ConsentError) when they
    are most of the speech or the rest does not match. ``check`` holds the outcome."""

    def __init__(self, project: VoiceProject, encoder: SpeakerEncoder | None = None) -> None:
        self.project = project
        index, self.take = consent_take(project)
        self.digest, audio = _consent_recording(project, index, self.take)
        self.encoder = encoder_for(encoder, None)
        self.consent = embed_statement(self.encoder, audio, self.take.file, project, index)
        self.check: ConsentCheck | None = None

    def __call__(self, utterances: Sequence[TakeAudio]) -> list[ForeignTake]:
        check, scores = self._compare(utterances)
        self.check = refuse_unless_verified(self.project, check)
        return [ForeignTake(name, scores[name]) for name in check.left_out]

    def _compare(self, utterances: Sequence[TakeAudio]) -> tuple[ConsentCheck, dict[str, float]]:
        """Each utterance is compared by its take file (``name``), embedded once per process:
        the check before training has usually embedded them all already, so the screen and
        publish cost one clip each rather than another pass over every take."""
        if not utterances:
            raise ConsentError(f"project {self.project.name!r} has no takes to train on")
        kept, embeddings = _embed_take_files(
            self.encoder, [self.project.folder / u.name for u in utterances]
        )
        if len(kept) != len(utterances):
            missing = [utterances[i].name for i in range(len(utterances)) if i not in set(kept)]
            raise ConsentError(f"takes went missing or became unreadable since they were checked: "
                               f"{_name_takes(self.project, missing)}; start the training again")
        names = [u.name for u in utterances]
        seconds = np.array([len(u.audio) / MODEL_RATE for u in utterances])
        check = _compare(
            self.project, self.take.file, self.digest, self.consent, names, embeddings, seconds
        )
        return check, dict(zip(names, (embeddings @ self.consent).tolist(), strict=True))


def verify_trained_data(project: VoiceProject, trained: Sequence[TakeAudio], foreign: Sequence[str],
                        encoder: SpeakerEncoder | None = None) -> ConsentCheck:
    """Before export: the consent take (as it is now) against the takes the voice was trained
    on (``trained``), every one of which must still be the speaker's. The check names the
    takes training left out as someone else's (``foreign``)."""
    screen = ConsentScreen(project, encoder)
    check, _scores = screen._compare(trained)
    if check.left_out:
        raise ConsentError(
            f"{len(check.left_out)} takes this voice was trained on do not sound like the person "
            f"who recorded the consent statement ({screen.take.file}): "
            f"{_name_takes(project, check.left_out)}; the statement was probably recorded again "
            "by someone else. The voice is not exported"
        )
    check = refuse_unless_verified(project, check)
    foreign = tuple(sorted(foreign))
    if not foreign:
        return check
    trained_s = sum(len(u.audio) for u in trained) / MODEL_RATE
    return replace(check, left_out=foreign, foreign_share=_share_of(project, foreign, trained_s))


class ConsentCheckCancelled(Exception):
    """The check of a statement recording was cancelled (the window is closing)."""


def reading_error(statement: str, heard: str) -> float:
    """Character error rate of what the recognizer heard against the statement, numbers left
    out on both sides: the date is written in digits ("November 29, 2026") and heard as words
    ("twenty nine", "two thousand twenty six", "twenty twenty six"), which would otherwise
    count as errors in every statement."""
    written = " ".join(w for w in normalize_words(statement) if not w.isdigit())
    spoken = " ".join(w for w in normalize_words(heard) if not _NUMBER_WORD.match(w))
    return char_error_rate(written, spoken)


_NUMBER_WORD = re.compile(
    r"^(zero|oh|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|"
    r"fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|"
    r"seventy|eighty|ninety|hundred|thousand|first|second|third|fourth|fifth|sixth|seventh|"
    r"eighth|ninth|tenth|eleventh|twelfth|[a-z]+teenth|[a-z]+tieth|\d+(st|nd|rd|th)?)$"
)


# ----------------------------------------------------------------------------- helpers
def compare_with_files(project: VoiceProject, label: str, digest: str, consent: np.ndarray,
                        takes: Sequence[tuple[selection.Candidate, Path]], encoder: SpeakerEncoder,
                        cancelled: Callable[[], bool] | None = None) -> ConsentCheck:
    kept, embeddings = _embed_take_files(encoder, [path for _take, path in takes], cancelled)
    if not kept:
        raise ConsentError(
            f"none of the takes of project {project.name!r} can be read, so there is no voice to "
            "compare the consent statement with"
        )
    return _compare(
        project,
        label,
        digest,
        consent,
        [takes[i][0].take.file for i in kept],
        embeddings,
        np.array([takes[i][0].take.duration_s for i in kept]),
    )


def _compare(
    project: VoiceProject,
    label: str,
    digest: str,
    consent: np.ndarray,
    names: Sequence[str],
    embeddings: np.ndarray,
    seconds: np.ndarray,
) -> ConsentCheck:
    """The statement's embedding against each take's: copies refused, takes of someone else
    set apart (with their share of the speech), the rest's mean compared."""
    from voicestudio.evaluate import secs

    scores = embeddings @ consent
    copies = [n for n, score in zip(names, scores, strict=True) if score >= COPY_SIMILARITY]
    if copies:
        raise ConsentError(
            f"{label} is the same recording as the take {copies[0]} (speaker similarity "
            f"{scores.max():.3f}): the consent statement must be a recording of its own"
        )
    foreign = scores < TAKE_THRESHOLD
    share = float(seconds[foreign].sum() / max(seconds.sum(), 1e-9))
    mean = secs.mean_embedding(embeddings[~foreign] if (~foreign).any() else embeddings)
    return ConsentCheck(
        take=label,
        sha256=digest,
        similarity=secs.cosine(consent, mean),
        threshold=THRESHOLD,
        reference_takes=len(names),
        checked=datetime.now(UTC).isoformat(timespec="seconds"),
        left_out=tuple(n for n, f in zip(names, foreign, strict=True) if f),
        foreign_share=share,
    )


def refuse_unless_verified(project: VoiceProject, check: ConsentCheck) -> ConsentCheck:
    """``check``, or :class:`ConsentError` explaining why it is not verified and what to do."""
    index = selection.consent_prompt(project)
    # some takes are the statement's voice, most not
    if MAX_FOREIGN_SHARE < check.foreign_share < 0.9:
        raise ConsentError(
            f"{len(check.left_out)} of {check.reference_takes} takes "
            f"({100 * check.foreign_share:.0f} % of the speech) do not sound like the person who "
            f"recorded the consent statement ({check.take}): "
            f"{_name_takes(project, check.left_out)}. VoiceStudio only clones the "
            "voice of the person who recorded the statement: remove those takes (for instance "
            "recordings imported from someone else), or, if the statement was read by someone "
            "other than the speaker of the takes, have that speaker read it",
            remedy(project, index, again=True, advice="read by the speaker of the takes"),
        )
    if not check.verified:
        raise ConsentError(
            f"the consent statement ({check.take}) and the takes do not sound like the same person "
            f"(speaker similarity {check.similarity:.2f}; the gate needs {check.threshold:.2f}, "
            "and recordings of one speaker in one session usually score 0.85 or more). "
            "VoiceStudio only clones a voice whose owner recorded the consent statement",
            remedy(
                project,
                index,
                again=True,
                advice=("if it is the same person, with the same microphone and room as the "
                        "other takes"),
            ),
        )
    return check


def _name_takes(project: VoiceProject, files: Sequence[str], limit: int = 5) -> str:
    """"prompt 12 (takes/p0011_t01.wav), …" for the first few take files."""
    prompt_of = {t.file: i for i, p in enumerate(project.prompts) for t in p.takes}
    named = [f"prompt {prompt_of[f] + 1} ({f})" if f in prompt_of else f for f in files[:limit]]
    more = f" and {len(files) - limit} more" if len(files) > limit else ""
    return ", ".join(named) + more


def _share_of(project: VoiceProject, files: Sequence[str], trained_s: float) -> float:
    """The share of the speech the left-out takes were (by the durations the project records)."""
    duration = {t.file: t.duration_s for p in project.prompts for t in p.takes}
    gone = sum(duration.get(f, 0.0) for f in files)
    return gone / max(gone + trained_s, 1e-9)


def _consent_recording(project: VoiceProject, index: int, take: Take) -> tuple[str, Audio]:
    """(sha256, audio) of a consent take that may stand as consent."""
    if take.verdict == "fail" and not take.accepted_by_user:
        problems = (
            "; ".join(c.message for c in take.report.checks if c.verdict == "fail")
            if take.report
            else ""
        )
        raise ConsentError(
            f"the consent take {take.file} failed its checks ({problems or 'see the take'})",
            remedy(project, index, again=True),
        )
    try:
        path = project.take_path(take)
        data = path.read_bytes()
        audio = read_audio(path)
    except (AudioFileError, OSError) as exc:
        raise ConsentError(f"the consent take {take.file} cannot be read ({exc})",
                           remedy(project, index, again=True)) from exc
    digest = hashlib.sha256(data).hexdigest()
    cer, heard = _reading(take, digest, audio, project.prompts[index].text)
    refuse_misreading(
        take.file, cer, heard, remedy(project, index, again=True, advice="reading it as shown")
    )
    return digest, audio


def _reading(take: Take, digest: str, audio: Audio, statement: str) -> tuple[float, str]:
    """How far the consent take's reading is from the statement (:func:`reading_error`), from
    what the take checks heard, else recognized now (once per recording; a missing
    recognizer is a refusal, as the statement cannot be checked)."""
    heard = take.report.asr_text if take.report is not None else None
    if heard is not None:
        return reading_error(statement, heard), heard
    with _cache_lock:
        cached = _reading_cache.get(digest)
    if cached is not None:
        return cached
    try:
        heard = transcribe(audio.samples, audio.sample_rate)
    except ImportError as exc:
        raise ConsentError(
            f"cannot check that the consent take {take.file} reads the consent statement: the "
            f"speech recognizer is not installed ({exc}); reinstall VoiceStudio (make install)"
        ) from exc
    result = (reading_error(statement, heard), heard)
    with _cache_lock:
        _reading_cache[digest] = result
    return result


def refuse_misreading(label: str, cer: float, heard: str | None, fix: ConsentRemedy | None,
                       outcome: str = "") -> None:
    if cer > MAX_READING_CER:
        raise ConsentError(f"{label} does not read the consent statement"
                           + (f" (the recognizer heard {heard!r})" if heard else "") + outcome, fix)


def embed_statement(encoder: SpeakerEncoder, audio: Audio, label: str, project: VoiceProject,
                     index: int | None) -> np.ndarray:
    from voicestudio.evaluate import secs

    try:
        speech = secs.preprocess(audio.samples, audio.sample_rate)
    except VoiceStudioError as exc:
        raise ConsentError(f"the consent take {label} cannot be checked: {exc}",
                           remedy(project, index, again=True)) from exc
    if len(speech) < MIN_CONSENT_S * secs.SAMPLE_RATE:
        raise ConsentError(
            f"the consent take {label} holds {len(speech) / secs.SAMPLE_RATE:.1f} s of speech, too "
            f"little to recognise a voice (at least {MIN_CONSENT_S:g} s)",
            remedy(project, index, again=True, advice="reading all of it"),
        )
    return encoder.embed(audio.samples, audio.sample_rate)


def _embed_take_files(encoder: SpeakerEncoder, paths: Sequence[Path],
                      cancelled: Callable[[], bool] | None = None) -> tuple[list[int], np.ndarray]:
    """(indices of the files that could be embedded, their ``[n, 256]`` embeddings), through
    the similarity score's per-file cache (each take is embedded once per process while it is
    unchanged). An unreadable, silent or vanished take is skipped here, as training leaves it
    out with its reason."""
    from voicestudio.evaluate import secs

    found: dict[int, np.ndarray] = {}
    for i, path in enumerate(paths):
        if cancelled is not None and cancelled():
            raise ConsentCheckCancelled()
        try:
            found[i] = secs.embed_file(path, encoder)
        except (VoiceStudioError, OSError):
            continue
    order = sorted(found)
    return order, np.stack([found[i] for i in order]) if order else np.zeros((0, 256), np.float32)


def encoder_for(
    encoder: SpeakerEncoder | None, cancelled: Callable[[], bool] | None
) -> SpeakerEncoder:
    if encoder is not None:
        return encoder
    from voicestudio.evaluate import secs, speaker_model

    speaker_model.build_encoder_model_in_subprocess(cancelled=cancelled)
    return secs.default_encoder()
