"""Reading, resampling and atomically writing audio files.

Every file VoiceStudio writes goes to a temporary file beside the target and is
renamed into place only when complete, so a crash, a full disk or a cancelled
render never leaves a truncated file where the user expects a good one. The file
type follows the name's extension (:class:`FileFormat` is the one table of them).
"""

from __future__ import annotations

import contextlib
import functools
import os
import secrets
import stat
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum, StrEnum
from pathlib import Path
from types import MappingProxyType

import numpy as np
import soundfile as sf
import soxr

from voicestudio.errors import AudioFileError, OutputPathError

MIN_RATE = 8_000
MAX_RATE = 192_000
#: The only sample rates MPEG-1/2/2.5 Layer III can encode.
MP3_RATES = (8_000, 11_025, 12_000, 16_000, 22_050, 24_000, 32_000, 44_100, 48_000)


class SampleFormat(StrEnum):
    """How a lossless file stores its samples (the CLI's ``--format``, the Export panel's bit
    depth)."""

    PCM16 = "pcm16"
    PCM24 = "pcm24"
    FLOAT = "float"


#: Audio files VoiceStudio reads as recordings (import, a consent statement made elsewhere):
#: what libsndfile decodes. MP3 is last: a lossy copy is worse material than the original.
READABLE_SUFFIXES = (".wav", ".flac", ".ogg", ".aiff", ".aif", ".mp3")


class FileFormat(Enum):
    """The audio files VoiceStudio writes, chosen by the output name's extension.

    Lossless formats map each :class:`SampleFormat` they can hold to a libsndfile subtype
    (the first is the default); lossy ones have a codec instead and no bit depth (they are
    written at libsndfile's default quality, which the watermark survives). ``rates``: the
    only output rates the format can hold (None: any in MIN_RATE..MAX_RATE).
    """

    # suffix, libsndfile container, shown as, sample formats (default first), codec, rates
    WAV = (".wav", "WAV", "WAV", (("pcm16", "PCM_16"), ("pcm24", "PCM_24"), ("float", "FLOAT")),
           None, None)
    FLAC = (".flac", "FLAC", "FLAC", (("pcm16", "PCM_16"), ("pcm24", "PCM_24")),  # no float
            None, None)
    OGG = (".ogg", "OGG", "Ogg Vorbis", (), "VORBIS", None)
    MP3 = (".mp3", "MP3", "MP3", (), "MPEG_LAYER_III", MP3_RATES)  # libsndfile >= 1.1: LAME, mpg123

    suffix: str
    container: str
    label: str
    codec: str | None
    rates: tuple[int, ...] | None

    def __init__(
        self,
        suffix: str,
        container: str,
        label: str,
        subtypes: tuple[tuple[str, str], ...],
        codec: str | None,
        rates: tuple[int, ...] | None,
    ) -> None:
        self.suffix, self.container, self.label = suffix, container, label
        self.codec, self.rates = codec, rates
        self.subtypes: Mapping[SampleFormat, str] = MappingProxyType(
            {SampleFormat(n): t for n, t in subtypes}
        )

    @property
    def lossy(self) -> bool:
        return self.codec is not None

    def sample_format(self, requested: SampleFormat | str | None = None) -> SampleFormat | None:
        """The sample format a file of this type gets: ``requested``, or this type's default
        when None; None for a lossy type. A lossy type refuses an explicit sample format
        rather than ignore it: someone who asked for 24-bit must not silently get an MP3."""
        if requested is not None and requested not in _SAMPLE_FORMAT_NAMES:
            raise AudioFileError(
                f"unknown format {requested!r}; choose one of {', '.join(SampleFormat)}"
            )
        if self.lossy:
            if requested is not None:
                raise AudioFileError(
                    f"{requested} does not apply to {self.label} files, which are lossy and have "
                    f"no bit depth; {describe_sample_formats()}"
                )
            return None
        if requested is None:
            return next(iter(self.subtypes))
        if requested not in self.subtypes:
            raise AudioFileError(
                f"{self.label} files cannot hold {requested} samples; {describe_sample_formats()}"
            )
        return SampleFormat(requested)

    def subtype(self, requested: SampleFormat | str | None = None) -> str:
        """The libsndfile subtype for ``requested`` (see :meth:`sample_format`)."""
        chosen = self.sample_format(requested)
        return self.codec if chosen is None else self.subtypes[chosen]

    def describe(self, requested: SampleFormat | str | None = None) -> str:
        """What a file holds, for messages: "pcm16 WAV", "pcm24 FLAC", "MP3 (lossy)"."""
        chosen = self.sample_format(requested)
        return f"{self.label} (lossy)" if chosen is None else f"{chosen} {self.label}"

    def check_rate(self, rate: int) -> int:
        """Validate an output rate for this format (MPEG audio knows only nine rates)."""
        rate = check_rate(rate)
        if self.rates is not None and rate not in self.rates:
            raise AudioFileError(
                f"{self.label} files can only be {', '.join(map(str, self.rates))} Hz, not {rate} "
                "Hz; choose one of those rates or another file type"
            )
        return rate


