"""Clone quality after a quick and a studio-length fine-tune, beside the floor and ceiling.

For each speaker in ../shared/data/speech: hold out its last 10 sentences, make the first
recording the consent take (the gate compares it with the takes), put the next ones (at
most ``--max-takes``; by default one run with 60, about 4 minutes, what a user records in a
sitting, and one with all of them, 0) into a fresh voice project, fine-tune the base voice
for the longest budget while keeping the best checkpoint as it stood at each shorter budget,
publish each (export +
prosody calibration), and score the held-out texts: speaker similarity (SECS) against the
speaker's real held-out recordings, DNSMOS quality (OVRL, SIG), PocketSphinx WER, MCD
against the real recording of the same sentence, frame-rate buzz, F0 median and range
against the speaker's, and how far the calibration still shifts the pitch. The base voice
(joe) is the floor; real speech (each held-out clip against the others) is the ceiling.
The one-time base preparation is timed separately. Every figure also goes to
``benchmarks/results/clone_quality-DATE.json``.

    python benchmarks/clone_quality.py [--speakers pmatthes,ljspeech] [--minutes 5,30] \
        [--max-takes 60,0]

Set VOICESTUDIO_DATA_DIR to a folder kept between runs to prepare the base model once.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from corpus import recordings  # noqa: E402

HELD_OUT = 10
DEFAULT_MAX_TAKES = "60,0"  # the capped case (about 4 min of takes) and everything


@dataclass
class Row:
    """One voice of one run: a table row and a JSON record."""

    speaker: str
    takes: str
    voice: str
    secs: float | None = None
    ovrl: float | None = None
    sig: float | None = None
    wer: float | None = None
    mcd: float | None = None
    buzz: float | None = None
    f0: float | None = None
    f0_vs_speaker: float | None = None  # semitones
    range_st: float | None = None
    range_vs_speaker: float | None = None  # ratio to the speaker's range
    shift_st: float | None = None  # the calibration's pitch shift (clones only)
    steps: int | None = None
    notes: list[str] = field(default_factory=list)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--speakers", default="pmatthes,ljspeech")
    parser.add_argument("--minutes", default="5,30",
                        help="comma-separated budgets; the run lasts the longest")
    parser.add_argument("--max-takes", default=DEFAULT_MAX_TAKES,
                        help="training takes per speaker, comma-separated for several runs "
                             "(0 = all)")
    parser.add_argument("--base-minutes", type=float, default=5.0)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    parser.add_argument("--label", default="", help="a name for this recipe in the JSON record")
    parser.add_argument("--raw", action="store_true",
                        help="also score each clone without its prosody calibration (the "
                             "model's own pitch, no WORLD pass)")
    parser.add_argument("--train-duration", action="store_true",
                        help="also learn the speaker's rhythm (TrainConfig.train_duration), to "
                             "compare")
    parser.add_argument("--train-flow", action="store_true",
                        help="train the flow too (the old recipe), to compare")
    parser.add_argument("--train-prior", action="store_true",
                        help="let the prior's projection learn (TrainConfig.train_prior), to "
                             "compare")
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                        help="any other TrainConfig field, e.g. --set c_sync=1 (repeatable), to "
                             "compare recipes")
    args = parser.parse_args()
    if not recordings("pmatthes"):
        print("no speech corpus in ../shared/data/speech: nothing to measure")
        return 0
    budgets = sorted(float(m) for m in args.minutes.split(","))
    caps = [int(n) for n in args.max_takes.split(",")]
    work = Path(tempfile.mkdtemp(prefix="vs-clone-bench-"))
    os.environ.setdefault("VOICESTUDIO_DATA_DIR", str(work / "data"))

    from voicestudio.training.base import BasePrepConfig, base_model_path, is_prepared, prepare_base

    base_cfg = BasePrepConfig(minutes=args.base_minutes, threads=args.threads)
    base_s = None
    if not is_prepared():
        started = time.monotonic()
        prepare_base(base_cfg,
                     lambda s, f, m: _log(f"base: {m}") if s != "synthesize" or f >= 1 else None)
        base_s = time.monotonic() - started
        print(f"one-time base preparation: {base_s:.0f} s ({base_cfg.minutes:g} min "
              f"distillation) -> {base_model_path()}", flush=True)
    else:
        print(f"base model already prepared at {base_model_path()}", flush=True)

    recipe = {"train_duration": args.train_duration, "train_flow": args.train_flow,
              "train_prior": args.train_prior, **_settings(args.set)}
    rows: list[Row] = []
    for speaker in args.speakers.split(","):
        for cap in _distinct_caps(caps, len(recordings(speaker)) - 1 - HELD_OUT):
            rows += bench_speaker(speaker, budgets, cap, work, args.threads, recipe, args.raw)
    print()
    print(f"clone quality on held-out sentences ({HELD_OUT} per speaker), "
          f"{args.threads} CPU threads")
    print(format_table(rows))
    print()
    print("\n".join(goal_lines(rows, budgets)))
    _save(rows, args, budgets, base_s)
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def _distinct_caps(caps: list[int], available: int) -> list[int]:
    """The caps that train on different take sets: a cap at or above what the speaker has
    is the same run as "all" (ljspeech has 21 takes, so 60 and 0 would train twice alike)."""
    seen: set[int] = set()
    out = []
    for cap in caps:
        count = available if cap <= 0 else min(cap, available)
        if count not in seen:
            seen.add(count)
            out.append(cap)
    return out


def bench_speaker(speaker: str, budgets: list[float], cap: int, work: Path, threads: int,
                  recipe: dict, raw: bool = False) -> list[Row]:
    import torch

    from voicestudio.audio.io import read_audio
    from voicestudio.audio.take_report import TakeReport
    from voicestudio.project.project import IMPORT_SOURCE_PREFIX, VoiceProject
    from voicestudio.text.script import CONSENT_TEMPLATE, fill_consent
    from voicestudio.training.events import (
        DataReady,
        PreviewReady,
        Progress,
        TakeLeftOut,
        TakesScreened,
    )
    from voicestudio.training.finetune import TrainConfig, Trainer, TrainResult
    from voicestudio.training.publish import publish
    from voicestudio.voice.evaluation import ReferenceClip, ReferenceSet, evaluate_voice

    entries = recordings(speaker)
    held = entries[-HELD_OUT:]
    # The consent gate needs a take of the speaker on the statement prompt: the corpus has no
    # statement, so its first recording stands in for one (its reading taken as right, since it
    # reads another text) and is not trained on.
    consent, train = entries[0], entries[1:-HELD_OUT]
    if cap > 0:
        train = train[:cap]  # the first ones, as a user records the script in order
    takes = f"{len(train)}"
    statement = fill_consent(CONSENT_TEMPLATE, speaker, datetime.date.today())
    project = VoiceProject.create(f"{speaker}-{len(train)}", parent=work,
                                  prompts=[statement] + [t for _p, t in train])
    seconds = 0.0
    for i, (path, _text) in enumerate([consent] + train):
        audio = read_audio(path)
        seconds += audio.duration_s if i else 0.0
        stand_in = TakeReport(asr_text=statement) if i == 0 else None
        project.add_take(i, audio.samples, audio.sample_rate, report=stand_in,
                         source=f"{IMPORT_SOURCE_PREFIX}{path}", save=False)
    project.save()
    takes = f"{len(train)} ({seconds / 60:.1f} min)"
    _log(f"{speaker}: {takes} training takes, {HELD_OUT} held out, {consent[0].name} as the "
         "consent take")

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
        elif isinstance(event, (TakesScreened, TakeLeftOut, DataReady)):
            _log(f"{speaker}: {event.message}")
        elif isinstance(event, PreviewReady):  # the curve the best checkpoint is chosen from
            _log(f"{speaker}: evaluation at step {event.step}: similarity "
                 f"{_f(event.similarity, 3)}, quality {_f(event.quality, 2)}")

    config = TrainConfig(minutes=budgets[-1], threads=threads, **recipe)
    started = time.monotonic()
    result = Trainer(project, config, on_event).run()
    _log(f"{speaker}: trained {result.steps} steps in {time.monotonic() - started:.0f} s")
    snapshots[budgets[-1]] = result.best_path

    refs = ReferenceSet(entries[0][0].parent, "manifest",
                        tuple(ReferenceClip(p, t) for p, t in held))
    texts = [t for _p, t in held]
    rows: list[Row] = []
    for n, minutes in enumerate(budgets):
        state = torch.load(snapshots[minutes], map_location="cpu", weights_only=True)
        snap = TrainResult(snapshots[minutes], int(state["step"]), float(state["score"]),
                           int(state["step"]), False, result.data)
        published = publish(project, snap, config)
        report = evaluate_voice(str(published.path), refs, texts, floor=(n == 0), provider="cpu")
        real = report.real
        if n == 0:
            rows.append(_row(speaker, takes, "real (ceiling)", real.secs_ceiling, real.quality,
                             real.wer, None, real.buzz, real.prosody, real.prosody))
            f = report.floor
            rows.append(_row(speaker, takes, "base voice joe", f.secs, f.quality, f.wer, f.mcd_db,
                             f.buzz, f.prosody, real.prosody))
        v = report.voice
        row = _row(speaker, takes, f"clone {minutes:g} min", v.secs, v.quality, v.wer, v.mcd_db,
                   v.buzz, v.prosody, real.prosody)
        row.steps = snap.steps
        row.shift_st = published.calibration.pitch_shift_st
        row.notes = list(report.notes)
        rows.append(row)
        c = published.calibration
        _log(f"{speaker} {minutes:g} min: calibration pitch {c.pitch_shift_st:+.2f} st, range "
             f"x{c.range_scale:.2f}, length {c.length_scale:.2f}")
        if raw:
            report = evaluate_voice(str(_uncalibrated(published.path, work)), refs, texts,
                                    floor=False, provider="cpu")
            v = report.voice
            row = _row(speaker, takes, f"clone {minutes:g} raw", v.secs, v.quality, v.wer, v.mcd_db,
                       v.buzz, v.prosody, real.prosody)
            row.steps, row.shift_st = snap.steps, 0.0
            rows.append(row)
    return rows


def _uncalibrated(model: Path, work: Path) -> Path:
    """The same voice with its sidecar's prosody calibration taken out (a copy beside it)."""
    from voicestudio.styling.calibration import SIDECAR_KEY

    folder = work / "raw" / model.stem
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / model.name
    shutil.copyfile(model, target)
    sidecar = json.loads(model.with_name(model.name + ".json").read_text(encoding="utf-8"))
    sidecar.get("voicestudio", {}).pop(SIDECAR_KEY, None)
    target.with_name(target.name + ".json").write_text(json.dumps(sidecar), encoding="utf-8")
    return target


