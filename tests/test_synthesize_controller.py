"""The Synthesize panel's controller, without Qt: which renders start, which results show,
what the message, state and score lines say. A fake view records what it is asked."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from dataclasses import dataclass, field
from types import SimpleNamespace

import numpy as np
import pytest

from voicestudio.audio.io import Audio
from voicestudio.errors import InputTextError
from voicestudio.gui.controllers.messages import Level
from voicestudio.gui.controllers.synthesize import (
    IDLE_STATE,
    NO_PROJECT_HINT,
    NO_TAKES_HINT,
    NOTHING_TO_SAY,
    SPEAK_HINT,
    Line,
    Preview,
    ScoreText,
    SynthesizeController,
    VoiceKey,
    render_preview,
    report_warning,
)
from voicestudio.gui.controllers.word_positions import word_heard_at, word_ranges
from voicestudio.styling.controls import StyleControls
from voicestudio.text.lexicon import Lexicon, LexiconEntry, Pronunciation
from voicestudio.text.markup import MarkupError
from voicestudio.text.normalize import Dropped
from voicestudio.voice.preview import PreviewRequest, RenderResult
from voicestudio.voice.synthesizer import TextReport
from voicestudio.voice.timings import WordTime

JOE = VoiceKey("joe", "cpu", "Joe (base voice)")
AMY = VoiceKey("amy", "cpu", "Amy")
TEXT = "Hello there."


@dataclass
class FakeView:
    """Records what the controller asks; ``takes`` is what reference_takes() answers."""

    takes: list | None = None
    calls: list[tuple] = field(default_factory=list)
    words: Lexicon = field(default_factory=Lexicon)  # what lexicon() answers

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        return lambda *args: self.calls.append((name, *args))

    def reference_takes(self):
        return self.takes

    def lexicon(self):
        return self.words

    def named(self, name: str) -> list[tuple]:
        return [call[1:] for call in self.calls if call[0] == name]

    def renders(self) -> list[PreviewRequest]:
        return [request for _session, request in self.named("start_render")]

    def take(self) -> list[tuple]:
        calls, self.calls = self.calls, []
        return calls


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def line(pitch: float = 0.0, text: str = TEXT, voice: VoiceKey = JOE) -> Line:
    return Line(text, StyleControls(pitch=pitch), voice)


def audio(seconds: float = 1.0) -> Audio:
    return Audio(np.zeros(int(seconds * 22050), np.float32), 22050)


def done(request: PreviewRequest, report: TextReport | None = None, error=None) -> Preview:
    sound = None if error is not None else audio()
    report = report if report is not None or error is not None else TextReport()
    return Preview(RenderResult(request.request_id, request.text, request.controls, sound, error,
                                report))


def view_request(controller: SynthesizeController) -> PreviewRequest:
    """The render the controller started last (the view ran it)."""
    return controller.renders.running


@dataclass
class Quality:
    """Stands for a DNSMOS QualityScore."""

    ovrl: float = 3.5
    sig: float = 3.6
    bak: float = 4.0


@dataclass
class Scores:
    """Stands for a RenderScore."""

    similarity: float | None
    quality: Quality | None = field(default_factory=Quality)
    similarity_error: str | None = None
    quality_error: str | None = None


def ready(view: FakeView | None = None, key: VoiceKey = JOE):
    """A controller whose voice ``key`` is loaded, and its view."""
    view = view or FakeView()
    controller = SynthesizeController(view, clock=Clock())
    controller.voice_chosen(line(voice=key))  # nothing shown yet: the voice is only loaded
    assert view.named("load_voice") == [(key,)]
    assert controller.voice_loaded(key, FakeSession(f"session {key.spec}"))
    view.take()
    return controller, view


@dataclass
class FakeSession:
    """Stands for a PreviewSession: its name, and the synthesizer whose lexicon may change."""

    name: str
    synthesizer: SimpleNamespace = field(default_factory=lambda: SimpleNamespace(lexicon=None))


def test_the_controller_imports_no_qt():
    code = textwrap.dedent("""
        import sys
        import voicestudio.gui.controllers.synthesize
        assert not [m for m in sys.modules if m.startswith("PySide6")], "Qt was imported"
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


