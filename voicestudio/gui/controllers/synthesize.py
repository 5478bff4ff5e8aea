"""What the Synthesize & Customize panel shows and starts, without Qt.

The panel forwards user actions (:meth:`SynthesizeController.request`, a released slider,
a voice or provider change) and worker results here; the controller decides and answers
through the small :class:`SynthesizeView` the panel implements: start a render, load a
voice, show a message. Renders follow :class:`~voicestudio.voice.preview.LatestWins`:
one runs, the newest request waits, a result overtaken by a newer request is dropped,
and a new voice abandons what the old one still renders. Scores (similarity to the
project's takes, DNSMOS quality) run one at a time too; only the newest audio waits.
See docs/architecture.md for how panels, controllers and workers fit together.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from voicestudio.audio.io import Audio
from voicestudio.errors import VoiceStudioError
from voicestudio.evaluate import prosody
from voicestudio.gui.controllers.messages import Level
from voicestudio.styling.controls import StyleControls
from voicestudio.text.lexicon import Lexicon
from voicestudio.text.markup import MarkupError
from voicestudio.voice.preview import (
    LatestWins,
    PreviewRequest,
    PreviewSession,
    RenderResult,
    render_request,
)
from voicestudio.voice.synthesizer import TextReport
from voicestudio.voice.timings import WordTime

NO_PROJECT_HINT = ("Open or create a voice project (File menu) to compare this voice with your "
                   "recordings.")
NO_TAKES_HINT = ("Record a few takes in the Record panel to compare this voice with your "
                 "recordings.")
SPEAK_HINT = "Speak a line to see how close it sounds to your recordings."
IDLE_STATE = "Press Speak to hear the text."
NOTHING_TO_SAY = "Nothing to say: type some text first."


@dataclass(frozen=True)
class VoiceKey:
    """The voice a render needs: its spec and the provider it runs on. ``label`` is how
    the voice list names it; it is not part of the voice's identity."""

    spec: str | None
    provider: str
    label: str = field(default="", compare=False)


@dataclass(frozen=True)
class Line:
    """What a render is of: the text, the style, the voice, and how the text is read:
    ``markup`` True as speech markup (the panel's toggle on), None as markup only when it
    starts with ``<speak>`` (the toggle off), False never."""

    text: str
    controls: StyleControls
    voice: VoiceKey
    markup: bool | None = None


@dataclass(frozen=True)
class F0Contour:
    times_s: np.ndarray
    hz: np.ndarray


@dataclass(frozen=True)
class Preview:
    """A finished render, as the panel gets it back from its worker."""

    result: RenderResult
    f0: F0Contour | None = None


@dataclass(frozen=True)
class ScoreJob:
    """One scoring of ``audio`` against ``takes``; ``epoch`` names the project it is for."""

    audio: Audio
    takes: list
    epoch: int


@dataclass(frozen=True)
class ScoreText:
    """One line of the score area. ``hint``: a placeholder, shown greyed. ``measured``:
    a final outcome, ``value`` (a number, a QualityScore, or None when it failed), which
    listeners hear about."""

    text: str
    hint: bool = True
    measured: bool = False
    value: Any = None


class SynthesizeView(Protocol):
    """What the controller asks of the panel: start work, show things."""

    def start_render(self, session: PreviewSession, request: PreviewRequest) -> None: ...
    def load_voice(self, key: VoiceKey) -> None: ...
    def start_score(self, job: ScoreJob) -> None: ...
    def reference_takes(self) -> list | None: ...  # None: no project open
    def lexicon(self) -> Lexicon: ...  # the user's, with the open project's on top
    def play(self, audio: Audio) -> None: ...
    def show_message(self, text: str, level: Level) -> None: ...
    def show_markup_error(self, line: int, column: int) -> None: ...  # 1-based: put the cursor
    def clear_problem(self) -> None: ...  # an error or a warning shown goes away
    def show_state(self, text: str) -> None: ...
    def show_preview(self, preview: Preview) -> None: ...
    def show_similarity(self, line: ScoreText) -> None: ...
    def show_quality(self, line: ScoreText) -> None: ...


def render_preview(session: PreviewSession, request: PreviewRequest) -> Preview:
    """The work of one preview task, off the GUI thread: the render and its F0 contour."""
    return preview_of(render_request(session, request))


