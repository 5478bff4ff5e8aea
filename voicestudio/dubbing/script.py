"""Dubbing scripts: plain text, CSV/TSV, SRT or WebVTT in, typed :class:`DubLine` out.

Subtitles are parsed by the ``srt`` and ``webvtt-py`` libraries; this module only adds
what they leave out and a dubbing tool needs: the source line number of every cue (so
an error or warning points at the place to fix), and checks of the timing itself.
Decisions, made once here:

* a negative time, or a cue that ends at or before its start: an error naming its line;
* an empty cue: skipped, with a warning;
* overlapping cues: a warning; the later line still starts at its own cue;
* a line whose text starts with ``<speak>`` is speech markup (the rule of
  :func:`voicestudio.text.markup.is_markup`, as everywhere): it is kept as written (subtitle
  readers strip other tags) and parsed when the script is read, so bad markup is an error
  naming the script line and the column in the line's text, before anything is spoken;
* a CSV/TSV ``perform`` cell names a recording of the line (relative to the script's folder,
  or absolute): a missing or unreadable file is an error naming its line; whether the
  recording is a usable performance of the line is known only when it is read, at render.
"""

from __future__ import annotations

import csv
import html
import io
import math
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from voicestudio.errors import ControlRangeError, VoiceStudioError
from voicestudio.styling.controls import StyleControls
from voicestudio.text.markup import MarkupError, is_markup, parse_markup
from voicestudio.voice.perform import MARKUP_REFUSAL, is_performable

#: Bigger is not a script (a video, a pasted log): refuse before reading it all.
MAX_SCRIPT_BYTES = 8 << 20
#: Most lines one dub takes; a feature film has about 1,500 subtitles.
MAX_DUB_LINES = 10_000
#: Longest line of text for one clip; longer is a pasted paragraph or not text at all.
MAX_LINE_CHARS = 2_000

FORMATS = ("text", "csv", "tsv", "srt", "vtt")
_SUFFIX_FORMATS = {
    ".txt": "text",
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".srt": "srt",
    ".vtt": "vtt",
}
#: CSV/TSV columns and what each one sets; ``text`` is the only one a file must have.
CSV_COLUMNS = ("id", "text", "voice", "emotion", "intensity", "pitch", "speed", "start", "end",
               "perform")
_NUMBER_COLUMNS = ("intensity", "pitch", "speed")

# A cue timing line: "[-]HH:MM:SS,mmm --> HH:MM:SS,mmm [settings]" (hours optional in WebVTT).
_TIMESTAMP = r"(-?)\s*(?:(\d+):)?(\d{1,2}):(\d{1,2})[,.](\d{1,3})"
_TIMING_LINE = re.compile(rf"^\s*{_TIMESTAMP}\s*-->\s*{_TIMESTAMP}(?:\s.*)?$")
#: A time line with a wrong arrow ("->", "=>", "- ->"): a cue the libraries would drop unseen.
_ALMOST_TIMING_LINE = re.compile(
    r"^\s*(?:\d+:)?\d{1,2}:\d{1,2}[,.]\d{1,3}\s*[-=–—>\s]+\s*(?:\d+:)?\d{1,2}:\d"
)
#: How each format writes a time line, for error messages.
_TIME_FORMAT = {"srt": "HH:MM:SS,mmm --> HH:MM:SS,mmm", "vtt": "[HH:]MM:SS.mmm --> [HH:]MM:SS.mmm"}
_TIME_EXAMPLE = {"srt": "00:00:01,000 --> 00:00:02,500", "vtt": "00:01.000 --> 00:02.500"}


class DubScriptError(VoiceStudioError):
    """A dubbing script cannot be read; the message names the line and what is wrong."""


