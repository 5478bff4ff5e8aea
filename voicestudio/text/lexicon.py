"""Pronunciation lexicon: say this word the way the user wants, in every path that speaks.

An entry maps a word (whole word; case-insensitive unless the entry says otherwise, as for an
acronym) to either a respelling ("sounds like": ``Nguyen`` → ``win``), which the text front
end then reads as usual, or phonemes in the voice's own alphabet (espeak IPA, one symbol per
character as Piper's phoneme maps have them), spoken exactly. Entries are data; where they are
kept (the user's lexicon, a project's) is ``project.lexicon_store``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum

from voicestudio.errors import VoiceStudioError

#: Longest word, respelling and phoneme string an entry may hold (a name, not a paragraph).
MAX_WORD_CHARS = 64
MAX_VALUE_CHARS = 200
_WORD_CHARS = re.compile(r"^[\w'’.\-]+$")  # letters, digits, apostrophes, dots, hyphens


class LexiconError(VoiceStudioError):
    """An entry cannot be used: an odd word, an empty value, a phoneme the voice lacks."""


class Pronunciation(Enum):
    SOUNDS_LIKE = "sounds-like"  # a respelling the voice reads as ordinary text
    PHONEMES = "ipa"  # phonemes in the voice's alphabet, spoken as given


@dataclass(frozen=True)
class LexiconEntry:
    word: str
    kind: Pronunciation
    value: str
    case_sensitive: bool = False

    def checked(self) -> LexiconEntry:
        """This entry, or LexiconError saying what is wrong with it."""
        word, value = self.word.strip(), " ".join(self.value.split())
        if not word or len(word) > MAX_WORD_CHARS or not _WORD_CHARS.match(word):
            raise LexiconError(f"{self.word!r} is not a word a lexicon entry can match: use one "
                               f"word of at most {MAX_WORD_CHARS} letters, digits, ' . or -")
        if not value or len(value) > MAX_VALUE_CHARS:
            raise LexiconError(f"the pronunciation of {word!r} must be 1 to {MAX_VALUE_CHARS} "
                               "characters")
        return LexiconEntry(word, self.kind, value, self.case_sensitive)

    @property
    def key(self) -> tuple[bool, str]:
        """What identifies the entry within one lexicon: exact or not, and its word (folded
        unless exact)."""
        return self.case_sensitive, self.word if self.case_sensitive else self.word.casefold()

    def symbols(self) -> list[str]:
        """The phonemes of a PHONEMES entry, one per character (NFD, as Piper maps them);
        the space between words is a phoneme too."""
        return list(unicodedata.normalize("NFD", self.value))

    def check_symbols(self, phoneme_map: Mapping[str, object]) -> None:
        """LexiconError naming the first symbol the voice's phoneme map lacks, and the entry."""
        if self.kind is Pronunciation.PHONEMES:
            check_symbols(self.word, self.value, phoneme_map)


def check_symbols(word: str, value: str, phoneme_map: Mapping[str, object]) -> None:
    """LexiconError naming the symbols of phonemes ``value`` (given for ``word``, by a lexicon
    entry or by markup) that the voice's phoneme map lacks."""
    unknown = [s for s in unicodedata.normalize("NFD", value) if s not in phoneme_map]
    if unknown:
        names = ", ".join(f"{s!r} (U+{ord(s):04X})" for s in dict.fromkeys(unknown))
        raise LexiconError(f"the phonemes of {word!r} ({value!r}) hold symbols "
                           f"this voice does not have: {names}")


@dataclass(frozen=True)
class Segment:
    """A piece of a sentence: text for the front end, or phonemes spoken as they are."""

    text: str = ""
    phonemes: tuple[str, ...] = ()

    @property
    def fixed(self) -> bool:
        return bool(self.phonemes)