def _row(speaker, takes, voice, secs, quality, wer, mcd, buzz, prosody, speaker_prosody) -> Row:
    f0, ref_f0 = prosody.f0_median_hz, speaker_prosody.f0_median_hz
    vs = 12 * math.log2(f0 / ref_f0) if f0 and ref_f0 else None
    spread, ref_spread = prosody.f0_range_st, speaker_prosody.f0_range_st
    ratio = spread / ref_spread if spread is not None and ref_spread else None
    return Row(speaker, takes, voice, secs=secs, ovrl=quality.ovrl if quality else None,
               sig=quality.sig if quality else None, wer=wer, mcd=mcd, buzz=buzz, f0=f0,
               f0_vs_speaker=vs, range_st=spread, range_vs_speaker=ratio)


def format_table(rows: list[Row]) -> str:
    head = (f"{'speaker':9} {'takes':12} {'voice':15} {'SECS':>6} {'OVRL':>5} {'SIG':>5} "
            f"{'WER':>5} {'MCD':>6} {'buzz':>5} {'F0 Hz':>6} {'vs spk':>7} {'range':>6} "
            f"{'x spk':>6} {'shift':>6} {'step':>5}")
    lines = [head]
    for r in rows:
        lines.append(
            f"{r.speaker:9} {r.takes:12} {r.voice:15} {_f(r.secs, 3):>6} {_f(r.ovrl, 2):>5} "
            f"{_f(r.sig, 2):>5} {_f(r.wer, 2):>5} {_f(r.mcd, 2):>6} {_f(r.buzz, 2):>5} "
            f"{_f(r.f0, 1):>6} {_f(r.f0_vs_speaker, 2, sign=True):>7} {_f(r.range_st, 1):>6} "
            f"{_f(r.range_vs_speaker, 2):>6} {_f(r.shift_st, 1, sign=True):>6} "
            f"{r.steps if r.steps is not None else '':>5}")
    lines.append("MCD in dB; F0 vs spk and shift (the calibration's) in semitones; range: F0 "
                 "p10-p90 in semitones, x spk: its ratio to the speaker's; buzz: natural speech "
                 "about 1")
    return "\n".join(lines)


