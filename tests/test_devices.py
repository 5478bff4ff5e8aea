"""Recording and playback on real (virtual) devices: a PipeWire microphone "vmic" and speaker
"vspeaker" with real clocks and callbacks (see tests/audio_env.py). Known audio goes in,
and what comes out is measured: frequency, level, correlation, frame counts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from types import SimpleNamespace

import audio_env
import numpy as np
import pytest
from audio_env import (
    Injector,
    active_region,
    aligned_correlation,
    dominant_frequency,
    rms_dbfs,
    sine,
)

from voicestudio.audio import devices
from voicestudio.audio import recorder as recorder_module
from voicestudio.audio.analysis import LiveAnalyzer
from voicestudio.audio.devices import (
    AudioDevice,
    AudioDeviceError,
    choose_settings,
    find_device,
    list_devices,
)
from voicestudio.audio.io import read_audio, resample
from voicestudio.audio.player import Player
from voicestudio.audio.recorder import Recorder, RecorderError, StopReason
from voicestudio.errors import VoiceStudioError

RATE = 48_000
SPEECH_CLIP = (
    Path(__file__).resolve().parents[2]
    / "shared"
    / "data"
    / "speech"
    / "ljspeech"
    / "LJ001-0013.flac"
)
STARTUP_S = 0.2  # streams start a little late; analyse after this


# ------------------------------------------------------------------- without any device


def test_missing_portaudio_gives_one_clear_error(tmp_path):
    """Without libportaudio2, ``import sounddevice`` raises OSError; users get a sentence."""
    script = textwrap.dedent(
        """
        import ctypes.util
        ctypes.util.find_library = lambda name: None   # as if libportaudio2 were not installed
        import sys; sys.modules.pop("_sounddevice_data", None)
        from voicestudio.audio import devices, player, recorder
        for call in (devices.list_devices, lambda: recorder.Recorder().start(),
                     lambda: player.Player().play([0.0] * 10, 16000)):
            try:
                call()
            except devices.AudioDeviceError as exc:
                print("ERROR:", exc)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 3
    for line in lines:
        assert line.startswith(
            "ERROR: Audio devices are unavailable: the PortAudio library is not installed"
        )
        assert "libportaudio2" in line
    assert "Traceback" not in result.stderr


def _fake_sd(accepts):
    """A stand-in for sounddevice whose check_*_settings accepts (channels, rate) in ``accepts``."""

    class PortAudioError(Exception):
        pass

    def check(device=None, channels=None, dtype=None, samplerate=None):
        if (channels, samplerate) not in accepts:
            raise PortAudioError("Invalid sample rate")

    return SimpleNamespace(
        PortAudioError=PortAudioError, check_input_settings=check, check_output_settings=check
    )


def _device(channels=2, default_rate=44_100, kind="input"):
    return AudioDevice(
        index=3,
        name="USB Mic",
        kind=kind,
        channels=channels,
        default_rate=default_rate,
        is_default=True,
    )


def test_rate_and_channel_choice():
    assert choose_settings(_fake_sd({(1, 48_000), (1, 44_100)}), _device()) == (48_000, 1)
    # 48 kHz refused: the device's own default rate
    assert choose_settings(_fake_sd({(1, 44_100)}), _device()) == (44_100, 1)
    # stereo-only device: opened stereo, mixed down by the recorder
    assert choose_settings(_fake_sd({(2, 48_000)}), _device()) == (48_000, 2)
    # an explicit rate comes first when the device takes it
    assert choose_settings(_fake_sd({(1, 16_000), (1, 48_000)}), _device(), 16_000) == (16_000, 1)
    with pytest.raises(AudioDeviceError, match="accepts none of the settings"):
        choose_settings(_fake_sd({(1, 96_000)}), _device())
    with pytest.raises(AudioDeviceError):  # a mono device is never opened as stereo
        choose_settings(_fake_sd({(2, 48_000)}), _device(channels=1))