class Lexicon:
    """Entries by word; a later entry for the same word replaces the earlier one, so a
    project's lexicon laid over the user's wins (:meth:`overlaid`)."""

    def __init__(self, entries: Iterable[LexiconEntry] = ()) -> None:
        self._entries: dict[tuple[bool, str], LexiconEntry] = {}
        for entry in entries:
            self._entries[entry.key] = entry
        self._pattern = _pattern(self._entries.values())
        # made once: a lexicon never changes, and the preview keys every render on it
        self._sorted = sorted(self._entries.values(), key=lambda e: (e.word.casefold(), e.word))
        self._fingerprint = tuple((*e.key, e.kind.value, e.value) for e in self._sorted)

    def __len__(self) -> int:
        return len(self._entries)

    def __bool__(self) -> bool:
        return bool(self._entries)

    @property
    def entries(self) -> list[LexiconEntry]:
        return list(self._sorted)

    @property
    def fingerprint(self) -> tuple:
        """Changes whenever what the lexicon says changes (for caches of rendered text)."""
        return self._fingerprint

    def overlaid(self, other: Lexicon) -> Lexicon:
        """This lexicon with ``other``'s entries on top (``other`` wins a shared word)."""
        return Lexicon([*self._entries.values(), *other._entries.values()])

    def lookup(self, word: str) -> LexiconEntry | None:
        """The entry for ``word`` as written: an exact entry first, then one of any case."""
        return self._entries.get((True, word)) or self._entries.get((False, word.casefold()))

    def respell(self, text: str) -> str:
        """``text`` with every sounds-like entry's word replaced by its respelling."""
        if self._pattern is None:
            return text
        return self._pattern.sub(lambda m: self._replacement(m.group(0)), text)

    def segments(self, text: str) -> list[Segment]:
        """``text`` (respellings applied) cut around the words that have phonemes."""
        text = self.respell(text)
        if self._pattern is None:
            return [Segment(text)]
        out: list[Segment] = []
        last = 0
        for match in self._pattern.finditer(text):
            entry = self.lookup(match.group(0))
            if entry is None or entry.kind is not Pronunciation.PHONEMES:
                continue
            if match.start() > last:
                out.append(Segment(text[last:match.start()]))
            out.append(Segment(match.group(0), tuple(entry.symbols())))
            last = match.end()
        if last < len(text):
            out.append(Segment(text[last:]))
        return out

    def _replacement(self, word: str) -> str:
        entry = self.lookup(word)
        if entry is None or entry.kind is not Pronunciation.SOUNDS_LIKE:
            return word
        return entry.value


def _pattern(entries: Iterable[LexiconEntry]) -> re.Pattern | None:
    """One regex for all entries' words, longest first, whole words only. Case: an exact entry
    matches only its own spelling, the others any case (checked again in ``lookup``)."""
    words = sorted({e.word for e in entries}, key=len, reverse=True)
    if not words:
        return None
    alternatives = "|".join(re.escape(w) for w in words)
    return re.compile(rf"(?<![\w'’])(?:{alternatives})(?![\w'’])", re.IGNORECASE)


def phonemize_with(lexicon: Lexicon, text: str | Sequence[Segment],
                   phonemize: Callable[[str], list[list[str]]],
                   phoneme_map: Mapping[str, object]) -> list[str]:
    """One sentence's phonemes with the lexicon applied: text pieces through ``phonemize``
    (the voice's front end), entries' phonemes as given. Spaces between words, and the
    punctuation right after an entry's word (which the front end drops at the start of a
    piece), are kept as the front end would have kept them. ``text`` may come already cut
    into segments (markup's ``<phoneme>`` words are fixed ones)."""
    pieces = [Segment(text)] if isinstance(text, str) else text
    out: list[str] = []
    after_entry = False
    for segment in (s for piece in pieces
                    for s in ([piece] if piece.fixed else lexicon.segments(piece.text))):
        if segment.fixed:
            check_symbols(segment.text, "".join(segment.phonemes), phoneme_map)
            _space_before(out)
            out.extend(segment.phonemes)
            after_entry = True
            continue
        piece = segment.text
        if after_entry:
            lead = re.match(r"^[^\w\s]*", piece).group(0)
            out.extend(ch for ch in lead if ch in phoneme_map)
            if piece[len(lead):][:1].isspace() and piece.strip(" .,;:!?"):
                _space_before(out)
        after_entry = False
        groups = phonemize(piece) if any(ch.isalnum() for ch in piece) else []
        for i, group in enumerate(groups):
            if i:
                _space_before(out)
            out.extend(group)
    return out


def _space_before(out: list[str]) -> None:
    if out and out[-1] != " ":
        out.append(" ")


def check_entries(entries: Sequence[LexiconEntry], phoneme_map: Mapping[str, object]) -> None:
    """LexiconError for the first phoneme entry the voice cannot speak."""
    for entry in entries:
        entry.check_symbols(phoneme_map)
