"""Render a whole script, one clip per line, into a folder of numbered WAV files.

Clips are written into a hidden temporary folder inside the target and moved into
place only when every line is done, so a cancel, a failure or a crash never leaves a
half-rendered set (or a truncated file) where the user expects finished ones.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from voicestudio.audio.io import WAV_FORMATS, check_rate
from voicestudio.errors import InputTextError, OutputPathError, VoiceStudioError
from voicestudio.safety.watermark import synthetic_writer
from voicestudio.styling.controls import StyleControls
from voicestudio.text.script import MAX_PROMPTS, ScriptError, read_prompts
from voicestudio.voice.synthesizer import Synthesizer, TextReport

#: Most lines one render takes (the same bound a recording script has).
MAX_LINES = MAX_PROMPTS
#: Words of a line that name its clip, and the most characters they may take.
NAME_WORDS = 4
NAME_CHARS = 40


class RenderCancelled(Exception):
    """The caller's ``cancelled()`` check said stop; nothing was left behind."""


@dataclass(frozen=True)
class BatchResult:
    folder: Path
    files: list[Path]
    skipped: list[tuple[int, str]] = field(default_factory=list)  # (line number, why)
    seconds_of_audio: float = 0.0


def script_lines(path: str | Path) -> list[str]:
    """The lines of a script file to render: blank lines and ``#`` comments are skipped;
    an empty, huge or unreadable file raises a :class:`ScriptError` that says so."""
    return read_prompts(path)


def clip_name(number: int, text: str, digits: int = 3) -> str:
    """``001_first-words.wav``: the number, then the line's first words as a safe file name."""
    ascii_text = (
        unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    )
    words = re.findall(r"[a-z0-9]+", ascii_text)[:NAME_WORDS]
    slug = "-".join(words)[:NAME_CHARS].strip("-") or "line"
    return f"{number:0{digits}d}_{slug}.wav"


