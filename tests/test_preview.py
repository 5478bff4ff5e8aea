"""PreviewSession caching and the LatestWins policy, with the real voice and WORLD."""

from __future__ import annotations

import statistics
import time

import numpy as np
import pytest

from voicestudio.audio.io import Audio
from voicestudio.errors import ControlRangeError, InputTextError
from voicestudio.styling.controls import StyleControls
from voicestudio.voice.preview import (
    Finished,
    LatestWins,
    PreviewRequest,
    PreviewSession,
    readied,
    render_request,
)

LINE = "Preview caching keeps the slow part. Sliders only redo the styling."


def test_cached_renders_skip_the_model_and_are_fast(preview: PreviewSession):
    base = StyleControls(variability=0.7)
    runs = preview.model_runs
    start = time.perf_counter()
    preview.prepare(LINE, base.variability)
    assert readied(60.0)  # the model, then the analysis in the background: the one-time cost
    first_prepare = time.perf_counter() - start
    assert preview.model_runs == runs + 1

    first = preview.render(LINE, base)
    assert isinstance(first, Audio) and first.sample_rate == preview.synthesizer.sample_rate
    assert first.duration_s > 2.0 and np.abs(first.samples).max() > 0.05

    variants = [
        base.with_changes(pitch=4.0),
        base.with_changes(pitch=-3.0, pitch_range=1.5),
        base.with_changes(speed=1.5),
        base.with_changes(speed=0.7),
        base.with_changes(emotion="happy"),
        base.with_changes(emotion="whisper", intensity=50),
        base.with_changes(energy=-6.0, breathiness=0.5),
    ]
    timings, audios = [], []
    for controls in variants:
        start = time.perf_counter()
        audios.append(preview.render(LINE, controls))
        timings.append(time.perf_counter() - start)
    assert preview.model_runs == runs + 1, "a control change must not rerun the speaker model"
    cached = statistics.median(timings)
    assert cached < first_prepare / 3, (
        f"cached render {cached * 1000:.0f} ms vs first prepare {first_prepare * 1000:.0f} ms")

    # the controls really act on the cached line
    fast, slow = audios[2], audios[3]
    assert fast.duration_s < first.duration_s < slow.duration_s
    assert not np.array_equal(audios[0].samples, first.samples)


def test_variability_and_new_text_rerun_the_model(preview: PreviewSession):
    text = "Variability changes the model output itself."
    preview.render(text, StyleControls(variability=1.0))
    runs = preview.model_runs
    preview.render(text, StyleControls(variability=1.0, pitch=2))
    assert preview.model_runs == runs
    preview.render(text, StyleControls(variability=0.3))
    assert preview.model_runs == runs + 1
    preview.render(text + " And a new sentence.", StyleControls(variability=0.3))
    assert preview.model_runs == runs + 2
    preview.render(text, StyleControls(variability=0.3, speed=1.2))  # both lines still cached
    assert preview.model_runs == runs + 2


def test_lru_eviction_respects_max_lines(synth):
    session = PreviewSession(synth, max_lines=2)
    a, b, c = "Apples.", "Bananas.", "Cherries."
    session.prepare(a)
    session.prepare(b)
    assert session.model_runs == 2
    session.prepare(a)  # hit: a becomes the most recent
    assert session.model_runs == 2
    session.prepare(c)  # evicts b, the least recently used
    assert session.model_runs == 3
    assert len(session._cache) == 2
    session.prepare(a)
    assert session.model_runs == 3
    session.prepare(b)  # was evicted
    assert session.model_runs == 4
    assert len(session._cache) <= session.max_lines


def test_render_rejects_bad_input(preview: PreviewSession):
    runs = preview.model_runs
    with pytest.raises(InputTextError):
        preview.render("\U0001F600\U0001F600", StyleControls())
    with pytest.raises(InputTextError):
        preview.render("   ", StyleControls())
    with pytest.raises(ControlRangeError):
        preview.render(LINE, StyleControls(pitch=40))
    assert preview.model_runs == runs


def test_latest_wins_runs_one_and_keeps_the_newest_waiting():
    policy = LatestWins()
    plain = StyleControls()
    first = policy.request("one", plain)
    assert first is not None and first.request_id == 1 and policy.busy  # idle: starts at once
    assert policy.request("two", plain) is None  # one runs: this one waits
    assert policy.request("three", plain) is None  # replaces "two", which never started
    assert policy.replaced == 1 and policy.waiting.text == "three"

    finished = policy.finish(first.request_id)  # overtaken by "three": dropped
    assert finished == Finished(deliver=False, start=policy.running)
    assert finished.start.text == "three" and finished.start.request_id == 3
    assert policy.finish(3) == Finished(deliver=True, start=None)
    assert not policy.busy
    assert (policy.rendered, policy.replaced, policy.dropped) == (2, 1, 1)


