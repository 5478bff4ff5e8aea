"""The Perform dialog's controller, without Qt: the count-in, recording and loading, a bad
recording refused with nothing else changed, latest-wins renders, A/B, and reopening for a
changed line. The workers' functions run once for real with the bundled voice."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from voicestudio.audio.checks import TakeOrigin
from voicestudio.audio.io import Audio
from voicestudio.errors import VoiceStudioError
from voicestudio.gui.controllers.messages import Level
from voicestudio.gui.controllers.perform import (
    COUNT_IN_BEATS,
    MARKUP_REFUSAL,
    NOTHING_TO_PERFORM,
    Listen,
    PerformController,
    PerformLine,
    ReadJob,
    ReadTake,
    Rendered,
    RenderJob,
    Stage,
    read_take,
    render_performed,
)
from voicestudio.gui.controllers.synthesize import Preview, VoiceKey
from voicestudio.styling.controls import StyleControls
from voicestudio.voice.perform import DEFAULT_STRENGTH, PerformSettings, Transfer
from voicestudio.voice.performance import Performance
from voicestudio.voice.preview import RenderResult
from voicestudio.voice.synthesizer import TextReport

TEXT = "I waited for you all day long."
VOICE = VoiceKey(None, "cpu", "joe (base voice)")


class FakeView:
    """Records what the controller asks for; the test plays the workers' part."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.reads: list = []
        self.renders: list = []
        self.played: list[Audio] = []
        self.recording_problem: str | None = None
        self.limit_s: float | None = None
        self.changes = 0

    def start_beats(self) -> None:
        self.calls.append("start_beats")

    def stop_beats(self) -> None:
        self.calls.append("stop_beats")

    def start_recording(self, limit_s: float) -> str | None:
        self.calls.append("start_recording")
        self.limit_s = limit_s
        return self.recording_problem

    def stop_recording(self) -> None:
        self.calls.append("stop_recording")

    def start_read(self, job) -> None:
        self.reads.append(job)

    def start_render(self, job) -> None:
        self.renders.append(job)

    def play(self, audio: Audio) -> str | None:
        self.played.append(audio)
        return None

    def changed(self) -> None:
        self.changes += 1


def performance(duration: float = 2.0, warnings: tuple[str, ...] = ()) -> Performance:
    n = int(duration / 0.005)
    return Performance(duration=duration, words=(), frame_s=0.005, pitch_st=np.zeros(n),
                       level_db=np.zeros(n), median_hz=118.0, range_st=4.0, warnings=warnings)


def tone(seconds: float = 1.0, rate: int = 22_050) -> Audio:
    return Audio(np.full(int(seconds * rate), 0.1, np.float32), rate)


def rendered(job, seconds: float = 1.0) -> Rendered:
    line = job.line
    result = RenderResult(job.job_id, line.text, line.controls, tone(seconds), None, TextReport(),
                          (), markup=False)
    return Rendered(job, Preview(result), tone(0.9) if job.plain else None)


@pytest.fixture
def state():
    """[the line the panel would render], the view, the controller opened on TEXT."""
    line = [PerformLine(TEXT, VOICE)]
    view = FakeView()
    controller = PerformController(view, lambda: line[0])
    controller.open()
    return line, view, controller


def held(controller, view, seconds: float = 1.0):
    """Load a file, read it, render it: a performance and its result are held."""
    controller.load("take.wav")
    job = view.reads[-1]
    controller.read_done(ReadTake(job, tone(2.0, 16_000), performance()))
    controller.render_done(rendered(view.renders[-1], seconds))
    return controller.result


