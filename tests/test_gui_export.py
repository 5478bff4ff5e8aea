"""The Export panel, offscreen, with the bundled voice: WAV files a person would get."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from unwritable import unwritable_folder

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from gui_layout import clipped  # noqa: E402
from PySide6.QtWidgets import QApplication, QGroupBox, QLabel, QVBoxLayout  # noqa: E402

from voicestudio.gui.panels.export import NOTHING_YET, ExportPanel  # noqa: E402
from voicestudio.gui.panels.synthesize import SynthesizePanel  # noqa: E402
from voicestudio.safety.watermark import detect  # noqa: E402
from voicestudio.styling.controls import StyleControls  # noqa: E402

RENDER_MS = 60_000
SCRIPT_MS = 180_000
TEXT = "Export this line, please."
SCRIPT = [
    "The first clip of the script.",
    "A second one!",
    "# a comment is skipped",
    "",
    "And the third.",
]
#: The panel's area in a 1200 x 800 window, and in the main window at its minimum size.
DEFAULT_PANEL_SIZE = (944, 716)
SMALL_PANEL_SIZE = (843, 509)


@pytest.fixture
def panels(qtbot, ctx):
    synth = SynthesizePanel(ctx)
    export = ExportPanel(ctx, synth)
    for widget in (synth, export):
        qtbot.addWidget(widget)
    export.resize(*DEFAULT_PANEL_SIZE)
    export.show()
    qtbot.waitExposed(export)
    yield synth, export
    export.shutdown()
    synth.shutdown()


def speak(qtbot, synth: SynthesizePanel, text: str = TEXT):
    synth.set_text(text)
    with qtbot.waitSignal(synth.rendered, timeout=RENDER_MS) as blocker:
        synth.speak()
    qtbot.waitUntil(lambda: not synth.busy, timeout=RENDER_MS)
    return blocker.args[0]


def write_script(folder: Path, lines: list[str]) -> Path:
    path = folder / "script.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def render_and_wait(
    qtbot, export: ExportPanel, script: Path, out: Path, signal_name: str = "script_rendered"
):
    with qtbot.waitSignal(getattr(export, signal_name), timeout=SCRIPT_MS) as blocker:
        assert export.render_script(str(script), str(out))
    qtbot.waitUntil(lambda: not export.rendering, timeout=SCRIPT_MS)
    return blocker.args[0] if blocker.args else None


def test_nothing_to_export_before_a_render(qtbot, panels, tmp_path: Path):
    _synth, export = panels
    assert export.title == "Export"
    assert export.current_label.text() == NOTHING_YET
    assert export.export_current(str(tmp_path / "x.wav")) is None
    assert export.line_message.level == "error" and export.line_message.text() == NOTHING_YET
    assert not (tmp_path / "x.wav").exists()


@pytest.mark.parametrize(
    "rate, fmt, subtype",
    [(None, "float", "FLOAT"), (16_000, "pcm16", "PCM_16"), (48_000, "pcm24", "PCM_24")],
)
def test_current_line_as_wav(qtbot, panels, tmp_path: Path, rate, fmt, subtype):
    synth, export = panels
    audio = speak(qtbot, synth)
    assert "Export this line, please." in export.current_label.text()
    export.set_format(rate, fmt)
    with qtbot.waitSignal(export.exported, timeout=5_000) as blocker:
        written = export.export_current(str(tmp_path / "line"))  # ".wav" is added
    assert written == tmp_path / "line.wav" and blocker.args == [str(written)]
    info = sf.info(str(written))
    assert (info.samplerate, info.subtype, info.channels, info.format) == (
        rate or audio.sample_rate,
        subtype,
        1,
        "WAV",
    )
    assert info.duration == pytest.approx(audio.duration_s, abs=0.01)
    assert export.line_message.level == "ok" and str(written) in export.line_message.text()
    # no temporary left
    assert sorted(p.name for p in tmp_path.iterdir()) == ["line.wav", "settings.ini"]
    data, _ = sf.read(str(written), dtype="float32")
    if rate is None:  # 32-bit float at the voice's rate: the render plus its watermark, 32 dB below
        mark = data - np.clip(audio.samples, -1, 1)
        assert (
            10
            * np.log10(
                np.mean(mark.astype(np.float64) ** 2)
                / np.mean(audio.samples.astype(np.float64) ** 2)
            )
            < -30
        )
        assert (
            detect(data, audio.sample_rate).present
            and not detect(audio.samples, audio.sample_rate).present
        )
    else:  # resampled and quantized: the same loudness
        assert np.sqrt(np.mean(data**2)) == pytest.approx(
            np.sqrt(np.mean(audio.samples**2)), rel=0.05
        )
    with sf.SoundFile(str(written)) as f:
        assert "Synthetic speech" in f.comment


def test_format_choice_is_remembered(qtbot, ctx):
    first = ExportPanel(ctx, SynthesizePanel(ctx))
    qtbot.addWidget(first)
    first.set_format(44_100, "pcm24")
    with pytest.raises(ValueError, match="unsupported export format"):
        first.set_format(12_345, "pcm16")
    second = ExportPanel(ctx, first.synthesize)
    qtbot.addWidget(second)
    assert (second.rate_combo.currentData(), second.depth_combo.currentData()) == (44_100, "pcm24")
    first.synthesize.shutdown()


def test_unwritable_folder_is_a_clear_message(qtbot, panels, tmp_path: Path):
    synth, export = panels
    speak(qtbot, synth)
    locked = unwritable_folder(tmp_path)
    before = sorted(os.listdir(locked))
    assert export.export_current(str(locked / "line.wav")) is None
    message = export.line_message.text()
    assert (
        export.line_message.level == "error"
        and message.startswith("Not saved:")
        and str(locked) in message
    )
    assert "not writable" in message or "Permission denied" in message
    assert export.export_current(str(tmp_path / "no" / "such" / "line.wav")) is None
    assert "does not exist" in export.line_message.text()

    script = write_script(tmp_path, SCRIPT)
    message = render_and_wait(qtbot, export, script, locked / "clips", "script_failed")
    assert message == export.script_message.text() and export.script_message.level == "error"
    assert message.startswith("The script was not rendered:") and str(locked) in message
    assert sorted(os.listdir(locked)) == before
    assert export.progress.value() == 0 and export.render_button.isEnabled()
    if locked.is_relative_to(tmp_path):
        locked.chmod(0o755)


def test_script_renders_to_a_folder_with_progress(qtbot, panels, tmp_path: Path):
    synth, export = panels
    # the script takes the panel's style
    synth.set_controls(StyleControls(pitch=2.0, emotion="calm"))
    export.set_format(22_050, "pcm24")
    script = write_script(tmp_path, SCRIPT)
    out = tmp_path / "clips"
    seen: list[int] = []
    export.progress.valueChanged.connect(seen.append)
    result = render_and_wait(qtbot, export, script, out)
    names = ["001_the-first-clip-of.wav", "002_a-second-one.wav", "003_and-the-third.wav"]
    assert [p.name for p in result.files] == names and result.folder == out
    assert sorted(p.name for p in out.iterdir()) == names  # nothing else: no staging folder
    for path in result.files:
        info = sf.info(str(path))
        assert (info.samplerate, info.subtype, info.channels) == (
            22_050,
            "PCM_24",
            1,
        ) and info.duration > 0.4
    # one step per line, then full
    assert seen[-1] == 1000 and len(set(seen)) >= 3 and seen == sorted(seen)
    assert (
        export.script_message.level == "ok" and "Rendered 3 clip(s)" in export.script_message.text()
    )
    assert "3 file(s)" in export.progress_label.text()
    assert export.render_button.isEnabled() and not export.cancel_button.isEnabled()

    again = render_and_wait(qtbot, export, script, out, "script_failed")  # the clips are there now
    assert "already holds 001_the-first-clip-of.wav and 2 more" in again
    assert sorted(p.name for p in out.iterdir()) == names


def test_cancel_leaves_nothing_behind(qtbot, panels, tmp_path: Path):
    _synth, export = panels
    lines = [f"Line number {n} of a script that is long enough to cancel." for n in range(1, 13)]
    script = write_script(tmp_path, lines)
    out = tmp_path / "clips"

    def cancel_after_first_line(value: int) -> None:
        if 0 < value < 1000 and export.cancel_button.isEnabled():
            export.cancel_render()

    export.progress.valueChanged.connect(cancel_after_first_line)
    render_and_wait(qtbot, export, script, out, "script_cancelled")
    assert not out.exists()  # the folder the render made is gone again, and nothing is in it
    assert export.script_message.text() == "Cancelled: no clips were written."
    assert (
        export.progress.value() == 0
        and export.render_button.isEnabled()
        and not export.cancel_button.isEnabled()
    )

    out.mkdir()  # a folder of the user's: their file stays, nothing is added
    (out / "notes.txt").write_text("mine")
    render_and_wait(qtbot, export, script, out, "script_cancelled")
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]


def test_bad_script_files_are_clear_messages(qtbot, panels, tmp_path: Path):
    _synth, export = panels
    missing = render_and_wait(
        qtbot, export, tmp_path / "missing.txt", tmp_path / "clips", "script_failed"
    )
    assert "not found" in missing and str(tmp_path / "missing.txt") in missing
    empty = write_script(tmp_path, ["# only a comment", ""])
    assert "no prompts found" in render_and_wait(
        qtbot, export, empty, tmp_path / "clips", "script_failed"
    )
    assert not (tmp_path / "clips").exists()


def test_add_section_and_screenshots(qtbot, panels, tmp_path: Path, artifacts_dir: Path):
    from voicestudio.gui.theme import apply_theme

    apply_theme(QApplication.instance())
    synth, export = panels
    speak(qtbot, synth)
    export.set_format(48_000, "pcm24")
    written = export.export_current(str(tmp_path / "line.wav"))
    assert written is not None
    export.script_edit.setText(str(tmp_path / "script.txt"))
    export.folder_edit.setText(str(tmp_path / "clips"))
    # last, above the stretch
    assert export.sections.indexOf(export.dubbing) == export.sections.count() - 2
    extra = QGroupBox("Later")
    QVBoxLayout(extra).addWidget(QLabel("A later section goes below the others."))
    export.add_section(extra)
    assert export.sections.indexOf(extra) == export.sections.count() - 2
    extra.hide()

    for name, size in (
        ("panel_export.png", DEFAULT_PANEL_SIZE),
        ("panel_export_small.png", SMALL_PANEL_SIZE),
    ):
        export.resize(*size)
        qtbot.wait(50)
        assert clipped(export) == [], name
        path = artifacts_dir / name
        export.grab().save(str(path))
        assert path.stat().st_size > 5_000


def test_current_line_in_every_file_type(qtbot, panels, tmp_path: Path, monkeypatch):
    """The extension picks the type, as in ``say``; the bit depth applies to WAV and FLAC only;
    the save dialog offers the same table of types."""
    from voicestudio.audio.io import file_formats
    from voicestudio.gui.panels import export as export_module

    synth, export = panels
    audio = speak(qtbot, synth)
    export.set_format(None, "pcm24")
    expected = {
        "line.flac": ("FLAC", "PCM_24", "pcm24 FLAC"),
        "line.ogg": ("OGG", "VORBIS", "Ogg Vorbis (lossy)"),
    }
    if "MP3" in sf.available_formats():
        expected["line.mp3"] = ("MP3", "MPEG_LAYER_III", "MP3 (lossy)")
    for name, (container, subtype, described) in expected.items():
        written = export.export_current(str(tmp_path / name))
        assert written == tmp_path / name, export.line_message.text()
        info = sf.info(str(written))
        assert (info.format, info.subtype, info.samplerate) == (
            container,
            subtype,
            audio.sample_rate,
        )
        assert export.line_message.level == "ok" and described in export.line_message.text()
        with sf.SoundFile(str(written)) as f:
            assert "Synthetic speech" in f.comment

    export.set_format(None, "float")  # FLAC has no float: a clear message, nothing written
    assert export.export_current(str(tmp_path / "float.flac")) is None
    assert (
        export.line_message.level == "error"
        and "FLAC files cannot hold float" in export.line_message.text()
    )
    assert export.export_current(str(tmp_path / "line.m4a")) is None
    assert ".m4a" in export.line_message.text() and ".flac" in export.line_message.text()
    # lossy: the depth does not apply
    assert export.export_current(str(tmp_path / "line.ogg")) is not None

    offered: list[str] = []

    def pick_flac(_parent, _title, _suggestion, filters):
        offered.extend(filters.split(";;"))
        return str(tmp_path / "picked"), next(f for f in offered if "*.flac" in f)

    monkeypatch.setattr(export_module.QFileDialog, "getSaveFileName", staticmethod(pick_flac))
    export.set_format(None, "pcm16")
    # the chosen filter's extension is added
    assert export.export_current() == tmp_path / "picked.flac"
    assert [entry.split("(*")[1].rstrip(")") for entry in offered] == [
        f.suffix for f in file_formats()
    ]
    assert sf.info(str(tmp_path / "picked.flac")).format == "FLAC"
    names = {p.name for p in tmp_path.iterdir()}
    # no temporaries, no refused files
    assert names == set(expected) | {"picked.flac", "settings.ini"}
