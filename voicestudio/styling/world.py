"""WORLD analysis and resynthesis (pyworld) with the styling edits in between.

F0 comes from RAPT (pysptk) refined by WORLD's StoneMask. Measured on the base
voice (the F0-tracker table of `make bench`): DIO puts most voiced frames an octave
too high, and Harvest, several times slower than RAPT, still doubles about a third
of them (Praat's tracker agrees with RAPT); a WORLD resynthesis from RAPT's contour
is the closest to the model's own output (lowest log-spectral distance). Harvest
and DIO stay selectable. A few frames RAPT reads an octave off the pitch around them
(a glottal irregularity) are folded back before the envelopes are taken: resynthesized
as read, they chirp.
SPTK's RAPT (pysptk 1.0.1) is not a pure function: a sentence's contour can depend on what
was tracked before it in the process (after two different sequences of earlier calls, a
sentence's 526 frames differed by 7 to 30 st on about 1 % of the voiced ones and in voicing
on 2, the rest within 0.01 st; neither a call on silence nor one on a tone resets it, which
suggests memory the C code reads before writing it), so analyses, and what WORLD makes from
them, reproduce to that level.
The per-frame steps run in threads (pyworld releases the GIL): CheapTrick and D4C
over halves of the frame sequence, synthesis in two halves joined at an unvoiced
frame, and Harvest over overlapping halves of the signal.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

with warnings.catch_warnings():
    # pyworld imports pkg_resources only for its version; setuptools 80 warns about that
    # on every start, which would land on the CLI's stderr.
    warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)
    import pysptk
    import pyworld as pw

from voicestudio.styling.controls import StyleParams
from voicestudio.threads import world_threads

FRAME_PERIOD_MS = 5.0  # nominal; the exact period is a whole number of samples (see frame_hop)
F0_FLOOR_HZ = 55.0
F0_CEIL_HZ = 600.0
#: CheapTrick's window is 3 periods of its floor; 65 Hz gives a 1024-point FFT at 22.05 kHz,
#: half the synthesis cost of Harvest's 55 Hz floor (lower F0s are rare and still handled).
ENVELOPE_FLOOR_HZ = 65.0
F0_METHODS = ("rapt", "harvest", "dio")
#: RAPT needs a few frames of signal; anything shorter is analysed with Harvest.
_MIN_RAPT_S = 0.1
#: Context kept on each side of a split point so Harvest's smoothing sees the same signal.
_SPLIT_CONTEXT_S = 0.3
_MIN_SPLIT_S = 2.0
#: D4C runs on every n-th frame (see _aperiodicity).
APERIODICITY_STEP = 3
#: Breathiness 1.0 keeps this share of the periodic (voiced) excitation.
_BREATHY_PERIODIC_FLOOR = 0.1

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _executor() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=analysis_workers(), thread_name_prefix="world")
        return _pool


def analysis_workers() -> int:
    return world_threads()


class WorldAnalysis:
    """F0 contour, spectral envelope and aperiodicity of one utterance (read-only: analyses
    are shared between render threads). Each part is taken when first asked for (once,
    whichever thread asks): an unstyled line needs neither, a pitch move by overlap-add (the
    sliders, a calibration, a performance's intonation) only the pitch, and the envelopes
    are three quarters of the cost. Not to be first asked for from a task of this module's
    own thread pool, which takes them."""

    __slots__ = ("_pitch", "_f0", "_t", "_sample_rate", "_frame_period_ms", "_envelopes",
                 "_sp_ap", "_pitch_lock", "_lock")

    def __init__(self, pitch: Callable[[], tuple[np.ndarray, np.ndarray]],
                 envelopes: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]],
                 sample_rate: int, frame_period_ms: float) -> None:
        """``pitch``: the F0 contour and its frame times; ``envelopes``: the spectral
        envelope and aperiodicity for that contour."""
        self._pitch: Callable[[], tuple[np.ndarray, np.ndarray]] | None = pitch
        self._f0: np.ndarray | None = None
        self._t: np.ndarray | None = None
        self._sample_rate = sample_rate
        self._frame_period_ms = frame_period_ms
        self._envelopes: Callable[[np.ndarray, np.ndarray],
                                  tuple[np.ndarray, np.ndarray]] | None = envelopes
        self._sp_ap: tuple[np.ndarray, np.ndarray] | None = None
        self._pitch_lock = threading.Lock()  # never held while waiting for ``_lock``
        self._lock = threading.Lock()

    @property
    def f0(self) -> np.ndarray:
        with self._pitch_lock:
            if self._f0 is None:
                assert self._pitch is not None
                _not_from_the_pool()
                self._f0, self._t = self._pitch()
                self._pitch = None  # the samples it holds are no longer needed by it
            return self._f0

    @property
    def sample_rate(self) -> int:
        return self._sample_rate

    @property
    def frame_period_ms(self) -> float:
        return self._frame_period_ms

    @property
    def voiced(self) -> np.ndarray:
        return self.f0 > 0

    @property
    def sp(self) -> np.ndarray:
        return self._taken()[0]

    @property
    def ap(self) -> np.ndarray:
        return self._taken()[1]

    @property
    def has_pitch(self) -> bool:
        return self._f0 is not None

    @property
    def has_envelopes(self) -> bool:
        return self._sp_ap is not None

    def _taken(self) -> tuple[np.ndarray, np.ndarray]:
        with self._lock:
            if self._sp_ap is None:
                _not_from_the_pool()
                f0 = self.f0
                assert self._envelopes is not None and self._t is not None
                self._sp_ap = self._envelopes(f0, self._t)
                self._envelopes = None  # the samples it holds are no longer needed
            return self._sp_ap


def _not_from_the_pool() -> None:
    assert not threading.current_thread().name.startswith("world"), \
        "an analysis first asked for from the pool that takes it"


def frame_hop(sample_rate: int) -> int:
    """Samples per analysis frame: RAPT needs a whole number, so every tracker uses the same."""
    return int(round(sample_rate * FRAME_PERIOD_MS / 1000.0))


def analyze(
    samples: np.ndarray,
    sample_rate: int,
    method: str = "rapt",
    f0_floor: float = F0_FLOOR_HZ,
    f0_ceil: float = F0_CEIL_HZ,
    fold_slips: bool = True,
    envelopes_now: bool = True,
    pitch_now: bool = True,
) -> WorldAnalysis:
    """``fold_slips``: with RAPT, fold its octave slips (:func:`folded_octave_slips`) before
    and after StoneMask, before the envelopes are taken (the other trackers slip too often
    for the pitch around a frame to tell: DIO doubles most frames). ``envelopes_now`` and
    ``pitch_now``: take those parts here, else when first asked for (a line synthesized
    once or performed, whose pitch may be moved by overlap-add and never need the
    envelopes; the preview's lines, which an unstyled render needs neither part of and
    which :mod:`voicestudio.voice.preview` makes ready in the background)."""
    if method not in F0_METHODS:
        raise ValueError(f"F0 method must be one of {F0_METHODS}")
    x = np.ascontiguousarray(samples, dtype=np.float64)

    def pitch() -> tuple[np.ndarray, np.ndarray]:
        f0, t = _f0(x, sample_rate, method, f0_floor, f0_ceil)
        fold = fold_slips and method == "rapt"
        if fold:
            f0 = folded_octave_slips(f0)
        if method in ("rapt", "dio"):  # StoneMask sharpens these coarse contours; not Harvest's

            def refined(a: int, b: int) -> np.ndarray:
                return pw.stonemask(x, np.ascontiguousarray(f0[a:b]),
                                    np.ascontiguousarray(t[a:b]), sample_rate)

            parts = _frame_splits(len(f0), analysis_workers())
            f0 = np.concatenate(list(_executor().map(lambda ab: refined(*ab), parts)))
            if fold:  # StoneMask can lead a folded frame back to the slip
                f0 = folded_octave_slips(f0)
        return f0, t

    fft_size = pw.get_cheaptrick_fft_size(sample_rate, max(f0_floor, ENVELOPE_FLOOR_HZ))

    def envelopes(f0: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        def envelope(a: int, b: int) -> tuple[np.ndarray, np.ndarray]:
            f0_part, t_part = np.ascontiguousarray(f0[a:b]), np.ascontiguousarray(t[a:b])
            sp = pw.cheaptrick(
                x,
                f0_part,
                t_part,
                sample_rate,
                f0_floor=max(f0_floor, ENVELOPE_FLOOR_HZ),
                fft_size=fft_size,
            )
            return sp, _aperiodicity(x, f0_part, t_part, sample_rate, fft_size)

        parts = _frame_splits(len(f0), analysis_workers())
        results = list(_executor().map(lambda ab: envelope(*ab), parts))
        sp, ap = (np.concatenate([r[i] for r in results]) for i in range(2))
        return sp, ap

    analysis = WorldAnalysis(pitch, envelopes, sample_rate,
                             frame_hop(sample_rate) * 1000.0 / sample_rate)
    if pitch_now or envelopes_now:
        analysis.f0  # noqa: B018 - taken now, on this thread
    if envelopes_now:
        analysis.sp  # noqa: B018 - taken now, on this thread
    return analysis


#: A voiced frame this far (semitones) from the median of the voiced frames around it
#: (``SLIP_CONTEXT_FRAMES`` on each side, about 50 ms) is the tracker's octave slip, not
#: intonation: RAPT reads a glottal irregularity of the voice double or half for a few
#: frames, and a resynthesis from that contour chirps an octave off. In the bundled voice's
#: renderings of 26 sentences, 0.31 % of the voiced frames, on 8 of the 26. A slip also
#: stands further from the whole line's median than the pitch around it: at a voiced
#: stretch's edge, where a run of slipped frames can outnumber the right ones around a
#: frame, the right ones stay. By design a real jump of more than 9 st within about 50 ms
#: away from the line's median would be folded too; none was seen in the voice's renderings.
OCTAVE_SLIP_ST = 9.0
SLIP_CONTEXT_FRAMES = 10


def folded_octave_slips(f0: np.ndarray) -> np.ndarray:
    """A float64 copy of ``f0`` (Hz, 0 unvoiced) with each octave slip folded by whole
    octaves toward the pitch around it; real movement (a glide of several semitones over
    tens of ms) stays."""
    out = np.array(f0, dtype=np.float64)
    voiced = out > 0
    if voiced.sum() < 3:
        return out
    st = np.full(len(out), np.nan)
    st[voiced] = 12.0 * np.log2(out[voiced])
    k = SLIP_CONTEXT_FRAMES
    windows = np.lib.stride_tricks.sliding_window_view(
        np.pad(st, k, constant_values=np.nan), 2 * k + 1)[voiced]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        around = np.nanmedian(windows, axis=1)
    off = st[voiced] - around
    line = np.median(st[voiced])
    slip = (np.abs(off) > OCTAVE_SLIP_ST) & (np.abs(st[voiced] - line) > np.abs(around - line))
    frames = np.flatnonzero(voiced)[slip]
    out[frames] /= 2.0 ** np.round(off[slip] / 12.0)
    return out


def track_f0(samples: np.ndarray, sample_rate: int, method: str = "rapt",
             f0_floor: float = F0_FLOOR_HZ, f0_ceil: float = F0_CEIL_HZ) -> np.ndarray:
    """F0 alone (Hz per frame of :func:`frame_hop`, 0 unvoiced), without the envelopes:
    a tenth of :func:`analyze`'s cost, for measuring rather than resynthesizing."""
    if method not in F0_METHODS:
        raise ValueError(f"F0 method must be one of {F0_METHODS}")
    x = np.ascontiguousarray(samples, dtype=np.float64)
    f0, t = _f0(x, sample_rate, method, f0_floor, f0_ceil)
    if method in ("rapt", "dio"):
        f0 = pw.stonemask(x, np.ascontiguousarray(f0), np.ascontiguousarray(t), sample_rate)
    return f0


def _aperiodicity(
    x: np.ndarray, f0: np.ndarray, t: np.ndarray, fs: int, fft_size: int
) -> np.ndarray:
    """D4C on every ``APERIODICITY_STEP``-th frame, linearly interpolated in between.

    D4C is the costliest analysis step (about the speaker model's own time) and
    aperiodicity moves slowly: on the base voice a 3-frame step left the
    resynthesis' log-spectral distance unchanged (5.105 vs 5.105 dB) at a third of the cost.
    """
    n = len(f0)
    keep = np.arange(0, n, APERIODICITY_STEP)
    if keep[-1] != n - 1:
        keep = np.append(keep, n - 1)
    coarse = pw.d4c(
        x, np.ascontiguousarray(f0[keep]), np.ascontiguousarray(t[keep]), fs, fft_size=fft_size
    )
    if len(keep) == n:
        return coarse
    pos = np.interp(np.arange(n), keep, np.arange(len(keep)))
    i0 = np.floor(pos).astype(int)
    i1 = np.minimum(i0 + 1, len(keep) - 1)
    w = (pos - i0)[:, None]
    return (1.0 - w) * coarse[i0] + w * coarse[i1]


def _frame_splits(n: int, parts: int) -> list[tuple[int, int]]:
    edges = np.linspace(0, n, max(1, min(parts, n)) + 1).astype(int)
    return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:], strict=True) if b > a]


