"""One rule for which prompt is the consent statement, which takes train and which are the
reference for speaker similarity (project/selection.py), used alike by the consent gate, the
training data, the score line, `voicestudio eval` and the Train panel's count."""

from __future__ import annotations

import numpy as np
import pytest
from training_data import verdict_report

from voicestudio.project import selection
from voicestudio.project.project import VoiceProject
from voicestudio.text.script import CONSENT_TEMPLATE, fill_consent

STATEMENT = fill_consent(CONSENT_TEMPLATE, "Rules", "May 1, 2026")
LINES = [f"Line number {n} of the script." for n in range(1, 13)]


def tone(seconds: float = 1.0, rate: int = 48_000) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)


@pytest.fixture
def project(tmp_path) -> VoiceProject:
    """The statement (prompt 0), then: 1-8 passed, 9 failed, 10 failed but accepted by the
    user, 11 warned, 12 never recorded."""
    project = VoiceProject.create("Rules", tmp_path, prompts=[STATEMENT, *LINES])
    project.add_take(0, tone(), 48_000, report=verdict_report("pass"), save=False)
    for index in range(1, 12):
        verdict = {9: "fail", 10: "fail", 11: "warn"}.get(index, "pass")
        project.add_take(index, tone(), 48_000, report=verdict_report(verdict), save=False)
    project.prompts[10].chosen_take.accepted_by_user = True
    project.save()
    return project


def test_the_statement_is_the_consent_prompt_with_the_fixed_wording(project, tmp_path):
    assert selection.consent_prompt(project) == 0 and selection.is_consent_prompt(project, 0)
    assert selection.is_statement_recorded(project)
    own = VoiceProject.create("Own", tmp_path, prompts=["I agree to be cloned.", "A line."])
    assert own.consent_index == 0 and selection.consent_prompt(own) is None  # not the fixed wording
    index = selection.consent_prompt(own, create=True)
    assert index == 2 and VoiceProject.open(own.folder).prompts[2].text == selection.statement_for(
        own
    )


def test_takes_that_train_leave_out_the_statement_and_failed_takes_unless_accepted(project):
    training = [c.index for c in selection.takes_that_train(project)]
    assert training == [1, 2, 3, 4, 5, 6, 7, 8, 10, 11]  # not 0 (statement), not 9 (failed)
    assert [c.index for c in selection.candidates(project)] == list(range(1, 12))
    assert [candidate.index for candidate, _path in selection.training_files(project)] == training


def test_the_statement_never_trains_even_when_its_wording_is_not_the_statement(tmp_path):
    """Whatever the project marked as its consent recording is never training data."""
    marked = VoiceProject.create("Marked", tmp_path, prompts=["I agree to be cloned.", "A line."])
    for index in (0, 1):
        marked.add_take(index, tone(), 48_000, report=verdict_report("pass"))
    assert [c.index for c in selection.takes_that_train(marked)] == [1]


def test_reference_takes_are_takes_that_train_spread_over_the_script(project):
    """The rule that now holds for the similarity reference (the score line, the Train panel's
    voices, `voicestudio eval --reference PROJECT`): the takes that train, so the consent
    statement is never one and an accepted failed take counts as it does for training."""
    all_files = [path for _candidate, path in selection.training_files(project)]
    assert selection.reference_takes(project, limit=0) == all_files
    assert len(all_files) == 10
    spread = selection.reference_takes(project, limit=4)
    assert spread == [all_files[i] for i in (0, 3, 6, 9)]  # first, last and evenly between
    statement_file = project.take_path(project.prompts[0].chosen_take)
    failed_file = project.take_path(project.prompts[9].chosen_take)
    assert statement_file not in all_files and failed_file not in all_files


def test_missing_files_and_links_out_of_the_project_are_left_out(project, tmp_path):
    project.take_path(project.prompts[1].chosen_take).unlink()
    outside = tmp_path / "elsewhere.wav"
    outside.write_bytes(project.take_path(project.prompts[2].chosen_take).read_bytes())
    linked = project.take_path(project.prompts[2].chosen_take)
    linked.unlink()
    linked.symlink_to(outside)
    files = [candidate.index for candidate, _path in selection.training_files(project)]
    assert 1 not in files and 2 not in files and 3 in files
    assert [c.index for c in selection.takes_that_train(project)][:2] == [1, 2]  # still chosen
