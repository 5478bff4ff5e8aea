"""Recording a prompt into a project (voicestudio.project.recording): lengths, save-first,
reports."""

from __future__ import annotations

import numpy as np
import pytest

from voicestudio.audio.checks import CheckConfig
from voicestudio.audio.take_report import CheckResult, TakeReport
from voicestudio.project import recording, selection
from voicestudio.project.project import ProjectError, VoiceProject
from voicestudio.text.script import CONSENT_TEMPLATE, fill_consent

PROMPTS = [
    fill_consent(CONSENT_TEMPLATE, "Session", "May 1, 2026"),
    "The garden is full of yellow flowers this spring.",
    "Please close the window.",
]


@pytest.fixture
def project(tmp_path) -> VoiceProject:
    return VoiceProject.create("Session", tmp_path, prompts=PROMPTS)


def test_lengths_follow_the_words_and_stay_under_the_longest_usable_take():
    nine_words = PROMPTS[1]
    assert recording.suggested_take_s(nine_words) == pytest.approx(2.0 + 0.45 * 9)
    assert recording.interactive_limit_s(nine_words) == pytest.approx(2 * (2.0 + 0.45 * 9))
    long_text = "word " * 200
    longest = CheckConfig().max_take_s
    assert recording.suggested_take_s(long_text) == longest
    assert recording.interactive_limit_s(long_text) == longest


def test_a_take_is_saved_before_it_is_checked_and_the_report_stored_after(project):
    samples = (0.1 * np.sin(np.arange(48_000) / 10.0)).astype(np.float32)
    take = recording.save_recorded_take(project, 1, samples, 48_000)
    on_disk = VoiceProject.open(project.folder)
    assert (
        on_disk.prompts[1].chosen_take.file == take.file
        and on_disk.prompts[1].chosen_take.report is None
    )
    assert on_disk.position == 2 and project.take_path(take).is_file()
    assert take.duration_s == pytest.approx(1.0) and take.sample_rate == 48_000

    report = TakeReport(checks=[CheckResult("level", "warn", "A bit quiet.", -30.0)])
    recording.store_report(project, take, report)
    stored = VoiceProject.open(project.folder).prompts[1].chosen_take
    assert stored.verdict == "warn" and stored.report.checks[0].message == "A bit quiet."


def test_an_empty_take_is_refused_and_nothing_changes(project):
    with pytest.raises(ProjectError, match="nothing was recorded"):
        recording.save_recorded_take(project, 0, np.zeros(0, np.float32), 48_000)
    assert VoiceProject.open(project.folder).summary().takes == 0


def test_check_recorded_take_runs_every_check_with_the_reading(synth):
    speech = np.concatenate([c.samples for c in synth.synthesize(PROMPTS[2])])
    padded = np.concatenate([np.zeros(8000, np.float32), speech * 3.0, np.zeros(8000, np.float32)])
    report = recording.check_recorded_take(padded, synth.sample_rate, PROMPTS[2])
    names = {c.name for c in report.checks}
    assert set(recording.CHECK_LABELS) == names  # every check has a readable name in the studio
    assert report.get("asr") is not None and report.asr_text


def test_consent_comes_first_then_the_next_prompt_without_a_take(project):
    assert selection.is_consent_prompt(project, 0) and not selection.is_consent_prompt(project, 1)
    assert recording.resume_index(project) == 0
    project.position = 2  # even when the saved position is past it, consent is asked first
    assert recording.resume_index(project) == 0
    recording.save_recorded_take(project, 0, np.full(4800, 0.01, np.float32), 48_000)
    assert recording.resume_index(project) == 1
    for i in (1, 2):
        recording.save_recorded_take(project, i, np.full(4800, 0.01, np.float32), 48_000)
    assert recording.resume_index(project) == 2  # all done: the last one
    assert recording.prompt_label(project, 1) == "Prompt 2 of 3"


def test_the_consent_prompt_is_the_marked_one_and_must_be_a_statement(tmp_path):
    """One rule for the studio, the trainer and the consent gate: the prompt ``consent_index``
    names, when it is a consent statement; words alone never make a prompt the statement."""
    plain = VoiceProject.create("Plain", tmp_path, prompts=["Hello there."], consent_index=None)
    assert not selection.is_consent_prompt(plain, 0)
    statement = PROMPTS[0]
    unmarked = VoiceProject.create(
        "Unmarked", tmp_path, prompts=[statement, "Hi."], consent_index=None
    )
    assert not selection.is_consent_prompt(unmarked, 0)
    marked = VoiceProject.create("Marked", tmp_path, prompts=[statement, "Hi."])
    assert selection.is_consent_prompt(marked, 0) and not selection.is_consent_prompt(marked, 1)
    # not the fixed wording
    own = VoiceProject.create("Own", tmp_path, prompts=["I consent to this.", "Hi."])
    assert not selection.is_consent_prompt(own, 0)
    wrong = VoiceProject.create("Wrong", tmp_path, prompts=["Hi.", statement])  # index 0 is not it
    assert not selection.is_consent_prompt(wrong, 0) and not selection.is_consent_prompt(wrong, 1)
