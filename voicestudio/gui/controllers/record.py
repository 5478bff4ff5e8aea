"""What the Record panel shows and allows, decided without Qt.

The panel (``voicestudio/gui/panels/record.py``) binds widgets to these: which controls are
usable, what each line of text says, which prompt comes after a skip, and the queue of
saved takes waiting for their checks (checked one at a time, in the order recorded). The
recording steps themselves are in :mod:`voicestudio.project.recording`, shared with the
CLI. See docs/architecture.md.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from voicestudio.audio.take_report import CheckResult
from voicestudio.errors import VoiceStudioError
from voicestudio.gui.controllers.messages import Level
from voicestudio.project import recording, selection
from voicestudio.project.project import ProjectSummary, Prompt, Take, VoiceProject

if TYPE_CHECKING:
    from voicestudio.audio.devices import AudioDevice
    from voicestudio.audio.recorder import Capture
    from voicestudio.project.importer import ImportReport

#: The prompt list shows this many characters of a prompt (the whole text is its tooltip).
PROMPT_COLUMN_CHARS = 48

NO_PROJECT_HINT = "Open or create a voice project (File menu) to record its prompts."
NO_INPUT_HINT = (
    "No microphone (input device) found: connect one, check that the sound server "
    "(PipeWire or PulseAudio) is running, then press Refresh."
)
#: What a take's overall verdict means for the speaker.
TAKE_ADVICE = {
    "pass": "good to train on",
    "warn": "usable; a retake may be better",
    "fail": "do not train on it: record it again",
}


@dataclass(frozen=True)
class Notice:
    """A line for the panel's inline message: its text and level (info, ok, warning, error)."""

    text: str
    level: Level


def seconds_text(seconds: float) -> str:
    """A running clock: 0:04.2, 1:30.0."""
    minutes, rest = divmod(max(0.0, seconds), 60.0)
    return f"{int(minutes)}:{rest:04.1f}"


# ------------------------------------------------------------------------------- controls


@dataclass(frozen=True)
class Controls:
    """Which of the panel's controls can be used now, and what the two toggles say."""

    record: bool
    record_text: str
    retake: bool
    skip: bool
    previous: bool
    next: bool
    play: bool
    play_text: str
    import_recordings: bool
    choose_input: bool  # the input picker, its Refresh button and the prompt list


def controls(
    project: VoiceProject | None,
    index: int,
    *,
    recording: bool,
    importing: bool,
    has_take: bool,
    playing: bool,
) -> Controls:
    """Recording locks everything but Stop; an import locks recording and editing."""
    has_prompts = project is not None and bool(project.prompts)
    free = has_prompts and not recording and not importing
    moving = has_prompts and not recording
    return Controls(
        record=has_prompts and not importing,
        record_text="■ Stop" if recording else "● Record",
        retake=free and has_take,
        skip=free,
        previous=moving and index > 0,
        next=moving and index < len(project.prompts) - 1,
        play=not recording and has_take,
        play_text="■ Stop playback" if playing else "▶ Play take",
        import_recordings=project is not None and not recording and not importing,
        choose_input=not recording,
    )


def cannot_record(project: VoiceProject | None, importing: bool) -> Notice | None:
    """Why a take cannot start now; None when it can."""
    if project is None:
        return Notice(NO_PROJECT_HINT, Level.INFO)
    if not project.prompts:
        return Notice("This project has no prompts to record.", Level.INFO)
    if importing:
        return Notice("Wait for the import to finish before recording.", Level.WARNING)
    return None


def cannot_import(project: VoiceProject | None, busy: bool, checking: bool) -> Notice | None:
    """Why an import cannot start now (``busy``: recording or importing); None when it can."""
    if project is None:
        return Notice(NO_PROJECT_HINT, Level.INFO)
    if busy:
        return Notice("Finish the recording or import in progress first.", Level.WARNING)
    if checking:
        return Notice(
            "The last take is still being checked; import when its badges appear.", Level.WARNING
        )
    return None