def _f0(
    x: np.ndarray, fs: int, method: str, floor: float, ceil: float
) -> tuple[np.ndarray, np.ndarray]:
    hop = frame_hop(fs)
    period_ms = hop * 1000.0 / fs
    n_frames = len(x) // hop + 1
    t = np.arange(n_frames) * hop / fs
    if method == "rapt" and len(x) >= _MIN_RAPT_S * fs:
        # RAPT expects 16-bit-scaled samples; its frame i is centred on sample i*hop.
        f0 = pysptk.rapt((x * 32767.0).astype(np.float32), fs, hop, min=floor, max=ceil, otype="f0")
        return np.pad(np.asarray(f0, dtype=np.float64), (0, max(0, n_frames - len(f0))))[
            :n_frames
        ], t
    if method == "dio":
        return pw.dio(x, fs, f0_floor=floor, f0_ceil=ceil, frame_period=period_ms)
    workers = analysis_workers()
    if workers < 2 or len(x) < _MIN_SPLIT_S * fs:
        f0, _ = pw.harvest(x, fs, f0_floor=floor, f0_ceil=ceil, frame_period=period_ms)
        return np.pad(f0, (0, max(0, n_frames - len(f0))))[:n_frames], t
    # Harvest over overlapping segments in parallel, each keeping only its own frames.
    context = int(_SPLIT_CONTEXT_S * fs / hop)

    def segment(ab: tuple[int, int]) -> np.ndarray:
        a, b = ab
        lo, hi = max(0, a - context), min(n_frames, b + context)
        start = lo * hop
        stop = min(len(x), hi * hop + 1)
        f0_seg, _ = pw.harvest(
            np.ascontiguousarray(x[start:stop]),
            fs,
            f0_floor=floor,
            f0_ceil=ceil,
            frame_period=period_ms,
        )
        f0_seg = np.pad(f0_seg, (0, max(0, hi - lo - len(f0_seg))))
        return f0_seg[a - lo: b - lo]

    pieces = list(_executor().map(segment, _frame_splits(n_frames, workers)))
    return np.ascontiguousarray(np.concatenate(pieces)), t


