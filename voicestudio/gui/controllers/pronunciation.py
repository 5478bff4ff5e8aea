"""Fixing how a word is said, without Qt: the logic behind the "Fix pronunciation…" and
"Pronunciations…" dialogs of the Synthesize panel.

Which word the cursor is in and the sentence around it; a draft entry checked as the user
types it (the engine's own rules: ``LexiconEntry.checked`` and the voice's phoneme map) with
what the word then becomes, through the same front end as ``voicestudio phonemes``; the
candidate lexicon a "Listen" renders with (the entry laid over the lexicon in use); the rows
of the table of both scopes; and the edits, imports and exports, written through
``project.lexicon_store`` (atomic files; a bad TSV file is refused whole).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from voicestudio.audio.io import Audio
from voicestudio.errors import VoiceStudioError
from voicestudio.project import lexicon_store as store
from voicestudio.project.lexicon_store import Scope
from voicestudio.project.project import VoiceProject
from voicestudio.styling.controls import StyleControls
from voicestudio.text.lexicon import (
    Lexicon,
    LexiconEntry,
    LexiconError,
    Pronunciation,
    phonemize_with,
)
from voicestudio.text.normalize import split_sentences
from voicestudio.voice.catalog import resolve_voice
from voicestudio.voice.model import VoiceConfig, VoiceModel, text_phonemes
from voicestudio.voice.preview import PreviewSession
from voicestudio.voice.synthesizer import Synthesizer

SCOPE_LABELS = {Scope.PROJECT: "This project", Scope.USER: "All my voices"}
KIND_LABELS = {Pronunciation.SOUNDS_LIKE: "Sounds like", Pronunciation.PHONEMES: "Phonemes (IPA)"}
NO_PROJECT_REASON = "Open a project (File menu) to keep pronunciations with it."
NO_WORD = "Select a word in the text, or put the cursor in one, to fix how it is said."
#: A word as the lexicon matches one: letters and digits, with apostrophes, dots and hyphens
#: inside it (don't, U.S, well-known); quotes and a sentence's full stop stay outside.
_WORD = re.compile(r"\w+(?:['’.\-]\w+)*")


def sentence_case(text: str) -> str:
    """Engine messages start in lower case (the CLI puts "error:" before them)."""
    return text[:1].upper() + text[1:]


# ----------------------------------------------------------------------------- the word
@dataclass(frozen=True)
class WordSpan:
    """A word of the text and where it is (``text[start:end] == word``)."""

    word: str
    start: int
    end: int


def word_at(text: str, start: int, end: int | None = None) -> WordSpan | None:
    """The word a selection from ``start`` to ``end`` touches (the whole word, however little
    of it is selected), or, with no selection, the word the cursor at ``start`` is in or
    beside. None when there is no word there, or the selection spans several."""
    start, end = sorted((start, start if end is None else end))
    if start == end:
        found = [m for m in _WORD.finditer(text) if m.start() <= start <= m.end()]
    else:
        found = [m for m in _WORD.finditer(text) if m.start() < end and start < m.end()]
    if len(found) != 1:
        return None
    return WordSpan(found[0].group(0), found[0].start(), found[0].end())


def sentence_around(text: str, span: WordSpan) -> str:
    """The sentence (as the synthesizer splits the text) that holds ``span``; the word alone
    when it cannot be found."""
    position = 0
    for piece in split_sentences(text):
        # a piece is stripped, and pieces joined after an abbreviation by one space
        where = re.compile(r"\s+".join(re.escape(w) for w in piece.split())).search(text, position)
        if where is None:
            break
        if where.start() <= span.start < where.end():
            return piece
        position = where.end()
    return span.word


# ----------------------------------------------------------------------------- the voice's ear
def voice_config(spec: str | None) -> VoiceConfig:
    """The front end and phoneme map of the voice ``spec`` (its sidecar only; no model load)."""
    return VoiceConfig.from_file(resolve_voice(spec).config_path)


def phonemes_of(text: str, lexicon: Lexicon, config: VoiceConfig) -> str:
    """What ``text`` becomes for the voice, lexicon applied: ``voicestudio phonemes``'s
    answer, its sentences joined by a space."""
    return " ".join(
        "".join(phonemize_with(lexicon, sentence, lambda t: text_phonemes(t, config),
                               config.phoneme_id_map))
        for sentence in split_sentences(text))


def candidate_lexicon(base: Lexicon, entry: LexiconEntry,
                      replacing: LexiconEntry | None = None) -> Lexicon:
    """``base`` with ``entry`` on top (without ``replacing``, the entry being edited)."""
    kept = [e for e in base.entries if replacing is None or e.key != replacing.key]
    return Lexicon([*kept, entry])


@dataclass(frozen=True)
class Draft:
    """An entry as the dialog's fields hold it, maybe incomplete or wrong."""

    word: str
    kind: Pronunciation
    value: str
    case_sensitive: bool = False


