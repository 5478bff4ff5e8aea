"""Write a dub into a folder: ``track.wav``, ``stems/``, ``report.csv``, ``words.csv`` and
the dub's subtitles (``track.srt``, ``track.vtt``), all or nothing.

Everything is written into a hidden temporary folder and moved into place only at the
end, so a cancel, a failure or a crash never leaves a half-written dub where the user
expects a finished one. A new output folder is built beside its final name and renamed
into place in one step; into an existing folder (which may hold other files of the
user's) the outputs are moved one by one, as :mod:`voicestudio.voice.batch` does,
and put back as they were if a move fails.
"""

from __future__ import annotations

import contextlib
import csv
import glob
import os
import secrets
import shutil
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from voicestudio.audio.io import write_audio
from voicestudio.dubbing.mix import DubMix, mix
from voicestudio.dubbing.render import DubSession
from voicestudio.dubbing.script import DubScript, load_dub_script, timestamp
from voicestudio.dubbing.types import CancelFn, DubSettings, LineStatus, ProgressFn
from voicestudio.errors import OutputPathError
from voicestudio.safety.watermark import synthetic_tags
from voicestudio.text.lexicon import Lexicon
from voicestudio.voice.batch import RenderCancelled, clip_name
from voicestudio.voice.timing_files import write_subtitles
from voicestudio.voice.timings import Timeline, WordTime

if TYPE_CHECKING:
    from voicestudio.voice.synthesizer import Synthesizer

TRACK_NAME = "track.wav"
STEMS_DIR = "stems"
REPORT_NAME = "report.csv"
WORDS_NAME = "words.csv"
SUBTITLE_NAMES = ("track.srt", "track.vtt")
OUTPUT_NAMES = (TRACK_NAME, STEMS_DIR, REPORT_NAME, WORDS_NAME, *SUBTITLE_NAMES)
#: One row per spoken word, in track order: the line's ``index`` and ``id`` (as in
#: report.csv), the word as written, and when it is heard in track.wav (seconds).
WORDS_COLUMNS = ("index", "id", "word", "start_s", "end_s")
#: ``tempo``: natural ÷ rendered duration (1.2 = spoken 20 % faster to fit); ``fit_ratio``:
#: rendered ÷ slot duration (above 1: the line runs past its cue, and ``warnings`` says so);
#: ``fit_method``: none, model (the voice model's length_scale), world (WORLD tempo only: a
#: performed line) or model+world (both); ``performance``: the recording a line was performed
#: like (empty for the voice's own delivery).
REPORT_COLUMNS = (
    "index",
    "id",
    "source_line",
    "text",
    "voice",
    "status",
    "slot_start_s",
    "slot_end_s",
    "slot_s",
    "start_sample",
    "natural_s",
    "rendered_s",
    "tempo",
    "fit_ratio",
    "fit_method",
    "performance",
    "stem",
    "warnings",
)


@dataclass(frozen=True)
class DubExport:
    folder: Path
    track: Path
    stems: list[Path]
    report: Path
    duration_s: float
    integrated_lufs: float
    true_peak_dbtp: float
    warnings: list[str] = field(default_factory=list)  # the script's, every line's, the mix's
    words: Path | None = None  # words.csv
    subtitles: tuple[Path, ...] = ()  # track.srt, track.vtt


def stem_name(index: int, start_s: float, text: str, digits: int = 3) -> str:
    """``007_00-01-02.500_first-words.wav``: the line's index, its start time, its first words."""
    number, _, slug = clip_name(index, text, digits).partition("_")
    return f"{number}_{timestamp(start_s).replace(':', '-')}_{slug}"


