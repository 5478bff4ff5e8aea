"""The ``voicestudio`` command: the GUI by default, plus ``say``, ``voices`` and ``doctor``.

Every user mistake ends in one line on stderr and a non-zero exit (1 for bad
input, 2 for bad usage); a failed ``say`` leaves no partial output file.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from voicestudio import __version__
from voicestudio.commands import command
from voicestudio.errors import InputTextError, VoiceStudioError

if TYPE_CHECKING:
    from voicestudio.dubbing.timefit import FitLimits
    from voicestudio.project.project import VoiceProject

MAX_TEXT_FILE_BYTES = 64 << 20


def _add_style_arguments(p: argparse.ArgumentParser) -> None:
    from voicestudio.styling.controls import CONTROL_SPECS, emotion_presets

    def spec(name: str) -> str:
        s = CONTROL_SPECS[name]
        return f"{s.low:g}..{s.high:g}, default {s.default:g}"

    g = p.add_argument_group("styling")
    g.add_argument("--pitch", type=float, default=0.0, metavar="ST", help=f"pitch shift in semitones ({spec('pitch')})")
    g.add_argument("--range", dest="pitch_range", type=float, default=1.0, metavar="X",
                   help=f"pitch range factor ({spec('pitch_range')})")
    g.add_argument("--speed", type=float, default=1.0, metavar="X", help=f"tempo, pitch kept ({spec('speed')})")
    g.add_argument("--energy", type=float, default=0.0, metavar="DB", help=f"level change in dB ({spec('energy')})")
    g.add_argument("--breathiness", type=float, default=0.0, metavar="X", help=f"breathy voice ({spec('breathiness')})")
    g.add_argument("--variability", type=float, default=1.0, metavar="X",
                   help=f"randomness of the voice model, 0 = same every time ({spec('variability')})")
    g.add_argument("--emotion", default="neutral", metavar="NAME", help=f"one of: {', '.join(emotion_presets())}")
    g.add_argument("--intensity", type=float, default=100.0, metavar="PCT", help=f"emotion strength in %% ({spec('intensity')})")


class OneLineErrorParser(argparse.ArgumentParser):
    """A usage mistake is one line naming the command's help, not the whole usage block
    (sub-commands inherit the class through ``add_subparsers``)."""

    def error(self, message: str):  # noqa: D102 - argparse's hook
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineErrorParser(prog="voicestudio",
                                description="VoiceStudio: record, clone, style and export voices offline.")
    parser.add_argument("--version", action="version", version=f"voicestudio {__version__}")
    parser.add_argument("--self-test", action="store_true",
                        help="build the window and every panel, synthesize one line, check torch stayed out, exit "
                             "(0 = passed); works without a screen")
    parser.add_argument("--screenshots", type=Path, metavar="DIR", help="with --self-test: save a PNG of each panel")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    from voicestudio.audio.io import SampleFormat, describe_sample_formats, file_formats

    file_types = ", ".join(f"{f.suffix} {f.label}" for f in file_formats())  # the one table, in audio.io
    say = sub.add_parser("say", help=f"speak text into an audio file ({', '.join(f.label for f in file_formats())})",
                         description=f"Speak TEXT (or a file, or stdin) into an audio file; its extension picks the type: "
                                     f"{file_types}.")
    say.add_argument("text", nargs="?", help="the text; '-' reads standard input")
    say.add_argument("--text-file", type=Path, metavar="F", help="read the text from a UTF-8 file")
    say.add_argument("-o", "--output", type=Path, required=True, metavar="OUT.wav",
                     help=f"file to write; its extension picks the type ({file_types})")
    say.add_argument("--voice", metavar="PATH|NAME", help="voice name (see 'voicestudio voices') or .onnx path")
    say.add_argument("--provider", choices=("auto", "cpu", "cuda"), default="auto", help="onnxruntime provider (default auto: measured)")
    say.add_argument("--threads", type=int, metavar="N", help="CPU threads for the voice model (default: all cores)")
    say.add_argument("--rate", type=int, metavar="HZ", help="output sample rate (default: the voice's)")
    say.add_argument("--format", choices=[f.value for f in SampleFormat], default=None,  # None: the file type's default
                     help=f"sample format of a lossless file ({describe_sample_formats()}; default pcm16); "
                          "lossy types have no bit depth and refuse it")
    say.add_argument("-q", "--quiet", action="store_true", help="print nothing on success")
    _add_style_arguments(say)

    voices = sub.add_parser("voices", help="list available voices, add one, or export/import a voice bundle")
    action = voices.add_mutually_exclusive_group()
    action.add_argument("--add", type=Path, metavar="PATH", help="check a Piper voice (.onnx + .onnx.json) and copy it into your voices folder")
    action.add_argument("--export", metavar="VOICE", help="write VOICE (a name, .onnx path or project) into one .vsvoice file (-o)")
    action.add_argument("--import", dest="import_bundle", type=Path, metavar="FILE",
                        help="check a .vsvoice bundle and install its voice into your voices folder")
    voices.add_argument("-o", "--output", type=Path, metavar="FILE", help="the bundle to write (with --export)")
    voices.add_argument("--name", help="the voice's name in the bundle or after import (default: its own)")
    voices.add_argument("--no-preview", action="store_true", help="leave the spoken preview out of the bundle")
    voices.add_argument("--overwrite", action="store_true", help="replace the bundle file if it exists (with --export)")
    sub.add_parser("doctor", help="print versions, providers, audio devices and data locations")
    project = sub.add_parser("project", help="create, import into and inspect voice projects")
    psub = project.add_subparsers(dest="project_command", metavar="ACTION", required=True)
    new = psub.add_parser("new", help="create a voice project folder")
    new.add_argument("name")
    new.add_argument("--dir", type=Path, metavar="D", help="parent folder (default: your VoiceStudio projects folder)")
    new.add_argument("--speaker", default="", help="the speaker's name")
    new.add_argument("--script", type=Path, metavar="FILE", help="your own recording script, one prompt per line")
    info = psub.add_parser("info", help="takes, minutes and check verdicts of a project")
    info.add_argument("project", metavar="P", help="project folder or name")
    info.add_argument("-t", "--takes", action="store_true",
                      help="also list every take with its check verdicts and what did not pass")
    imp = psub.add_parser("import", help="import recordings with transcripts (LJSpeech metadata.csv, manifest.tsv or .txt files)")
    imp.add_argument("source", metavar="SRC", type=Path, help="folder of WAV/FLAC files with transcripts")
    imp.add_argument("--project", required=True, metavar="P", help="project folder or name")
    imp.add_argument("--no-asr", action="store_true", help="skip the speech-recognition check (the slowest check)")
    consent = psub.add_parser("consent", help="show the consent statement, add its recording from a file, and "
                              "check that it is the same speaker as the takes (training and export need this)")
    consent.add_argument("project", metavar="P", help="project folder or name")
    consent.add_argument("--file", type=Path, metavar="AUDIO", help="a recording of the speaker reading the statement "
                         "(stored as the consent take)")
    restore = psub.add_parser("restore", help="put back the last good copy of a damaged project.json")
    restore.add_argument("project", metavar="P", help="project folder or name")

    record = sub.add_parser("record", help="record one prompt of a project from the microphone (headless)")
    record.add_argument("--project", required=True, metavar="P", help="project folder or name")
    record.add_argument("--prompt", type=int, metavar="N", help="prompt number, from 1 (default: the next one not yet recorded)")
    record.add_argument("--seconds", type=float, metavar="S", help="recording length (default: from the prompt's length)")
    record.add_argument("--device", metavar="NAME|INDEX", help="input device (default: the system's default input)")

    from voicestudio import train_cli

    train_cli.add_parser(sub)

    _add_eval_parser(sub)
    _add_dub_parser(sub)
    mark = sub.add_parser("watermark", help="check an audio file for VoiceStudio's synthetic-speech watermark")
    msub = mark.add_subparsers(dest="watermark_command", metavar="ACTION", required=True)
    det = msub.add_parser("detect", help="exit 0 when the watermark is found, 1 when not, 2 on error",
                          description="Print whether FILE carries VoiceStudio's watermark and how confidently "
                                      "(a z-score; 8 or more counts as marked). Exit 0: found, 1: not found, 2: error.")
    det.add_argument("file", type=Path, metavar="FILE")

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
        if args.command == "say":
            return _say(args)
        if args.command == "voices":
            return _voices(args)
        if args.command == "project":
            return _project(args)
        if args.command == "record":
            return _record(args)
        if args.command == "train":
            from voicestudio import train_cli

            return train_cli.run(args)
        if args.command == "eval":
            return _eval(args)
        if args.command == "dub":
            return _dub(args)
        if args.command == "watermark":
            return _watermark_detect(args.file)
        if args.command == "doctor":
            from voicestudio.doctor import report

            print(report())
            return 0
        from voicestudio.gui.app import run_gui

        return run_gui(voice=getattr(args, "voice", None), project=getattr(args, "project", None))
    except VoiceStudioError as exc:
        print(f"voicestudio: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("voicestudio: interrupted", file=sys.stderr)
        return 130


def _fit_limits(text: str) -> FitLimits:
    """argparse type for ``--fit SLOWEST:FASTEST`` (a bad value is a usage error, exit 2)."""
    from voicestudio.dubbing.timefit import FitLimits

    try:
        return FitLimits.parse(text)
    except VoiceStudioError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("--fit ")) from None


def _add_dub_parser(sub) -> None:
    from voicestudio.dubbing.loudness import BROADCAST_LUFS, WEB_LUFS
    from voicestudio.dubbing.types import BIT_FORMATS

    dub = sub.add_parser(
        "dub", help="speak a script or subtitles into a timed, loudness-normalized track with stems",
        description="Speak every line of SCRIPT (.txt: one line per clip; .csv/.tsv: id,text and optional "
                    "voice,emotion,intensity,pitch,speed,start,end columns; .srt or .vtt subtitles) and write "
                    "OUTDIR/track.wav, OUTDIR/stems/ and OUTDIR/report.csv. Subtitle lines start at their cue "
                    "and are sped up (pitch kept) to fit it, within --fit.")
    dub.add_argument("script", type=Path, metavar="SCRIPT", help="the script or subtitle file")
    dub.add_argument("-o", "--output-dir", type=Path, required=True, metavar="OUTDIR", help="folder for the dub")
    dub.add_argument("--voice", metavar="PATH|NAME", help="voice name or .onnx path (lines may name their own)")
    dub.add_argument("--lufs", type=float, default=BROADCAST_LUFS, metavar="LUFS",
                     help=f"integrated loudness target (default {BROADCAST_LUFS:g}, EBU R128; {WEB_LUFS:g} for the web)")
    dub.add_argument("--rate", type=int, default=48_000, metavar="HZ", help="sample rate (default 48000)")
    dub.add_argument("--bits", type=int, default=24, choices=sorted(BIT_FORMATS), help="bit depth (default 24; 32 = float)")
    dub.add_argument("--fit", type=_fit_limits, default=None, metavar="SLOWEST:FASTEST",
                     help="how far a line's tempo may change to fit its cue (default 0.8:1.25); lines are only "
                          "slowed down (to SLOWEST) with --fill")
    dub.add_argument("--fill", action="store_true", help="also slow short lines down so they fill their cue")
    dub.add_argument("--overwrite", action="store_true", help="replace a dub already in OUTDIR")
    dub.add_argument("--cache", type=Path, metavar="DIR", help="keep rendered lines here; a rerun only renders changed lines")
    dub.add_argument("--provider", choices=("auto", "cpu", "cuda"), default="auto", help="onnxruntime provider (default auto)")
    dub.add_argument("--threads", type=int, metavar="N", help="CPU threads for the voice model (default: all cores)")
    dub.add_argument("-q", "--quiet", action="store_true", help="print only warnings and errors")
    _add_style_arguments(dub)


def _dub(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from voicestudio.dubbing import DubSettings, FitLimits, dub, load_dub_script
    from voicestudio.styling.controls import StyleControls

    controls = StyleControls(
        pitch=args.pitch, pitch_range=args.pitch_range, speed=args.speed, energy=args.energy,
        breathiness=args.breathiness, variability=args.variability, emotion=args.emotion, intensity=args.intensity,
    ).validated()
    if args.threads is not None and args.threads < 1:
        raise VoiceStudioError("--threads must be at least 1")
    fit = replace(args.fit or FitLimits(), fill=args.fill)
    settings = DubSettings(voice=args.voice, controls=controls, fit=fit, rate=args.rate, bits=args.bits,
                           target_lufs=args.lufs, provider=args.provider, threads=args.threads).validated()
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

    result = dub(script, args.output_dir, settings, progress=progress, overwrite=args.overwrite, cache_dir=args.cache)
    if tty and not args.quiet:
        print(f"\r{'':78}\r", end="", file=sys.stderr, flush=True)
    for message in result.warnings:
        print(f"voicestudio: warning: {message}", file=sys.stderr)
    if not args.quiet:
        print(f"wrote {result.folder}: {result.track.name} ({result.duration_s:.2f} s, {settings.rate} Hz, "
              f"{settings.bits}-bit, {result.integrated_lufs:.1f} LUFS, true peak {result.true_peak_dbtp:.1f} dBTP), "
              f"{len(result.stems)} stems, {result.report.name}")
    return 0


def _watermark_detect(path: Path) -> int:
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


def _add_eval_parser(sub) -> None:
    from voicestudio.evaluate import DEFAULT_MAX_REFERENCES

    ev = sub.add_parser(
        "eval", help="score a voice against recordings of its speaker",
        description="Synthesize each sentence of FILE with the voice and score it against the reference "
                    "recordings: speaker similarity, quality (DNSMOS) and frame-rate buzz, word error rate, "
                    "mel-cepstral distortion, pitch and tempo, beside the base voice (the floor) and the real recordings (the ceiling).")
    ev.add_argument("--voice", required=True, metavar="PATH|NAME", help="voice name or .onnx path")
    ev.add_argument("--reference", required=True, metavar="DIR|PROJECT",
                    help="a voice project, or a folder of recordings with transcripts (metadata.csv, manifest.tsv or .txt files)")
    ev.add_argument("--texts", required=True, type=Path, metavar="FILE", help="sentences to synthesize, one per line")
    ev.add_argument("--no-floor", action="store_true", help="do not score the base voice")
    ev.add_argument("--max-references", type=int, default=DEFAULT_MAX_REFERENCES, metavar="N",
                    help=f"reference recordings to use at most, spread over the set (default {DEFAULT_MAX_REFERENCES})")


def _eval(args: argparse.Namespace) -> int:
    from voicestudio.evaluate.report import evaluate_voice

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


def _read_text(args: argparse.Namespace) -> str:
    if args.text_file is not None and args.text is not None:
        raise InputTextError("give the text either as an argument or with --text-file, not both")
    if args.text_file is not None and str(args.text_file) == "-":
        args = argparse.Namespace(**{**vars(args), "text": "-", "text_file": None})
    if args.text_file is not None:
        path: Path = args.text_file
        if not path.is_file():
            raise InputTextError(f"text file not found: {path}")
        if path.stat().st_size > MAX_TEXT_FILE_BYTES:
            raise InputTextError(f"text file {path} is larger than {MAX_TEXT_FILE_BYTES >> 20} MB")
        data = path.read_bytes()
        source = str(path)
    elif args.text == "-":
        data = sys.stdin.buffer.read(MAX_TEXT_FILE_BYTES + 1)
        if len(data) > MAX_TEXT_FILE_BYTES:
            raise InputTextError(f"standard input is larger than {MAX_TEXT_FILE_BYTES >> 20} MB")
        source = "standard input"
    elif args.text is not None:
        return args.text
    else:
        raise InputTextError("no text given: pass TEXT, '-' for standard input, or --text-file F")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")  # Windows editors save "Unicode" text like this
        except UnicodeDecodeError as exc:
            raise InputTextError(f"{source} looks like UTF-16 text but does not decode: {exc.reason}") from exc
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputTextError(f"{source} is not UTF-8 text (byte {exc.start} is invalid); save it as UTF-8") from exc


def _say(args: argparse.Namespace) -> int:
    from voicestudio.audio.io import check_writable, file_format_for
    from voicestudio.safety.watermark import synthetic_writer
    from voicestudio.styling.controls import StyleControls
    from voicestudio.voice.catalog import load_voice
    from voicestudio.voice.synthesizer import Synthesizer, TextReport

    controls = StyleControls(
        pitch=args.pitch, pitch_range=args.pitch_range, speed=args.speed, energy=args.energy,
        breathiness=args.breathiness, variability=args.variability, emotion=args.emotion, intensity=args.intensity,
    ).validated()
    check_writable(args.output)
    file_format = file_format_for(args.output)  # .m4a, no extension…: refused before any work
    file_format.sample_format(args.format)  # float in FLAC, any --format in Ogg/MP3: refused too
    if args.rate is not None:
        file_format.check_rate(args.rate)
    if args.threads is not None and args.threads < 1:
        raise VoiceStudioError("--threads must be at least 1")
    text = _read_text(args)
    if not text.strip():
        raise InputTextError("nothing to say: the text is empty")

    voice = load_voice(args.voice, provider=args.provider, threads=args.threads)
    if args.provider == "cuda" and voice.provider.used != "cuda":
        print(f"voicestudio: note: {voice.provider.reason}", file=sys.stderr)
    synth = Synthesizer(voice)
    file_format.check_rate(args.rate or synth.sample_rate)  # the voice's own rate may not fit an MP3
    report = TextReport()
    chunks = synth.synthesize(text, controls, report)
    first = next(chunks)  # empty or unspeakable text fails here, before a file is created
    writer = synthetic_writer(args.output, synth.sample_rate, args.rate, args.format)  # watermarked, tagged
    try:
        writer.write(first.samples)
        for chunk in chunks:
            writer.write(chunk.samples)
        path = writer.commit()
    except BaseException:
        writer.abort()
        raise
    for message in report.messages():
        print(f"voicestudio: warning: {message}", file=sys.stderr)
    if not args.quiet:
        seconds = writer.frames_written / writer.rate
        print(f"wrote {path}: {seconds:.2f} s, {writer.rate} Hz {writer.encoding}, "
              f"{report.sentences} sentence(s), voice {voice.name} on {voice.provider.used}")
    return 0


def _project(args: argparse.Namespace) -> int:
    from voicestudio.project.project import PROJECT_FILE, VoiceProject, resolve_project
    from voicestudio.project.store import restore_backup

    if args.project_command == "new":
        prompts, script_name = None, ""
        if args.script is not None:
            import datetime as dt

            from voicestudio.text.script import load_script

            script = load_script(args.script, project_name=args.name, date=dt.date.today())
            prompts, script_name = list(script.prompts), script.name
        project = VoiceProject.create(args.name, args.dir, speaker=args.speaker, prompts=prompts, script_name=script_name)
        print(f"created project {project.name} at {project.folder} ({len(project.prompts)} prompts)")
        return 0
    if args.project_command == "import":
        from voicestudio.project.importer import import_folder

        project = VoiceProject.open(args.project)

        tty = sys.stderr.isatty()

        def progress(done: int, total: int, name: str) -> None:
            if tty:
                print(f"\rimporting {done}/{total}: {name[:40]:40}", end="", file=sys.stderr, flush=True)
            elif done == total or done % 25 == 0:
                print(f"importing {done}/{total}", file=sys.stderr, flush=True)

        result = import_folder(project, args.source, asr=not args.no_asr, on_progress=progress)
        if tty:
            print(file=sys.stderr)
        print(f"imported {result.imported} takes ({result.seconds / 60:.1f} min) from {args.source} [{result.layout}]"
              + (f"; {result.already_present} were already in the project" if result.already_present else ""))
        for name, reason in result.skipped:
            print(f"voicestudio: warning: skipped {name}: {reason}", file=sys.stderr)
        return 0
    if args.project_command == "consent":
        return _project_consent(args)
    if args.project_command == "restore":
        folder = resolve_project(args.project)
        kept = restore_backup(folder / PROJECT_FILE)
        note = f" (the damaged file is kept as {kept.name})" if kept else ""
        print(f"restored {folder / PROJECT_FILE} from its last good copy{note}")
        return 0
    _project_info(VoiceProject.open(args.project), args.takes)
    return 0


def _project_info(project: VoiceProject, takes: bool) -> None:
    s = project.summary()
    verdicts = ", ".join(f"{n} {v}" for v, n in sorted(s.verdicts.items())) or "none"
    recorded = (f"{s.imported} imported, {s.recorded - s.imported} recorded here" if s.imported
                else f"{s.recorded} recorded")
    print(f"project:  {s.name} ({project.folder})")
    print(f"speaker:  {project.speaker or '-'}")
    print(f"prompts:  {s.prompts} ({recorded}, {s.skipped} skipped, {s.to_record} to record"
          + (f"; {s.optional} script prompts not recorded, optional" if s.optional else "") + ")")
    print(f"takes:    {s.takes} ({s.minutes:.1f} minutes in the chosen takes)")
    print(f"checks:   {verdicts}" + ("" if takes or not s.verdicts.keys() - {"pass"} else
                                     f" (see each take's: {command('project', 'info', project.folder, '--takes')})"))
    print(f"consent:  {'recorded' if s.has_consent_take else 'not recorded yet'} "
          f"(check it with: {command('project', 'consent', project.folder)})")
    if takes:
        _print_takes(project)


def _print_takes(project: VoiceProject) -> None:
    """Every take, prompt by prompt: its verdict, and the message of each check that did not pass."""
    from voicestudio.project.project import IMPORT_SOURCE_PREFIX

    print("\nprompt  take                 length  verdict    text")
    for number, prompt in enumerate(project.prompts, start=1):
        chosen = prompt.chosen_take
        for take in prompt.takes:
            mark = "*" if take is chosen and len(prompt.takes) > 1 else " "
            text = prompt.text if len(prompt.text) <= 60 else prompt.text[:59] + "…"
            origin = f" (imported from {Path(take.source.removeprefix(IMPORT_SOURCE_PREFIX)).name})" \
                if take.imported else ""
            print(f"{number:6}  {mark}{Path(take.file).name:20} {take.duration_s:5.1f} s  {take.verdict:9}  "
                  f"“{text}”{origin}")
            for check in take.report.problems if take.report is not None else []:
                print(f"{'':10}{check.verdict}: {check.name}: {check.message}")
    if any(len(p.takes) > 1 for p in project.prompts):
        print("* the take used for training, where a prompt has several")


def _project_consent(args: argparse.Namespace) -> int:
    """Print the statement and the verdict; exit 0 only when the consent is verified."""
    from voicestudio.project import selection
    from voicestudio.project.project import VoiceProject
    from voicestudio.safety import consent

    project = VoiceProject.open(args.project)
    statement = selection.statement_text(project)
    print(f"statement: {statement}")
    try:
        if args.file is not None:
            check = consent.add_consent_recording(project, args.file)
            print(f"stored {args.file} as the consent take {check.take}")
        else:
            check = consent.check_consent(project)
    except consent.ConsentError as exc:
        print(f"voicestudio: {exc}", file=sys.stderr)
        return 1
    print(check.describe())
    try:
        consent.refuse_unless_verified(project, check)
    except consent.ConsentError as exc:
        print(f"voicestudio: training and export are refused: {exc}", file=sys.stderr)
        return 1
    return 0


def _record(args: argparse.Namespace) -> int:
    from voicestudio.audio.devices import Recorder, RecorderError
    from voicestudio.project import recording
    from voicestudio.project.project import ProjectError, VoiceProject

    project = VoiceProject.open(args.project)
    if args.prompt is not None:
        index = args.prompt - 1  # people count prompts from 1, as they are shown
        if not 0 <= index < len(project.prompts):
            raise ProjectError(f"--prompt must be between 1 and {len(project.prompts)} (got {args.prompt})")
    else:
        index = project.next_pending()
    if index is None:
        raise ProjectError("every prompt has a take already; give --prompt N to record a retake")
    prompt = project.prompt(index)
    seconds = args.seconds if args.seconds is not None else recording.suggested_take_s(prompt.text)
    if not recording.MIN_TAKE_S <= seconds <= recording.longest_take_s():
        raise VoiceStudioError(f"--seconds must be between {recording.MIN_TAKE_S:g} and {recording.longest_take_s():g}")
    device = int(args.device) if args.device is not None and args.device.isdigit() else args.device
    recorder = Recorder(device, max_seconds=seconds)
    recorder.start()  # a missing or busy device fails here, before anything is shown
    print(f"prompt {index + 1} of {len(project.prompts)}: {prompt.text}", file=sys.stderr)
    print(f"recording {seconds:.1f} s from {recorder.device.name} at {recorder.sample_rate} Hz — speak now",
          file=sys.stderr, flush=True)
    try:
        recorder.wait(seconds + 5.0)
    finally:
        take = recorder.stop()
    if take.samples.size == 0:
        raise RecorderError(f"nothing was recorded{': ' + str(take.error) if take.error else ''}")
    # Save first: the checks take seconds, and an interruption there must not lose the take.
    saved = recording.save_recorded_take(project, index, take.samples, take.sample_rate)
    report = recording.check_recorded_take(take.samples, take.sample_rate, prompt.text)
    recording.store_report(project, saved, report)
    print(f"saved {saved.file} ({saved.duration_s:.2f} s): {report.verdict}")
    for check in report.checks:
        if check.verdict != "pass":
            print(f"  {check.verdict}: {check.name}: {check.message}")
    if take.error is not None:  # the device failed mid-take: what was captured is saved above
        raise take.error
    return 0


def _voices(args: argparse.Namespace) -> int:
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
        bundle = export_bundle(args.export, args.output, None if args.no_preview else PREVIEW_TEXT, args.name,
                               overwrite=args.overwrite)
        print(f"wrote {bundle.path} (voice {bundle.name}, {bundle.path.stat().st_size / 1e6:.1f} MB)")
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
    print(f"\nAdd a Piper voice with 'voicestudio voices --add NAME.onnx' (or a bundle with --import FILE.vsvoice), or copy NAME.onnx + NAME.onnx.json into {user_voices_dir()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