@dataclass(frozen=True)
class FrameEdits:
    """Per-frame changes on top of the whole-utterance styling: markup spans asking one part of
    a sentence to be slower (``rate`` below 1), higher (``pitch_st``) or louder (``gain_db``).
    One value per analysis frame."""

    rate: np.ndarray
    pitch_st: np.ndarray
    gain_db: np.ndarray

    @property
    def retimes(self) -> bool:
        """Whether any frame is played slower or faster."""
        return bool(np.any(np.abs(self.rate - 1.0) > 1e-9))

    def output_frames(self, speed: float) -> np.ndarray:
        """Where each frame boundary lands in the output, in output frames (length n + 1)."""
        return np.concatenate([[0.0], np.cumsum(1.0 / (self.rate * speed))])


def render(analysis: WorldAnalysis, params: StyleParams, edits: FrameEdits | None = None
           ) -> np.ndarray:
    """Apply pitch, range, speed, tilt, breathiness and voicing (and a span's ``edits``);
    resynthesize (float32)."""
    f0 = shift_f0(analysis.f0, params.pitch_st, params.pitch_range)
    sp, ap = analysis.sp, analysis.ap
    if edits is not None:
        f0 = np.where(f0 > 0, f0 * 2.0 ** (edits.pitch_st / 12.0), f0)
        sp = sp * (10.0 ** (edits.gain_db / 10.0))[:, None]  # sp is a power spectrum
        f0, sp, ap = _frames_at(f0, sp, ap, _positions(edits.output_frames(params.speed)))
    elif abs(params.speed - 1.0) > 1e-6:
        f0, sp, ap = _retime(f0, sp, ap, params.speed)
    if abs(params.tilt_db_per_octave) > 1e-6:
        sp = sp * _tilt_gain(sp.shape[1], analysis.sample_rate, params.tilt_db_per_octave)
    if params.breathiness > 0 or params.voicing < 1:
        periodic = (1.0 - (1.0 - _BREATHY_PERIODIC_FLOOR) * params.breathiness) * params.voicing
        ap = 1.0 - (1.0 - ap) * periodic
    return _synthesize(f0, sp, ap, analysis.sample_rate, analysis.frame_period_ms)


