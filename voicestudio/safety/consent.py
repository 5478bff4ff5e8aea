"""The consent gate: a voice is trained and exported only for the person who said yes.

Every recording script starts with a consent statement naming the project and the
date. Before training, and again before a trained voice is exported, the consent take
is compared with the takes the voice is made from: the cosine of its speaker
embedding (the same Resemblyzer encoder as the similarity score, on onnxruntime) and
the mean embedding of up to :data:`REFERENCE_TAKES` training takes spread over the
session. Below :data:`THRESHOLD` the takes are taken to be someone else's and the
work is refused with the reason. The exported voice's sidecar records the consent
take's SHA-256, so a voice can be traced to the statement that allowed it.

The threshold comes from ``benchmarks/consent.py`` on ../shared/data/speech: a clip
against the mean of the rest of its speaker's takes (same speaker) and against the
other speakers' (different speaker). Its figures are in the README.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from voicestudio.errors import AudioFileError, VoiceStudioError

if TYPE_CHECKING:  # the encoder pulls in onnxruntime and the VAD: loaded when a check runs
    from voicestudio.evaluate.secs import SpeakerEncoder
    from voicestudio.project.project import Take, VoiceProject

#: Same-speaker scores of a clip against the rest of its speaker's takes were 0.853 or more
#: on the corpus, different-speaker scores 0.731 or less (benchmarks/consent.py); 0.80 sits
#: in that gap, a little nearer the different speakers, as a real consent take is read in
#: the same session and room as the takes and scores high.
THRESHOLD = 0.80
#: Takes the consent is compared with: enough to average out one odd take, few enough to
#: embed in a second or two.
REFERENCE_TAKES = 16
#: Less speech than this gives an unreliable embedding (the statement takes about 7 s).
MIN_CONSENT_S = 2.0
#: A reading-check character error rate above this means the take is not the statement
#: (the take checks' own warning level, calibrated on the corpus).
MAX_READING_CER = 0.65
#: The sidecar key under "voicestudio" that holds :meth:`ConsentCheck.to_dict`.
SIDECAR_KEY = "consent"

RECORD_HINT = ("record the consent statement (prompt 1 in the Record panel, or "
               "`voicestudio record --project P --prompt 1`)")


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

    @property
    def verified(self) -> bool:
        return self.similarity >= self.threshold

    def to_dict(self) -> dict[str, Any]:
        """For the voice sidecar: what was checked, against what, and the outcome."""
        return {**asdict(self), "similarity": round(self.similarity, 4), "verified": self.verified}

    def describe(self) -> str:
        outcome = "verified" if self.verified else "NOT the same speaker"
        return (f"consent take {self.take}: {outcome} (similarity {self.similarity:.3f} to "
                f"{self.reference_takes} training takes; needs {self.threshold:.2f})")


def consent_take(project: VoiceProject) -> tuple[int, Take]:
    """The consent prompt's chosen take, or :class:`ConsentError` saying what to record."""
    index = consent_prompt(project)
    if index is None:
        raise ConsentError(
            f"project {project.name!r} has no consent statement among its prompts, so VoiceStudio cannot "
            "tell that the speaker agreed to be cloned; add one with `voicestudio project consent P "
            "--file STATEMENT.wav` (a recording of the speaker reading the statement it prints)"
        )
    take = project.prompts[index].chosen_take
    if take is None:
        raise ConsentError(
            f"training and exporting a voice need the speaker's recorded consent, and project "
            f"{project.name!r} has none yet: {RECORD_HINT}"
        )
    return index, take


def consent_prompt(project: VoiceProject, create: bool = False) -> int | None:
    """The index of the project's consent statement. A project made by importing a corpus may
    have none: with ``create`` the filled-in statement is added as a prompt and remembered."""
    from voicestudio.project.recording import is_consent_prompt
    from voicestudio.text.script import CONSENT_TEMPLATE, fill_consent

    if project.consent_index is not None:
        return project.consent_index
    if project.prompts and is_consent_prompt(project, 0):
        return 0
    if not create:
        return None
    index = project.add_prompt(fill_consent(CONSENT_TEMPLATE, project.name, datetime.now().date()))
    project.consent_index = index
    project.save()
    return index


def add_consent_recording(project: VoiceProject, path: str | Path, asr: bool = True) -> Take:
    """Store a recording of the statement (made outside VoiceStudio) as the consent take,
    after the usual take checks; the statement prompt is added first when there is none."""
    from voicestudio.audio.checks import check_take
    from voicestudio.audio.io import check_rate, read_audio

    audio = read_audio(path)  # AudioFileError with the reason for anything unreadable
    check_rate(audio.sample_rate)
    index = consent_prompt(project, create=True)
    assert index is not None
    report = check_take(audio.samples, audio.sample_rate, project.prompts[index].text if asr else None)
    return project.add_take(index, audio.samples, audio.sample_rate, report=report.to_dict(),
                            source=f"import:{Path(path).resolve()}")