@dataclass(frozen=True)
class DubLine:
    """One clip to speak. ``None`` in a per-line field means "use the dub's setting"."""

    index: int  # 1-based position in the dub (stems and the report count from it)
    line_no: int  # where it starts in the source file, for messages
    text: str
    start_s: float | None = None
    end_s: float | None = None
    clip_id: str = ""
    voice: str | None = None
    emotion: str | None = None
    intensity: float | None = None
    pitch: float | None = None
    speed: float | None = None
    #: A recording of the line whose delivery the voice is to follow (absolute; None: the
    #: voice's own delivery). Checked to be a readable audio file when it is set.
    perform: Path | None = None

    @property
    def timed(self) -> bool:
        return self.start_s is not None and self.end_s is not None

    @property
    def markup(self) -> bool:
        """The text is speech markup (it starts with ``<speak>``)."""
        return is_markup(self.text)

    @property
    def written_text(self) -> str:
        """The words as written, without markup tags (stem names, subtitles of the dub)."""
        if not self.markup:
            return self.text
        return " ".join(parse_markup(self.text).written_text.split())

    @property
    def slot_s(self) -> float | None:
        """Length of the cue: the time the spoken line should fit in."""
        return self.end_s - self.start_s if self.timed else None

    @property
    def unit(self) -> str:
        """What a person calls it: a ``cue`` of subtitles (or of a timed table), else a ``line``."""
        return "cue" if self.timed else "line"

    @property
    def label(self) -> str:
        """How messages name it, counted as the progress and the Dubbing table count: ``cue 3
        (00:00:04.000)`` (the start finds it in the file: an empty cue is not counted), or
        ``line 3`` with its file line when that differs (a header, blank lines, comments)."""
        if self.timed:
            return f"cue {self.index} ({timestamp(self.start_s)})"
        return f"line {self.index}" + (
            f" (file line {self.line_no})" if self.line_no != self.index else ""
        )

    def style_overrides(self) -> dict[str, float | str]:
        """The styling fields this line sets, as ``StyleControls`` keyword arguments."""
        values = {
            "emotion": self.emotion,
            "intensity": self.intensity,
            "pitch": self.pitch,
            "speed": self.speed,
        }
        return {k: v for k, v in values.items() if v is not None}


def timestamp(seconds: float) -> str:
    """``62.5`` → ``"00:01:02.500"``: a cue's time as subtitle files write it."""
    ms = int(round(seconds * 1000))
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    return f"{hours:02d}:{minutes:02d}:{rest // 1000:02d}.{rest % 1000:03d}"


@dataclass(frozen=True)
class ScriptWarning:
    """Something about a line of the script file a person should know (skipped, overlapping);
    ``line_no`` is the file's line, so report.csv can put it on that line's row."""

    line_no: int
    text: str

    @property
    def message(self) -> str:
        return f"line {self.line_no}: {self.text}"


@dataclass(frozen=True)
class DubScript:
    """The lines of a script in file order, and what was skipped or looks wrong (by line)."""

    source: str
    format: str
    lines: list[DubLine]
    warnings: list[ScriptWarning] = field(default_factory=list)

    @property
    def timed(self) -> bool:
        return bool(self.lines) and self.lines[0].timed

    @property
    def end_s(self) -> float | None:
        """The last cue's end: the length the stitched track must have."""
        return max(line.end_s for line in self.lines) if self.timed else None


def load_dub_script(path: str | Path, fmt: str | None = None) -> DubScript:
    """Read a script file; ``fmt`` (one of :data:`FORMATS`) overrides the guess from the name.
    Relative ``perform`` paths are read from the script's folder."""
    path = Path(path).expanduser()
    if path.is_dir():
        raise DubScriptError(
            f"{path} is a folder; give a script file (.txt, .csv, .tsv, .srt or .vtt)"
        )
    if not path.is_file():
        raise DubScriptError(f"script not found: {path}")
    size = path.stat().st_size
    if size > MAX_SCRIPT_BYTES:
        raise DubScriptError(
            f"{path} is {size / 2**20:.1f} MB; a dubbing script is at "
            f"most {MAX_SCRIPT_BYTES >> 20} MB (is this the right file?)"
        )
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DubScriptError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if fmt is None:
        fmt = _SUFFIX_FORMATS.get(path.suffix.lower())
    return parse_dub_script(_decode(data, str(path)), fmt, source=str(path),
                            folder=path.resolve().parent)


