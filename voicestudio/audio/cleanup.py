"""Voice activity detection and silence trimming for recorded takes.

A take starts and ends with whatever the microphone heard before and after the
reading: breathing, room noise, a mouse click. Training wants speech edge to edge,
so the speech span is found with Silero VAD (a small neural detector, far more
reliable than an energy gate on a noisy home recording).

Silero's PyPI package imports torch, which VoiceStudio only allows in training
code, so its ONNX model is run on onnxruntime directly and the package is located
with ``importlib`` without importing it. It is installed with
``pip install --no-deps silero-vad`` (its metadata requires torch).
"""

from __future__ import annotations

import importlib.util
import threading
from pathlib import Path

import numpy as np

from voicestudio.audio.io import check_rate, resample, to_mono
from voicestudio.errors import AudioFileError, VoiceStudioError
from voicestudio.paths import bundled_model

#: The model is run at 16 kHz on 512-sample windows (32 ms), each preceded by the
#: last 64 samples of the previous window, as silero-vad's own OnnxWrapper does.
VAD_RATE = 16_000
WINDOW = 512
CONTEXT = 64
WINDOW_S = WINDOW / VAD_RATE
_STATE_SHAPE = (2, 1, 128)
#: A stereo take has at most this many channels; more columns means a wrongly
#: shaped array (channels × frames), which is refused rather than guessed at.
MAX_CHANNELS = 8

INSTALL_HINT = (
    "install it with: .venv/bin/python -m pip install --no-deps silero-vad  (or run `make install`)"
)

_session = None
_session_lock = threading.Lock()


class VadUnavailableError(VoiceStudioError):
    """The Silero VAD model is not installed or cannot be loaded."""


class InvalidAudioError(AudioFileError, ValueError):
    """Samples handed to a check are unusable (empty, NaN, wrongly shaped)."""


