"""A whole script into numbered WAV files with the bundled voice: all or nothing."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import soundfile as sf
from unwritable import unwritable_folder

from voicestudio.errors import InputTextError, OutputPathError, VoiceStudioError
from voicestudio.styling.controls import StyleControls
from voicestudio.text.script import ScriptError
from voicestudio.voice.batch import (
    MAX_LINES,
    RenderCancelled,
    clip_name,
    render_script,
    script_lines,
)

LINES = ["First words of the script.", "A second, short line!", "And the third one ends it."]


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


@pytest.mark.parametrize("number, text, digits, expected", [
    (1, "First words of the script.", 3, "001_first-words-of-the.wav"),
    (12, "Ça coûte 5 € — d'accord?", 3, "012_ca-coute-5-d.wav"),
    (7, "../../etc/passwd", 3, "007_etc-passwd.wav"),
    (3, "日本語だけ", 3, "003_line.wav"),
    (42, "x", 4, "0042_x.wav"),
    (1, "a" * 80, 3, "001_" + "a" * 40 + ".wav"),
])
def test_clip_names_are_numbered_and_safe(number, text, digits, expected):
    name = clip_name(number, text, digits)
    assert name == expected
    assert "/" not in name and "\\" not in name and name.isascii()


def test_script_lines_skip_blanks_and_comments(tmp_path: Path):
    script = tmp_path / "script.txt"
    script.write_text("\n# a comment\nFirst line.\n\n   Second   line.  \n", encoding="utf-8")
    assert script_lines(script) == ["First line.", "Second line."]
    script.write_text("\n\n# only comments\n", encoding="utf-8")
    with pytest.raises(ScriptError, match="no prompts found"):
        script_lines(script)
    with pytest.raises(ScriptError, match="not found"):
        script_lines(tmp_path / "missing.txt")


def test_renders_every_line_at_the_chosen_rate_and_format(synth, tmp_path: Path):
    out = tmp_path / "clips"  # created by the render
    seen: list[float] = []
    result = render_script(LINES, synth, out, StyleControls(pitch=2.0), rate=16_000, fmt="pcm24",
                           progress=lambda fraction, _message: seen.append(fraction))
    names = [
        "001_first-words-of-the.wav",
        "002_a-second-short-line.wav",
        "003_and-the-third-one.wav",
    ]
    assert [p.name for p in result.files] == names
    assert leftovers(out) == names  # no staging folder left behind
    for path in result.files:
        info = sf.info(str(path))
        assert (info.samplerate, info.subtype, info.channels) == (16_000, "PCM_24", 1)
        assert info.duration > 0.5
    assert result.seconds_of_audio == pytest.approx(
        sum(sf.info(str(p)).duration for p in result.files), rel=1e-3
    )
    assert seen[0] == 0.0 and seen[-1] == 1.0 and seen == sorted(seen)
    assert result.skipped == []


def test_unspeakable_lines_are_skipped_and_reported(synth, tmp_path: Path):
    result = render_script(["Hello there.", "\U0001F600 \U0001F389", "Goodbye."], synth, tmp_path)
    assert [p.name for p in result.files] == ["001_hello-there.wav", "003_goodbye.wav"]
    assert [n for n, _ in result.skipped] == [2] and "nothing speakable" in result.skipped[0][1]
    with pytest.raises(InputTextError, match="nothing speakable in any line"):
        render_script(["\U0001F600"], synth, tmp_path / "none")
    assert not (tmp_path / "none").exists()


def test_cancel_leaves_nothing(synth, tmp_path: Path):
    out = tmp_path / "existing"
    out.mkdir()
    (out / "keep.txt").write_text("the user's file")
    calls = []

    def cancelled() -> bool:
        calls.append(1)
        return len(calls) > 2  # after two lines were rendered

    with pytest.raises(RenderCancelled):
        render_script(LINES, synth, out, cancelled=cancelled)
    assert len(calls) == 3
    assert leftovers(out) == ["keep.txt"]

    new = tmp_path / "new"

    def stop(fraction: float, _message: str) -> None:  # a progress callback may stop it too
        if fraction > 0.5:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        render_script(LINES, synth, new, progress=stop)
    assert not new.exists()  # the folder it made is gone again


def test_bad_inputs_are_clear_errors(synth, tmp_path: Path):
    with pytest.raises(ScriptError, match="no lines to render"):
        render_script(["", "   "], synth, tmp_path)
    with pytest.raises(ScriptError, match=f"at most {MAX_LINES}"):
        render_script(["Line."] * (MAX_LINES + 1), synth, tmp_path)
    with pytest.raises(VoiceStudioError, match="unknown format 'mp3'"):
        render_script(LINES, synth, tmp_path, fmt="mp3")
    with pytest.raises(VoiceStudioError, match="outside 8000..192000"):
        render_script(LINES, synth, tmp_path, rate=1000)
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    with pytest.raises(OutputPathError, match="is a file, not a folder"):
        render_script(LINES, synth, a_file)
    with pytest.raises(OutputPathError, match="does not exist"):
        render_script(LINES, synth, tmp_path / "no" / "such" / "folder")
    assert leftovers(tmp_path) == ["file.txt"]


def test_unwritable_folder_is_refused_before_rendering(synth, tmp_path: Path):
    locked = unwritable_folder(tmp_path)
    before = leftovers(locked)
    with pytest.raises(
        OutputPathError, match="not writable|Operation not permitted|Permission denied"
    ):
        render_script(LINES, synth, locked)
    with pytest.raises(
        OutputPathError, match="not writable|Operation not permitted|Permission denied"
    ):
        render_script(LINES, synth, locked / "clips")
    assert leftovers(locked) == before
    if locked.is_relative_to(tmp_path):
        os.chmod(locked, 0o755)


def test_existing_clips_are_not_overwritten_unless_asked(synth, tmp_path: Path):
    (tmp_path / "002_a-second-short-line.wav").write_bytes(b"mine")
    with pytest.raises(OutputPathError, match="already holds 002_a-second-short-line.wav"):
        render_script(LINES, synth, tmp_path)
    assert (tmp_path / "002_a-second-short-line.wav").read_bytes() == b"mine"
    assert leftovers(tmp_path) == ["002_a-second-short-line.wav"]
    result = render_script(LINES, synth, tmp_path, overwrite=True)
    assert len(result.files) == 3 and sf.info(str(result.files[1])).samplerate == synth.sample_rate
