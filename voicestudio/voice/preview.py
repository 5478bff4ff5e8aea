"""Fast re-rendering while a user drags a styling slider.

The expensive part of a line — the speaker model's output and its WORLD analysis — is
computed once per (text, variability, markup) and kept; a control change only redoes the
pitch move (overlap-add) or the WORLD edit and resynthesis, and works out again when each
word is heard. The line's first render does not wait for the analysis it does not need
(an unstyled line needs none of it, a pitch move only the pitch): the rest is taken in the
background, so the drags that follow find it ready.
:class:`LatestWins` decides which renders run (one at a time, one waiting, the newest wins),
so a dragged slider never builds a queue of stale renders; whoever owns it supplies the
thread (the GUI's worker tasks, the benchmark's plain thread).
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from dataclasses import dataclass, replace

import numpy as np

from voicestudio.audio.io import Audio
from voicestudio.styling.controls import StyleControls, resolve
from voicestudio.styling.world import WorldAnalysis, analyze
from voicestudio.text.markup import reads_as_markup
from voicestudio.voice.model import Inference
from voicestudio.voice.synthesizer import Sentence, Synthesizer, TextReport
from voicestudio.voice.timings import Timeline, WordTime


@dataclass(frozen=True)
class PreparedSentence:
    """One sentence, its level-normalized model output (with phoneme durations when the
    voice gives them) and the output's WORLD analysis (its parts taken when first asked
    for)."""

    sentence: Sentence
    output: Inference
    analysis: WorldAnalysis

    @property
    def samples(self) -> np.ndarray:
        return self.output.audio


@dataclass(frozen=True)
class PreparedLine:
    text: str
    variability: float
    sentences: tuple[PreparedSentence, ...]
    report: TextReport
    #: Whether ``text`` was read as speech markup.
    markup: bool = False


@dataclass(frozen=True)
class RenderedLine:
    """A styled line: its audio, when each word is heard in it (seconds from the start;
    None when the voice gives no durations) and what the text front end left out."""

    audio: Audio
    words: tuple[WordTime, ...] | None
    report: TextReport


class _Readier:
    """One daemon thread that takes prepared lines' WORLD analyses in the background, the
    newest line of each session only (a line dragged past, evicted, or of a session let go
    is not worth it). It uses the analysis thread pool as a render would, so a drag in the
    first moments after a new line may wait for a part of it, which that drag would
    otherwise have made itself. A daemon: the app's exit waits at most for the pieces
    already handed to that pool."""

    def __init__(self) -> None:
        self._pending: OrderedDict[int, tuple[weakref.ref[PreviewSession], PreparedLine]] = (
            OrderedDict())
        self._busy = False
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None

    def ask(self, session: PreviewSession, line: PreparedLine) -> None:
        with self._changed:
            # replaces the session's older line
            self._pending[id(session)] = (weakref.ref(session), line)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="preview-ready",
                                                daemon=True)
                self._thread.start()
            self._changed.notify_all()

    def settled(self, timeout: float) -> bool:
        """Wait until nothing is pending or being readied; False if ``timeout`` passed."""
        with self._changed:
            return self._changed.wait_for(lambda: not self._pending and not self._busy,
                                          timeout)

    def _run(self) -> None:
        while True:
            with self._changed:
                self._changed.wait_for(lambda: bool(self._pending))
                _key, (ref, line) = self._pending.popitem(last=False)
                self._busy = True
            try:
                session = ref()
                if session is not None and session.holds(line):
                    del session  # not kept alive by this thread while it works
                    for sentence in line.sentences:
                        sentence.analysis.sp  # noqa: B018 - taken now, so the drags find it
            except Exception:
                pass  # left for the render that needs it, which reports it
            finally:
                session = line = sentence = None  # nothing kept alive while waiting
                with self._changed:
                    self._busy = False
                    self._changed.notify_all()


_readier = _Readier()


def readied(timeout: float = 60.0) -> bool:
    """Wait for the preview's background work to end (tests and benchmarks: so it neither
    counts in their calls nor shares the machine with what they time)."""
    return _readier.settled(timeout)


class PreviewSession:
    """Caches prepared lines (LRU) for one synthesizer; thread-safe. ``keep_ready``: take
    each prepared line's analysis in the background (a session for one render passes
    False)."""

    def __init__(self, synthesizer: Synthesizer, max_lines: int = 8,
                 keep_ready: bool = True) -> None:
        self.synthesizer = synthesizer
        self.max_lines = max_lines
        self.keep_ready = keep_ready
        self._cache: OrderedDict[tuple, PreparedLine] = OrderedDict()
        self._lock = threading.Lock()
        self.model_runs = 0  # how many lines went through the speaker model (tests read it)

    def prepare(self, text: str, variability: float = 1.0,
                markup: bool | None = None) -> PreparedLine:
        """The model output and WORLD analysis of each sentence of ``text`` (``markup`` as in
        :meth:`Synthesizer.sentences`), from the cache when it was prepared before. The
        analysis is taken when first asked for, or in the background (``keep_ready``)."""
        markup = reads_as_markup(text, markup)
        # a changed lexicon says the same text differently: it is part of the key
        key = (text, round(float(variability), 4), markup, self.synthesizer.lexicon.fingerprint)
        with self._lock:
            line = self._cache.get(key)
            if line is not None:
                self._cache.move_to_end(key)
        if line is not None:
            if self.keep_ready and not all(s.analysis.has_envelopes for s in line.sentences):
                _readier.ask(self, line)  # its readying gave way to a newer line's
            return line
        report = TextReport()
        synth = self.synthesizer
        sentences = []
        for sentence in synth.sentences(text, report, markup):
            output = synth.speaker_output(sentence, variability)
            analysis = analyze(output.audio, synth.sample_rate, method=synth.f0_method,
                               pitch_now=False, envelopes_now=False)
            sentences.append(PreparedSentence(sentence, output, analysis))
        line = PreparedLine(text, variability, tuple(sentences), report, markup)
        with self._lock:
            self.model_runs += 1
            self._cache[key] = line
            while len(self._cache) > self.max_lines:
                self._cache.popitem(last=False)
        if self.keep_ready:
            _readier.ask(self, line)
        return line

    def holds(self, line: PreparedLine) -> bool:
        """Whether ``line`` is still in this session's cache."""
        with self._lock:
            return any(kept is line for kept in self._cache.values())

    def render(self, text: str, controls: StyleControls, markup: bool | None = None) -> Audio:
        """Styled audio of the whole line; only the cheap part runs when ``text`` is cached."""
        return self.render_line(text, controls, markup).audio

    def render_line(self, text: str, controls: StyleControls,
                    markup: bool | None = None) -> RenderedLine:
        """:meth:`render` with the line's word times and report."""
        controls = controls.validated()
        line = self.prepare(text, controls.variability, markup)
        params = resolve(controls, self.synthesizer.calibration)
        sr = self.synthesizer.sample_rate
        # What styling could not do is counted per render, into a report of its own: the
        # prepared line's report is shared by every render of it.
        styling = TextReport()
        timeline = Timeline()
        parts = []
        for s in line.sentences:
            chunk = self.synthesizer.render_sentence(s.sentence, s.output, params, s.analysis,
                                                     report=styling)
            timeline.add(chunk.words, len(chunk.samples) / sr)
            parts.append(chunk.samples)
        audio = Audio(np.concatenate(parts) if parts else np.zeros(0, np.float32), sr)
        words = tuple(timeline.words) if timeline.available else None
        report = replace(line.report, unplaced_markup=styling.unplaced_markup)
        return RenderedLine(audio, words, report)