@dataclass(frozen=True)
class DraftCheck:
    """What the dialog shows for a draft. ``entry``: the checked entry, when it can be saved
    and heard; ``error``: what is wrong, for the inline message ("" while the draft is only
    incomplete); ``phonemes``: what the word becomes with the entry."""

    entry: LexiconEntry | None
    error: str = ""
    phonemes: str = ""

    @property
    def valid(self) -> bool:
        return self.entry is not None


def check_draft(draft: Draft, config: VoiceConfig, base: Lexicon,
                replacing: LexiconEntry | None = None) -> DraftCheck:
    """Check ``draft`` by the engine's rules and against the voice's phoneme map, and say what
    the word would become. Nothing typed yet is no error."""
    if not draft.word.strip() or not draft.value.strip():
        return DraftCheck(None)
    try:
        entry = LexiconEntry(draft.word, draft.kind, draft.value, draft.case_sensitive).checked()
        entry.check_symbols(config.phoneme_id_map)  # names the symbol the voice lacks
        phonemes = phonemes_of(entry.word, candidate_lexicon(base, entry, replacing), config)
    except VoiceStudioError as exc:
        return DraftCheck(None, sentence_case(str(exc)))
    if not phonemes.strip():
        return DraftCheck(None, f"“{entry.value}” gives the voice nothing to say: spell it "
                                "with letters")
    return DraftCheck(entry, "", phonemes)


def render_candidate(voice: VoiceModel, lexicon: Lexicon, text: str,
                     controls: StyleControls) -> Audio:
    """``text`` spoken by ``voice`` as ``lexicon`` says it, styled by ``controls``, as the
    panel's preview renders it; off the GUI thread. A synthesizer of its own, so the panel's
    (and its cache) never hears a candidate."""
    session = PreviewSession(Synthesizer(voice, lexicon=lexicon), max_lines=1, keep_ready=False)
    return session.render(text, controls)


@dataclass(frozen=True)
class PronunciationContext:
    """What the dialogs need of the panel at the moment they open: the voice's front end, how
    words are said now (the user's lexicon with the project's on top), the open project, and
    how to get the voice model (``voice``; it may load it, so call it off the GUI thread) and
    the style controls for a "Listen"."""

    config: VoiceConfig
    lexicon: Lexicon
    project: VoiceProject | None
    voice: Callable[[], VoiceModel]
    controls: Callable[[], StyleControls]


# ----------------------------------------------------------------------------- the two files
def scope_unavailable(scope: Scope, project: VoiceProject | None) -> str:
    """Why ``scope`` cannot be saved to now ("" when it can)."""
    return NO_PROJECT_REASON if scope is Scope.PROJECT and project is None else ""


def scope_lexicon(scope: Scope, project: VoiceProject | None) -> Lexicon:
    return store.load_lexicon(store.lexicon_path(scope, project))


@dataclass(frozen=True)
class StoredEntry:
    """An entry and the lexicon file it is in."""

    entry: LexiconEntry
    scope: Scope


