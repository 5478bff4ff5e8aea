"""``voicestudio record``: one prompt of a project from the microphone, without the window."""

from __future__ import annotations

import argparse
import sys

from voicestudio.errors import VoiceStudioError


def add_parser(sub) -> None:
    record = sub.add_parser(
        "record", help="record one prompt of a project from the microphone (headless)"
    )
    record.add_argument("--project", required=True, metavar="P", help="project folder or name")
    record.add_argument(
        "--prompt",
        type=int,
        metavar="N",
        help="prompt number, from 1 (default: the next one not yet recorded)",
    )
    record.add_argument(
        "--seconds",
        type=float,
        metavar="S",
        help="recording length (default: from the prompt's length)",
    )
    record.add_argument(
        "--device", metavar="NAME|INDEX", help="input device (default: the system's default input)"
    )


def run(args: argparse.Namespace) -> int:
    from voicestudio.audio.recorder import Recorder, RecorderError
    from voicestudio.project import recording
    from voicestudio.project.project import ProjectError, VoiceProject

    project = VoiceProject.open(args.project)
    if args.prompt is not None:
        index = args.prompt - 1  # people count prompts from 1, as they are shown
        if not 0 <= index < len(project.prompts):
            raise ProjectError(
                f"--prompt must be between 1 and {len(project.prompts)} (got {args.prompt})"
            )
    else:
        index = project.next_pending()
    if index is None:
        raise ProjectError("every prompt has a take already; give --prompt N to record a retake")
    prompt = project.prompt(index)
    seconds = args.seconds if args.seconds is not None else recording.suggested_take_s(prompt.text)
    if not recording.MIN_TAKE_S <= seconds <= recording.longest_take_s():
        raise VoiceStudioError(
            f"--seconds must be between {recording.MIN_TAKE_S:g} and {recording.longest_take_s():g}"
        )
    device = int(args.device) if args.device is not None and args.device.isdigit() else args.device
    recorder = Recorder(device, max_seconds=seconds)
    recorder.start()  # a missing or busy device fails here, before anything is shown
    print(f"prompt {index + 1} of {len(project.prompts)}: {prompt.text}", file=sys.stderr)
    print(
        f"recording {seconds:.1f} s from {recorder.device.name} "
        f"at {recorder.sample_rate} Hz — speak now",
        file=sys.stderr,
        flush=True,
    )
    try:
        recorder.wait(seconds + 5.0)
    finally:
        take = recorder.stop()
    if take.samples.size == 0:
        raise RecorderError(f"nothing was recorded{': ' + str(take.error) if take.error else ''}")
    # Save first: the checks take seconds, and an interruption there must not lose the take.
    saved = recording.save_recorded_take(project, index, take.samples, take.sample_rate)
    report = recording.check_recorded_take(take.samples, take.sample_rate, prompt.text)
    recording.store_report(project, saved, report)
    print(f"saved {saved.file} ({saved.duration_s:.2f} s): {report.verdict}")
    for check in report.checks:
        if check.verdict != "pass":
            print(f"  {check.verdict}: {check.name}: {check.message}")
    if take.error is not None:  # the device failed mid-take: what was captured is saved above
        raise take.error
    return 0
