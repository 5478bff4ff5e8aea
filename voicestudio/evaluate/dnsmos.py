"""Naturalness score without a reference: DNSMOS, Microsoft's non-intrusive speech MOS.

A clone can sound like its speaker and be understood and still sound bad: hiss, buzz,
clipping, metallic vocoder artefacts. DNSMOS predicts what listeners would rate on the
ITU-T P.835 scales (SIG: the speech itself, BAK: the background, OVRL: overall) and on the
P.808 absolute category rating, each 1 (bad) .. 5 (excellent), from the audio alone.

The networks are Microsoft's ONNX files as shipped inside the ``speechmos`` wheel (MIT);
its Python code needs librosa, so it is never imported: the models are found on disk and
its pipeline is reproduced here in numpy, to the same numbers:

1. resample to 16 kHz and clip to [-1, 1] (speechmos refuses samples outside it);
2. a clip shorter than one 9.01 s window is repeated (doubled until long enough);
3. windows of 9.01 s every second; the P.835 network takes each window's raw samples, and
   its three outputs are mapped to the MOS scale by speechmos' fitted polynomials;
4. the P.808 network takes each window's log mel spectrogram (all but its last 10 ms):
   120 Slaney mel bands of a 321-point STFT, 10 ms hop, normalised to the window's
   loudest bin, ``(dB + 40) / 40``;
5. the clip's scores are the means over its windows.
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from voicestudio.audio.cleanup import prepare_samples
from voicestudio.audio.io import Audio, resample
from voicestudio.audio.mel import mel_filterbank as audio_mel_filterbank
from voicestudio.errors import VoiceStudioError
from voicestudio.paths import bundled_model

SAMPLE_RATE = 16_000
#: The reference's window length and hop, in seconds. Window bounds are computed from
#: these floats exactly as speechmos does, see :func:`windows`.
WINDOW_S = 9.01
HOP = SAMPLE_RATE  # 1 s
WINDOW = int(WINDOW_S * SAMPLE_RATE)  # 144 160 samples, the P.835 network's input
#: The P.808 features: librosa.feature.melspectrogram(n_fft=321, hop_length=160, n_mels=120)
#: of the window without its last 160 samples, which gives the 900 frames the network takes.
MEL_N_FFT = 321
MEL_HOP = 160
N_MELS = 120
MEL_FRAMES = 900
MEL_TRIM = 160
#: librosa.power_to_db's defaults (amin, top_db), then speechmos' shift and scale.
POWER_FLOOR = 1e-10
TOP_DB = 80.0
DB_OFFSET = 40.0
DB_SCALE = 40.0
#: Windows per onnxruntime call: bounds memory on long clips. Larger batches are no faster
#: on the CPU (~0.45 s a window either way), so this stays small.
MAX_BATCH = 4

PACKAGE = "speechmos"
INSTALL_HINT = (
    ".venv/bin/python -m pip install --no-deps 'speechmos==0.0.1.1'  (or run `make install`)"
)
P808_MODEL = "dnsmos_models/model_v8.onnx"

_default: DnsmosScorer | None = None
_default_lock = threading.Lock()


class DnsmosUnavailableError(VoiceStudioError):
    """The DNSMOS models are not installed or cannot be loaded."""


@dataclass(frozen=True)
class QualityScore:
    """Predicted mean opinion scores, each 1 (bad) .. 5 (excellent)."""

    ovrl: float  # P.835 overall quality
    sig: float  # P.835 speech signal: distortion of the voice itself
    bak: float  # P.835 background: noise, hum, hiss
    p808: float  # P.808 absolute category rating (a separate network)


@dataclass(frozen=True)
class Calibration:
    """A P.835 network and the polynomials (highest power first) that map its raw outputs
    to the MOS scale; speechmos' ``get_polyfit_val``."""

    model: str  # path inside the speechmos package
    sig: tuple[float, ...]
    bak: tuple[float, ...]
    ovrl: tuple[float, ...]


STANDARD = Calibration(
    "dnsmos_models/sig_bak_ovr.onnx",
    sig=(-0.08397278, 1.22083953, 0.0052439),
    bak=(-0.13166888, 1.60915514, -0.39604546),
    ovrl=(-0.06766283, 1.11546468, 0.04602535),
)
#: DNSMOS trained to also penalise an interfering talker (speechmos' "dnsmos_personalized").
PERSONALIZED = Calibration(
    "pdnsmos_models/sig_bak_ovr.onnx",
    sig=(-0.01019296, 0.02751166, 1.19576786, -0.24348726),
    bak=(-0.04976499, 0.44276479, -0.1644611, 0.96883132),
    ovrl=(-0.00533021, 0.005101, 1.18058466, -0.11236046),
)