# ------------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class InputChoice:
    """One entry of the input picker; ``name`` None stands for the system default."""

    text: str
    name: str | None


def input_choices(devices: Iterable[AudioDevice]) -> list[InputChoice]:
    """The default input first, shown as "(system default)" and chosen as None, so the choice
    follows the system; when no device is reported as default, the first stands in."""
    ordered = sorted(devices, key=lambda d: not d.is_default)
    choices = [
        InputChoice(f"{d.name} (system default)", None)
        if d.is_default
        else InputChoice(d.name, d.name)
        for d in ordered
    ]
    if ordered and not any(d.is_default for d in ordered):
        choices[0] = InputChoice(f"{ordered[0].name} (system default)", None)
    return choices


def missing_input_text(name: str) -> str:
    return (
        f"The microphone {name!r} chosen earlier is not connected. Connect it and press "
        "Refresh, or choose another input."
    )


# ------------------------------------------------------------------------------- recording


def recording_status(seconds: float, limit_s: float, device: str, sample_rate: int) -> str:
    return (
        f"● Recording {seconds_text(seconds)} (stops by itself at {limit_s:.0f} s) · "
        f"{device} · {sample_rate} Hz"
    )


def lost_audio_text(input_overflows: int, dropped_frames: int) -> str | None:
    """The warning shown while recording once audio was lost; None while none was."""
    if not (input_overflows or dropped_frames):
        return None
    return f"Audio lost: {input_overflows} input overflows, {dropped_frames} dropped frames"


def recorded_text(capture: Capture) -> str:
    """The status line after a take: its length and source, and lost audio (an error says more
    in the message line)."""
    lost = ""
    if not capture.complete and capture.error is None:
        lost = (
            f" · audio lost: {capture.input_overflows} overflows, "
            f"{capture.dropped_frames} frames"
        )
    return (
        f"Recorded {capture.duration_s:.1f} s from {capture.device} at "
        f"{capture.sample_rate} Hz{lost}"
    )


def save_capture(
    project: VoiceProject, index: int, capture: Capture
) -> tuple[Take | None, Notice | None]:
    """Save a finished recording as a take of prompt ``index``: (the saved take, or None when
    nothing could be saved; what to tell the speaker, or None)."""
    if capture.samples.size == 0:
        because = f": {capture.error}" if capture.error else "."
        return None, Notice("Nothing was recorded" + because, Level.ERROR)
    try:
        saved = recording.save_recorded_take(
            project, index, capture.samples, capture.sample_rate
        )
    except (VoiceStudioError, OSError) as exc:
        return None, Notice(
            f"The take could not be saved: {exc}. Free some disk space or check the project "
            "folder, then record it again.",
            Level.ERROR,
        )
    if not capture.notice:
        return saved, None
    return saved, Notice(capture.notice, Level.ERROR if capture.error else Level.WARNING)


# ------------------------------------------------------------------------------- checks


@dataclass
class PendingCheck:
    """A saved take waiting for (or under) its checks."""

    project: VoiceProject
    index: int
    take: Take
    samples: np.ndarray
    sample_rate: int
    text: str


class CheckQueue:
    """Saved takes waiting for their checks; one is checked at a time, in recording order."""

    def __init__(self) -> None:
        self._waiting: deque[PendingCheck] = deque()
        self.current: PendingCheck | None = None

    def add(self, item: PendingCheck) -> None:
        self._waiting.append(item)

    def start_next(self) -> PendingCheck | None:
        """The take to check now, or None while one is under its checks or none waits."""
        if self.current is not None or not self._waiting:
            return None
        self.current = self._waiting.popleft()
        return self.current

    def finish(self) -> PendingCheck | None:
        """The checks of the current take ended (done or failed); returns that take."""
        item, self.current = self.current, None
        return item

    def drop_waiting(self) -> None:
        """Forget the takes not started (on close: they stay saved, unchecked)."""
        self._waiting.clear()

    @property
    def busy(self) -> bool:
        return self.current is not None or bool(self._waiting)

    def holds(self, take: Take) -> bool:
        """Whether ``take`` waits for, or is under, its checks."""
        return any(item.take is take for item in (self.current, *self._waiting) if item is not None)