def test_abandoned_renders_are_dropped_and_the_next_starts_at_once():
    policy = LatestWins()
    old = policy.request("old voice", StyleControls())
    policy.request("waiting", StyleControls())
    policy.abandon()  # another voice: what the old one renders no longer counts
    assert not policy.busy and policy.replaced == 1
    new = policy.request("new voice", StyleControls())
    assert new is not None and new.request_id == 3  # runs beside the old render
    assert policy.finish(old.request_id) == Finished(deliver=False, start=None)
    assert policy.busy  # the old render ending does not end the new one
    assert policy.finish(new.request_id) == Finished(deliver=True, start=None)


def test_a_burst_renders_only_the_first_and_the_last(preview: PreviewSession):
    """30 requests while the first renders, driven the way a worker thread drives it."""
    text = "A dragged slider sends many requests in a row."
    policy = LatestWins()
    controls = [StyleControls(pitch=round(-6 + 0.4 * i, 2), speed=1.0 + i / 60) for i in range(30)]
    started = [policy.request(text, c) for c in controls]
    assert [r is not None for r in started] == [True] + [False] * 29
    delivered = []
    request = started[0]
    while request is not None:
        result = render_request(preview, request)
        finished = policy.finish(result.request_id)
        if finished.deliver:
            delivered.append(result)
        request = finished.start
    (final,) = delivered
    assert final.request_id == 30 and final.controls == controls[-1] and final.text == text
    assert final.error is None and isinstance(final.audio, Audio) and final.audio.samples.size
    assert final.report is not None and final.report.sentences == 1
    assert (policy.rendered, policy.replaced, policy.dropped) == (2, 28, 1)


def test_render_request_returns_errors_instead_of_raising(preview: PreviewSession):
    bad = render_request(preview, PreviewRequest(1, "\U0001F600 \U0001F389", StyleControls()))
    assert bad.audio is None and bad.report is None
    assert isinstance(bad.error, InputTextError) and "nothing speakable" in str(bad.error)
    out_of_range = render_request(preview, PreviewRequest(2, LINE, StyleControls(pitch=40)))
    assert isinstance(out_of_range.error, ControlRangeError)
    good = render_request(preview, PreviewRequest(3, "Still working after an error.",
                                                  StyleControls(pitch=1)))
    assert good.error is None and good.audio is not None and good.audio.samples.size > 0


def test_markup_is_part_of_the_key_and_changes_the_render(preview: PreviewSession):
    text = 'Wait <break time="700ms"/> for me.'
    steady = StyleControls(variability=0.0)
    runs = preview.model_runs
    preview.render(text, steady)  # no <speak> root: plain text, the tag's letters read out
    marked = preview.render(text, steady, markup=True)
    assert preview.model_runs == runs + 2  # one text, two readings
    assert marked.duration_s - preview.render("Wait for me.", steady).duration_s > 0.6
    # a <speak> root is markup whether asked or not: one prepared line serves both
    speak = "<speak>Hello <break time='300ms'/> there.</speak>"
    assert preview.prepare(speak, 0.0, markup=None).markup
    runs = preview.model_runs
    assert preview.prepare(speak, 0.0, markup=True).markup
    assert preview.model_runs == runs


def test_a_render_says_when_each_word_is_heard_over_the_whole_line(preview: PreviewSession):
    text = "First sentence here. And the second one."
    line = preview.render_line(text, StyleControls(variability=0.0))
    assert line.words is not None
    assert [w.text for w in line.words] == ["First", "sentence", "here.", "And", "the",
                                            "second", "one."]
    starts = [w.start for w in line.words]
    assert starts == sorted(starts) and line.words[-1].end <= line.audio.duration_s
    assert line.words[3].sentence == 1 and line.words[3].start > line.words[2].end  # after the
    # first sentence's pause, counted from the start of the line
    request = PreviewRequest(1, text, StyleControls(variability=0.0, speed=1.5))
    result = render_request(preview, request)
    assert result.words is not None and result.words[-1].end < line.words[-1].end


def test_markup_errors_come_back_in_the_result_with_their_place(preview: PreviewSession):
    from voicestudio.text.markup import MarkupError

    policy = LatestWins()
    request = policy.request("<speak>Hi <emphasis>there</speak>", StyleControls(), markup=None)
    assert request.markup is None
    result = render_request(preview, request)
    assert isinstance(result.error, MarkupError) and result.error.line == 1
    assert result.audio is None and result.words is None
    asked = policy.request("Hi <emphasis>there", StyleControls(), markup=True)
    assert asked is None and policy.waiting.markup is True


def test_a_voice_without_durations_renders_without_words_and_reports_the_markup(tmp_path):
    from tests.test_timings import no_durations_voice
    from voicestudio.voice.model import VoiceModel
    from voicestudio.voice.synthesizer import Synthesizer

    session = PreviewSession(Synthesizer(VoiceModel.load(no_durations_voice(tmp_path),
                                                         provider="cpu")))
    text = 'Wait <break time="1s"/> here.'
    for _ in range(2):  # counted per render, not added up over renders of the cached line
        result = render_request(session, PreviewRequest(1, text, StyleControls(), True))
        assert result.error is None and result.words is None
        assert result.report.unplaced_markup == 1
    assert session.prepare(text, 1.0, True).report.unplaced_markup == 0  # the shared one
