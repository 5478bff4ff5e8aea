"""Speaker similarity (SECS): the cosine of two Resemblyzer speaker embeddings.

How much a cloned voice sounds like its speaker is scored the way the literature
does it: embed each clip with a speaker-verification network and take the cosine.
The network is Resemblyzer's GE2E encoder; its pipeline is reproduced here in numpy
and onnxruntime, so the app needs neither torch nor Resemblyzer's own dependencies
(librosa, webrtcvad) for the score:

1. resample to 16 kHz;
2. bring the active-speech level to :data:`LEVEL_DBFS`. Resemblyzer only ever *raises*
   the volume (to -30 dBFS), so its scores move with loudness: a quiet clip and the
   same clip 10 dB louder embed differently. Every clip is levelled here first;
3. drop long silences. Resemblyzer runs webrtcvad on 30 ms windows, smooths the
   decisions over 8 windows and keeps 3 windows either side of speech; the same steps
   run here on Silero VAD's 32 ms windows (the detector the take checks already use,
   which needs no extra package and is far less fooled by room noise);
4. 40 Slaney mel bands of the power spectrum (25 ms Hann window, 10 ms hop), linear
   power, not log: that is what the network was trained on;
5. partial windows of 160 frames (1.6 s), 1.3 per second, the last kept when it is at
   least 75 % covered; each is embedded (LSTM → linear → ReLU → L2 norm), and the mean
   of the partials, L2-normalised, is the clip's embedding.

The ONNX encoder is found or built by :mod:`voicestudio.evaluate.speaker_model`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np
from scipy.ndimage import binary_dilation

from voicestudio.audio.cleanup import WINDOW as VAD_WINDOW
from voicestudio.audio.cleanup import InvalidAudioError, prepare_samples, speech_probabilities
from voicestudio.audio.io import Audio, read_audio, resample
from voicestudio.audio.levels import set_speech_level
from voicestudio.audio.mel import mel_filterbank, power_spectrogram
from voicestudio.evaluate.speaker_model import (
    SpeakerEncoderUnavailableError,
    build_encoder_model_in_subprocess,
    ensure_encoder_model,
)

SAMPLE_RATE = 16_000
N_FFT = 400  # 25 ms
HOP = 160  # 10 ms
N_MELS = 40
EMBEDDING_SIZE = 256
PARTIAL_FRAMES = 160  # 1.6 s per partial utterance
PARTIALS_PER_S = 1.3
MIN_COVERAGE = 0.75
#: Active-speech RMS every clip is brought to. Resemblyzer's training audio was at least
#: -30 dBFS over the whole file (pauses included), so its speech sat a few dB higher; -24 is
#: also the level VoiceStudio renders speech at, so synthesized clips are left as they are.
LEVEL_DBFS = -24.0
#: Silence trimming, in VAD windows, as Resemblyzer's hparams count them.
VAD_THRESHOLD = 0.5
VAD_SMOOTHING_WINDOWS = 8
VAD_MAX_SILENCE_WINDOWS = 6
#: Partials per onnxruntime call: bounds memory for long clips, large enough to batch well.
MAX_BATCH = 64


_default: SpeakerEncoder | None = None
_default_lock = threading.Lock()
_file_cache: dict[tuple[str, int, int], np.ndarray] = {}  # (path, mtime, size) -> embedding
_file_lock = threading.Lock()
#: Files whose embeddings are kept (a few MB); the cache starts over when it is full.
MAX_CACHED_FILES = 5000


# ----------------------------------------------------------------------------- preprocessing


def preprocess(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """16 kHz, levelled, long silences removed: what the encoder's mel frames are made from.

    A clip in which the VAD finds no speech is kept whole (a score on all of it says
    more than none); a silent clip is refused, as it has no speaker to compare.
    """
    x = prepare_samples(samples, sample_rate)
    if not np.any(x):
        raise InvalidAudioError("the clip is silent: there is no voice to compare")
    x = resample(x, int(sample_rate), SAMPLE_RATE)
    x = set_speech_level(x, SAMPLE_RATE, LEVEL_DBFS)
    keep = speech_mask(x)
    return x[keep] if keep.any() else x


def speech_mask(x: np.ndarray) -> np.ndarray:
    """Per-sample mask of speech plus short pauses (Resemblyzer's ``trim_long_silences``).

    Window decisions are smoothed by a moving average and rounded (so a lone window
    flips nothing), then widened by :data:`VAD_MAX_SILENCE_WINDOWS` // 2 windows on each
    side, so pauses up to that long survive and longer ones are cut.
    """
    flags = (speech_probabilities(x, SAMPLE_RATE) >= VAD_THRESHOLD).astype(np.float64)
    width = VAD_SMOOTHING_WINDOWS
    padded = np.concatenate([np.zeros((width - 1) // 2), flags, np.zeros(width // 2)])
    smoothed = np.convolve(padded, np.ones(width) / width, mode="valid")
    windows = np.round(smoothed).astype(bool)
    windows = binary_dilation(windows, np.ones(VAD_MAX_SILENCE_WINDOWS + 1, dtype=bool))
    return np.repeat(windows, VAD_WINDOW)[: len(x)]


def mel_frames(wav: np.ndarray) -> np.ndarray:
    """``[frames, 40]`` linear mel power of 16 kHz samples (not log: the encoder's input)."""
    power = power_spectrogram(wav, N_FFT, HOP)
    return (power @ mel_filterbank(SAMPLE_RATE, N_FFT, N_MELS).T).astype(np.float32)


def partial_starts(
    n_samples: int, rate: float = PARTIALS_PER_S, min_coverage: float = MIN_COVERAGE
) -> list[int]:
    """First mel frame of each partial window (``compute_partial_slices`` of Resemblyzer).

    Windows start every ``1 / rate`` seconds and cover the whole clip; the last one is
    dropped when less than ``min_coverage`` of it holds audio, unless it is the only one.
    """
    if not 0 < min_coverage <= 1:
        raise ValueError("min_coverage must be in (0, 1]")
    n_frames = int(np.ceil((n_samples + 1) / HOP))
    step = int(np.round((SAMPLE_RATE / rate) / HOP))
    if not 0 < step <= PARTIAL_FRAMES:
        raise ValueError(f"{rate} partials per second is outside what covers a clip")
    starts = list(range(0, max(1, n_frames - PARTIAL_FRAMES + step + 1), step))
    coverage = (n_samples - starts[-1] * HOP) / (PARTIAL_FRAMES * HOP)
    if coverage < min_coverage and len(starts) > 1:
        starts.pop()
    return starts


def partial_mels(wav: np.ndarray) -> np.ndarray:
    """``[partials, 160, 40]``: the clip zero-padded to its last window, cut into windows."""
    starts = partial_starts(len(wav))
    end = (starts[-1] + PARTIAL_FRAMES) * HOP
    if end >= len(wav):
        wav = np.pad(wav, (0, end - len(wav)))
    mel = mel_frames(wav)
    return np.stack([mel[s : s + PARTIAL_FRAMES] for s in starts])


# ----------------------------------------------------------------------------- the encoder


def unit(vector: np.ndarray) -> np.ndarray:
    vector = np.asarray(vector, dtype=np.float32)
    norm = float(np.linalg.norm(vector))
    if not np.isfinite(norm) or norm == 0.0:
        raise ValueError("cannot normalise a zero or non-finite embedding")
    return vector / norm


def mean_embedding(embeddings: Iterable[np.ndarray] | np.ndarray) -> np.ndarray:
    """A speaker's embedding from several clips': their mean, L2-normalised (Resemblyzer's
    ``embed_speaker``)."""
    stacked = np.asarray(
        list(embeddings) if not isinstance(embeddings, np.ndarray) else embeddings, dtype=np.float32
    )
    if stacked.ndim != 2 or len(stacked) == 0:
        raise ValueError("mean_embedding() needs at least one embedding")
    return unit(stacked.mean(axis=0))


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine of two embeddings (normalised here, so any scale is accepted)."""
    return float(np.dot(unit(a), unit(b)))


class SpeakerEncoder:
    """Clips → unit speaker embeddings on onnxruntime (CPU; one session per instance)."""

    def __init__(self, model_path: str | Path | None = None, threads: int = 1) -> None:
        import onnxruntime as ort

        from voicestudio.runtime import session_options

        self.model_path = ensure_encoder_model(model_path)
        try:
            self.session = ort.InferenceSession(
                str(self.model_path),
                sess_options=session_options(threads),
                providers=["CPUExecutionProvider"],
            )
        except Exception as exc:  # a truncated or foreign file: onnxruntime raises its own types
            raise SpeakerEncoderUnavailableError(
                f"cannot load the speaker-similarity model {self.model_path}: "
                f"{str(exc).splitlines()[0][:200]}; delete the file and it is rebuilt on next use"
            ) from exc
        self._lock = threading.Lock()  # one run at a time keeps the thread count bounded

    def embed_partials(self, mels: np.ndarray) -> np.ndarray:
        """Raw network: ``[batch, frames, 40]`` linear mel power → ``[batch, 256]`` unit vectors."""
        mels = np.ascontiguousarray(mels, dtype=np.float32)
        if mels.ndim != 3 or mels.shape[2] != N_MELS:
            raise ValueError(
                f"expected mel frames shaped [batch, frames, {N_MELS}], got {mels.shape}"
            )
        out = []
        with self._lock:
            for i in range(0, len(mels), MAX_BATCH):
                out.append(self.session.run(None, {"mels": mels[i : i + MAX_BATCH]})[0])
        return np.concatenate(out).astype(np.float32)

    def embed(self, samples: np.ndarray, sample_rate: int) -> np.ndarray:
        """One clip's embedding: a unit vector of 256 floats."""
        return self.embed_many([(samples, sample_rate)])[0]

    def embed_many(self, clips: Iterable[tuple[np.ndarray, int] | Audio]) -> np.ndarray:
        """``[clips, 256]``, every clip's partial windows run through the network together."""
        per_clip = [partial_mels(preprocess(*_pair(c))) for c in clips]
        if not per_clip:
            return np.zeros((0, EMBEDDING_SIZE), dtype=np.float32)
        partials = self.embed_partials(np.concatenate(per_clip))
        bounds = np.cumsum([0] + [len(m) for m in per_clip])
        return np.stack(
            [unit(partials[a:b].mean(axis=0)) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
        )

    def embed_speaker(self, clips: Iterable[tuple[np.ndarray, int] | Audio]) -> np.ndarray:
        """The mean embedding of several clips of one speaker (e.g. a voice's references)."""
        return mean_embedding(self.embed_many(clips))

    def embed_files(self, paths: Sequence[str | Path]) -> np.ndarray:
        """``[files, 256]`` for audio files (any format libsndfile reads)."""
        return self.embed_many(read_audio(p) for p in paths)


def default_encoder() -> SpeakerEncoder:
    """One shared encoder per process (building or loading the model happens once)."""
    global _default
    with _default_lock:
        if _default is None or not _default.model_path.is_file():
            _default = SpeakerEncoder()
        return _default


def speaker_similarity(
    a: np.ndarray | Audio, b: np.ndarray | Audio, encoder: SpeakerEncoder | None = None
) -> float:
    """SECS in [-1, 1] (in practice 0..1): each side an embedding or an :class:`Audio` clip."""
    return cosine(_as_embedding(a, encoder), _as_embedding(b, encoder))


def reference_embedding(
    paths: Sequence[str | Path], encoder: SpeakerEncoder | None = None
) -> np.ndarray:
    """The mean embedding of a set of reference recordings of one speaker."""
    if not paths:
        raise ValueError("reference_embedding() needs at least one file")
    return mean_embedding((encoder or default_encoder()).embed_files(paths))


def _as_embedding(x: np.ndarray | Audio, encoder: SpeakerEncoder | None) -> np.ndarray:
    if isinstance(x, Audio):
        return (encoder or default_encoder()).embed(x.samples, x.sample_rate)
    x = np.asarray(x, dtype=np.float32)
    if x.shape != (EMBEDDING_SIZE,):
        raise ValueError(
            f"an embedding has {EMBEDDING_SIZE} values (got shape {x.shape}); pass audio as Audio"
        )
    return x


def _pair(clip: tuple[np.ndarray, int] | Audio) -> tuple[np.ndarray, int]:
    if isinstance(clip, Audio):
        return clip.samples, clip.sample_rate
    samples, rate = clip
    return samples, int(rate)


def embed_file(path: str | Path, encoder: SpeakerEncoder | None = None) -> np.ndarray:
    """One audio file's embedding, computed once per process while the file is unchanged
    (same path, modification time and size): the consent checks and the score line compare
    the same takes again and again. AudioFileError/InvalidAudioError for a file that cannot
    be read or holds no voice; OSError when it is gone."""
    stat = Path(path).stat()
    key = (str(Path(path).resolve()), stat.st_mtime_ns, stat.st_size)
    with _file_lock:
        cached = _file_cache.get(key)
    if cached is not None:
        return cached
    audio = read_audio(path)
    embedding = (encoder or default_encoder()).embed(audio.samples, audio.sample_rate)
    with _file_lock:
        if len(_file_cache) >= MAX_CACHED_FILES:
            _file_cache.clear()
        _file_cache[key] = embedding
    return embedding


def cached_reference_embedding(
    paths: Sequence[str | Path], encoder: SpeakerEncoder | None = None
) -> np.ndarray:
    """:func:`reference_embedding` from :func:`embed_file`'s cache (a panel scores every new
    render against the same takes)."""
    if not paths:
        raise ValueError("cached_reference_embedding() needs at least one file")
    return mean_embedding([embed_file(p, encoder) for p in paths])


def similarity_to_takes(
    audio: Audio,
    take_paths: Sequence[str | Path],
    cancelled: Callable[[], bool] | None = None,
) -> float:
    """SECS of ``audio`` against the mean embedding of ``take_paths``. Builds the model in a
    child process when needed (``cancelled`` as in :func:`build_encoder_model_in_subprocess`),
    so it never imports torch here. Blocking: call it off the GUI thread."""
    build_encoder_model_in_subprocess(cancelled=cancelled)
    encoder = default_encoder()
    return speaker_similarity(audio, cached_reference_embedding(take_paths, encoder), encoder)