def goal_lines(rows: list[Row], budgets: list[float]) -> list[str]:
    """Issue 15's goals, each marked met or not, per speaker and take count."""
    out = ["goals (issue 15):"]
    groups: dict[tuple[str, str], dict[str, Row]] = {}
    for r in rows:
        groups.setdefault((r.speaker, r.takes), {})[r.voice] = r
    for (speaker, takes), g in groups.items():
        real, base = g.get("real (ceiling)"), g.get("base voice joe")
        if real is None or base is None:
            continue
        for minutes in budgets:
            clone = g.get(f"clone {minutes:g} min")
            if clone is None:
                continue
            secs_goal = 0.85 if minutes >= 30 else 0.80
            checks = [
                (f"SECS {_f(clone.secs, 3)} >= {secs_goal}", _ge(clone.secs, secs_goal)),
                (f"OVRL {_f(clone.ovrl, 2)} within 0.2 of base {_f(base.ovrl, 2)} and >= real-0.3",
                 _ge(clone.ovrl, max((base.ovrl or 0) - 0.2, (real.ovrl or 0) - 0.3))),
                (f"SIG {_f(clone.sig, 2)} within 0.2 of base {_f(base.sig, 2)} and >= real-0.3",
                 _ge(clone.sig, max((base.sig or 0) - 0.2, (real.sig or 0) - 0.3))),
                (f"WER {_f(clone.wer, 2)} <= {_f(max(base.wer or 0, real.wer or 0) + 0.05, 2)}",
                 clone.wer is not None and clone.wer <= max(base.wer or 0, real.wer or 0) + 0.05),
                (f"F0 {_f(clone.f0_vs_speaker, 2, sign=True)} st within 1",
                 clone.f0_vs_speaker is not None and abs(clone.f0_vs_speaker) <= 1.0),
                (f"range x{_f(clone.range_vs_speaker, 2)} within 30 %",
                 clone.range_vs_speaker is not None and abs(clone.range_vs_speaker - 1) <= 0.3),
            ]
            marks = "; ".join(f"{text}: {'met' if ok else 'MISSED'}" for text, ok in checks)
            out.append(f"  {speaker} {takes} takes, {minutes:g} min: {marks}; calibration shift "
                       f"{_f(clone.shift_st, 1, sign=True)} st")
        if len(budgets) > 1:
            short, long = g.get(f"clone {budgets[0]:g} min"), g.get(f"clone {budgets[-1]:g} min")
            if short and long:
                better = _ge(long.secs, (short.secs or 0) + 1e-9)
                verdict = "better" if better else "NOT better"
                out.append(f"  {speaker} {takes}: {budgets[-1]:g} min SECS {_f(long.secs, 3)} vs "
                           f"{budgets[0]:g} min {_f(short.secs, 3)}: {verdict}")
    return out


