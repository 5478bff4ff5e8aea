"""The whole studio flow in one window, driven like a user would with qtbot: new project →
recordings imported → a few fine-tune steps in the Train panel's QThread → speak with the
trained voice → move the pitch and emotion controls → export a WAV at a chosen rate. Saves a
screenshot of every panel along the way (tests/artifacts/flow_*.png) for review."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

pytest.importorskip("PySide6")
pytest.importorskip(
    "torch", reason="training needs the [train] extra (torch==2.13.0); make test installs it"
)

from PySide6.QtCore import QSettings  # noqa: E402
from training_data import SENTENCES, TARGET_PITCH_ST, TARGET_RANGE  # noqa: E402

from voicestudio.audio.io import resample  # noqa: E402
from voicestudio.evaluate.prosody import f0_contour  # noqa: E402
from voicestudio.gui.main_window import MainWindow  # noqa: E402
from voicestudio.styling.controls import StyleControls  # noqa: E402
from voicestudio.training.base import BasePrepConfig, ensure_base  # noqa: E402
from voicestudio.training.dataset import DataConfig  # noqa: E402
from voicestudio.training.finetune import TrainConfig  # noqa: E402

TINY_BASE = BasePrepConfig(texts=8, steps=15, threads=2)  # as in test_training.py: shared cache
IMPORT_TIMEOUT_MS = 180_000
RUN_TIMEOUT_MS = 300_000
RENDER_TIMEOUT_MS = 60_000
LINE = "Thank you for calling. Your order will arrive on Tuesday morning."


def _median_f0(audio) -> float:
    f0 = f0_contour(audio.samples, audio.sample_rate)
    return float(np.median(f0[f0 > 0]))


@pytest.fixture
def recordings(tmp_path, synth):
    """A folder of WAVs with a .txt transcript beside each: a "speaker" who is the base voice
    pitched up, recorded at 44.1 kHz (the import resamples and checks every take)."""
    folder = tmp_path / "recordings"
    folder.mkdir()
    for n, text in enumerate(SENTENCES, 1):
        _record_file(synth, text, folder / f"take{n:02}")
    return folder


def _record_file(synth, text: str, stem: Path) -> None:
    controls = StyleControls(pitch=TARGET_PITCH_ST, pitch_range=TARGET_RANGE, variability=0.5)
    audio = np.concatenate([c.samples for c in synth.synthesize(text, controls)])
    sf.write(
        stem.with_suffix(".wav"),
        resample(audio, synth.sample_rate, 44_100),
        44_100,
        subtype="PCM_16",
    )
    stem.with_suffix(".txt").write_text(text + "\n", encoding="utf-8")


def test_new_project_to_exported_wav(qtbot, tmp_path, recordings, synth, artifacts_dir):
    ensure_base(TINY_BASE)
    win = MainWindow(settings=QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(win)
    win.resize(1180, 760)
    win.show()
    qtbot.waitExposed(win)
    try:
        _flow(qtbot, win, tmp_path, recordings, synth, artifacts_dir)
    finally:
        win._force_close = True
        win.close()  # stops every panel's threads


def _shot(win, panel, artifacts_dir, name: str) -> None:
    win.show_panel(panel)
    path = artifacts_dir / f"flow_{name}.png"
    win.grab().save(str(path))
    assert path.stat().st_size > 10_000


def _flow(qtbot, win, tmp_path, recordings, synth, artifacts_dir) -> None:
    # 1. a new project opens on the Record panel
    project = win.new_project("Flow voice", parent=str(tmp_path), speaker="Test speaker")
    assert project is not None and win.current_panel is win.record

    # 2. import recordings with transcripts, the speaker's reading of this project's consent
    # statement among them (it lands on the statement prompt); every take is checked
    _record_file(synth, project.prompts[0].text, recordings / "consent")
    task = win.record.import_recordings(str(recordings))
    assert task is not None and win.record.importing
    qtbot.waitUntil(lambda: not win.record.importing, timeout=IMPORT_TIMEOUT_MS)
    report = win.record.last_import
    assert report is not None and report.imported == len(SENTENCES) + 1, win.record.message.text()
    assert win.record.message.level == "ok", win.record.message.text()
    taken = [p for p in project.prompts if p.chosen_take is not None]
    assert len(taken) == len(SENTENCES) + 1 and project.prompts[0].chosen_take is not None
    _shot(win, win.record, artifacts_dir, "record")

    # 3. a few fine-tune steps in the Train panel's worker thread; the voice is published
    win.show_panel(win.train)
    config = TrainConfig(steps=4, evaluate_every_steps=2, checkpoint_every_steps=2, threads=1,
                         data=DataConfig(min_seconds=10), base=TINY_BASE)
    with qtbot.waitSignal(win.ctx.voices_changed, timeout=RUN_TIMEOUT_MS), \
            qtbot.waitSignal(win.train.run_ended, timeout=RUN_TIMEOUT_MS) as ended:
        assert win.train.start(config=config) is not False
        assert win.train.busy
    assert ended.args == ["finished"], win.train.log.toPlainText()
    assert len(project.voices) == 1 and (project.folder / project.voices[0].path).is_file()
    _shot(win, win.train, artifacts_dir, "train")

    # 4. speak a line with the trained voice
    synth = win.synthesize
    win.show_panel(synth)
    assert synth.select_voice(str(project.folder))
    synth.set_text(LINE)
    with qtbot.waitSignal(synth.rendered, timeout=RENDER_TIMEOUT_MS) as first:
        synth.speak()
    plain = first.args[0]
    assert plain.duration_s > 2.0 and float(np.abs(plain.samples).max()) > 0.05

    # 5. pitch up four semitones: the preview follows, and is measurably higher
    with qtbot.waitSignal(synth.rendered, timeout=RENDER_TIMEOUT_MS) as raised:
        synth.sliders["pitch"].set_control(4.0)
    higher = raised.args[0]
    assert 12 * np.log2(_median_f0(higher) / _median_f0(plain)) == pytest.approx(4.0, abs=1.0)

    # ... and an emotion preset changes the line again
    happy = synth.emotion.findData("happy")
    assert happy >= 0
    with qtbot.waitSignal(synth.rendered, timeout=RENDER_TIMEOUT_MS) as styled:
        synth.emotion.setCurrentIndex(happy)
    emotional = styled.args[0]
    assert synth.current_controls().emotion == "happy" and synth.current_controls().pitch == 4.0
    assert emotional.samples.shape != higher.samples.shape or not np.allclose(
        emotional.samples, higher.samples
    )
    assert synth.current_audio() is emotional
    _shot(win, synth, artifacts_dir, "synthesize")

    # 6. export the current line at 16 kHz, 24-bit
    win.show_panel(win.export)
    win.export.set_format(16_000, "pcm24")
    target = tmp_path / "out" / "line.wav"
    target.parent.mkdir()
    written = win.export.export_current(str(target))
    assert written == target and target.is_file()
    info = sf.info(str(target))
    assert info.samplerate == 16_000 and info.subtype == "PCM_24" and info.channels == 1
    assert info.duration == pytest.approx(emotional.duration_s, abs=0.01)
    assert win.export.line_message.level == "ok"
    _shot(win, win.export, artifacts_dir, "export")
