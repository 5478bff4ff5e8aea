"""The Dubbing view of the Export panel, offscreen, with the bundled voice: import subtitles,
render, re-render a line, export a track a person would get; bad files and cancel."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from gui_layout import clipped  # noqa: E402

from voicestudio.dubbing import LineStatus  # noqa: E402
from voicestudio.gui.panels.dubbing import COLUMNS, DubbingSection, cue_text  # noqa: E402
from voicestudio.gui.panels.export import ExportPanel  # noqa: E402
from voicestudio.gui.panels.synthesize import SynthesizePanel  # noqa: E402

DUB_MS = 300_000
SRT = """1
00:00:00,500 --> 00:00:03,000
Welcome to the dubbing view.

2
00:00:03,500 --> 00:00:06,000
Every line starts on its cue.

3
00:00:06,500 --> 00:00:07,000
This line is far too long to fit into half a second of time.

4
00:00:08,000 --> 00:00:10,250
And the track ends with the last cue.
"""


@pytest.fixture
def view(qtbot, ctx):
    synth = SynthesizePanel(ctx)
    export = ExportPanel(ctx, synth)
    for widget in (synth, export):
        qtbot.addWidget(widget)
    export.resize(944, 716)
    export.show()
    qtbot.waitExposed(export)
    yield export.dubbing
    export.shutdown()
    synth.shutdown()


def srt_file(folder: Path, text: str = SRT, name: str = "dub.srt") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def cell(view, row: int, column: str) -> str:
    return view.table.item(row, COLUMNS.index(column)).text()


def wait_for(qtbot, view, signal_name: str, start) -> list:
    with qtbot.waitSignal(getattr(view, signal_name), timeout=DUB_MS) as blocker:
        assert start()
    qtbot.waitUntil(lambda: not view.busy, timeout=DUB_MS)
    return blocker.args


def test_import_render_rerender_and_export_a_timed_dub(
    qtbot, view, ctx, tmp_path: Path, artifacts_dir: Path
):
    import pyloudnorm

    # nothing imported yet
    assert not view.render_button.isEnabled() and not view.export_button.isEnabled()
    assert view.import_script(str(srt_file(tmp_path)))
    assert view.table.rowCount() == 4 and view.message.level == "ok"
    assert "4 timed cue(s) ending at 0:10.250" in view.message.text()
    assert [cell(view, 0, c) for c in ("#", "Cue", "Slot s", "Status")] == [
        "1",
        "0:00.500",
        "2.50",
        "pending",
    ]
    assert cell(view, 2, "Text").startswith("This line is far too long")

    view.set_output(-16.0, 44_100, 16)
    (results,) = wait_for(qtbot, view, "rendered", view.render_all)
    assert [r.status for r in results] == [
        LineStatus.RENDERED,
        LineStatus.RENDERED,
        LineStatus.TOO_LONG,
        LineStatus.RENDERED,
    ]
    assert (
        cell(view, 2, "Status") == "too long" and "cue(s) 3 still too long" in view.message.text()
    )
    tooltip = view.table.item(2, COLUMNS.index("Status")).toolTip()
    # the engine's wording, as in report.csv and the CLI
    assert tooltip == results[2].warnings[0].message
    assert (
        tooltip.startswith("cue 3 (00:00:06.500): too long for its slot")
        and f"{results[2].tempo:.2f}×" in tooltip
    )
    assert f"runs {6.5 + results[2].rendered_s - 8.0:.2f} s into cue 4" in tooltip
    for row, result in enumerate(results):
        assert cell(view, row, "Rendered s") == f"{result.rendered_s:.2f}"
        assert float(cell(view, row, "Tempo").rstrip("×")) == pytest.approx(result.tempo, abs=0.005)
    # Sped up about as far as allowed (each render samples its own durations, so the achieved
    # tempo, natural ÷ rendered, lands within a few per cent of the limit), and not cut:
    assert 1.15 <= results[2].tempo <= 1.25  # never over the limit
    assert results[2].rendered_s > 0.5

    view.table.selectRow(1)
    assert view.play_button.isEnabled() and view.rerender_button.isEnabled()
    before = view.session.results[1]
    (again,) = wait_for(qtbot, view, "line_rendered", view.rerender_line)
    assert again.line.index == 2 and again is view.session.results[1] and again is not before
    assert all(view.session.results[i] is results[i] for i in (0, 2, 3))  # the others are untouched
    # played, or refused for want of a speaker here
    played = lambda: ctx.is_playing or "Cannot play" in view.message.text()  # noqa: E731
    qtbot.waitUntil(played, timeout=10_000)
    ctx.stop_playback()

    out = tmp_path / "dub"
    (done,) = wait_for(qtbot, view, "exported", lambda: view.export(str(out)))
    assert view.message.level == "warning" and str(out) in view.message.text()  # line 3 is reported
    track, rate = sf.read(str(out / "track.wav"))
    info = sf.info(str(out / "track.wav"))
    assert (info.samplerate, info.subtype) == (44_100, "PCM_16")
    assert len(track) / rate == pytest.approx(10.25, abs=0.01)
    assert pyloudnorm.Meter(rate).integrated_loudness(track) == pytest.approx(-16.0, abs=0.5)
    assert len(done.stems) == 4 and all(p.is_file() for p in done.stems)
    with open(out / "report.csv", newline="", encoding="utf-8") as f:
        report = list(csv.DictReader(f))
    assert [row["status"] for row in report] == [
        LineStatus.RENDERED,
        LineStatus.RENDERED,
        LineStatus.TOO_LONG,
        LineStatus.RENDERED,
    ]
    assert report[2]["warnings"] == view.session.results[2].warnings[0].message
    first = int(round(0.5 * rate))
    assert np.abs(track[:first - int(0.001 * rate)]).max() < 1e-3  # silence before the first cue

    from PySide6.QtWidgets import QApplication

    from voicestudio.gui.theme import apply_theme

    apply_theme(QApplication.instance())
    view.table.selectRow(2)
    for size, name in (
        ((944, 716), "panel_export_dubbing.png"),
        ((843, 509), "panel_export_dubbing_small.png"),
    ):
        export = view.window()
        assert isinstance(export, ExportPanel)
        export.resize(*size)
        export.scroll.ensureWidgetVisible(view.message)
        qtbot.wait(50)
        assert clipped(view) == [], name
        export.grab().save(str(artifacts_dir / name))


def test_a_malformed_file_names_its_line_and_keeps_the_script_shown(qtbot, view, tmp_path: Path):
    assert view.import_script(str(srt_file(tmp_path)))
    broken = SRT.replace("00:00:06,500 --> 00:00:07,000", "00:00:06,500 -> soon")
    assert not view.import_script(str(srt_file(tmp_path, broken, "broken.srt")))
    message = view.message.text()
    assert (
        view.message.level == "error"
        and message.startswith("Not imported:")
        and "line 10:" in message
    )
    # the time line, not the number above it
    assert "not a valid cue time '00:00:06,500 -> soon'" in message
    assert (
        view.table.rowCount() == 4
        and view.script is not None
        and view.script_edit.text().endswith("dub.srt")
    )
    assert not view.import_script(str(tmp_path / "missing.srt"))
    assert "missing.srt" in view.message.text()


def test_overlaps_are_warned_and_existing_outputs_are_not_replaced_silently(
    qtbot, view, tmp_path: Path
):
    overlapping = SRT.replace("00:00:03,500 --> 00:00:06,000", "00:00:02,000 --> 00:00:06,000")
    assert view.import_script(str(srt_file(tmp_path, overlapping)))
    assert view.message.level == "warning" and "overlap" in view.message.text()
    out = tmp_path / "dub"
    out.mkdir()
    (out / "track.wav").write_bytes(b"the user's earlier track")
    (message,) = wait_for(qtbot, view, "failed", lambda: view.export(str(out), overwrite=False))
    assert "already holds track.wav" in message and view.message.level == "error"
    assert (out / "track.wav").read_bytes() == b"the user's earlier track"
    assert view.render_button.isEnabled() and view.progress.value() == 0


def test_cancel_keeps_rendered_lines_and_writes_nothing(qtbot, view, tmp_path: Path):
    script = tmp_path / "lines.txt"
    script.write_text(
        "\n".join(f"Sentence number {n} of a script that takes a while." for n in range(1, 31)),
        encoding="utf-8",
    )
    assert view.import_script(str(script))
    assert view.message.level == "ok" and "30 line(s), untimed" in view.message.text()
    assert cell(view, 0, "Cue") == "–" and cell(view, 0, "Slot s") == "–"
    out = tmp_path / "dub"
    view.progress.valueChanged.connect(lambda value: view.cancel() if value > 60 else None)
    wait_for(qtbot, view, "cancelled", lambda: view.export(str(out)))
    assert not out.exists() and [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    statuses = [r.status for r in view.session.results]
    # stopped part-way, the first lines kept
    assert statuses[0] == LineStatus.RENDERED and LineStatus.PENDING in statuses
    assert "Cancelled" in view.message.text() and view.export_button.isEnabled()


def test_perform_a_line_like_a_recording_and_clear_it(
    qtbot, view, ctx, synth, tmp_path: Path, artifacts_dir: Path
):
    """The per-line Perform action: a recording of the line (the bundled voice, slow, with a
    pause) gives its delivery; a recording of another text skips its line, saying why."""
    text = "Every line starts on its cue."
    delivery = ('<speak><prosody rate="slow">Every line starts</prosody> <break time="500ms"/> '
                'on its cue.</speak>')
    takes = {"take.wav": delivery, "other.wav": "The quick brown fox jumps over the lazy dog."}
    for name, said in takes.items():
        audio = np.concatenate([c.samples for c in synth.synthesize(said)])
        sf.write(str(tmp_path / name), audio, synth.sample_rate)
    script = tmp_path / "lines.csv"
    script.write_text(f"start,end,text\n0.5,5.5,{text}\n6.0,8.5,And this one is read plainly.\n"
                      f"9.0,11.0,{text}\n", encoding="utf-8")
    assert view.import_script(str(script))
    assert [cell(view, row, "Perform") for row in range(3)] == ["", "", ""]
    assert not view.perform_button.isEnabled()  # no line selected
    view.table.selectRow(0)
    assert view.perform_button.isEnabled() and view.perform_action.isEnabled()
    assert not view.clear_perform_action.isEnabled()  # nothing to clear yet

    # a file that is not there: refused, naming the line; nothing starts
    assert not view.perform_line(1, str(tmp_path / "missing.wav"))
    assert view.message.level == "error"
    assert "Not performed: cue 1 (00:00:00.500): performance recording not found" in (
        view.message.text())

    (plain,) = wait_for(qtbot, view, "line_rendered", view.rerender_line)
    ctx.stop_playback()
    (acted,) = wait_for(qtbot, view, "line_rendered",
                        lambda: view.perform_line(1, str(tmp_path / "take.wav")))
    ctx.stop_playback()
    assert acted.line.perform == tmp_path / "take.wav" and acted.status is LineStatus.RENDERED
    assert acted.natural_s > plain.natural_s + 0.15  # slower, with the pause
    assert cell(view, 0, "Perform") == "take.wav"
    assert str(tmp_path / "take.wav") in view.table.item(0, COLUMNS.index("Perform")).toolTip()
    assert view.clear_perform_action.isEnabled()
    # the recording of another text: the line is skipped and says why
    view.table.selectRow(2)
    (wrong,) = wait_for(qtbot, view, "line_rendered",
                        lambda: view.perform_line(3, str(tmp_path / "other.wav")))
    assert wrong.status is LineStatus.SKIPPED and cell(view, 2, "Status") == "skipped"
    assert "performance other.wav not used, skipped: The performance does not read the line" in (
        view.table.item(2, COLUMNS.index("Status")).toolTip())

    # render all keeps the performances (cached: nothing is performed again)
    (results,) = wait_for(qtbot, view, "rendered", view.render_all)
    assert results[0].line.perform == tmp_path / "take.wav" and results[0] is acted
    assert [r.status for r in results] == [LineStatus.RENDERED, LineStatus.RENDERED,
                                           LineStatus.SKIPPED]
    assert "cue(s) 3 skipped (the Status tooltip says why)" in view.message.text()

    from PySide6.QtWidgets import QApplication

    from voicestudio.gui.theme import apply_theme

    apply_theme(QApplication.instance())
    view.table.selectRow(0)
    export = view.window()
    export.resize(944, 716)
    qtbot.wait(50)
    bar = export.scroll.verticalScrollBar()  # the table, the Perform… button, the message
    bar.setValue(bar.maximum())
    qtbot.wait(50)
    assert clipped(view) == []
    export.grab().save(str(artifacts_dir / "panel_export_dubbing_perform.png"))

    # cleared from the button's menu: the voice's own delivery again, from the cache
    view.table.selectRow(0)
    with qtbot.waitSignal(view.line_rendered, timeout=DUB_MS) as blocker:
        view.clear_perform_action.trigger()
    qtbot.waitUntil(lambda: not view.busy, timeout=DUB_MS)
    ctx.stop_playback()
    (cleared,) = blocker.args
    assert cleared.line.perform is None and cell(view, 0, "Perform") == ""
    assert cleared.natural_s == pytest.approx(plain.natural_s, abs=1e-3)
    assert not view.clear_perform_action.isEnabled()

    # saved with the script: a fresh view (as after a restart) importing it again shows the
    # performance still chosen (line 3), and not the cleared one (line 1); nothing renders
    again = DubbingSection(ctx, view.synthesize)
    qtbot.addWidget(again)
    assert again.import_script(str(script))
    assert [cell(again, row, "Perform") for row in range(3)] == ["", "", "other.wav"]
    assert again.script.lines[2].perform == tmp_path / "other.wav" and again.session is None
    assert "Restored 1 performance chosen earlier for this script." in again.message.text()
    assert again.message.level == "ok"
    again.resize(944, 520)
    qtbot.wait(50)
    again.grab().save(str(artifacts_dir / "panel_dubbing_restored.png"))
    script.write_text(f"start,end,text\n0.5,5.5,{text}\n6.0,8.5,And this one is read plainly.\n"
                      "9.0,11.0,A line rewritten since.\n", encoding="utf-8")
    assert again.import_script(str(script)) and again.message.level == "warning"
    assert cell(again, 2, "Perform") == "" and (
        "line 3: the performance other.wav chosen earlier was not restored: the line's text has "
        "changed.") in again.message.text()


def test_a_script_s_performance_cleared_in_the_app_stays_cleared(
    qtbot, view, ctx, synth, tmp_path: Path, artifacts_dir: Path
):
    """A CSV's perform cell taken away in the Dubbing view is not given back by the next import
    of the same script (as after a restart); the message says so."""
    text = "Every line starts on its cue."
    audio = np.concatenate([c.samples for c in synth.synthesize(text)])
    sf.write(str(tmp_path / "take.wav"), audio, synth.sample_rate)
    script = tmp_path / "lines.csv"
    script.write_text(f"start,end,text,perform\n0.5,5.5,{text},{tmp_path / 'take.wav'}\n",
                      encoding="utf-8")
    assert view.import_script(str(script))
    assert cell(view, 0, "Perform") == "take.wav"
    view.table.selectRow(0)
    with qtbot.waitSignal(view.line_rendered, timeout=DUB_MS):
        view.clear_perform_action.trigger()
    qtbot.waitUntil(lambda: not view.busy, timeout=DUB_MS)
    ctx.stop_playback()
    assert cell(view, 0, "Perform") == ""

    again = DubbingSection(ctx, view.synthesize)
    qtbot.addWidget(again)
    assert again.import_script(str(script)) and again.message.level == "ok"
    assert cell(again, 0, "Perform") == "" and again.script.lines[0].perform is None
    assert ("Line 1 stays without the recording the script's perform column names, as chosen "
            "earlier for this script.") in again.message.text()
    again.resize(944, 360)
    qtbot.wait(50)
    again.grab().save(str(artifacts_dir / "panel_dubbing_cleared_restored.png"))


def test_cue_text():
    assert (cue_text(None), cue_text(0.5), cue_text(83.25), cue_text(3600.0)) == (
        "–",
        "0:00.500",
        "1:23.250",
        "60:00.000",
    )
