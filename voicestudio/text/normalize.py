"""Make arbitrary user text safe and speakable, and cut it into sentence-sized pieces.

Cleaning never raises on odd input: control characters, emoji and letters the
voice cannot speak are dropped and reported as warnings, so a pasted web page or
chat log still produces speech. Splitting is lazy so a 1 MB text streams.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import Enum

#: A piece longer than this (no sentence punctuation) is cut at a clause or word boundary:
#: a VITS pass over a huge phoneme sequence costs memory and delays the first audio.
MAX_PIECE_CHARS = 300

# espeak voices whose language is written in Latin script; for them other scripts are skipped
# (espeak would otherwise read "Chinese letter" for every character).
_LATIN_LANGS = {
    "en", "de", "fr", "es", "it", "pt", "nl", "pl", "cs", "sk", "sv", "da", "nb", "no", "fi",
    "hu", "ro", "tr", "ca", "cy", "is", "lb", "lv", "lt", "sl", "sr", "hr", "id", "ms", "sw", "vi",
    "eu", "ga", "et", "sq", "af",
}

_SENTENCE = re.compile(
    r"\S.*?(?:[.!?\u2026]+[\"'\u201d\u2019)\]]*(?=\s)|\r?\n[ \t\r]*\n|\Z)", re.DOTALL
)
#: A piece ending in one of these (or in an initial such as "J.") continues the sentence.
#: Words that also end sentences ("etc.", "p.m.", "Inc.") are left out: a lowercase word
#: after them joins anyway.
_ABBREVIATIONS = frozenset(
    ["mr", "mrs", "ms", "dr", "st", "prof", "sr", "jr", "vs", "e.g", "i.e", "mt", "fig", "dept"]
)
#: Symbols espeak reads sensibly ("degrees", "copyright"); other symbols and emoji are dropped.
_SPOKEN_SYMBOLS = frozenset("°©®™")
_SOFT_BREAK = re.compile(r"[,;:\u2014\u2013]\s")
_SPACES = re.compile(r"\s+")


class Dropped(Enum):
    """Kinds of characters :func:`clean_text` drops; the value names them in a warning."""

    CONTROL = "control characters"
    INVALID = "invalid or unassigned characters"
    SYMBOLS = "emoji and symbols"


def other_script_noun(script: str) -> str:
    """How a warning names the letters of ``script`` that a Latin voice cannot speak."""
    return f"{script} characters this voice cannot speak"


@dataclass
class CleanText:
    """Cleaned text and what was dropped from it, counted by kind; ``warnings`` words it."""

    text: str
    dropped: Counter[Dropped] = field(default_factory=Counter)
    #: Letters of other scripts dropped for a Latin voice, by script ("CJK", "Arabic").
    scripts: Counter[str] = field(default_factory=Counter)

    @property
    def warnings(self) -> list[str]:
        counts = [(kind.value, n) for kind, n in self.dropped.items()]
        counts += [(other_script_noun(script), n) for script, n in self.scripts.items()]
        return [f"skipped {n} {what}" for what, n in counts]


def is_latin_voice(espeak_voice: str) -> bool:
    return espeak_voice.split("-")[0].lower() in _LATIN_LANGS


def clean_text(text: str, latin_only: bool = True) -> CleanText:
    """NFKC-normalize, drop unspeakable characters (with warnings), collapse whitespace."""
    text = unicodedata.normalize("NFKC", text)
    dropped: Counter[Dropped] = Counter()
    scripts: Counter[str] = Counter()
    out: list[str] = []
    for ch in text:
        if ch in "\n\t\r ":
            out.append(" ")
            continue
        cat = unicodedata.category(ch)
        if cat == "Cf":
            continue  # soft hyphens, zero-width joiners, direction marks: invisible, so silent
        if cat in ("Cc", "Zl", "Zp"):
            dropped[Dropped.CONTROL] += 1
            out.append(" ")
        elif cat in ("Cs", "Co", "Cn"):
            dropped[Dropped.INVALID] += 1
        elif (cat == "So" or cat == "Sk") and ch not in _SPOKEN_SYMBOLS:
            dropped[Dropped.SYMBOLS] += 1
            out.append(" ")
        elif cat.startswith("L") and latin_only and ord(ch) > 0x24F and not _is_latin(ch):
            scripts[_script_of(ch)] += 1
            out.append(" ")
        elif cat.startswith("M") and latin_only and out and out[-1] == " ":
            continue  # combining mark left over from a dropped letter
        else:
            out.append(ch)
    return CleanText(_SPACES.sub(" ", "".join(out)).strip(), dropped, scripts)


def _is_latin(ch: str) -> bool:
    return "LATIN" in unicodedata.name(ch, "")


def _script_of(ch: str) -> str:
    word = unicodedata.name(ch, "UNKNOWN").split(" ")[0]
    return word if len(word) <= 3 else word.capitalize()  # "CJK", "Arabic", "Hebrew"


def split_sentences(text: str, max_chars: int = MAX_PIECE_CHARS) -> Iterator[str]:
    """Yield sentence-sized pieces lazily (no copy of the whole text is made).

    "Mr. Smith", "J. Doe" and "e.g. this" stay one sentence: a piece that ends in an
    abbreviation or an initial, or is followed by a lowercase word, joins the next.
    """
    held = ""
    for match in _SENTENCE.finditer(text):
        piece = match.group(0).strip()
        if not piece:
            continue
        if held and not piece[0].islower() and not _continues(held):
            yield from _cut_long(held, max_chars)
            held = ""
        held = f"{held} {piece}" if held else piece
        if len(held) > max_chars:
            yield from _cut_long(held, max_chars)
            held = ""
    if held:
        yield from _cut_long(held, max_chars)


def _continues(piece: str) -> bool:
    """Does ``piece`` end in an abbreviation or an initial rather than a sentence end?"""
    if not piece.endswith("."):
        return False
    last = piece.rsplit(None, 1)[-1].rstrip(".").lower()
    return last in _ABBREVIATIONS or (len(last) == 1 and last.isalpha())


def _cut_long(piece: str, max_chars: int) -> Iterator[str]:
    """Cut at the last clause break (else word break) inside each window; walks by index so a
    megabyte without punctuation is not copied once per cut."""
    start, end = 0, len(piece)
    while end - start > max_chars:
        window = piece[start : start + max_chars]
        cut = -1
        for m in _SOFT_BREAK.finditer(window):
            cut = m.end()
        if cut < max_chars // 3:
            cut = window.rfind(" ") + 1
        if cut <= 0:
            cut = max_chars  # one enormous "word": cut it anyway
        head = window[:cut].strip()
        start += cut
        if head:
            yield head
    tail = piece[start:].strip()
    if tail:
        yield tail
