"""The Record panel, offscreen, on real parts: a PipeWire virtual microphone ("vmic") fed with
the bundled voice reading the prompt, real take files, real checks on a worker thread."""

from __future__ import annotations

import time

import numpy as np
import pytest
import soundfile as sf

pytest.importorskip("PySide6")

from audio_env import Injector  # noqa: E402
from PySide6.QtCore import QSettings, Qt  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from voicestudio.audio.io import resample  # noqa: E402
from voicestudio.gui.context import StudioContext  # noqa: E402
from voicestudio.gui.panels.record import RecordPanel  # noqa: E402
from voicestudio.project.project import VoiceProject  # noqa: E402
from voicestudio.text.script import CONSENT_TEMPLATE, fill_consent  # noqa: E402

RATE = 48_000
CONSENT = fill_consent(CONSENT_TEMPLATE, "Ann's voice", "May 1, 2026")
PROMPTS = [
    CONSENT,
    "The garden is full of yellow flowers this spring.",
    "Please close the window before you leave.",
]
CHECK_TIMEOUT_MS = 90_000
START_TIMEOUT_MS = 10_000


@pytest.fixture
def ctx(tmp_path):
    return StudioContext(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))


@pytest.fixture
def project(tmp_path) -> VoiceProject:
    project = VoiceProject.create("Rec", tmp_path, speaker="Ann", prompts=PROMPTS)
    return project


@pytest.fixture
def panel(qtbot, ctx):
    widget = RecordPanel(ctx)
    qtbot.addWidget(widget)
    yield widget
    widget.shutdown()


def spoken(synth, text: str) -> np.ndarray:
    """The bundled voice reading ``text`` at 48 kHz, peaks at -3 dBFS like a well-set microphone."""
    speech = resample(
        np.concatenate([c.samples for c in synth.synthesize(text)]), synth.sample_rate, RATE
    )
    return speech * np.float32(0.7 / np.max(np.abs(speech)))


# ----------------------------------------------------------------------------- no device needed


def test_without_a_project_it_says_what_to_do_and_cannot_record(panel):
    assert panel.title == "Record"
    assert "Open or create a voice project" in panel.message.text() and panel.message.isVisibleTo(
        panel
    )
    assert not panel.record_button.isEnabled() and not panel.import_button.isEnabled()
    assert panel.start_recording() is False and not panel.recording
    assert panel.import_recordings("/nonexistent") is None


def test_consent_first_then_next_previous_and_skip_move_the_prompt(panel, ctx, project):
    ctx.set_project(project)
    assert panel.index == 0 and panel.prompt_label.text() == CONSENT
    assert (
        panel.consent_label.isVisibleTo(panel)
        and "Consent comes first" in panel.consent_label.text()
    )
    assert panel.progress_label.text().startswith("Prompt 1 of 3 · consent statement")
    assert panel.prompt_table.rowCount() == 3 and panel.prompt_table.item(0, 1).text().startswith(
        "Consent:"
    )
    assert not panel.previous_button.isEnabled() and not panel.retake_button.isEnabled()

    panel.next_prompt()
    assert panel.index == 1 and panel.prompt_label.text() == PROMPTS[1]
    assert not panel.consent_label.isVisibleTo(panel) and panel.progress_label.text().startswith(
        "Prompt 2 of 3"
    )
    panel.previous_prompt()
    assert panel.index == 0
    panel.go_to_prompt(1)
    panel.skip_prompt()  # prompt 2 is left out; on to prompt 3
    assert panel.index == 2 and panel.prompt_label.text() == PROMPTS[2]
    assert panel.prompt_table.item(1, 2).text() == "skipped"
    assert not panel.next_button.isEnabled()
    panel.next_prompt()  # at the end: stays
    assert panel.index == 2
    reopened = VoiceProject.open(project.folder)
    assert reopened.prompts[1].status == "skipped" and reopened.position == 2
    panel.prompt_table.cellClicked.emit(0, 1)  # a click in the list goes there too
    assert panel.index == 0


