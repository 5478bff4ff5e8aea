"""The voice project on disk: create, takes, resume, damage, newer schemas, kill -9 during save."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import soundfile as sf
from training_data import verdict_report

from voicestudio.project import project as project_module
from voicestudio.project.project import ProjectError, VoiceProject
from voicestudio.project.store import ProjectFileError, restore_backup
from voicestudio.text.script import CONSENT_TEMPLATE, fill_consent

PROMPTS = [
    fill_consent(CONSENT_TEMPLATE, "Proj", "May 1, 2026"),
    "The cat sat on the mat.",
    "Rain falls softly tonight.",
]


def tone(seconds: float = 1.0, rate: int = 48_000) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)


@pytest.fixture
def proj(tmp_path) -> VoiceProject:
    return VoiceProject.create("Demo", tmp_path, speaker="Ann", prompts=PROMPTS)


def test_create_makes_folder_layout_and_reopens(proj, tmp_path):
    folder = tmp_path / "Demo"
    assert (
        (folder / "project.json").is_file()
        and (folder / "takes").is_dir()
        and (folder / "models").is_dir()
    )
    data = json.loads((folder / "project.json").read_text())
    assert (
        data["schema"] == project_module.SCHEMA_VERSION
        and data["name"] == "Demo"
        and data["speaker"] == "Ann"
    )
    assert data["record_rate"] == 48_000 and data["train_rate"] == 22_050
    again = VoiceProject.open(folder)
    assert [p.text for p in again.prompts] == PROMPTS and again.consent_index == 0


def test_open_by_name_in_default_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("VOICESTUDIO_DATA_DIR", str(tmp_path / "data"))
    VoiceProject.create("ByName", prompts=PROMPTS)
    assert VoiceProject.open("ByName").folder == tmp_path / "data" / "projects" / "ByName"
    with pytest.raises(ProjectError, match="no VoiceStudio project"):
        VoiceProject.open("Nope")


@pytest.mark.parametrize("name", ["", "a/b", "..", " padded ", "x" * 101, "tab\there"])
def test_bad_names_are_refused(tmp_path, name):
    with pytest.raises(ProjectError, match="invalid project name"):
        VoiceProject.create(name, tmp_path, prompts=PROMPTS)


def test_existing_folder_is_not_reused(proj, tmp_path):
    with pytest.raises(ProjectError, match="already exists"):
        VoiceProject.create("Demo", tmp_path, prompts=PROMPTS)


def test_takes_keep_their_rate_and_retakes_never_overwrite(proj):
    first = proj.add_take(1, tone(1.0, 48_000), 48_000)
    second = proj.add_take(1, tone(0.5, 44_100), 44_100, report=verdict_report("warn"))
    assert first.file != second.file
    info = sf.info(str(proj.take_path(first)))
    assert (
        info.samplerate == 48_000 and info.subtype == "PCM_24" and abs(info.duration - 1.0) < 1e-3
    )
    assert sf.info(str(proj.take_path(second))).samplerate == 44_100
    again = VoiceProject.open(proj.folder)
    prompt = again.prompts[1]
    assert prompt.status == "recorded" and len(prompt.takes) == 2
    assert prompt.chosen_take.file == second.file and prompt.chosen_take.verdict == "warn"


def test_skip_and_resume_where_left_off(proj):
    assert proj.next_pending() == 0
    proj.add_take(0, tone(), 48_000)
    proj.skip(1)
    again = VoiceProject.open(proj.folder)
    assert again.prompts[1].status == "skipped"
    assert again.position == 2 and again.next_pending() == 2
    again.add_take(2, tone(), 48_000)
    assert again.next_pending() is None


def test_summary_counts_minutes_and_verdicts(proj):
    proj.add_take(0, tone(30.0), 48_000, report=verdict_report("pass"))
    proj.add_take(1, tone(30.0), 48_000, report=verdict_report("fail"))
    # the retake counts, not both
    proj.add_take(1, tone(60.0), 48_000, report=verdict_report("pass"))
    s = VoiceProject.open(proj.folder).summary()
    assert (s.prompts, s.recorded, s.takes) == (3, 2, 3)
    assert s.minutes == pytest.approx(1.5)
    assert s.verdicts == {"pass": 2} and s.has_consent_take


def test_bad_prompt_index_and_empty_take(proj):
    with pytest.raises(ProjectError, match="prompt 7 does not exist"):
        proj.add_take(7, tone(), 48_000)
    with pytest.raises(ProjectError, match="non-empty mono"):
        proj.add_take(0, np.zeros(0, np.float32), 48_000)


def test_damaged_json_gives_exact_error_and_backup_restores(proj):
    proj.add_take(0, tone(), 48_000)
    path = proj.folder / "project.json"
    good = path.read_text()
    path.write_text(good[: len(good) // 2])
    with pytest.raises(
        ProjectFileError,
        match=r"is damaged: .* at line \d+, column \d+\. A good copy .* project restore",
    ):
        VoiceProject.open(proj.folder)
    kept = restore_backup(path)
    assert kept.parent == proj.folder and kept.read_text() == good[: len(good) // 2]
    restored = VoiceProject.open(proj.folder)
    assert restored.prompts[0].status == "recorded"  # the latest good state, not an older one


def test_restore_needs_a_good_backup(proj):
    path = proj.folder / "project.json"
    (proj.folder / "project.json.bak").write_text("{ broken")
    path.write_text("also broken")
    with pytest.raises(ProjectFileError, match="is damaged"):
        restore_backup(path)
    assert path.read_text() == "also broken"


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda d: d.update(prompts="x"), "'prompts' must be a list"),
        (lambda d: d.pop("name"), "'name' must be a string"),
        (lambda d: d["prompts"][0].update(status="done"), r"prompts\[0\].status"),
        (
            lambda d: d["prompts"][0].update(
                takes=[
                    {"file": "../../etc/passwd", "sample_rate": 1, "duration_s": 1, "recorded": ""}
                ]
            ),
            "inside the project",
        ),
        (
            lambda d: d["prompts"][0].update(
                takes=[{"file": "/etc/passwd", "sample_rate": 1, "duration_s": 1, "recorded": ""}]
            ),
            "inside the project",
        ),
        (lambda d: d["prompts"][0].update(selected=5), "selected is out of range"),
        (lambda d: d.pop("schema"), "no schema version"),
        (lambda d: d.update(consent_index="0"), "'consent_index' must be a whole number"),
        (
            lambda d: d["prompts"][0].update(
                takes=[
                    {
                        "file": "takes/a.wav",
                        "sample_rate": 1,
                        "duration_s": 1,
                        "recorded": "",
                        "report": "ok",
                    }
                ]
            ),
            "report must be an object",
        ),
    ],
)
def test_structurally_damaged_files_are_named(proj, mutate, message):
    path = proj.folder / "project.json"
    data = json.loads(path.read_text())
    mutate(data)
    path.write_text(json.dumps(data))
    with pytest.raises(ProjectFileError, match=message):
        VoiceProject.open(proj.folder)


def test_out_of_range_position_is_clamped(proj):
    path = proj.folder / "project.json"
    data = json.loads(path.read_text())
    data["position"] = 10**6
    path.write_text(json.dumps(data))
    assert VoiceProject.open(proj.folder).next_pending() == 0


def test_missing_parent_folder_is_not_created(tmp_path):
    with pytest.raises(ProjectError, match="does not exist"):
        VoiceProject.create("X", tmp_path / "typo" / "deep", prompts=PROMPTS)
    assert not (tmp_path / "typo").exists()


def test_newer_schema_is_refused_and_left_untouched(proj):
    path = proj.folder / "project.json"
    data = json.loads(path.read_text())
    data["schema"] = 99
    path.write_text(json.dumps(data))
    before = path.read_bytes()
    with pytest.raises(ProjectFileError, match="newer VoiceStudio .*schema 99"):
        VoiceProject.open(proj.folder)
    assert path.read_bytes() == before


def test_older_schema_is_migrated(proj, monkeypatch):
    """The migration chain runs in order; here a stand-in schema 0 lacked 'speaker' and
    'position'."""
    path = proj.folder / "project.json"
    data = json.loads(path.read_text())
    data["schema"] = 0
    data.pop("speaker")
    data.pop("position")
    data["voice_actor"] = "Old Name"
    path.write_text(json.dumps(data))

    def zero_to_one(d):
        d = dict(d)
        d["speaker"] = d.pop("voice_actor")
        return d

    monkeypatch.setitem(project_module.MIGRATIONS, 0, zero_to_one)
    migrated = VoiceProject.open(proj.folder)
    assert migrated.speaker == "Old Name" and migrated.position == 0
    monkeypatch.delitem(project_module.MIGRATIONS, 0)
    with pytest.raises(ProjectFileError, match="cannot upgrade"):
        VoiceProject.open(proj.folder)


def test_schema_2_take_reports_become_typed_and_unreadable_ones_keep_their_verdict(proj):
    """Schema 3 holds each take's check report as a TakeReport. A schema-2 report that cannot
    be read as one keeps its verdict on upgrade (a failed take must not turn "unchecked"), and
    one without a verdict is dropped: the take stays, unchecked (training checks it again),
    and the project opens instead of being called damaged."""
    proj.add_take(0, tone(), 48_000, report=verdict_report("warn"))
    proj.add_take(1, tone(), 48_000, report=verdict_report("fail"))
    proj.add_take(2, tone(), 48_000, report=verdict_report("pass"))
    path = proj.folder / "project.json"
    data = json.loads(path.read_text())
    data["schema"] = 2
    data["prompts"][1]["takes"][0]["report"] = {"verdict": "fail"}  # no list of checks
    data["prompts"][2]["takes"][0]["report"] = {"checks": "?"}  # and no verdict either
    path.write_text(json.dumps(data))
    upgraded = VoiceProject.open(proj.folder)
    kept, failed, dropped = (p.chosen_take for p in upgraded.prompts)
    assert kept.report is not None and kept.report.checks[0].message == "Level check: warn."
    assert kept.verdict == "warn"
    assert failed.verdict == "fail" and "earlier VoiceStudio" in failed.report.checks[0].message
    assert dropped.report is None and dropped.verdict == "unchecked"
    assert upgraded.take_path(dropped).is_file()
    upgraded.save()
    assert json.loads(path.read_text())["schema"] == project_module.SCHEMA_VERSION == 3
    data = json.loads(path.read_text())
    data["prompts"][1]["takes"][0]["report"] = {"verdict": "fail"}  # in a schema-3 file: damage
    path.write_text(json.dumps(data))
    with pytest.raises(ProjectFileError, match="no list of checks"):
        VoiceProject.open(proj.folder)


SAVER = """
import sys
from voicestudio.project.project import VoiceProject
p = VoiceProject.open(sys.argv[1])
print("ready", flush=True)
i = 0
while True:
    p.speaker = "speaker %d " % i + "x" * (i % 5000)
    p.save()
    i += 1
"""


def test_kill_9_during_saves_never_loses_the_project(proj):
    """SIGKILL a process that saves in a tight loop, at varied moments: the project always opens."""
    for attempt in range(6):
        child = subprocess.Popen(
            [sys.executable, "-c", SAVER, str(proj.folder)], stdout=subprocess.PIPE
        )
        assert child.stdout.readline().strip() == b"ready"
        time.sleep(0.05 + 0.037 * attempt)
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        reopened = VoiceProject.open(proj.folder)
        assert reopened.name == "Demo" and reopened.speaker.startswith("speaker")
        leftovers = [p.name for p in proj.folder.iterdir() if p.name.endswith(".part")]
        for name in leftovers:  # a torn temporary file may remain; it is never the project itself
            (proj.folder / name).unlink()
