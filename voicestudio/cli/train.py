"""`voicestudio train`: prepare the base model once, fine-tune a project, publish the voice.

The parser needs nothing of training but its torch-free events; torch and the trainer are
imported only when a training actually runs.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time

from voicestudio.commands import command
from voicestudio.training.control import NO_TORCH_MESSAGE
from voicestudio.training.events import (
    CheckpointSaved,
    Event,
    Failed,
    Finished,
    Loss,
    Notice,
    PreviewReady,
    Progress,
    Published,
    Stage,
    StageKind,
)


def add_parser(sub) -> None:
    train = sub.add_parser(
        "train",
        help="clone a voice: fine-tune the base voice on a project's takes",
        description="Fine-tune the base voice on a project's takes and register the new voice "
        "in the project. The first run on a machine also prepares the base model once (a few "
        "minutes).",
    )
    add = train.add_argument
    add("--project", metavar="P", help="project folder or name")
    budget = train.add_mutually_exclusive_group()
    budget.add_argument("--minutes", type=float, metavar="M",
                        help="training time budget (default 5; 30 for studio quality)")
    budget.add_argument("--steps", type=int, metavar="N",
                        help="train exactly N steps instead of a time budget")
    add("--device", choices=("auto", "cpu", "cuda"), default="auto",
        help="where to train (default auto)")
    add("--threads", type=int, metavar="N", help="CPU threads for training")
    add("--resume", action="store_true",
        help="continue the project's last training from its checkpoint")
    add("--prepare-base", action="store_true",
        help="only prepare the base model (once per machine)")
    add("--base-minutes", type=float, metavar="M",
        help="time for preparing the base model (default 5)")
    add("--base-texts", type=int, metavar="N",
        help="script prompts joe (the base voice) speaks for the base model (default all)")
    add("--checkpoint-every", type=int, metavar="STEPS",
        help="save a resumable checkpoint every N steps (default every minute)")
    add("--evaluate-every", type=int, metavar="STEPS",
        help="preview and score every N steps (default every minute)")
    add("--min-takes", type=int, metavar="N",
        help="refuse to train with fewer usable takes (default 4)")
    add("--min-seconds", type=float, metavar="S",
        help="refuse to train with less speech (default 20)")


def run(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from voicestudio.errors import VoiceStudioError

    if args.minutes is not None and not 0 < args.minutes <= 24 * 60:
        raise VoiceStudioError("--minutes must be more than 0 and at most 1440")
    if args.steps is not None and args.steps < 1:
        raise VoiceStudioError("--steps must be at least 1")
    if args.threads is not None and args.threads < 1:
        raise VoiceStudioError("--threads must be at least 1")
    if not args.prepare_base and not args.project:
        raise VoiceStudioError("name the project to train: --project P (or --prepare-base alone)")
    try:
        import torch  # noqa: F401
    except ImportError:
        raise VoiceStudioError(NO_TORCH_MESSAGE) from None
    from voicestudio.training.base import BasePrepConfig, ensure_base, prepare_base
    from voicestudio.training.dataset import DataConfig
    from voicestudio.training.finetune import TrainConfig

    base = BasePrepConfig()
    if args.base_minutes is not None:
        base = replace(base, minutes=args.base_minutes)
    if args.base_texts is not None:
        base = replace(base, texts=args.base_texts)
    bar = ProgressBar()
    if args.prepare_base:
        bar.stage(STAGE_TITLES[StageKind.BASE])
        prepare = prepare_base if not args.project else ensure_base
        prepare(base, lambda stage, fraction, message: bar.update(fraction, message))
        bar.done("base model ready")
        if not args.project:
            return 0
    data = DataConfig()
    if args.min_takes is not None:
        data = replace(data, min_takes=args.min_takes)
    if args.min_seconds is not None:
        data = replace(data, min_seconds=args.min_seconds)
    config = TrainConfig(
        minutes=args.minutes if args.minutes is not None else 5.0,
        steps=args.steps,
        device=args.device,
        threads=args.threads,
        checkpoint_every_steps=args.checkpoint_every,
        evaluate_every_steps=args.evaluate_every,
        data=data,
        base=base,
    )
    return train_project(args.project, config, args.resume, bar)


def train_project(spec: str, config, resume: bool, bar: ProgressBar) -> int:
    from voicestudio.project.project import VoiceProject
    from voicestudio.training.job import train_and_publish

    project = VoiceProject.open(spec)
    try:
        train_and_publish(project, config, TrainReport(bar, project), resume=resume)
    except KeyboardInterrupt:
        print("voicestudio: interrupted; the last checkpoint is kept (continue with "
              f"`{command('train', '--project', project.folder, '--resume')}`)", file=sys.stderr)
        return 130
    return 0


#: The heading printed when a run enters a stage.
STAGE_TITLES = {
    StageKind.CONSENT: "checking consent",
    StageKind.BASE: "preparing the base model (once per machine)",
    StageKind.DATA: "checking takes",
    StageKind.TRAIN: "training",
    StageKind.PUBLISH: "publishing the voice",
}


class TrainReport:
    """A run's events on the terminal: a heading per stage, a progress bar within it,
    notices as notes, and the published voice's summary."""

    def __init__(self, bar: ProgressBar, project) -> None:
        self.bar, self.project = bar, project
        self.stage: StageKind | None = None
        self.mel_l1: float | None = None

    def __call__(self, event: Event) -> None:
        if event.stage is not None and event.stage is not self.stage:
            self.stage = event.stage
            self.bar.stage(STAGE_TITLES[event.stage])
        if isinstance(event, Stage):
            self.bar.update(event.fraction, event.message)
        elif isinstance(event, Notice):
            self.bar.note(event.message)
        elif isinstance(event, Loss):
            self.mel_l1 = event.mel_l1
        elif isinstance(event, Progress):
            eta = f", {event.eta_s / 60:.1f} min left" if event.eta_s is not None else ""
            loss = f", mel L1 {self.mel_l1:.3f}" if self.mel_l1 is not None else ""
            self.bar.update(event.fraction, f"step {event.step}{loss}{eta}")
        elif isinstance(event, PreviewReady):
            score = "no score" if event.similarity is None else f"similarity {event.similarity:.3f}"
            quality = f", quality {event.quality:.2f}" if event.quality is not None else ""
            self.bar.note(f"step {event.step}: preview {event.path.name}, {score}{quality}")
        elif isinstance(event, CheckpointSaved) and not event.best:
            self.bar.note_quiet(f"checkpoint at step {event.step}")
        elif isinstance(event, Finished):
            what = "cancelled" if event.cancelled else "finished"
            self.bar.done(f"training {what} after {event.steps} steps; "
                          f"best at step {event.best_step}")
        elif isinstance(event, Failed):  # main() prints the error itself
            what = "publishing" if self.stage is StageKind.PUBLISH else "training"
            self.bar.done(f"{what} stopped; the reason follows")
        elif isinstance(event, Published):
            self._summary(event.voice)

    def _summary(self, published) -> None:
        c, similarity = published.calibration, published.entry.similarity
        print(f"voice saved: {published.path}")
        score = f"{similarity:.3f}" if similarity is not None else "not measured"
        print(f"  speaker similarity {score}; prosody calibration: pitch "
              f"{c.pitch_shift_st:+.2f} st, range ×{c.range_scale:.2f}, "
              f"length scale {c.length_scale:.2f}")
        say = command("say", "--voice", self.project.folder, "Hello.", "-o", "hello.wav")
        print(f"  speak with it: {say}")


