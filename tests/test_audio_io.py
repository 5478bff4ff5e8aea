"""Reading, resampling and atomically writing real audio files (soundfile + soxr, no mocks)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import soundfile as sf
import soxr

from voicestudio.audio.io import (
    MAX_RATE,
    MIN_RATE,
    WAV_FORMATS,
    AudioFileWriter,
    FileFormat,
    check_rate,
    describe_sample_formats,
    file_format_for,
    file_formats,
    read_audio,
    resample,
    to_mono,
    write_audio,
)
from voicestudio.errors import AudioFileError, OutputPathError


def _sine(freq: float, rate: int, seconds: float = 1.0, amp: float = 0.5) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def _peak_hz(samples: np.ndarray, rate: int) -> float:
    window = np.hanning(len(samples))
    spectrum = np.abs(np.fft.rfft(samples * window))
    return float(np.fft.rfftfreq(len(samples), 1.0 / rate)[np.argmax(spectrum)])


def _leftovers(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".part"))


# --------------------------------------------------------------------------- reading


@pytest.mark.parametrize(
    ("rate", "fmt", "subtype", "tol"),
    [
        (8_000, "WAV", "PCM_16", 1 / 32768 + 1e-6),
        (44_100, "WAV", "FLOAT", 1e-7),
        (192_000, "WAV", "PCM_24", 1e-6),
        (8_000, "FLAC", "PCM_16", 1 / 32768 + 1e-6),
        (44_100, "FLAC", "PCM_24", 1e-6),
        (192_000, "FLAC", "PCM_16", 1 / 32768 + 1e-6),
    ],
)
def test_read_mono_at_odd_rates(tmp_path, rate, fmt, subtype, tol):
    x = _sine(440.0, rate, 0.25)
    path = tmp_path / f"tone.{fmt.lower()}"
    sf.write(path, x, rate, format=fmt, subtype=subtype)
    audio = read_audio(path)
    assert audio.sample_rate == rate
    assert audio.samples.dtype == np.float32 and audio.samples.ndim == 1
    assert len(audio.samples) == len(x)
    assert np.max(np.abs(audio.samples - x)) <= tol
    assert audio.duration_s == pytest.approx(0.25, abs=1.0 / rate)


@pytest.mark.parametrize(("channels", "fmt"), [(2, "WAV"), (2, "FLAC"), (6, "WAV"), (8, "FLAC")])
def test_many_channels_are_averaged_to_mono(tmp_path, channels, fmt):
    frames = 4000
    # each channel a constant plus a per-channel ramp: the mean is known exactly
    levels = np.linspace(-0.5, 0.75, channels)
    ramp = np.linspace(-0.2, 0.2, frames)
    data = (levels[None, :] + ramp[:, None] * (np.arange(channels)[None, :] % 2 * 2 - 1)).astype(
        np.float32
    )
    path = tmp_path / f"multi.{fmt.lower()}"
    sf.write(path, data, 44_100, format=fmt, subtype="PCM_24")
    audio = read_audio(path)
    assert audio.samples.shape == (frames,)
    expected = sf.read(path, dtype="float64")[0].mean(axis=1)
    np.testing.assert_allclose(audio.samples, expected, atol=1e-6)
    if channels % 2 == 0:  # the ramps cancel: the mix is the mean of the constants
        np.testing.assert_allclose(audio.samples, levels.mean(), atol=1e-5)


def test_stereo_mix_values():
    left = np.full(10, 0.5, np.float32)
    right = np.full(10, -0.1, np.float32)
    mono = to_mono(np.stack([left, right], axis=1))
    assert mono.dtype == np.float32 and mono.shape == (10,)
    np.testing.assert_allclose(mono, 0.2, atol=1e-7)


def test_read_with_resampling(tmp_path):
    x = _sine(1000.0, 44_100, 1.0)
    sf.write(tmp_path / "tone.wav", x, 44_100, subtype="FLOAT")
    audio = read_audio(tmp_path / "tone.wav", rate=22_050)
    assert audio.sample_rate == 22_050
    assert abs(len(audio.samples) - 22_050) <= 2
    assert _peak_hz(audio.samples, 22_050) == pytest.approx(1000.0, abs=2.0)


def test_resample_keeps_frequency_and_length():
    x = _sine(440.0, 22_050, 2.0)
    y = resample(x, 22_050, 48_000)
    assert y.dtype == np.float32
    assert len(y) / len(x) == pytest.approx(48_000 / 22_050, abs=1e-3)
    assert _peak_hz(x, 22_050) == pytest.approx(440.0, abs=1.0)
    assert _peak_hz(y, 48_000) == pytest.approx(440.0, abs=1.0)
    # amplitude is preserved away from the edges
    mid = y[len(y) // 4 : 3 * len(y) // 4]
    assert np.max(np.abs(mid)) == pytest.approx(0.5, abs=0.01)
    # same rate and empty input pass through
    np.testing.assert_array_equal(resample(x, 22_050, 22_050), x)
    assert resample(np.zeros(0, np.float32), 22_050, 48_000).size == 0


# --------------------------------------------------------------------------- writing


@pytest.mark.parametrize(
    ("fmt", "subtype", "tol"),
    [("pcm16", "PCM_16", 1 / 32768 + 1e-6), ("pcm24", "PCM_24", 1e-6), ("float", "FLOAT", 0.0)],
)
def test_write_formats_at_source_rate(tmp_path, fmt, subtype, tol):
    x = _sine(300.0, 22_050, 0.5, amp=0.8)
    path = write_audio(tmp_path / f"out-{fmt}.wav", x, 22_050, fmt=fmt)
    info = sf.info(path)
    assert (info.format, info.subtype, info.samplerate, info.channels) == (
        "WAV",
        subtype,
        22_050,
        1,
    )
    back, rate = sf.read(path, dtype="float32")
    assert rate == 22_050 and len(back) == len(x)
    assert np.max(np.abs(back - x)) <= tol
    assert not _leftovers(tmp_path)


@pytest.mark.parametrize(
    ("fmt", "subtype", "rate"),
    [("pcm16", "PCM_16", 48_000), ("pcm24", "PCM_24", 44_100), ("float", "FLOAT", 16_000)],
)
def test_write_at_chosen_rate(tmp_path, fmt, subtype, rate):
    x = _sine(440.0, 22_050, 1.0)
    path = write_audio(tmp_path / "out.wav", x, 22_050, rate=rate, fmt=fmt)
    info = sf.info(path)
    assert (info.subtype, info.samplerate) == (subtype, rate)
    back, _ = sf.read(path, dtype="float32")
    expected = soxr.resample(x, 22_050, rate, quality="HQ")
    assert abs(len(back) - len(expected)) <= 2
    n = min(len(back), len(expected))
    assert np.max(np.abs(back[:n] - expected[:n])) < 2e-3
    assert _peak_hz(back, rate) == pytest.approx(440.0, abs=1.0)


def test_write_clips_to_full_scale(tmp_path):
    x = np.array([0.0, 1.5, -3.0, 0.25], np.float32)
    back, _ = sf.read(write_audio(tmp_path / "loud.wav", x, 22_050, fmt="float"), dtype="float32")
    np.testing.assert_array_equal(back, [0.0, 1.0, -1.0, 0.25])


def test_streaming_writer_matches_one_shot_resampling(tmp_path):
    rng = np.random.default_rng(7)
    t = np.arange(22_050 * 2) / 22_050
    chirp = 0.4 * np.sin(2 * np.pi * (200 * t + 900 * t**2))  # 200 Hz → 3800 Hz sweep
    x = (chirp + 0.05 * rng.standard_normal(len(t))).astype(np.float32)
    sizes = [1, 7, 1000, 3333, 256, 12_000, 511]
    path = tmp_path / "stream.wav"
    with AudioFileWriter(path, 22_050, rate=48_000, fmt="float") as writer:
        pos = 0
        for size in sizes:
            writer.write(x[pos : pos + size])
            pos += size
        writer.write(x[pos:])
        assert not path.exists()  # nothing appears before commit
    back, rate = sf.read(path, dtype="float32")
    assert rate == 48_000 and writer.frames_written == len(back)
    expected = soxr.resample(x, 22_050, 48_000, quality="HQ")
    assert abs(len(back) - len(expected)) <= 2
    n = min(len(back), len(expected))
    err = np.abs(back[:n] - expected[:n])
    assert err.max() < 1e-4, f"streamed output differs from one-shot by {err.max():.2e}"
    # no clicks: the sample-to-sample jump never exceeds the one-shot signal's own
    assert np.max(np.abs(np.diff(back[:n]))) <= np.max(np.abs(np.diff(expected[:n]))) + 1e-3


def test_streaming_writer_same_rate_concatenates(tmp_path):
    chunks = [_sine(220.0, 16_000, 0.1) * k for k in (0.2, 0.5, 0.9)]
    path = tmp_path / "same.wav"
    with AudioFileWriter(path, 16_000, fmt="float") as writer:
        for chunk in chunks:
            writer.write(chunk)
    back, rate = sf.read(path, dtype="float32")
    assert rate == 16_000
    np.testing.assert_array_equal(back, np.concatenate(chunks))


# --------------------------------------------------------------------------- atomicity


def test_exception_inside_writer_leaves_nothing(tmp_path):
    path = tmp_path / "never.wav"
    with (
        pytest.raises(RuntimeError, match="cancelled"),
        AudioFileWriter(path, 22_050, rate=44_100) as writer,
    ):
        writer.write(_sine(440.0, 22_050, 0.5))
        assert _leftovers(tmp_path)  # the partial file exists while writing
        raise RuntimeError("cancelled")
    assert not path.exists()
    assert list(tmp_path.iterdir()) == []


def test_exception_inside_writer_keeps_existing_file(tmp_path):
    path = tmp_path / "take.wav"
    old = _sine(100.0, 22_050, 0.2)
    sf.write(path, old, 22_050, subtype="FLOAT")
    before = path.read_bytes()
    with pytest.raises(KeyboardInterrupt), AudioFileWriter(path, 22_050) as writer:
        writer.write(np.zeros(5000, np.float32))
        raise KeyboardInterrupt
    assert path.read_bytes() == before
    assert not _leftovers(tmp_path)


def test_successful_write_replaces_existing_file(tmp_path):
    path = tmp_path / "take.wav"
    path.write_bytes(b"old contents")
    write_audio(path, np.full(100, 0.5, np.float32), 22_050, fmt="float")
    back, _ = sf.read(path, dtype="float32")
    np.testing.assert_array_equal(back, 0.5)
    assert not _leftovers(tmp_path)


def test_failed_disk_write_keeps_existing_file(tmp_path):
    """A real write failure (file-size limit, as on a full disk) in a child process."""
    path = tmp_path / "take.wav"
    path.write_bytes(b"the user's good take")
    script = textwrap.dedent(
        """
        import resource, signal, sys
        import numpy as np
        from voicestudio.audio.io import write_audio
        from voicestudio.errors import OutputPathError
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (32_000, 32_000))
        try:
            write_audio(sys.argv[1], np.zeros(48_000, np.float32), 48_000, fmt="float")
        except OutputPathError as exc:
            print("OutputPathError:", exc)
            sys.exit(0)
        sys.exit("no error raised")
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(path)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("OutputPathError:") and "failed" in result.stdout
    assert path.read_bytes() == b"the user's good take"
    assert not _leftovers(tmp_path)


