"""The Synthesize & Customize panel, offscreen, with the bundled voice and real projects."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from gui_layout import clipped  # noqa: E402
from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402
from training_data import SENTENCES, TARGET_PITCH_ST, TARGET_RANGE, verdict_report  # noqa: E402

from voicestudio.audio.io import Audio, read_audio  # noqa: E402
from voicestudio.evaluate import prosody, secs, speaker_model  # noqa: E402
from voicestudio.gui.controllers.synthesize import NO_PROJECT_HINT, NO_TAKES_HINT  # noqa: E402
from voicestudio.gui.panels.synthesize import SynthesizePanel  # noqa: E402
from voicestudio.project import selection  # noqa: E402
from voicestudio.project.project import TrainedVoice, VoiceProject, now_iso  # noqa: E402
from voicestudio.runtime import cuda_unavailable_reason  # noqa: E402
from voicestudio.styling.controls import StyleControls  # noqa: E402
from voicestudio.styling.presets import presets_path  # noqa: E402
from voicestudio.voice.catalog import DEFAULT_VOICE, bundled_voice  # noqa: E402

RENDER_MS = 60_000
SCORE_MS = 180_000
# as conftest finds it
SHARED_SPEECH = Path(__file__).resolve().parents[2] / "shared" / "data" / "speech"
#: The panel's area in a 1200 x 800 window, and in the main window at its minimum size.
DEFAULT_PANEL_SIZE = (944, 716)
SMALL_PANEL_SIZE = (843, 509)
TEXT = "Printing, then, for our purpose, may be considered as the art of making books."


def median_f0(audio: Audio) -> float:
    """Median F0 of the voiced frames, measured by the engine's tracker."""
    f0 = prosody.f0_contour(audio.samples, audio.sample_rate)
    voiced = f0[f0 > 0]
    assert voiced.size > 50, "too few voiced frames to compare"
    return float(np.median(voiced))


@pytest.fixture
def panel(qtbot, ctx):
    widget = SynthesizePanel(ctx)
    qtbot.addWidget(widget)
    widget.resize(*DEFAULT_PANEL_SIZE)
    widget.show()
    qtbot.waitExposed(widget)
    yield widget
    widget.shutdown()


def reference_clips(synth) -> list[tuple[str, Audio]]:
    """Four (text, clip) takes: real speech of one speaker of the shared corpus when it is
    there, else the base voice pitched up (tests/training_data.py's stand-in speaker)."""
    if (SHARED_SPEECH / "pmatthes" / "manifest.tsv").is_file():
        rows = [line.split("\t") for line in
                (SHARED_SPEECH / "pmatthes" / "manifest.tsv").read_text().splitlines()[1:5]]
        return [(row[3], read_audio(SHARED_SPEECH / "pmatthes" / row[0])) for row in rows]
    controls = StyleControls(pitch=TARGET_PITCH_ST, pitch_range=TARGET_RANGE, variability=0.5)
    return [(text, Audio(np.concatenate([c.samples for c in synth.synthesize(text, controls)]),
                         synth.sample_rate))
            for text in SENTENCES[:4]]


@pytest.fixture
def project(tmp_path: Path, synth) -> VoiceProject:
    """A project with four takes (see :func:`reference_clips`) and one "trained" voice (the
    base voice's files, copied into the project as a trained voice would be)."""
    clips = reference_clips(synth)
    project = VoiceProject.create("Speaker", tmp_path, prompts=[text for text, _clip in clips],
                                  consent_index=None)
    for index, (_text, clip) in enumerate(clips):
        project.add_take(index, clip.samples, clip.sample_rate, report=verdict_report("pass"),
                         source="import")
    base = bundled_voice()
    shutil.copyfile(base.model_path, project.models_dir / "speaker-v1.onnx")
    shutil.copyfile(base.config_path, project.models_dir / "speaker-v1.onnx.json")
    project.add_voice(TrainedVoice("speaker-v1", "models/speaker-v1.onnx", now_iso(),
                                   similarity=0.81, steps=100))
    return project


