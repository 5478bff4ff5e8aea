"""``voicestudio eval``: score a voice against recordings of its speaker."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

DESCRIPTION = (
    "Synthesize each sentence of FILE with the voice and score it against the reference "
    "recordings: speaker similarity, quality (DNSMOS) and frame-rate buzz, word error rate, "
    "mel-cepstral distortion, pitch and tempo, beside the base voice (the floor) and the real "
    "recordings (the ceiling)."
)


def add_parser(sub) -> None:
    from voicestudio.evaluate import DEFAULT_MAX_REFERENCES

    ev = sub.add_parser("eval", help="score a voice against recordings of its speaker",
                        description=DESCRIPTION)
    ev.add_argument("--voice", required=True, metavar="PATH|NAME", help="voice name or .onnx path")
    ev.add_argument("--reference", required=True, metavar="DIR|PROJECT",
                    help="a voice project, or a folder of recordings with transcripts "
                         "(metadata.csv, manifest.tsv or .txt files)")
    ev.add_argument("--texts", required=True, type=Path, metavar="FILE",
                    help="sentences to synthesize, one per line")
    ev.add_argument("--no-floor", action="store_true", help="do not score the base voice")
    ev.add_argument("--max-references", type=int, default=DEFAULT_MAX_REFERENCES, metavar="N",
                    help="reference recordings to use at most, spread over the set "
                         f"(default {DEFAULT_MAX_REFERENCES})")


def run(args: argparse.Namespace) -> int:
    from voicestudio.voice.evaluation import evaluate_voice

    tty = sys.stderr.isatty()

    def progress(message: str) -> None:
        if tty:
            print(f"\r{message[:70]:70}", end="", file=sys.stderr, flush=True)

    report = evaluate_voice(args.voice, args.reference, args.texts, floor=not args.no_floor,
                            max_references=args.max_references, progress=progress)
    if tty:
        print(f"\r{'':70}\r", end="", file=sys.stderr, flush=True)
    print(report.format_table())
    return 0
