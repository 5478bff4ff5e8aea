"""Reading, resampling and atomically writing audio files.

Every file VoiceStudio writes goes to a temporary file beside the target and is
renamed into place only when complete, so a crash, a full disk or a cancelled
render never leaves a truncated WAV where the user expects a good one.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from voicestudio.errors import AudioFileError, OutputPathError

#: Output encodings offered to users, mapped to libsndfile subtypes.
WAV_FORMATS: dict[str, str] = {"pcm16": "PCM_16", "pcm24": "PCM_24", "float": "FLOAT"}
MIN_RATE = 8_000
MAX_RATE = 192_000


@dataclass(frozen=True)
class Audio:
    """Mono float32 samples in [-1, 1] with their sample rate."""

    samples: np.ndarray
    sample_rate: int

    @property
    def duration_s(self) -> float:
        return len(self.samples) / float(self.sample_rate)


def to_mono(data: np.ndarray) -> np.ndarray:
    """Average channels (frames × channels → frames); mono input is returned as float32."""
    data = np.asarray(data, dtype=np.float32)
    if data.ndim == 2:
        data = data.mean(axis=1, dtype=np.float32)
    return np.ascontiguousarray(data)


def resample(samples: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """High-quality resampling with soxr (float32 in, float32 out)."""
    samples = np.asarray(samples, dtype=np.float32)
    if rate_in == rate_out or samples.size == 0:
        return samples
    return soxr.resample(samples, rate_in, rate_out, quality="HQ").astype(np.float32, copy=False)


def check_rate(rate: int) -> int:
    """Validate a user-chosen sample rate."""
    if not MIN_RATE <= int(rate) <= MAX_RATE:
        raise AudioFileError(f"sample rate {rate} Hz is outside {MIN_RATE}..{MAX_RATE} Hz")
    return int(rate)


def read_audio(path: str | os.PathLike[str], rate: int | None = None) -> Audio:
    """Read any format libsndfile knows, mixed to mono, optionally resampled to ``rate``."""
    path = Path(path)
    if path.is_dir():
        raise AudioFileError(f"{path} is a folder, not an audio file")
    if not path.is_file():
        raise AudioFileError(f"audio file not found: {path}")
    if path.stat().st_size == 0:
        raise AudioFileError(f"audio file {path} is empty (0 bytes)")
    try:
        data, file_rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, ValueError) as exc:
        raise AudioFileError(f"cannot read audio file {path}: {exc}") from exc
    samples = to_mono(data)
    if samples.size == 0:
        raise AudioFileError(f"audio file {path} contains no samples")
    if not np.all(np.isfinite(samples)):
        raise AudioFileError(f"audio file {path} contains NaN or infinite samples")
    if rate is not None:
        samples = resample(samples, file_rate, check_rate(rate))
        file_rate = rate
    return Audio(samples, int(file_rate))


def check_writable(path: str | os.PathLike[str]) -> Path:
    """Fail early, before expensive work, when ``path`` cannot be written."""
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise OutputPathError(f"output path {path} is a folder; give a file name such as out.wav")
    if not parent.is_dir():
        raise OutputPathError(f"output folder {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputPathError(f"output folder {parent} is not writable")
    if path.exists() and not os.access(path, os.W_OK):
        raise OutputPathError(f"output file {path} exists and is not writable")
    return path


class AudioFileWriter:
    """Stream chunks into a WAV file that appears atomically on ``commit``.

    Chunks may arrive at the source rate; a streaming soxr resampler converts
    them to the output rate without clicks at chunk boundaries.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        source_rate: int,
        rate: int | None = None,
        fmt: str = "pcm16",
        mark: Callable[[np.ndarray], np.ndarray] | None = None,
        tags: dict[str, str] | None = None,
    ) -> None:
        """``mark`` transforms each chunk at the source rate before it is written (the
        watermark of synthetic speech); ``tags`` are RIFF INFO strings (software, comment…)."""
        if fmt not in WAV_FORMATS:
            raise AudioFileError(f"unknown format {fmt!r}; choose one of {', '.join(WAV_FORMATS)}")
        self.path = check_writable(path)
        self.source_rate = int(source_rate)
        self.rate = check_rate(rate or self.source_rate)  # the output rate, chosen or inherited
        self.frames_written = 0
        self._mark = mark
        self._resampler = (
            soxr.ResampleStream(self.source_rate, self.rate, 1, dtype="float32", quality="HQ")
            if self.rate != self.source_rate
            else None
        )
        try:
            tmp = _create_temp_beside(self.path)
        except OSError as exc:
            raise OutputPathError(f"cannot write to {self.path.parent}: {exc.strerror}") from exc
        self._tmp = Path(tmp)
        try:
            self._file = sf.SoundFile(
                tmp, mode="w", samplerate=self.rate, channels=1, format="WAV", subtype=WAV_FORMATS[fmt]
            )
        except Exception as exc:
            self._tmp.unlink(missing_ok=True)
            raise OutputPathError(f"cannot create {self.path}: {exc}") from exc
        for name, value in (tags or {}).items():  # before any audio: WAV keeps them in a LIST chunk
            setattr(self._file, name, value)

    def write(self, samples: np.ndarray, last: bool = False) -> None:
        samples = np.asarray(samples, dtype=np.float32)
        if self._mark is not None and samples.size:
            samples = self._mark(samples)
        if self._resampler is not None:
            samples = self._resampler.resample_chunk(samples, last=last)
        if samples.size:
            try:
                self._file.write(np.clip(samples, -1.0, 1.0))
            except Exception as exc:  # disk full, I/O error
                self.abort()
                raise OutputPathError(f"writing {self.path} failed: {exc}") from exc
            self.frames_written += len(samples)

    def commit(self) -> Path:
        """Flush the resampler, fsync and rename the finished file into place."""
        if self._resampler is not None:
            self.write(np.zeros(0, dtype=np.float32), last=True)
        try:
            self._file.close()
            with open(self._tmp, "rb+") as handle:
                os.fsync(handle.fileno())
            with contextlib.suppress(OSError):  # replacing a file keeps its permissions
                if self.path.exists():
                    os.chmod(self._tmp, stat.S_IMODE(self.path.stat().st_mode))
            os.replace(self._tmp, self.path)
        except OSError as exc:
            self.abort()
            raise OutputPathError(f"finishing {self.path} failed: {exc.strerror or exc}") from exc
        return self.path

    def abort(self) -> None:
        """Drop the partial file; the target path is left as it was."""
        with contextlib.suppress(Exception):
            self._file.close()
        self._tmp.unlink(missing_ok=True)

    def __enter__(self) -> AudioFileWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.abort()


def _create_temp_beside(path: Path) -> str:
    """A new empty ``.NAME.XXXX.part`` file next to ``path``, created with mode 0666 so the
    kernel applies the user's umask (``mkstemp`` would make every export 0600)."""
    for _ in range(100):
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.part")
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            return str(tmp)
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name beside {path}")


def write_audio(path, samples: np.ndarray, source_rate: int, rate: int | None = None, fmt: str = "pcm16",
                tags: dict[str, str] | None = None) -> Path:
    """Write one buffer atomically (see :class:`AudioFileWriter`)."""
    with AudioFileWriter(path, source_rate, rate, fmt, tags=tags) as writer:
        writer.write(samples)
    return Path(path)
