"""A recording of the consent statement made elsewhere (a project imported from a corpus, a
statement re-recorded on another device): checked as a whole before anything is stored.

Checking reads the project and changes nothing; storing adds the statement prompt (when the
project has none) and the take. The GUI checks on a worker thread and stores in its own;
``voicestudio project consent --file`` does both.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from voicestudio.audio.io import Audio, check_rate, read_audio
from voicestudio.audio.take_report import TakeReport
from voicestudio.project import selection
from voicestudio.project.project import IMPORT_SOURCE_PREFIX
from voicestudio.safety import consent
from voicestudio.safety.consent import ConsentCheck, ConsentError

if TYPE_CHECKING:
    from voicestudio.evaluate.secs import SpeakerEncoder
    from voicestudio.project.project import VoiceProject


@dataclass(frozen=True)
class StatementRecording:
    """A recording of the statement, made elsewhere, that passed every check and is not
    stored yet: checking reads the project, storing changes it (the GUI checks on a worker
    thread and stores in its own)."""

    source: Path
    audio: Audio
    report: TakeReport
    check: ConsentCheck


def add_consent_recording(
    project: VoiceProject, path: str | Path, encoder: SpeakerEncoder | None = None, asr: bool = True
) -> ConsentCheck:
    """Store a recording of the statement (made outside VoiceStudio) as the consent take,
    only once it passes: its take checks, the reading check (``asr``; else it runs when the
    consent is next checked) and the comparison with the takes. The statement prompt is
    added first when the project has none."""
    return store_consent_recording(project, check_consent_recording(project, path, encoder, asr))


def store_consent_recording(project: VoiceProject, recording: StatementRecording) -> ConsentCheck:
    """Add a checked statement recording to ``project`` as its consent take (and the
    statement prompt, when the project has none); the check, naming the stored take."""
    index = selection.consent_prompt(project, create=True)
    take = project.add_take(
        index,
        recording.audio.samples,
        recording.audio.sample_rate,
        report=recording.report,
        source=f"{IMPORT_SOURCE_PREFIX}{recording.source.resolve()}",
    )
    # the take file, as later checks see it
    stored = hashlib.sha256(project.take_path(take).read_bytes()).hexdigest()
    return replace(recording.check, take=take.file, sha256=stored)


def check_consent_recording(
    project: VoiceProject,
    path: str | Path,
    encoder: SpeakerEncoder | None = None,
    asr: bool = True,
    cancelled: Callable[[], bool] | None = None,
) -> StatementRecording:
    """Every check :func:`add_consent_recording` makes, changing nothing; ConsentError says
    why a recording cannot be the statement, ConsentCheckCancelled when ``cancelled()``."""
    from voicestudio.audio.checks import TakeOrigin, check_take

    audio = read_audio(path)  # AudioFileError with the reason for anything unreadable
    check_rate(audio.sample_rate)
    index = selection.consent_prompt(project)
    text = selection.statement_text(project)
    report = check_take(
        audio.samples, audio.sample_rate, text if asr else None, origin=TakeOrigin.FILE
    )
    label = Path(path).name
    if report.failed:
        problems = "; ".join(c.message for c in report.problems if c.verdict == "fail")
        raise ConsentError(
            f"{label} cannot be the consent take: it failed its checks ({problems}); "
            "nothing was stored"
        )
    if asr and report.asr_text is None:
        raise ConsentError(
            f"cannot check that {label} reads the consent statement: the speech recognizer did "
            "not run; reinstall VoiceStudio (make install); nothing was stored"
        )
    if report.asr_text is not None:
        error = consent.reading_error(text, report.asr_text)
        consent.refuse_misreading(label, error, report.asr_text, None, "; nothing was stored")
    takes = selection.training_files(project)
    if not takes:
        raise ConsentError(
            f"project {project.name!r} has no recorded takes to train on: import or record the "
            "takes first, then add the statement"
        )
    encoder = consent.encoder_for(encoder, cancelled)
    statement = consent.embed_statement(encoder, audio, label, project, index)
    try:
        compared = consent.compare_with_files(project, label, "", statement, takes, encoder,
                                              cancelled)
        check = consent.refuse_unless_verified(project, compared)
    except ConsentError as exc:
        raise ConsentError(f"{exc.reason}; nothing was stored", exc.remedy) from exc
    return StatementRecording(Path(path), audio, report, check)