def test_a_line_that_cannot_be_performed_is_refused_with_what_to_do(state):
    line, view, controller = state
    line[0] = PerformLine("   ", VOICE)
    controller.open()
    status = controller.status()
    assert status.message == NOTHING_TO_PERFORM and status.level is Level.ERROR
    assert not (status.can_record or status.can_load or status.can_perform)
    controller.record_pressed()
    controller.load("take.wav")
    assert controller.stage is Stage.EMPTY and not view.reads and "start_beats" not in view.calls

    line[0] = PerformLine("<speak>I waited <break time='1s'/> all day.</speak>", VOICE)
    controller.open()
    assert controller.status().message == MARKUP_REFUSAL
    line[0] = PerformLine(TEXT, VOICE, markup=True)  # the switch on: markup, even plain text
    controller.open()
    assert controller.status().message == MARKUP_REFUSAL
    line[0] = PerformLine(TEXT, VOICE)
    controller.open()
    status = controller.status()
    assert status.message == "" and status.can_record and status.can_load
    assert "Press Record" in status.state and not status.can_perform and not status.can_use


def test_record_counts_in_then_records_and_reads_what_was_captured(state):
    _line, view, controller = state
    controller.record_pressed()
    assert controller.stage is Stage.COUNT_IN and controller.status().beat == COUNT_IN_BEATS == 3
    assert view.calls == ["start_beats"] and controller.status().can_record  # it can cancel
    seen = [controller.status().beat]
    for _ in range(COUNT_IN_BEATS - 1):
        controller.beat_passed()
        seen.append(controller.status().beat)
    assert seen == [3, 2, 1] and controller.stage is Stage.COUNT_IN
    controller.beat_passed()
    assert view.calls == ["start_beats", "stop_beats", "start_recording"]
    assert controller.stage is Stage.RECORDING and controller.status().beat is None
    assert 5.0 < view.limit_s <= 60.0  # the Record panel's rule for a take of this line
    assert not controller.status().can_load and "Stop" in controller.status().state

    controller.record_pressed()  # Stop
    assert view.calls[-1] == "stop_recording"
    samples = np.zeros(48_000, np.float32)
    controller.recorded(samples, 48_000)
    job = view.reads[-1]
    assert controller.stage is Stage.READING and job.origin is TakeOrigin.MICROPHONE
    assert job.text == TEXT and job.source.sample_rate == 48_000
    status = controller.status()
    assert not (status.can_record or status.can_load) and "Reading" in status.state

    controller.read_done(ReadTake(job, job.source, performance()))
    assert controller.stage is Stage.READY and view.renders[-1].plain  # rendered at once
    assert view.renders[-1].settings.strength == DEFAULT_STRENGTH
    assert view.renders[-1].settings.transfers == frozenset(Transfer)


def test_count_in_can_be_cancelled_and_a_microphone_that_fails_is_said(state):
    _line, view, controller = state
    controller.record_pressed()
    controller.record_pressed()  # Cancel
    assert controller.stage is Stage.EMPTY and view.calls == ["start_beats", "stop_beats"]
    view.recording_problem = "no input device"
    controller.record_pressed()
    for _ in range(COUNT_IN_BEATS):
        controller.beat_passed()
    status = controller.status()
    assert controller.stage is Stage.EMPTY and status.level is Level.ERROR
    assert status.message == "Cannot record: no input device"


def test_a_recording_that_lost_audio_is_not_read(state):
    _line, view, controller = state
    controller.record_pressed()
    for _ in range(COUNT_IN_BEATS):
        controller.beat_passed()
    controller.recorded(np.zeros(100, np.float32), 48_000, problem="Some audio was lost")
    assert not view.reads and controller.stage is Stage.EMPTY
    assert "cannot be used: Some audio was lost" in controller.status().message


def test_the_result_plays_and_ab_plays_each_version(state):
    _line, view, controller = state
    result = held(controller, view, seconds=1.5)
    status = controller.status()
    assert view.played == [result.preview.result.audio]  # a new performance's result plays
    assert status.can_play == frozenset(Listen) and status.can_use and status.can_perform
    assert "Performance: 2.0 s" in status.state and "Result: 1.5 s" in status.state
    controller.play(Listen.PERFORMANCE)
    controller.play(Listen.PLAIN)
    assert view.played[-2].sample_rate == 16_000 and view.played[-1].duration_s == \
        pytest.approx(0.9, abs=0.01)
    assert controller.use_result() is result.preview


