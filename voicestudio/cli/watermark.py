"""``voicestudio watermark detect``: is VoiceStudio's synthetic-speech watermark in a file?"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from voicestudio.errors import VoiceStudioError


def add_parser(sub) -> None:
    mark = sub.add_parser(
        "watermark", help="check an audio file for VoiceStudio's synthetic-speech watermark"
    )
    msub = mark.add_subparsers(dest="watermark_command", metavar="ACTION", required=True)
    det = msub.add_parser(
        "detect",
        help="exit 0 when the watermark is found, 1 when not, 2 on error",
        description="Print whether FILE carries VoiceStudio's watermark and how confidently "
        "(a z-score; 8 or more counts as marked). Exit 0: found, 1: not found, 2: error.",
    )
    det.add_argument("file", type=Path, metavar="FILE")


def run(args: argparse.Namespace) -> int:
    path: Path = args.file
    from voicestudio.audio.io import read_audio
    from voicestudio.safety.watermark import THRESHOLD, detect

    try:
        audio = read_audio(path)
    except VoiceStudioError as exc:  # read errors name the file already
        print(f"voicestudio: error: {exc}", file=sys.stderr)
        return 2
    try:
        found = detect(audio.samples, audio.sample_rate)
    except VoiceStudioError as exc:
        print(f"voicestudio: error: {path}: {exc}", file=sys.stderr)
        return 2
    verdict = "watermark found" if found.present else "no watermark"
    print(f"{path}: {verdict} (confidence {found.confidence:.1f}; {THRESHOLD:g} or more = marked; "
          f"{found.seconds:.1f} s checked)")
    return 0 if found.present else 1
