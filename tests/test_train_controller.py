"""The Train panel's controller, without Qt: event sequences in, states and words out."""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from voicestudio.gui.controllers.train import (
    Budget,
    Level,
    TrainChoice,
    TrainController,
    TrainState,
    clock,
    time_left,
)
from voicestudio.safety.consent import ConsentRefusal, ConsentRemedy
from voicestudio.training.dataset import ExclusionReason
from voicestudio.training.events import (
    CheckpointSaved,
    ConsentVerified,
    DataReady,
    Failed,
    Finished,
    Loss,
    PreviewReady,
    Progress,
    Published,
    Publishing,
    PublishStep,
    Resumed,
    Stage,
    StageKind,
    TakeLeftOut,
)

PROJECT = SimpleNamespace(name="pmatthes")


def _published(name: str = "pmatthes-2026", similarity: float | None = 0.84):
    calibration = SimpleNamespace(pitch_shift_st=1.5, range_scale=1.2, length_scale=1.05)
    entry = SimpleNamespace(name=name, similarity=similarity)
    return SimpleNamespace(path=Path("/p/models/voices") / name / "voice.onnx",
                           calibration=calibration, entry=entry)


def _started(resume: bool = False) -> tuple[TrainController, object]:
    controller = TrainController()
    controller.open_project(PROJECT)
    shown = controller.start(PROJECT, resume, Budget.QUICK, TrainChoice(5.0, "cpu", 2))
    return controller, shown


def _feed(controller: TrainController, events) -> list:
    return [controller.handle(event) for event in events]


def _log(shown_list) -> list[str]:
    return [line for shown in shown_list for line in shown.log]


