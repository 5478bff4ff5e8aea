"""Import existing recordings with transcripts into a project.

Three layouts are understood, tried in this order: an LJSpeech ``metadata.csv``
(``id|text|normalized text``, audio in ``wavs/`` or beside it), a ``manifest.tsv``
(``file, duration_s, sample_rate, transcript``, as in VoiceStudio's test corpus),
or a ``.txt`` transcript beside each audio file. Every take goes through the same
checks as a recorded one; a file that cannot be read is reported and skipped, never
fatal. Re-importing the same folder adds nothing twice.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf

from voicestudio.audio.io import READABLE_SUFFIXES, check_rate, read_audio
from voicestudio.audio.take_report import TakeReport
from voicestudio.errors import VoiceStudioError
from voicestudio.project.project import IMPORT_SOURCE_PREFIX, VoiceProject

AUDIO_SUFFIXES = READABLE_SUFFIXES
SAVE_EVERY = 10  # takes between saves of project.json: an interrupted import keeps what it did

Checker = Callable[[np.ndarray, int, str], TakeReport | None]
Progress = Callable[[int, int, str], None]


class ImportSourceError(VoiceStudioError):
    """The folder to import has no recognisable recordings with transcripts."""


@dataclass
class ImportReport:
    layout: str
    imported: int = 0
    already_present: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (file, reason)
    seconds: float = 0.0


def find_pairs(source: Path) -> tuple[str, list[tuple[Path, str]]]:
    """(layout, [(audio path, transcript)]) for ``source``; raises if nothing is found."""
    source = Path(source).expanduser()
    if not source.is_dir():
        raise ImportSourceError(f"{source} is not a folder")
    for name, layout, reader in (
        ("metadata.csv", "LJSpeech metadata.csv", _ljspeech),
        ("manifest.tsv", "manifest.tsv", _manifest),
    ):
        if (source / name).is_file():
            try:
                return layout, list(reader(source))
            except UnicodeDecodeError as exc:
                raise ImportSourceError(
                    f"{source / name} is not UTF-8 text (byte {exc.start}); save it as UTF-8"
                ) from exc
            except csv.Error as exc:
                raise ImportSourceError(f"{source / name} cannot be read: {exc}") from exc
    pairs = [(audio, _read_text(audio.with_suffix(".txt")))
             for audio in sorted(p for p in source.iterdir() if p.suffix.lower() in AUDIO_SUFFIXES)
             if audio.with_suffix(".txt").is_file()]
    if pairs:
        return "audio files with .txt transcripts", pairs
    raise ImportSourceError(
        f"no recordings with transcripts in {source}: expected an LJSpeech metadata.csv, "
        "a manifest.tsv (file, duration_s, sample_rate, transcript) "
        "or a .txt file beside each audio file"
    )


def import_folder(
    project: VoiceProject,
    source: str | Path,
    checker: Checker | None = None,
    asr: bool = True,
    on_progress: Progress | None = None,
) -> ImportReport:
    """Copy every readable recording into ``project`` as a take of its transcript's prompt."""
    layout, pairs = find_pairs(Path(source))
    checker = checker if checker is not None else default_checker(asr)
    report = ImportReport(layout)
    done_sources = {t.source for p in project.prompts for t in p.takes}
    prompt_index = {_key(p.text): i for i, p in enumerate(project.prompts) if not p.takes}
    pending_saves = 0
    try:
        for number, (audio_path, transcript) in enumerate(pairs, start=1):
            label = audio_path.name
            if on_progress is not None:
                on_progress(number, len(pairs), label)
            tag = f"{IMPORT_SOURCE_PREFIX}{audio_path.resolve()}"
            if tag in done_sources:
                report.already_present += 1
                continue
            if not transcript.strip():
                report.skipped.append((label, "empty transcript"))
                continue
            if not audio_path.is_file():
                report.skipped.append((label, "audio file missing"))
                continue
            try:
                audio = read_audio(audio_path)
                check_rate(audio.sample_rate)
                check = checker(audio.samples, audio.sample_rate, transcript)
            except VoiceStudioError as exc:  # one odd file never stops the import
                report.skipped.append((label, str(exc)))
                continue
            index = prompt_index.pop(_key(transcript), None)
            if index is None:
                index = project.add_prompt(transcript)
            project.add_take(index, audio.samples, audio.sample_rate, report=check, source=tag,
                             subtype=_subtype_for(audio_path), save=False)
            report.imported += 1
            report.seconds += audio.duration_s
            pending_saves += 1
            if pending_saves >= SAVE_EVERY:
                project.save()
                pending_saves = 0
    finally:  # also on Ctrl-C or a full disk: the takes written so far are recorded
        project.save()
    return report


def default_checker(asr: bool = True) -> Checker:
    """The same take checks a recording gets (ASR optional: it is the slow one)."""
    from voicestudio.audio.checks import TakeOrigin, check_take

    def check(samples: np.ndarray, sample_rate: int, prompt: str) -> TakeReport:
        return check_take(samples, sample_rate, prompt if asr else None, origin=TakeOrigin.FILE)

    return check


def _subtype_for(path: Path) -> str:
    """Keep 16-bit sources 16-bit (no bloat); anything else is stored as 24-bit PCM."""
    try:
        return "pcm16" if sf.info(str(path)).subtype == "PCM_16" else "pcm24"
    except (sf.LibsndfileError, RuntimeError):
        return "pcm24"


def _key(text: str) -> str:
    return re.sub(r"[^\w']+", " ", text.lower()).strip()


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig").strip()
    except (OSError, UnicodeDecodeError):
        return ""


def _ljspeech(source: Path) -> Iterator[tuple[Path, str]]:
    with open(source / "metadata.csv", encoding="utf-8-sig", newline="") as handle:
        for row in csv.reader(handle, delimiter="|", quoting=csv.QUOTE_NONE):
            if not row or not row[0].strip():
                continue
            name = row[0].strip()
            if "/" in name or "\\" in name or name.startswith("."):
                continue  # an id may not point outside the folder
            text = (
                row[2] if len(row) > 2 and row[2].strip() else row[1] if len(row) > 1 else ""
            ).strip()
            yield _find_audio(source, name), text


def _find_audio(source: Path, stem: str) -> Path:
    for folder in (source / "wavs", source):
        for suffix in AUDIO_SUFFIXES:
            candidate = folder / f"{stem}{suffix}"
            if candidate.is_file():
                return candidate
    return source / "wavs" / f"{stem}.wav"  # reported as missing


def _manifest(source: Path) -> Iterator[tuple[Path, str]]:
    with open(source / "manifest.tsv", encoding="utf-8-sig", newline="") as handle:
        rows = csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = next(rows, None)
        if header is None:
            return
        columns = [h.strip().lower() for h in header]
        if "file" not in columns or "transcript" not in columns:
            raise ImportSourceError(
                f"{source / 'manifest.tsv'} needs a header with 'file' and 'transcript' columns"
            )
        file_col, text_col = columns.index("file"), columns.index("transcript")
        for row in rows:
            if len(row) <= max(file_col, text_col):
                continue
            relative = Path(row[file_col].strip())
            if relative.is_absolute() or ".." in relative.parts:
                continue  # a manifest may not point outside its folder
            yield source / relative, row[text_col].strip()
