"""The bad-input corpus: generated broken audio, hostile text and damaged projects go
through the real entry points. Each gets a clear VoiceStudioError or is handled (skipped
with a reason, spoken with a warning); nothing crashes and the project stays loadable.
Voice bundles have their own corpus in test_voice_bundle.py."""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from voicestudio.errors import AudioFileError, InputTextError, VoiceStudioError
from voicestudio.project.importer import import_folder
from voicestudio.project.project import VoiceProject
from voicestudio.project.store import ProjectFileError

SPEECHLIKE_RATE = 16_000


def _tone(seconds: float, rate: int, channels: int = 1) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    wave = (0.2 * np.sin(2 * np.pi * 150 * t) * (1 + np.sin(2 * np.pi * 3 * t)) / 2).astype(
        np.float32
    )
    return np.repeat(wave[:, None], channels, axis=1) if channels > 1 else wave


def _wav(path: Path, samples: np.ndarray, rate: int, subtype: str = "PCM_16") -> None:
    sf.write(str(path), samples, rate, subtype=subtype)


def _truncated(path: Path) -> None:
    _wav(path, _tone(2.0, SPEECHLIKE_RATE), SPEECHLIKE_RATE)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])  # the header still promises 2 s


def _header_only(path: Path) -> None:
    _wav(path, np.zeros(0, np.float32), SPEECHLIKE_RATE)


def _float_with(value: float):
    def make(path: Path) -> None:
        samples = _tone(1.5, SPEECHLIKE_RATE)
        samples[1000] = value
        _wav(path, samples, SPEECHLIKE_RATE, "FLOAT")

    return make


def _lying_rate(path: Path) -> None:
    """A WAV header claiming 1 Hz."""
    _wav(path, _tone(1.0, SPEECHLIKE_RATE), SPEECHLIKE_RATE)
    data = bytearray(path.read_bytes())
    data[24:28] = struct.pack("<I", 1)
    path.write_bytes(bytes(data))


AUDIO_CASES = {
    "zero-length.wav": lambda p: p.write_bytes(b""),
    "garbage.wav": lambda p: p.write_bytes(os.urandom(4096)),
    "text-as-audio.wav": lambda p: p.write_text("this is not audio\n" * 50),
    "truncated.wav": _truncated,
    "header-only.wav": _header_only,
    "nan.wav": _float_with(float("nan")),
    "inf.wav": _float_with(float("inf")),
    "rate-1hz.wav": _lying_rate,
    "8khz.wav": lambda p: _wav(p, _tone(2.0, 8_000), 8_000),
    "192khz.wav": lambda p: _wav(p, _tone(1.0, 192_000), 192_000),
    "eight-channels.wav": lambda p: _wav(p, _tone(1.0, 48_000, channels=8), 48_000),
    "long-90s.wav": lambda p: _wav(p, _tone(90.0, SPEECHLIKE_RATE), SPEECHLIKE_RATE),
    "folder.wav": lambda p: p.mkdir(),
}


def test_a_folder_of_broken_recordings_imports_what_it_can_and_names_the_rest(tmp_path):
    source = tmp_path / "recordings"
    source.mkdir()
    rows = []
    for n, (name, make) in enumerate(AUDIO_CASES.items()):
        make(source / name)
        rows.append(f"{name}\t1.0\t16000\tSentence number {n} of the broken corpus.")
    rows.append("missing.wav\t1.0\t16000\tThis file is not there.")
    (source / "manifest.tsv").write_text(
        "file\tduration_s\tsample_rate\ttranscript\n" + "\n".join(rows) + "\n"
    )
    project = VoiceProject.create(
        "Corpus", tmp_path, prompts=["The first prompt."], consent_index=None
    )

    report = import_folder(project, source, asr=False)

    skipped = dict(report.skipped)
    for name in (
        "zero-length.wav",
        "garbage.wav",
        "text-as-audio.wav",
        "header-only.wav",
        "nan.wav",
        "inf.wav",
        "rate-1hz.wav",
        "folder.wav",
        "missing.wav",
    ):
        assert name in skipped, f"{name} was not refused"
        assert skipped[name] and "Traceback" not in skipped[name]
    assert "NaN or infinite" in skipped["nan.wav"] and "NaN or infinite" in skipped["inf.wav"]
    assert "empty" in skipped["zero-length.wav"] and "missing" in skipped["missing.wav"]
    for name in ("8khz.wav", "192khz.wav", "eight-channels.wav", "long-90s.wav"):
        # odd but real recordings are kept
        assert name not in skipped, f"{name}: {skipped.get(name)}"
    # truncated: libsndfile reads what is there, or the file is refused; either way no crash
    assert report.imported + len(report.skipped) == len(AUDIO_CASES) + 1

    reopened = VoiceProject.open(project.folder)
    takes = [t for p in reopened.prompts for t in p.takes]
    assert len(takes) == report.imported
    assert all(project.take_path(t).is_file() for t in takes)
    rates = {t.source.rsplit("/", 1)[-1]: t.sample_rate for t in takes}
    assert rates["192khz.wav"] == 192_000 and rates["8khz.wav"] == 8_000
    eight = next(t for t in takes if t.source.endswith("eight-channels.wav"))
    assert sf.info(str(project.take_path(eight))).channels == 1  # mixed to mono


