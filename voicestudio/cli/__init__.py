"""The ``voicestudio`` command: the GUI by default, and a sub-command per job.

Each sub-command is a module here with ``add_parser(sub)`` and ``run(args)``; this module
only builds the parser and dispatches. Every user mistake ends in one line on stderr and a
non-zero exit (1 for bad input, 2 for bad usage); a failed ``say`` leaves no partial output
file. Heavy modules are imported by the command that needs them, so ``--help`` is instant.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

from voicestudio import __version__
from voicestudio.cli.errors import describe
from voicestudio.errors import VoiceStudioError

#: Sub-command -> the module (in this package) that parses and runs it, in the help's order.
COMMANDS = {
    "say": "say", "voices": "voices", "doctor": "doctor", "project": "project",
    "record": "record", "train": "train", "eval": "evaluate", "dub": "dub",
    "watermark": "watermark", "lexicon": "lexicon", "phonemes": "phonemes",
}


class OneLineErrorParser(argparse.ArgumentParser):
    """A usage mistake is one line naming the command's help, not the whole usage block
    (sub-commands inherit the class through ``add_subparsers``)."""

    def error(self, message: str):  # noqa: D102 - argparse's hook
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def _command(name: str):
    return importlib.import_module(f"voicestudio.cli.{COMMANDS[name]}")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineErrorParser(
        prog="voicestudio",
        description="VoiceStudio: record, clone, style and export voices offline.")
    parser.add_argument("--version", action="version", version=f"voicestudio {__version__}")
    parser.add_argument(
        "--self-test", action="store_true",
        help="build the window and every panel, synthesize one line, check torch stayed out, "
             "exit (0 = passed); works without a screen")
    parser.add_argument("--screenshots", type=Path, metavar="DIR",
                        help="with --self-test: save a PNG of each panel")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        _command(name).add_parser(sub)
    gui = sub.add_parser("gui", help="start the desktop app (the default)")
    gui.add_argument("--voice", metavar="PATH|NAME", help="voice for the Synthesize panel")
    gui.add_argument("--project", metavar="P", help="voice project folder or name to open")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.screenshots and not args.self_test:
        parser.error("--screenshots needs --self-test")
    try:
        if args.self_test:
            from voicestudio.gui.selftest import run_self_test

            return run_self_test(args.screenshots)
        if args.command in COMMANDS:
            return _command(args.command).run(args)
        from voicestudio.gui.app import run_gui

        return run_gui(voice=getattr(args, "voice", None), project=getattr(args, "project", None))
    except VoiceStudioError as exc:
        print(f"voicestudio: error: {describe(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("voicestudio: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
