"""Watermark benchmark: detection after attacks, false positives, and the mark's level.

Marked material: the first 3 s of every recording in ../shared/data/speech (pmatthes and
ljspeech, real speech) and 3 s windows of the bundled voice speaking ``texts.SENTENCES``.
Each marked clip is detected as written and after: resampling to 16 kHz, +6 dB (clipped),
−6 dB, white noise at 30 dB SNR, and all of 16 kHz / −6 dB / 30 dB SNR together. False
positives: every unmarked 3 s window (0.5 s hop) of the same real speech and base-voice
output. Level: watermark energy relative to the speech, per clip. Prints a table and
writes ``benchmarks/results/watermark.json``; nothing is asserted.

    python benchmarks/watermark.py [--seconds 3]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from corpus import SPEECH, recordings  # noqa: E402
from texts import SENTENCES  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="clip length (default 3)")
    args = parser.parse_args(argv)

    from voicestudio.audio.io import read_audio, resample
    from voicestudio.safety.watermark import MARK_LEVEL_DB, THRESHOLD, confidence, embed
    from voicestudio.voice.catalog import load_voice
    from voicestudio.voice.synthesizer import Synthesizer

    started = time.perf_counter()
    sources: list[tuple[str, np.ndarray, int]] = []  # (kind, samples, rate): whole recordings
    for speaker in ("pmatthes", "ljspeech"):
        rows = recordings(speaker)
        if not rows:
            print(f"no speech corpus at {SPEECH}: real-speech rows are left out")
        for path, _text in rows:
            audio = read_audio(path)
            sources.append(("real speech", audio.samples, audio.sample_rate))
    synth = Synthesizer(load_voice(None, provider="cpu"))
    base = np.concatenate([c.samples for text in SENTENCES for c in synth.synthesize(text)]).astype(
        np.float32
    )
    sources.append(("base voice", base, synth.sample_rate))

    clip_s = args.seconds
    marked: dict[str, list[tuple[np.ndarray, int]]] = {"real speech": [], "base voice": []}
    levels: list[float] = []
    for kind, samples, rate in sources:
        n = int(clip_s * rate)
        starts = (
            range(0, samples.size - n + 1, n)
            if kind == "base voice"
            else ([0] if samples.size >= n else [])
        )
        for start in starts:
            clip = samples[start:start + n]
            with_mark = embed(clip, rate)
            levels.append(10 * np.log10(np.mean((with_mark - clip).astype(np.float64) ** 2)
                                        / np.mean(clip.astype(np.float64) ** 2)))
            marked[kind].append((with_mark, rate))

    rng = np.random.default_rng(0)

    def noisy(x: np.ndarray, snr_db: float) -> np.ndarray:
        noise = rng.standard_normal(x.size).astype(np.float32)
        return x + noise * np.sqrt(np.mean(x**2)) * 10 ** (-snr_db / 20)

    attacks = {
        "as written": lambda x, r: (x, r),
        "resampled to 16 kHz": lambda x, r: (resample(x, r, 16_000), 16_000),
        "+6 dB (clipped)": lambda x, r: (np.clip(x * 2.0, -1, 1), r),
        "-6 dB": lambda x, r: (x * 0.5, r),
        "noise at 30 dB SNR": lambda x, r: (noisy(x, 30.0), r),
        "16 kHz + -6 dB + 30 dB SNR": lambda x, r: (
            noisy(resample(x, r, 16_000) * 0.5, 30.0),
            16_000,
        ),
    }
    detection = {}
    for name, attack in attacks.items():
        for kind, clips in marked.items():
            scores = [confidence(*attack(x, r)) for x, r in clips]
            detection[f"{name} / {kind}"] = {
                "clips": len(scores), "detected": int(sum(s >= THRESHOLD for s in scores)),
                "min_confidence": float(min(scores)) if scores else None,
                "median_confidence": float(np.median(scores)) if scores else None,
            }

    false = {}
    for kind in ("real speech", "base voice"):
        scores = []
        for k, samples, rate in sources:
            if k != kind:
                continue
            n, hop = int(clip_s * rate), rate // 2
            scores += [
                confidence(samples[s : s + n], rate) for s in range(0, samples.size - n + 1, hop)
            ]
        false[kind] = {
            "windows": len(scores),
            "false_positives": int(sum(s >= THRESHOLD for s in scores)),
            "max_confidence": float(max(scores)) if scores else None,
            "p99_confidence": float(np.percentile(scores, 99)) if scores else None,
        }

    print(
        f"Watermark: {clip_s:g} s clips, threshold {THRESHOLD:g}, "
        f"mark set at {MARK_LEVEL_DB:g} dB\n"
    )
    print("| attack / material | detected | min z | median z |")
    print("|---|--:|--:|--:|")
    for name, d in detection.items():
        rate = f"{d['detected']}/{d['clips']} ({100 * d['detected'] / max(1, d['clips']):.1f} %)"
        print(f"| {name} | {rate} | {d['min_confidence']:.1f} | {d['median_confidence']:.1f} |")
    print("\n| unmarked material | windows | false positives | max z | p99 z |")
    print("|---|--:|--:|--:|--:|")
    for kind, d in false.items():
        print(
            f"| {kind} | {d['windows']} | {d['false_positives']} "
            f"({100 * d['false_positives'] / max(1, d['windows']):.2f} %) "
            f"| {d['max_confidence']:.1f} | {d['p99_confidence']:.1f} |"
        )
    print(
        f"\nmark level relative to the speech: median {np.median(levels):.1f} dB, "
        f"loudest {max(levels):.1f} dB ({len(levels)} "
        f"clips); {time.perf_counter() - started:.0f} s in all"
    )
    out = HERE / "results" / "watermark.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "seconds": clip_s,
                "threshold": THRESHOLD,
                "detection": detection,
                "false_positives": false,
                "level_db_median": float(np.median(levels)),
                "level_db_max": float(max(levels)),
            },
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
