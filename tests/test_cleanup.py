"""Silero VAD run on onnxruntime (no torch): speech found where it is, and nowhere else."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

from voicestudio.audio import cleanup
from voicestudio.audio.cleanup import (
    InvalidAudioError,
    VadUnavailableError,
    model_path,
    prepare_samples,
    segments_from_probabilities,
    speech_probabilities,
    speech_segments,
    trim,
    trim_span,
)
from voicestudio.audio.io import read_audio, resample
from voicestudio.errors import VoiceStudioError

TOLERANCE_S = 0.15


@pytest.fixture(scope="module")
def spoken(synth) -> tuple[np.ndarray, int, float, float]:
    """Synthesized speech with the true start and end of its sound (the voice's output is clean,
    so where the signal rises above -50 dBFS is exactly where speech is)."""
    text = "Please open the window before you leave the house."
    x = np.concatenate([c.samples for c in synth.synthesize(text)])
    loud = np.flatnonzero(np.abs(x) > 10 ** (-50 / 20))
    return x, synth.sample_rate, loud[0] / synth.sample_rate, loud[-1] / synth.sample_rate


def padded(
    x: np.ndarray, rate: int, lead_s: float, tail_s: float, noise_dbfs: float = -65.0, seed: int = 0
):
    """A recorded take: silence before and after, microphone hiss throughout."""
    rng = np.random.default_rng(seed)
    y = np.concatenate([np.zeros(int(lead_s * rate)), x, np.zeros(int(tail_s * rate))])
    return (y + rng.normal(0.0, 10 ** (noise_dbfs / 20), len(y))).astype(np.float32)


def test_vad_and_take_checks_run_without_importing_silero_or_torch():
    path = model_path()
    assert path.name == "silero_vad.onnx" and path.is_file()
    code = textwrap.dedent(
        """
        import sys
        import numpy as np
        from voicestudio.audio.checks import check_take
        from voicestudio.audio.cleanup import speech_segments
        x = np.random.default_rng(0).normal(0, 0.01, 16000).astype(np.float32)
        speech_segments(x, 16000)
        check_take(x, 16000, prompt="hello")
        bad = [m for m in ("torch", "silero_vad") if m in sys.modules]
        assert not bad, bad
        """
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_finds_speech_in_synthesized_speech_at_the_right_place(spoken):
    x, rate, start, end = spoken
    take = padded(x, rate, 1.5, 1.0)
    segments = speech_segments(take, rate)
    assert segments, "no speech found in clean synthesized speech"
    assert segments[0][0] == pytest.approx(1.5 + start, abs=TOLERANCE_S)
    assert segments[-1][1] == pytest.approx(1.5 + end, abs=TOLERANCE_S)


def test_finds_speech_in_real_speech(shared_speech):
    for corpus, name in (("ljspeech", "LJ001-0002.flac"), ("pmatthes", "LJ002-0012.flac")):
        audio = read_audio(shared_speech / corpus / name)
        take = padded(audio.samples, audio.sample_rate, 1.0, 0.8)
        segments = speech_segments(take, audio.sample_rate)
        assert segments, f"no speech found in {corpus}/{name}"
        # The clips are trimmed to the speech, so speech starts and ends at the padding.
        assert segments[0][0] == pytest.approx(1.0, abs=TOLERANCE_S), (corpus, segments)
        assert segments[-1][1] == pytest.approx(1.0 + audio.duration_s, abs=TOLERANCE_S), (
            corpus,
            segments,
        )


@pytest.mark.parametrize(
    "kind", ["digital silence", "mic hiss", "loud white noise", "brown rumble", "hum"]
)
def test_no_speech_in_noise_or_silence(kind: str):
    rate = 16_000
    rng = np.random.default_rng(1)
    n = 3 * rate
    signal = {
        "digital silence": np.zeros(n),
        "mic hiss": rng.normal(0, 10 ** (-60 / 20), n),
        "loud white noise": rng.normal(0, 0.1, n),
        "brown rumble": np.cumsum(rng.normal(0, 1, n)) * 1e-3,
        "hum": 0.1 * np.sin(2 * np.pi * 50 * np.arange(n) / rate),
    }[kind]
    assert speech_segments(signal.astype(np.float32), rate) == []
    assert trim_span(signal.astype(np.float32), rate) is None
    assert trim(signal.astype(np.float32), rate).size == 0


def test_trim_span_pads_and_stays_inside_the_take(spoken):
    x, rate, start, end = spoken
    take = padded(x, rate, 1.0, 0.7)
    span = trim_span(take, rate, pad_s=0.1)
    assert span is not None
    assert span[0] == pytest.approx(1.0 + start - 0.1, abs=TOLERANCE_S)
    assert span[1] == pytest.approx(1.0 + end + 0.1, abs=TOLERANCE_S)
    trimmed = trim(take, rate, pad_s=0.1)
    assert len(trimmed) == pytest.approx((span[1] - span[0]) * rate, abs=2)
    # A take with no silence at all: the padded span is clamped to the take.
    tight = trim_span(x[int(start * rate) : int(end * rate)], rate, pad_s=0.5)
    assert tight is not None and tight[0] == 0.0 and tight[1] <= (end - start) + 1e-3


@pytest.mark.parametrize("rate", [8_000, 16_000, 44_100, 48_000])
def test_odd_sample_rates_give_the_same_span(spoken, rate: int):
    x, native, start, end = spoken
    take = padded(resample(x, native, rate), rate, 1.2, 0.8)
    segments = speech_segments(take, rate)
    assert segments
    assert segments[0][0] == pytest.approx(1.2 + start, abs=TOLERANCE_S)
    assert segments[-1][1] == pytest.approx(1.2 + end, abs=TOLERANCE_S)


def test_probabilities_one_per_32ms_window():
    rate = 16_000
    probs = speech_probabilities(np.zeros(rate + 1, dtype=np.float32), rate)
    assert probs.shape == (-(-(rate + 1) // 512),)
    assert np.all((probs >= 0) & (probs <= 1))


def test_hysteresis_keeps_short_dips_and_drops_blips():
    w = cleanup.WINDOW_S
    probs = np.array(
        [0.0] * 10 + [0.9] * 20 + [0.4] * 2 + [0.9] * 20 + [0.0] * 10 + [0.9] * 3 + [0.0] * 5
    )
    segments = segments_from_probabilities(probs, len(probs) * w)
    # the 2-window dip at 0.4 is above the exit threshold (0.35): one segment;
    # the 3-window blip (96 ms) is shorter than 250 ms and dropped
    assert segments == [(pytest.approx(10 * w), pytest.approx(52 * w))]


def test_stereo_is_mixed_and_wrong_layouts_are_refused(spoken):
    x, rate, _, _ = spoken
    take = padded(x, rate, 0.8, 0.5)
    stereo = np.stack([take, 0.5 * take], axis=1)
    assert speech_segments(stereo, rate) == speech_segments(0.75 * take, rate)
    with pytest.raises(InvalidAudioError, match="frames × channels"):
        speech_segments(stereo.T, rate)  # channels × frames
    with pytest.raises(InvalidAudioError, match="shape"):
        speech_segments(take.reshape(1, 1, -1), rate)


@pytest.mark.parametrize(
    ("samples", "rate", "message"),
    [
        (np.zeros(0, dtype=np.float32), 16_000, "empty"),
        (np.array([0.0, np.nan, 0.1], dtype=np.float32), 16_000, "NaN"),
        (np.array([0.0, np.inf], dtype=np.float32), 16_000, "infinite"),
        (np.zeros(100, dtype=np.int16), 16_000, "float samples"),
        (np.zeros(100, dtype=np.float32), 4_000, "sample rate"),
    ],
)
def test_unusable_input_gives_clear_errors(samples, rate: int, message: str):
    with pytest.raises(VoiceStudioError, match=message):
        prepare_samples(samples, rate)
    with pytest.raises(VoiceStudioError, match=message):
        speech_segments(samples, rate)


def test_missing_model_says_how_to_install(monkeypatch, tmp_path):
    real_find_spec = cleanup.importlib.util.find_spec

    def find_spec(name, *args):
        return None if name == "silero_vad" else real_find_spec(name, *args)

    monkeypatch.setattr(cleanup.importlib.util, "find_spec", find_spec)
    monkeypatch.setattr(cleanup, "_session", None)
    with pytest.raises(VadUnavailableError, match="pip install --no-deps silero-vad"):
        speech_segments(np.zeros(16_000, dtype=np.float32), 16_000)
    assert not cleanup.vad_available()

    # installed but the model file is gone
    (tmp_path / "silero_vad").mkdir()
    (tmp_path / "silero_vad" / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(cleanup.importlib.util, "find_spec", real_find_spec)
    with pytest.raises(VadUnavailableError, match="model .* is missing"):
        model_path()
