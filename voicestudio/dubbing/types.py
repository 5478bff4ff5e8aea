"""The records of a dub: its settings, each line's state and warnings, and the callbacks a
long render takes. Apart from the modules that make them (render, mix, export), so each of
those imports these and none imports another just for a type.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

from voicestudio.audio.io import check_rate
from voicestudio.dubbing.loudness import BROADCAST_LUFS, TRUE_PEAK_CEILING_DBTP
from voicestudio.dubbing.script import DubLine
from voicestudio.dubbing.timefit import FitLimits
from voicestudio.errors import VoiceStudioError
from voicestudio.styling.controls import StyleControls
from voicestudio.voice.perform import PerformSettings
from voicestudio.voice.timings import WordTime

#: Output sample formats by bit depth.
BIT_FORMATS = {16: "pcm16", 24: "pcm24", 32: "float"}
#: Silence between lines of an untimed script (plain text, CSV without times).
UNTIMED_GAP_S = 0.5
ProgressFn = Callable[[float, str], None]
CancelFn = Callable[[], bool]


class LineStatus(StrEnum):
    """Where a line stands; the value is what report.csv and the table show."""

    PENDING = "pending"
    RENDERED = "rendered"
    TOO_LONG = "too long"
    SKIPPED = "skipped"


class DubRenderError(VoiceStudioError):
    """A dub cannot be rendered (no speakable line, a voice that does not load...)."""


@dataclass(frozen=True)
class DubSettings:
    """Everything a dub is rendered and exported with; per-line fields of the script win."""

    voice: str | None = None  # name or .onnx path; None = the bundled voice
    controls: StyleControls = field(default_factory=StyleControls)
    fit: FitLimits = field(default_factory=FitLimits)
    rate: int = 48_000
    bits: int = 24
    target_lufs: float = BROADCAST_LUFS
    ceiling_dbtp: float = TRUE_PEAK_CEILING_DBTP
    gap_s: float = UNTIMED_GAP_S
    provider: str = "auto"
    threads: int | None = None
    #: What a performed line (a script's ``perform`` column, the app's "Perform…") carries
    #: over from its recording, and how much; the voice's defaults unless asked otherwise.
    perform: PerformSettings = field(default_factory=PerformSettings)

    def validated(self) -> DubSettings:
        self.controls.validated()
        self.perform.validated()
        self.fit.validated()
        check_rate(self.rate)
        if self.bits not in BIT_FORMATS:
            raise VoiceStudioError(
                f"bit depth must be one of {', '.join(map(str, BIT_FORMATS))} (got {self.bits})"
            )
        if not -40.0 <= self.target_lufs <= -5.0:
            raise VoiceStudioError(
                f"loudness target must be between -40 and -5 LUFS (got {self.target_lufs:g})"
            )
        if not -12.0 <= self.ceiling_dbtp <= 0.0:
            raise VoiceStudioError(
                f"true-peak ceiling must be between -12 and 0 dBTP (got {self.ceiling_dbtp:g})"
            )
        if not 0.0 <= self.gap_s <= 10.0:
            raise VoiceStudioError(
                f"gap between untimed lines must be 0..10 s (got {self.gap_s:g})"
            )
        return self

    @property
    def wav_format(self) -> str:
        return BIT_FORMATS[self.bits]


@dataclass(frozen=True)
class LineWarning:
    """Something about one line a person should know (what the text front end left out, why
    it was skipped). ``message`` is what the CLI, report.csv and the GUI's tooltips all show."""

    line: DubLine
    text: str

    @property
    def message(self) -> str:
        return f"{self.line.label}: {self.text}"


@dataclass(frozen=True)
class TooLongWarning:
    """A line still longer than its cue at the tempo it got (within the limit): it is not cut,
    it runs on, and the message says over what."""

    line: DubLine
    rendered_s: float
    tempo: float  # applied: natural ÷ rendered duration, never over ``limit``
    limit: float
    next_cue: DubLine | None  # the cue after it in time; None: it is the last
    into: tuple[DubLine, ...]  # the later cues that start before it ends (the next one first)
    cues_end_s: float  # the last cue's end: where the track would end

    @property
    def ends_s(self) -> float:
        """Where the line ends on the timeline (it starts on its cue, sample-accurately)."""
        return self.line.start_s + self.rendered_s

    @property
    def message(self) -> str:
        limit = (
            "the limit" if f"{self.tempo:.2f}" == f"{self.limit:.2f}" else f"limit {self.limit:g}×"
        )
        return (
            f"{self.line.label}: too long for its slot: {self.rendered_s:.2f} s "
            f"in {self.line.slot_s:.2f} s even at {self.tempo:.2f}× ({limit}): {self._runs()}"
        )

    def _runs(self) -> str:
        past = self.ends_s - self.line.end_s
        if self.into:
            reaches = f", and on into cue {self.into[-1].index}" if len(self.into) > 1 else ""
            overlap = self.ends_s - self.into[0].start_s
            return f"runs {overlap:.2f} s into cue {self.into[0].index}{reaches}"
        if self.next_cue is not None:
            return (
                f"runs {past:.2f} s past its cue end, into the gap before cue {self.next_cue.index}"
            )
        longer = self.ends_s - self.cues_end_s
        if longer <= 0:  # a cue that started earlier is still running
            return f"runs {past:.2f} s past its cue end"
        if self.line.end_s >= self.cues_end_s:
            return f"runs {past:.2f} s past the last cue's end, making the track that much longer"
        return f"runs {past:.2f} s past its cue end, making the track {longer:.2f} s longer"


DubWarning = LineWarning | TooLongWarning


@dataclass
class LineRender:
    """One line's state: what the GUI's table shows and what the mix uses."""

    line: DubLine
    status: LineStatus = LineStatus.PENDING
    samples: np.ndarray | None = None  # at ``sample_rate``, trimmed, fitted
    sample_rate: int = 0
    natural_s: float = 0.0  # at tempo 1
    rendered_s: float = 0.0
    tempo: float = 1.0  # achieved: natural ÷ rendered duration (1.2 = spoken 20 % faster to fit)
    #: "none", "model" (length_scale), "world" (WORLD tempo only: a performed line) or
    #: "model+world" (both)
    fit_method: str = "none"
    voice: str = ""
    warnings: list[DubWarning] = field(default_factory=list)
    #: When each word is heard, in seconds on the dub's timeline (the cue's start plus its
    #: time in ``samples``, at the tempo the fit chose); None when the voice gives no phoneme
    #: durations. A line without a cue is placed by the mix: its words count from its own
    #: start until then (:attr:`voicestudio.dubbing.mix.Placement.words` places them).
    words: tuple[WordTime, ...] | None = None

    @property
    def done(self) -> bool:
        return self.status is not LineStatus.PENDING
