"""Where pronunciations are kept: the user's lexicon (every voice) and a project's (on top).

Each is a small versioned JSON file written atomically with a good copy beside it, like
``project.json``: ``lexicon.json`` in the user data folder and in the project folder. TSV is
the exchange format (``voicestudio lexicon import|export``): one entry a line, ``word``,
``kind`` (``sounds-like`` or ``ipa``), ``pronunciation`` and an optional ``case`` column
(``exact`` for a case-sensitive entry), with or without that header row.
"""

from __future__ import annotations

import csv
import io
from enum import Enum
from pathlib import Path
from typing import Any

from voicestudio.paths import user_data_dir
from voicestudio.project.project import VoiceProject
from voicestudio.project.store import ProjectFileError, load_json, save_json
from voicestudio.text.files import read_text_file
from voicestudio.text.lexicon import Lexicon, LexiconEntry, LexiconError, Pronunciation

FILE_NAME = "lexicon.json"
FORMAT = "voicestudio-lexicon"
VERSION = 1
#: Entries a lexicon may hold: thousands of names fit; a runaway import does not.
MAX_ENTRIES = 20_000
TSV_HEADER = ("word", "kind", "pronunciation", "case")
#: Largest TSV file an import reads: MAX_ENTRIES long names with their phonemes fit.
MAX_TSV_BYTES = 4 << 20


class Scope(Enum):
    USER = "user"  # every voice, every project
    PROJECT = "project"  # one project; wins over the user's entry for the same word


def lexicon_path(scope: Scope, project: VoiceProject | None = None) -> Path:
    if scope is Scope.USER:
        return user_data_dir() / FILE_NAME
    if project is None:
        raise LexiconError("the project lexicon needs a project: give --project P")
    return project.folder / FILE_NAME


def lexicon_for(project: VoiceProject | None) -> Lexicon:
    """How words are said when speaking for ``project`` (or for no project): the user's
    entries with the project's on top."""
    lexicon = load_lexicon(lexicon_path(Scope.USER))
    if project is not None:
        lexicon = lexicon.overlaid(load_lexicon(lexicon_path(Scope.PROJECT, project)))
    return lexicon


def load_lexicon(path: Path) -> Lexicon:
    """The lexicon in ``path`` (empty when there is none yet); LexiconError naming the file
    and what is wrong when it cannot be read."""
    if not path.exists():
        return Lexicon()
    try:
        data = load_json(path)
    except ProjectFileError as exc:
        raise LexiconError(f"the lexicon {exc}") from exc
    if data.get("format") != FORMAT or not isinstance(data.get("version"), int):
        raise LexiconError(f"{path} is not a VoiceStudio lexicon")
    if data["version"] > VERSION:
        raise LexiconError(f"{path} was written by a newer VoiceStudio (lexicon version "
                           f"{data['version']}); update VoiceStudio — the file was left untouched")
    entries = data.get("entries")
    if not isinstance(entries, list) or len(entries) > MAX_ENTRIES:
        raise LexiconError(f"{path} is damaged: 'entries' must be a list of at most "
                           f"{MAX_ENTRIES} entries")
    return Lexicon(_entry_from(item, f"{path}, entry {i + 1}") for i, item in enumerate(entries))


def save_lexicon(path: Path, lexicon: Lexicon) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    save_json(path, {"format": FORMAT, "version": VERSION,
                     "entries": [_entry_dict(e) for e in lexicon.entries]})


def add_entry(path: Path, entry: LexiconEntry) -> Lexicon:
    """Store ``entry`` (checked) in the lexicon at ``path``, replacing one for the same word."""
    lexicon = load_lexicon(path).overlaid(Lexicon([entry.checked()]))
    if len(lexicon) > MAX_ENTRIES:
        raise LexiconError(f"{path} holds {MAX_ENTRIES} entries already")
    save_lexicon(path, lexicon)
    return lexicon


def remove_entry(path: Path, word: str) -> bool:
    """Remove the entries for ``word`` (any case); whether there was one."""
    lexicon = load_lexicon(path)
    kept = [e for e in lexicon.entries if e.word.casefold() != word.strip().casefold()]
    if len(kept) == len(lexicon):
        return False
    save_lexicon(path, Lexicon(kept))
    return True


# ----------------------------------------------------------------------------- TSV
def read_tsv(text: str, source: str) -> list[LexiconEntry]:
    """Entries of a TSV lexicon; LexiconError naming the line of the first bad one."""
    rows = list(csv.reader(io.StringIO(text), delimiter="\t"))
    entries = []
    for line_no, row in enumerate(rows, start=1):
        cells = [c.strip() for c in row]
        if not any(cells) or cells[0].startswith("#"):
            continue
        if line_no == 1 and [c.casefold() for c in cells[:3]] == list(TSV_HEADER[:3]):
            continue
        if len(cells) < 3:
            raise LexiconError(f"{source}, line {line_no}: expected word, kind and "
                               "pronunciation separated by tabs")
        case = cells[3].casefold() if len(cells) > 3 else ""
        if case not in ("", "exact", "any"):
            raise LexiconError(f"{source}, line {line_no}: case must be 'exact' or 'any' "
                               f"(got {cells[3]!r})")
        entries.append(_entry_from({"word": cells[0], "kind": cells[1], "value": cells[2],
                                    "case_sensitive": case == "exact"},
                                   f"{source}, line {line_no}"))
        if len(entries) > MAX_ENTRIES:
            raise LexiconError(f"{source} holds more than {MAX_ENTRIES} entries")
    return entries


def import_tsv(path: Path, file: Path, source: str | None = None) -> int:
    """Add the entries of TSV ``file`` to the lexicon at ``path`` (each replaces the entry for
    its word); how many. Every line is checked before anything is stored: a bad file changes
    nothing, and the error names its line (``source``: how to name the file)."""
    text = read_text_file(file, MAX_TSV_BYTES, "lexicon file", LexiconError)
    name = source or str(file)
    entries = read_tsv(text, name)
    merged = load_lexicon(path).overlaid(Lexicon(entries))
    if len(merged) > MAX_ENTRIES:
        raise LexiconError(f"{name} would make the lexicon hold more than {MAX_ENTRIES} "
                           "entries; nothing was imported")
    save_lexicon(path, merged)
    return len(entries)


def write_tsv(lexicon: Lexicon) -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter="\t", lineterminator="\n")
    writer.writerow(TSV_HEADER)
    for e in lexicon.entries:
        writer.writerow([e.word, e.kind.value, e.value, "exact" if e.case_sensitive else "any"])
    return out.getvalue()


# ----------------------------------------------------------------------------- entries
def _entry_from(item: Any, where: str) -> LexiconEntry:
    if not isinstance(item, dict):
        raise LexiconError(f"{where}: an entry must be an object")
    try:
        kind = Pronunciation(item.get("kind"))
    except ValueError:
        kinds = " or ".join(k.value for k in Pronunciation)
        raise LexiconError(f"{where}: kind must be {kinds} (got {item.get('kind')!r})") from None
    word, value = item.get("word"), item.get("value")
    exact = item.get("case_sensitive", False)
    if not isinstance(word, str) or not isinstance(value, str) or not isinstance(exact, bool):
        raise LexiconError(f"{where}: word and value must be text, case_sensitive true or false")
    try:
        return LexiconEntry(word, kind, value, exact).checked()
    except LexiconError as exc:
        raise LexiconError(f"{where}: {exc}") from None


def _entry_dict(entry: LexiconEntry) -> dict[str, Any]:
    return {"word": entry.word, "kind": entry.kind.value, "value": entry.value,
            "case_sensitive": entry.case_sensitive}
