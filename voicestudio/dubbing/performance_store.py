"""Performances chosen in the Dubbing view, kept per script file across app restarts.

A script has no project file of its own, and a CSV's ``perform`` column is the user's to
write, so the recordings a user gives lines in the app are remembered beside the app's other
data: one small JSON file per script in ``<user data>/dubs/``, named by a hash of the script's
absolute path. It is rewritten (atomically) whenever a line's performance is set or cleared,
and read back when the same script is imported again. Decisions, made once here:

* an entry is keyed by the line's number in the dub (1-based, the table's ``#``) and holds the
  line's text and its neighbours': it is restored where the line at that number still reads the
  same (the stripped text), or, when lines moved (one inserted or removed above it), on the one
  other line that reads it between one of the same neighbours — never on a line that reads
  otherwise, and never by a guess (a repeated "Yes." with no neighbour in common stays put);
* a choice made over the script's own ``perform`` cell (another recording, or none) is kept
  while that cell still names what it named then; once the script file names another
  recording there, or none where it named one, or one where it named none, the script wins
  and the choice is dropped (with the next change: a cell changed back does not revive it);
* a recording that is gone (or no longer reads as audio) is not restored; the entry stays, so
  a recording on a drive plugged in later is found on the next import;
* a store that cannot be read (damaged, another format, a newer version) counts as empty and is
  left as it is until the user sets a performance of that script again; then it is moved
  aside (``NAME.json.unreadable``), never overwritten;
* a script moved or renamed finds its choices again: when a script has no store of its own,
  the one store whose script file is gone from a folder that is still there (not a drive
  unplugged) and whose every choice's text is a line of this script, one of them where it was
  (same number, or between one of the same neighbours), becomes its store (renamed to it,
  said in the import message even when nothing could be restored); never a store whose
  script is still there (a copy keeps none), never one of two that fit.

Every case that restores nothing says why, in a :class:`RestoreNote`.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field, replace
from enum import Enum
from pathlib import Path
from typing import Any

from voicestudio.dubbing.script import MAX_DUB_LINES, DubLine, DubScript, set_line_performance
from voicestudio.errors import VoiceStudioError
from voicestudio.paths import user_data_dir
from voicestudio.project.store import ProjectFileError, load_json, save_json

FORMAT = "voicestudio-dub-performances"
#: 2: an entry may have no recording (the script's taken away) and names the script's
#: recording it replaced (``over``). Version 1 files are read as they are.
VERSION = 2
READABLE_VERSIONS = (1, 2)
#: Hex digits of the path's sha256 in a store's name: 64 bits, no two scripts collide.
HASH_CHARS = 16
#: Characters of the script's own name kept in the store's name, so a person can tell them apart.
STEM_CHARS = 40


class PerformanceStoreError(VoiceStudioError):
    """The performances of a script cannot be saved (the message says where and why)."""


def store_folder() -> Path:
    """Where the stores live: ``dubs/`` in the user data folder (``VOICESTUDIO_DATA_DIR``
    moves it, as it moves everything else)."""
    return user_data_dir() / "dubs"


def store_path(script_path: str | Path) -> Path:
    """The store of the script at ``script_path``: its readable stem, then a short sha256 of its
    resolved absolute path (the same file reached by another relative path finds it)."""
    resolved = str(Path(script_path).expanduser().resolve())
    digest = hashlib.sha256(resolved.encode("utf-8")).hexdigest()[:HASH_CHARS]
    stem = re.sub(r"[^A-Za-z0-9_-]+", "_", Path(resolved).stem)[:STEM_CHARS].strip("_")
    return store_folder() / f"{stem or 'script'}-{digest}.json"


@dataclass(frozen=True)
class SavedPerformance:
    """One remembered choice: line ``line`` (1-based), which read ``text``, performed like
    ``recording`` (absolute; None: not performed, though the script file performs it);
    ``before`` and ``after``: the texts of the lines around it then (None at the script's
    edges), by which a line that moved is found again; ``over``: the recording the script
    file's ``perform`` cell gave the line then (None: none), which the choice replaced."""

    line: int
    text: str
    recording: Path | None
    before: str | None = None
    after: str | None = None
    over: Path | None = None

    @property
    def described(self) -> str:
        """How a message names the choice."""
        return (f"the performance {self.recording.name} chosen earlier"
                if self.recording is not None
                else f"leaving out {_name(self.over)}, as chosen earlier,")


