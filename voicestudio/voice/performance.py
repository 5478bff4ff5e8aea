"""Reading a performance: when its words are spoken, its intonation and its loudness.

A performance is a recording of a line by anyone (the user, an actor, an old take) that a
voice is to deliver the same way. What the transfer needs from it is read here, in units that
do not depend on who performed it: word times (forced alignment, ``audio.aligner``), pitch in
semitones around the performer's own median, and level in dB around the performance's own
speech level. A recording that cannot give that (too short, silent, clipped, noisy, another
text) is refused with the take checks' reasons, never read halfway.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from voicestudio.audio.aligner import AlignedWord, AlignmentError, align_words, quiet_line_db
from voicestudio.audio.checks import CheckConfig, TakeOrigin, check_reading, check_take
from voicestudio.audio.cleanup import InvalidAudioError, prepare_samples
from voicestudio.audio.io import read_audio, resample
from voicestudio.audio.recognizer import transcribe
from voicestudio.audio.spectral_align import FRAME_S as SPECTRAL_FRAME_S
from voicestudio.audio.spectral_align import RATE, spectral_features
from voicestudio.audio.take_report import CheckResult, TakeReport
from voicestudio.errors import VoiceStudioError
from voicestudio.styling.world import track_f0
from voicestudio.text.compare import error_rate_text
from voicestudio.text.say_as import cardinal_words, year_words
from voicestudio.text.words import written_words

#: The analysis rate and frame step are the spectral features' (one frame for all contours).
ANALYSIS_RATE, FRAME_S = RATE, SPECTRAL_FRAME_S
#: Level frames are this long, centred on each 5 ms frame: one pitch period of a low voice
#: and then some, so a level contour does not ripple with the voice's own periods.
LEVEL_WINDOW_S = 0.02
#: Voiced runs shorter than this are tracker blips (a creak, a plosive's burst), not pitch.
MIN_VOICED_S = 0.03
#: Within a voiced run, a step larger than this from one 5 ms frame to the next is a
#: tracker error (an octave jump), not intonation: the fastest real glides move about
#: 1 st per frame. Runs are cut there into pieces.
JUMP_ST = 4.0
#: A voiced piece of at most ``SLIP_MAX_S`` lying more than ``SLIP_ST`` from the pitch
#: within ``SLIP_CONTEXT_S`` around it is both trackers' octave slip (creak at a line's end
#: read double), not intonation: a pitch accent lasts longer or stands less far off. At
#: 9 st the rule also dropped real accents of LJ Speech (F0 correlation 0.91 -> 0.82 on
#: LJ001-0010 in benchmarks/perform.py); at 11 st it keeps them and still drops the slip.
SLIP_ST = 11.0
SLIP_MAX_S = 0.15
SLIP_CONTEXT_S = 0.5
#: Two trackers agreeing this closely (semitones) on a frame make its F0 trustworthy.
AGREE_ST = 1.5
#: Light smoothing within each voiced run: a median over 25 ms removes single-frame jitter,
#: then a 25 ms triangular average rounds the steps of the median.
SMOOTH_FRAMES = 5
#: ``range_st`` is the spread between these percentiles of the pitch contour.
RANGE_PERCENTILES = (10.0, 90.0)


class PerformanceError(VoiceStudioError):
    """A performance recording cannot be used; ``problems`` holds the failed checks."""

    def __init__(self, message: str, problems: tuple[CheckResult, ...] = ()):
        super().__init__(message)
        self.problems = problems


@dataclass(frozen=True, eq=False)
class Performance:
    """What a performance says about its delivery. Frame ``i`` of the contours is centred on
    ``i * frame_s`` seconds; times are seconds in the recording given.

    ``pitch_st``: semitones relative to ``median_hz``, NaN where unvoiced or unreliable.
    ``level_db``: dB relative to the median level of the active speech, NaN in silence
    (outside the words, and quiet frames inside them). ``warnings`` are the take checks'
    messages that did not stop the reading (a quiet level, a clip trimmed tight)."""

    duration: float
    words: tuple[AlignedWord, ...]
    frame_s: float
    pitch_st: np.ndarray
    level_db: np.ndarray
    median_hz: float
    range_st: float
    warnings: tuple[str, ...] = ()
    #: Spectral features per frame (``audio.spectral_align``), for lining up its sounds
    #: inside each word; None: the words' times only.
    features: np.ndarray | None = None

    def frame_times(self) -> np.ndarray:
        return np.arange(len(self.pitch_st)) * self.frame_s


def read_performance_file(
    path: str | Path, text: str, origin: TakeOrigin = TakeOrigin.FILE
) -> Performance:
    """:func:`read_performance` of an audio file (AudioFileError when it cannot be read)."""
    audio = read_audio(path)
    return read_performance(audio.samples, audio.sample_rate, text, origin)


def read_performance(
    samples: np.ndarray,
    sample_rate: int,
    text: str,
    origin: TakeOrigin = TakeOrigin.FILE,
    config: CheckConfig | None = None,
) -> Performance:
    """Read a performance of ``text`` (mono or frames × channels floats in [-1, 1]).

    The take checks run first; a failed check, or a recording that does not read ``text``,
    raises :class:`PerformanceError` with the reasons in words to act on.
    """
    if not written_words(text):
        raise PerformanceError("The line to perform has no words: type the text it speaks.")
    config = config or CheckConfig()
    try:
        mono = prepare_samples(samples, sample_rate)
    except InvalidAudioError as exc:
        raise PerformanceError(f"This performance cannot be used: {exc}.") from exc
    seconds = len(mono) / sample_rate
    if seconds < config.min_speech_fail_s:
        raise PerformanceError(
            f"Too short: the performance lasts only {seconds:.2f} s; record the whole line."
        )
    report = _checked(samples, sample_rate, text, config, origin)
    try:
        words = align_words(mono, sample_rate, text)
    except AlignmentError as exc:
        raise PerformanceError(f"This performance cannot be used: {exc}") from exc

    x = resample(mono, int(sample_rate), ANALYSIS_RATE)
    hop = int(round(FRAME_S * ANALYSIS_RATE))
    f0 = agreed_f0(x, ANALYSIS_RATE)
    n = len(f0)
    levels = frame_levels_db(x, hop, n)
    inside = words_mask(words, n, FRAME_S)
    active = inside & (levels >= quiet_line_db(levels))
    if not active.any():
        raise PerformanceError("No speech found in the performance's words: record it again.")

    pitch_st, median_hz = pitch_contour(f0, active, FRAME_S)
    if not math.isfinite(median_hz):
        raise PerformanceError(
            "No voiced speech found in the performance (whispered or noise): perform the line "
            "aloud."
        )
    level_db = np.where(active, levels - np.median(levels[active]), np.nan)
    voiced = pitch_st[np.isfinite(pitch_st)]
    low, high = np.percentile(voiced, RANGE_PERCENTILES)
    return Performance(
        duration=seconds,
        words=tuple(words),
        frame_s=FRAME_S,
        pitch_st=pitch_st,
        level_db=level_db,
        median_hz=median_hz,
        range_st=float(high - low),
        warnings=tuple(c.message for c in report.problems),
        features=spectral_features(x, ANALYSIS_RATE),
    )


# ---------------------------------------------------------------- the checks


def _checked(
    samples: np.ndarray, sample_rate: int, text: str, config: CheckConfig, origin: TakeOrigin
) -> TakeReport:
    """The take checks, then the reading check; raises PerformanceError on a failure.

    The signal checks run before the recognizer: a clipped or noisy recording is refused for
    that (what the user must fix) without the recognizer's garbled hearing of it.
    """
    report = check_take(samples, sample_rate, None, config, origin)
    failed = [c for c in report.checks if c.verdict == "fail"]
    if failed:
        speechless = [c for c in failed if c.name == "speech"
                      or (c.name == "level" and c.value is None)]
        # Without speech the other figures (duration, SNR) only restate it, misleadingly.
        shown = tuple(speechless or failed)
        raise PerformanceError(
            "This performance cannot be used: " + " ".join(c.message for c in shown), shown
        )
    reading = _reading(samples, sample_rate, text, config, report)
    if reading is not None:
        report.checks.append(reading)
        if reading.verdict != "pass":
            raise PerformanceError(
                f"The performance does not read the line: the recognizer heard "
                f"“{report.asr_text or '(nothing)'}” ({error_rate_text(reading.value)}). "
                f"Record the line as written.",
                (reading,),
            )
    return report


def _reading(
    samples: np.ndarray, sample_rate: int, text: str, config: CheckConfig, report: TakeReport
) -> CheckResult | None:
    """The take checks' reading check on the speech span, against the text as spoken
    (numbers in words, as the recognizer writes them). None without a recognizer."""
    mono = prepare_samples(samples, sample_rate)
    if report.speech_start_s is not None and report.speech_end_s is not None:
        mono = mono[int(report.speech_start_s * sample_rate):int(report.speech_end_s * sample_rate)]
    try:
        heard = transcribe(mono, sample_rate)
    except ImportError:  # pocketsphinx missing from a broken install: alignment fails later
        return None
    report.asr_text = heard
    return check_reading(heard, spoken_text(text), config)


_NUMBER = re.compile(r"\d{1,3}(?:,\d{3})+|\d+")


def spoken_text(text: str) -> str:
    """``text`` with its numbers in words, as a recognizer writes what it hears ("1984" →
    "nineteen eighty-four", "5" → "five", "12,000" → "twelve thousand"); a four-digit number
    written without a group comma is read as a year."""

    def words(match: re.Match[str]) -> str:
        written = match.group()
        digits = written.replace(",", "")
        if len(digits) > 15:
            return written
        number = int(digits)
        return year_words(number) if len(written) == 4 and number >= 1000 else cardinal_words(
            number)

    return _NUMBER.sub(words, text)


# ---------------------------------------------------------------- contours


def frame_levels_db(x: np.ndarray, hop: int, n_frames: int, rate: int = ANALYSIS_RATE
                    ) -> np.ndarray:
    """RMS level in dB of a ``LEVEL_WINDOW_S`` window centred on each frame ``i * hop``
    (``x`` at ``rate``): the one level measure for a performance and for the voice it is
    compared with."""
    half = int(round(LEVEL_WINDOW_S * rate / 2))
    energy = np.concatenate([[0.0], np.cumsum(np.asarray(x, np.float64) ** 2)])
    centres = np.arange(n_frames) * hop
    lo = np.clip(centres - half, 0, len(x))
    hi = np.clip(centres + half, 0, len(x))
    power = (energy[hi] - energy[lo]) / np.maximum(hi - lo, 1)
    return 10.0 * np.log10(np.maximum(power, 1e-10))


def words_mask(words: list[AlignedWord] | tuple[AlignedWord, ...], n_frames: int,
               frame_s: float) -> np.ndarray:
    """True for the frames whose centre lies inside a word."""
    times = np.arange(n_frames) * frame_s
    inside = np.zeros(n_frames, dtype=bool)
    for word in words:
        inside |= (times >= word.start) & (times < word.end)
    return inside


def agreed_f0(x: np.ndarray, rate: int) -> np.ndarray:
    """F0 where two trackers of different kinds agree (RAPT, time-domain autocorrelation;
    Harvest, instantaneous frequency) within ``AGREE_ST``, else 0: one tracker's octave slip
    or false voicing is not the performance's intonation. On the eight shared performances
    the two disagreed by more than 6 semitones on 0.4–6 % of the frames both found voiced."""
    rapt = track_f0(x, rate, "rapt")
    harvest = track_f0(x, rate, "harvest")
    harvest = np.pad(harvest, (0, max(0, len(rapt) - len(harvest))))[:len(rapt)]
    both = (rapt > 0) & (harvest > 0)
    agree = np.zeros(len(rapt), bool)
    agree[both] = np.abs(12.0 * np.log2(rapt[both] / harvest[both])) <= AGREE_ST
    return np.where(agree, rapt, 0.0)


def pitch_contour(f0_hz: np.ndarray, usable: np.ndarray, frame_s: float
                  ) -> tuple[np.ndarray, float]:
    """(semitones relative to the median, median in Hz) of an F0 track (0 = unvoiced).

    Only ``usable`` frames count (inside words, above the pauses' level). Pieces of voicing
    shorter than ``MIN_VOICED_S`` are dropped (``f0_hz`` comes from :func:`agreed_f0`, so
    one tracker's octave slip is already gone), and so are short pieces both trackers got an
    octave wrong (:func:`_without_slips`); then each piece is lightly smoothed. The median
    is NaN when nothing is voiced.
    """
    f0 = np.asarray(f0_hz, dtype=np.float64)
    min_frames = int(round(MIN_VOICED_S / frame_s))
    voiced = (f0 > 0) & np.asarray(usable, dtype=bool)
    st = np.full(len(f0), np.nan)
    st[voiced] = 12.0 * np.log2(f0[voiced])
    for a, b in _pieces(st):
        if b - a < min_frames:
            st[a:b] = np.nan
    if not np.isfinite(st).any():
        return st, math.nan
    offset = float(np.nanmedian(st))
    st = _without_slips(st - offset, frame_s)
    smooth = np.full(len(st), np.nan)
    for a, b in _pieces(st):
        smooth[a:b] = _smooth(st[a:b], SMOOTH_FRAMES)
    centre = float(np.nanmedian(smooth))
    return smooth - centre, float(2.0 ** ((offset + centre) / 12.0))


def _without_slips(st: np.ndarray, frame_s: float) -> np.ndarray:
    """``st`` without short pieces lying an octave-ish off the pitch around them (creak at a
    line's end read double by both trackers): dropped, not folded, since a real accent can
    stand that high and guessing its octave would invent a contour."""
    out = st.copy()
    window = int(round(SLIP_CONTEXT_S / frame_s))
    longest = int(round(SLIP_MAX_S / frame_s))
    for a, b in _pieces(st):
        if b - a > longest:
            continue
        around = np.concatenate([st[max(0, a - window):a], st[b:b + window]])
        around = around[np.isfinite(around)]
        if len(around) and abs(float(np.median(st[a:b]) - np.median(around))) > SLIP_ST:
            out[a:b] = np.nan
    return out


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return [(int(a), int(b)) for a, b in
            zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True)]


def _cuts(run: np.ndarray) -> list[tuple[int, int]]:
    """Pieces ``[a, b)`` of one voiced run, cut where the pitch steps by ``JUMP_ST``."""
    edges = [0, *(1 + np.flatnonzero(np.abs(np.diff(run)) > JUMP_ST)).tolist(), len(run)]
    return list(zip(edges[:-1], edges[1:], strict=True))


def _pieces(st: np.ndarray) -> list[tuple[int, int]]:
    """Every piece of ``st`` (voiced runs cut at pitch steps), in frames of ``st``."""
    return [(a + p, a + q) for a, b in _runs(np.isfinite(st)) for p, q in _cuts(st[a:b])]


def _smooth(run: np.ndarray, width: int) -> np.ndarray:
    """A ``width``-frame median, then a triangular average (edges held, so the contour's
    ends stay where they are heard)."""
    if len(run) < width:
        return run
    kernel = np.bartlett(width + 2)[1:-1]
    padded = np.pad(run, width // 2, mode="edge")
    run = np.median(np.lib.stride_tricks.sliding_window_view(padded, width), axis=1)
    padded = np.pad(run, width // 2, mode="edge")
    return np.convolve(padded, kernel / kernel.sum(), mode="valid")