def test_speak_loads_the_voice_renders_shows_plays_and_scores():
    view = FakeView()
    clock = Clock()
    controller = SynthesizeController(view, clock=clock)
    controller.speak(line())
    assert ("show_message", "", Level.INFO) in view.calls  # Speak clears the old message
    assert view.named("load_voice") == [(JOE,)]
    assert view.named("show_state")[-1] == ("Loading voice Joe (base voice)…",)
    assert controller.busy and view.renders() == []  # the request waits for its voice

    assert controller.voice_loaded(JOE, "session")
    (started,) = view.named("start_render")
    assert started[0] == "session" and started[1].text == TEXT
    assert view.named("show_state")[-1] == ("Rendering…",)
    clock.now += 0.5
    view.take()
    controller.render_finished(done(started[1]))
    assert not controller.busy
    (shown,) = view.named("show_preview")
    assert controller.audio is shown[0].result.audio
    assert view.named("play") == [(controller.audio,)]
    assert view.named("show_state") == [("1.0 s at 22050 Hz, rendered in 0.50 s",)]
    assert view.named("clear_problem") == [()]  # no warnings: an old one goes
    (job,) = view.named("start_score")
    assert job[0].audio is controller.audio and job[0].takes == []
    assert view.named("show_similarity") == [(ScoreText(NO_PROJECT_HINT),)]


def test_latest_request_wins_a_burst():
    controller, view = ready()
    for pitch in (1, 2, 3, 4):  # a dragged slider
        controller.request(line(pitch), play=False, quiet=True)
    first, = view.renders()
    assert first.controls.pitch == 1  # the first starts, the others wait in one slot
    assert controller.renders.replaced == 2  # 2 and 3 gave way before they started

    view.take()
    controller.render_finished(done(first))  # overtaken by request 4: dropped
    assert view.named("show_preview") == [] and controller.audio is None
    last, = view.renders()
    assert last.controls.pitch == 4 and last.request_id == first.request_id + 3
    assert controller.busy

    controller.render_finished(done(last))
    assert [p[0].result.request_id for p in view.named("show_preview")] == [last.request_id]
    assert view.named("play") == []  # previews while dragging do not play
    assert not controller.busy
    assert (controller.renders.rendered, controller.renders.dropped) == (2, 1)


def test_a_newer_request_replaces_an_unstarted_one():
    controller, view = ready()
    controller.request(line(1), play=False, quiet=True)
    controller.request(line(2), play=True, quiet=True)
    controller.request(line(3), play=False, quiet=True)
    first, = view.renders()
    view.take()
    controller.render_finished(done(first))
    (waited,) = view.renders()
    assert waited.controls.pitch == 3  # 2 never ran
    controller.render_finished(done(waited))
    # 2 asked to play and 3 replaced it: the newest render plays for both
    assert len(view.named("play")) == 1


def test_text_warnings_are_shown_from_the_report_counts():
    controller, view = ready()
    controller.request(line(), play=False, quiet=True)
    report = TextReport(sentences=1)
    report.dropped[Dropped.SYMBOLS] += 2
    report.other_scripts["CJK"] += 1
    view.take()
    controller.render_finished(done(view_request(controller), report))
    assert view.named("show_message") == [(
        "Some of the text was left out: skipped 2 emoji and symbols; "
        "skipped 1 CJK character this voice cannot speak", Level.WARNING)]
    assert view.named("clear_problem") == []


@pytest.mark.parametrize(("error", "shown"), [
    (InputTextError("nothing speakable in the text (skipped 2 emoji and symbols)"),
     "Nothing speakable in the text (skipped 2 emoji and symbols)"),
    (ValueError("boom"), "Internal error: ValueError('boom')"),
])
def test_render_errors_are_shown(error, shown):
    controller, view = ready()
    controller.request(line(), play=True, quiet=True)
    controller.render_finished(done(view_request(controller), error=error))
    assert view.named("show_message") == [(shown, Level.ERROR)]
    assert view.named("show_state")[-1] == ("",)
    assert view.named("play") == [] and controller.audio is None and not controller.busy


def test_a_broken_render_task_does_not_stall_the_next():
    controller, view = ready()
    controller.request(line(1), play=False, quiet=True)
    controller.request(line(2), play=False, quiet=True)
    first = view.renders()[0]
    view.take()
    controller.render_failed(first, "internal error: RuntimeError('x')")
    assert view.named("show_message") == []  # overtaken: its failure is not news
    (second,) = view.renders()
    view.take()
    controller.render_failed(second, "internal error: RuntimeError('y')")
    assert view.named("show_message") == [("Internal error: RuntimeError('y')", Level.ERROR)]
    assert not controller.busy


def test_empty_text_is_an_error_only_when_asked_for():
    controller, view = ready()
    controller.request(line(text="   "), play=False, quiet=True)  # a slider moved: no error
    assert view.calls == [] and not controller.busy
    controller.speak(line(text="   "))
    assert view.named("show_message")[-1] == (NOTHING_TO_SAY, Level.ERROR)
    assert view.renders() == []