def export_dub(
    session: DubSession,
    out_dir: str | Path,
    progress: ProgressFn | None = None,
    cancelled: CancelFn | None = None,
    overwrite: bool = False,
) -> DubExport:
    """Render what is not rendered yet, mix, and write the dub into ``out_dir`` atomically.

    ``out_dir`` is created when missing (its parent must exist). Existing outputs there are
    replaced only with ``overwrite``. On cancel (:class:`RenderCancelled`) or any error,
    ``out_dir`` is left as it was.
    """
    out_dir = Path(out_dir).expanduser()
    _check_target(out_dir, overwrite)  # before minutes of rendering, not after

    def scaled(low: float, high: float) -> ProgressFn | None:
        if progress is None:
            return None
        return lambda fraction, message: progress(low + (high - low) * fraction, message)

    session.render_all(scaled(0.0, 0.85), cancelled)
    _check(cancelled)
    if progress is not None:
        progress(0.86, "mixing and normalizing loudness")
    dub_mix = mix(session.results, session.settings, session.script.end_s)
    _check(cancelled)
    return write_dub(session, dub_mix, out_dir, scaled(0.9, 1.0), cancelled, overwrite)


def write_dub(
    session: DubSession,
    dub_mix: DubMix,
    out_dir: Path,
    progress: ProgressFn | None = None,
    cancelled: CancelFn | None = None,
    overwrite: bool = False,
) -> DubExport:
    """Write an already made mix (see :func:`export_dub`)."""
    settings = session.settings
    out_dir = Path(out_dir).expanduser()
    _check_target(out_dir, overwrite)
    _remove_stale_staging(out_dir)
    fresh = not out_dir.exists()  # then the staging folder becomes out_dir itself
    token = secrets.token_hex(4)
    staging = (
        out_dir.parent / f".{out_dir.name}.{token}.part"
        if fresh
        else out_dir / f".voicestudio-dub-{token}.part"
    )
    try:
        staging.mkdir()
        (staging / STEMS_DIR).mkdir()
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise OutputPathError(f"cannot write into {staging.parent}: {exc.strerror or exc}") from exc
    try:
        stem_names = _write_stems(session, dub_mix, staging / STEMS_DIR, progress, cancelled)
        _check(cancelled)
        write_audio(
            staging / TRACK_NAME,
            dub_mix.track,
            dub_mix.rate,
            fmt=settings.wav_format,
            tags=synthetic_tags(),
        )
        starts = {p.result.line.index: p.start_sample for p in dub_mix.placements}
        _write_report(staging / REPORT_NAME, session, starts, stem_names, dub_mix.rate)
        _write_words(staging / WORDS_NAME, dub_mix)
        timeline = _line_timeline(dub_mix)
        for name in SUBTITLE_NAMES:
            write_subtitles(staging / name, timeline)
        _check(cancelled)
        if fresh:
            _rename_into_place(staging, out_dir)
        else:
            _move_in(staging, out_dir, overwrite)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if not fresh:
        shutil.rmtree(staging, ignore_errors=True)  # what is left: the replaced outputs
    warnings = [w.message for w in session.script.warnings]
    warnings += [w.message for r in session.results for w in r.warnings]
    warnings += dub_mix.warnings
    if progress is not None:
        with contextlib.suppress(Exception):  # done: a cancel arriving now changes nothing
            progress(1.0, f"wrote the dub into {out_dir}")
    stems = [out_dir / STEMS_DIR / stem_names[i] for i in sorted(stem_names)]
    return DubExport(
        out_dir,
        out_dir / TRACK_NAME,
        stems,
        out_dir / REPORT_NAME,
        dub_mix.duration_s,
        dub_mix.loudness.integrated_lufs,
        dub_mix.loudness.true_peak_dbtp,
        warnings,
        out_dir / WORDS_NAME,
        tuple(out_dir / name for name in SUBTITLE_NAMES),
    )