def test_import_recordings_adds_checked_takes_in_the_background(
    qtbot, panel, ctx, project, tmp_path, synth
):
    source = tmp_path / "corpus"
    (source / "wavs").mkdir(parents=True)
    lines = {
        "a1": PROMPTS[1],
        "a2": PROMPTS[2],
        "a3": "An extra sentence that the script does not have.",
    }
    for name, text in lines.items():
        audio = np.concatenate([c.samples for c in synth.synthesize(text)]) * 3.0
        audio = np.concatenate([np.zeros(4000, np.float32), audio, np.zeros(4000, np.float32)])
        sf.write(str(source / "wavs" / f"{name}.wav"), audio, synth.sample_rate, subtype="PCM_16")
    (source / "metadata.csv").write_text(
        "".join(f"{k}|{v}|{v}\n" for k, v in lines.items()), encoding="utf-8"
    )
    ctx.set_project(project)
    progress = []
    task = panel.import_recordings(str(source))
    assert task is not None and panel.importing
    task.progress.connect(lambda fraction, text: progress.append(text))
    assert not panel.record_button.isEnabled() and not panel.import_button.isEnabled()
    assert panel.import_progress.isVisibleTo(panel)
    qtbot.waitUntil(lambda: not panel.importing, timeout=CHECK_TIMEOUT_MS)

    assert panel.last_import.imported == 3 and not panel.last_import.skipped
    assert "Imported 3 takes" in panel.message.text() and panel.message.level == "ok"
    assert progress and any("Importing" in text for text in progress)
    assert not panel.import_progress.isVisibleTo(panel) and panel.record_button.isEnabled()
    reopened = VoiceProject.open(project.folder)
    assert len(reopened.prompts) == 4 and reopened.prompts[3].text == lines["a3"]
    for row in (1, 2, 3):
        take = reopened.prompts[row].chosen_take
        assert (
            take is not None
            and take.source.startswith("import:")
            and take.verdict in ("pass", "warn", "fail")
        )
        assert panel.prompt_table.item(row, 2).text() == take.verdict
    assert panel.prompt_table.rowCount() == 4

    panel.go_to_prompt(1)  # an imported take shows like a recorded one
    assert panel.waveform.has_audio and panel.badges()
    assert panel.import_recordings(str(tmp_path / "empty-nothing")) is not None
    qtbot.waitUntil(lambda: not panel.importing, timeout=CHECK_TIMEOUT_MS)
    assert panel.message.level == "error" and "Import failed" in panel.message.text()


def test_spectrogram_ring_scrolls_without_moving_old_columns_and_glides_between_blocks(qtbot):
    from voicestudio.audio.analysis import LiveAnalyzer
    from voicestudio.gui.widgets.spectrogram import MAX_SLIDE_S, SpectrogramView

    view = SpectrogramView(history_s=0.1, max_hz=4000.0, levels_db=(-100.0, -20.0))
    qtbot.addWidget(view)
    analyzer = LiveAnalyzer(RATE)
    view.configure(RATE, analyzer.hop, analyzer.frequencies)
    width = view.width_columns
    assert width == int(np.ceil(0.1 * RATE / analyzer.hop))
    assert view.n_bins == int(np.sum(analyzer.frequencies <= 4000.0))
    assert not view.visible_image().any()  # starts dark

    def column(db: float) -> np.ndarray:
        return np.full((1, analyzer.n_bins), db, np.float32)

    view.add_columns(column(-20.0), now=100.0)  # at the top of the range: brightest
    view.add_columns(np.concatenate([column(-60.0), column(-200.0)]), now=100.0)
    image = view.visible_image()
    assert image.shape == (view.n_bins, width)
    assert (
        image[0, -3] == 255 and image[0, -2] == 127 and image[0, -1] == 0
    )  # fixed levels, clipped below
    for _ in range(width - 3):  # fill the ring once around: the first column is now the oldest
        view.add_columns(column(-100.0), now=100.0)
    assert view.visible_image()[0, 0] == 255 and view.visible_image()[0, 1] == 127
    view.add_columns(column(-100.0), now=100.0)
    assert view.visible_image()[0, 0] == 127  # scrolled out on the left
    assert view.columns_received == width + 1

    frames = view.frames
    assert view.advance(now=100.02) and view.image.pos().x() == pytest.approx(-0.02)
    assert not view.advance(now=100.02)  # no time passed: no new frame
    assert view.advance(now=105.0) and view.image.pos().x() == pytest.approx(
        -MAX_SLIDE_S
    )  # a stalled stream
    assert view.frames == frames + 2
    view.add_columns(column(-100.0), now=105.0)
    assert view.image.pos().x() == 0.0  # new audio: back at the right edge
    view.clear()
    assert not view.visible_image().any() and view.newest_at is None