def preview_of(result: RenderResult) -> Preview:
    """A finished render with its F0 contour (off the GUI thread: tracking takes a moment)."""
    f0 = None
    if result.audio is not None and result.audio.samples.size:
        try:
            hz = prosody.f0_contour(result.audio.samples, result.audio.sample_rate)
        except Exception:  # no contour is no reason to lose the render
            hz = None
        if hz is not None and len(hz):
            f0 = F0Contour(np.arange(len(hz)) * (prosody.FRAME_PERIOD_MS / 1000.0), hz)
    return Preview(result, f0)


def voice_entries(project, installed: Sequence) -> tuple[list[tuple[str, str]], str | None]:
    """(label, spec) of each voice the list offers: the project's trained voices (a
    VoiceProject's, best first; none without a project), then ``installed`` (the catalog's
    VoiceInfos); and the spec of the project's best voice (None: it has none)."""
    entries: list[tuple[str, str]] = []
    best_spec = None
    if project is not None:
        best = project.best_voice()
        trained = [v for v in reversed(project.voices) if (project.folder / v.path).is_file()]
        trained.sort(key=lambda v: v is not best)
        for voice in trained:
            score = f", similarity {voice.similarity:.2f}" if voice.similarity is not None else ""
            spec = str(project.folder / voice.path)
            entries.append((f"{voice.name} (your voice{score})", spec))
            if voice is best:
                best_spec = spec
    for info in installed:
        kind = "base voice" if info.source == "bundled" else "Piper voice"
        entries.append((f"{info.name} ({kind})", info.name))
    return entries, best_spec


def error_text(error: Exception) -> str:
    """A render's error as the message line shows it."""
    if isinstance(error, MarkupError):
        return f"Speech markup, {error}"  # "Speech markup, line 1, column 9: …"
    text = str(error) if isinstance(error, VoiceStudioError) else f"internal error: {error!r}"
    return text[:1].upper() + text[1:]


def report_warning(report: TextReport | None) -> str | None:
    """What a render's report warns about, as one message line; None when all was spoken as
    written."""
    messages = report.messages() if report is not None else []
    if not messages:
        return None
    if report.skipped:
        return "Some of the text was left out: " + "; ".join(messages)
    text = "; ".join(messages)  # only markup that could not be placed
    return text[:1].upper() + text[1:] + "."


