"""Recording a prompt into a project, the same way from the command line and the studio.

A take is saved before it is checked: the checks take seconds (voice activity, speech
recognition), and an interruption there must not lose what the speaker just read. The
steps are plain functions so the CLI can run them one after the other and the GUI can run
the check on a worker thread and store its report back on the GUI thread. No Qt here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from voicestudio.project import selection
from voicestudio.project.project import ProjectError, Take, VoiceProject

if TYPE_CHECKING:  # the checks pull in scipy and the VAD: loaded when a take is checked
    from voicestudio.audio.checks import CheckConfig, TakeReport

#: Seconds of lead-in and run-out around a reading, and seconds per word at a calm pace:
#: how long the CLI records a prompt when no length is given.
LEAD_IN_OUT_S = 2.0
SECONDS_PER_WORD = 0.45
#: The studio stops on the speaker's click; it stops by itself only after this many times
#: the CLI's length (a slow reader, a false start and a second go must still fit).
INTERACTIVE_LENGTH_FACTOR = 2.0
#: Shortest recording length that makes sense (a single short word with its lead-in).
MIN_TAKE_S = 0.5

#: A readable name for each take check, in the order the studio lists them.
CHECK_LABELS: dict[str, str] = {
    "level": "Level",
    "clipping": "Clipping",
    "noise": "Noise",
    "speech": "Speech edges",
    "duration": "Speech length",
    "length": "Take length",
    "asr": "Reading",
}


def longest_take_s(config: CheckConfig | None = None) -> float:
    """A longer take would only fail its checks."""
    if config is None:
        from voicestudio.audio.checks import CheckConfig

        config = CheckConfig()
    return config.max_take_s


def suggested_take_s(prompt: str, config: CheckConfig | None = None) -> float:
    """How long to record ``prompt`` when the recording stops by itself (the CLI)."""
    words = len(prompt.split())
    return min(longest_take_s(config), LEAD_IN_OUT_S + SECONDS_PER_WORD * words)


def interactive_limit_s(prompt: str, config: CheckConfig | None = None) -> float:
    """The automatic stop of a take the speaker ends themselves (the studio's Stop button)."""
    return min(longest_take_s(config), INTERACTIVE_LENGTH_FACTOR * suggested_take_s(prompt, config))


def save_recorded_take(
    project: VoiceProject, index: int, samples: np.ndarray, sample_rate: int
) -> Take:
    """Store a just-recorded take of prompt ``index`` (unchecked) and move the resume point past
    it. Raises ProjectError for an empty take."""
    samples = np.asarray(samples, dtype=np.float32).reshape(-1)
    if samples.size == 0:
        raise ProjectError("nothing was recorded")
    take = project.add_take(index, samples, sample_rate, save=False)
    project.position = min(index + 1, len(project.prompts))
    project.save()
    return take


def check_recorded_take(samples: np.ndarray, sample_rate: int, prompt: str) -> TakeReport:
    """Every take check, with the prompt for the reading check (seconds of work)."""
    from voicestudio.audio.checks import check_take

    return check_take(samples, sample_rate, prompt)


def store_report(project: VoiceProject, take: Take, report: TakeReport) -> None:
    """Attach a finished check report to a saved take and save the project."""
    take.report = report
    project.save()


def prompt_label(project: VoiceProject, index: int) -> str:
    """"Prompt 3 of 241" as people count (from 1)."""
    return f"Prompt {index + 1} of {len(project.prompts)}"


def resume_index(project: VoiceProject) -> int:
    """The prompt to show when a project is opened: the consent statement until it has a take,
    then the next prompt without one, else the saved position (the last prompt when done)."""
    if not project.prompts:
        return 0
    consent = selection.consent_prompt(project)
    if consent is not None and not project.prompts[consent].takes:
        return consent
    pending = project.next_pending()
    if pending is not None:
        return pending
    return min(project.position, len(project.prompts) - 1)