def speak_and_wait(qtbot, panel: SynthesizePanel) -> Audio:
    with qtbot.waitSignal(panel.rendered, timeout=RENDER_MS) as blocker:
        qtbot.mouseClick(panel.speak_button, Qt.MouseButton.LeftButton)
    return blocker.args[0]


def test_panel_modules_do_not_import_torch():
    code = textwrap.dedent("""
        import sys
        import voicestudio.gui.panels.synthesize, voicestudio.gui.panels.export
        assert "torch" not in sys.modules, "torch was imported"
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


def test_speak_draws_waveform_and_f0(qtbot, panel):
    assert panel.title == "Synthesize & Customize"
    assert panel.current_voice_spec() == DEFAULT_VOICE
    assert panel.current_audio() is None and not panel.waveform.has_audio
    panel.set_text(TEXT)
    audio = speak_and_wait(qtbot, panel)
    assert isinstance(audio, Audio) and audio.sample_rate == 22050 and audio.duration_s > 2.0
    assert panel.current_audio() is audio and panel.current_text() == TEXT
    assert panel.current_controls() == StyleControls()
    assert panel.waveform.has_audio and panel.waveform.has_f0
    assert panel.waveform.duration_s == pytest.approx(audio.duration_s)
    assert f"{audio.duration_s:.1f} s at 22050 Hz" in panel.state_label.text()
    assert "runs on CPU" in panel.provider_label.text()
    assert panel.message.level != "error"
    assert panel.similarity_label.text() == NO_PROJECT_HINT  # explained, not a number


def test_every_render_gets_a_quality_score_without_a_project(qtbot, panel):
    from voicestudio.evaluate.dnsmos import dnsmos

    panel.set_text(TEXT)
    with qtbot.waitSignal(panel.quality_changed, timeout=SCORE_MS) as blocker:
        speak_and_wait(qtbot, panel)
    quality = blocker.args[0]
    assert quality is not None and 2.5 < quality.ovrl < 5.0  # the base voice is clean speech
    assert panel.quality_label.text() == (f"quality (DNSMOS, 1–5): {quality.ovrl:.2f} overall · "
                                          f"{quality.sig:.2f} voice · {quality.bak:.2f} background")
    audio = panel.current_audio()
    # the engine's number, on the same audio
    assert dnsmos(audio.samples, audio.sample_rate) == quality
    assert panel.similarity_label.text() == NO_PROJECT_HINT


def test_dragging_pitch_previews_and_release_plays(qtbot, panel, ctx):
    panel.set_text(TEXT)
    base = speak_and_wait(qtbot, panel)
    ctx.stop_playback()  # Speak played the line; what follows must not start playing again
    panel.message.clear_message()
    slider = panel.sliders["pitch"]
    renders = panel.controller.renders  # the latest-wins policy: its counters
    before = renders.rendered + renders.replaced

    slider.setSliderDown(True)  # the user grabs the handle (sliderPressed)
    with qtbot.waitSignal(panel.rendered, timeout=RENDER_MS) as blocker:
        for value in (2.0, 4.0, 6.0):  # dragged through: the latest position wins
            slider.set_control(value)
    qtbot.waitUntil(lambda: not panel.busy, timeout=RENDER_MS)
    assert panel.value_labels["pitch"].text() == "+6.0 semitones"
    assert panel.current_controls().pitch == 6.0
    raised = panel.current_audio()
    assert blocker.args[0] is not base and raised is not base
    assert renders.rendered + renders.replaced == before + 3  # each ran, or gave way
    # +6 semitones asked, at least +4 measured
    assert median_f0(raised) > median_f0(base) * 2 ** (4 / 12)
    played = lambda: ctx.is_playing or "cannot be played" in panel.message.text()  # noqa: E731
    assert not played(), "a preview while dragging must not play"

    slider.setSliderDown(False)  # released (sliderReleased): play what is shown
    qtbot.waitUntil(played, timeout=RENDER_MS)
    ctx.stop_playback()


def test_emotion_changes_the_render(qtbot, panel):
    panel.set_text(TEXT)
    neutral = speak_and_wait(qtbot, panel)
    with qtbot.waitSignal(panel.rendered, timeout=RENDER_MS) as blocker:
        panel.emotion.setCurrentIndex(panel.emotion.findData("sad"))
    sad = blocker.args[0]
    assert panel.current_controls().emotion == "sad"
    assert sad.duration_s > neutral.duration_s * 1.05  # sad is slower
    # and lower (the preset asks -2 st; each render has its own VITS noise, so allow for it)
    assert median_f0(sad) < median_f0(neutral) * 2 ** (-0.5 / 12)

    with qtbot.waitSignal(panel.rendered, timeout=RENDER_MS) as blocker:
        panel.sliders["intensity"].set_control(0.0)  # no intensity: back to neutral
    assert blocker.args[0].duration_s == pytest.approx(neutral.duration_s, rel=0.01)

    with qtbot.waitSignal(panel.rendered, timeout=RENDER_MS):
        qtbot.mouseClick(panel.reset_button, Qt.MouseButton.LeftButton)
    assert panel.current_controls() == StyleControls()


def test_empty_and_unspeakable_text_show_inline_errors(qtbot, panel):
    panel.set_text("   ")
    panel.speak()
    assert panel.message.isVisible() and panel.message.level == "error"
    assert "Nothing to say" in panel.message.text()
    assert not panel.busy and panel.current_audio() is None

    panel.set_text("\U0001F600 \U0001F389")
    panel.speak()
    qtbot.waitUntil(lambda: panel.message.level == "error" and panel.message.isVisible(),
                    timeout=RENDER_MS)
    assert "othing speakable" in panel.message.text()
    assert panel.current_audio() is None

    # a slider moved with bad text: no new error pile-up, no crash
    panel.sliders["pitch"].set_control(3.0)
    qtbot.waitUntil(lambda: not panel.busy, timeout=RENDER_MS)
    assert panel.current_audio() is None


def test_unknown_or_broken_voice_shows_inline_error(qtbot, panel, tmp_path: Path):
    assert not panel.select_voice("no-such-voice")
    assert panel.message.level == "error"
    assert "Unknown voice 'no-such-voice'" in panel.message.text()
    assert panel.current_voice_spec() == DEFAULT_VOICE

    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not a model")
    shutil.copyfile(bundled_voice().config_path, tmp_path / "broken.onnx.json")
    assert panel.select_voice(str(broken))
    assert panel.current_voice_spec() == str(broken)
    panel.speak()
    qtbot.waitUntil(lambda: "could not be loaded" in panel.message.text(), timeout=RENDER_MS)
    assert panel.message.level == "error" and not panel.busy

    panel.select_voice(DEFAULT_VOICE)  # back to a good voice: speaking works again
    speak_and_wait(qtbot, panel)


def test_provider_picker(qtbot, panel, ctx):
    combo = panel.provider_combo
    assert [combo.itemData(i) for i in range(combo.count())] == ["auto", "cpu", "cuda"]
    assert combo.currentData() == "cpu"
    cuda = combo.model().item(combo.findData("cuda"))
    reason = cuda_unavailable_reason()
    assert cuda.isEnabled() == (reason is None)
    if reason is not None:
        assert reason in cuda.toolTip()
    combo.setCurrentIndex(combo.findData("auto"))
    assert ctx.provider == "auto"
    ctx.provider = "cpu"  # changed elsewhere (a menu): the picker follows
    assert combo.currentData() == "cpu"


def test_presets_round_trip(qtbot, panel):
    panel.sliders["pitch"].set_control(3.5)
    panel.sliders["speed"].set_control(1.25)
    panel.emotion.setCurrentIndex(panel.emotion.findData("calm"))
    chosen = panel.current_controls()
    assert panel.save_preset("My calm")
    assert panel.message.level == "ok" and "My calm" in panel.message.text()
    combo = panel.preset_combo
    assert [combo.itemText(i) for i in range(combo.count())] == ["My calm"]

    panel.reset_controls()
    assert panel.current_controls() == StyleControls()
    assert panel.load_preset("My calm")
    assert panel.current_controls() == chosen
    assert panel.value_labels["speed"].text() == "1.25×"

    assert not panel.save_preset("   ")
    assert panel.message.level == "error" and "name" in panel.message.text()
    assert panel.delete_preset("My calm") and panel.preset_combo.count() == 0


def test_corrupt_presets_file_is_reported_and_kept(qtbot, ctx):
    path = presets_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('{"presets": {"x": {"pitch": 50}}}', encoding="utf-8")
    panel = SynthesizePanel(ctx)
    qtbot.addWidget(panel)
    try:
        assert not panel.message.isHidden() and panel.message.level == "warning"
        assert str(path) in panel.message.text() and "damaged" in panel.message.text()
        assert path.read_text(encoding="utf-8") == '{"presets": {"x": {"pitch": 50}}}'
        assert panel.preset_combo.count() == 0

        assert panel.save_preset("fresh")
        kept = path.with_name(path.name + ".broken")
        assert str(kept) in panel.message.text()
        assert kept.read_text(encoding="utf-8") == '{"presets": {"x": {"pitch": 50}}}'
    finally:
        panel.shutdown()
        panel.shutdown()  # twice is fine
        path.unlink(missing_ok=True)
        path.with_name(path.name + ".broken").unlink(missing_ok=True)


@pytest.fixture(scope="session")
def encoder_model(tmp_path_factory) -> Path:
    """The speaker encoder, built once per test session by a child process, the way the panel
    builds it; the calling process (here a fresh interpreter standing in for the GUI) must not
    import torch. It goes to the session's data folder, where the panel looks, unless another
    test module already put one there: then it is built into a temporary folder, so building is
    still tested."""
    if importlib.util.find_spec("torch") is None:
        pytest.skip("building the speaker encoder needs torch (pip install 'voicestudio[train]')")
    try:
        speaker_model.resemblyzer_weights_path()
    except speaker_model.SpeakerEncoderUnavailableError as exc:
        pytest.skip(str(exc))
    default = speaker_model.encoder_model_path()
    target = default
    if default.is_file():
        target = tmp_path_factory.mktemp("encoder") / speaker_model.MODEL_FILE
    code = textwrap.dedent(f"""
        import sys
        import numpy as np
        from voicestudio.evaluate.secs import SpeakerEncoder
        from voicestudio.evaluate.speaker_model import build_encoder_model_in_subprocess
        path = build_encoder_model_in_subprocess({str(target)!r})
        partials = np.ones((1, 160, 40), "float32")
        assert SpeakerEncoder(path).embed_partials(partials).shape == (1, 256)
        assert "torch" not in sys.modules, "torch was imported"
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert target.is_file() and default.is_file()
    return target


def test_encoder_model_is_built_in_a_child_process(encoder_model: Path):
    build = speaker_model.build_encoder_model_in_subprocess
    assert build(encoder_model) == encoder_model  # already there: no child
    with pytest.raises(speaker_model.SpeakerEncoderUnavailableError,
                       match="cannot build the speaker-similarity model"):
        speaker_model.build_encoder_model_in_subprocess(
            Path("/proc/voicestudio-no-such-dir/encoder.onnx")
        )


def test_encoder_build_can_be_cancelled(tmp_path: Path):
    """A window closing during the first build must not wait for the child's torch import."""
    if importlib.util.find_spec("torch") is None:
        pytest.skip("building the speaker encoder needs torch (pip install 'voicestudio[train]')")
    target = tmp_path / "models" / speaker_model.MODEL_FILE
    asked: list[float] = []

    def cancelled() -> bool:
        asked.append(time.monotonic())
        return len(asked) > 2  # after about half a second, long before torch is even imported

    started = time.monotonic()
    with pytest.raises(speaker_model.EncoderBuildCancelled, match="cancelled"):
        speaker_model.build_encoder_model_in_subprocess(target, cancelled=cancelled)
    assert time.monotonic() - started < 5.0
    assert not target.exists() and list(target.parent.iterdir()) == []  # no half-written model


def test_a_packaged_encoder_model_is_preferred(tmp_path: Path, monkeypatch):
    """A packaged app ships the model among its resources and cannot build one (no torch)."""
    from voicestudio import paths

    in_user_data = paths.user_data_dir() / "models" / speaker_model.MODEL_FILE
    assert speaker_model.encoder_model_path() == in_user_data  # a checkout
    resources = tmp_path / "resources"
    (resources / "models").mkdir(parents=True)
    # where the bundle keeps its resources
    monkeypatch.setattr(paths, "resources_dir", lambda: resources)
    assert speaker_model.encoder_model_path() == in_user_data  # not shipped
    shipped = resources / "models" / speaker_model.MODEL_FILE
    shipped.write_bytes(b"onnx")
    assert speaker_model.encoder_model_path() == shipped
    assert speaker_model.build_encoder_model_in_subprocess() == shipped  # nothing to build


def test_project_voices_and_similarity(qtbot, panel, ctx, project, encoder_model):
    assert panel.similarity_label.text() == NO_PROJECT_HINT
    ctx.set_project(project)
    trained = str(project.folder / "models/speaker-v1.onnx")
    assert panel.current_voice_spec() == trained  # the project's best voice is chosen
    assert panel.voice_combo.itemText(0) == "speaker-v1 (your voice, similarity 0.81)"
    assert panel.voice_combo.findData(DEFAULT_VOICE) > 0
    assert panel.select_voice(str(project.folder))  # the folder names it
    assert panel.current_voice_spec() == trained

    panel.set_text(TEXT)
    with qtbot.waitSignal(panel.similarity_changed, timeout=SCORE_MS) as blocker:
        speak_and_wait(qtbot, panel)
    score = blocker.args[0]
    assert score is not None and 0.0 < score < 1.0
    assert panel.similarity_label.text() == f"similarity to your recordings: {score:.2f}"

    # The same number from the engine directly, on the same takes.
    takes = selection.reference_takes(project)
    assert len(takes) == 4
    assert secs.similarity_to_takes(panel.current_audio(), takes) == pytest.approx(score, abs=1e-4)

    # A take whose checks failed is no reference.
    failed = read_audio(takes[1])
    project.add_take(0, failed.samples, failed.sample_rate, report=verdict_report("fail"),
                     source="import")
    assert len(selection.reference_takes(project)) == 3

    empty = VoiceProject.create("Empty", project.folder.parent, prompts=["One line."],
                                consent_index=None)
    ctx.set_project(empty)
    assert panel.similarity_label.text() == NO_TAKES_HINT
    assert panel.current_voice_spec() == DEFAULT_VOICE  # no trained voice: the base voice


def test_screenshots(qtbot, panel, ctx, project, encoder_model, artifacts_dir: Path):
    from voicestudio.gui.theme import apply_theme

    apply_theme(QApplication.instance())
    ctx.set_project(project)
    panel.set_text(TEXT)
    with qtbot.waitSignal(panel.similarity_changed, timeout=SCORE_MS):
        speak_and_wait(qtbot, panel)
    panel.message.clear_message()  # no output device here: the playback warning is not the point
    assert panel.waveform.has_audio and panel.waveform.has_f0
    for name, size in (("panel_synthesize.png", DEFAULT_PANEL_SIZE),
                       ("panel_synthesize_small.png", SMALL_PANEL_SIZE)):
        panel.resize(*size)
        qtbot.wait(50)  # let the layout settle and the plots repaint
        assert clipped(panel) == [], name
        for spec_name, label in panel.value_labels.items():  # every slider shows its value
            assert label.text() and label.isVisible(), spec_name
        path = artifacts_dir / name
        panel.grab().save(str(path))
        assert path.stat().st_size > 10_000

    panel.message.error("A long error message, as a broken voice gives one, that wraps onto a "
                        "second line in a small window and must push the rest down rather than "
                        "cover it.")
    qtbot.wait(50)
    assert clipped(panel) == []