# --------------------------------------------------------------------------- bad output paths


def test_missing_output_folder(tmp_path):
    with pytest.raises(OutputPathError, match="does not exist"):
        write_audio(tmp_path / "no" / "such" / "out.wav", np.zeros(10, np.float32), 22_050)
    assert list(tmp_path.iterdir()) == []


def test_output_path_is_a_folder(tmp_path):
    (tmp_path / "out.wav").mkdir()
    with pytest.raises(OutputPathError, match="is a folder"):
        AudioFileWriter(tmp_path / "out.wav", 22_050)
    assert not _leftovers(tmp_path)


def test_output_folder_is_a_regular_file(tmp_path):
    blocker = tmp_path / "notes.txt"
    blocker.write_text("not a folder")
    with pytest.raises(OutputPathError):
        write_audio(blocker / "out.wav", np.zeros(10, np.float32), 22_050)
    assert blocker.read_text() == "not a folder"


@pytest.mark.skipif(
    hasattr(os, "geteuid") and os.geteuid() == 0,
    reason="running as root: permission bits do not stop root from writing "
    "(test_output_folder_is_a_regular_file covers an unwritable location)",
)
def test_unwritable_output_folder(tmp_path):
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(OutputPathError, match="not writable"):
            write_audio(folder / "out.wav", np.zeros(10, np.float32), 22_050)
        assert list(folder.iterdir()) == []
    finally:
        folder.chmod(0o700)


