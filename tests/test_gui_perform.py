"""Perform in Synthesize & Customize, offscreen, on real parts: the count-in, a performance
recorded from the PipeWire virtual microphone ("vmic", fed with the bundled voice reading the
line slower and higher), the read and the render in workers, A/B, "Use this result", and the
Export panel saving it. Screenshots go to tests/artifacts/dialog_perform*.png."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from gui_layout import clipped  # noqa: E402
from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from voicestudio.audio.io import resample  # noqa: E402
from voicestudio.gui.controllers.perform import Listen, Stage  # noqa: E402
from voicestudio.gui.panels.export import ExportPanel  # noqa: E402
from voicestudio.styling.controls import StyleControls  # noqa: E402
from voicestudio.voice.perform import Transfer  # noqa: E402

TEXT = "I waited for you all day long."
RATE = 48_000
WORK_MS = 60_000
#: The performance: the bundled voice, slower and higher than it speaks the line itself.
ACTED = StyleControls(speed=0.75, pitch=3.0, variability=0.0)


@pytest.fixture
def panel(themed_synthesize_panel):
    return themed_synthesize_panel(TEXT)


def acted(synth, rate: int) -> np.ndarray:
    """The line performed (see ACTED) at ``rate``, peaks at -3 dBFS like a well-set microphone."""
    speech = np.concatenate([c.samples for c in synth.synthesize(TEXT, ACTED)])
    speech = resample(speech, synth.sample_rate, rate) if rate != synth.sample_rate else speech
    return (speech * np.float32(0.7 / np.max(np.abs(speech)))).astype(np.float32)


def snapshot(dialog, path) -> None:
    QApplication.processEvents()
    assert not clipped(dialog), clipped(dialog)
    dialog.grab().save(str(path))


def test_count_in_shows_and_a_recording_of_another_text_is_an_inline_error(
        qtbot, panel, synth, tmp_path, artifacts_dir):
    dialog = panel.perform.open()
    assert dialog.isVisible() and TEXT in dialog.line_label.text()
    assert not dialog.use_button.isEnabled() and not dialog.perform_button.isEnabled()
    assert "Press Record" in dialog.state_label.text()
    snapshot(dialog, artifacts_dir / "dialog_perform_empty.png")

    dialog.beat_ms = 60_000  # the count stays on 3 while it is looked at
    qtbot.mouseClick(dialog.record_button, Qt.MouseButton.LeftButton)
    assert dialog.controller.stage is Stage.COUNT_IN and dialog.beats.isActive()
    assert dialog.stack.currentWidget() is dialog.note and ">3<" in dialog.note.text()
    assert dialog.record_button.text() == "Cancel" and not dialog.load_button.isEnabled()
    snapshot(dialog, artifacts_dir / "dialog_perform_count_in.png")
    dialog.controller.beat_passed()
    assert ">2<" in dialog.note.text()
    qtbot.mouseClick(dialog.record_button, Qt.MouseButton.LeftButton)  # Cancel
    assert dialog.controller.stage is Stage.EMPTY and not dialog.beats.isActive()
    assert dialog.record_button.text() == "● Record"

    other = tmp_path / "other.wav"
    garden = synth.synthesize("The garden is full of yellow flowers this spring.", ACTED)
    sf.write(other, np.concatenate([c.samples for c in garden]), synth.sample_rate)
    dialog.load(str(other))
    assert "Reading" in dialog.state_label.text() and not dialog.record_button.isEnabled()
    qtbot.waitUntil(lambda: not dialog.controller.busy, timeout=WORK_MS)
    assert dialog.message.isVisible() and dialog.message.level == "error"
    assert "does not read the line" in dialog.message.text()
    assert dialog.controller.take is None and not dialog.use_button.isEnabled()
    assert panel.current_audio() is None  # the panel is untouched
    snapshot(dialog, artifacts_dir / "dialog_perform_error.png")
    dialog.reject()
    assert not dialog.isVisible()


def test_perform_from_the_microphone_use_the_result_and_export_it(
        virtual_audio, qtbot, panel, ctx, synth, tmp_path, artifacts_dir):
    from audio_env import Injector

    export = ExportPanel(ctx, panel)
    qtbot.addWidget(export)
    ctx.input_device, ctx.output_device = "vmic", "vspeaker"
    panel.sliders["variability"].set_control(0.0)  # the same line every time it is rendered
    qtbot.mouseClick(panel.perform.button, Qt.MouseButton.LeftButton)
    dialog = panel.perform.dialog
    assert dialog is not None and dialog.isVisible()
    dialog.beat_ms = 150  # a quick count-in; its beats are the same

    qtbot.mouseClick(dialog.record_button, Qt.MouseButton.LeftButton)
    assert ">3<" in dialog.note.text()
    qtbot.waitUntil(lambda: dialog.controller.stage is Stage.RECORDING, timeout=5_000)
    assert dialog.record_button.text() == "■ Stop" and dialog.stack.currentIndex() == 1
    qtbot.waitUntil(lambda: dialog.live.recorder.seconds_recorded > 0.2, timeout=10_000)
    with Injector("vmic", acted(synth, RATE), RATE, lead_s=0.2, tail_s=0.4) as injector:
        qtbot.waitUntil(lambda: not injector.stream.active, timeout=20_000)
    assert dialog.live.meter.peak_dbfs > -30.0 or dialog.live.meter.hold_dbfs > -30.0
    assert "Recording" in dialog.live.status.text()
    snapshot(dialog, artifacts_dir / "dialog_perform_recording.png")
    qtbot.mouseClick(dialog.record_button, Qt.MouseButton.LeftButton)  # Stop

    controller = dialog.controller
    qtbot.waitUntil(lambda: controller.result_current, timeout=WORK_MS)
    assert controller.take.audio.sample_rate == RATE
    assert [w.text.lower() for w in controller.performance.words][:2] == ["i", "waited"]
    assert dialog.message.level != "error", dialog.message.text()
    assert dialog.take_view.has_audio and dialog.take_view.has_f0 and dialog.result_view.has_audio
    assert all(b.isEnabled() for b in dialog.listen_buttons.values())
    assert dialog.use_button.isEnabled() and "Result:" in dialog.state_label.text()
    snapshot(dialog, artifacts_dir / "dialog_perform.png")

    plain = controller.plain[1]
    result = controller.result.preview.result.audio
    # slower, as performed: the timing came across (the performance is 0.75x the voice's pace)
    assert result.duration_s > plain.duration_s + 0.3
    qtbot.mouseClick(dialog.listen_buttons[Listen.PERFORMANCE], Qt.MouseButton.LeftButton)
    assert ctx.is_playing
    qtbot.mouseClick(dialog.listen_buttons[Listen.PLAIN], Qt.MouseButton.LeftButton)
    assert ctx.is_playing
    ctx.stop_playback()

    # a toggle renders again; the result shown is that one
    dialog.transfer_boxes[Transfer.TIMING].setChecked(False)
    assert not dialog.use_button.isEnabled()
    qtbot.waitUntil(lambda: controller.result_current, timeout=WORK_MS)
    untimed = controller.result.preview.result.audio
    assert abs(untimed.duration_s - plain.duration_s) < 0.05  # the voice's own timing
    dialog.transfer_boxes[Transfer.TIMING].setChecked(True)
    dialog.strength.setValue(100)
    assert dialog.strength_label.text() == "100 %"
    qtbot.waitUntil(lambda: controller.result_current, timeout=WORK_MS)
    assert controller.settings.strength == 1.0 and controller.settings.transfers == \
        frozenset(Transfer)
    result = controller.result.preview.result.audio
    ctx.stop_playback()

    qtbot.mouseClick(dialog.use_button, Qt.MouseButton.LeftButton)
    assert not dialog.isVisible()
    assert panel.current_audio() is result and panel.waveform.has_audio
    assert panel.controller.words and len(panel.controller.words) == 7
    assert panel.message.level == "ok" and "Export saves it" in panel.message.text()
    assert f"{result.duration_s:.1f} s" in export.current_label.text()
    written = export.export_current(str(tmp_path / "performed.wav"))
    assert written is not None and written.is_file()
    saved, rate = sf.read(str(written), dtype="float32")
    assert rate == result.sample_rate
    assert len(saved) / rate == pytest.approx(result.duration_s, abs=0.01)
    assert abs(len(saved) / rate - plain.duration_s) > 0.3  # not the plain rendering
    QApplication.processEvents()
    panel.grab().save(str(artifacts_dir / "dialog_perform_used.png"))

    # reopened, the performance is still there; a slider changed renders it again
    panel.sliders["pitch"].set_control(2.0)
    dialog = panel.perform.open()
    assert controller.take is not None and not dialog.use_button.isEnabled()
    qtbot.waitUntil(lambda: controller.result_current, timeout=WORK_MS)
    assert controller.result.job.line.controls.pitch == 2.0
    dialog.reject()