class ProgressBar:
    """A one-line progress bar on a terminal; plain lines when output is not a terminal."""

    def __init__(self, stream=None) -> None:
        self.stream = stream or sys.stdout
        self.tty = self.stream.isatty()
        self.width = max(20, min(40, shutil.get_terminal_size((80, 20)).columns - 50))
        self._last_plain = 0.0

    def stage(self, title: str) -> None:
        self._end_line()
        print(f"== {title}", file=self.stream, flush=True)

    def update(self, fraction: float, message: str) -> None:
        fraction = min(1.0, max(0.0, fraction))
        if self.tty:
            filled = int(round(fraction * self.width))
            bar = "#" * filled + "." * (self.width - filled)
            line = f"\r[{bar}] {fraction * 100:5.1f}% {message}"
            self.stream.write(line[: shutil.get_terminal_size((120, 20)).columns - 1].ljust(60))
            self.stream.flush()
        elif time.monotonic() - self._last_plain >= 5.0 or fraction >= 1.0:
            print(f"{fraction * 100:5.1f}% {message}", file=self.stream, flush=True)
            self._last_plain = time.monotonic()

    def note(self, message: str) -> None:
        self._end_line()
        print(f"   {message}", file=self.stream, flush=True)

    def note_quiet(self, message: str) -> None:
        if not self.tty:
            print(f"   {message}", file=self.stream, flush=True)

    def done(self, message: str) -> None:
        self._end_line()
        print(f"   {message}", file=self.stream, flush=True)

    def _end_line(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()
