"""Which phonemes of a sentence belong to which written word.

The front end phonemizes a whole sentence at once (espeak's context decides stress and
linking), and its output separates words with a space phoneme. Written words and espeak's
words usually pair one to one; where they do not ("1984" is four spoken words, "e.g." two),
each written word is phonemized alone to learn how many spoken words it makes, and when even
that disagrees with the sentence (espeak ran "with which" or "the arts" together) the words'
own phonemes are lined up with the sentence's. A word's phonemes are what its timings are
read from.
"""

from __future__ import annotations

import difflib
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass

WORD_SEPARATOR = " "


@dataclass(frozen=True)
class WordSlot:
    """A written word and the range of phonemes ``[first, end)`` it is spoken with."""

    text: str
    first: int
    end: int


def written_words(text: str) -> list[str]:
    """The words of ``text`` that are spoken, as written (punctuation kept, as a subtitle
    shows it): whitespace-separated pieces holding a letter or digit."""
    return [piece for piece in text.split() if any(ch.isalnum() for ch in piece)]


def is_punctuation(phoneme: str) -> bool:
    """Marks the front end passes through (",", ".", "?"): they shape the sound, they are
    not part of a word's own time."""
    return all(unicodedata.category(ch).startswith("P") for ch in phoneme)


def spoken_groups(phonemes: Sequence[str]) -> list[tuple[int, int]]:
    """Ranges of the spoken words in a phoneme sequence: runs between separators, a run of
    punctuation alone joined to the word before it."""
    groups: list[tuple[int, int]] = []
    start = None
    for i, phoneme in enumerate([*phonemes, WORD_SEPARATOR]):
        if phoneme == WORD_SEPARATOR:
            if start is not None:
                if all(is_punctuation(p) for p in phonemes[start:i]) and groups:
                    groups[-1] = (groups[-1][0], i)
                else:
                    groups.append((start, i))
            start = None
        elif start is None:
            start = i
    return groups


def word_slots(
    words: Sequence[str],
    phonemes: Sequence[str],
    phonemes_of: Callable[[int], Sequence[str]],
) -> list[WordSlot]:
    """Pair ``words`` (as :func:`written_words` gives them) with the phonemes spoken for each.

    ``phonemes_of(i)`` is what the front end makes of word ``i`` alone; it is asked only when
    the counts of written and spoken words differ. Then, when each word alone makes as many
    spoken words as the sentence has, they are paired in order; otherwise (the front end ran
    "with which" together) the words' own phonemes are lined up with the sentence's, so a
    word boundary may fall inside a spoken word.
    """
    groups = spoken_groups(phonemes)
    if not words or not groups:
        return []
    if len(groups) == len(words):
        return _in_order(words, groups, [1] * len(words))
    alone = [list(phonemes_of(i)) for i in range(len(words))]
    counts = [len(spoken_groups(p)) for p in alone]
    if sum(counts) == len(groups):
        return _in_order(words, groups, counts)
    return _lined_up(words, phonemes, alone)


def _in_order(words: Sequence[str], groups: Sequence[tuple[int, int]], counts: Sequence[int]
              ) -> list[WordSlot]:
    slots = []
    g = 0
    for word, count in zip(words, counts, strict=True):
        if count == 0:  # nothing of its own: a zero-length slot where it would have been
            at = groups[g][0] if g < len(groups) else groups[-1][1]
            slots.append(WordSlot(word, at, at))
            continue
        slots.append(WordSlot(word, groups[g][0], groups[g + count - 1][1]))
        g += count
    return slots


#: Marks left out when phonemes are lined up: stress and length vary with context.
_UNSTABLE = frozenset("ˈˌː")


def _lined_up(words: Sequence[str], phonemes: Sequence[str],
              alone: Sequence[Sequence[str]]) -> list[WordSlot]:
    """Each sentence phoneme owned by the word whose own phonemes it matches (difflib on the
    symbols, stress and length marks aside); unmatched ones go with the word before; owners
    only move forward, so every word gets one contiguous run."""
    mine = [(p, k) for k, p in enumerate(phonemes)
            if p != WORD_SEPARATOR and not is_punctuation(p) and p not in _UNSTABLE]
    theirs = [(p, i) for i, word in enumerate(alone) for p in word
              if p != WORD_SEPARATOR and not is_punctuation(p) and p not in _UNSTABLE]
    owner = [-1] * len(mine)
    matcher = difflib.SequenceMatcher(None, [p for p, _ in theirs], [p for p, _ in mine],
                                      autojunk=False)
    for block in matcher.get_matching_blocks():
        for j in range(block.size):
            owner[block.b + j] = theirs[block.a + j][1]
    current = 0
    for j, who in enumerate(owner):
        current = max(current, who)
        owner[j] = current
    # every other symbol goes with its neighbour: a stress mark with the phoneme after it,
    # a length mark or punctuation with the one before
    by_index = dict(zip((k for _, k in mine), owner, strict=True))
    full: dict[int, int] = {}
    last = 0
    for k, p in enumerate(phonemes):
        if k in by_index:
            last = by_index[k]
        elif p in "ˈˌ":
            last = next((by_index[m] for m in range(k + 1, len(phonemes)) if m in by_index),
                        last)
        elif p == WORD_SEPARATOR:
            continue
        full[k] = last
    slots = []
    for i, word in enumerate(words):
        owned = [k for k, who in full.items() if who == i]
        if owned:
            slots.append(WordSlot(word, owned[0], owned[-1] + 1))
        else:
            at = slots[-1].end if slots else 0
            slots.append(WordSlot(word, at, at))
    return slots