def test_another_voice_abandons_the_old_voices_work():
    controller, view = ready()
    controller.request(line(1), play=True, quiet=True)
    controller.request(line(2), play=True, quiet=True)  # waits
    old = view.renders()[0]
    view.take()
    controller.request(line(3, voice=AMY), play=True, quiet=True)
    assert view.named("load_voice") == [(AMY,)] and view.renders() == []
    assert controller.voice_loaded(AMY, "session amy")
    (new,) = view.renders()  # starts at once: the old voice's render no longer counts
    assert new.controls.pitch == 3 and view.named("start_render")[0][0] == "session amy"
    view.take()
    controller.render_finished(done(old))  # the old voice's render ends late: dropped
    assert view.named("show_preview") == [] and view.renders() == []  # 2 was abandoned
    controller.render_finished(done(new))
    assert len(view.named("show_preview")) == 1 and len(view.named("play")) == 1


def test_a_voice_no_longer_wanted_is_ignored_and_a_failure_is_shown():
    view = FakeView()
    controller = SynthesizeController(view)
    controller.request(line(voice=JOE), play=True, quiet=True)
    controller.request(line(voice=AMY), play=True, quiet=True)  # changed her mind
    assert view.named("load_voice") == [(JOE,), (AMY,)]
    assert not controller.voice_loaded(JOE, "session joe")
    assert view.renders() == [] and controller.busy
    controller.voice_failed(JOE, "stale")  # not the wanted one either: nothing to say
    assert view.named("show_message") == []
    controller.voice_failed(AMY, "the model file is damaged")
    assert view.named("show_message") == [
        ("The voice could not be loaded: the model file is damaged", Level.ERROR)]
    assert not controller.busy and controller.session is None


def test_voice_loaded_without_a_render_says_press_speak():
    controller, view = ready()
    assert controller.session_key == JOE
    controller.provider_changed(VoiceKey("joe", "cuda"))
    assert view.named("load_voice") == [(VoiceKey("joe", "cuda"),)]
    assert controller.voice_loaded(VoiceKey("joe", "cuda"), "session cuda")
    assert view.named("show_state")[-1] == (IDLE_STATE,)


def test_replaced_voice_files_are_reloaded_on_next_use():
    controller, view = ready()
    controller.voice_files_changed("joe")
    controller.request(line(), play=False, quiet=True)
    assert view.named("load_voice") == [(JOE,)] and view.renders() == []


def test_released_slider_plays_the_render_under_way_once_it_is_done():
    controller, view = ready()
    controller.request(line(4), play=False, quiet=True)  # dragged to 4
    controller.slider_released(line(4))  # released there while it renders
    assert len(view.renders()) == 1  # no second render of the same position
    controller.render_finished(done(view.renders()[0]))
    assert view.named("play") == [(controller.audio,)]

    view.take()
    controller.slider_released(line(4))  # released again where the shown render is
    assert view.named("play") == [(controller.audio,)] and view.renders() == []
    controller.slider_released(line(5))  # elsewhere: render it, then play
    (request,) = view.renders()
    controller.render_finished(done(request))
    assert len(view.named("play")) == 2


def test_a_new_voice_in_the_list_is_shown_on_the_same_line_without_playing():
    controller, view = ready()
    controller.request(line(), play=True, quiet=True)
    controller.render_finished(done(view_request(controller)))
    view.take()
    controller.voice_chosen(line(voice=AMY))
    assert view.named("load_voice") == [(AMY,)]
    controller.voice_loaded(AMY, "session amy")
    controller.render_finished(done(view.renders()[0]))
    assert view.named("play") == [] and len(view.named("show_preview")) == 1


def test_scores_run_one_at_a_time_and_only_the_newest_audio_waits():
    controller, view = ready(FakeView(takes=["take1.wav", "take2.wav"]))
    for pitch in (1, 2, 3):  # three renders shown while the first score runs
        controller.request(line(pitch), play=False, quiet=True)
        controller.render_finished(done(view_request(controller)))
    jobs = [job for (job,) in view.named("start_score")]
    assert len(jobs) == 1 and jobs[0].takes == ["take1.wav", "take2.wav"]
    assert "similarity to your recordings: measuring…" in view.named("show_similarity")[0][0].text

    view.take()
    controller.score_done(jobs[0], Scores(0.8))  # for an older render: not shown
    assert view.named("show_similarity") == [] and view.named("show_quality") == []
    controller.score_ended(jobs[0])
    (newest,) = [job for (job,) in view.named("start_score")]
    assert newest.audio is controller.audio
    view.take()
    controller.score_done(newest, Scores(0.812))
    controller.score_ended(newest)
    assert view.named("start_score") == []
    assert view.named("show_similarity") == [(ScoreText(
        "similarity to your recordings: 0.81", hint=False, measured=True, value=0.812),)]
    (quality,) = view.named("show_quality")
    assert quality[0].measured and quality[0].text.startswith("quality (DNSMOS, 1–5): 3.50")
    assert controller.similarity == 0.812