def test_the_controller_imports_neither_qt_nor_torch():
    import subprocess

    code = ("import sys, voicestudio.gui.controllers.train; "
            "print(any(m.startswith(('PySide6', 'torch')) for m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == "False", done.stderr


def test_a_normal_run_shows_each_stage_then_the_published_voice():
    controller, started = _started()
    assert controller.state is TrainState.RUNNING and controller.busy and controller.cancellable
    assert started.clear and started.message.text == ""
    assert started.log == [
        "Training of “pmatthes”: quick budget (5 min), device cpu, 2 CPU threads"]
    assert started.status == "Starting… (loading the trainer)"

    check = SimpleNamespace(take="takes/p0.wav", similarity=0.93, threshold=0.8, reference_takes=8,
                            left_out=(), describe=lambda: "consent take takes/p0.wav: verified")
    exclusion = SimpleNamespace(take="takes/p3.wav", reason=ExclusionReason.TOO_LONG,
                                detail="21 s is too long", describe=lambda: "left out takes/p3.wav")
    shown = _feed(controller, [
        Stage(StageKind.CONSENT, 0.0, "checking the speaker's consent statement"),
        ConsentVerified.of(check),
        Stage(StageKind.BASE, 0.5, "joe speaks prompt 4 of 8"),
        Stage(StageKind.BASE, 1.0, "base model ready"),
        Stage(StageKind.DATA, 0.0, "checking takes"),
        Stage(StageKind.DATA, 0.5, "checked take 4 of 8"),
        TakeLeftOut.of(exclusion),
        DataReady(6, 90.0),
    ])
    assert shown[0].status == "Checking the speaker's consent statement…"
    assert shown[2].base is not None and shown[2].base.fraction == 0.5
    assert shown[2].status == "Preparing the base model (once per machine)…"
    assert not shown[3].base_done and shown[4].base_done  # the data stage ends the base step
    assert shown[5].status == "Checking takes: checked take 4 of 8"
    assert _log(shown) == [
        "checking the speaker's consent statement",
        "consent take takes/p0.wav: verified",
        shown[2].log[0],  # "preparing the base model (once per machine; measured: …)"
        "base model ready",
        "checking takes",  # the take-by-take progress is not logged
        "left out takes/p3.wav",
        "6 takes, 1.5 min of speech",
    ]
    assert shown[2].log[0].startswith("preparing the base model (once per machine; measured: ")

    shown = _feed(controller, [
        Loss(1, 500.0, 1.5, 400.0),
        Progress(1, 0.25, 75.0, 225.0),
        PreviewReady(1, Path("/p/step-000001.wav"), 0.81, 3.1),
        CheckpointSaved(1, Path("/p/best.pt"), True),
        CheckpointSaved(2, Path("/p/state.pt"), False),
    ])
    assert shown[0].loss == Loss(1, 500.0, 1.5, 400.0)
    assert shown[1].progress == (0.25, "step 1  ·  about 4 min left")
    assert shown[1].status == "Training  ·  step 1  ·  1:15 elapsed  ·  mel L1 1.500"
    assert shown[2].preview is not None
    assert _log(shown) == ["step 1: preview step-000001.wav, similarity 0.810  ·  quality 3.10",
                           "step 1: best so far (kept in best.pt)",
                           "step 2: checkpoint saved (a run can resume from here)"]

    finished = controller.handle(Finished(3, 0.82, False, 4))
    assert controller.state is TrainState.PUBLISHING and not controller.cancellable
    assert finished.progress == (1.0, "step 4  ·  done")
    assert finished.status == "Finished 4 steps; publishing the voice…"
    assert finished.log == ["training finished after 4 steps; best at step 3 (similarity 0.820)"]
    steps = _feed(controller, [Publishing(step) for step in PublishStep])
    assert controller.state is TrainState.PUBLISHING
    assert steps[1].status == "Publishing the voice: exporting the voice to ONNX…"
    assert _log(steps)[2] == "measuring the speaker's pitch and pace"

    voice = _published()
    shown = controller.handle(Published(voice))
    assert controller.state is TrainState.FINISHED and controller.published is voice
    assert shown.published is voice and shown.message.level is Level.OK
    assert shown.message.text.startswith("Your voice is ready: “pmatthes-2026” (similarity 0.840)")
    assert shown.status_bar == "New voice “pmatthes-2026” in project “pmatthes”"
    assert shown.log[1] == "prosody calibration: pitch +1.50 st, range ×1.20, length scale 1.05"
    ended = controller.ended()
    assert controller.state is TrainState.FINISHED and not controller.busy and ended.base_done
    assert controller.state == "finished"  # what run_ended carries


def test_cancel_publishes_the_best_so_far():
    controller, _ = _started()
    controller.handle(Loss(1, 1.0, 1.0, 1.0))
    shown = controller.cancel()
    assert controller.state is TrainState.CANCELLING and not controller.cancellable
    assert shown.status == "Cancelling after the current step…"
    assert controller.cancel() is None  # asked once
    shown = controller.handle(Finished(2, 0.8, True, 3))
    assert controller.state is TrainState.CANCELLED
    assert shown.log == ["training cancelled after 3 steps; best at step 2 (similarity 0.800)"]
    shown = controller.handle(Publishing(PublishStep.CONSENT))
    assert controller.state is TrainState.PUBLISHING_BEST
    assert "The best so far (step 2) is being published" in shown.message.text
    shown = controller.handle(Published(_published()))
    assert controller.state is TrainState.CANCELLED
    assert shown.message.text.startswith("Cancelled, but the best so far is ready")
    controller.ended()
    assert controller.state is TrainState.CANCELLED and controller.state == "cancelled"


def test_cancel_before_the_first_step_makes_no_voice():
    controller, _ = _started()
    controller.handle(Stage(StageKind.BASE, 0.3, "joe speaks prompt 3 of 8"))
    controller.cancel()
    shown = controller.handle(Finished(0, None, True, 0))
    assert shown.base_done  # the base step stops showing its preparation
    assert controller.state is TrainState.CANCELLED
    assert shown.status == "Cancelled before the first step."
    assert shown.message.text == "Training cancelled before the first step; no voice was made."
    assert not controller.ended().message


def test_a_consent_refusal_fails_the_run_and_offers_the_statement():
    controller, _ = _started()
    controller.handle(Stage(StageKind.CONSENT, 0.0, "checking the speaker's consent statement"))
    remedy = ConsentRemedy(Path("/p"), 0, "I consent.", again=True)
    reason = "the statement and the takes do not sound like the same person"
    refusal = ConsentRefusal(reason, remedy)
    shown = controller.handle(Failed("the statement … same person; record it again", refusal))
    assert controller.state is TrainState.FAILED and controller.refusal == refusal
    assert shown.message.level is Level.ERROR
    assert shown.message.text.startswith("The statement and the takes do not sound like the same")
    assert "“Record the statement again” below (prompt 1 in Record)" in shown.message.text
    assert shown.log == ["failed: the statement … same person; record it again"]
    assert shown.status == "Training stopped: see the message above."
    assert controller.handle(Failed("said twice")).message is None  # said once
    controller.ended()
    assert controller.state is TrainState.FAILED and controller.state == "failed"
    controller.statement_stored()
    assert controller.refusal is None


def test_a_refusal_for_a_project_no_longer_open_is_not_offered():
    controller, _ = _started()
    controller.open_project(SimpleNamespace(name="other"))  # switched while the run goes on
    assert controller.state is TrainState.RUNNING
    controller.handle(Failed("refused", ConsentRefusal("refused")))
    assert controller.state is TrainState.FAILED and controller.refusal is None


def test_resume_says_where_it_continues():
    controller = TrainController()
    shown = controller.start(PROJECT, True, None, None)
    assert shown.log == ["Resuming the training of “pmatthes” with a given configuration"]
    shown = _feed(controller, [Resumed(40), Loss(41, 2.0, 1.2, 0.5),
                               Progress(41, 0.5, 3700.0, None)])
    assert shown[0].log == ["resumed at step 40"]
    assert shown[2].progress == (0.5, "step 41  ·  estimating time left")
    assert shown[2].status == "Training  ·  step 41  ·  1:01:40 elapsed  ·  mel L1 1.200"


def test_a_publishing_failure_and_a_silent_end_are_failures():
    controller, _ = _started()
    controller.handle(Finished(4, 0.8, False, 4))
    controller.handle(Failed("training finished, but the voice could not be published: disk full"))
    assert controller.state is TrainState.FAILED

    controller, _ = _started()
    controller.handle(Loss(1, 1.0, 1.0, 1.0))
    shown = controller.ended()
    assert controller.state is TrainState.FAILED
    assert shown.message.text == "Training stopped without a result; see the log."


def test_a_closed_panel_ignores_what_arrives_later():
    controller, _ = _started()
    controller.close()
    assert controller.handle(Finished(0, None, True, 0)) == controller.handle(Loss(1, 1, 1, 1))
    assert controller.state is TrainState.CLOSED and not controller.busy
    assert controller.cancel() is None


def test_another_project_resets_an_idle_panel():
    controller, _ = _started()
    controller.handle(Failed("no takes"))
    controller.ended()
    shown = controller.open_project(None)
    assert controller.state is TrainState.IDLE and shown.clear and shown.status == ""


@pytest.mark.parametrize("seconds, words", [
    (None, "estimating time left"), (12.2, "12 s left"), (0.2, "1 s left"),
    (150, "about 2 min left"), (float("inf"), "estimating time left")])
def test_time_left_words(seconds, words):
    assert time_left(seconds) == words


def test_clock():
    assert clock(59.6) == "1:00" and clock(3661) == "1:01:01" and clock(-3) == "0:00"