class NotRestored(Enum):
    """Why a saved performance was not given back to its line."""

    UNREADABLE_STORE = "unreadable store"
    LINE_GONE = "line gone"
    TEXT_CHANGED = "text changed"
    SCRIPT_WINS = "script wins"
    RECORDING_MISSING = "recording missing"
    RECORDING_REFUSED = "recording refused"


@dataclass(frozen=True)
class RestoreNote:
    """A saved performance that was not restored, and why (``line`` None: the whole store)."""

    reason: NotRestored
    message: str
    line: int | None = None


@dataclass(frozen=True)
class RestoreResult:
    """What :func:`restore` did: the lines (1-based) given their saved choice (a recording,
    or none in place of the script's), and a note for every saved choice it left out."""

    restored: list[int] = field(default_factory=list)
    notes: list[RestoreNote] = field(default_factory=list)
    #: (saved line, line restored) for choices found on another line: the script's lines
    #: moved (one inserted or removed above them).
    moved: list[tuple[int, int]] = field(default_factory=list)
    #: Where the script was when its choices were saved, when it has moved since.
    moved_from: Path | None = None
    #: Lines (among ``restored``) given no performance where the script file gives one.
    cleared: list[int] = field(default_factory=list)

    @property
    def summary(self) -> str:
        """A sentence or two for the import message ("" when nothing was restored)."""
        count = len(self.restored)
        if not count:
            return (f"The performances chosen for this script when it was {self.moved_from} "
                    "are kept for it now; none could be restored." if self.moved_from else "")
        moved = (f" ({len(self.moved)} on another line than before: lines were added or "
                 "removed above)" if self.moved else "")
        where = (f" when it was {self.moved_from}" if self.moved_from is not None else "")
        performed = count - len(self.cleared)
        sentences = []
        if performed:
            sentences.append(f"Restored {performed} performance{'' if performed == 1 else 's'} "
                             f"chosen earlier for this script{where}")
        if self.cleared:
            one = len(self.cleared) == 1
            sentences.append(
                f"Line{'' if one else 's'} {_numbers(self.cleared)} "
                f"{'stays' if one else 'stay'} without the recording{'' if one else 's'} the "
                f"script's perform column names, as chosen earlier"
                f"{'' if performed else ' for this script' + where}")
        sentences[0] += moved
        return ". ".join(sentences) + "."


