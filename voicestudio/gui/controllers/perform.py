"""What the Perform dialog does, without Qt: a performance of the panel's line is recorded
(after a count-in) or loaded, read, and the line rendered with its delivery.

The dialog forwards the user's actions and its workers' results here; the controller keeps
the state (the performance held, the result, the plain rendering to compare with), decides
which work starts, and answers through the small :class:`PerformView` the dialog implements.
What the user sees is one :class:`PerformStatus`, rebuilt after every change, so the dialog
only copies it into widgets. Reading the recording is ``voice.performance.read_performance``
and rendering is ``voice.perform.perform``, the engine calls ``voicestudio say --perform``
makes. A recording that cannot be used is refused whole: its message is shown and the
performance held before stays as it was. Renders follow the previews' latest-wins rule: one
runs, the newest request waits, and a result overtaken by a newer request is dropped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from enum import Enum
from pathlib import Path
from typing import Protocol

import numpy as np

from voicestudio.audio.checks import TakeOrigin
from voicestudio.audio.io import Audio, read_audio
from voicestudio.gui.controllers.messages import Level
from voicestudio.gui.controllers.synthesize import Preview, VoiceKey, preview_of, report_warning
from voicestudio.project.recording import interactive_limit_s
from voicestudio.styling.controls import StyleControls
from voicestudio.voice.perform import (
    DEFAULT_STRENGTH,
    PerformSettings,
    PreparedLine,
    Transfer,
    is_performable,
    perform,
    prepared_for,
    render_plain,
)
from voicestudio.voice.performance import Performance, read_performance
from voicestudio.voice.preview import RenderResult
from voicestudio.voice.synthesizer import Synthesizer, TextReport

#: Beats counted before the microphone opens: time to take a breath after pressing Record.
COUNT_IN_BEATS = 3
#: How long each beat is shown (the dialog's timer; tests shorten it).
BEAT_MS = 1000
#: The toggles, in the order shown, with the words the dialog uses for them.
TRANSFER_LABELS = {Transfer.TIMING: "Timing", Transfer.PITCH: "Intonation",
                   Transfer.ENERGY: "Loudness"}
TRANSFER_TIPS = {
    Transfer.TIMING: "When each word starts and how long each of its sounds lasts, pauses "
                     "included",
    Transfer.PITCH: "The melody of the line, moved into the voice's own register",
    Transfer.ENERGY: "Which words are louder and softer",
}
STRENGTH_TIP = ("How much of the performance is carried over: 0 % is the plain rendering, "
                "100 % all of it. The panel's style sliders apply on top.")

NOTHING_TO_PERFORM = "Nothing to perform: type the line in the panel first."
MARKUP_REFUSAL = ("Perform reads the line as plain words, and the performance sets its timing: "
                  "turn Speech markup off (and leave out the markup) to perform it.")
START_HINT = ("Press Record and read the line after the count-in, or load a recording of it. "
              "Anyone's voice will do: only its delivery is used.")
READING = "Reading the performance (words, intonation, loudness)…"
RENDERING = "Rendering the line with this performance…"


class Stage(Enum):
    EMPTY = "empty"  # no performance yet
    COUNT_IN = "count_in"
    RECORDING = "recording"
    READING = "reading"  # a recording is being read; an older performance may still be held
    READY = "ready"  # a performance is held


class Listen(Enum):
    """What the A/B buttons play."""

    PERFORMANCE = "performance"
    RESULT = "result"
    PLAIN = "plain"


@dataclass(frozen=True)
class PerformLine:
    """What a render is of: the panel's text, voice and style controls."""

    text: str
    voice: VoiceKey
    controls: StyleControls = field(default_factory=StyleControls)
    #: As the panel's switch says: True always markup, None only text starting with <speak>.
    markup: bool | None = None


@dataclass(frozen=True, eq=False)
class ReadJob:
    """Read ``source`` (a recording from the microphone, or a file) as a performance of
    ``text``."""

    text: str
    source: Audio | Path
    origin: TakeOrigin


