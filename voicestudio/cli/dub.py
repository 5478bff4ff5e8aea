"""``voicestudio dub``: a script or subtitles into a timed, loudness-normalized track with stems."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from voicestudio.cli.styling import add_style_options, style_controls
from voicestudio.errors import VoiceStudioError

if TYPE_CHECKING:
    from voicestudio.dubbing.timefit import FitLimits


def fit_limits(text: str) -> FitLimits:
    """argparse type for ``--fit SLOWEST:FASTEST`` (a bad value is a usage error, exit 2)."""
    from voicestudio.dubbing.timefit import FitLimits

    try:
        return FitLimits.parse(text)
    except VoiceStudioError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_parser(sub) -> None:
    from voicestudio.dubbing.loudness import BROADCAST_LUFS, WEB_LUFS
    from voicestudio.dubbing.types import BIT_FORMATS

    dub = sub.add_parser(
        "dub",
        help="speak a script or subtitles into a timed, loudness-normalized track with stems",
        description=(
            "Speak every line of SCRIPT (.txt: one line per clip; .csv/.tsv: id,text and optional "
            "voice,emotion,intensity,pitch,speed,start,end,perform columns; .srt or .vtt "
            "subtitles) and "
            "write OUTDIR/track.wav, OUTDIR/stems/, OUTDIR/report.csv, OUTDIR/words.csv (each "
            "word's time) and OUTDIR/track.srt and .vtt. Lines starting with <speak> are speech "
            "markup. A perform cell names a recording of the line (relative to the script's "
            "folder) whose timing, intonation and loudness the voice follows. Subtitle lines "
            "start at their cue and are sped up (pitch kept) to fit it, within --fit."
        ),
    )
    dub.add_argument("script", type=Path, metavar="SCRIPT", help="the script or subtitle file")
    dub.add_argument(
        "-o", "--output-dir", type=Path, required=True, metavar="OUTDIR", help="folder for the dub"
    )
    dub.add_argument(
        "--voice", metavar="PATH|NAME", help="voice name or .onnx path (lines may name their own)"
    )
    dub.add_argument(
        "--lufs",
        type=float,
        default=BROADCAST_LUFS,
        metavar="LUFS",
        help=f"integrated loudness target (default {BROADCAST_LUFS:g}, "
             f"EBU R128; {WEB_LUFS:g} for the web)",
    )
    dub.add_argument(
        "--rate", type=int, default=48_000, metavar="HZ", help="sample rate (default 48000)"
    )
    dub.add_argument(
        "--bits",
        type=int,
        default=24,
        choices=sorted(BIT_FORMATS),
        help="bit depth (default 24; 32 = float)",
    )
    dub.add_argument(
        "--fit",
        type=fit_limits,
        default=None,
        metavar="SLOWEST:FASTEST",
        help="how far a line's tempo may change to fit its cue (default 0.8:1.25); lines are only "
        "slowed down (to SLOWEST) with --fill",
    )
    dub.add_argument(
        "--fill", action="store_true", help="also slow short lines down so they fill their cue"
    )
    dub.add_argument("--overwrite", action="store_true", help="replace a dub already in OUTDIR")
    dub.add_argument(
        "--cache",
        type=Path,
        metavar="DIR",
        help="keep rendered lines here; a rerun only renders changed lines",
    )
    dub.add_argument(
        "--provider",
        choices=("auto", "cpu", "cuda"),
        default="auto",
        help="onnxruntime provider (default auto)",
    )
    dub.add_argument(
        "--threads",
        type=int,
        metavar="N",
        help="CPU threads for the voice model (default: all cores)",
    )
    dub.add_argument("--transfer", metavar="LIST", default=None,
                     help="what a line's perform recording carries over, comma-separated: timing, "
                     "pitch, energy (default all three)")
    dub.add_argument("--strength", type=float, metavar="PCT", default=None,
                     help="how much of a perform recording is carried over, 0-100 (default 80)")
    dub.add_argument("-q", "--quiet", action="store_true", help="print only warnings and errors")
    add_style_options(dub)


def run(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from voicestudio.cli.say import perform_settings
    from voicestudio.dubbing import DubSettings, FitLimits, dub, load_dub_script
    from voicestudio.project.lexicon_store import lexicon_for
    from voicestudio.voice.catalog import resolve_voice, voice_project

    controls = style_controls(args)
    if args.threads is not None and args.threads < 1:
        raise VoiceStudioError("--threads must be at least 1")
    fit = replace(args.fit or FitLimits(), fill=args.fill)
    # the rules of --transfer and --strength are say's (as if a --perform were given)
    perform = perform_settings(argparse.Namespace(perform=True, ssml=False,
                                                  transfer=args.transfer, strength=args.strength))
    settings = DubSettings(
        voice=args.voice,
        controls=controls,
        fit=fit,
        rate=args.rate,
        bits=args.bits,
        target_lufs=args.lufs,
        provider=args.provider,
        threads=args.threads,
        perform=perform,
    ).validated()
    script = load_dub_script(args.script)  # a malformed file fails here, naming its line
    tty = sys.stderr.isatty()

    def progress(fraction: float, message: str) -> None:
        if args.quiet:
            return
        text = f"[{fraction * 100:3.0f}%] {message}"
        if tty:
            print(f"\r{text[:78]:78}", end="", file=sys.stderr, flush=True)
        else:
            print(text, file=sys.stderr, flush=True)

    # how words are said: the user's lexicon, with the dub voice's project's on top
    lexicon = lexicon_for(voice_project(resolve_voice(args.voice)))
    result = dub(script, args.output_dir, settings, progress=progress, overwrite=args.overwrite,
                 cache_dir=args.cache, lexicon=lexicon)
    if tty and not args.quiet:
        print(f"\r{'':78}\r", end="", file=sys.stderr, flush=True)
    for message in result.warnings:
        print(f"voicestudio: warning: {message}", file=sys.stderr)
    if not args.quiet:
        print(
            f"wrote {result.folder}: {result.track.name} ({result.duration_s:.2f} "
            f"s, {settings.rate} Hz, {settings.bits}-bit, {result.integrated_lufs:.1f} LUFS, true "
            f"peak {result.true_peak_dbtp:.1f} dBTP), {len(result.stems)} stems, "
            + ", ".join(p.name for p in (result.report, result.words, *result.subtitles) if p)
        )
    return 0
