"""``voicestudio say``: text (an argument, a file or standard input) into a watermarked audio
file."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from voicestudio.cli.styling import add_style_options, style_controls
from voicestudio.errors import InputTextError, VoiceStudioError

MAX_TEXT_FILE_BYTES = 64 << 20


def add_parser(sub) -> None:
    from voicestudio.audio.io import SampleFormat, describe_sample_formats, file_formats

    # the one table, in audio.io
    file_types = ", ".join(f"{f.suffix} {f.label}" for f in file_formats())
    say = sub.add_parser(
        "say",
        help=f"speak text into an audio file ({', '.join(f.label for f in file_formats())})",
        description=("Speak TEXT (or a file, or stdin) into an audio file; its extension picks "
                     f"the type: {file_types}."),
    )
    say.add_argument("text", nargs="?", help="the text; '-' reads standard input")
    say.add_argument("--text-file", type=Path, metavar="F", help="read the text from a UTF-8 file")
    say.add_argument("-o", "--output", type=Path, required=True, metavar="OUT.wav",
                     help=f"file to write; its extension picks the type ({file_types})")
    say.add_argument(
        "--voice", metavar="PATH|NAME", help="voice name (see 'voicestudio voices') or .onnx path"
    )
    say.add_argument(
        "--provider",
        choices=("auto", "cpu", "cuda"),
        default="auto",
        help="onnxruntime provider (default auto: measured)",
    )
    say.add_argument(
        "--threads",
        type=int,
        metavar="N",
        help="CPU threads for the voice model (default: all cores)",
    )
    say.add_argument(
        "--rate", type=int, metavar="HZ", help="output sample rate (default: the voice's)"
    )
    say.add_argument(
        "--format",
        choices=[f.value for f in SampleFormat],
        default=None,  # the file type's default
        help=f"sample format of a lossless file ({describe_sample_formats()}; default pcm16); "
        "lossy types have no bit depth and refuse it",
    )
    say.add_argument("--ssml", action="store_true",
                     help="read the text as speech markup even without a <speak> root (a text "
                     "starting with <speak> is read as markup anyway; see the README)")
    say.add_argument("--timings", type=Path, metavar="OUT.json",
                     help="also write when each word and phoneme is heard (JSON, seconds)")
    say.add_argument("--subtitles", type=Path, metavar="OUT.srt|OUT.vtt",
                     help="also write subtitles: a cue per sentence (.vtt marks each word too)")
    say.add_argument("--perform", type=Path, metavar="TAKE.wav",
                     help="deliver the line as this recording of it does (anyone's voice): "
                     "its timing, intonation and loudness, carried onto the voice")
    say.add_argument("--transfer", metavar="LIST", default=None,
                     help="what --perform carries over, comma-separated: timing, pitch, energy "
                     "(default: all three)")
    say.add_argument("--strength", type=float, metavar="PCT", default=None,
                     help="how much of the performance is carried over, 0-100 (default 80)")
    say.add_argument("-q", "--quiet", action="store_true", help="print nothing on success")

    add_style_options(say)


def run(args: argparse.Namespace) -> int:
    from voicestudio.audio.io import check_writable, file_format_for
    from voicestudio.project.lexicon_store import lexicon_for
    from voicestudio.safety.watermark import synthetic_writer
    from voicestudio.voice.catalog import load_voice, resolve_voice, voice_project
    from voicestudio.voice.synthesizer import Synthesizer, TextReport
    from voicestudio.voice.timing_files import SubtitleFormat, write_subtitles, write_timings
    from voicestudio.voice.timings import Timeline

    controls = style_controls(args)
    settings = perform_settings(args)  # a bad --transfer or --strength: refused before any work
    check_writable(args.output)
    for extra in (args.timings, args.subtitles):
        if extra is not None:
            check_writable(extra)
    if args.subtitles is not None:
        SubtitleFormat.for_path(args.subtitles)  # .txt and the like: refused before any work
    file_format = file_format_for(args.output)  # .m4a, no extension…: refused before any work
    file_format.sample_format(args.format)  # float in FLAC, any --format in Ogg/MP3: refused too
    if args.rate is not None:
        file_format.check_rate(args.rate)
    if args.threads is not None and args.threads < 1:
        raise VoiceStudioError("--threads must be at least 1")
    text = read_text(args)
    if not text.strip():
        raise InputTextError("nothing to say: the text is empty")

    voice = load_voice(args.voice, provider=args.provider, threads=args.threads)
    if args.provider == "cuda" and voice.provider.used != "cuda":
        print(f"voicestudio: note: {voice.provider.reason}", file=sys.stderr)
    if (args.timings or args.subtitles) and not voice.has_durations:
        raise VoiceStudioError(f"voice {voice.name} gives no word timings: "
                               f"{voice.no_durations_reason}; leave out --timings/--subtitles")
    lexicon = lexicon_for(voice_project(resolve_voice(args.voice)))  # how words are said
    synth = Synthesizer(voice, lexicon=lexicon)
    # the voice's own rate may not fit an MP3
    file_format.check_rate(args.rate or synth.sample_rate)
    report = TextReport()
    if args.perform is not None:
        pieces = iter([_performed(args, synth, text, controls, settings, report)])
    else:
        chunks = synth.synthesize(text, controls, report, markup=True if args.ssml else None)
        pieces = ((c.samples, c.words) for c in chunks)
    first = next(pieces)  # empty or unspeakable text fails here, before a file is created
    # watermarked, tagged
    writer = synthetic_writer(args.output, synth.sample_rate, args.rate, args.format)
    timeline = Timeline()
    try:
        for samples, words in (first, *pieces):
            writer.write(samples)
            timeline.add(words, len(samples) / synth.sample_rate)
        # the side files first: a failure there leaves no audio file without them
        if args.timings is not None:
            write_timings(args.timings, timeline)
        if args.subtitles is not None:
            write_subtitles(args.subtitles, timeline)
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


def perform_settings(args: argparse.Namespace):
    """--transfer and --strength as PerformSettings (None without --perform; refused then)."""
    from voicestudio.voice.perform import (
        DEFAULT_STRENGTH,
        MARKUP_REFUSAL,
        PerformSettings,
        Transfer,
    )

    if args.perform is None:
        if args.transfer is not None or args.strength is not None:
            raise VoiceStudioError("--transfer and --strength shape a --perform; give one")
        return None
    if args.ssml:
        raise VoiceStudioError(f"--perform with --ssml: {MARKUP_REFUSAL}")
    names = [n.strip().lower() for n in (args.transfer or "timing,pitch,energy").split(",")]
    known = {t.value: t for t in Transfer}
    unknown = [n for n in names if n not in known]
    if unknown or not any(names):
        raise VoiceStudioError(f"--transfer takes {', '.join(known)} (comma-separated); "
                               f"got {args.transfer!r}")
    strength = DEFAULT_STRENGTH * 100 if args.strength is None else args.strength
    if not 0 <= strength <= 100:
        raise VoiceStudioError(f"--strength must be 0 to 100 (got {strength:g})")
    return PerformSettings(frozenset(known[n] for n in names), strength / 100).validated()


def _performed(args: argparse.Namespace, synth, text: str, controls, settings, report):
    """The line delivered as the recording ``--perform`` delivers it: (samples, words)."""
    from voicestudio.voice.perform import MARKUP_REFUSAL, is_performable, perform
    from voicestudio.voice.performance import read_performance_file

    if not is_performable(text):  # said before the recording is blamed for not reading it
        raise VoiceStudioError(MARKUP_REFUSAL[:1].upper() + MARKUP_REFUSAL[1:])
    performance = read_performance_file(args.perform, text)  # refused whole if unusable
    line = perform(synth, text, performance, controls, settings, report)
    return line.audio, line.words


def read_text(args: argparse.Namespace) -> str:
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
            raise InputTextError(
                f"{source} looks like UTF-16 text but does not decode: {exc.reason}"
            ) from exc
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputTextError(
            f"{source} is not UTF-8 text (byte {exc.start} is invalid); save it as UTF-8"
        ) from exc
