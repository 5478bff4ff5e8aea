"""``voicestudio project``: create a project, import recordings into it, inspect it, check its
consent statement, restore its file."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from voicestudio.cli.errors import describe
from voicestudio.commands import command

if TYPE_CHECKING:
    from voicestudio.project.project import VoiceProject


def add_parser(sub) -> None:
    project = sub.add_parser("project", help="create, import into and inspect voice projects")
    psub = project.add_subparsers(dest="project_command", metavar="ACTION", required=True)
    new = psub.add_parser("new", help="create a voice project folder")
    new.add_argument("name")
    new.add_argument(
        "--dir",
        type=Path,
        metavar="D",
        help="parent folder (default: your VoiceStudio projects folder)",
    )
    new.add_argument("--speaker", default="", help="the speaker's name")
    new.add_argument(
        "--script", type=Path, metavar="FILE", help="your own recording script, one prompt per line"
    )
    info = psub.add_parser("info", help="takes, minutes and check verdicts of a project")
    info.add_argument("project", metavar="P", help="project folder or name")
    info.add_argument("-t", "--takes", action="store_true",
                      help="also list every take with its check verdicts and what did not pass")
    imp = psub.add_parser(
        "import",
        help="import recordings with transcripts "
             "(LJSpeech metadata.csv, manifest.tsv or .txt files)",
    )
    imp.add_argument(
        "source", metavar="SRC", type=Path, help="folder of WAV/FLAC files with transcripts"
    )
    imp.add_argument("--project", required=True, metavar="P", help="project folder or name")
    imp.add_argument(
        "--no-asr",
        action="store_true",
        help="skip the speech-recognition check (the slowest check)",
    )
    consent = psub.add_parser(
        "consent",
        help="show the consent statement, add its recording from a file, and "
        "check that it is the same speaker as the takes (training and export need this)",
    )
    consent.add_argument("project", metavar="P", help="project folder or name")
    consent.add_argument(
        "--file",
        type=Path,
        metavar="AUDIO",
        help="a recording of the speaker reading the statement (stored as the consent take)",
    )
    restore = psub.add_parser(
        "restore", help="put back the last good copy of a damaged project.json"
    )
    restore.add_argument("project", metavar="P", help="project folder or name")


def run(args: argparse.Namespace) -> int:
    from voicestudio.project.project import PROJECT_FILE, VoiceProject, resolve_project
    from voicestudio.project.store import restore_backup

    if args.project_command == "new":
        prompts, script_name = None, ""
        if args.script is not None:
            import datetime as dt

            from voicestudio.text.script import load_script

            script = load_script(args.script, project_name=args.name, date=dt.date.today())
            prompts, script_name = list(script.prompts), script.name
        project = VoiceProject.create(
            args.name, args.dir, speaker=args.speaker, prompts=prompts, script_name=script_name
        )
        print(
            f"created project {project.name} at {project.folder} ({len(project.prompts)} prompts)"
        )
        return 0
    if args.project_command == "import":
        from voicestudio.project.importer import import_folder

        project = VoiceProject.open(args.project)

        tty = sys.stderr.isatty()

        def progress(done: int, total: int, name: str) -> None:
            if tty:
                print(
                    f"\rimporting {done}/{total}: {name[:40]:40}",
                    end="",
                    file=sys.stderr,
                    flush=True,
                )
            elif done == total or done % 25 == 0:
                print(f"importing {done}/{total}", file=sys.stderr, flush=True)

        result = import_folder(project, args.source, asr=not args.no_asr, on_progress=progress)
        if tty:
            print(file=sys.stderr)
        print(
            f"imported {result.imported} takes ({result.seconds / 60:.1f} "
            f"min) from {args.source} [{result.layout}]"
            + (
                f"; {result.already_present} were already in the project"
                if result.already_present
                else ""
            )
        )
        for name, reason in result.skipped:
            print(f"voicestudio: warning: skipped {name}: {reason}", file=sys.stderr)
        return 0
    if args.project_command == "consent":
        return consent(args)
    if args.project_command == "restore":
        folder = resolve_project(args.project)
        kept = restore_backup(folder / PROJECT_FILE)
        note = f" (the damaged file is kept as {kept.name})" if kept else ""
        print(f"restored {folder / PROJECT_FILE} from its last good copy{note}")
        return 0
    info(VoiceProject.open(args.project), args.takes)
    return 0


def info(project: VoiceProject, takes: bool) -> None:
    s = project.summary()
    verdicts = ", ".join(f"{n} {v}" for v, n in sorted(s.verdicts.items())) or "none"
    recorded = (f"{s.imported} imported, {s.recorded - s.imported} recorded here" if s.imported
                else f"{s.recorded} recorded")
    print(f"project:  {s.name} ({project.folder})")
    print(f"speaker:  {project.speaker or '-'}")
    print(f"prompts:  {s.prompts} ({recorded}, {s.skipped} skipped, {s.to_record} to record"
          + (f"; {s.optional} script prompts not recorded, optional" if s.optional else "") + ")")
    print(f"takes:    {s.takes} ({s.minutes:.1f} minutes in the chosen takes)")
    print(
        f"checks:   {verdicts}"
        + (
            ""
            if takes or not s.verdicts.keys() - {"pass"}
            else f" (see each take's: {command('project', 'info', project.folder, '--takes')})"
        )
    )
    print(f"consent:  {'recorded' if s.has_consent_take else 'not recorded yet'} "
          f"(check it with: {command('project', 'consent', project.folder)})")
    if takes:
        print_takes(project)


def print_takes(project: VoiceProject) -> None:
    """Every take, prompt by prompt: its verdict, and the message of each check that did not
    pass."""
    from voicestudio.project.project import IMPORT_SOURCE_PREFIX

    print("\nprompt  take                 length  verdict    text")
    for number, prompt in enumerate(project.prompts, start=1):
        chosen = prompt.chosen_take
        for take in prompt.takes:
            mark = "*" if take is chosen and len(prompt.takes) > 1 else " "
            text = prompt.text if len(prompt.text) <= 60 else prompt.text[:59] + "…"
            origin = (
                f" (imported from {Path(take.source.removeprefix(IMPORT_SOURCE_PREFIX)).name})"
                if take.imported
                else ""
            )
            print(
                f"{number:6}  {mark}{Path(take.file).name:20} {take.duration_s:5.1f} s "
                f" {take.verdict:9}  “{text}”{origin}"
            )
            for check in take.report.problems if take.report is not None else []:
                print(f"{'':10}{check.verdict}: {check.name}: {check.message}")
    if any(len(p.takes) > 1 for p in project.prompts):
        print("* the take used for training, where a prompt has several")


def consent(args: argparse.Namespace) -> int:
    """Print the statement and the verdict; exit 0 only when the consent is verified."""
    from voicestudio.project import selection
    from voicestudio.project.project import VoiceProject
    from voicestudio.safety import consent, statement_file

    project = VoiceProject.open(args.project)
    statement = selection.statement_text(project)
    print(f"statement: {statement}")
    try:
        if args.file is not None:
            check = statement_file.add_consent_recording(project, args.file)
            print(f"stored {args.file} as the consent take {check.take}")
        else:
            check = consent.check_consent(project)
    except consent.ConsentError as exc:
        print(f"voicestudio: {describe(exc)}", file=sys.stderr)
        return 1
    print(check.describe())
    try:
        consent.refuse_unless_verified(project, check)
    except consent.ConsentError as exc:
        print(f"voicestudio: training and export are refused: {describe(exc)}", file=sys.stderr)
        return 1
    return 0