def test_a_recording_that_cannot_be_used_changes_nothing_but_the_message(state):
    _line, view, controller = state
    result = held(controller, view)
    take = controller.take
    controller.load("other.wav")
    assert controller.stage is Stage.READING and not controller.status().can_load
    job = view.reads[-1]
    controller.read_failed(job, "The performance does not read the line: the recognizer heard "
                                "“the garden”.")
    status = controller.status()
    assert controller.take is take and controller.result is result
    assert controller.stage is Stage.READY and status.can_use and len(view.renders) == 1
    assert status.level is Level.ERROR and status.message.startswith("The performance does not")
    controller.read_failed(job, "late")  # once only
    assert "late" not in controller.status().message


def test_a_performance_with_warnings_is_used_and_says_them(state):
    _line, view, controller = state
    controller.load("quiet.wav")
    controller.read_done(ReadTake(view.reads[-1], tone(), performance(warnings=("Quiet.",))))
    status = controller.status()
    assert status.level is Level.WARNING and status.message == "Performance read, but: Quiet."
    assert controller.take is not None and view.renders


def test_settings_render_again_and_the_newest_request_wins(state):
    _line, view, controller = state
    held(controller, view)
    played = len(view.played)
    controller.set_strength(0.5, final=False)  # dragged: renders, silently
    first = view.renders[-1]
    assert first.settings.strength == 0.5 and not first.plain  # the plain line is held
    assert not controller.status().can_use and controller.status().rendering
    controller.set_strength(0.3, final=False)
    controller.set_transfer(Transfer.ENERGY, False)
    assert view.renders[-1] is first  # one runs; only the newest waits
    controller.render_done(rendered(first))
    newest = view.renders[-1]
    assert newest is not first and newest.settings.strength == 0.3
    assert newest.settings.transfers == frozenset({Transfer.TIMING, Transfer.PITCH})
    assert controller.result.job is not first  # the overtaken result was dropped
    controller.render_done(rendered(newest))
    assert controller.result.job is newest and controller.status().can_use
    assert len(view.played) == played + 1  # the toggle was a finished change: it plays

    controller.set_transfer(Transfer.ENERGY, False)  # no change: it plays what is there
    assert view.renders[-1] is newest and len(view.played) == played + 2


def test_a_failed_render_is_said_and_the_next_one_starts(state):
    _line, view, controller = state
    held(controller, view)
    controller.set_strength(0.2)
    failing = view.renders[-1]
    controller.set_strength(0.4)
    controller.render_failed(failing, "voice joe gives no phoneme durations")
    assert "could not be performed: voice joe gives no phoneme" in controller.status().message
    assert view.renders[-1].settings.strength == 0.4
    controller.render_done(rendered(view.renders[-1]))
    assert controller.status().message == "" and controller.status().can_use


def test_reopening_renders_again_for_new_sliders_and_drops_a_performance_of_another_text(state):
    line, view, controller = state
    held(controller, view)
    renders = len(view.renders)
    controller.open()  # nothing changed: nothing to do
    assert len(view.renders) == renders and controller.status().can_use
    line[0] = PerformLine(TEXT, VOICE, StyleControls(pitch=2.0))
    controller.open()
    again = view.renders[-1]
    assert len(view.renders) == renders + 1 and again.line.controls.pitch == 2.0 and again.plain
    assert not controller.status().can_use and controller.use_result() is None
    played = len(view.played)
    controller.render_done(rendered(again))
    assert controller.status().can_use and len(view.played) == played  # reopening is quiet

    line[0] = PerformLine("A different line altogether.", VOICE)
    controller.open()
    status = controller.status()
    assert controller.take is None and controller.result is None
    assert controller.stage is Stage.EMPTY and status.can_play == frozenset()