class PerformanceStore:
    """The remembered performances of one script file; see the module docstring.

    Made by :meth:`for_script`, which reads the file (never raising: a damaged one is
    :attr:`problem`); :meth:`remember`, :meth:`forget` and :meth:`keep` write it at once."""

    def __init__(self, script_path: Path, path: Path, entries: dict[int, SavedPerformance],
                 problem: str | None = None) -> None:
        self.script_path = script_path
        self.path = path
        self._entries = entries
        #: Why the file on disk could not be read (None: it could, or there is none).
        self.problem = problem
        #: The recordings the script file's own ``perform`` cells give its lines (by number),
        #: as :func:`restore` found them on import: what a choice in the app replaces
        #: (None: not restored yet, so not known).
        self._given: dict[int, Path] | None = None

    @classmethod
    def for_script(cls, script_path: str | Path) -> PerformanceStore:
        """The store of the script at ``script_path`` (empty when none was saved yet)."""
        script = Path(script_path).expanduser().resolve()
        path = store_path(script)
        try:
            entries = _read(path, script)
        except ProjectFileError as exc:
            return cls(script, path, {}, problem=str(exc))
        except OSError as exc:  # a folder where the file should be, no permission to read it
            return cls(script, path, {}, problem=f"cannot read {path}: {exc.strerror or exc}")
        return cls(script, path, entries)

    @property
    def entries(self) -> list[SavedPerformance]:
        """The saved choices, by line number."""
        return [self._entries[line] for line in sorted(self._entries)]

    def remember(self, line: int, text: str, recording: str | Path | None,
                 before: str | None = None, after: str | None = None,
                 over: str | Path | None = None) -> None:
        """Save that line ``line`` (reading ``text``, between lines reading ``before`` and
        ``after``) is performed like ``recording`` (None: by none) in place of ``over``, the
        recording the script file gives it (None: none)."""
        if not 1 <= line <= MAX_DUB_LINES:
            raise ValueError(f"line must be 1..{MAX_DUB_LINES}, got {line}")
        if _absolute(recording) == _absolute(over):
            raise ValueError("a choice must differ from the script's own recording")
        saved = SavedPerformance(line, text.strip(), _absolute(recording), _stripped(before),
                                 _stripped(after), _absolute(over))
        before = self._entries.get(line)
        self._entries[line] = saved
        try:
            self._write()
        except PerformanceStoreError:  # not saved: nor will a later save of another line
            if before is None:
                del self._entries[line]
            else:
                self._entries[line] = before
            raise

    def forget(self, line: int) -> None:
        """Save that line ``line`` has no performance (a no-op when none was saved: an unread
        damaged file stays as it is)."""
        if self._entries.pop(line, None) is not None:
            self._write()

    def keep(self, line: DubLine, script: DubScript | None = None) -> None:
        """Save ``line``'s performance as it is now (with its neighbours' texts in
        ``script``): forgotten when it is what the script file gives the line, else
        remembered, a recording or none, in place of the script's. The script's choices
        must have been restored first (:func:`restore`), which reads what the script gives."""
        if self._given is None:
            raise ValueError("restore() the script's saved choices before keeping one")
        given = self._given.get(line.index)
        if line.perform == given:
            self.forget(line.index)
            return
        lines = script.lines if script is not None else []
        k = line.index - 1
        before = lines[k - 1].text if 0 < k <= len(lines) else None
        after = lines[k + 1].text if k + 1 < len(lines) else None
        self.remember(line.index, line.text, line.perform, before, after, over=given)

    def adopt_moved(self, script: DubScript) -> Path | None:
        """When this script has no store yet: take over the store of the script it was
        before it was moved or renamed (see the module docstring), write it under this
        script's name and remove the old file. Returns where the script was, or None. A
        store that fits but cannot be moved here is still read (and tried again next time)."""
        if self._entries or self.problem is not None or self.path.exists():
            return None
        fits = []
        for other in sorted(self.path.parent.glob("*.json")) if self.path.parent.is_dir() else []:
            try:
                data = load_json(other)
                old_script = Path(data.get("script", ""))
                if (not old_script.is_absolute() or old_script.exists()
                        or not old_script.parent.is_dir()):  # still there, or a drive is out
                    continue
                entries = _read(other, old_script)
            except (ProjectFileError, OSError, TypeError, AttributeError):  # not a dict: skip
                continue
            if _fits(script, list(entries.values())):
                fits.append((other, old_script, entries))
        if len(fits) != 1:
            return None
        other, old_script, entries = fits[0]
        self._entries = dict(entries)
        try:
            self._write()
            other.unlink(missing_ok=True)
        except (PerformanceStoreError, OSError):
            pass
        return old_script

    def _rekeyed(self, moves: dict[int, int]) -> None:
        """Keep the choices saved for lines ``old`` as lines ``new``'s from now on (written
        with the next change); ``moves`` never lands on a line that keeps its own choice."""
        moving = {old: self._entries.pop(old) for old in moves}
        for old, new in moves.items():
            self._entries[new] = replace(moving[old], line=new)

    def _drop(self, line: int) -> None:
        """Forget line ``line``'s choice, superseded by the script file (written with the
        next change)."""
        self._entries.pop(line, None)

    def _write(self) -> None:
        """Replace the file with the entries (remove it when there are none). A file that
        could not be read is first moved aside (``.unreadable``), never overwritten: it may
        be a newer VoiceStudio's."""
        try:
            if self.problem is not None and self.path.exists():
                self.path.replace(self.path.with_name(self.path.name + ".unreadable"))
            if not self._entries:
                self.path.unlink(missing_ok=True)
            else:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                save_json(self.path, _to_json(self.script_path, self.entries), keep_backup=False)
        except ProjectFileError as exc:  # its message names the file and the reason
            raise PerformanceStoreError(str(exc)) from exc
        except OSError as exc:
            raise PerformanceStoreError(
                f"cannot save the performances of {self.script_path.name} in {self.path}: "
                f"{exc.strerror or exc}") from exc
        self.problem = None