def test_find_device_by_name_index_and_default(monkeypatch):
    listed = [
        AudioDevice(0, "Built-in Microphone", "input", 2, 48_000, False),
        AudioDevice(4, "USB Microphone", "input", 1, 44_100, True),
        AudioDevice(7, "pipewire", "input", 64, 44_100, False),
    ]
    monkeypatch.setattr(devices, "list_devices", lambda kind="input": listed)
    assert find_device(None).index == 4
    assert find_device(7).name == "pipewire"
    assert find_device("usb microphone").index == 4  # case does not matter
    assert find_device("Built-in").index == 0  # a unique part of the name
    with pytest.raises(AudioDeviceError, match="matches several devices"):
        find_device("Microphone")
    with pytest.raises(
        AudioDeviceError, match=r"No microphone \(input device\) named 'Studio'\. Available: "
    ):
        find_device("Studio")
    with pytest.raises(AudioDeviceError, match="no microphone .* number 5"):
        find_device(5)
    monkeypatch.setattr(devices, "list_devices", lambda kind="input": [])
    with pytest.raises(AudioDeviceError, match="No microphone .* found"):
        find_device(None)
    assert issubclass(RecorderError, AudioDeviceError) and issubclass(
        AudioDeviceError, VoiceStudioError
    )


# ------------------------------------------------------------------ with virtual devices


@pytest.fixture
def audio(virtual_audio):
    """The session's virtual devices, checked to be there for this test."""
    assert audio_env.has_virtual_devices()
    return virtual_audio


def _record_while_injecting(
    recorder: Recorder, samples: np.ndarray, rate: int, lead_s: float = 0.2
):
    """Start ``recorder``, play ``samples`` into vmic, stop once they are through.

    Returns (capture, wall seconds)."""
    recorder.start()
    started = time.monotonic()
    with Injector("vmic", samples, rate, lead_s=lead_s) as injector:
        injector.wait()
    time.sleep(0.1)
    wall = time.monotonic() - started
    return recorder.stop(), wall


def test_virtual_devices_are_listed(audio):
    inputs = {d.name: d for d in list_devices("input")}
    outputs = {d.name: d for d in list_devices("output")}
    assert {"vmic", "vspeaker"} <= inputs.keys() and {"vmic", "vspeaker"} <= outputs.keys()
    assert inputs["vmic"].channels >= 1 and inputs["vmic"].default_rate > 0
    assert sum(d.is_default for d in inputs.values()) <= 1
    assert find_device("vmic").index == inputs["vmic"].index