class SynthesizeController:
    """Preview requests, results and scores of the Synthesize panel; see the module
    docstring. ``clock`` times a request to its result (tests pass their own)."""

    def __init__(self, view: SynthesizeView, clock: Callable[[], float] = time.perf_counter):
        self.view = view
        self.clock = clock
        self.renders = LatestWins()
        self.session: PreviewSession | None = None
        self.session_key: VoiceKey | None = None  # the voice of ``session``
        self.loading: VoiceKey | None = None  # the voice being loaded
        self.audio: Audio | None = None  # the render shown
        self.words: tuple[WordTime, ...] | None = None  # when its words are heard
        self.similarity: float | None = None
        self.quality = None  # evaluate.dnsmos.QualityScore of the shown render
        self._for_voice: tuple[Line, bool] | None = None  # (line, play) waiting for its voice
        self._sent: tuple[int, Line] | None = None  # the last request sent
        self._shown: Line | None = None  # what ``audio`` is a render of
        self._play_ids: set[int] = set()
        self._requested_at: dict[int, float] = {}
        self._scoring: ScoreJob | None = None
        self._score_next: Audio | None = None
        self._epoch = 0  # a new project: scores under way are for the old takes
        self._lexicon_for_loading: Lexicon | None = None  # edited while a voice loaded
        self._shut = False

    @property
    def busy(self) -> bool:
        """A render, or the voice it waits for, is under way."""
        return self._for_voice is not None or self.renders.busy

    # ------------------------------------------------------------------ user actions
    def speak(self, line: Line) -> None:
        """Speak was pressed: render ``line`` and play it."""
        self.view.show_message("", Level.INFO)
        self.request(line, play=True, quiet=False)

    def request(self, line: Line, play: bool, quiet: bool) -> None:
        """Ask for a render of ``line``. ``quiet``: an empty text is not an error (a slider
        moved before anything was typed)."""
        if self._shut:
            return
        if not line.text.strip():
            if not quiet:
                self.view.show_message(NOTHING_TO_SAY, Level.ERROR)
            return
        if self.session is None or self.session_key != line.voice:
            self._for_voice = (line, play)
            self._load(line.voice)
            return
        # The voice in use: one still loading for an earlier request is no longer wanted.
        self.loading = self._for_voice = None
        self._send(line, play)

    def slider_released(self, line: Line) -> None:
        """Play the render of the released position: when it is under way, once done."""
        if self._shut:
            return
        if self._sent is not None and self._sent[1] == line and self._in_flight(self._sent[0]):
            self._play_ids.add(self._sent[0])
        elif self._shown == line and self.audio is not None:
            self.view.play(self.audio)
        else:
            self.request(line, play=True, quiet=True)

    def voice_chosen(self, line: Line) -> None:
        """Another voice in the list: show it on the same line, or get it ready."""
        if self._shown is not None and line.text.strip():
            self.request(line, play=False, quiet=True)
        else:
            self._load(line.voice)

    def provider_changed(self, key: VoiceKey) -> None:
        if self.session_key is not None and self.session_key != key:
            self.session_key = None
            self._load(key)

    def voice_files_changed(self, spec: str | None) -> None:
        """Voices were added or replaced: the voice in use is reloaded on its next use."""
        if self.session_key is not None and self.session_key.spec == spec:
            self.session_key = None

    def shutdown(self) -> None:
        """No more renders or scores start, and none that ends is shown."""
        self._shut = True
        self.renders.abandon()
        self._for_voice = None
        self._score_next = None

    # ------------------------------------------------------------------ voices
    def _load(self, key: VoiceKey) -> None:
        if key == self.session_key or key == self.loading:
            return
        self.loading = key
        self.view.show_state(f"Loading voice {key.label or key.spec}…")
        self.view.load_voice(key)

    def voice_loaded(self, key: VoiceKey, session: PreviewSession) -> bool:
        """A voice finished loading; False when it is no longer wanted. Renders of the
        previous voice are abandoned (what they still render is dropped)."""
        if key != self.loading or self._shut:
            return False
        self.loading = None
        self.renders.abandon()
        self.session, self.session_key = session, key
        if self._lexicon_for_loading is not None:
            session.synthesizer.lexicon = self._lexicon_for_loading
            self._lexicon_for_loading = None
        self._requested_at.clear()
        self._play_ids.clear()
        if self.audio is None:
            self.view.show_state(IDLE_STATE)
        waiting, self._for_voice = self._for_voice, None
        if waiting is not None:
            self._send(*waiting)
        return True

    def voice_failed(self, key: VoiceKey, message: str) -> None:
        if key != self.loading:
            return
        self.loading = None
        self._for_voice = None
        self.view.show_state("")
        self.view.show_message(f"The voice could not be loaded: {message}", Level.ERROR)

    # ------------------------------------------------------------------ renders
    def _send(self, line: Line, play: bool) -> None:
        start = self.renders.request(line.text, line.controls, line.markup)
        request_id = self.renders.latest_id
        self._requested_at[request_id] = self.clock()
        self._sent = (request_id, line)
        if play:
            self._play_ids.add(request_id)
        self.view.show_state("Rendering…")
        if start is not None:
            self.view.start_render(self.session, start)

    def _in_flight(self, request_id: int) -> bool:
        return any(r is not None and r.request_id == request_id
                   for r in (self.renders.running, self.renders.waiting))

    def render_failed(self, request: PreviewRequest, message: str) -> None:
        """A render task broke before it could return its result (a bug): show the message,
        and go on with the next request."""
        error = VoiceStudioError(message)
        self.render_finished(Preview(RenderResult(request.request_id, request.text,
                                                  request.controls, None, error,
                                                  markup=request.markup)))

    def render_finished(self, preview: Preview) -> None:
        """A render ended: start the request that waited for it, then show the result
        unless a newer request (or another voice) overtook it."""
        if self._shut:
            return
        result = preview.result
        finished = self.renders.finish(result.request_id)
        if finished.start is not None:
            self.view.start_render(self.session, finished.start)
        if not finished.deliver:
            return
        started = self._requested_at.pop(result.request_id, None)
        for stale in [i for i in self._requested_at if i < result.request_id]:
            del self._requested_at[stale]  # replaced before they started
        play = any(i <= result.request_id for i in self._play_ids)
        self._play_ids = {i for i in self._play_ids if i > result.request_id}
        if result.error is not None:
            self.view.show_message(error_text(result.error), Level.ERROR)
            if isinstance(result.error, MarkupError):
                self.view.show_markup_error(result.error.line, result.error.column)
            self.view.show_state("")
            return
        self._show(preview, started, play)

    def show_result(self, preview: Preview, voice: VoiceKey) -> None:
        """Show a line rendered elsewhere (a performed line) as the current render, as if
        ``voice`` had rendered it: the waveform, its words, its scores, and Export saves it.
        A render still under way for the panel is dropped, so it cannot replace this one."""
        if self._shut:
            return
        self.renders.abandon()
        self._for_voice = None
        self._requested_at.clear()
        self._play_ids.clear()
        self._show(preview, None, play=False, voice=voice)

    def _show(self, preview: Preview, started: float | None, play: bool,
              voice: VoiceKey | None = None) -> None:
        result, audio = preview.result, preview.result.audio
        self.audio, self.words = audio, result.words
        self._shown = Line(result.text, result.controls, voice or self.session_key,
                           result.markup)
        self.view.show_preview(preview)
        warning = report_warning(result.report)
        if warning is not None:
            self.view.show_message(warning, Level.WARNING)
        else:
            self.view.clear_problem()
        took = f", rendered in {self.clock() - started:.2f} s" if started is not None else ""
        self.view.show_state(f"{audio.duration_s:.1f} s at {audio.sample_rate} Hz{took}")
        if play:
            self.view.play(audio)
        self._score(audio)

    # ------------------------------------------------------------------ scores
    def project_changed(self) -> None:
        """Another project: its takes are the reference now, its lexicon says how words are
        said (the next render uses it); score the shown render again."""
        self.lexicon_changed()
        self._epoch += 1
        self.similarity = None
        self._show_hint(self.view.reference_takes())
        if self.audio is not None:
            self._score(self.audio)

    def lexicon_changed(self) -> None:
        """The user's or the project's pronunciations were edited: the next render says words
        as they say now (a voice still loading gets them when it arrives)."""
        lexicon = self.view.lexicon()
        if self.session is not None:
            self.session.synthesizer.lexicon = lexicon
        self._lexicon_for_loading = lexicon if self.loading is not None else None

    def show_similarity_hint(self) -> None:
        self._show_hint(self.view.reference_takes())

    def _show_hint(self, takes: Sequence | None) -> None:
        text = NO_PROJECT_HINT if takes is None else NO_TAKES_HINT if not takes else SPEAK_HINT
        self.view.show_similarity(ScoreText(text))

    def _score(self, audio: Audio) -> None:
        """Score ``audio`` off the GUI thread; while one score runs, only the newest audio
        waits for the next."""
        takes = self.view.reference_takes()
        if not takes:
            self.similarity = None
            self._show_hint(takes)
        if self._scoring is not None:
            self._score_next = audio
            return
        if takes:
            from voicestudio.evaluate.speaker_model import encoder_model_path

            first_time = "" if encoder_model_path().is_file() else \
                " (preparing the speaker model, once, about a minute)"
            self.view.show_similarity(
                ScoreText(f"similarity to your recordings: measuring…{first_time}"))
        self.view.show_quality(ScoreText("quality: measuring…"))
        self._scoring = ScoreJob(audio, list(takes or []), self._epoch)
        self.view.start_score(self._scoring)

    def score_done(self, job: ScoreJob, scores) -> None:
        """``scores``: an :class:`~voicestudio.evaluate.render_score.RenderScore`."""
        if job.audio is not self.audio or job.epoch != self._epoch:
            return  # a newer render, or another project's takes, waits for its own score
        q = scores.quality
        self.quality = q
        text = (f"quality (DNSMOS, 1–5): {q.ovrl:.2f} overall · {q.sig:.2f} voice · "
                f"{q.bak:.2f} background" if q is not None
                else f"Quality score unavailable: {scores.quality_error}")
        self.view.show_quality(ScoreText(text, hint=True, measured=True, value=q))
        if not job.takes:
            return
        if scores.similarity is None:
            self.score_failed(job, scores.similarity_error or "not measured")
            return
        self.similarity = float(scores.similarity)
        self.view.show_similarity(ScoreText(
            f"similarity to your recordings: {self.similarity:.2f}", hint=False, measured=True,
            value=self.similarity))

    def score_failed(self, job: ScoreJob, message: str) -> None:
        if job.epoch != self._epoch:
            return
        self.similarity = None
        self.view.show_similarity(ScoreText(
            f"Similarity to your recordings is unavailable: {message}", measured=True))

    def score_ended(self, job: ScoreJob) -> None:
        """A score task ended, however: the newest audio that waited is scored next."""
        if job is self._scoring:
            self._scoring = None
        waiting, self._score_next = self._score_next, None
        if waiting is not None and not self._shut:
            self._score(waiting)