def restore(script: DubScript, store: PerformanceStore) -> RestoreResult:
    """Give the lines of a freshly loaded ``script`` the performances saved in ``store``, by
    :func:`~voicestudio.dubbing.script.set_line_performance` (the one rule for a line's
    recording), where the line still reads the same and the script's own ``perform`` cell
    for it names what it named when the choice was made (else the script wins, and the
    choice is dropped with the next change); a script without a store of its own first takes
    over the one it had before a move or rename (:meth:`PerformanceStore.adopt_moved`)."""
    store._given = {line.index: line.perform for line in script.lines
                    if line.perform is not None}
    if store.problem is not None:
        note = RestoreNote(NotRestored.UNREADABLE_STORE,
                           f"saved performances for this script could not be read: "
                           f"{store.problem}")
        return RestoreResult(notes=[note])
    moved_from = store.adopt_moved(script)
    restored: list[int] = []
    cleared: list[int] = []
    notes: list[RestoreNote] = []
    moved: list[tuple[int, int]] = []

    def skip(saved: SavedPerformance, reason: NotRestored, why: str) -> None:
        notes.append(RestoreNote(reason, f"line {saved.line}: {saved.described} was not "
                                 f"restored: {why}", saved.line))

    for saved, number in _placed(script, store):
        if number is None:
            if saved.line > len(script.lines):
                skip(saved, NotRestored.LINE_GONE,
                     f"the script has {len(script.lines)} line(s) now")
            else:
                skip(saved, NotRestored.TEXT_CHANGED, "the line's text has changed")
            continue
        given = script.lines[number - 1].perform
        if given != saved.over:  # the script file's cell changed since the choice
            store._drop(number)
            if given != saved.recording:
                now = f"gives it {given.name}" if given is not None else "gives it none"
                skip(saved, NotRestored.SCRIPT_WINS,
                     f"the script's perform column {now} now, which wins")
            continue
        if saved.recording is not None and not saved.recording.is_file():
            skip(saved, NotRestored.RECORDING_MISSING,
                 f"the recording is no longer there ({saved.recording})")
            continue
        try:
            set_line_performance(script, number, saved.recording)
        except VoiceStudioError as exc:
            skip(saved, NotRestored.RECORDING_REFUSED, f"it cannot be used ({exc})")
            continue
        restored.append(number)
        if saved.recording is None:
            cleared.append(number)
        if number != saved.line:
            moved.append((saved.line, number))
    return RestoreResult(sorted(restored), notes, moved, moved_from, sorted(cleared))


def _placed(script: DubScript, store: PerformanceStore
            ) -> list[tuple[SavedPerformance, int | None]]:
    """Each saved choice with the line it belongs to now (None: none): where it was saved
    when that line still reads the same, else the one line it moved to (see
    :func:`_moved_to`), not one where another choice still fits or lands. The store's
    entries follow the moves (written with the next change)."""
    # lines a saved choice still fits where it was saved: not free for a moved one
    fits = {e.line for e in store.entries if e.line <= len(script.lines)
            and script.lines[e.line - 1].text.strip() == e.text.strip()}
    taken = set(fits)
    found = {}
    for saved in store.entries:
        if saved.line not in fits:  # its line reads otherwise now, or is gone: moved?
            to = _moved_to(script, saved, taken)
            if to is not None:
                found[saved.line] = to
                taken.add(to)
    staying = {e.line for e in store.entries if e.line not in found}
    moves = {old: new for old, new in found.items() if new not in staying}
    placed = [(e, moves.get(e.line, e.line if e.line in fits else None))
              for e in store.entries]
    store._rekeyed(moves)
    return placed


def _fits(script: DubScript, entries: list[SavedPerformance]) -> bool:
    """Whether the choices saved for a script that is gone are this script's: every one's
    text is a line here, and at least one still stands where it stood (the same number, or
    between one of the same neighbours): one shared "Yes." is not a moved script."""
    texts = [line.text.strip() for line in script.lines]
    if not entries or not all(e.text.strip() in texts for e in entries):
        return False
    return any((e.line <= len(texts) and texts[e.line - 1] == e.text.strip())
               or _moved_to(script, e, set()) is not None for e in entries)