@dataclass(frozen=True)
class PreviewRequest:
    """One render asked for; ids grow with every request, so a larger id is newer."""

    request_id: int
    text: str
    controls: StyleControls
    #: As in :meth:`Synthesizer.sentences`: True markup, False plain, None markup when the
    #: text starts with ``<speak>``.
    markup: bool | None = None


@dataclass(frozen=True)
class RenderResult:
    request_id: int
    text: str
    controls: StyleControls
    audio: Audio | None
    error: Exception | None = None
    #: What the text front end left out of the line (None when the render failed).
    report: TextReport | None = None
    #: When each word is heard, over the whole line (None: the voice gives no durations,
    #: or the render failed).
    words: tuple[WordTime, ...] | None = None
    markup: bool | None = None  # the request's


def render_request(session: PreviewSession, request: PreviewRequest) -> RenderResult:
    """Render ``request``; an error comes back in the result for the caller to show, so one
    bad line never stops the previews after it."""
    text, controls, markup = request.text, request.controls, request.markup
    try:
        line = session.render_line(text, controls, markup)
    except Exception as exc:
        return RenderResult(request.request_id, text, controls, None, exc, markup=markup)
    return RenderResult(request.request_id, text, controls, line.audio, None, line.report,
                        line.words, markup)


@dataclass(frozen=True)
class Finished:
    """What to do after a render ended: deliver its result or drop it, and what to start."""

    deliver: bool
    start: PreviewRequest | None


class LatestWins:
    """The scheduling rule of previews, without threads: at most one render runs and one
    request waits. A newer request replaces the waiting one, and a result that a newer
    request has overtaken is dropped rather than delivered, so a dragged slider never
    builds a queue of stale renders. One owner drives it (the GUI thread, or a caller's
    lock): it starts what :meth:`request` and :meth:`finish` return, on any thread."""

    def __init__(self) -> None:
        self.running: PreviewRequest | None = None
        self.waiting: PreviewRequest | None = None
        self._latest_id = 0
        self._stale_up_to = 0  # ids up to here were abandoned (another voice, a shutdown)
        self.rendered = 0  # renders that ended, delivered or not
        self.replaced = 0  # requests overwritten before they started
        self.dropped = 0  # renders that ended after a newer request arrived

    @property
    def latest_id(self) -> int:
        return self._latest_id

    @property
    def busy(self) -> bool:
        """A render runs or waits for this owner (abandoned ones do not count)."""
        return self.running is not None or self.waiting is not None

    def request(self, text: str, controls: StyleControls,
                markup: bool | None = None) -> PreviewRequest | None:
        """Number a new request. Returned when it should start now (nothing runs); else it
        waits, replacing the request that waited before it, and None is returned."""
        self._latest_id += 1
        request = PreviewRequest(self._latest_id, text, controls, markup)
        if self.running is None:
            self.running = request
            return request
        if self.waiting is not None:
            self.replaced += 1
        self.waiting = request
        return None

    def finish(self, request_id: int) -> Finished:
        """A render ended: whether its result is still the newest, and the waiting request
        to start now (when this render was the one running)."""
        self.rendered += 1
        deliver = request_id == self._latest_id and request_id > self._stale_up_to
        if not deliver:
            self.dropped += 1
        start = None
        if self.running is not None and self.running.request_id == request_id:
            self.running, self.waiting, start = self.waiting, None, self.waiting
        return Finished(deliver, start)

    def abandon(self) -> None:
        """Forget the running and the waiting render: their results will be dropped, and the
        next request starts at once (a render already running finishes on its own)."""
        if self.waiting is not None:
            self.replaced += 1
        self.running = self.waiting = None
        self._stale_up_to = self._latest_id