def parse_dub_script(text: str, fmt: str | None = None, source: str = "script",
                     folder: str | Path | None = None) -> DubScript:
    """Parse script text already in memory (``fmt`` None: sniffed from the content);
    relative ``perform`` paths are read from ``folder`` (None: the current folder)."""
    if fmt is None:
        fmt = _sniff(text)
    if fmt not in FORMATS:
        raise DubScriptError(f"unknown script format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if "\x00" in text:
        raise DubScriptError(f"{source} is a binary file, not a script")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    warnings: list[ScriptWarning] = []
    if fmt == "text":
        lines = _parse_text(text, source)
    elif fmt in ("csv", "tsv"):
        where = Path(folder).expanduser() if folder is not None else Path.cwd()
        lines = _parse_table(text, "\t" if fmt == "tsv" else ",", source, warnings, where)
    else:
        lines = _parse_subtitles(text, fmt, source, warnings)
    if not lines:
        raise DubScriptError(
            f"{source} has no lines to speak" + (f" ({warnings[-1].message})" if warnings else "")
        )
    if len(lines) > MAX_DUB_LINES:
        raise DubScriptError(
            f"{source} has {len(lines)} lines; at most {MAX_DUB_LINES} dub at once, split it"
        )
    if lines[0].timed:
        warnings.extend(_overlaps(lines))
    return DubScript(source, fmt, lines, warnings)


def _decode(data: bytes, source: str) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")  # what Windows editors call "Unicode"
        except UnicodeDecodeError as exc:
            raise DubScriptError(
                f"{source} looks like UTF-16 text but does not decode: {exc.reason}"
            ) from exc
    if b"\x00" in data[:65536]:
        raise DubScriptError(f"{source} is a binary file, not a script")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise DubScriptError(
            f"{source}, line {line}: not UTF-8 text (byte {exc.start} is invalid); "
            "save the file as UTF-8"
        ) from exc


def _sniff(text: str) -> str:
    head = text.lstrip("\ufeff \t\r\n")
    if head.startswith("WEBVTT"):
        return "vtt"
    first = head.splitlines()[:2]
    if len(first) == 2 and first[0].strip().isdigit() and "-->" in first[1]:
        return "srt"
    return "text"


def check_line_text(text: str, line_no: int, source: str) -> str:
    """``text`` when one line of a dub may hold it (the script readers and line edits); a
    markup line must parse, so it is never found bad half-way through a render."""
    if len(text) > MAX_LINE_CHARS:
        raise DubScriptError(
            f"{source}, line {line_no}: {len(text)} characters in one line, at "
            f"most {MAX_LINE_CHARS}; split it into several lines"
        )
    if is_markup(text):
        try:
            parse_markup(text)
        except MarkupError as exc:
            raise markup_error(exc, line_no, source) from exc
    return text


def markup_error(exc: MarkupError, line_no: int, source: str) -> DubScriptError:
    """A line's bad markup as a script error: the script line, then where in the line's text
    (a CSV text and a cue's lines are joined into one line before they are parsed)."""
    where = f"column {exc.column}" if exc.line == 1 else f"line {exc.line}, column {exc.column}"
    return DubScriptError(
        f"{source}, line {line_no}: bad speech markup at {where} of the line's text: {exc.reason}"
    )


def _parse_text(text: str, source: str) -> list[DubLine]:
    """One clip per line; blank lines and ``#`` comments are skipped."""
    lines: list[DubLine] = []
    for line_no, raw in enumerate(text.split("\n"), start=1):
        line = raw.strip()
        if line and not line.startswith("#"):
            lines.append(DubLine(len(lines) + 1, line_no, check_line_text(line, line_no, source)))
    return lines


def _parse_table(text: str, delimiter: str, source: str,
                 warnings: list[ScriptWarning], folder: Path) -> list[DubLine]:
    reader = csv.reader(io.StringIO(text), delimiter=delimiter, strict=True)
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise DubScriptError(f"{source}, line 1: {exc}") from exc
    if header is None:
        raise DubScriptError(f"{source} is empty")
    names = [h.strip().lower() for h in header]
    if "text" not in names:
        raise DubScriptError(
            f"{source}, line 1: the header row needs a 'text' column "
            f"(got {', '.join(header) or 'nothing'}); known columns: {', '.join(CSV_COLUMNS)}"
        )
    unknown = [h for h in names if h and h not in CSV_COLUMNS]
    if unknown:
        warnings.append(ScriptWarning(1, f"ignored unknown column(s) {', '.join(unknown)}"))
    lines: list[DubLine] = []
    last = reader.line_num
    try:
        for row in reader:
            # where the record starts (quoted text may span lines)
            line_no, last = last + 1, reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if len(row) > len(names):
                raise DubScriptError(
                    f"{source}, line {line_no}: {len(row)} fields but the header has {len(names)} "
                    "(a text with the separator in it must be in double quotes)"
                )
            cells = {
                name: cell.strip()
                for name, cell in zip(names, row, strict=False)
                if name in CSV_COLUMNS
            }
            line = _table_line(cells, len(lines) + 1, line_no, source, warnings, folder)
            if line is not None:
                lines.append(line)
    except csv.Error as exc:
        # reported where the bad record starts (an open quote runs on to the end)
        hint = "; a double quote opened here is never closed" if "end of data" in str(exc) else ""
        raise DubScriptError(f"{source}, line {last + 1}: {exc}{hint}") from exc
    timed = [line.timed for line in lines]
    if any(timed) and not all(timed):
        first = lines[timed.index(False)]
        raise DubScriptError(
            f"{source}, line {first.line_no}: no start/end time, but other lines have them; "
            "give every line a time or none"
        )
    return lines


def _table_line(
    cells: dict[str, str], index: int, line_no: int, source: str, warnings: list[ScriptWarning],
    folder: Path,
) -> DubLine | None:
    where = f"{source}, line {line_no}"
    text = " ".join(cells.get("text", "").split())  # a quoted text may span lines: spoken as one
    if not text:
        warnings.append(ScriptWarning(line_no, "empty text, skipped"))
        return None
    numbers: dict[str, float | None] = {}
    for name in (*_NUMBER_COLUMNS, "start", "end"):
        value = cells.get(name, "")
        if not value:
            numbers[name] = None
            continue
        try:
            number = float(value)
        except ValueError:
            raise DubScriptError(f"{where}: {name} must be a number (got {value!r})") from None
        if not math.isfinite(number):
            raise DubScriptError(f"{where}: {name} must be a finite number (got {value!r})")
        numbers[name] = number
    line = DubLine(
        index,
        line_no,
        check_line_text(text, line_no, source),
        numbers["start"],
        numbers["end"],
        clip_id=cells.get("id", ""),
        voice=cells.get("voice") or None,
        emotion=cells.get("emotion") or None,
        intensity=numbers["intensity"],
        pitch=numbers["pitch"],
        speed=numbers["speed"],
        perform=(performance_file(cells["perform"], folder, where)
                 if cells.get("perform") else None),
    )
    if (line.start_s is None) != (line.end_s is None):
        raise DubScriptError(f"{where}: give both start and end (seconds), or neither")
    if line.perform is not None:
        check_performable(line.text, where)
    if line.timed:
        _check_times(line.start_s, line.end_s, where)
    _check_style(line, where)
    return line


def performance_file(name: str | Path, folder: Path, where: str) -> Path:
    """The recording a line is to be performed like, as an absolute path: ``name`` relative to
    ``folder`` (the script's) unless absolute. A file that is missing, or that libsndfile cannot
    open as audio, is a :class:`DubScriptError` starting with ``where`` (the script line)."""
    path = Path(name).expanduser()
    if not path.is_absolute():
        path = folder / path
    path = path.resolve()
    if path.is_dir():
        raise DubScriptError(f"{where}: the performance {path} is a folder, not a recording")
    if not path.is_file():
        raise DubScriptError(f"{where}: performance recording not found: {path}")
    import soundfile

    try:  # the header only: whether it is a usable performance is known when it is read
        info = soundfile.info(str(path))
    except (soundfile.LibsndfileError, RuntimeError, OSError, ValueError) as exc:
        raise DubScriptError(
            f"{where}: cannot read the performance recording {path}: {exc}") from exc
    if info.frames == 0:
        raise DubScriptError(f"{where}: the performance recording {path} holds no audio")
    return path


def set_line_performance(script: DubScript, index: int, recording: str | Path | None) -> DubLine:
    """Give line ``index`` (1-based) of ``script`` a performance recording (None: take it away),
    checked as a script's ``perform`` cell is (relative paths: the current folder). The line is
    replaced in ``script.lines``, so every session over the script keeps it."""
    if not 1 <= index <= len(script.lines):
        raise VoiceStudioError(
            f"line {index} does not exist; the script has {len(script.lines)} lines")
    line = script.lines[index - 1]
    path = None
    if recording is not None:
        check_performable(line.text, line.label)
        path = performance_file(recording, Path.cwd(), line.label)
    line = replace(line, perform=path)
    script.lines[index - 1] = line
    return line


def check_performable(text: str, where: str) -> None:
    """A performed line takes its delivery from the recording; speech markup says how to
    deliver it too, and the two do not combine (as ``say --perform`` refuses ``--ssml``)."""
    if not is_performable(text):
        raise DubScriptError(f"{where}: {MARKUP_REFUSAL}")


def _check_style(line: DubLine, where: str) -> None:
    overrides = line.style_overrides()
    if not overrides:
        return

    try:
        StyleControls().with_changes(**overrides)
    except ControlRangeError as exc:
        raise DubScriptError(f"{where}: {exc}") from exc


def _check_times(start: float, end: float, where: str) -> None:
    if start < 0 or end < 0:
        raise DubScriptError(
            f"{where}: negative time ({start:.3f} s → {end:.3f} s); times start at 0"
        )
    if end <= start:
        raise DubScriptError(
            f"{where}: the cue ends at {end:.3f} s, {'at' if end == start else 'before'} its start "
            f"({start:.3f} s); swap or fix the times"
        )


def _timing_lines(text: str, source: str, fmt: str) -> list[int]:
    """Line numbers of the cue timing lines, in order; a line with ``-->`` that is not a
    valid timing line is an error here, where its line number is known (the libraries
    either drop such a cue silently or report it without a line)."""
    found: list[int] = []
    expected = f"(expected {_TIME_FORMAT[fmt]})"
    for line_no, line in enumerate(text.split("\n"), start=1):
        if "-->" not in line:
            if _ALMOST_TIMING_LINE.match(line):
                raise DubScriptError(
                    f"{source}, line {line_no}: not a valid cue time {line.strip()[:60]!r}: the "
                    f"arrow between the times is '-->' {expected}"
                )
            continue
        match = _TIMING_LINE.match(line)
        if match is None:
            raise DubScriptError(
                f"{source}, line {line_no}: not a valid cue time {line.strip()[:60]!r} {expected}"
            )
        if fmt == "vtt" and "," in line.split("-->")[0] + line.split("-->")[1][:13]:
            raise DubScriptError(
                f"{source}, line {line_no}: WebVTT times have a dot before the milliseconds, not "
                f"a comma: {line.strip()[:60]!r} {expected}"
            )
        if any(int(match.group(g)) > 59 for g in (3, 4, 8, 9)):
            raise DubScriptError(f"{source}, line {line_no}: minutes and seconds go up to 59 in "
                                 f"{line.strip()[:60]!r} {expected}")
        if match.group(1) or match.group(6):
            raise DubScriptError(
                f"{source}, line {line_no}: negative time "
                f"in {line.strip()[:60]!r}; times start at 0"
            )
        found.append(line_no)
    return found


def _parse_subtitles(text: str, fmt: str, source: str,
                     warnings: list[ScriptWarning]) -> list[DubLine]:
    timing_lines = _timing_lines(text, source, fmt)
    if fmt == "srt":
        cues = _read_srt(text, source)
    else:
        cues = _read_vtt(text, source)
        warnings.extend(_vtt_blocks_without_time(text))
    if not cues:
        raise DubScriptError(
            f"{source} has no {fmt.upper()} cues (time lines like {_TIME_EXAMPLE[fmt]})"
        )
    if len(cues) != len(timing_lines):  # should not happen: every cue has exactly one timing line
        raise DubScriptError(
            f"{source}: found {len(timing_lines)} timing lines but {len(cues)} cues; "
            "check the file's blank lines"
        )
    lines: list[DubLine] = []
    for (start, end, content), line_no in zip(cues, timing_lines, strict=True):
        where = f"{source}, line {line_no}"
        _check_times(start, end, where)
        spoken = _spoken_text(content)
        if "\n\n" in content.strip("\n"):  # srt takes text up to the next block it recognises
            warnings.append(ScriptWarning(
                line_no, "the cue's text has a blank line in it; if a subtitle number or time "
                "is missing there, its text is spoken with this cue"))
        if not spoken:
            warnings.append(ScriptWarning(line_no, "empty cue, skipped"))
            continue
        lines.append(
            DubLine(len(lines) + 1, line_no, check_line_text(spoken, line_no, source), start, end)
        )
    return lines


def _read_srt(text: str, source: str) -> list[tuple[float, float, str]]:
    import srt

    try:
        return [
            (round(s.start.total_seconds(), 6), round(s.end.total_seconds(), 6), s.content)
            for s in srt.parse(text)
        ]
    except srt.SRTParseError as exc:
        # The unmatched block starts where a block was expected (actual_start is where matching
        # resumed).
        skipped = len(exc.unmatched_content) - len(exc.unmatched_content.lstrip())
        line_no = text.count("\n", 0, exc.expected_start + skipped) + 1
        block = exc.unmatched_content.strip().split("\n")
        # the number is fine: its time line is not
        if len(block) >= 2 and block[0].strip().isdigit():
            raise DubScriptError(
                f"{source}, line {line_no + 1}: not a valid cue time {block[1].strip()[:60]!r} "
                f"(expected {_TIME_FORMAT['srt']})"
            ) from exc
        bad = block[0][:60]
        raise DubScriptError(
            f"{source}, line {line_no}: not a subtitle block: {bad!r} "
            "(expected a number, a time line and the text, then a blank line)"
        ) from exc
    except (srt.TimestampParseError, ValueError) as exc:
        raise DubScriptError(f"{source}: {exc}") from exc


def _read_vtt(text: str, source: str) -> list[tuple[float, float, str]]:
    import webvtt
    from webvtt.errors import MalformedCaptionError, MalformedFileError

    try:
        captions = webvtt.from_string(text, strict=True).captions
    except MalformedFileError as exc:
        raise DubScriptError(
            f"{source}, line 1: not a WebVTT file (it must start with 'WEBVTT'): {exc}"
        ) from exc
    except MalformedCaptionError as exc:
        raise DubScriptError(f"{source}: {_with_line(str(exc), text)}") from exc
    # ``text`` drops tags; a markup cue needs them all (``_spoken_text`` strips the others)
    return [(_vtt_seconds(c.start), _vtt_seconds(c.end),
             c.raw_text if is_markup(c.raw_text.strip()) else c.text) for c in captions]


def _vtt_blocks_without_time(text: str) -> list[ScriptWarning]:
    """Warnings for text blocks that are not a cue (no ``-->`` line), which WebVTT readers
    drop without a word: a cue whose time line was lost would otherwise go unspoken."""
    warnings: list[ScriptWarning] = []
    block: list[tuple[int, str]] = []
    for line_no, line in enumerate([*text.split("\n"), ""], start=1):
        if line.strip():
            block.append((line_no, line.strip()))
            continue
        if block:
            first_no, first = block[0]
            ignorable = first_no == 1 or first.startswith(_VTT_NON_CUE_BLOCKS)  # the WEBVTT header
            if not ignorable and not any("-->" in content for _, content in block):
                warnings.append(ScriptWarning(
                    first_no, f"text without a cue time, not spoken: {first[:60]!r}"))
        block = []
    return warnings


_VTT_NON_CUE_BLOCKS = ("WEBVTT", "NOTE", "STYLE", "REGION")


def _vtt_seconds(stamp: str) -> float:
    """``[HH:]MM:SS.mmm`` → seconds with the milliseconds (``start_in_seconds`` drops them)."""
    parts = stamp.split(":")
    seconds = float(parts[-1])
    minutes = int(parts[-2]) if len(parts) >= 2 else 0
    hours = int(parts[-3]) if len(parts) >= 3 else 0
    return round(hours * 3600 + minutes * 60 + seconds, 6)


def _with_line(message: str, text: str) -> str:
    """Prefix a webvtt message with the line number of the block it quotes, when found."""
    match = re.search(r"\['([^']*)'", message)
    if match:
        for line_no, line in enumerate(text.split("\n"), start=1):
            if line.strip() and line.strip() == match.group(1).strip():
                return f"line {line_no}: {message}"
    return message


#: Markup, not text: ``<i>``, ``</i>``, ``<v Bob>``, ``<c.red>``, WebVTT's ``<00:01.500>`` and
#: ASS-style ``{\\an8}``. A ``<`` followed by a space ("x < y") is text and stays.
_TAG = re.compile(r"</?[A-Za-z][^<>]*>|<[\d:.]+>|\{\\[^}]*\}")


def _spoken_text(content: str) -> str:
    """Cue text as it is spoken: markup (``<i>``, ``<v Name>``, ``{\\an8}``) removed, lines
    joined. Speech markup (a cue starting with ``<speak>``) is kept as written, entities
    too: the markup parser reads them."""
    if not is_markup(content.strip()):
        content = html.unescape(_TAG.sub("", content))
    return " ".join(part.strip() for part in content.split("\n") if part.strip())


def _overlaps(lines: list[DubLine]) -> list[ScriptWarning]:
    """Warnings for cues out of time order and for cues that overlap an earlier-starting one."""
    warnings: list[ScriptWarning] = []
    order = sorted(lines, key=lambda line: (line.start_s, line.index))
    if order != lines:
        first = next(b for a, b in zip(lines, lines[1:], strict=False) if b.start_s < a.start_s)
        warnings.append(ScriptWarning(
            first.line_no, "cues are not in time order; every line is placed at its own time"))
    latest: DubLine | None = None
    for line in order:
        if latest is not None and line.start_s < latest.end_s:
            warnings.append(ScriptWarning(
                line.line_no, f"cue starts at {line.start_s:.3f} s, before the cue at line "
                f"{latest.line_no} ends ({latest.end_s:.3f} s); both are placed at their own "
                "times and overlap"))
        if latest is None or line.end_s > latest.end_s:
            latest = line
    return warnings