def reference_takes(project: VoiceProject, skip: int | None, limit: int = REFERENCE_TAKES) -> list[Path]:
    """Up to ``limit`` chosen training takes spread over the session (not prompt ``skip``,
    not takes whose checks failed unless the user accepted them, not missing files)."""
    paths = []
    for i, prompt in enumerate(project.prompts):
        take = prompt.chosen_take
        if i == skip or take is None or (take.verdict == "fail" and not take.accepted_by_user):
            continue
        try:
            path = project.take_path(take)
        except AudioFileError:  # a link out of the project is never read
            continue
        if path.is_file():
            paths.append(path)
    if len(paths) <= limit:
        return paths
    return [paths[int(i)] for i in np.linspace(0, len(paths) - 1, limit).round()]


def check_consent(
    project: VoiceProject,
    encoder: SpeakerEncoder | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> ConsentCheck:
    """Compare the consent take with the training takes. Raises :class:`ConsentError` when
    there is nothing to compare (no consent take, no training takes, an unreadable, too
    short or wrongly read statement); a check that ran is returned, verified or not."""
    from voicestudio.audio.io import read_audio
    from voicestudio.evaluate import secs

    references = reference_takes(project, consent_prompt(project))
    if not references:  # said first: a project with nothing recorded needs takes before anything
        raise ConsentError(
            f"project {project.name!r} has no recorded takes besides the consent statement: record or "
            "import takes first"
        )
    _index, take = consent_take(project)
    _check_reading(take)
    try:
        path = project.take_path(take)
        data = path.read_bytes()
        audio = read_audio(path)
    except (AudioFileError, OSError) as exc:
        raise ConsentError(f"the consent take {take.file} cannot be read ({exc}); {RECORD_HINT} again") from exc
    if encoder is None:
        secs.build_encoder_model_in_subprocess(cancelled=cancelled)
        encoder = secs.default_encoder()
    try:
        speech = secs.preprocess(audio.samples, audio.sample_rate)
    except VoiceStudioError as exc:
        raise ConsentError(f"the consent take {take.file} cannot be checked: {exc}; {RECORD_HINT} again") from exc
    if len(speech) < MIN_CONSENT_S * secs.SAMPLE_RATE:
        raise ConsentError(
            f"the consent take {take.file} holds {len(speech) / secs.SAMPLE_RATE:.1f} s of speech, too little to "
            f"recognise a voice (at least {MIN_CONSENT_S:g} s); {RECORD_HINT} again, reading all of it"
        )
    consent = encoder.embed(audio.samples, audio.sample_rate)
    reference = secs.cached_reference_embedding(references, encoder)
    return ConsentCheck(
        take=take.file,
        sha256=hashlib.sha256(data).hexdigest(),
        similarity=secs.cosine(consent, reference),
        threshold=THRESHOLD,
        reference_takes=len(references),
        checked=datetime.now(UTC).isoformat(timespec="seconds"),
    )


def require_consent(
    project: VoiceProject,
    encoder: SpeakerEncoder | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> ConsentCheck:
    """:func:`check_consent`, refusing with an explanation when the voices differ."""
    check = check_consent(project, encoder, cancelled)
    if not check.verified:
        raise ConsentError(
            f"the consent statement ({check.take}) and the training takes do not sound like the same person "
            f"(speaker similarity {check.similarity:.2f}; the same speaker scores {check.threshold:.2f} or more). "
            "VoiceStudio only clones a voice whose owner recorded the consent statement. If it is the same "
            f"person, {RECORD_HINT} again, with the same microphone and room as the other takes"
        )
    return check


def _check_reading(take: Take) -> None:
    """Refuse a consent take the speech recognizer heard as something else entirely."""
    report = take.report or {}
    for check in report.get("checks", []) if isinstance(report.get("checks"), list) else []:
        if not isinstance(check, dict) or check.get("name") != "asr":
            continue
        value = check.get("value")
        if isinstance(value, int | float) and value > MAX_READING_CER:
            heard = report.get("asr_text")
            raise ConsentError(
                f"the consent take {take.file} does not read the consent statement"
                + (f" (the recognizer heard {heard!r})" if heard else "")
                + f"; {RECORD_HINT} again, reading the statement as shown"
            )


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
    """Refuse to export a cloned voice whose sidecar has no verified consent record."""
    if not is_clone(sidecar):
        return
    record = sidecar_consent(sidecar)
    if record is None or record.get("verified") is not True or not isinstance(record.get("sha256"), str):
        raise ConsentError(
            f"voice {name!r} was cloned from a recording project without a verified consent take (it was "
            "trained before VoiceStudio checked consent, or its record is missing); train it again from a "
            "project with the speaker's consent statement to export it"
        )

