"""Fit a spoken line into its subtitle slot by changing its tempo, pitch kept.

The tempo change is made by the voice model itself first: it is asked again with a
smaller (or larger) ``length_scale``, so phoneme durations change where the model decides
and no time-stretch artifacts appear. The model does not follow ``length_scale``
proportionally (every phoneme lasts a whole number of frames, and the many one-frame
blanks between phonemes cannot shrink), so the duration is measured and the request
corrected by a secant step. Whatever is still missing after that is made up by WORLD's
time scaling (the styling engine's ``speed``), which is exact to a few milliseconds (whole
analysis frames, and the trimmed edges); it aims a little inside the tempo limits and is
measured again. A performed line (its timing taken from a recording) has no model step: its
durations are the performance's, so only WORLD's tempo moves it. The achieved tempo
(natural ÷ rendered duration, what every report shows) never leaves the configured limits:
a line that still does not fit is reported, never cut; it runs on past its cue.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from voicestudio.errors import VoiceStudioError
from voicestudio.voice.timings import WordTime

#: Aim this much under the slot, so rounding and the edges' silence cannot push a line over.
FIT_MARGIN = 0.02
#: A line may end this much after its cue and still count as fitting (well under one video
#: frame; nobody hears it).
FIT_TOLERANCE_S = 0.010
#: Model renders while fitting, besides the natural one; then at most one WORLD correction.
MODEL_FIT_RENDERS = 2
#: How far ``length_scale`` may be moved from the voice's own (as a factor).
LENGTH_FACTOR_RANGE = (0.4, 2.5)
#: Durations within this share of the goal need no WORLD correction.
CLOSE_ENOUGH = 0.03
#: WORLD renders at most: the second only when the first landed outside the tempo limits.
WORLD_FIT_RENDERS = 2
#: WORLD aims this share inside a tempo limit it is asked to reach: it misses its aim by up
#: to about 0.6 %, and a tempo over the limit is not used.
TEMPO_AIM_MARGIN = 0.004


@dataclass(frozen=True)
class SpokenLine:
    """One rendering of a line: its samples (edges trimmed) and when each word is heard in
    them (seconds from the first sample; None when the voice gives no durations). Defined
    here, where the fit picks among renderings, so the renderer and the fit share it."""

    samples: np.ndarray
    words: tuple[WordTime, ...] | None = None


#: ``render_at(length_factor, world_speed)``: the line with the model's length_scale times
#: ``length_factor`` and WORLD's tempo times ``world_speed``, edges trimmed.
RenderAt = Callable[[float, float], SpokenLine]


@dataclass(frozen=True)
class FitLimits:
    """How far a line's tempo may move to fit its slot (1.25 = 25 % faster).

    By default only lines that are too long are sped up; ``fill`` also slows short lines
    down (at most to ``slowest``) so they fill their slot.
    """

    slowest: float = 0.8
    fastest: float = 1.25
    fill: bool = False

    def validated(self) -> FitLimits:
        if not (0.5 <= self.slowest <= 1.0 <= self.fastest <= 2.0):
            raise VoiceStudioError(f"fit limits must be slowest ≤ 1 ≤ fastest, within 0.5..2 "
                                   f"(got {self.slowest:g}:{self.fastest:g})")
        return self

    @classmethod
    def parse(cls, text: str) -> FitLimits:
        """``"0.8:1.25"`` → limits (the CLI's ``--fit``)."""
        low, sep, high = text.partition(":")
        try:
            if not sep:
                raise ValueError
            limits = cls(float(low), float(high))
        except ValueError:
            raise VoiceStudioError(
                f"fit limits must be SLOWEST:FASTEST, such as 0.8:1.25 (got {text!r})"
            ) from None
        return limits.validated()


@dataclass
class FitResult:
    samples: np.ndarray
    natural_s: float  # duration as the voice speaks it
    rendered_s: float
    fits: bool
    length_factor: float = 1.0  # what the model was asked for
    world_speed: float = 1.0  # what WORLD added on top
    #: When each word is heard in ``samples`` (seconds from its first sample), as rendered at
    #: this fit's tempo: nothing is stretched afterwards, so they need no rescaling.
    words: tuple[WordTime, ...] | None = None

    @property
    def tempo(self) -> float:
        """The achieved tempo: natural ÷ rendered duration (1.2 = 20 % faster)."""
        return self.natural_s / self.rendered_s if self.rendered_s > 0 else 1.0

    @property
    def method(self) -> str:
        """How the tempo was changed: "none", "model" (length_scale), "world" (WORLD's tempo
        only) or "model+world"."""
        if self.world_speed != 1.0:
            return "model+world" if self.length_factor != 1.0 else "world"
        return "model" if self.length_factor != 1.0 else "none"


def fit_to_slot(
    render_at: RenderAt, sample_rate: int, slot_s: float | None, limits: FitLimits = FitLimits(),
    model: bool = True,
) -> FitResult:
    """Render until the line fits ``slot_s`` (None: no slot, the natural rendering).
    ``model`` False: ``render_at`` ignores its length factor (a performed line), so only
    WORLD's tempo is tried."""
    natural = render_at(1.0, 1.0)
    natural_s = len(natural.samples) / sample_rate
    result = FitResult(natural.samples, natural_s, natural_s, True, words=natural.words)
    if slot_s is None or natural_s == 0:
        return result
    fits = _fits(slot_s)
    longest = natural_s if not limits.fill else natural_s / limits.slowest
    goal_s = float(
        np.clip(slot_s * (1.0 - FIT_MARGIN), natural_s / limits.fastest, max(longest, natural_s))
    )
    if fits(natural_s) and (not limits.fill or natural_s >= goal_s * (1.0 - CLOSE_ENOUGH)):
        return result

    candidates = [result]
    x_prev, d_prev = 1.0, natural_s
    x = goal_s / natural_s  # as if the model were proportional; corrected below
    for _ in range(MODEL_FIT_RENDERS if model else 0):
        x = float(np.clip(x, *LENGTH_FACTOR_RANGE))
        spoken = render_at(x, 1.0)
        d = len(spoken.samples) / sample_rate
        candidates.append(FitResult(spoken.samples, natural_s, d, fits(d), x, words=spoken.words))
        if abs(d - goal_s) <= CLOSE_ENOUGH * goal_s or abs(d - d_prev) < 1e-4:
            break
        x, x_prev, d_prev = x + (goal_s - d) * (x - x_prev) / (d - d_prev), x, d
    best = _closest(candidates, goal_s, limits)
    aim_s = float(np.clip(goal_s, natural_s / limits.fastest * (1.0 + TEMPO_AIM_MARGIN),
                          natural_s / limits.slowest * (1.0 - TEMPO_AIM_MARGIN)))
    # Close enough, unless the line still does not fit and may go faster (then a report's
    # "too long even at 1.25×" is true).
    if abs(best.rendered_s - goal_s) > CLOSE_ENOUGH * goal_s or (
        not best.fits and best.rendered_s > aim_s
    ):
        speed, d = 1.0, best.rendered_s
        for _ in range(WORLD_FIT_RENDERS):
            speed *= d / aim_s  # WORLD scales time (almost) exactly
            spoken = render_at(best.length_factor, speed)
            d = len(spoken.samples) / sample_rate
            candidates.append(FitResult(spoken.samples, natural_s, d, fits(d), best.length_factor,
                                        speed, spoken.words))
            if _within(candidates[-1], limits):
                break
        best = _closest(candidates, goal_s, limits)
    return best


def _closest(candidates: list[FitResult], goal_s: float, limits: FitLimits) -> FitResult:
    """The candidate nearest the goal within the limits (the natural render always is)."""
    return min(candidates, key=lambda c: (not _within(c, limits), abs(c.rendered_s - goal_s)))


def _fits(slot_s: float) -> Callable[[float], bool]:
    return lambda seconds: seconds <= slot_s + FIT_TOLERANCE_S


def _within(candidate: FitResult, limits: FitLimits) -> bool:
    return limits.slowest <= candidate.tempo <= limits.fastest
