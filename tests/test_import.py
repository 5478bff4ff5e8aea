"""Importing recordings with transcripts: the three layouts, bad files, re-import, the real
corpus."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from voicestudio.cli import main
from voicestudio.project.importer import ImportSourceError, find_pairs, import_folder
from voicestudio.project.project import VoiceProject


def no_checks(samples, sample_rate, prompt):
    return None


@pytest.fixture
def empty_project(tmp_path) -> VoiceProject:
    (tmp_path / "projects").mkdir()
    return VoiceProject.create("Imp", tmp_path / "projects", prompts=[])


def speech_wav(synth, path, text, rate=None):
    audio = np.concatenate([c.samples for c in synth.synthesize(text)])
    sf.write(str(path), audio, rate or synth.sample_rate, subtype="PCM_16")
    return len(audio) / synth.sample_rate


def test_txt_layout_with_real_checks(tmp_path, synth, empty_project):
    src = tmp_path / "src"
    src.mkdir()
    seconds = speech_wav(synth, src / "a.wav", "The kettle is boiling in the kitchen.")
    (src / "a.txt").write_text("The kettle is boiling in the kitchen.\n")
    speech_wav(synth, src / "b.wav", "Please close the window before you leave.")
    (src / "b.txt").write_text("Please close the window before you leave.")
    (src / "orphan.wav").write_bytes(b"no transcript, so not part of the import")
    report = import_folder(empty_project, src)  # default checker: every check, ASR included
    assert (
        report.layout.endswith(".txt transcripts") and report.imported == 2 and not report.skipped
    )
    assert report.seconds == pytest.approx(
        seconds + len(sf.read(src / "b.wav")[0]) / synth.sample_rate, rel=1e-3
    )
    again = VoiceProject.open(empty_project.folder)
    takes = [p.chosen_take for p in again.prompts]
    assert [t.verdict for t in takes] != ["unchecked", "unchecked"]
    names = {c.name for c in takes[0].report.checks}
    assert {"level", "clipping", "noise", "asr"} <= names
    assert sf.info(str(again.take_path(takes[0]))).subtype == "PCM_16"  # 16-bit sources stay 16-bit


def test_ljspeech_layout_and_bad_files_are_reported(tmp_path, synth, empty_project):
    src = tmp_path / "lj"
    (src / "wavs").mkdir(parents=True)
    speech_wav(synth, src / "wavs" / "X-1.wav", "Good morning to you.")
    (src / "wavs" / "X-2.wav").write_bytes(b"RIFF\x00\x00garbage")
    (src / "metadata.csv").write_text(
        "X-1|Good morning to you.|Good morning to you.\n"
        "X-2|Broken file.|Broken file.\n"
        "X-3|Missing file.|Missing file.\n"
        "X-4||\n"
    )
    report = import_folder(empty_project, src, checker=no_checks)
    assert report.layout == "LJSpeech metadata.csv" and report.imported == 1
    reasons = dict(report.skipped)
    assert "cannot read audio file" in reasons["X-2.wav"]
    assert reasons["X-3.wav"] == "audio file missing" and reasons["X-4.wav"] == "empty transcript"
    assert VoiceProject.open(empty_project.folder).summary().takes == 1


def test_reimport_adds_nothing_and_matches_existing_prompts(tmp_path, synth):
    project = VoiceProject.create(
        "Match", tmp_path, prompts=["Good morning to you.", "Something else."]
    )
    src = tmp_path / "src"
    src.mkdir()
    speech_wav(synth, src / "gm.wav", "Good morning to you.")
    (src / "gm.txt").write_text("good morning, to you")
    first = import_folder(project, src, checker=no_checks)
    second = import_folder(project, src, checker=no_checks)
    assert (first.imported, second.imported, second.already_present) == (1, 0, 1)
    project = VoiceProject.open(project.folder)
    # attached to the script prompt
    assert len(project.prompts) == 2 and project.prompts[0].status == "recorded"


def test_one_bad_file_never_stops_an_import(tmp_path, synth, empty_project):
    src = tmp_path / "odd"
    src.mkdir()
    speech_wav(synth, src / "a.wav", "Good morning to you.")
    (src / "a.txt").write_text("Good morning to you.")
    # a rate VoiceStudio does not take
    sf.write(str(src / "b.wav"), np.zeros(6000, np.float32), 6000)
    (src / "b.txt").write_text("Too slow a rate.")
    (src / "c.wav").write_bytes(b"")
    (src / "c.txt").write_text("Empty file.")
    report = import_folder(empty_project, src, checker=no_checks)
    assert report.imported == 1 and {name for name, _ in report.skipped} == {"b.wav", "c.wav"}
    project = VoiceProject.open(empty_project.folder)
    assert project.summary().takes == 1 and len(list(project.takes_dir.iterdir())) == 1


def test_metadata_that_is_not_utf8_is_a_clear_error(tmp_path):
    src = tmp_path / "latin"
    src.mkdir()
    (src / "metadata.csv").write_bytes("X-1|Caf\xe9|Caf\xe9\n".encode("latin-1"))
    with pytest.raises(ImportSourceError, match="not UTF-8"):
        find_pairs(src)


def test_folder_without_transcripts_is_refused(tmp_path, empty_project):
    (tmp_path / "nothing").mkdir()
    with pytest.raises(ImportSourceError, match="no recordings with transcripts"):
        find_pairs(tmp_path / "nothing")
    with pytest.raises(ImportSourceError, match="is not a folder"):
        find_pairs(tmp_path / "missing")


def test_manifest_must_stay_inside_its_folder(tmp_path, empty_project):
    src = tmp_path / "m"
    src.mkdir()
    (src / "manifest.tsv").write_text(
        "file\tduration_s\tsample_rate\ttranscript\n../../etc/passwd\t1\t16000\thello\n"
    )
    assert find_pairs(src)[1] == []


def test_import_pmatthes_reports_141_takes_and_17_9_minutes(shared_speech, tmp_path, capsys):
    """The acceptance case. ASR is skipped here for time (2 min of pocketsphinx); the other checks
    run."""
    assert main(["project", "new", "pm", "--dir", str(tmp_path)]) == 0
    assert (
        main(
            [
                "project",
                "import",
                str(shared_speech / "pmatthes"),
                "--project",
                str(tmp_path / "pm"),
                "--no-asr",
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert main(["project", "info", str(tmp_path / "pm")]) == 0
    out = capsys.readouterr().out
    assert "takes:    141 (17.9 minutes" in out
    project = VoiceProject.open(tmp_path / "pm")
    summary = project.summary()
    assert summary.takes == 141 and summary.minutes == pytest.approx(17.87, abs=0.05)
    assert sum(summary.verdicts.values()) == 141 and "unchecked" not in summary.verdicts