def _positions(boundaries: np.ndarray) -> np.ndarray:
    """Source frame positions of each output frame, given where source boundaries land."""
    n = len(boundaries) - 1
    m = max(1, int(round(boundaries[-1])))
    return np.minimum(np.interp(np.arange(m), boundaries, np.arange(n + 1)), n - 1)


def warp_envelope(sp: np.ndarray, factor: float) -> np.ndarray:
    """A spectral envelope with every formant moved by ``factor`` (the frequency axis
    stretched: the envelope at f becomes the old one at f / factor)."""
    bins = sp.shape[1]
    source = np.arange(bins) / factor
    lower = np.clip(np.floor(source).astype(int), 0, bins - 1)
    upper = np.clip(lower + 1, 0, bins - 1)
    weight = np.clip(source - lower, 0.0, 1.0)[None, :]
    return np.ascontiguousarray((1.0 - weight) * sp[:, lower] + weight * sp[:, upper])


def synthesize(
    f0: np.ndarray, sp: np.ndarray, ap: np.ndarray, fs: int, period_ms: float
) -> np.ndarray:
    """WORLD synthesis of edited parameters (see :func:`_synthesize`)."""
    return _synthesize(f0, sp, ap, fs, period_ms)


def _synthesize(
    f0: np.ndarray, sp: np.ndarray, ap: np.ndarray, fs: int, period_ms: float
) -> np.ndarray:
    """WORLD synthesis, in two threads when an unvoiced frame near the middle allows a seam.

    At an unvoiced frame there is no pulse phase to keep, so two halves synthesized
    independently and cross-faded there are indistinguishable from one pass.
    """
    def run(a: int, b: int) -> np.ndarray:
        return pw.synthesize(np.ascontiguousarray(f0[a:b]), np.ascontiguousarray(sp[a:b]),
                             np.ascontiguousarray(ap[a:b]), fs, period_ms)

    n = len(f0)
    seam = _seam(f0) if analysis_workers() > 1 else None
    if seam is None:
        return run(0, n).astype(np.float32)
    hop = fs * period_ms / 1000.0
    a_end, b_start = min(n, seam + _SEAM_CONTEXT), max(0, seam - _SEAM_CONTEXT)
    left, right = _executor().map(lambda ab: run(*ab), [(0, a_end), (b_start, n)])
    offset = int(round(b_start * hop))
    fade_lo, fade_hi = int(round((seam - _SEAM_FADE) * hop)), int(round((seam + _SEAM_FADE) * hop))
    total = offset + len(right)
    out = np.zeros(total, dtype=np.float64)
    out[:fade_lo] = left[:fade_lo]
    out[fade_hi:] = right[fade_hi - offset:]
    ramp = np.linspace(0.0, 1.0, fade_hi - fade_lo, endpoint=False)
    out[fade_lo:fade_hi] = (1 - ramp) * left[fade_lo:fade_hi] + ramp * right[
        fade_lo - offset : fade_hi - offset
    ]
    return out.astype(np.float32)


