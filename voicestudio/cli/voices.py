"""``voicestudio voices``: list voices, add a Piper voice, export or import a voice bundle."""

from __future__ import annotations

import argparse
from pathlib import Path

from voicestudio.errors import VoiceStudioError


def add_parser(sub) -> None:
    voices = sub.add_parser(
        "voices", help="list available voices, add one, or export/import a voice bundle"
    )
    action = voices.add_mutually_exclusive_group()
    action.add_argument(
        "--add",
        type=Path,
        metavar="PATH",
        help="check a Piper voice (.onnx + .onnx.json) and copy it into your voices folder",
    )
    action.add_argument(
        "--export",
        metavar="VOICE",
        help="write VOICE (a name, .onnx path or project) into one .vsvoice file (-o)",
    )
    action.add_argument(
        "--import",
        dest="import_bundle",
        type=Path,
        metavar="FILE",
        help="check a .vsvoice bundle and install its voice into your voices folder",
    )
    voices.add_argument(
        "-o", "--output", type=Path, metavar="FILE", help="the bundle to write (with --export)"
    )
    voices.add_argument(
        "--name", help="the voice's name in the bundle or after import (default: its own)"
    )
    voices.add_argument(
        "--no-preview", action="store_true", help="leave the spoken preview out of the bundle"
    )
    voices.add_argument(
        "--overwrite",
        action="store_true",
        help="replace the bundle file if it exists (with --export)",
    )


def run(args: argparse.Namespace) -> int:
    from voicestudio.errors import VoiceLoadError
    from voicestudio.paths import user_voices_dir
    from voicestudio.voice.catalog import add_voice, list_voices
    from voicestudio.voice.model import VoiceConfig

    if (args.output or args.no_preview or args.overwrite) and args.export is None:
        raise VoiceStudioError("-o/--output, --no-preview and --overwrite go with --export")
    if args.name and args.export is None and args.import_bundle is None:
        raise VoiceStudioError("--name goes with --export or --import")
    if args.add is not None:
        info = add_voice(args.add)
        print(f"added voice {info.name} ({info.model_path})")
        return 0
    if args.export is not None:
        from voicestudio.voice.bundle import BUNDLE_SUFFIX, PREVIEW_TEXT, export_bundle

        if args.output is None:
            raise VoiceStudioError(f"--export needs -o FILE{BUNDLE_SUFFIX}")
        bundle = export_bundle(
            args.export,
            args.output,
            None if args.no_preview else PREVIEW_TEXT,
            args.name,
            overwrite=args.overwrite,
        )
        print(
            f"wrote {bundle.path} (voice {bundle.name}, {bundle.path.stat().st_size / 1e6:.1f} MB)"
        )
        return 0
    if args.import_bundle is not None:
        from voicestudio.voice.bundle import import_bundle

        info = import_bundle(args.import_bundle, args.name)
        print(f"imported voice {info.name} ({info.model_path})")
        return 0

    print(f"{'NAME':28} {'SOURCE':8} {'RATE':>6} {'LANG':6} PATH")
    for info in list_voices():
        try:
            cfg = VoiceConfig.from_file(info.config_path)
            rate, lang = str(cfg.sample_rate), cfg.language or cfg.espeak_voice
        except VoiceLoadError as exc:
            rate, lang = "?", f"broken: {exc}"
        print(f"{info.name:28} {info.source:8} {rate:>6} {lang:6} {info.model_path}")
    print(
        "\nAdd a Piper voice with 'voicestudio voices --add NAME.onnx' (or a bundle with --import "
        f"FILE.vsvoice), or copy NAME.onnx + NAME.onnx.json into {user_voices_dir()}"
    )
    return 0
