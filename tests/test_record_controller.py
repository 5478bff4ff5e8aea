"""The Record panel's decisions without Qt (voicestudio.gui.controllers.record): controls,
texts, the skip target, input choices, saving a capture and the queue of takes to check."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from voicestudio.audio.devices import AudioDevice
from voicestudio.audio.recorder import Capture, RecorderError, StopReason
from voicestudio.audio.take_report import CheckResult, TakeReport
from voicestudio.gui.controllers import record as control
from voicestudio.project.importer import ImportReport
from voicestudio.project.project import VoiceProject
from voicestudio.text.script import CONSENT_TEMPLATE, fill_consent

PROMPTS = [
    fill_consent(CONSENT_TEMPLATE, "Ann", "May 1, 2026"),
    "The garden is full of yellow flowers this spring, and the bees are busy all day long.",
    "Please close the window.",
    "It rained all night.",
]
RATE = 48_000


@pytest.fixture
def project(tmp_path) -> VoiceProject:
    return VoiceProject.create("Ctl", tmp_path, speaker="Ann", prompts=PROMPTS)


def _capture(seconds: float = 1.0, **kwargs) -> Capture:
    samples = np.full(int(seconds * RATE), 0.01, np.float32)
    return Capture(samples, RATE, kwargs.pop("stop_reason", StopReason.STOPPED), "vmic", **kwargs)


def test_the_controller_needs_no_qt():
    script = (
        "import sys, voicestudio.gui.controllers.record; "
        "print(any(name.startswith('PySide6') for name in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_controls_while_idle_recording_and_importing(project):
    idle = control.controls(
        project, 0, recording=False, importing=False, has_take=False, playing=False
    )
    assert idle.record and idle.skip and idle.next and idle.import_recordings and idle.choose_input
    assert not idle.previous and not idle.retake and not idle.play
    assert idle.record_text == "● Record" and idle.play_text == "▶ Play take"
    busy = control.controls(
        project, 1, recording=True, importing=False, has_take=True, playing=False
    )
    assert busy.record and busy.record_text == "■ Stop"
    assert not any(
        (
            busy.retake,
            busy.skip,
            busy.previous,
            busy.next,
            busy.play,
            busy.import_recordings,
            busy.choose_input,
        )
    )
    importing = control.controls(
        project, 3, recording=False, importing=True, has_take=True, playing=True
    )
    assert not importing.record and not importing.retake and not importing.next
    assert importing.previous and importing.play and importing.play_text == "■ Stop playback"
    none = control.controls(
        None, 0, recording=False, importing=False, has_take=False, playing=False
    )
    assert not none.record and not none.import_recordings and none.choose_input


def test_refusals_say_why(project, tmp_path):
    assert control.cannot_record(None, False).text == control.NO_PROJECT_HINT
    empty = VoiceProject.create("Empty", tmp_path, prompts=[], consent_index=None)
    assert control.cannot_record(empty, False).text == "This project has no prompts to record."
    assert control.cannot_record(project, True).level == "warning"
    assert control.cannot_record(project, False) is None
    assert control.cannot_import(None, False, False).level == "info"
    assert "in progress" in control.cannot_import(project, True, False).text
    assert "still being checked" in control.cannot_import(project, False, True).text
    assert control.cannot_import(project, False, False) is None


def test_input_choices_put_the_default_first_and_store_it_as_none():
    mic = AudioDevice(0, "Built-in", "input", 2, 48_000, False)
    usb = AudioDevice(4, "USB Mic", "input", 1, 44_100, True)
    choices = control.input_choices([mic, usb])
    assert choices == [
        control.InputChoice("USB Mic (system default)", None),
        control.InputChoice("Built-in", "Built-in"),
    ]
    # No default reported: the first device stands in for it.
    assert control.input_choices([mic])[0] == control.InputChoice("Built-in (system default)", None)
    assert control.input_choices([]) == []


def test_recording_texts():
    assert control.seconds_text(4.25) == "0:04.2" and control.seconds_text(90) == "1:30.0"
    assert control.recording_status(4.0, 20.0, "vmic", RATE) == (
        "● Recording 0:04.0 (stops by itself at 20 s) · vmic · 48000 Hz"
    )
    assert control.lost_audio_text(0, 0) is None
    assert control.lost_audio_text(1, 480) == "Audio lost: 1 input overflows, 480 dropped frames"
    assert control.recorded_text(_capture(1.5)) == "Recorded 1.5 s from vmic at 48000 Hz"
    lossy = _capture(1.0, input_overflows=2, dropped_frames=10)
    assert control.recorded_text(lossy).endswith(" · audio lost: 2 overflows, 10 frames")
    failed = _capture(1.0, input_overflows=2, error=RecorderError("gone"))
    assert "audio lost" not in control.recorded_text(failed)  # the error says more


def test_saving_a_capture(project):
    saved, notice = control.save_capture(project, 1, _capture(1.0))
    assert saved is not None and notice is None and project.prompts[1].chosen_take is saved
    saved, notice = control.save_capture(
        project, 2, _capture(0.5, stop_reason=StopReason.MAX_LENGTH)
    )
    assert saved is not None and notice.level == "warning" and "maximum take length" in notice.text
    broken = _capture(0.5, stop_reason=StopReason.ERROR, error=RecorderError("device gone"))
    saved, notice = control.save_capture(project, 3, broken)
    assert saved is not None and notice == control.Notice("device gone", "error")
    nothing = _capture(0.0, stop_reason=StopReason.ERROR, error=RecorderError("no sound"))
    assert control.save_capture(project, 0, nothing) == (
        None,
        control.Notice("Nothing was recorded: no sound", "error"),
    )
    assert control.save_capture(project, 0, _capture(0.0))[1].text == "Nothing was recorded."
    assert VoiceProject.open(project.folder).summary().takes == 3


def test_a_take_that_cannot_be_written_is_an_error_to_act_on(project, monkeypatch):
    def disk_full(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(control.recording, "save_recorded_take", disk_full)
    saved, notice = control.save_capture(project, 1, _capture(0.5))
    assert saved is None and notice.level == "error"
    assert notice.text.startswith("The take could not be saved: [Errno 28] No space left")
    assert "Free some disk space" in notice.text


def test_the_check_queue_runs_one_take_at_a_time_in_order(project):
    first = control.save_capture(project, 1, _capture(0.5))[0]
    second = control.save_capture(project, 2, _capture(0.5))[0]
    queue = control.CheckQueue()
    assert not queue.busy and queue.start_next() is None
    for index, take in ((1, first), (2, second)):
        queue.add(control.PendingCheck(project, index, take, np.zeros(1), RATE, PROMPTS[index]))
    assert queue.busy and queue.holds(first) and queue.holds(second)
    started = queue.start_next()
    assert started.take is first and queue.current is started
    assert queue.start_next() is None  # one at a time
    assert queue.finish() is started and not queue.holds(first) and queue.holds(second)
    assert control.prompt_row(project, 2, queue).verdict == "checking"
    queue.drop_waiting()
    assert not queue.busy and queue.finish() is None


def test_prompt_rows_progress_and_captions(project):
    queue = control.CheckQueue()
    row = control.prompt_row(project, 0, queue)
    assert row.number == "1" and row.text.startswith("Consent: ") and row.verdict == "—"
    long_row = control.prompt_row(project, 1, queue)
    assert len(long_row.text) == control.PROMPT_COLUMN_CHARS and long_row.text.endswith("…")
    assert long_row.tooltip == PROMPTS[1]
    project.skip(3)
    assert control.prompt_row(project, 3, queue).verdict == "skipped"
    assert (
        control.progress_text(project, 0) == "Prompt 1 of 4 · consent statement · not recorded yet"
    )
    assert control.progress_text(project, 3) == "Prompt 4 of 4 · skipped"
    take = control.save_capture(project, 2, _capture(2.0))[0]
    prompt = project.prompts[2]
    assert control.progress_text(project, 2) == "Prompt 3 of 4 · 1 take"
    assert control.prompt_row(project, 2, queue).verdict == "unchecked"
    assert control.take_caption(prompt, take, True).endswith("· checking the take…")
    assert (
        control.take_caption(prompt, take, False) == "Take 1 of 1 · 2.0 s · 48000 Hz · not checked"
    )
    take.report = TakeReport([CheckResult("level", "warn", "Quiet.", -36.0)])
    assert control.take_caption(prompt, take, False).endswith(
        "warn: usable; a retake may be better"
    )
    assert control.summary_text(project.summary()) == "1 of 4 recorded · 0.0 min · 1 skipped"


def test_check_rows_follow_the_studio_order_with_readable_names():
    checks = [
        CheckResult("asr", "pass", "ok"),
        CheckResult("mystery", "warn", "?"),
        CheckResult("level", "fail", "loud"),
    ]
    assert [label for label, _ in control.check_rows(checks)] == ["Level", "Reading", "mystery"]


def test_skip_goes_to_the_next_prompt_not_recorded(project):
    control.save_capture(project, 2, _capture(0.5))
    assert control.prompt_after_skip(project, 1) == 3  # prompt 3 has a take: passed over
    assert control.prompt_after_skip(project, 3) == 3  # the last one: stay
    for index in (0, 1, 3):
        control.save_capture(project, index, _capture(0.5))
    assert control.prompt_after_skip(project, 0) == 1  # all recorded: simply the next


def test_import_notice_lists_what_was_skipped():
    ok = control.import_notice(ImportReport("manifest.tsv", imported=1, seconds=90.0), "/in")
    assert ok == control.Notice("Imported 1 take (1.5 min) from /in [manifest.tsv].", "ok")
    skipped = [(f"f{i}.wav", "no transcript") for i in range(5)]
    report = ImportReport("LJSpeech metadata.csv", imported=3, already_present=2, skipped=skipped)
    notice = control.import_notice(report, "/in")
    assert notice.level == "warning" and "; 2 were already in the project" in notice.text
    assert notice.text.endswith(
        "Skipped 5: f0.wav: no transcript; f1.wav: no transcript; f2.wav: no transcript and 2 more."
    )