_SEAM_CONTEXT = 16  # frames each half synthesizes beyond the seam
_SEAM_FADE = 4  # frames cross-faded on each side of the seam
_MIN_SEAM_FRAMES = 200  # below ~1 s one thread is quicker than two


def _seam(f0: np.ndarray) -> int | None:
    """An unvoiced frame (with unvoiced neighbours) nearest the middle, or None."""
    n = len(f0)
    if n < _MIN_SEAM_FRAMES:
        return None
    unvoiced = f0 <= 0
    ok = unvoiced.copy()
    for k in range(1, _SEAM_FADE + 1):
        ok[k:] &= unvoiced[:-k]
        ok[:-k] &= unvoiced[k:]
    candidates = np.flatnonzero(ok[n // 4: 3 * n // 4]) + n // 4
    if candidates.size == 0:
        return None
    return int(candidates[np.argmin(np.abs(candidates - n // 2))])


def shift_f0(f0: np.ndarray, semitones: float, spread: float) -> np.ndarray:
    """The pitch control and the range control: ``f0`` moved by ``semitones`` and its
    excursions around its median scaled by ``spread``."""
    f0 = f0.copy()
    voiced = f0 > 0
    if not voiced.any() or (semitones == 0 and spread == 1.0):
        return f0
    log_f0 = np.log(f0[voiced])
    center = np.median(log_f0)  # robust to the odd octave slip of the tracker
    log_f0 = center + spread * (log_f0 - center) + semitones * np.log(2.0) / 12.0
    f0[voiced] = np.clip(np.exp(log_f0), 30.0, 1200.0)
    return f0


def _retime(f0: np.ndarray, sp: np.ndarray, ap: np.ndarray, speed: float):
    """Resample the frame sequence: ``speed`` 2 plays twice as fast at the same pitch."""
    n = len(f0)
    m = max(1, int(round(n / speed)))
    return _frames_at(f0, sp, ap, np.minimum(np.arange(m) * speed, n - 1))


def _frames_at(f0: np.ndarray, sp: np.ndarray, ap: np.ndarray, pos: np.ndarray):
    """The frames at (fractional) source positions ``pos``: envelopes interpolated linearly,
    F0 on a log scale between voiced frames, else the nearer frame's."""
    n = len(f0)
    i0 = np.floor(pos).astype(int)
    i1 = np.minimum(i0 + 1, n - 1)
    w = (pos - i0)[:, None]
    sp_new = (1 - w) * sp[i0] + w * sp[i1]
    ap_new = (1 - w) * ap[i0] + w * ap[i1]
    w1 = w[:, 0]
    both = (f0[i0] > 0) & (f0[i1] > 0)
    nearest = np.where(w1 < 0.5, f0[i0], f0[i1])
    f0_new = np.where(
        both,
        np.exp((1 - w1) * np.log(np.maximum(f0[i0], 1e-3)) + w1 * np.log(np.maximum(f0[i1], 1e-3))),
        nearest,
    )
    return f0_new, sp_new, ap_new


def _tilt_gain(bins: int, sample_rate: int, db_per_octave: float) -> np.ndarray:
    """Power gain per FFT bin: ``db_per_octave`` around 1 kHz, flat below 125 Hz."""
    freqs = np.maximum(np.linspace(0, sample_rate / 2, bins), 125.0)
    gain_db = db_per_octave * np.log2(freqs / 1000.0)
    return (10.0 ** (gain_db / 10.0))[None, :]