def test_level_meter_keeps_the_clip_light_until_reset(qtbot):
    from voicestudio.audio.analysis import Levels
    from voicestudio.gui.widgets.level_meter import LevelMeterWidget

    meter = LevelMeterWidget()
    qtbot.addWidget(meter)
    meter.show()
    meter.set_levels(Levels(-0.1, -8.0, True, -0.1))
    meter.set_levels(Levels(-30.0, -40.0, False, -0.5))
    assert (
        meter.clipped
        and meter.peak_dbfs == -30.0
        and meter.rms_dbfs == -40.0
        and meter.hold_dbfs == -0.5
    )
    assert meter.updates == 2
    meter.grab()  # paints without error at its size
    qtbot.mouseClick(meter, Qt.MouseButton.LeftButton)  # a click puts the light out
    assert not meter.clipped
    meter.set_levels(Levels(-1.0, -9.0, True, -1.0))
    meter.reset()
    assert not meter.clipped and meter.peak_dbfs < -100


# ------------------------------------------------------------------------- the virtual microphone


def test_device_picker_lists_vmic_and_a_bad_name_is_an_inline_error(
    virtual_audio, panel, ctx, project
):
    ctx.set_project(project)
    panel.refresh_devices()
    assert "vmic" in panel.device_names()
    assert "(system default)" in panel.device_names()[0]  # the default comes first
    row = panel.device_names().index("vmic")
    panel.device_combo.setCurrentIndex(row)
    panel.device_combo.activated.emit(row)  # as a user's pick does
    assert ctx.input_device == "vmic" and not panel.device_message.isVisibleTo(panel)

    assert panel.select_device("no-such-microphone") is False
    assert ctx.input_device == "no-such-microphone"  # kept: it may be plugged in later
    assert (
        panel.device_message.level == "error"
        and "no-such-microphone" in panel.device_message.text()
    )
    assert panel.device_combo.currentText() == "no-such-microphone (not found)"
    assert panel.start_recording() is False and not panel.recording
    assert "Cannot record" in panel.device_message.text()
    assert VoiceProject.open(project.folder).summary().takes == 0

    panel.refresh_devices()  # a device chosen earlier that is gone: a warning, no crash
    assert (
        panel.device_message.level == "warning" and "not connected" in panel.device_message.text()
    )
    assert panel.select_device("vmic") and not panel.device_message.isVisibleTo(panel)


def _read_into_the_microphone(qtbot, panel, speech: np.ndarray) -> tuple[list[float], float]:
    """Play ``speech`` into vmic while the panel records: (meter peaks seen, frames per s)."""
    peaks = []
    with Injector("vmic", speech, RATE, lead_s=0.3, tail_s=0.5) as injector:
        frames0, t0 = panel.spectrogram.frames, time.monotonic()
        qtbot.waitUntil(
            lambda: peaks.append(panel.meter.peak_dbfs) or time.monotonic() - t0 > 2.0,
            timeout=5_000,
        )
        frames_per_s = (panel.spectrogram.frames - frames0) / (time.monotonic() - t0)
        qtbot.waitUntil(
            lambda: peaks.append(panel.meter.peak_dbfs) or not injector.stream.active,
            timeout=20_000,
        )
    return peaks, frames_per_s


def _badges_come_back(qtbot, panel) -> None:
    """The checks run in the background and come back as badges."""
    assert panel.checking and "checking" in panel.take_label.text()
    qtbot.waitUntil(lambda: not panel.checking and bool(panel.badges()), timeout=CHECK_TIMEOUT_MS)
    badges = {b.objectName(): b for b in panel.badges()}
    assert {"check_level", "check_clipping", "check_noise", "check_asr"} <= set(badges)
    for badge in badges.values():
        assert badge.property("badge") in ("pass", "warn", "fail")
    assert badges["check_level"].property("badge") == "pass"
    assert badges["check_clipping"].property("badge") == "pass" and not panel.meter.clipped
    assert badges["check_asr"].property("badge") == "pass", badges["check_asr"].toolTip()