def _write_stems(session: DubSession, dub_mix: DubMix, folder: Path,
                 progress: ProgressFn | None, cancelled: CancelFn | None) -> dict[int, str]:
    """One file per placed line (the lines carry the watermark since rendering); each line's
    stem name by its index."""
    digits = max(3, len(str(len(session.results))))
    stem_names: dict[int, str] = {}
    total = len(dub_mix.placements)
    for number, placement in enumerate(dub_mix.placements, start=1):
        _check(cancelled)
        line = placement.result.line
        name = stem_name(line.index, placement.start_sample / dub_mix.rate, line.written_text,
                         digits)
        if progress is not None:
            progress(number / (total + 1), f"writing stem {name}")
        write_audio(folder / name, placement.samples, dub_mix.rate,
                    fmt=session.settings.wav_format, tags=synthetic_tags())
        stem_names[line.index] = name
    return stem_names


def dub(
    script: str | Path | DubScript,
    out_dir: str | Path,
    settings: DubSettings | None = None,
    synthesizer: Synthesizer | None = None,
    progress: ProgressFn | None = None,
    cancelled: CancelFn | None = None,
    overwrite: bool = False,
    cache_dir: str | Path | None = None,
    lexicon: Lexicon | None = None,
) -> DubExport:
    """Script file in, dub folder out: what ``voicestudio dub`` does."""
    if not isinstance(script, DubScript):
        script = load_dub_script(script)
    session = DubSession(script, settings, synthesizer, cache_dir, lexicon)
    return export_dub(session, out_dir, progress, cancelled, overwrite)


def _check(cancelled: CancelFn | None) -> None:
    if cancelled is not None and cancelled():
        raise RenderCancelled()


def _write_report(
    path: Path, session: DubSession, starts: dict[int, int], stems: dict[int, str], rate: int
) -> None:
    # script warnings (overlaps...) go on the row of their line
    about_line: dict[int, list[str]] = {}
    for warning in session.script.warnings:
        about_line.setdefault(warning.line_no, []).append(warning.text)
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(REPORT_COLUMNS)
        for r in session.results:
            line = r.line
            start = starts.get(line.index)
            skipped = r.status is LineStatus.SKIPPED
            writer.writerow(
                [
                    line.index,
                    line.clip_id,
                    line.line_no,
                    line.text,
                    r.voice,
                    r.status,
                    _num(line.start_s if line.timed else (None if start is None else start / rate)),
                    _num(
                        line.end_s
                        if line.timed
                        else (None if start is None else start / rate + r.rendered_s)
                    ),
                    _num(line.slot_s),
                    "" if start is None else start,
                    "" if skipped else _num(r.natural_s),
                    "" if skipped else _num(r.rendered_s),
                    "" if skipped else f"{r.tempo:.3f}",
                    "" if skipped or not line.timed else f"{r.rendered_s / line.slot_s:.3f}",
                    "" if skipped else r.fit_method,
                    "" if line.perform is None else str(line.perform),
                    stems.get(line.index, ""),
                    " | ".join(about_line.get(line.line_no, []) + [w.message for w in r.warnings]),
                ]
            )
        handle.flush()
        os.fsync(handle.fileno())


def _write_words(path: Path, dub_mix: DubMix) -> None:
    """words.csv: every word of every placed line, when it is heard in the track (a voice
    without phoneme durations gives no rows for its lines)."""
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(WORDS_COLUMNS)
        for placement in sorted(dub_mix.placements, key=lambda p: p.start_sample):
            line = placement.result.line
            for word in placement.words or ():
                writer.writerow([line.index, line.clip_id, word.text, _num(word.start),
                                 _num(word.end)])
        handle.flush()
        os.fsync(handle.fileno())


def _line_timeline(dub_mix: DubMix) -> Timeline:
    """The track's words with each line as one "sentence", so the subtitle writers make a cue
    per line, from its first word to its last (WebVTT marks each word's start too). A line
    without word times is one cue over its audio."""
    timeline = Timeline(duration=dub_mix.duration_s)
    for placement in sorted(dub_mix.placements, key=lambda p: p.start_sample):
        line = placement.result.line
        words = placement.words or (WordTime(line.written_text,
                                             placement.start_sample / dub_mix.rate,
                                             placement.end_sample / dub_mix.rate, 0),)
        timeline.words.extend(replace(w, sentence=line.index) for w in words)
    return timeline


