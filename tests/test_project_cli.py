"""`voicestudio project info` for a corpus user: every take's verdicts on request, wording that
fits imported files, the script's unrecorded prompts counted as optional, and suggested
commands that paste into a shell even when the project folder has a space in its name."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import numpy as np
import pytest
from training_data import SENTENCES, SPEAKER_RATE, speaker_reads

from voicestudio.audio.io import write_audio
from voicestudio.cli import main
from voicestudio.project.project import VoiceProject, resolve_project


@pytest.fixture(scope="module")
def clips(tmp_path_factory, synth) -> Path:
    """A folder of .wav + .txt pairs cut tightly at the speech, as corpora often are."""
    folder = tmp_path_factory.mktemp("corpus")
    for number, text in enumerate(SENTENCES[:3], start=1):
        audio = speaker_reads(synth, text)
        loud = np.flatnonzero(np.abs(audio) > 0.02)
        write_audio(folder / f"clip{number}.wav", audio[loud[0]:loud[-1] + 1], SPEAKER_RATE)
        (folder / f"clip{number}.txt").write_text(text, encoding="utf-8")
    return folder


def _run(capsys, *args: str | Path) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def _suggested_commands(text: str) -> list[list[str]]:
    """Every `voicestudio …` command a message suggests, split as a shell would split it."""
    found = re.findall(r"(voicestudio (?:project|train|record|say)[^`)\n]*)", text)
    return [shlex.split(command) for command in found]


def test_info_of_an_imported_corpus(capsys, clips, tmp_path):
    code, out, _ = _run(capsys, "project", "new", "LJ test", "--dir", tmp_path)
    assert code == 0
    folder = resolve_project(tmp_path / "LJ test")
    assert _run(capsys, "project", "import", clips, "--project", folder, "--no-asr")[0] == 0
    project = VoiceProject.open(folder)
    script_prompts = len(project.prompts) - 3

    code, out, _ = _run(capsys, "project", "info", folder)
    assert code == 0
    # the statement is still to record; the script's other prompts are optional
    assert (
        f"3 imported, 0 recorded here, 0 skipped, 1 to record; {script_prompts - 1} script prompts "
        "not recorded, optional" in out
    )
    commands = _suggested_commands(out)
    assert ["voicestudio", "project", "consent", str(folder)] in commands
    assert ["voicestudio", "project", "info", str(folder), "--takes"] in commands  # warnings to see

    code, out, _ = _run(capsys, "project", "info", folder, "--takes")
    assert code == 0
    rows = [line for line in out.splitlines() if "(imported from clip" in line]
    assert len(rows) == 3 and all(f"(imported from clip{n}.wav)" in rows[n - 1] for n in (1, 2, 3))
    assert len(rows) == 3 and all(
        re.search(r"\bp\d{4}_t01\.wav\s+\d+\.\d s  (pass|warn|fail)", r) for r in rows
    )
    details = [line.strip() for line in out.splitlines() if re.match(r"\s{10}(warn|fail): ", line)]
    assert details, out  # the tight cut gives each clip an edge warning, and it is listed
    assert any("of the file" in line for line in details)
    assert not any(
        "wait a moment before stopping" in line or "leave a short pause" in line for line in details
    )


def test_suggested_commands_paste_with_a_space_in_the_folder(capsys, tmp_path, synth):
    parent = tmp_path / "my projects"
    parent.mkdir()
    project = VoiceProject.create("Ann and Bo", parent, prompts=SENTENCES[:2], consent_index=None)
    code, out, _ = _run(capsys, "project", "info", project.folder)
    assert code == 0
    assert _suggested_commands(out)
    for command in _suggested_commands(out):
        assert str(project.folder) in command, command  # one argument, spaces and all

    # the consent hints, the trained-voice hint and the restore hint quote it too
    project.add_take(1, speaker_reads(synth, SENTENCES[1]), SPEAKER_RATE)
    code, _, err = _run(capsys, "project", "consent", project.folder)
    assert code == 1
    assert any(str(project.folder) in c for c in _suggested_commands(err)), err
    code, _, err = _run(capsys, "say", "--voice", project.folder, "Hi.", "-o", tmp_path / "x.wav")
    assert code == 1 and [
        "voicestudio",
        "train",
        "--project",
        str(project.folder),
    ] in _suggested_commands(err)
    (project.folder / "project.json").write_text("{ broken", encoding="utf-8")
    code, _, err = _run(capsys, "project", "info", project.folder)
    assert code == 1 and [
        "voicestudio",
        "project",
        "restore",
        str(project.folder),
    ] in _suggested_commands(err)


def test_a_missing_voice_path_is_not_found(capsys, tmp_path):
    code, _, err = _run(
        capsys, "say", "Hi.", "-o", tmp_path / "x.wav", "--voice", tmp_path / "projects" / "myvoice"
    )
    assert code == 1
    assert f"voice not found: {tmp_path / 'projects' / 'myvoice'} does not exist" in err
    assert "is not a voice" not in err


def test_a_wrong_option_value_is_one_line(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["say", "Hi.", "-o", "x.wav", "--provider", "gpu"])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    line, = err.splitlines()
    assert line.startswith("voicestudio say: error: argument --provider: invalid choice: 'gpu'")
    assert line.endswith("(see 'voicestudio say --help')") and "usage:" not in err