@dataclass(frozen=True, eq=False)
class ReadTake:
    """A performance that could be used, with the recording it was read from."""

    job: ReadJob
    audio: Audio
    performance: Performance


@dataclass(frozen=True, eq=False)
class RenderJob:
    """Render ``line`` with ``performance`` as ``settings`` say; ``plain`` also renders
    the line without it (the A/B reference), when the one held is of another line.
    ``prepared``: the line's model output from an earlier render, reused when it fits."""

    job_id: int
    line: PerformLine
    performance: Performance
    settings: PerformSettings
    plain: bool
    prepared: PreparedLine | None = None


@dataclass(frozen=True, eq=False)
class Rendered:
    job: RenderJob
    preview: Preview  # the performed line, with its words and F0 contour
    plain: Audio | None
    #: The line's model output this render used, for the next render of the same line.
    prepared: PreparedLine | None = None


@dataclass(frozen=True)
class PerformStatus:
    """Everything the dialog shows, as data."""

    stage: Stage
    #: The beat shown during the count-in (3, 2, 1), else None.
    beat: int | None
    #: The line under the performance area: what to do, or what was read.
    state: str
    #: An error or warning for the message line ("" for none).
    message: str
    level: Level
    can_record: bool  # Record (or Stop, while recording) can be pressed
    can_load: bool
    can_perform: bool
    can_play: frozenset[Listen]
    can_use: bool
    rendering: bool


def read_take(job: ReadJob) -> ReadTake:
    """The work of a read task, off the GUI thread (a second or two: the recognizer).
    Raises PerformanceError (or AudioFileError) with the message to show."""
    audio = job.source if isinstance(job.source, Audio) else read_audio(job.source)
    performance = read_performance(audio.samples, audio.sample_rate, job.text, job.origin)
    return ReadTake(job, audio, performance)


def render_performed(synth: Synthesizer, job: RenderJob) -> Rendered:
    """The work of a render task, off the GUI thread: the performed line with its F0
    contour, and the plain rendering when ``job.plain``, both from one run of the voice
    model (``job.prepared`` when it fits, so dragging a strength does not run it again)."""
    line = job.line
    prepared = prepared_for(synth, line.text, line.controls, held=job.prepared)
    report = TextReport()
    performed = perform(synth, line.text, job.performance, line.controls, job.settings, report,
                        prepared=prepared)
    audio = Audio(performed.audio, performed.sample_rate)
    preview = preview_of(RenderResult(job.job_id, line.text, line.controls, audio, None, report,
                                      performed.words, markup=False))
    plain = None
    if job.plain:
        plain_line = render_plain(synth, prepared, line.controls)
        plain = Audio(plain_line.audio, plain_line.sample_rate)
    return Rendered(job, preview, plain, prepared)


def strength_percent(strength: float) -> str:
    return f"{round(strength * 100):d} %"


class PerformView(Protocol):
    """What the controller asks of the dialog."""

    def start_beats(self) -> None: ...  # a beat every BEAT_MS, each calling beat()
    def stop_beats(self) -> None: ...
    def start_recording(self, limit_s: float) -> str | None: ...  # None, or why it cannot
    def stop_recording(self) -> None: ...  # then recorded() with what was captured
    def start_read(self, job: ReadJob) -> None: ...
    def start_render(self, job: RenderJob) -> None: ...
    def play(self, audio: Audio) -> str | None: ...  # None, or why it cannot be played
    def changed(self) -> None: ...  # the status (or the result) changed: show it


