"""Where a fine-tuning step's time goes, on real takes (issue 15: every CPU second saved is
quality in the 5-minute budget).

Builds the first ``--takes`` takes of a speaker of ../shared/data/speech into a project,
prepares the data as the trainer does, then times ``--steps`` steps of ``Trainer._step``:
the wall time per step, and torch's profiler split by module (posterior encoder, flow,
alignment, decoder, losses, backward, optimizer). The base model must be prepared
(VOICESTUDIO_DATA_DIR as for clone_quality.py).

    python benchmarks/train_step.py [--speaker pmatthes] [--takes 60] [--steps 12] [--threads 2]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from corpus import recordings  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--speaker", default="pmatthes")
    parser.add_argument("--takes", type=int, default=60)
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--segment", type=int, default=None,
                        help="decoder segment frames (default: the recipe's)")
    parser.add_argument("--batch", type=int, default=None,
                        help="batch size (default: the recipe's)")
    parser.add_argument("--crop", type=int, default=None,
                        help="TrainConfig.crop_context_frames: the cropped step (default: whole "
                             "takes)")
    args = parser.parse_args()
    entries = recordings(args.speaker)
    if not entries:
        print("no speech corpus in ../shared/data/speech: nothing to measure")
        return 0
    import torch

    from voicestudio.audio.io import read_audio
    from voicestudio.project.project import IMPORT_SOURCE_PREFIX, VoiceProject
    from voicestudio.training.base import is_prepared, joe_phoneme_ids, load_base
    from voicestudio.training.dataset import DataConfig, collect
    from voicestudio.training.finetune import TrainConfig, Trainer
    from voicestudio.training.steps import length_buckets

    if not is_prepared():
        print("the base model is not prepared: run benchmarks/clone_quality.py (or voicestudio "
              "train --prepare-base)")
        return 1
    torch.set_num_threads(args.threads)
    work = Path(tempfile.mkdtemp(prefix="vs-step-"))
    train = entries[1:1 + args.takes]
    project = VoiceProject.create("steps", parent=work, prompts=[t for _p, t in train],
                                  consent_index=None)
    for i, (path, _text) in enumerate(train):
        audio = read_audio(path)
        project.add_take(i, audio.samples, audio.sample_rate,
                         source=f"{IMPORT_SOURCE_PREFIX}{path}", save=False)
    project.save()
    model, meta = load_base()
    data = collect(project, joe_phoneme_ids, float(meta["reference_level_dbfs"]), DataConfig())
    changes = {k: v for k, v in (("segment_frames", args.segment), ("batch_size", args.batch),
                                 ("crop_context_frames", args.crop)) if v is not None}
    config = TrainConfig(threads=args.threads, **changes)
    trainer = Trainer(project, config)
    device = torch.device("cpu")
    optimizer = trainer._optimizer(model)
    specs = trainer._prepare(data.train, device)
    batches = length_buckets(specs, config.batch_size)
    if config.crop_context_frames is not None:
        started = time.perf_counter()
        trainer._cache_prior(model, specs, device)
        trainer._align(model, specs, device)
        print(f"alignment of {len(specs)} takes (done at the start and every "
              f"{config.realign_every_s:g} s): {time.perf_counter() - started:.1f} s")
    step_fn = trainer._step_cropped if config.crop_context_frames is not None else trainer._step
    rng = random.Random(1)
    model.train()
    model.enc_p.eval()
    model.dp.eval()
    for _ in range(2):  # warm-up: allocator, thread pools
        step_fn(model, optimizer, [specs[i] for i in rng.choice(batches)], device)
    times = []
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(args.steps):
            batch = [specs[i] for i in rng.choice(batches)]
            started = time.perf_counter()
            step_fn(model, optimizer, batch, device)
            times.append(time.perf_counter() - started)
    times.sort()
    frames = sum(s.spec.shape[-1] for s in specs) / len(specs)
    print(f"{args.speaker}: {len(specs)} takes (mean {frames:.0f} frames), batch "
          f"{config.batch_size}, segment {config.segment_frames} frames, {args.threads} threads")
    print(f"step: median {times[len(times) // 2]:.3f} s, min {times[0]:.3f}, max {times[-1]:.3f} "
          f"({args.steps} steps; {300 / times[len(times) // 2]:.0f} steps in 5 minutes)")
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=18))
    _by_module(step_fn, model, optimizer, specs, batches, rng, device, args.steps)
    return 0


def _by_module(step_fn, model, optimizer, specs, batches, rng, device, steps: int) -> None:
    """Forward time per top-level part, from forward hooks (backward is the rest of the step)."""
    import torch

    spent: dict[str, float] = {}
    starts: dict[str, float] = {}

    def before(name):
        def hook(_module, _inputs):
            starts[name] = time.perf_counter()
        return hook

    def after(name):
        def hook(_module, _inputs, _output):
            spent[name] = spent.get(name, 0.0) + time.perf_counter() - starts[name]
        return hook

    handles = []
    for name in ("enc_p", "enc_q", "flow", "dec"):
        module = getattr(model, name)
        handles.append(module.register_forward_pre_hook(before(name)))
        handles.append(module.register_forward_hook(after(name)))
    total = 0.0
    try:
        for _ in range(steps):
            batch = [specs[i] for i in rng.choice(batches)]
            started = time.perf_counter()
            step_fn(model, optimizer, batch, device)
            total += time.perf_counter() - started
    finally:
        for handle in handles:
            handle.remove()
    print("forward time per step by part (the rest: alignment, mel, losses, backward, optimizer):")
    for name, seconds in sorted(spent.items(), key=lambda kv: -kv[1]):
        print(f"  {name:6} {seconds / steps:.3f} s  ({100 * seconds / total:.0f} % of the step)")
    print(f"  step   {total / steps:.3f} s")
    del torch


if __name__ == "__main__":
    sys.exit(main())