def test_a_new_project_drops_scores_for_the_old_takes_and_rescores():
    controller, view = ready(FakeView(takes=["a.wav"]))
    controller.request(line(), play=False, quiet=True)
    controller.render_finished(done(view_request(controller)))
    (job,) = [job for (job,) in view.named("start_score")]
    view.takes = []
    view.take()
    controller.project_changed()
    assert view.named("show_similarity") == [(ScoreText(NO_TAKES_HINT),)] * 2
    controller.score_done(job, Scores(0.9))
    controller.score_failed(job, "too late")
    assert [c for c in view.calls if c[0] == "show_similarity"] == [
        ("show_similarity", ScoreText(NO_TAKES_HINT))] * 2  # nothing about the old takes
    controller.score_ended(job)
    (again,) = [job for (job,) in view.named("start_score")]
    assert again.audio is controller.audio and again.takes == []


def test_similarity_failures_and_hints_are_shown():
    controller, view = ready(FakeView(takes=["a.wav"]))
    controller.show_similarity_hint()
    assert view.named("show_similarity") == [(ScoreText(SPEAK_HINT),)]
    controller.request(line(), play=False, quiet=True)
    controller.render_finished(done(view_request(controller)))
    (job,) = [job for (job,) in view.named("start_score")]
    view.take()
    controller.score_done(job, Scores(None, None, "no encoder", "no model"))
    assert view.named("show_quality") == [(ScoreText(
        "Quality score unavailable: no model", measured=True),)]
    assert view.named("show_similarity") == [(ScoreText(
        "Similarity to your recordings is unavailable: no encoder", measured=True),)]
    assert controller.similarity is None


def test_nothing_starts_or_shows_after_shutdown():
    controller, view = ready()
    controller.request(line(1), play=True, quiet=True)
    controller.request(line(2), play=True, quiet=True)
    first = view.renders()[0]
    controller.shutdown()
    view.take()
    controller.render_finished(done(first))
    controller.request(line(3), play=True, quiet=True)
    assert view.calls == [] and not controller.busy


def test_render_preview_returns_audio_contour_and_report(preview):
    request = PreviewRequest(1, "Hello there 😀😀. A second sentence.", StyleControls(pitch=2))
    shown = render_preview(preview, request)
    result = shown.result
    assert result.error is None and result.audio.duration_s > 1.0
    assert result.report.dropped == {Dropped.SYMBOLS: 2} and result.report.sentences == 2
    assert shown.f0 is not None and len(shown.f0.times_s) == len(shown.f0.hz) > 50
    assert shown.f0.times_s[-1] == pytest.approx(result.audio.duration_s, abs=0.1)

    bad = render_preview(preview, PreviewRequest(2, "😀", StyleControls()))
    assert isinstance(bad.result.error, InputTextError) and bad.f0 is None
    assert bad.result.audio is None and bad.result.report is None


def test_a_new_project_brings_its_lexicon_to_the_loaded_voice():
    """The open project's pronunciations apply to the next render without reloading the voice."""
    controller, view = ready()
    words = Lexicon([LexiconEntry("Nguyen", Pronunciation.SOUNDS_LIKE, "win")])
    view.words = words
    controller.project_changed()
    assert controller.session.synthesizer.lexicon is words


# ---------------------------------------------------------------------- speech markup


def test_the_markup_choice_travels_with_the_request_and_the_shown_line():
    controller, view = ready()
    marked = Line("Wait <break time='1s'/> here.", StyleControls(), JOE, markup=True)
    controller.request(marked, play=False, quiet=True)
    (request,) = view.renders()
    assert request.markup is True
    words = (WordTime("Wait", 0.1, 0.4, 0), WordTime("here.", 1.5, 1.9, 0))
    sound = audio(2.0)
    controller.render_finished(Preview(RenderResult(request.request_id, request.text,
                                                    request.controls, sound, None, TextReport(),
                                                    words, request.markup)))
    assert controller.audio is sound and controller.words == words
    view.take()
    controller.slider_released(marked)  # the same line, markup and all: played, not rendered
    assert view.named("play") == [(sound,)] and view.renders() == []
    controller.slider_released(Line(marked.text, StyleControls(), JOE))  # toggle off: another
    assert [r.markup for r in view.renders()] == [None]