class PerformController:
    """The Perform dialog's state; see the module docstring. ``line`` is what the panel
    would render now; :meth:`open` is called again each time the dialog opens."""

    def __init__(self, view: PerformView, line: Callable[[], PerformLine]) -> None:
        self.view = view
        self._line = line
        self.line: PerformLine | None = None
        self.stage = Stage.EMPTY
        self.beat: int | None = None
        self.take: ReadTake | None = None  # the performance held
        self.settings = PerformSettings(frozenset(Transfer), DEFAULT_STRENGTH)
        self.result: Rendered | None = None  # the newest result shown
        self.plain: tuple[PerformLine, Audio] | None = None
        self._prepared: PreparedLine | None = None  # the newest render's model output
        self.refusal: str | None = None  # why this line cannot be performed
        self._message: tuple[str, Level] = ("", Level.INFO)
        self._reading: ReadJob | None = None
        self._running: RenderJob | None = None
        self._waiting: RenderJob | None = None
        self._play_ids: set[int] = set()
        self._next_id = 0
        self._shut = False

    # ------------------------------------------------------------------ state
    @property
    def performance(self) -> Performance | None:
        return self.take.performance if self.take is not None else None

    @property
    def result_current(self) -> bool:
        """The result shown is of the line, performance and settings as they are now."""
        r = self.result
        return (r is not None and self.take is not None and r.job.line == self.line
                and r.job.performance is self.take.performance and r.job.settings == self.settings)

    @property
    def busy(self) -> bool:
        return self._reading is not None or self._running is not None

    def status(self) -> PerformStatus:
        stage, ready = self.stage, self.refusal is None
        idle = stage in (Stage.EMPTY, Stage.READY)
        playable = set()
        if self.take is not None:
            playable.add(Listen.PERFORMANCE)
        if self.result is not None and self.result.job.performance is self.performance:
            playable.add(Listen.RESULT)
        if self.plain is not None and self.plain[0] == self.line:
            playable.add(Listen.PLAIN)
        return PerformStatus(
            stage=stage, beat=self.beat, state=self._state_text(), message=self._message[0],
            level=self._message[1],
            can_record=ready and stage is not Stage.READING,
            can_load=ready and idle,
            can_perform=ready and self.take is not None and stage is not Stage.RECORDING,
            can_play=frozenset(playable),
            can_use=self.result_current and stage is not Stage.RECORDING,
            rendering=self._running is not None)

    def _state_text(self) -> str:
        if self.refusal is not None:
            return ""
        if self.stage is Stage.COUNT_IN:
            return "Get ready: recording starts after the count."
        if self.stage is Stage.RECORDING:
            return "Read the line now; press Stop when you are done."
        if self.stage is Stage.READING:
            return READING
        if self.take is None:
            return START_HINT
        p = self.take.performance
        said = (f"Performance: {p.duration:.1f} s, {len(p.words)} words, "
                f"voice around {p.median_hz:.0f} Hz.")
        if self._running is not None:
            return f"{said} {RENDERING}"
        if self.result is not None and self.result_current:
            audio = self.result.preview.result.audio
            return f"{said} Result: {audio.duration_s:.1f} s."
        return said

    def _say(self, text: str = "", level: Level = Level.INFO) -> None:
        self._message = (text[:1].upper() + text[1:], level)

    # ------------------------------------------------------------------ opening
    def open(self) -> None:
        """The dialog opens (again): the panel's line now. A performance of another text is
        dropped; one of this text is kept and, when the voice or style changed, the line is
        rendered again with it."""
        line = self._line()
        previous, self.line = self.line, line
        if previous is not None and previous.text != line.text:
            # closed, so neither counting in nor recording; a read under way is dropped too
            self.take = self.result = self._reading = None
            self.stage = Stage.EMPTY
            self._say()
        if not line.text.strip():
            self.refusal = NOTHING_TO_PERFORM
        elif not is_performable(line.text, line.markup):  # the rule: voice.perform's
            self.refusal = MARKUP_REFUSAL
        else:
            self.refusal = None
        if self.refusal is not None:
            self._say(self.refusal, Level.ERROR)
        elif self._message[0] in (NOTHING_TO_PERFORM, MARKUP_REFUSAL):
            self._say()
        if self.take is not None and self.refusal is None and not self.result_current:
            self._render(play=False)
        self.view.changed()

    # ------------------------------------------------------------------ recording
    def record_pressed(self) -> None:
        """Record: count in, then record. During the count-in it cancels; while recording
        it stops."""
        if self.stage is Stage.RECORDING:
            self.view.stop_recording()
            return
        if self.stage is Stage.COUNT_IN:
            self.view.stop_beats()
            self._back_to_rest()
            self.view.changed()
            return
        if self.refusal is not None or self.stage is Stage.READING:
            return
        self._say()
        self.stage, self.beat = Stage.COUNT_IN, COUNT_IN_BEATS
        self.view.start_beats()
        self.view.changed()

    def beat_passed(self) -> None:
        """The count-in timer ticked: the next beat, and after the last one, record."""
        if self.stage is not Stage.COUNT_IN:
            return
        self.beat -= 1
        if self.beat > 0:
            self.view.changed()
            return
        self.view.stop_beats()
        self.beat = None
        problem = self.view.start_recording(interactive_limit_s(self.line.text))
        if problem is not None:
            self._back_to_rest()
            self._say(f"Cannot record: {problem}", Level.ERROR)
        else:
            self.stage = Stage.RECORDING
        self.view.changed()

    def recorded(self, samples: np.ndarray, sample_rate: int, problem: str | None = None) -> None:
        """The recording ended (Stop, or by itself): read it. ``problem``: the recording
        failed (the device, lost audio); it is not read then."""
        if self.stage is not Stage.RECORDING:
            return
        if problem is not None:
            self._back_to_rest()
            self._say(f"The recording cannot be used: {problem}", Level.ERROR)
            self.view.changed()
            return
        self._read(ReadJob(self.line.text, Audio(np.asarray(samples, np.float32), sample_rate),
                           TakeOrigin.MICROPHONE))

    def load(self, path: str | Path) -> None:
        """Read a recording from a file (any format read_audio reads)."""
        if self.refusal is not None or self.stage not in (Stage.EMPTY, Stage.READY):
            return
        self._read(ReadJob(self.line.text, Path(path), TakeOrigin.FILE))

    def _read(self, job: ReadJob) -> None:
        self._say()
        self.stage, self._reading = Stage.READING, job
        self.view.start_read(job)
        self.view.changed()

    def _back_to_rest(self) -> None:
        self.stage = Stage.READY if self.take is not None else Stage.EMPTY
        self.beat = None

    def read_done(self, take: ReadTake) -> None:
        if take.job is not self._reading or self._shut:
            return
        self._reading = None
        self.take, self.stage = take, Stage.READY
        warnings = take.performance.warnings
        if warnings:
            self._say("Performance read, but: " + " ".join(warnings), Level.WARNING)
        self._render(play=True)
        self.view.changed()

    def read_failed(self, job: ReadJob, message: str) -> None:
        """The recording cannot be used: say why; what was held before stays."""
        if job is not self._reading or self._shut:
            return
        self._reading = None
        self._back_to_rest()
        self._say(message, Level.ERROR)
        self.view.changed()

    # ------------------------------------------------------------------ settings
    def set_transfer(self, transfer: Transfer, on: bool) -> None:
        transfers = (self.settings.transfers | {transfer} if on
                     else self.settings.transfers - {transfer})
        self._settings(replace(self.settings, transfers=frozenset(transfers)), play=True)

    def set_strength(self, strength: float, final: bool = True) -> None:
        """``final``: a finished change (a click, a key, the slider released) is played;
        one made while dragging only renders."""
        strength = min(1.0, max(0.0, float(strength)))
        self._settings(replace(self.settings, strength=strength), play=final)

    def _settings(self, settings: PerformSettings, play: bool) -> None:
        if settings == self.settings:  # the slider released where it was dragged to
            pending = self._waiting or self._running
            if play and self.result_current:
                self.play(Listen.RESULT)
            elif play and pending is not None:
                self._play_ids.add(pending.job_id)  # played once it is done
            return
        self.settings = settings
        if self.take is not None and self.refusal is None:
            self._render(play)
        self.view.changed()

    # ------------------------------------------------------------------ renders
    def perform_pressed(self) -> None:
        """Perform: render with the current settings (unless that result is shown) and play."""
        if self.take is None or self.refusal is not None:
            return
        if self.result_current:
            self.play(Listen.RESULT)
        else:
            self._render(play=True)
            self.view.changed()

    def _render(self, play: bool) -> None:
        self._next_id += 1
        line = self.line
        job = RenderJob(self._next_id, line, self.take.performance, self.settings,
                        plain=self.plain is None or self.plain[0] != line,
                        prepared=self._prepared)
        if play:
            self._play_ids.add(job.job_id)
        if self._running is None:
            self._running = job
            self.view.start_render(job)
        else:
            self._waiting = job  # replaces one that waited: only the newest is wanted

    def render_done(self, rendered: Rendered) -> None:
        job = rendered.job
        if job is not self._running or self._shut:
            return
        self._running = None
        if rendered.plain is not None:
            self.plain = (job.line, rendered.plain)
        if rendered.prepared is not None:
            self._prepared = rendered.prepared
        if self._waiting is not None:  # overtaken: the newest request starts, this is dropped
            self._running, self._waiting = self._waiting, None
            if self._running.plain and self.plain is not None and self.plain[0] == job.line:
                self._running = replace(self._running, plain=False)
            self._running = replace(self._running, prepared=self._prepared)
            self.view.start_render(self._running)
            self.view.changed()
            return
        play = any(i <= job.job_id for i in self._play_ids)
        self._play_ids.clear()
        if job.performance is not self.performance:
            self.view.changed()  # a newer performance came: its own render follows
            return
        self.result = rendered
        warning = report_warning(rendered.preview.result.report)
        if warning is not None:
            self._say(warning, Level.WARNING)
        elif self._message[1] is Level.ERROR and self.refusal is None:
            self._say()
        if play:
            self.play(Listen.RESULT)
        self.view.changed()

    def render_failed(self, job: RenderJob, message: str) -> None:
        if job is not self._running or self._shut:
            return
        self._running = None
        # a play asked of the failed render is not a play for whatever renders next
        self._play_ids = {i for i in self._play_ids if i > job.job_id}
        waiting, self._waiting = self._waiting, None
        self._say(f"The line could not be performed: {message}", Level.ERROR)
        if waiting is not None:
            self._running = waiting
            self.view.start_render(waiting)
        self.view.changed()

    # ------------------------------------------------------------------ listening
    def audio_of(self, which: Listen) -> Audio | None:
        if which not in self.status().can_play:
            return None
        if which is Listen.PERFORMANCE:
            return self.take.audio
        if which is Listen.RESULT:
            return self.result.preview.result.audio
        return self.plain[1]

    def play(self, which: Listen) -> None:
        audio = self.audio_of(which)
        if audio is None:
            return
        problem = self.view.play(audio)
        if problem is not None:
            self._say(f"It cannot be played: {problem}", Level.WARNING)
            self.view.changed()

    def use_result(self) -> Preview | None:
        """The result to show in the panel, when it is of the line as it is now."""
        return self.result.preview if self.result_current else None

    # ------------------------------------------------------------------ closing
    def close(self) -> None:
        """The dialog closes: a count-in stops, a recording ends unread. What is held stays
        for the next time the dialog opens."""
        if self.stage is Stage.COUNT_IN:
            self.view.stop_beats()
            self._back_to_rest()
        elif self.stage is Stage.RECORDING:
            self.stage = Stage.READING  # so recorded() drops it
            self.view.stop_recording()
            self._back_to_rest()

    def shutdown(self) -> None:
        """No result that still comes is shown."""
        self.close()
        self._shut = True