def test_record_a_take_from_the_microphone_with_live_view_and_badges(
    virtual_audio, qtbot, panel, ctx, project, synth, artifacts_dir
):
    from voicestudio.gui.theme import apply_theme

    apply_theme(QApplication.instance())
    panel.resize(1100, 720)
    panel.show()
    qtbot.waitExposed(panel)
    ctx.set_project(project)
    assert panel.select_device("vmic")
    panel.go_to_prompt(1)
    speech = spoken(synth, PROMPTS[1])

    qtbot.mouseClick(panel.record_button, Qt.MouseButton.LeftButton)
    assert panel.recording and panel.record_button.text() == "■ Stop"
    assert not panel.next_button.isEnabled() and not panel.device_combo.isEnabled()
    qtbot.waitUntil(lambda: panel.recorder.seconds_recorded > 0.2, timeout=START_TIMEOUT_MS)
    peaks, frames_per_s = _read_into_the_microphone(qtbot, panel, speech)
    assert panel.recording
    assert "Recording" in panel.record_status.text()
    bright = int(panel.spectrogram.visible_image().max())
    qtbot.mouseClick(panel.record_button, Qt.MouseButton.LeftButton)  # stop
    assert not panel.recording and panel.record_button.text() == "● Record"

    # saved at once, into the project, at the device's rate
    take = project.prompts[1].chosen_take
    assert take is not None and project.take_path(take).is_file()
    info = sf.info(str(project.take_path(take)))
    assert info.samplerate == RATE == take.sample_rate
    assert info.frames / RATE == pytest.approx(panel.last_capture.duration_s, abs=0.01)
    assert take.duration_s > len(speech) / RATE + 0.5
    assert VoiceProject.open(project.folder).prompts[1].chosen_take.file == take.file

    # the live view moved while the voice came in
    assert max(peaks) > -25.0, max(peaks)
    assert panel.meter.updates > 50
    assert panel.spectrogram.columns_received > 0.8 * take.duration_s * RATE / 256
    assert bright > 150  # speech harmonics are drawn bright, silence dark
    # A sanity value; the frame rate is benchmarked elsewhere.
    assert frames_per_s >= 10, frames_per_s
    assert panel.spectrogram.paints > 10
    assert panel.waveform.has_audio

    _badges_come_back(qtbot, panel)
    stored = VoiceProject.open(project.folder).prompts[1].chosen_take
    assert stored.report is not None and stored.verdict == panel.prompt_table.item(1, 2).text()
    assert panel.retake_button.isEnabled() and panel.play_button.isEnabled()
    QApplication.processEvents()
    panel.grab().save(str(artifacts_dir / "panel_record.png"))

    ctx.output_device = "vspeaker"
    panel.toggle_play()  # Space
    assert ctx.is_playing and panel.play_button.text() == "■ Stop playback"
    panel.toggle_play()
    assert not ctx.is_playing
    qtbot.waitUntil(lambda: panel.play_button.text() == "▶ Play take", timeout=2_000)

    first = project.take_path(take)
    qtbot.mouseClick(panel.retake_button, Qt.MouseButton.LeftButton)
    assert panel.recording
    qtbot.waitUntil(lambda: panel.recorder.seconds_recorded > 0.6, timeout=START_TIMEOUT_MS)
    panel.toggle_record()  # R
    assert len(project.prompts[1].takes) == 2 and first.is_file()  # the older take is kept
    assert project.prompts[1].chosen_take.file.endswith("_t02.wav")
    qtbot.waitUntil(lambda: not panel.checking, timeout=CHECK_TIMEOUT_MS)
    assert panel.prompt_table.item(1, 2).text() == project.prompts[1].chosen_take.verdict


def test_a_take_stops_by_itself_at_the_length_limit(virtual_audio, qtbot, panel, ctx, tmp_path):
    from voicestudio.project.recording import interactive_limit_s

    project = VoiceProject.create("Short", tmp_path, prompts=[CONSENT, "Hi."])
    ctx.set_project(project)
    assert panel.select_device("vmic")
    panel.go_to_prompt(1)
    limit = interactive_limit_s("Hi.")
    assert limit < 6.0
    assert panel.start_recording()
    qtbot.waitUntil(lambda: not panel.recording, timeout=int((limit + 5.0) * 1000))
    take = project.prompts[1].chosen_take
    assert take is not None and take.duration_s == pytest.approx(limit, abs=0.05)
    assert "maximum take length" in panel.message.text() and panel.message.level == "warning"
    qtbot.waitUntil(lambda: not panel.checking, timeout=CHECK_TIMEOUT_MS)
    assert VoiceProject.open(project.folder).prompts[1].chosen_take.report is not None


def test_closing_while_recording_keeps_the_take(virtual_audio, qtbot, panel, ctx, project):
    ctx.set_project(project)
    assert panel.select_device("vmic")
    assert panel.start_recording()
    qtbot.waitUntil(lambda: panel.recorder.seconds_recorded > 0.5, timeout=START_TIMEOUT_MS)
    panel.shutdown()
    assert not panel.recording and not panel.live.timer.isActive()
    take = VoiceProject.open(project.folder).prompts[0].chosen_take
    assert take is not None and take.duration_s >= 0.5 and take.report is None  # saved, unchecked
    panel.shutdown()  # twice is harmless