@pytest.mark.parametrize("rate", [48_000, 22_050])
def test_sine_into_the_mic_is_recorded_at_its_frequency_and_level(audio, rate):
    tone = sine(440.0, rate, 1.0, amp=0.5)  # -6 dBFS peak, -9.03 dBFS RMS
    recorder = Recorder("vmic", rate=rate)
    analyzer = LiveAnalyzer(rate)
    recorder.start()
    assert recorder.is_recording and recorder.sample_rate == rate and recorder.channels == 1
    columns, fed, meter = [], 0, []
    with Injector("vmic", tone, rate, lead_s=0.2) as injector:
        while injector.stream.active:  # what the GUI timer would do
            time.sleep(0.03)
            new = recorder.read_new()
            fed += len(new)
            columns.append(analyzer.feed(new).columns)
            meter.append(recorder.levels())
    time.sleep(0.05)
    take = recorder.stop()
    fed += len(recorder.read_new())
    assert take.stop_reason is StopReason.STOPPED and take.error is None and take.complete
    assert take.notice is None and not take.clipped
    assert fed == len(take.samples), "the live feed saw every recorded sample"
    start, end = active_region(take.samples, rate)
    assert (end - start) / rate == pytest.approx(1.0, abs=0.05)
    steady = take.samples[start + rate // 10 : end - rate // 10]
    assert dominant_frequency(steady, rate) == pytest.approx(440.0, abs=1.0)
    assert rms_dbfs(steady) == pytest.approx(-9.03, abs=0.5)
    # The live analysis agreed: the meter read about -6 dBFS peak, the spectrogram peaked at 440 Hz.
    assert max(level.peak_dbfs for level in meter) == pytest.approx(-6.02, abs=0.5)
    assert not any(level.clipped for level in meter)
    spectrum = np.concatenate(columns)
    loud = spectrum[spectrum.max(axis=1) > -20.0]
    assert len(loud) > 10
    assert np.median(np.argmax(loud, axis=1)) == round(440.0 / (rate / 1024))


def test_stereo_only_device_is_mixed_down(audio, monkeypatch):
    """Opened with two channels (as if the device offered no mono), the take is still mono
    and right."""
    monkeypatch.setattr(recorder_module, "choose_settings", lambda sd, device, rate=None: (RATE, 2))
    take, _ = _record_while_injecting(Recorder("vmic"), sine(330.0, RATE, 0.6, amp=0.5), RATE)
    assert take.samples.ndim == 1
    start, end = active_region(take.samples, RATE)
    steady = take.samples[start + 4800 : end - 4800]
    assert dominant_frequency(steady, RATE) == pytest.approx(330.0, abs=1.0)
    assert rms_dbfs(steady) == pytest.approx(-9.03, abs=0.5)


def test_clipping_shows_on_the_meter_and_the_take(audio):
    overdriven = np.clip(3.0 * sine(200.0, RATE, 0.4), -1.0, 1.0)
    recorder = Recorder(find_device("vmic").index)  # by index, as a settings dialog may store it
    take, _ = _record_while_injecting(recorder, overdriven, RATE, lead_s=0.1)
    assert take.clipped and recorder.clipped
    assert take.complete  # clipping is a quality warning, not lost audio


@pytest.fixture(scope="module")
def speech(request: pytest.FixtureRequest) -> tuple[np.ndarray, int]:
    """Real speech when ../shared is there, else a sentence from the bundled voice."""
    if SPEECH_CLIP.is_file():
        clip = read_audio(SPEECH_CLIP)
        return clip.samples, clip.sample_rate
    synth = request.getfixturevalue("synth")
    chunks = [
        chunk.samples
        for chunk in synth.synthesize("Recording a voice takes patience and a quiet room.")
    ]
    return np.concatenate(chunks), synth.sample_rate


def test_speech_arrives_intact_with_no_dropped_frames(audio, speech):
    samples, rate = speech
    reference = resample(samples, rate, RATE)
    reference = (0.5 * reference / np.max(np.abs(reference))).astype(np.float32)
    take, wall = _record_while_injecting(Recorder("vmic"), reference, RATE)
    correlation, lag = aligned_correlation(reference, take.samples)
    assert correlation >= 0.9, f"recorded speech correlates {correlation:.3f} with what was played"
    assert 0 < lag < 0.5 * RATE
    assert rms_dbfs(take.samples[lag : lag + len(reference)]) == pytest.approx(
        rms_dbfs(reference), abs=0.5
    )
    assert take.dropped_frames == 0 and take.input_overflows == 0 and take.complete
    # No gaps: the frames recorded match the time the stream ran.
    assert take.duration_s == pytest.approx(wall, abs=0.15), (take.duration_s, wall)


def test_playback_reaches_the_speaker(audio):
    """Player resamples (22.05 kHz → a forced 48 kHz) and plays; the speaker's monitor hears it."""
    rate = 22_050
    tone = sine(660.0, rate, 0.8, amp=0.5)
    recorder = Recorder("vspeaker")
    recorder.start()
    player = Player("vspeaker", rate=RATE)
    time.sleep(0.1)
    player.play(tone, rate)
    assert player.is_playing and player.sample_rate == RATE
    assert player.wait(5.0)
    assert not player.is_playing and player.error is None
    assert player.position_s == pytest.approx(0.8, abs=0.01)
    time.sleep(0.1)
    take = recorder.stop()
    start, end = active_region(take.samples, take.sample_rate)
    assert (end - start) / take.sample_rate == pytest.approx(0.8, abs=0.05), (
        "the whole sound was heard"
    )
    steady = take.samples[start + 4800 : end - 4800]
    assert dominant_frequency(steady, take.sample_rate) == pytest.approx(660.0, abs=1.0)
    assert rms_dbfs(steady) == pytest.approx(-9.03, abs=0.5)


def test_playback_stops_when_asked(audio):
    player = Player("vspeaker")
    player.play(sine(500.0, RATE, 5.0), RATE)
    time.sleep(0.2)
    started = time.monotonic()
    player.stop()
    assert not player.is_playing and time.monotonic() - started < 0.5
    assert player.wait(0.1) and player.error is None
    assert 0.05 < player.position_s < 1.0


def test_max_take_length_stops_the_recording_by_itself(audio):
    recorder = Recorder("vmic", max_seconds=0.5)
    recorder.start()
    assert recorder.wait(5.0), "the recording did not stop at its maximum length"
    assert not recorder.is_recording
    assert recorder.stop_reason is StopReason.MAX_LENGTH and recorder.error is None
    take = recorder.stop()
    assert take.stop_reason is StopReason.MAX_LENGTH
    assert len(take.samples) == int(0.5 * take.sample_rate)
    assert take.error is None
    assert take.notice == "Recording stopped by itself at the maximum take length (0.5 s)."


def test_cancel_returns_nothing_and_the_recorder_can_start_again(audio):
    recorder = Recorder("vmic")
    recorder.start()
    time.sleep(0.3)
    assert recorder.frames_recorded > 0
    assert recorder.cancel() is None
    assert not recorder.is_recording and recorder.frames_recorded == 0
    assert len(recorder.read_new()) == 0
    with pytest.raises(RecorderError, match="Not recording"):
        recorder.stop()
    take, _ = _record_while_injecting(recorder, sine(440.0, RATE, 0.3), RATE, lead_s=0.1)
    assert take.stop_reason is StopReason.STOPPED and take.duration_s > 0.3


def test_unknown_devices_give_a_clear_error(audio):
    with pytest.raises(AudioDeviceError) as caught:
        Recorder("Studio Mic That Is Not There").start()
    message = str(caught.value)
    assert message.startswith(
        "No microphone (input device) named 'Studio Mic That Is Not There'. Available: "
    )
    assert "'vmic'" in message
    with pytest.raises(AudioDeviceError, match="No speaker .* named 'nowhere'"):
        Player("nowhere").play(np.zeros(100, np.float32), RATE)
    recorder = Recorder("vmic")
    recorder.start()
    try:
        with pytest.raises(RecorderError, match="Already recording"):
            recorder.start()
    finally:
        recorder.cancel()


def test_audio_server_dying_keeps_the_partial_take_and_reports_errors(audio, tmp_path):
    """A second, private PipeWire is killed under two child processes, one recording and one
    playing (so the session's devices are untouched). The recording keeps what came and
    carries a plain error; playback reports an error instead of hanging; both exit cleanly."""
    doomed = audio_env.VirtualAudio.start(tmp_path / "doomed")
    out = tmp_path / "partial.wav"
    env = {**os.environ, **doomed.client_env}
    children = {
        mode: subprocess.Popen(
            [sys.executable, audio_env.__file__, mode, *extra],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for mode, extra in (("record-until-error", [str(out)]), ("play-until-error", []))
    }
    results = {}
    try:
        for child in children.values():
            assert child.stdout.readline().strip() == "READY", child.stderr.read()
        time.sleep(0.7)
        doomed.kill_server()
        for mode, child in children.items():
            stdout, stderr = child.communicate(timeout=30)
            assert child.returncode == 0, stderr
            assert "Traceback" not in stderr
            results[mode] = json.loads(stdout.strip().splitlines()[-1])
    finally:
        for child in children.values():
            if child.poll() is None:
                child.kill()
        doomed.stop()

    recorded = results["record-until-error"]
    assert recorded["ended_by_itself"] and recorded["stop_reason"] == "error"
    assert recorded["error_type"] == "RecorderError"
    assert recorded["error"].startswith("Recording stopped unexpectedly: 'vmic' was disconnected")
    assert "recorded so far were kept" in recorded["error"]
    assert recorded["seconds"] >= 0.9
    saved = read_audio(out)
    assert saved.duration_s == pytest.approx(recorded["seconds"], abs=0.01)
    start, end = active_region(saved.samples, saved.sample_rate)
    assert (end - start) / saved.sample_rate > 0.8
    steady = saved.samples[start + 4800 : end - 4800]
    assert dominant_frequency(steady, saved.sample_rate) == pytest.approx(440.0, abs=1.0)

    played = results["play-until-error"]
    assert played["finished"] and not played["is_playing"]
    assert played["error_type"] == "AudioDeviceError"
    assert played["error"].startswith("Playback stopped unexpectedly: 'vspeaker'")
    assert 0.9 <= played["position_s"] < 5.0

    # The session's own devices still work.
    take, _ = _record_while_injecting(
        Recorder("vmic", max_seconds=2), sine(440.0, RATE, 0.3), RATE, lead_s=0.1
    )
    assert rms_dbfs(take.samples) > -30.0


def test_a_failure_in_the_drain_thread_keeps_the_take_and_reports_it(audio, monkeypatch):
    recorder = Recorder("vmic", rate=RATE)
    real_drain = recorder._drain
    calls = {"n": 0}

    def flaky_drain():
        calls["n"] += 1
        if calls["n"] == 20:  # after ~0.2 s of audio has been collected
            raise ValueError("simulated bug")
        real_drain()

    monkeypatch.setattr(recorder, "_drain", flaky_drain)
    recorder.start()
    assert recorder.wait(5.0), "the take should end by itself after the failure"
    take = recorder.stop()
    assert take.stop_reason == StopReason.ERROR and isinstance(take.error, RecorderError)
    assert "simulated bug" in str(take.error) and take.samples.size > 0