def check_rows(checks: Iterable[CheckResult]) -> list[tuple[str, CheckResult]]:
    """(readable name, result) per check, in the order the studio lists them."""
    order = list(recording.CHECK_LABELS)
    ranked = sorted(checks, key=lambda c: order.index(c.name) if c.name in order else len(order))
    return [(recording.CHECK_LABELS.get(c.name, c.name), c) for c in ranked]


# ------------------------------------------------------------------------------- prompts


@dataclass(frozen=True)
class PromptRow:
    """One row of the prompt list."""

    number: str
    text: str
    tooltip: str
    verdict: str  # pass, warn, fail, unchecked, checking, skipped or "—" (no take yet)


def prompt_row(project: VoiceProject, row: int, checks: CheckQueue) -> PromptRow:
    prompt = project.prompts[row]
    text = prompt.text
    if len(text) > PROMPT_COLUMN_CHARS:
        text = text[: PROMPT_COLUMN_CHARS - 1] + "…"
    if selection.is_consent_prompt(project, row):
        text = "Consent: " + text
    take = prompt.chosen_take
    if take is None:
        verdict = "skipped" if prompt.status == "skipped" else "—"
    elif checks.holds(take):
        verdict = "checking"
    else:
        verdict = take.verdict
    return PromptRow(str(row + 1), text, prompt.text, verdict)


def summary_text(summary: ProjectSummary) -> str:
    text = f"{summary.recorded} of {summary.prompts} recorded · {summary.minutes:.1f} min"
    return text + (f" · {summary.skipped} skipped" if summary.skipped else "")


def progress_text(project: VoiceProject, index: int) -> str:
    """"Prompt 2 of 3 · 1 take", with the consent statement named as such."""
    prompt = project.prompts[index]
    takes = len(prompt.takes)
    status = {
        "recorded": f"{takes} take{'s' if takes != 1 else ''}",
        "skipped": "skipped",
        "pending": "not recorded yet",
    }.get(prompt.status, prompt.status)
    label = recording.prompt_label(project, index)
    if selection.is_consent_prompt(project, index):
        return f"{label} · consent statement · {status}"
    return f"{label} · {status}"


def take_caption(prompt: Prompt, take: Take, checking: bool) -> str:
    """Which take is shown, and what its checks say (or that they are still running)."""
    number = prompt.takes.index(take) + 1 if take in prompt.takes else len(prompt.takes)
    where = (
        f"Take {number} of {len(prompt.takes)} · {take.duration_s:.1f} s · "
        f"{take.sample_rate} Hz"
    )
    if checking:
        return f"{where} · checking the take…"
    if take.report is None:
        return f"{where} · not checked"
    verdict = take.verdict
    return f"{where} · {verdict}: {TAKE_ADVICE.get(verdict, '')}"


def prompt_after_skip(project: VoiceProject, index: int) -> int:
    """The next prompt not recorded yet after ``index``, else simply the next one."""
    after = index + 1
    last = len(project.prompts) - 1
    pending = project.next_pending(after) if after <= last else None
    return pending if pending is not None and pending >= after else min(after, last)


def import_notice(report: ImportReport, folder: str) -> Notice:
    """What an import did: takes added, already there, and (the first few) skipped files."""
    count = report.imported
    text = (
        f"Imported {count} take{'s' if count != 1 else ''} "
        f"({report.seconds / 60:.1f} min) from {folder} [{report.layout}]"
    )
    if report.already_present:
        text += f"; {report.already_present} were already in the project"
    if report.skipped:
        shown = "; ".join(f"{name}: {reason}" for name, reason in report.skipped[:3])
        more = f" and {len(report.skipped) - 3} more" if len(report.skipped) > 3 else ""
        text += f". Skipped {len(report.skipped)}: {shown}{more}"
    return Notice(text + ".", Level.WARNING if report.skipped else Level.OK)