def _moved_to(script: DubScript, saved: SavedPerformance, taken: set[int]) -> int | None:
    """The one line, not taken, that reads ``saved``'s text between one of the neighbours it
    had (its line moved when a line was inserted or removed above); None when there is none,
    or more than one to choose from, or ``saved`` knows no neighbours."""
    if saved.before is None and saved.after is None:
        return None
    texts = [line.text.strip() for line in script.lines]
    found = [k for k in range(1, len(texts) + 1)
             if k not in taken and texts[k - 1] == saved.text.strip()
             and ((saved.before is not None and k > 1 and texts[k - 2] == saved.before)
                  or (saved.after is not None and k < len(texts) and texts[k] == saved.after))]
    return found[0] if len(found) == 1 else None


def _stripped(text: str | None) -> str | None:
    return text.strip() if text is not None else None


def _numbers(lines: list[int], shown: int = 5) -> str:
    """Line numbers for a message: the first few, then how many more."""
    text = ", ".join(str(n) for n in lines[:shown])
    return text + (f" and {len(lines) - shown} more" if len(lines) > shown else "")


def _absolute(path: str | Path | None) -> Path | None:
    return Path(path).expanduser().resolve() if path is not None else None


def _name(path: Path | None) -> str:
    return path.name if path is not None else "a recording"


def _to_json(script: Path, entries: list[SavedPerformance]) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "version": VERSION,
        "script": str(script),
        "performances": [
            {"line": e.line, "text": e.text, "recording": _text(e.recording),
             "before": e.before, "after": e.after, "over": _text(e.over)} for e in entries
        ],
    }


def _text(path: Path | None) -> str | None:
    return str(path) if path is not None else None


def _read(path: Path, script: Path) -> dict[int, SavedPerformance]:
    """The entries saved in ``path`` for ``script`` (none when there is no file);
    ProjectFileError saying what is wrong with a file that is there."""
    if not path.exists():
        return {}
    data = load_json(path)
    if data.get("format") != FORMAT or not isinstance(data.get("version"), int):
        raise ProjectFileError(f"{path} is not a store of dub performances")
    if data["version"] not in READABLE_VERSIONS:
        raise ProjectFileError(f"{path} has version {data['version']}, this VoiceStudio reads "
                               f"versions {READABLE_VERSIONS[0]} to {READABLE_VERSIONS[-1]}")
    if data.get("script") != str(script):
        raise ProjectFileError(f"{path} belongs to another script ({data.get('script')!r})")
    items = data.get("performances")
    if not isinstance(items, list) or len(items) > MAX_DUB_LINES:
        raise ProjectFileError(f"{path} is damaged: 'performances' must be a list of at most "
                               f"{MAX_DUB_LINES} entries")
    entries: dict[int, SavedPerformance] = {}
    for number, item in enumerate(items, start=1):
        saved = _entry(item, data["version"])
        if saved is None or saved.line in entries:
            raise ProjectFileError(f"{path} is damaged: entry {number} is not a line number "
                                   "(once), a text and absolute recording paths")
        entries[saved.line] = saved
    return entries


def _entry(item: Any, version: int) -> SavedPerformance | None:
    if not isinstance(item, dict):
        return None
    line, text, recording = item.get("line"), item.get("text"), item.get("recording")
    before, after = item.get("before"), item.get("after")  # absent in the first files
    over = item.get("over")
    if version == 1 and (recording is None or over is not None):  # both came with version 2
        return None
    if (not isinstance(line, int) or isinstance(line, bool) or not 1 <= line <= MAX_DUB_LINES
            or not isinstance(text, str)
            or not all(v is None or (isinstance(v, str) and Path(v).is_absolute())
                       for v in (recording, over))
            or (recording is None and over is None) or _same(recording, over)
            or not all(v is None or isinstance(v, str) for v in (before, after))):
        return None
    return SavedPerformance(line, text, _path(recording), before, after, _path(over))


def _same(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and os.path.normpath(a) == os.path.normpath(b)


def _path(text: str | None) -> Path | None:
    return Path(text) if text is not None else None