def test_unknown_format(tmp_path):
    with pytest.raises(AudioFileError, match="pcm16"):
        AudioFileWriter(tmp_path / "out.wav", 22_050, fmt="mp3")
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- bad input files


def _good_wav_bytes(tmp_path) -> bytes:
    sf.write(tmp_path / "good.wav", np.full(1000, 0.1, np.float32), 22_050)
    return (tmp_path / "good.wav").read_bytes()


@pytest.mark.parametrize("kind", ["zero-length", "truncated-header", "garbage"])
def test_unreadable_files(tmp_path, kind):
    path = tmp_path / "bad.wav"
    if kind == "zero-length":
        path.write_bytes(b"")
    elif kind == "truncated-header":
        path.write_bytes(_good_wav_bytes(tmp_path)[:20])
    else:
        path.write_bytes(bytes(range(256)) * 16)
    expected = "is empty" if kind == "zero-length" else "cannot read audio file"
    with pytest.raises(AudioFileError, match=expected) as info:
        read_audio(path)
    assert str(path) in str(info.value)


def test_folder_is_not_an_audio_file(tmp_path):
    with pytest.raises(AudioFileError, match="is a folder"):
        read_audio(tmp_path)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_samples(tmp_path, bad):
    path = tmp_path / "nan.wav"
    sf.write(
        path, np.array([[0.1, 0.1], [bad, 0.0], [0.2, 0.2]], np.float32), 22_050, subtype="FLOAT"
    )
    with pytest.raises(AudioFileError, match="NaN or infinite"):
        read_audio(path)


