"""The synthetic-speech watermark on real base-voice output: found after what a shared clip
goes through, absent from unmarked speech and under another key, 30 dB below the speech;
the CLI's exit codes. The ≥ 1,000-window false-positive figure is benchmarks/watermark.py's."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from voicestudio.audio.io import resample
from voicestudio.cli import main
from voicestudio.safety.watermark import THRESHOLD, WatermarkError, confidence, detect, embed

TEXT = ("The watermark rides under the speech, a little quieter than a whisper. "
        "It should survive a phone call, a gain change and some noise.")


@pytest.fixture(scope="module")
def speech(synth) -> tuple[np.ndarray, int]:
    samples = np.concatenate([c.samples for c in synth.synthesize(TEXT)])
    assert samples.size / synth.sample_rate > 6.0
    return samples.astype(np.float32), synth.sample_rate


def _noisy(samples: np.ndarray, snr_db: float, seed: int = 0) -> np.ndarray:
    noise = np.random.default_rng(seed).standard_normal(samples.size).astype(np.float32)
    return samples + noise * np.sqrt(np.mean(samples**2)) * 10 ** (-snr_db / 20)


def test_a_marked_clip_is_found_after_resampling_gain_and_noise(speech):
    samples, rate = speech
    marked = embed(samples, rate)
    assert (
        marked.shape == samples.shape and marked.dtype == np.float32 and np.abs(marked).max() <= 1.0
    )
    attacks = {
        "as written": (marked, rate),
        "16 kHz": (resample(marked, rate, 16_000), 16_000),
        "48 kHz": (resample(marked, rate, 48_000), 48_000),
        "+6 dB": (np.clip(marked * 2.0, -1, 1), rate),
        "-6 dB": (marked * 0.5, rate),
        "30 dB SNR": (_noisy(marked, 30.0), rate),
        "16 kHz, -6 dB, 30 dB SNR": (_noisy(resample(marked, rate, 16_000) * 0.5, 30.0), 16_000),
    }
    for name, (audio, audio_rate) in attacks.items():
        for start in (0.0, 1.37):  # a clip cut anywhere: 3 s from the start, or from 1.37 s in
            clip = audio[int(start * audio_rate): int((start + 3.0) * audio_rate)]
            found = detect(clip, audio_rate)
            assert found.present and found.confidence > THRESHOLD + 2, (name, start, found)


def test_unmarked_speech_and_another_key_are_not_found(speech):
    samples, rate = speech
    assert confidence(samples, rate) < THRESHOLD - 2
    other = embed(samples, rate, key=b"someone else's key")
    assert confidence(other, rate) < THRESHOLD - 2
    assert detect(other, rate, key=b"someone else's key").present


def test_the_mark_is_at_least_30_db_below_the_speech_and_silence_stays_silent(speech):
    samples, rate = speech
    mark = embed(samples, rate) - samples
    level = 10 * np.log10(
        np.mean(mark.astype(np.float64) ** 2) / np.mean(samples.astype(np.float64) ** 2)
    )
    assert level <= -30.0
    with_silence = np.concatenate([np.zeros(rate, np.float32), samples])
    marked = embed(with_silence, rate)
    assert np.abs(marked[: rate // 2]).max() < 1e-4  # nothing audible is added where nobody speaks
    np.testing.assert_array_equal(
        embed(np.zeros(rate, np.float32), rate), np.zeros(rate, np.float32)
    )


def test_bad_audio_is_a_clear_error(speech):
    samples, rate = speech
    with pytest.raises(WatermarkError, match="too short"):
        detect(samples[: rate // 10], rate)
    broken = samples.copy()
    broken[5] = np.nan
    with pytest.raises(WatermarkError, match="NaN"):
        embed(broken, rate)
    with pytest.raises(WatermarkError, match="mono"):
        detect(np.stack([samples, samples]), rate)


def test_watermark_detect_exit_codes(speech, tmp_path, capsys):
    samples, rate = speech
    sf.write(str(tmp_path / "marked.wav"), embed(samples, rate), rate, subtype="PCM_16")
    sf.write(str(tmp_path / "plain.wav"), samples, rate, subtype="PCM_16")
    (tmp_path / "broken.wav").write_bytes(b"RIFF nonsense")
    assert main(["watermark", "detect", str(tmp_path / "marked.wav")]) == 0
    assert "watermark found" in capsys.readouterr().out
    assert main(["watermark", "detect", str(tmp_path / "plain.wav")]) == 1
    assert "no watermark" in capsys.readouterr().out
    assert main(["watermark", "detect", str(tmp_path / "broken.wav")]) == 2
    assert "cannot read audio file" in capsys.readouterr().err
    assert main(["watermark", "detect", str(tmp_path / "absent.wav")]) == 2
    sf.write(str(tmp_path / "blip.wav"), samples[: rate // 10], rate, subtype="PCM_16")
    assert main(["watermark", "detect", str(tmp_path / "blip.wav")]) == 2
    assert "blip.wav" in capsys.readouterr().err  # which file was too short


# ----------------------------------------------------------------------------- every export path
def _marked_and_tagged(path) -> bool:
    data, rate = sf.read(str(path), dtype="float32")
    with sf.SoundFile(str(path)) as f:
        tagged = "VoiceStudio" in f.software and "Synthetic speech" in f.comment
    return detect(data, rate).present and tagged


def test_say_batch_and_dub_outputs_are_marked_and_tagged(synth, tmp_path):
    from voicestudio.dubbing import DubSettings, dub, parse_dub_script
    from voicestudio.styling.controls import StyleControls
    from voicestudio.voice.batch import render_script

    said = tmp_path / "said.wav"
    assert main(["say", TEXT, "-o", str(said), "--rate", "16000", "-q"]) == 0
    assert _marked_and_tagged(said)

    lines = [
        "The first clip of a script, long enough to check.",
        "And a second clip that is just as long.",
    ]
    result = render_script(lines, synth, tmp_path / "clips", StyleControls(), 48_000, "pcm24")
    assert len(result.files) == 2 and all(_marked_and_tagged(p) for p in result.files)

    script = parse_dub_script(
        "1\n00:00:00,500 --> 00:00:04,000\nA dubbed line that carries the mark.\n\n"
        "2\n00:00:04,500 --> 00:00:08,000\nAnd another one, right after it.\n",
        "srt",
    )
    done = dub(script, tmp_path / "dub", DubSettings(), synthesizer=synth)
    assert _marked_and_tagged(done.track) and all(_marked_and_tagged(p) for p in done.stems)


def test_recordings_are_not_marked(speech, tmp_path):
    """Only synthetic speech is marked: a plain write (how takes are saved) carries neither."""
    from voicestudio.audio.io import write_audio

    samples, rate = speech
    path = write_audio(tmp_path / "take.wav", samples, rate)
    with sf.SoundFile(str(path)) as f:
        assert "VoiceStudio" not in f.software and "Synthetic" not in f.comment
    assert not detect(sf.read(str(path), dtype="float32")[0], rate).present


# ----------------------------------------------------------------------------- every file type
@pytest.mark.parametrize("rate", [None, 16_000], ids=["voice-rate", "16k"])
@pytest.mark.parametrize("suffix", [".flac", ".ogg", ".mp3"])
def test_the_mark_survives_each_file_type(speech, tmp_path, capsys, suffix, rate):
    """FLAC is lossless, so the mark must be there; Ogg Vorbis and MP3 at libsndfile's default
    quality keep it too (z about 22 on the whole 7.6 s clip and 18 or more in any 3 s window,
    against about 24 in a WAV), and do not make unmarked speech look marked (3-4)."""
    from voicestudio.audio.io import FileFormat, file_formats, write_audio
    from voicestudio.safety.watermark import write_synthetic

    if suffix == ".mp3" and FileFormat.MP3 not in file_formats():
        pytest.skip("this libsndfile cannot write MP3")
    samples, voice_rate = speech
    marked = write_synthetic(tmp_path / f"marked{suffix}", samples, voice_rate, rate)
    plain = write_audio(tmp_path / f"plain{suffix}", samples, voice_rate, rate)
    data, file_rate = sf.read(str(marked), dtype="float32")
    assert file_rate == (rate or voice_rate) and sf.info(str(marked)).format == suffix[1:].upper()
    whole = detect(data, file_rate)
    windows = [detect(data[int(s * file_rate): int((s + 3.0) * file_rate)], file_rate).confidence
               for s in (0.0, 1.37, 3.0, 4.5)]
    assert whole.present and whole.confidence > THRESHOLD + 8
    assert min(windows) > THRESHOLD + 4
    assert confidence(sf.read(str(plain), dtype="float32")[0], file_rate) < THRESHOLD - 2
    with sf.SoundFile(str(marked)) as f:
        assert "Synthetic speech made with VoiceStudio" in f.comment
    assert main(["watermark", "detect", str(marked)]) == 0
    assert "watermark found" in capsys.readouterr().out
    assert main(["watermark", "detect", str(plain)]) == 1