def model_file(relative: str) -> Path:
    """One of the DNSMOS ONNX files: the packaged app's copy (``models/`` + the same relative
    path), else the installed speechmos package's, found without importing it (it imports
    librosa, which VoiceStudio does not install)."""
    bundled = bundled_model(relative)
    if bundled is not None:
        return bundled
    try:
        spec = importlib.util.find_spec(PACKAGE)
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise DnsmosUnavailableError(
            f"the quality score (DNSMOS) needs the {PACKAGE} package, which ships its models; "
            f"install it with: {INSTALL_HINT}"
        )
    for folder in spec.submodule_search_locations:
        path = Path(folder) / relative
        if path.is_file():
            return path
    raise DnsmosUnavailableError(
        f"{PACKAGE} is installed but its DNSMOS model {relative} "
        f"is missing; reinstall it with: {INSTALL_HINT}"
    )


# ----------------------------------------------------------------------------- features


def prepare(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """Mono float32 at 16 kHz within [-1, 1] (soxr may overshoot full scale slightly)."""
    x = resample(prepare_samples(samples, sample_rate), int(sample_rate), SAMPLE_RATE)
    return np.clip(x, -1.0, 1.0)


def windows(x: np.ndarray) -> np.ndarray:
    """``[windows, 144160]``: the 16 kHz clip cut as speechmos cuts it.

    A short clip is doubled until it fills a window. Bounds are ``int((i + 9.01) * 16000)``
    in floating point, which rounds some ends one sample short (i = 7..23, 119.., ...);
    speechmos skips those windows, and so does this, so the means stay identical.
    """
    x = np.asarray(x, dtype=np.float32)
    if x.size == 0:
        raise ValueError("windows() needs at least one sample")
    while len(x) < WINDOW:
        x = np.concatenate([x, x])
    count = int(np.floor(len(x) / SAMPLE_RATE) - WINDOW_S) + 1
    cut = []
    for i in range(count):
        start, end = int(i * HOP), int((i + WINDOW_S) * HOP)
        if end - start == WINDOW:
            cut.append(x[start:end])
    return np.stack(cut)


def mel_filterbank() -> np.ndarray:
    """``[120, 161]``: librosa.filters.mel(sr=16000, n_fft=321, n_mels=120) (Slaney scale
    and area norm)."""
    return audio_mel_filterbank(SAMPLE_RATE, MEL_N_FFT, N_MELS)


@lru_cache(maxsize=1)
def _hann() -> np.ndarray:
    """Periodic Hann window of 321 points (scipy's ``get_window('hann', 321)``)."""
    return 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(MEL_N_FFT) / MEL_N_FFT)