def test_empty_wav(tmp_path):
    path = tmp_path / "empty.wav"
    sf.write(path, np.zeros(0, np.float32), 22_050)
    with pytest.raises(AudioFileError, match="no samples"):
        read_audio(path)


def test_missing_input_file(tmp_path):
    with pytest.raises(AudioFileError, match="not found"):
        read_audio(tmp_path / "nope.wav")


# --------------------------------------------------------------------------- rates


@pytest.mark.parametrize("rate", [100, 7_999, 192_001, 1_000_000, 0, -44_100])
def test_bad_rates_rejected(tmp_path, rate):
    with pytest.raises(AudioFileError, match="outside"):
        check_rate(rate)
    sf.write(tmp_path / "ok.wav", _sine(440.0, 22_050, 0.1), 22_050)
    with pytest.raises(AudioFileError, match="outside"):
        read_audio(tmp_path / "ok.wav", rate=rate)
    if rate:  # rate=0 means "keep the source rate" for the writer
        with pytest.raises(AudioFileError, match="outside"):
            AudioFileWriter(tmp_path / "out.wav", 22_050, rate=rate)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ok.wav"]


@pytest.mark.parametrize("source_rate", [100, 1_000_000])
def test_inherited_output_rate_is_checked_too(tmp_path, source_rate):
    """Without a chosen rate the file gets the source rate, which must be in range as well."""
    with pytest.raises(AudioFileError, match="outside"):
        write_audio(tmp_path / "out.wav", np.zeros(100, np.float32), source_rate)
    assert list(tmp_path.iterdir()) == []
    # resampling to a valid rate is fine
    path = write_audio(
        tmp_path / "ok.wav", np.zeros(source_rate // 10, np.float32), source_rate, rate=16_000
    )
    assert sf.info(path).samplerate == 16_000


def test_rate_limits_accepted(tmp_path):
    assert check_rate(MIN_RATE) == MIN_RATE and check_rate(MAX_RATE) == MAX_RATE
    for rate in (MIN_RATE, MAX_RATE):
        path = write_audio(tmp_path / f"{rate}.wav", _sine(440.0, 22_050, 0.1), 22_050, rate=rate)
        assert sf.info(path).samplerate == rate


# --------------------------------------------------------------------------- file types by
# extension

HAS_MP3 = FileFormat.MP3 in file_formats()
needs_mp3 = pytest.mark.skipif(
    not HAS_MP3, reason="this libsndfile cannot write MP3 (needs >= 1.1 with LAME)"
)


@pytest.mark.parametrize(
    ("name", "fmt", "container", "subtype", "tol"),
    [("out.wav", None, "WAV", "PCM_16", 1e-4), ("out.flac", None, "FLAC", "PCM_16", 1e-4),
     ("out.flac", "pcm24", "FLAC", "PCM_24", 1e-6), ("LOUD.FLAC", "pcm16", "FLAC", "PCM_16", 1e-4),
     ("out.ogg", None, "OGG", "VORBIS", None),
     pytest.param("out.mp3", None, "MP3", "MPEG_LAYER_III", None, marks=needs_mp3)],
)
def test_the_extension_picks_the_file_type(tmp_path, name, fmt, container, subtype, tol):
    x = _sine(440.0, 22_050, 1.0)
    with AudioFileWriter(tmp_path / name, 22_050, fmt=fmt) as writer:
        for start in range(0, len(x), 4096):  # streamed block by block, as say and the batch do
            writer.write(x[start:start + 4096])
    info = sf.info(str(tmp_path / name))
    assert (info.format, info.subtype, info.samplerate, info.channels) == (
        container,
        subtype,
        22_050,
        1,
    )
    back, rate = sf.read(str(tmp_path / name), dtype="float32")
    assert rate == 22_050 and abs(len(back) - len(x)) <= 1152  # an MPEG frame at most
    if tol is not None:  # lossless: the samples themselves
        assert np.max(np.abs(back - x)) <= tol
    else:  # lossy: the same tone at the same loudness
        assert _peak_hz(back, rate) == pytest.approx(440.0, abs=2.0)
        assert np.sqrt(np.mean(back**2)) == pytest.approx(np.sqrt(np.mean(x**2)), rel=0.1)
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]  # no temporary left


