"""Fast re-rendering while a user drags a styling slider.

The expensive part of a line — the speaker model's output and its WORLD
analysis — is computed once per (text, variability) and kept; a control change
only redoes the WORLD edit and resynthesis. ``LatestWinsRenderer`` runs renders
on one background thread and keeps a single pending request, so a dragged
slider never builds a queue of stale renders.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from voicestudio.audio.io import Audio
from voicestudio.styling.controls import StyleControls, resolve
from voicestudio.styling.render import style_audio
from voicestudio.styling.world import WorldAnalysis, analyze
from voicestudio.voice.synthesizer import Synthesizer, TextReport

_LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class PreparedSentence:
    """Level-normalized model output of one sentence and its WORLD analysis."""

    samples: np.ndarray
    analysis: WorldAnalysis


@dataclass(frozen=True)
class PreparedLine:
    text: str
    variability: float
    sentences: tuple[PreparedSentence, ...]
    report: TextReport


class PreviewSession:
    """Caches prepared lines (LRU) for one synthesizer; thread-safe."""

    def __init__(self, synthesizer: Synthesizer, max_lines: int = 8) -> None:
        self.synthesizer = synthesizer
        self.max_lines = max_lines
        self._cache: OrderedDict[tuple[str, float], PreparedLine] = OrderedDict()
        self._lock = threading.Lock()
        self.model_runs = 0  # how many lines went through the speaker model (tests read it)

    def prepare(self, text: str, variability: float = 1.0) -> PreparedLine:
        key = (text, round(float(variability), 4))
        with self._lock:
            line = self._cache.get(key)
            if line is not None:
                self._cache.move_to_end(key)
                return line
        report = TextReport()
        synth = self.synthesizer
        sentences = []
        for sentence in synth.sentences(text, report):
            samples = synth.speaker_audio(sentence, variability)
            sentences.append(PreparedSentence(samples, analyze(samples, synth.sample_rate, method=synth.f0_method)))
        line = PreparedLine(text, variability, tuple(sentences), report)
        with self._lock:
            self.model_runs += 1
            self._cache[key] = line
            while len(self._cache) > self.max_lines:
                self._cache.popitem(last=False)
        return line

    def render(self, text: str, controls: StyleControls) -> Audio:
        """Styled audio of the whole line; only the cheap part runs when ``text`` is cached."""
        controls = controls.validated()
        line = self.prepare(text, controls.variability)
        params = resolve(controls, self.synthesizer.calibration)
        sr = self.synthesizer.sample_rate
        pause = self.synthesizer.pause(params.speed)
        parts: list[np.ndarray] = []
        for sentence in line.sentences:
            parts.append(style_audio(sentence.samples, sr, params, analysis=sentence.analysis))
            parts.append(pause)
        return Audio(np.concatenate(parts) if parts else np.zeros(0, np.float32), sr)


@dataclass(frozen=True)
class RenderResult:
    request_id: int
    text: str
    controls: StyleControls
    audio: Audio | None
    error: Exception | None = None


class LatestWinsRenderer:
    """One worker thread, one pending slot: a newer request replaces an older unstarted one,
    and a result that a newer request has overtaken is dropped rather than delivered."""

    def __init__(self, session: PreviewSession, on_result: Callable[[RenderResult], None]) -> None:
        self.session = session
        self.on_result = on_result
        self._cond = threading.Condition()
        self._pending: tuple[int, str, StyleControls] | None = None
        self._latest_id = 0
        self._closed = False
        self.rendered = 0
        self.replaced = 0  # requests overwritten before they started
        self.dropped = 0  # renders finished after a newer request arrived
        self._thread = threading.Thread(target=self._run, name="preview-render", daemon=True)
        self._thread.start()

    def request(self, text: str, controls: StyleControls) -> int:
        with self._cond:
            if self._closed:
                raise RuntimeError("the preview renderer is closed")
            self._latest_id += 1
            if self._pending is not None:
                self.replaced += 1
            self._pending = (self._latest_id, text, controls)
            self._cond.notify()
            return self._latest_id

    @property
    def alive(self) -> bool:
        """Whether the render thread still runs (a closed renderer may finish its render)."""
        return self._thread.is_alive()

    def close(self, timeout: float | None = 5.0) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify()
        self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            with self._cond:
                while self._pending is None and not self._closed:
                    self._cond.wait()
                if self._closed:
                    return
                request_id, text, controls = self._pending
                self._pending = None
            try:
                result = RenderResult(request_id, text, controls, self.session.render(text, controls))
            except Exception as exc:  # delivered to the caller, who shows it
                result = RenderResult(request_id, text, controls, None, exc)
            with self._cond:
                self.rendered += 1
                stale = request_id != self._latest_id or self._closed
                if stale:
                    self.dropped += 1
            if not stale:
                try:
                    self.on_result(result)
                except Exception:  # a broken consumer must not stop future previews
                    _LOG.exception("preview result handler failed")
