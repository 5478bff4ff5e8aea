"""Dubbing benchmark: lines per minute for a generated 100-cue SRT, bundled voice, CPU.

The SRT is made here, reproducibly: the 20 everyday sentences of ``texts.SENTENCES`` in
turn, each led by its scene number so that no two lines are alike (no cache hits), each cue's slot
sized from its text at a natural speaking rate, every fifth cue
20 % shorter than that so the time-fit path (model length_scale, then WORLD) is part of
the figure, with odd millisecond start times. The whole ``dub()`` is timed (render, fit,
mix, EBU R128 normalization, 48 kHz / 24-bit track, stems and report), after loading the
voice and one untimed warm-up line. Prints a Markdown table and writes
``benchmarks/results/dubbing.json`` (``dubbing-quick.json`` with ``--quick``).
Nothing is asserted: the script always exits 0.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from texts import SENTENCES, WARMUP_SENTENCE  # noqa: E402

RESULTS = HERE / "results"
#: Seconds of slot per character of text: about 15 characters a second, an ordinary dubbing pace.
SLOT_S_PER_CHAR = 0.065
GAP_S = 0.4
TIGHT_EVERY = 5
TIGHT_FACTOR = 0.8


def make_srt(count: int) -> str:
    """``count`` cues; see the module docstring for how the slots are chosen."""
    blocks, start = [], 0.517
    for i in range(count):
        # A numbered scene makes every line unique: the session caches renders by text, and a
        # repeated sentence would be a cache hit, not a render.
        text = f"Scene {i + 1}. {SENTENCES[i % len(SENTENCES)]}"
        slot = (
            len(text)
            * SLOT_S_PER_CHAR
            * (TIGHT_FACTOR if i % TIGHT_EVERY == TIGHT_EVERY - 1 else 1.0)
        )
        end = start + slot
        blocks.append(f"{i + 1}\n{_stamp(start)} --> {_stamp(end)}\n{text}\n")
        start = end + GAP_S + 0.001 * (i % 9)
    return "\n".join(blocks)


def _stamp(seconds: float) -> str:
    ms = int(round(seconds * 1000))
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    return f"{h:02d}:{m:02d}:{rest // 1000:02d},{rest % 1000:03d}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--cues", type=int, default=100, help="cues in the generated SRT (default 100)"
    )
    parser.add_argument("--quick", action="store_true", help="smoke run: 10 cues")
    parser.add_argument("--threads", type=int, help="onnxruntime threads (default: all cores)")
    parser.add_argument(
        "--out", type=Path, help="JSON file (default benchmarks/results/dubbing[-quick].json)"
    )
    args = parser.parse_args(argv)
    cues = 10 if args.quick else args.cues

    from voicestudio.dubbing import DubSession, DubSettings, export_dub, parse_dub_script
    from voicestudio.voice.catalog import load_voice
    from voicestudio.voice.synthesizer import Synthesizer

    wall = time.perf_counter()
    started = time.perf_counter()
    synth = Synthesizer(load_voice(None, provider="cpu", threads=args.threads))
    load_s = time.perf_counter() - started
    # first-run costs (espeak, WORLD, onnxruntime arenas) untimed
    list(synth.synthesize(WARMUP_SENTENCE))

    script = parse_dub_script(make_srt(cues), "srt", source="generated.srt")
    session = DubSession(script, DubSettings(), synth)
    cpu0 = time.process_time()
    with tempfile.TemporaryDirectory(prefix="voicestudio-dub-bench-") as tmp:
        started = time.perf_counter()
        session.render_all()
        render_s = time.perf_counter() - started
        started = time.perf_counter()
        result = export_dub(session, Path(tmp) / "out")  # all lines rendered: mix, normalize, write
        export_s = time.perf_counter() - started
    cpu_s = time.process_time() - cpu0
    total_s = render_s + export_s
    audio_s = script.end_s
    fitted = sum(1 for r in session.results if r.fit_method != "none")
    too_long = sum(1 for r in session.results if r.status == "too long")
    figures = {
        "cues": cues,
        "lines_per_minute": cues / total_s * 60.0,
        "render_s": render_s,
        "export_s": export_s,
        "total_s": total_s,
        "track_s": audio_s,
        "realtime_factor": total_s / audio_s,
        "cpu_s": cpu_s,
        "model_runs": session.model_runs,
        "lines_fitted": fitted,
        "lines_too_long": too_long,
        "integrated_lufs": result.integrated_lufs,
        "true_peak_dbtp": result.true_peak_dbtp,
        "load_s": load_s,
    }
    table = "\n".join(
        [
            f"Dubbing: {cues}-cue SRT, bundled voice, {os.cpu_count()} CPU core(s) "
            f"({args.threads or 'all'} onnxruntime threads), 48 kHz / 24-bit, -23 LUFS",
            "",
            "| lines/min | render s | mix+write s | total s | "
            "track s | RTF | model runs | fitted | too long |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
            f"| {figures['lines_per_minute']:.0f} | {render_s:.1f} | {export_s:.1f} "
            f"| {total_s:.1f} | {audio_s:.0f} | {figures['realtime_factor']:.3f} "
            f"| {session.model_runs} | {fitted} | {too_long} |",
            "",
            f"track: {result.integrated_lufs:.2f} LUFS integrated, {result.true_peak_dbtp:.2f} "
            f"dBTP true peak; voice load {load_s:.1f} s (not in the total)",
        ]
    )
    print(table)
    out = args.out or RESULTS / ("dubbing-quick.json" if args.quick else "dubbing.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    machine = {
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "load_average": os.getloadavg(),
    }
    out.write_text(
        json.dumps(
            {
                "machine": machine,
                "figures": figures,
                "wall_s": time.perf_counter() - wall,
                "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S"),
                "table": table,
            },
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