@pytest.mark.parametrize("name", ["out.m4a", "out.aac", "out.txt", "no-extension", "out.wav.bak"])
def test_other_extensions_are_refused_naming_the_supported_ones(tmp_path, name):
    with pytest.raises(OutputPathError) as refused:
        write_audio(tmp_path / name, _sine(440.0, 22_050, 0.1), 22_050)
    message = str(refused.value)
    assert name in message and "\n" not in message
    assert all(f.suffix in message for f in file_formats())
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("name", "fmt", "fragment"),
    [
        ("out.flac", "float", "FLAC files cannot hold float"),
        ("out.ogg", "pcm16", "lossy"),
        ("out.ogg", "float", "no bit depth"),
        pytest.param("out.mp3", "pcm24", "lossy", marks=needs_mp3),
        ("out.flac", "pcm32", "unknown format"),
    ],
)
def test_sample_formats_that_do_not_fit_the_type_are_refused(tmp_path, name, fmt, fragment):
    with pytest.raises(AudioFileError, match=fragment):
        AudioFileWriter(tmp_path / name, 22_050, fmt=fmt)
    assert list(tmp_path.iterdir()) == []


def test_the_format_table_answers_for_every_type():
    assert [f.suffix for f in FileFormat] == [".wav", ".flac", ".ogg", ".mp3"]
    assert (
        FileFormat.WAV.describe() == "pcm16 WAV"
        and FileFormat.FLAC.describe("pcm24") == "pcm24 FLAC"
    )
    assert (
        FileFormat.OGG.describe() == "Ogg Vorbis (lossy)" and FileFormat.MP3.sample_format() is None
    )
    assert dict(WAV_FORMATS) == {"pcm16": "PCM_16", "pcm24": "PCM_24", "float": "FLOAT"}
    assert describe_sample_formats() == "WAV takes pcm16, pcm24 or float, FLAC takes pcm16 or pcm24"
    assert file_format_for("a/b/Speech.Ogg") is FileFormat.OGG


@needs_mp3
def test_mp3_takes_only_mpeg_rates(tmp_path):
    with pytest.raises(AudioFileError, match="MP3 files can only be .*48000 Hz, not 96000 Hz"):
        AudioFileWriter(tmp_path / "out.mp3", 22_050, rate=96_000)
    with pytest.raises(AudioFileError, match="not 11000 Hz"):
        AudioFileWriter(tmp_path / "out.mp3", 11_000)  # an inherited rate is checked too
    assert list(tmp_path.iterdir()) == []
    path = write_audio(tmp_path / "out.mp3", _sine(440.0, 22_050, 0.5), 22_050, rate=48_000)
    assert sf.info(str(path)).samplerate == 48_000


@pytest.mark.parametrize("name", ["tagged.wav", "tagged.flac", "tagged.ogg",
                                  pytest.param("tagged.mp3", marks=needs_mp3)])
def test_tags_go_into_each_types_own_metadata(tmp_path, name):
    tags = {"software": "VoiceStudio test", "comment": "Synthetic speech, for the test"}
    path = write_audio(tmp_path / name, _sine(440.0, 22_050, 0.5), 22_050, tags=tags)
    with sf.SoundFile(str(path)) as f:
        back = f.copy_metadata()
    assert back["comment"] == tags["comment"]
    # libsndfile's ID3 writer has no software field (LAME may put its own name there)
    if path.suffix != ".mp3":
        assert back["software"].startswith("VoiceStudio test")  # libsndfile appends its version


@pytest.mark.parametrize(
    "name", ["take.flac", "take.ogg", pytest.param("take.mp3", marks=needs_mp3)]
)
def test_a_failed_write_of_any_type_leaves_the_old_file(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(b"the user's earlier file")
    with pytest.raises(RuntimeError, match="cancelled"), AudioFileWriter(path, 22_050) as writer:
        writer.write(_sine(440.0, 22_050, 0.5))
        raise RuntimeError("cancelled")
    assert path.read_bytes() == b"the user's earlier file"
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]