# ----------------------------------------------------------------------------- text
TEXT_CASES = {
    "empty": "",
    "whitespace": " \t\n\r  ",
    "control-characters": "Hello\x00\x07\x1b[31m world\x08\x7f again.",
    "only-control": "\x00\x01\x02\x1b\x7f",
    "emoji-only": "😀🎉👍🏽",
    "emoji-mixed": "Good news 🎉 everyone 👍🏽!",
    "right-to-left": "שלום עולם. مرحبا بالعالم.",
    "mixed-direction": "The word שלום means peace.",
    "tag-soup": "<script>alert('x')</script><b>Bold <i>and</i></b> &amp; &#x1F600; plain text.",
    "punctuation-only": "?!... ,,, ;;; --- ***",
    "zero-width": "Zero\u200bwidth\u200d joiners\ufeff here.",
    "lone-surrogate": "Broken \ud800 surrogate.",
    "huge-word": "a" * 5_000,
    "combining-marks": "Ze\u0301\u0301\u0301\u0301\u0301\u0301bra.",
}


@pytest.mark.parametrize("case", sorted(TEXT_CASES))
def test_hostile_text_is_spoken_with_warnings_or_refused_clearly(case, synth):
    from voicestudio.voice.synthesizer import TextReport

    report = TextReport()
    try:
        chunks = []
        for chunk in synth.synthesize(TEXT_CASES[case], report=report):
            chunks.append(chunk)
            if len(chunks) >= 3:
                break
    except InputTextError as exc:
        assert str(exc).startswith("nothing"), str(exc)
        assert case not in ("emoji-mixed", "mixed-direction", "tag-soup", "zero-width")
        return
    assert case not in ("empty", "whitespace", "only-control", "emoji-only", "punctuation-only")
    audio = np.concatenate([c.samples for c in chunks])
    assert audio.size > 0 and np.all(np.isfinite(audio)) and np.max(np.abs(audio)) <= 1.0


def test_a_megabyte_of_text_starts_speaking_without_reading_it_all(synth):
    text = "This sentence repeats in a very long text. " * 25_000  # about 1 MB
    first = next(iter(synth.synthesize(text)))
    assert first.samples.size > 0


# ----------------------------------------------------------------------------- projects
@pytest.fixture
def project(tmp_path) -> VoiceProject:
    project = VoiceProject.create(
        "Broken", tmp_path, prompts=["One prompt.", "Two prompt."], consent_index=None
    )
    project.add_take(0, _tone(1.0, 48_000), 48_000, source="test")
    return project


def _edit(project: VoiceProject, change) -> None:
    path = project.folder / "project.json"
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


PROJECT_CASES = {
    "invalid-json": (
        lambda p: (p.folder / "project.json").write_text('{"schema": 2, "name": '),
        "line 1",
    ),
    "empty-file": (lambda p: (p.folder / "project.json").write_text(""), "project.json"),
    "not-an-object": (
        lambda p: (p.folder / "project.json").write_text("[1, 2, 3]"),
        "project.json",
    ),
    "newer-schema": (lambda p: _edit(p, lambda d: d.update(schema=999)), "newer VoiceStudio"),
    "no-schema": (lambda p: _edit(p, lambda d: d.pop("schema")), "no schema"),
    "take-escapes": (
        lambda p: _edit(p, lambda d: d["prompts"][0]["takes"][0].update(file="../../etc/passwd")),
        "inside the project",
    ),
    "absolute-take": (
        lambda p: _edit(p, lambda d: d["prompts"][0]["takes"][0].update(file="/etc/passwd")),
        "inside the project",
    ),
    "prompts-not-list": (
        lambda p: _edit(p, lambda d: d.update(prompts="many")),
        "'prompts' must be a list",
    ),
    "unknown-take-field": (
        lambda p: _edit(p, lambda d: d["prompts"][0]["takes"][0].update(evil=1)),
        "unknown",
    ),
    "missing-file": (lambda p: (p.folder / "project.json").unlink(), "not"),
}


@pytest.mark.parametrize("case", sorted(PROJECT_CASES))
def test_a_damaged_project_file_is_a_clear_error_and_is_left_as_it_was(case, project):
    damage, fragment = PROJECT_CASES[case]
    damage(project)
    path = project.folder / "project.json"
    before = path.read_bytes() if path.exists() else None
    with pytest.raises(VoiceStudioError) as caught:
        VoiceProject.open(project.folder)
    assert fragment in str(caught.value), str(caught.value)
    assert (path.read_bytes() if path.exists() else None) == before  # opening never rewrites it
    if case not in ("newer-schema", "missing-file"):
        assert isinstance(caught.value, ProjectFileError)


def test_a_take_that_links_outside_the_project_is_never_read(project, tmp_path):
    outside = tmp_path / "private.wav"
    _wav(outside, _tone(1.0, 48_000), 48_000)
    take = project.prompts[0].takes[0]
    target = project.take_path(take)
    target.unlink()
    target.symlink_to(outside)
    with pytest.raises(AudioFileError, match="outside the project folder"):
        project.take_path(take)
    from voicestudio.project.selection import reference_takes

    assert reference_takes(project) == []
    # the project still opens
    assert VoiceProject.open(project.folder).prompts[0].takes[0].file == take.file
    target.unlink()
    target.symlink_to(target)  # a link loop
    with pytest.raises(AudioFileError):
        project.take_path(take)