def test_a_markup_error_is_shown_inline_and_points_the_cursor_at_its_place():
    controller, view = ready()
    controller.request(Line("<speak>Hi <emphasis>there</speak>", StyleControls(), JOE),
                       play=True, quiet=False)
    request = view_request(controller)
    assert request.markup is None  # the toggle off: a <speak> text is still markup
    error = MarkupError("mismatched tag", 1, 26)
    controller.render_finished(done(request, error=error))
    assert view.named("show_message") == [
        ("Speech markup, line 1, column 26: mismatched tag", Level.ERROR)]
    assert view.named("show_markup_error") == [(1, 26)]
    assert view.named("play") == [] and controller.audio is None


def test_markup_a_voice_could_not_place_is_a_warning():
    report = TextReport(sentences=2, unplaced_markup=1)
    controller, view = ready()
    controller.request(line(), play=False, quiet=True)
    view.take()
    controller.render_finished(done(view_request(controller), report))
    ((text, level),) = view.named("show_message")
    assert level is Level.WARNING and text.startswith("Spoke 1 sentence(s) without their markup")
    assert "no phoneme durations" in text and view.named("clear_problem") == []
    report.dropped[Dropped.SYMBOLS] += 1  # with text left out too: one line says both
    warning = report_warning(report)
    assert warning.startswith("Some of the text was left out: skipped 1 emoji")
    assert "without their markup" in warning
    assert report_warning(TextReport(sentences=1)) is None and report_warning(None) is None


# ---------------------------------------------------------------------- words in the text


def test_words_are_found_in_order_after_the_one_before():
    text = "A cat, a hat. And a cat!"
    assert word_ranges(text, ["A", "cat,", "a", "hat.", "And", "a", "cat!"], markup=False) == [
        (0, 1), (2, 5), (7, 8), (9, 12), (14, 17), (18, 19), (20, 23)]
    # a word is matched whole ("a" is not the one in "cat"), and case may have changed
    assert word_ranges("cat a", ["a"], markup=False) == [(4, 5)]
    assert word_ranges("HELLO there", ["hello"], markup=False) == [(0, 5)]


def test_a_word_not_found_is_left_out_and_the_search_goes_on():
    text = "Salt & pepper, please."
    assert word_ranges(text, ["Salt", "and", "pepper,", "please."], markup=False) == [
        (0, 4), None, (7, 13), (15, 21)]
    assert word_ranges("Hi there", ["there", "Hi"], markup=False) == [(3, 8), None]  # in order


def test_in_markup_tags_and_their_attributes_are_never_words():
    text = ('<speak>Go <prosody rate="slow">slow now</prosody> <break time="500ms"/>'
            '<sub alias="World Wide Web">WWW</sub>, <!-- slow --> then ms.</speak>')
    ranges = word_ranges(text, ["Go", "slow", "now", "WWW,", "then", "ms."], markup=True)
    assert [text[a:b] for a, b in ranges] == ["Go", "slow", "now", "WWW", "then", "ms"]
    assert ranges[1][0] == text.index(">slow") + 1  # not the attribute's "slow"
    # read as plain text, the same words may stand inside what looks like a tag
    assert word_ranges('<b a="x">x', ["x"], markup=False) == [(6, 7)]
    assert word_ranges('<b a="x">x', ["x"], markup=True) == [(9, 10)]


def test_the_word_heard_is_the_one_whose_span_holds_the_time():
    words = [WordTime("One", 0.1, 0.4, 0), WordTime("two.", 0.45, 0.9, 0),
             WordTime("Three", 1.3, 1.7, 1)]
    assert [word_heard_at(words, t) for t in (0.0, 0.1, 0.39, 0.42, 0.5, 1.0, 1.5, 1.7, 9)] == [
        None, 0, 0, None, 1, None, 2, None, None]
    assert word_heard_at([], 1.0) is None


def test_text_positions_count_as_qt_does():
    from voicestudio.gui.controllers.word_positions import utf16_offset

    text = "Hi 🎉 there"
    assert utf16_offset(text, text.index("there")) == text.index("there") + 1  # emoji: 2 units
    assert utf16_offset("plain", 3) == 3