def test_closing_stops_a_count_in_and_drops_a_recording(state):
    _line, view, controller = state
    controller.record_pressed()
    controller.close()
    assert controller.stage is Stage.EMPTY and view.calls[-1] == "stop_beats"
    controller.record_pressed()
    for _ in range(COUNT_IN_BEATS):
        controller.beat_passed()
    controller.close()
    assert view.calls[-1] == "stop_recording" and controller.stage is Stage.EMPTY
    controller.recorded(np.zeros(100, np.float32), 48_000)  # what the view hands back late
    assert not view.reads


# ----------------------------------------------------------------- the workers' functions
def test_read_take_refuses_a_recording_of_another_text(tmp_path, synth):
    audio = np.concatenate([c.samples for c in synth.synthesize(
        "The garden is full of yellow flowers this spring.")])
    path = tmp_path / "other.flac"
    sf.write(path, audio, synth.sample_rate)
    with pytest.raises(VoiceStudioError, match="does not read the line"):
        read_take(ReadJob(TEXT, path, TakeOrigin.FILE))


def test_render_performed_gives_the_line_its_words_and_the_plain_rendering(synth):
    slow = StyleControls(speed=0.75, pitch=3.0, variability=0.0)
    acted = Audio(np.concatenate([c.samples for c in synth.synthesize(TEXT, slow)]),
                  synth.sample_rate)
    take = read_take(ReadJob(TEXT, acted, TakeOrigin.MICROPHONE))
    assert take.audio is acted
    assert [w.text.lower() for w in take.performance.words][:2] == ["i", "waited"]
    line = PerformLine(TEXT, VOICE, StyleControls(variability=0.0))
    done = render_performed(synth, RenderJob(1, line, take.performance, PerformSettings(), True))
    audio = done.preview.result.audio
    assert audio.sample_rate == synth.sample_rate and done.preview.f0 is not None
    assert len(done.preview.result.words) == 7 and done.plain is not None
    # timing carried: the result lasts nearer the slow performance than the plain line
    assert abs(audio.duration_s - acted.duration_s) < abs(done.plain.duration_s
                                                          - acted.duration_s)


def test_a_render_hands_the_line_s_model_output_to_the_next(state):
    """Dragging a strength renders again from the model output the last render made (the
    worker reuses it while it fits the line), also when a render was overtaken."""
    _line, view, controller = state
    held(controller, view)
    assert view.renders[0].prepared is None
    made = object()  # the worker's PreparedLine: the controller only hands it on
    controller.set_strength(0.5, final=False)
    controller.set_strength(0.4, final=False)  # waits behind the render of 0.5
    done = rendered(view.renders[-1])
    controller.render_done(Rendered(done.job, done.preview, done.plain, made))
    assert view.renders[-1].settings.strength == 0.4 and view.renders[-1].prepared is made
    controller.render_done(rendered(view.renders[-1]))  # a worker that hands nothing back
    controller.set_strength(0.3, final=False)
    assert view.renders[-1].settings.strength == 0.3 and view.renders[-1].prepared is made


def test_a_slider_released_during_its_render_plays_that_render_when_done(state):
    _line, view, controller = state
    held(controller, view)
    played = len(view.played)
    controller.set_strength(0.6, final=False)  # dragged there
    controller.set_strength(0.6, final=True)  # released there, while it renders
    assert len(view.played) == played and len(view.renders) == 2
    controller.render_done(rendered(view.renders[-1]))
    assert len(view.played) == played + 1 and view.played[-1] is \
        controller.result.preview.result.audio


def test_a_read_under_way_for_a_text_since_changed_is_dropped(state):
    line, view, controller = state
    controller.load("take.wav")
    job = view.reads[-1]
    line[0] = PerformLine("Another line.", VOICE)
    controller.open()
    controller.read_done(ReadTake(job, tone(), performance()))
    assert controller.take is None and controller.stage is Stage.EMPTY and not view.renders