def prepare_samples(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """Validate a take and return it as mono float32.

    Stereo (frames × channels, as recorders and ``read_audio`` deliver it) is mixed
    to mono like ``read_audio`` does; anything else that is not 1-D is refused
    because its layout cannot be known. Empty and NaN input are refused with a
    message, since every level and VAD figure would be meaningless.
    """
    check_rate(sample_rate)
    data = np.asarray(samples)
    if data.dtype.kind != "f":
        raise InvalidAudioError(
            f"expected float samples in [-1, 1], got an array of {data.dtype}; "
            "convert integer PCM by dividing by its full-scale value"
        )
    if data.ndim == 2:
        if not 1 <= data.shape[1] <= MAX_CHANNELS:
            raise InvalidAudioError(
                f"expected mono samples or frames × channels, got shape {data.shape}"
            )
        data = to_mono(data)
    elif data.ndim != 1:
        raise InvalidAudioError(
            f"expected mono samples or frames × channels, got shape {data.shape}"
        )
    data = np.ascontiguousarray(data, dtype=np.float32)
    if data.size == 0:
        raise InvalidAudioError("the take is empty (no samples were recorded)")
    if not np.all(np.isfinite(data)):
        raise InvalidAudioError("the take contains NaN or infinite samples (a broken recording)")
    return data


def model_path() -> Path:
    """Where silero-vad's ONNX model lies, found without importing the package (it imports torch).

    A packaged app carries the model in its resources (``models/silero_vad.onnx``)."""
    bundled = bundled_model("silero_vad.onnx")
    if bundled is not None:
        return bundled
    try:
        spec = importlib.util.find_spec("silero_vad")
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.origin:
        raise VadUnavailableError(f"the silero-vad package is not installed; {INSTALL_HINT}")
    path = Path(spec.origin).parent / "data" / "silero_vad.onnx"
    if not path.is_file():
        raise VadUnavailableError(
            f"silero-vad is installed but its model {path} is missing; {INSTALL_HINT}"
        )
    return path


def vad_available() -> bool:
    """True when the VAD model can be loaded (for doctor and the GUI)."""
    try:
        _get_session()
    except VadUnavailableError:
        return False
    return True


def _get_session():
    """One single-threaded session per process: each window is tiny, threads would only spin."""
    global _session
    with _session_lock:
        if _session is None:
            import onnxruntime as ort

            from voicestudio.runtime import session_options

            path = model_path()
            try:
                _session = ort.InferenceSession(
                    str(path), sess_options=session_options(1), providers=["CPUExecutionProvider"]
                )
            except Exception as exc:  # a truncated or incompatible model file
                raise VadUnavailableError(
                    f"cannot load the VAD model {path}: {exc}; {INSTALL_HINT}"
                ) from exc
        return _session


def speech_probabilities(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """Speech probability for each 32 ms window of the take (resampled to 16 kHz).

    The recurrent state and the 64-sample context carry from window to window, so
    the whole take is one stream; the last window is zero-padded.
    """
    x = resample(prepare_samples(samples, sample_rate), int(sample_rate), VAD_RATE)
    session = _get_session()
    n = -(-len(x) // WINDOW)
    padded = np.zeros(CONTEXT + n * WINDOW, dtype=np.float32)
    padded[CONTEXT : CONTEXT + len(x)] = x
    state = np.zeros(_STATE_SHAPE, dtype=np.float32)
    sr = np.array(VAD_RATE, dtype=np.int64)
    probs = np.empty(n, dtype=np.float32)
    for i in range(n):
        chunk = padded[i * WINDOW : i * WINDOW + CONTEXT + WINDOW][None, :]
        out, state = session.run(None, {"input": chunk, "state": state, "sr": sr})
        probs[i] = float(out.reshape(-1)[0])
    return probs


def segments_from_probabilities(
    probs: np.ndarray,
    duration_s: float,
    threshold: float = 0.5,
    min_speech_s: float = 0.25,
    min_silence_s: float = 0.1,
) -> list[tuple[float, float]]:
    """Speech segments from window probabilities, with silero's hysteresis.

    Speech starts where the probability rises above ``threshold`` and ends where it
    stays below ``threshold - 0.15`` for ``min_silence_s``, so a soft consonant in
    mid-word does not split it; segments shorter than ``min_speech_s`` (a click, a
    cough of the chair) are dropped.
    """
    negative = max(threshold - 0.15, 0.01)
    segments: list[tuple[float, float]] = []
    start: int | None = None
    silent_since: int | None = None
    min_silence = max(1, int(round(min_silence_s / WINDOW_S)))
    for i, p in enumerate(np.asarray(probs, dtype=np.float64)):
        if start is None:
            if p >= threshold:
                start, silent_since = i, None
            continue
        if p >= threshold:
            silent_since = None
        elif p < negative:
            if silent_since is None:
                silent_since = i
            if i - silent_since + 1 >= min_silence:
                segments.append((start * WINDOW_S, silent_since * WINDOW_S))
                start, silent_since = None, None
    if start is not None:
        end = silent_since if silent_since is not None else len(probs)
        segments.append((start * WINDOW_S, end * WINDOW_S))
    return [
        (round(s, 4), round(min(e, duration_s), 4)) for s, e in segments if e - s >= min_speech_s
    ]


def speech_segments(
    samples: np.ndarray,
    sample_rate: int,
    threshold: float = 0.5,
    min_speech_s: float = 0.25,
    min_silence_s: float = 0.1,
) -> list[tuple[float, float]]:
    """(start_s, end_s) of each stretch of speech in a take, unpadded.

    Raises :class:`VadUnavailableError` when the model is not installed.
    """
    x = prepare_samples(samples, sample_rate)
    probs = speech_probabilities(x, sample_rate)
    return segments_from_probabilities(
        probs, len(x) / sample_rate, threshold, min_speech_s, min_silence_s
    )


def span_of(
    segments: list[tuple[float, float]], duration_s: float, pad_s: float = 0.1
) -> tuple[float, float] | None:
    """First speech start to last speech end, padded by ``pad_s`` within the take.

    The padding keeps soft onsets and the decay of the last word, which the
    detector's 32 ms windows can shave off; None when there is no speech.
    """
    if not segments:
        return None
    start = max(0.0, segments[0][0] - pad_s)
    end = min(duration_s, segments[-1][1] + pad_s)
    return round(start, 4), round(end, 4)


def trim_span(
    samples: np.ndarray, sample_rate: int, pad_s: float = 0.1
) -> tuple[float, float] | None:
    """The part of the take worth keeping: speech with leading/trailing silence removed.

    Returns (start_s, end_s), or None when no speech was found. The audio itself
    is not touched; callers cut it (see :func:`trim`) or store the span.
    """
    x = prepare_samples(samples, sample_rate)
    return span_of(speech_segments(x, sample_rate), len(x) / sample_rate, pad_s)


def trim(samples: np.ndarray, sample_rate: int, pad_s: float = 0.1) -> np.ndarray:
    """The samples inside :func:`trim_span` (an empty array when there is no speech)."""
    x = prepare_samples(samples, sample_rate)
    span = span_of(speech_segments(x, sample_rate), len(x) / sample_rate, pad_s)
    if span is None:
        return x[:0]
    return x[int(round(span[0] * sample_rate)) : int(round(span[1] * sample_rate))]