def _num(value: float | None) -> str:
    return "" if value is None else f"{value:.3f}"


def _check_target(out_dir: Path, overwrite: bool) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputPathError(f"{out_dir} is a file, not a folder; choose a folder for the dub")
    if not out_dir.exists():
        if not out_dir.parent.is_dir():
            raise OutputPathError(
                f"cannot create {out_dir}: folder {out_dir.parent} does not exist"
            )
        if not os.access(out_dir.parent, os.W_OK | os.X_OK):
            raise OutputPathError(
                f"cannot create {out_dir}: folder {out_dir.parent} is not writable"
            )
        return
    if not os.access(out_dir, os.W_OK | os.X_OK):
        raise OutputPathError(f"folder {out_dir} is not writable; choose another folder")
    taken = [
        name for name in OUTPUT_NAMES if (out_dir / name).exists() or (out_dir / name).is_symlink()
    ]
    if taken and not overwrite:
        raise OutputPathError(
            f"{out_dir} already holds {', '.join(taken)}; choose another folder, or allow "
            "overwriting (--overwrite)"
        )


#: A staging folder older than this is left from a crash (writing takes seconds to minutes).
STALE_STAGING_S = 3600.0


def _remove_stale_staging(out_dir: Path) -> None:
    """Remove staging folders a killed export left beside or inside ``out_dir``."""
    candidates = list(out_dir.parent.glob(f".{glob.escape(out_dir.name)}.*.part"))
    if out_dir.is_dir():
        candidates += out_dir.glob(".voicestudio-dub-*.part")
    now = time.time()
    for path in candidates:
        with contextlib.suppress(OSError):
            if (
                path.is_dir()
                and not path.is_symlink()
                and now - path.stat().st_mtime > STALE_STAGING_S
            ):
                shutil.rmtree(path)


def _rename_into_place(staging: Path, out_dir: Path) -> None:
    """The finished staging folder becomes ``out_dir`` in one rename. Linux replaces an
    empty folder made meanwhile; one with files in it is the user's, and is left alone."""
    try:
        os.rename(staging, out_dir)
    except OSError as exc:
        if out_dir.exists() or out_dir.is_symlink():
            raise OutputPathError(
                f"{out_dir} appeared while rendering; nothing was written"
            ) from exc
        raise OutputPathError(f"cannot create {out_dir}: {exc.strerror or exc}") from exc


def _move_in(staging: Path, out_dir: Path, overwrite: bool) -> None:
    """Move the finished outputs into place. Old outputs (``overwrite``) go into the staging
    folder first, so a failure half-way can put everything back as it was."""
    old = staging / "replaced"
    old.mkdir()
    moved_old: list[str] = []
    moved_new: list[str] = []
    try:
        for name in OUTPUT_NAMES:
            if (out_dir / name).exists() or (out_dir / name).is_symlink():
                if not overwrite:
                    raise OutputPathError(
                        f"{out_dir / name} appeared while rendering; nothing was written"
                    )
                os.replace(out_dir / name, old / name)
                moved_old.append(name)
        for name in OUTPUT_NAMES:
            os.replace(staging / name, out_dir / name)
            moved_new.append(name)
    except BaseException as exc:  # an interrupt too: the old outputs must stay in out_dir
        for name in moved_new:
            with contextlib.suppress(OSError):
                os.replace(out_dir / name, staging / name)
        for name in moved_old:
            with contextlib.suppress(OSError):
                os.replace(old / name, out_dir / name)
        if isinstance(exc, OSError):
            raise OutputPathError(
                f"cannot move the dub into {out_dir}: {exc.strerror or exc}"
            ) from exc
        raise