_SAMPLE_FORMAT_NAMES = frozenset(f.value for f in SampleFormat)
#: Subtypes of WAV files by sample format (kept for callers that validate a WAV format).
WAV_FORMATS: Mapping[SampleFormat, str] = FileFormat.WAV.subtypes


@functools.cache
def file_formats() -> tuple[FileFormat, ...]:
    """The file types this installation can write (MP3 needs libsndfile built with LAME)."""
    known = sf.available_formats()
    return tuple(f for f in FileFormat if f.container in known)


def file_format_for(path: str | os.PathLike[str]) -> FileFormat:
    """The file type a name asks for, by its extension; anything else is refused, naming what
    works."""
    path = Path(path)
    suffix = path.suffix.lower()
    for candidate in file_formats():
        if candidate.suffix == suffix:
            return candidate
    offered = _one_of([f"{f.suffix} ({f.label})" for f in file_formats()])
    if not suffix:
        raise OutputPathError(
            f"{path.name} has no extension to choose the file type by; end it in {offered}"
        )
    hint = " (this libsndfile was built without MP3)" if suffix == FileFormat.MP3.suffix else ""
    raise OutputPathError(
        f"cannot write {suffix} files{hint} ({path.name}); end the name in {offered}"
    )


def describe_sample_formats() -> str:
    """Which sample formats each lossless type takes, for messages and help."""
    return ", ".join(
        f"{f.label} takes {_one_of(list(f.subtypes))}" for f in FileFormat if not f.lossy
    )


def _one_of(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} or {items[-1]}"


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
    """Stream chunks into an audio file that appears atomically on ``commit``.

    The file type follows the name's extension (:func:`file_format_for`); every type is
    written block by block, so memory stays bounded whatever the length. Chunks may arrive
    at the source rate; a streaming soxr resampler converts them to the output rate
    without clicks at chunk boundaries.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        source_rate: int,
        rate: int | None = None,
        fmt: SampleFormat | str | None = None,
        mark: Callable[[np.ndarray], np.ndarray] | None = None,
        tags: dict[str, str] | None = None,
    ) -> None:
        """``fmt``: the sample format of a lossless file (None: 16-bit); ``mark`` transforms
        each chunk at the source rate before it is written (the watermark of synthetic
        speech); ``tags`` are the file's own metadata strings (software, comment…: RIFF INFO
        in WAV, Vorbis comments in FLAC and Ogg, ID3 in MP3)."""
        self.path = check_writable(path)
        self.file_format = file_format_for(self.path)
        self.sample_format = self.file_format.sample_format(fmt)  # None for a lossy type
        self.source_rate = int(source_rate)
        # the output rate, chosen or inherited
        self.rate = self.file_format.check_rate(rate or self.source_rate)
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
            self._file = sf.SoundFile(tmp, mode="w", samplerate=self.rate, channels=1,
                                      format=self.file_format.container,
                                      subtype=self.file_format.subtype(self.sample_format))
            # before any audio: libsndfile writes them with the header
            for name, value in (tags or {}).items():
                setattr(self._file, name, value)
        except Exception as exc:
            self.abort()
            raise OutputPathError(f"cannot create {self.path}: {exc}") from exc

    @property
    def encoding(self) -> str:
        """What is written, for messages: "pcm16 WAV", "pcm24 FLAC", "MP3 (lossy)"."""
        return self.file_format.describe(self.sample_format)

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


def write_audio(path, samples: np.ndarray, source_rate: int, rate: int | None = None,
                fmt: SampleFormat | str | None = None, tags: dict[str, str] | None = None) -> Path:
    """Write one buffer atomically (see :class:`AudioFileWriter`)."""
    with AudioFileWriter(path, source_rate, rate, fmt, tags=tags) as writer:
        writer.write(samples)
    return Path(path)
