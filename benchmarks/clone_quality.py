"""Clone quality after a quick and a studio-length fine-tune, beside the floor and ceiling.

For each speaker in ../shared/data/speech: hold out 10 sentences, make the first
recording the consent take (the gate compares it with the takes), put the rest into a
fresh voice project, fine-tune the base voice for the longest budget while keeping the
best checkpoint as it stood at each shorter budget, publish each (export + prosody
calibration), and score the held-out texts: speaker similarity (SECS) against the
speaker's real held-out recordings, PocketSphinx WER, MCD against the real recording of
the same sentence, F0 median and range. The base voice (joe) is the floor; real speech
(each held-out clip against the others) is the ceiling. The one-time base preparation
is timed separately.

    python benchmarks/clone_quality.py [--speakers pmatthes,ljspeech] [--minutes 5,30]
"""

from __future__ import annotations

import argparse
import csv
import datetime
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SPEECH = ROOT.parent / "shared" / "data" / "speech"
HELD_OUT = 10
GOALS = "goals: SECS >= 0.80 after 5 min and >= 0.85 after 30; F0 median within 1 st of the speaker's; " \
        "WER <= max(base, real) + 0.05"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--speakers", default="pmatthes,ljspeech")
    parser.add_argument("--minutes", default="5,30", help="comma-separated budgets; the run lasts the longest")
    parser.add_argument("--base-minutes", type=float, default=5.0)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    parser.add_argument("--train-duration", action="store_true",
                        help="also learn the speaker's rhythm (TrainConfig.train_duration), to compare")
    parser.add_argument("--train-flow", action="store_true", help="train the flow too (the old recipe), to compare")
    args = parser.parse_args()
    if not (SPEECH / "pmatthes" / "manifest.tsv").is_file():
        print(f"no speech corpus at {SPEECH}: nothing to measure")
        return 0
    budgets = sorted(float(m) for m in args.minutes.split(","))
    work = Path(tempfile.mkdtemp(prefix="vs-clone-bench-"))
    os.environ.setdefault("VOICESTUDIO_DATA_DIR", str(work / "data"))

    from voicestudio.training.base import BasePrepConfig, base_model_path, is_prepared, prepare_base

    base_cfg = BasePrepConfig(minutes=args.base_minutes, threads=args.threads)
    if not is_prepared():
        started = time.monotonic()
        prepare_base(base_cfg, lambda s, f, m: _log(f"base: {m}") if s != "synthesize" or f >= 1 else None)
        print(f"one-time base preparation: {time.monotonic() - started:.0f} s "
              f"({base_cfg.minutes:g} min distillation) -> {base_model_path()}", flush=True)
    else:
        print(f"base model already prepared at {base_model_path()}", flush=True)

    rows = []
    for speaker in args.speakers.split(","):
        rows += bench_speaker(speaker, budgets, work, args.threads,
                              {"train_duration": args.train_duration, "train_flow": args.train_flow})
    print()
    print(f"clone quality on held-out sentences ({HELD_OUT} per speaker), {args.threads} CPU threads")
    print(f"{'speaker':9} {'voice':16} {'SECS':>6} {'WER':>6} {'MCD dB':>7} {'F0 med':>7} {'vs spk':>7} "
          f"{'range st':>8} {'best step':>9}")
    for r in rows:
        print(f"{r['speaker']:9} {r['voice']:16} {_f(r['secs'], 3):>6} {_f(r['wer'], 2):>6} {_f(r['mcd'], 2):>7} "
              f"{_f(r['f0'], 1):>7} {_f(r['f0_vs_speaker'], 2, sign=True):>7} {_f(r['range'], 1):>8} "
              f"{r.get('steps', ''):>9}")
    print(GOALS)
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def bench_speaker(speaker: str, budgets: list[float], work: Path, threads: int, recipe: dict) -> list[dict]:
    import torch

    from voicestudio.audio.io import read_audio
    from voicestudio.evaluate.report import ReferenceClip, ReferenceSet, evaluate_voice
    from voicestudio.project.project import VoiceProject
    from voicestudio.text.script import CONSENT_TEMPLATE, fill_consent
    from voicestudio.training.finetune import Progress, Stage, TrainConfig, Trainer, TrainResult
    from voicestudio.training.publish import publish

    source = SPEECH / speaker
    with open(source / "manifest.tsv", encoding="utf-8") as f:
        entries = [(source / r["file"], r["transcript"]) for r in csv.DictReader(f, delimiter="\t")]
    held = entries[-HELD_OUT:]
    # The consent gate needs a take of the speaker on the statement prompt: the corpus has no
    # statement, so its first recording stands in for one (its reading taken as right, since it
    # reads another text) and is not trained on.
    consent, train = entries[0], entries[1:-HELD_OUT]
    statement = fill_consent(CONSENT_TEMPLATE, speaker, datetime.date.today())
    project = VoiceProject.create(speaker, parent=work, prompts=[statement] + [t for _p, t in train])
    for i, (path, _text) in enumerate([consent] + train):
        audio = read_audio(path)
        stand_in = {"verdict": "pass", "checks": [], "asr_text": statement} if i == 0 else None
        project.add_take(i, audio.samples, audio.sample_rate, report=stand_in, source=f"import:{path}", save=False)
    project.save()
    _log(f"{speaker}: {len(train)} training takes, {HELD_OUT} held out, {consent[0].name} as the consent take")

    snapshots: dict[float, Path] = {}
    best = project.models_dir / "training" / "best.pt"

    def on_event(event) -> None:
        if isinstance(event, Progress):
            for minutes in budgets[:-1]:
                if minutes not in snapshots and event.elapsed_s >= minutes * 60 and best.is_file():
                    snapshots[minutes] = best.with_name(f"best-at-{minutes:g}min.pt")
                    shutil.copy2(best, snapshots[minutes])
                    _log(f"{speaker}: snapshot at {minutes:g} min (step {event.step})")
            if event.step % 50 == 0:
                _log(f"{speaker}: step {event.step}, {event.elapsed_s / 60:.1f} min")
        elif isinstance(event, Stage) and event.stage == "data" and event.fraction >= 1.0:
            _log(f"{speaker}: {event.message}")

    config = TrainConfig(minutes=budgets[-1], threads=threads, **recipe)
    started = time.monotonic()
    result = Trainer(project, config, on_event).run()
    _log(f"{speaker}: trained {result.steps} steps in {time.monotonic() - started:.0f} s")
    snapshots[budgets[-1]] = result.best_path

    refs = ReferenceSet(source, "manifest", tuple(ReferenceClip(p, t) for p, t in held))
    texts = [t for _p, t in held]
    rows = []
    for n, minutes in enumerate(budgets):
        state = torch.load(snapshots[minutes], map_location="cpu", weights_only=True)
        snap = TrainResult(snapshots[minutes], int(state["step"]), float(state["score"]), int(state["step"]), False,
                           result.data)
        published = publish(project, snap, config)
        report = evaluate_voice(str(published.path), refs, texts, floor=(n == 0), provider="cpu")
        speaker_f0 = report.real.prosody.f0_median_hz
        if n == 0:
            rows.append(_row(speaker, "real (ceiling)", report.real.secs_ceiling, report.real.wer, None,
                             report.real.prosody, speaker_f0))
            rows.append(_row(speaker, "base voice joe", report.floor.secs, report.floor.wer, report.floor.mcd_db,
                             report.floor.prosody, speaker_f0))
        row = _row(speaker, f"clone {minutes:g} min", report.voice.secs, report.voice.wer, report.voice.mcd_db,
                   report.voice.prosody, speaker_f0)
        row["steps"] = snap.steps
        rows.append(row)
        c = published.calibration
        _log(f"{speaker} {minutes:g} min: calibration pitch {c.pitch_shift_st:+.2f} st, range x{c.range_scale:.2f}, "
             f"length {c.length_scale:.2f}")
    return rows


def _row(speaker, voice, secs, wer, mcd, prosody, speaker_f0) -> dict:
    import math

    f0 = prosody.f0_median_hz
    vs = 12 * math.log2(f0 / speaker_f0) if f0 and speaker_f0 else None
    return {"speaker": speaker, "voice": voice, "secs": secs, "wer": wer, "mcd": mcd, "f0": f0,
            "f0_vs_speaker": vs, "range": prosody.f0_range_st}


def _f(value, digits: int, sign: bool = False) -> str:
    if value is None:
        return "-"
    return f"{value:+.{digits}f}" if sign else f"{value:.{digits}f}"


def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