def _settings(pairs: list[str]) -> dict:
    """``["c_sync=1", "data.denoise=1"]`` as TrainConfig keyword arguments of each field's type
    (``data.`` fields go into its DataConfig)."""
    from dataclasses import fields

    from voicestudio.training.dataset import DataConfig
    from voicestudio.training.finetune import TrainConfig

    out: dict = {}
    data: dict = {}
    for pair in pairs:
        name, _, value = pair.partition("=")
        if name.startswith("data."):
            target, cls, key = data, DataConfig, name[5:]
        else:
            target, cls, key = out, TrainConfig, name
        types = {f.name: str(f.type) for f in fields(cls)}
        if key not in types:
            raise SystemExit(f"--set: {cls.__name__} has no field {key!r}")
        kind = types[key]
        target[key] = (value.lower() in ("1", "true", "yes")) if kind == "bool" else \
            int(value) if kind.startswith("int") else value if kind == "str" else float(value)
    if data:
        out["data"] = DataConfig(**data)
    return out


def _ge(value: float | None, limit: float) -> bool:
    return value is not None and value >= limit


def _save(rows: list[Row], args, budgets: list[float], base_s: float | None) -> None:
    folder = ROOT / "benchmarks" / "results"
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.datetime.now().strftime("%Y-%m-%dT%H%M")
    path = folder / f"clone_quality-{stamp}{'-' + args.label if args.label else ''}.json"
    record = {"date": stamp, "label": args.label, "budgets_min": budgets,
              "max_takes": args.max_takes, "threads": args.threads, "base_preparation_s": base_s,
              "settings": args.set, "recipe": _recipe(args, budgets),
              "load_average": os.getloadavg(), "rows": [asdict(r) for r in rows]}
    path.write_text(json.dumps(record, indent=1), encoding="utf-8")
    print(f"saved {path}")


def _recipe(args, budgets: list[float]) -> dict:
    """Every TrainConfig field this run trained with (the defaults included: they change)."""
    from voicestudio.training.finetune import TrainConfig

    recipe = {"train_duration": args.train_duration, "train_flow": args.train_flow,
              "train_prior": args.train_prior, **_settings(args.set)}
    return asdict(TrainConfig(minutes=budgets[-1], threads=args.threads, **recipe))


def _f(value, digits: int, sign: bool = False) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    return f"{value:+.{digits}f}" if sign else f"{value:.{digits}f}"


def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
