"""Which phonemes of a sentence belong to which written word.

The front end phonemizes a whole sentence at once (espeak's context decides stress and
linking), and its output separates words with a space phoneme. Written words and espeak's
words usually pair one to one; where they do not ("1984" is four spoken words, "e.g." two),
each written word is phonemized alone to learn how many spoken words it makes, and when even
that disagrees with the sentence (context changed a reading) the spoken words are shared out
in proportion. A word's phonemes are what its timings are read from.
"""

from __future__ import annotations

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
    spoken_words_in: Callable[[int], int],
) -> list[WordSlot]:
    """Pair ``words`` (as :func:`written_words` gives them) with the phonemes spoken for each.

    ``spoken_words_in(i)`` says how many spoken words the front end makes of word ``i``
    alone; it is asked only when the counts differ.
    """
    groups = spoken_groups(phonemes)
    if not words or not groups:
        return []
    if len(groups) == len(words):
        counts = [1] * len(words)
    else:
        counts = [max(0, spoken_words_in(i)) for i in range(len(words))]
        if sum(counts) != len(groups):
            counts = _shares(counts, len(groups))
    slots = []
    g = 0
    for word, count in zip(words, counts, strict=True):
        if count == 0:  # nothing of its own: a zero-length slot where it would have been
            at = groups[min(g, len(groups) - 1)][0] if g < len(groups) else groups[-1][1]
            slots.append(WordSlot(word, at, at))
            continue
        first, end = groups[g][0], groups[g + count - 1][1]
        slots.append(WordSlot(word, first, end))
        g += count
    return slots


def _shares(counts: Sequence[int], total: int) -> list[int]:
    """``total`` spoken words shared out in proportion to ``counts`` (each word at least one
    when there are enough), adding up to ``total`` exactly."""
    weights = [max(1, c) for c in counts]
    whole = sum(weights)
    edges = [round(total * sum(weights[:i]) / whole) for i in range(len(weights) + 1)]
    return [b - a for a, b in zip(edges[:-1], edges[1:], strict=True)]