def stored_entry(word: str, project: VoiceProject | None) -> StoredEntry | None:
    """The entry that says ``word`` now, and where it is kept (the project's wins)."""
    scopes = ([Scope.PROJECT] if project is not None else []) + [Scope.USER]
    for scope in scopes:
        entry = scope_lexicon(scope, project).lookup(word)
        if entry is not None:
            return StoredEntry(entry, scope)
    return None


def save_entry(entry: LexiconEntry, scope: Scope, project: VoiceProject | None,
               replacing: StoredEntry | None = None) -> None:
    """Store ``entry`` in ``scope``'s lexicon; an entry being edited (``replacing``) that was
    for another spelling or in the other file is removed once the new one is stored."""
    if scope_unavailable(scope, project):
        raise LexiconError(scope_unavailable(scope, project))
    store.add_entry(store.lexicon_path(scope, project), entry)
    if replacing is not None and (replacing.scope, replacing.entry.key) != (scope, entry.key):
        remove_stored(replacing, project)


def remove_stored(stored: StoredEntry, project: VoiceProject | None) -> bool:
    """Remove this one entry (``lexicon_store.remove_entry`` removes a word in every case:
    an acronym's exact entry and the word's ordinary one are two rows here)."""
    path = store.lexicon_path(stored.scope, project)
    lexicon = store.load_lexicon(path)
    kept = [e for e in lexicon.entries if e.key != stored.entry.key]
    if len(kept) == len(lexicon):
        return False
    store.save_lexicon(path, Lexicon(kept))
    return True


def import_tsv(file: Path, scope: Scope, project: VoiceProject | None) -> int:
    """Add the entries of a TSV file to ``scope``'s lexicon (each replaces the entry for its
    word); how many. Every line is checked before anything is stored: a bad file changes
    nothing and the error names its line."""
    if scope_unavailable(scope, project):
        raise LexiconError(scope_unavailable(scope, project))
    return store.import_tsv(store.lexicon_path(scope, project), file, file.name)


def export_tsv(file: Path, scope: Scope, project: VoiceProject | None) -> int:
    """Write ``scope``'s entries to a TSV file; how many."""
    if scope_unavailable(scope, project):
        raise LexiconError(scope_unavailable(scope, project))
    lexicon = scope_lexicon(scope, project)
    try:
        file.write_text(store.write_tsv(lexicon), encoding="utf-8")
    except OSError as exc:
        raise LexiconError(f"cannot write {file}: {exc.strerror or exc}") from exc
    return len(lexicon)


# ----------------------------------------------------------------------------- the table
COLUMNS = ("Word", "Kind", "Pronunciation", "Case", "Scope")


@dataclass(frozen=True)
class LexiconRow:
    """One row of the table: an entry, its file, and whether it is overridden by, or
    overrides, the other file's entry for the same word."""

    stored: StoredEntry
    overrides: bool = False  # a project entry that wins over the user's
    overridden: bool = False  # a user entry the project's replaces

    @property
    def cells(self) -> tuple[str, str, str, str, str]:
        entry, scope = self.stored.entry, self.stored.scope
        mark = (" (overrides yours)" if self.overrides
                else " (the project's wins)" if self.overridden else "")
        return (entry.word, KIND_LABELS[entry.kind], entry.value,
                "exact" if entry.case_sensitive else "any", SCOPE_LABELS[scope] + mark)


def table_rows(user: Lexicon, project: Lexicon | None) -> list[LexiconRow]:
    """The project's entries first, then the user's; each sorted by word."""
    user_keys = {e.key for e in user.entries}
    project_keys = {e.key for e in project.entries} if project is not None else set()
    rows = [LexiconRow(StoredEntry(e, Scope.PROJECT), overrides=e.key in user_keys)
            for e in (project.entries if project is not None else [])]
    rows += [LexiconRow(StoredEntry(e, Scope.USER), overridden=e.key in project_keys)
             for e in user.entries]
    return rows


def lexicon_rows(project: VoiceProject | None) -> list[LexiconRow]:
    """The rows for the open project (or none); LexiconError when a file is damaged."""
    user = scope_lexicon(Scope.USER, None)
    return table_rows(user, scope_lexicon(Scope.PROJECT, project) if project is not None
                      else None)