def render_script(
    lines: Sequence[str],
    synthesizer: Synthesizer,
    out_dir: str | Path,
    controls: StyleControls | None = None,
    rate: int | None = None,
    fmt: str = "pcm16",
    progress: Callable[[float, str], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
    overwrite: bool = False,
) -> BatchResult:
    """Speak each line into ``out_dir`` (created when missing; its parent must exist).

    ``progress(fraction, message)`` is called before each line and at the end; it may
    raise to stop the render, as may ``cancelled()`` returning True (then
    :class:`RenderCancelled`). Either way, and on any error, nothing new is left in
    ``out_dir``. Lines with nothing speakable are skipped and listed in the result.
    Existing files with a clip's name are only replaced when ``overwrite`` is set.
    """
    lines = _script_lines(lines)
    if fmt not in WAV_FORMATS:
        raise VoiceStudioError(f"unknown format {fmt!r}; choose one of {', '.join(WAV_FORMATS)}")
    if rate is not None:
        check_rate(rate)
    controls = (controls or StyleControls()).validated()
    out_dir = Path(out_dir).expanduser()
    names = _clip_names(lines, out_dir, overwrite)
    created = _make_folder(out_dir)
    staging = out_dir / f".voicestudio-render-{secrets.token_hex(4)}.part"
    try:
        staging.mkdir()
    except OSError as exc:
        _remove_if_created(out_dir, created)
        raise OutputPathError(f"cannot write into {out_dir}: {exc.strerror or exc}") from exc

    files: list[Path] = []
    skipped: list[tuple[int, str]] = []
    seconds = 0.0
    try:
        for number, (line, name) in enumerate(zip(lines, names, strict=True), start=1):
            if cancelled is not None and cancelled():
                raise RenderCancelled()
            if progress is not None:
                progress((number - 1) / len(lines), f"line {number} of {len(lines)}: {line[:60]}")
            try:
                seconds += _render_line(synthesizer, line, controls, staging / name, rate, fmt)
            except InputTextError as exc:
                skipped.append((number, str(exc)))
                continue
            files.append(out_dir / name)
        if cancelled is not None and cancelled():
            raise RenderCancelled()
        if not files:
            raise InputTextError("nothing speakable in any line of the script")
        _move_in(staging, out_dir, [f.name for f in files])
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        _remove_if_created(out_dir, created)
        raise
    shutil.rmtree(staging, ignore_errors=True)
    if progress is not None:
        # the work is done: a cancel arriving now changes nothing
        with contextlib.suppress(Exception):
            progress(1.0, f"rendered {len(files)} clip(s) into {out_dir}")
    return BatchResult(out_dir, files, skipped, seconds)


def _script_lines(lines: Sequence[str]) -> list[str]:
    """The lines with text in them; ScriptError for none, or for more than one render takes."""
    lines = [line.strip() for line in lines if line.strip()]
    if not lines:
        raise ScriptError("the script has no lines to render; write one sentence per line")
    if len(lines) > MAX_LINES:
        raise ScriptError(
            f"the script has {len(lines)} lines; at most {MAX_LINES} render at once, split it"
        )
    return lines


def _clip_names(lines: list[str], out_dir: Path, overwrite: bool) -> list[str]:
    """Each line's file name; OutputPathError when one is taken and ``overwrite`` is not set."""
    digits = max(3, len(str(len(lines))))
    names = [clip_name(i, line, digits) for i, line in enumerate(lines, start=1)]
    if not overwrite and out_dir.is_dir():
        taken = [n for n in names if (out_dir / n).exists()]
        if taken:
            raise OutputPathError(
                f"{out_dir} already holds {taken[0]}"
                + (f" and {len(taken) - 1} more" if len(taken) > 1 else "")
                + "; choose an empty folder"
            )
    return names


def _render_line(
    synth: Synthesizer, text: str, controls: StyleControls, path: Path, rate: int | None, fmt: str
) -> float:
    chunks = synth.synthesize(text, controls, TextReport())
    first = next(chunks)  # unspeakable text raises here, before a file is made
    writer = synthetic_writer(path, synth.sample_rate, rate, fmt)  # watermarked, tagged
    try:
        writer.write(first.samples)
        for chunk in chunks:
            writer.write(chunk.samples)
        writer.commit()
    except BaseException:
        writer.abort()
        raise
    return writer.frames_written / writer.rate


def _make_folder(out_dir: Path) -> bool:
    """Check ``out_dir`` can take files, creating it when missing; True when it was created."""
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputPathError(f"{out_dir} is a file, not a folder; choose a folder for the clips")
    if out_dir.is_dir():
        if not os.access(out_dir, os.W_OK | os.X_OK):
            raise OutputPathError(f"folder {out_dir} is not writable; choose another folder")
        return False
    parent = out_dir.parent
    if not parent.is_dir():
        raise OutputPathError(f"cannot create {out_dir}: folder {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputPathError(f"cannot create {out_dir}: folder {parent} is not writable")
    try:
        out_dir.mkdir()
    except OSError as exc:
        raise OutputPathError(f"cannot create {out_dir}: {exc.strerror or exc}") from exc
    return True


def _move_in(staging: Path, out_dir: Path, names: list[str]) -> None:
    """Move finished clips into place; on a failure, take back the ones already moved."""
    moved: list[str] = []
    try:
        for name in names:
            os.replace(staging / name, out_dir / name)
            moved.append(name)
    except OSError as exc:
        for name in moved:
            with contextlib.suppress(OSError):
                os.replace(out_dir / name, staging / name)
        raise OutputPathError(
            f"cannot move the clips into {out_dir}: {exc.strerror or exc}"
        ) from exc


def _remove_if_created(out_dir: Path, created: bool) -> None:
    if created:
        with contextlib.suppress(OSError):
            out_dir.rmdir()  # only when still empty: never removes anything of the user's