def log_mel(window: np.ndarray) -> np.ndarray:
    """``[900, 120]`` float32 P.808 input for one 9.01 s window.

    The STFT frames are centred with *zero* padding: librosa's default since 0.9, which
    every librosa speechmos runs on uses (librosa 0.8 reflected, which moves P.808 by up to
    0.01 on noisy speech). ``audio.mel.power_spectrogram`` reflects, so it is not used here.
    """
    x = np.asarray(window, dtype=np.float64)[:-MEL_TRIM]
    padded = np.pad(x, MEL_N_FFT // 2)
    frames = np.lib.stride_tricks.sliding_window_view(padded, MEL_N_FFT)[::MEL_HOP]
    spectrum = np.fft.rfft(frames * _hann(), axis=1)
    mel = (spectrum.real**2 + spectrum.imag**2) @ mel_filterbank().T
    db = 10.0 * np.log10(np.maximum(mel, POWER_FLOOR)) - 10.0 * np.log10(
        max(POWER_FLOOR, float(mel.max()))
    )
    db = np.maximum(db, db.max() - TOP_DB)
    return ((db + DB_OFFSET) / DB_SCALE).astype(np.float32)


# ----------------------------------------------------------------------------- the networks


class DnsmosScorer:
    """Clips → :class:`QualityScore` on onnxruntime (CPU; one pair of sessions per instance)."""

    def __init__(self, threads: int = 1, calibration: Calibration = STANDARD) -> None:
        self.threads = max(1, int(threads))
        self.calibration = calibration
        self._p835 = _open(model_file(calibration.model), self.threads, (None, WINDOW))
        self._p808 = _open(model_file(P808_MODEL), self.threads, (None, MEL_FRAMES, N_MELS))
        self._lock = threading.Lock()  # one run at a time keeps the thread count bounded

    def score(self, samples: np.ndarray, sample_rate: int) -> QualityScore:
        """The clip's scores: the mean over its 9.01 s windows."""
        return self.score_windows(windows(prepare(samples, sample_rate)))

    def score_windows(self, cut: np.ndarray) -> QualityScore:
        """Scores of ``[windows, 144160]`` 16 kHz windows (see :func:`windows`)."""
        cut = np.ascontiguousarray(cut, dtype=np.float32)
        if cut.ndim != 2 or cut.shape[1] != WINDOW or len(cut) == 0:
            raise ValueError(f"expected windows shaped [n, {WINDOW}], got {cut.shape}")
        raw, p808 = [], []
        with self._lock:
            for i in range(0, len(cut), MAX_BATCH):
                batch = cut[i : i + MAX_BATCH]
                raw.append(self._p835.run(None, {"input_1": batch})[0])
                mels = np.stack([log_mel(w) for w in batch])
                p808.append(self._p808.run(None, {"input_1": mels})[0][:, 0])
        sig, bak, ovrl = np.concatenate(raw).astype(np.float64).T
        c = self.calibration
        return QualityScore(
            ovrl=float(np.mean(np.polyval(c.ovrl, ovrl))),
            sig=float(np.mean(np.polyval(c.sig, sig))),
            bak=float(np.mean(np.polyval(c.bak, bak))),
            p808=float(np.mean(np.concatenate(p808))),
        )


def _open(path: Path, threads: int, shape: tuple[int | None, ...]):
    """A CPU session for ``path``, refused with a message when it is not the expected network."""
    import onnxruntime as ort

    from voicestudio.runtime import session_options

    try:
        session = ort.InferenceSession(
            str(path), sess_options=session_options(threads), providers=["CPUExecutionProvider"]
        )
    except Exception as exc:  # a truncated or foreign file: onnxruntime raises its own types
        raise DnsmosUnavailableError(
            f"cannot load the DNSMOS model {path}: {str(exc).splitlines()[0][:200]}; "
            f"reinstall it with: {INSTALL_HINT}"
        ) from exc
    inputs = session.get_inputs()
    fixed = (
        [d if isinstance(d, int) else None for d in inputs[0].shape] if len(inputs) == 1 else None
    )
    if fixed is None or inputs[0].name != "input_1" or fixed[1:] != list(shape[1:]):
        raise DnsmosUnavailableError(
            f"{path} is not the DNSMOS network VoiceStudio expects "
            f"(input {[(i.name, i.shape) for i in inputs]}); "
            f"install the supported version with: {INSTALL_HINT}"
        )
    return session


def default_scorer(threads: int | None = None) -> DnsmosScorer:
    """One shared scorer per process (loading takes ~0.1 s); asking for another thread
    count replaces it."""
    global _default
    with _default_lock:
        if _default is None or (threads is not None and max(1, threads) != _default.threads):
            _default = DnsmosScorer(threads=threads or 1)
        return _default


def dnsmos(
    samples: np.ndarray, sample_rate: int, scorer: DnsmosScorer | None = None
) -> QualityScore:
    """DNSMOS of one clip (mono or frames × channels float samples at any rate)."""
    return (scorer or default_scorer()).score(samples, sample_rate)


def mean_quality(
    clips: Iterable[Audio | tuple[np.ndarray, int]], scorer: DnsmosScorer | None = None
) -> QualityScore:
    """The per-clip scores averaged, each clip weighing the same whatever its length (as
    DNSMOS results are reported: the mean over a test set's files)."""
    scorer = scorer or default_scorer()
    scores = [
        scorer.score(*((c.samples, c.sample_rate) if isinstance(c, Audio) else c)) for c in clips
    ]
    if not scores:
        raise ValueError("mean_quality() needs at least one clip")
    return QualityScore(
        ovrl=float(np.mean([s.ovrl for s in scores])),
        sig=float(np.mean([s.sig for s in scores])),
        bak=float(np.mean([s.bak for s in scores])),
        p808=float(np.mean([s.p808 for s in scores])),
    )
