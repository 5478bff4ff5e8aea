"""Shared fixtures. Qt runs offscreen; user data goes to a temporary folder, never $HOME."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

SHARED_SPEECH = Path(__file__).resolve().parents[2] / "shared" / "data" / "speech"


@pytest.fixture(autouse=True, scope="session")
def _isolated_user_data(tmp_path_factory: pytest.TempPathFactory):
    data = tmp_path_factory.mktemp("voicestudio-data")
    old = os.environ.get("VOICESTUDIO_DATA_DIR")
    os.environ["VOICESTUDIO_DATA_DIR"] = str(data)
    yield data
    if old is None:
        os.environ.pop("VOICESTUDIO_DATA_DIR", None)
    else:
        os.environ["VOICESTUDIO_DATA_DIR"] = old


@pytest.fixture(scope="session")
def joe():
    """The bundled base voice on the CPU (one session for the whole run)."""
    from voicestudio.voice.catalog import load_voice

    return load_voice(None, provider="cpu")


@pytest.fixture(scope="session")
def synth(joe):
    from voicestudio.voice.synthesizer import Synthesizer

    return Synthesizer(joe)


@pytest.fixture(autouse=True)
def _no_preview_work_behind():
    """Each test starts with the preview's background analyses done: some count the calls of
    WORLD's steps, and one test's lines must not be readied during the next."""
    from voicestudio.voice.preview import readied

    assert readied(120.0), "the preview's background analyses did not end"
    yield
    assert readied(120.0), "the preview's background analyses did not end"


@pytest.fixture(scope="session")
def preview(synth):
    from voicestudio.voice.preview import PreviewSession

    return PreviewSession(synth, max_lines=32)


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """Screenshots and audio kept for a person to look at after the run."""
    path = Path(__file__).resolve().parent / "artifacts"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture(scope="session")
def shared_speech() -> Path:
    if not (SHARED_SPEECH / "ljspeech" / "manifest.tsv").is_file():
        pytest.skip(f"real speech corpus not found at {SHARED_SPEECH} (../shared is absent)")
    return SHARED_SPEECH


@pytest.fixture(scope="session")
def virtual_audio(tmp_path_factory: pytest.TempPathFactory):
    """A virtual microphone "vmic" and speaker "vspeaker" that PortAudio in this process sees.

    Uses them when they are already there (a sourced ../shared/audio-ci env.sh); otherwise
    starts a private PipeWire for the session (tests/audio_env.py). Skips with the reason
    when that is impossible, except under VOICESTUDIO_REQUIRE_AUDIO=1 (CI), where it fails:
    CI must run the device tests, not skip them. Yields the VirtualAudio, or None when the
    devices came from outside.
    """
    import subprocess

    import audio_env

    def unavailable(reason: str):
        if os.environ.get("VOICESTUDIO_REQUIRE_AUDIO") == "1":
            pytest.fail(f"VOICESTUDIO_REQUIRE_AUDIO=1 but {reason}", pytrace=False)
        pytest.skip(reason)

    reason = audio_env.portaudio_missing()
    if reason:
        unavailable(reason)
    if audio_env.has_virtual_devices():
        yield None
        return
    reason = audio_env.pipewire_missing()
    if reason:
        unavailable(reason)
    try:
        audio = audio_env.VirtualAudio.start(tmp_path_factory.mktemp("audio"))
    except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
        unavailable(f"the virtual PipeWire did not start: {exc}")
    try:
        with audio_env.client_of(audio):
            if not audio_env.has_virtual_devices():
                unavailable(
                    f"PipeWire started but PortAudio sees only {sorted(audio_env.device_names())}"
                )
            yield audio
    finally:
        audio.stop()


@pytest.fixture
def themed_synthesize_panel(qtbot, ctx):
    """Synthesize & Customize in the app's theme at its screenshot size, shown; shut down
    after the test (a factory: tests set their text or controls first)."""
    from PySide6.QtWidgets import QApplication

    from voicestudio.gui.panels.synthesize import SynthesizePanel
    from voicestudio.gui.theme import apply_theme

    made = []

    def make(text: str | None = None):
        apply_theme(QApplication.instance())
        widget = SynthesizePanel(ctx)
        qtbot.addWidget(widget)
        widget.resize(944, 716)
        if text is not None:
            widget.set_text(text)
        widget.show()
        qtbot.waitExposed(widget)
        made.append(widget)
        return widget

    yield make
    for widget in made:
        widget.shutdown()


@pytest.fixture
def ctx(tmp_path: Path):
    """The GUI's shared state with its QSettings in ``tmp_path``, synthesizing on the CPU."""
    pytest.importorskip("PySide6")
    from PySide6.QtCore import QSettings

    from voicestudio.gui.context import StudioContext

    context = StudioContext(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    context.provider = "cpu"
    yield context
    context.close()
