"""An inaudible keyed watermark that marks speech as VoiceStudio's synthetic output.

Spread spectrum, built to survive what happens to a shared clip: a keyed pseudo-random
pattern of :data:`BLOCK` samples at 16 kHz, band-limited to 500-5500 Hz (inside any
16 kHz resampling), repeats end to end and is added under the speech, following its
loudness envelope at :data:`MARK_LEVEL_DB` below it (nothing is added in silence).
Detection resamples to 16 kHz, cuts the clip into blocks, whitens each block's spectrum
(phase only, so loudness, gain and the speech's own colour drop out) and sums its
correlation with the pattern over every block and every circular lag: a marked clip
gives one peak, far above the spread of the other lags (its z-score is the confidence),
wherever the clip starts. The key is a byte string; without it the pattern is noise.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.ndimage import uniform_filter1d

from voicestudio import __version__
from voicestudio.audio.io import AudioFileWriter, resample
from voicestudio.errors import VoiceStudioError

DETECT_RATE = 16_000
BLOCK = 2048  # 128 ms at 16 kHz: one repeat of the pattern
BAND_HZ = (500.0, 5500.0)
#: Watermark energy relative to the speech it rides on (the acceptance asks ≤ −30 dB).
MARK_LEVEL_DB = -32.0
#: A z-score at or above this is "marked". Unmarked speech peaks at about 4 (the largest
#: of 2048 near-Gaussian lags); marked 3 s clips score 15 or more after 16 kHz resampling,
#: −6 dB and noise at 30 dB SNR (benchmarks/watermark.py measures both sides).
THRESHOLD = 8.0
#: The shortest clip detection answers for: two repeats of the pattern.
MIN_DETECT_S = 2 * BLOCK / DETECT_RATE
DEFAULT_KEY = b"VoiceStudio synthetic speech, watermark v1"
ENVELOPE_S = 0.020


class WatermarkError(VoiceStudioError):
    """Audio the watermark cannot be embedded in or detected from (too short, not finite)."""


@dataclass(frozen=True)
class Detection:
    present: bool
    confidence: float  # z-score of the correlation peak; THRESHOLD decides
    seconds: float


@functools.lru_cache(maxsize=8)
def pattern(key: bytes = DEFAULT_KEY) -> np.ndarray:
    """The keyed, band-limited pattern: one block at 16 kHz, unit variance (made once per
    key: a stream marks every chunk with it; read-only, as it is shared)."""
    seed = int.from_bytes(hashlib.sha256(key).digest()[:8], "little")
    noise = np.random.default_rng(seed).standard_normal(BLOCK)
    spectrum = np.fft.rfft(noise)
    spectrum[~_band()] = 0.0
    block = np.fft.irfft(spectrum, BLOCK)
    block /= block.std()
    block.flags.writeable = False
    return block


def embed(samples: np.ndarray, rate: int, key: bytes = DEFAULT_KEY, level_db: float = MARK_LEVEL_DB,
          offset: int = 0) -> np.ndarray:
    """``samples`` with the watermark added (same rate and length, float32, within ±1).
    ``offset``: where in the pattern (16 kHz samples) this audio starts, for streams."""
    x = _checked(samples)
    if x.size == 0:
        return x
    x16 = resample(x, rate, DETECT_RATE) if rate != DETECT_RATE else x
    envelope = np.sqrt(
        uniform_filter1d(x16.astype(np.float64) ** 2, int(ENVELOPE_S * DETECT_RATE)) + 1e-12
    )
    mark = np.take(pattern(key), (offset + np.arange(x16.size)) % BLOCK) * envelope
    power = float(np.mean(mark**2))
    if power <= 1e-20:  # digital silence: nothing to hide under
        return x.copy()
    mark *= np.sqrt(float(np.mean(x16.astype(np.float64) ** 2)) / power) * 10 ** (level_db / 20)
    if rate != DETECT_RATE:
        mark = resample(mark.astype(np.float32), DETECT_RATE, rate)
    mark = np.resize(mark, x.size)  # resampling may differ by a sample
    return np.clip(x + mark.astype(np.float32), -1.0, 1.0)


class Watermarker:
    """Marks a stream chunk by chunk with one continuous pattern (the writer's ``mark``)."""

    def __init__(self, rate: int, key: bytes = DEFAULT_KEY) -> None:
        self.rate, self.key, self._done = int(rate), key, 0

    def __call__(self, chunk: np.ndarray) -> np.ndarray:
        # The position comes from the samples done so far, not a running sum of rounded
        # chunk lengths, so the pattern never drifts against the audio.
        offset = round(self._done * DETECT_RATE / self.rate)
        self._done += len(chunk)
        return embed(chunk, self.rate, self.key, offset=offset)


def synthetic_tags() -> dict[str, str]:
    """Metadata strings that say, in the file itself, what made it (RIFF INFO in WAV, Vorbis
    comments in FLAC and Ogg, ID3 in MP3). libsndfile's ID3 writer has no ``software`` field,
    so the comment names the version too: it is the one tag every format keeps."""
    return {
        "software": f"VoiceStudio {__version__}",
        "comment": f"Synthetic speech made with VoiceStudio {__version__}; "
                   "carries an inaudible VoiceStudio watermark",
    }


def synthetic_writer(path, source_rate: int, rate: int | None = None, fmt: str | None = None):
    """An :class:`~voicestudio.audio.io.AudioFileWriter` for synthetic speech: every chunk
    is watermarked and the file is tagged. All of the app's speech exports go through it.
    The file type follows ``path``'s extension; the mark survives Ogg Vorbis and MP3 at
    libsndfile's default quality (tests/test_watermark.py measures it)."""
    return AudioFileWriter(
        path, source_rate, rate, fmt, mark=Watermarker(source_rate), tags=synthetic_tags()
    )


def write_synthetic(
    path, samples: np.ndarray, source_rate: int, rate: int | None = None, fmt: str | None = None
):
    """One buffer of synthetic speech, watermarked, tagged and written atomically."""
    with synthetic_writer(path, source_rate, rate, fmt) as writer:
        writer.write(samples)
    return Path(path)


def detect(samples: np.ndarray, rate: int, key: bytes = DEFAULT_KEY) -> Detection:
    """Whether ``samples`` carry the watermark of ``key`` (see the module docstring)."""
    x = _checked(samples)
    seconds = x.size / rate if rate else 0.0
    if seconds < MIN_DETECT_S:
        raise WatermarkError(
            f"{seconds:.2f} s of audio is too short to check; "
            f"at least {MIN_DETECT_S:.2f} s is needed"
        )
    return Detection(bool((z := confidence(x, rate, key)) >= THRESHOLD), z, seconds)


def confidence(samples: np.ndarray, rate: int, key: bytes = DEFAULT_KEY) -> float:
    """The z-score of the watermark's correlation peak (about 4 or less when unmarked)."""
    y = resample(samples.astype(np.float32), rate, DETECT_RATE) if rate != DETECT_RATE else samples
    blocks = y.size // BLOCK
    if blocks < 1:
        return 0.0
    spectra = np.fft.rfft(y[: blocks * BLOCK].reshape(blocks, BLOCK).astype(np.float64), axis=1)
    band = _band()
    whitened = spectra / (np.abs(spectra) + 1e-9)
    summed = np.sum(whitened * np.conj(np.fft.rfft(pattern(key))), axis=0) * band
    lags = np.fft.irfft(summed, BLOCK)
    spread = float(np.std(lags))
    return float(np.max(lags) / spread) if spread > 0 else 0.0


def _band() -> np.ndarray:
    freqs = np.fft.rfftfreq(BLOCK, 1.0 / DETECT_RATE)
    return (freqs >= BAND_HZ[0]) & (freqs <= BAND_HZ[1])


def _checked(samples: np.ndarray) -> np.ndarray:
    x = np.asarray(samples, dtype=np.float32)
    if x.ndim != 1:
        raise WatermarkError(f"expected mono samples, got an array of shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise WatermarkError("the audio contains NaN or infinite samples")
    return x
