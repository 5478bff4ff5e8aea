"""Where the words a render speaks stand in the text typed, and which one is heard when.

The engine's word times name each word as written (``WordTime.text``, punctuation kept),
not where it stands in the text box, so the panel finds them: each word in order, after the
one before it. A word is matched whole (not inside a longer word) and without the
punctuation at its edges, which cleaning may have changed; in markup, only the text between
tags counts (an attribute such as ``rate="slow"`` is never a spoken word). A word that
cannot be found (an entity such as ``&amp;``, a word split by a tag, a ``<say-as>``
expansion) is simply not highlighted, and the search goes on from where it was.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence

from voicestudio.voice.timings import WordTime

#: Tags and comments of markup: what a word in the text box is never part of.
_TAG = re.compile(r"<!--.*?-->|<[^>]*>?", re.DOTALL)


def _core(word: str) -> str:
    """``word`` without the punctuation at its edges ("Hello!" → "Hello", "(e.g." → "e.g")."""
    start, end = 0, len(word)
    while start < end and not word[start].isalnum():
        start += 1
    while end > start and not word[end - 1].isalnum():
        end -= 1
    return word[start:end]


def word_ranges(text: str, words: Sequence[str], markup: bool) -> list[tuple[int, int] | None]:
    """For each of ``words`` (in the order spoken), the ``[start, end)`` character range of
    it in ``text``, or None where it is not found. ``markup``: ``text`` is read as markup,
    so tags are skipped."""
    tags = [(m.start(), m.end()) for m in _TAG.finditer(text)] if markup else []
    tag_starts = [start for start, _end in tags]

    def in_tag(start: int, end: int) -> bool:
        k = bisect.bisect_right(tag_starts, end - 1) - 1  # the last tag starting before end
        return k >= 0 and tags[k][1] > start

    ranges: list[tuple[int, int] | None] = []
    position = 0
    for word in words:
        core = _core(word)
        found = None
        expression = rf"(?<!\w){re.escape(core)}(?!\w)"  # whole: "a" is not in "cat"
        for flags in (0, re.IGNORECASE) if core else ():
            found = next((m for m in re.compile(expression, flags).finditer(text, position)
                          if not in_tag(m.start(), m.end())), None)
            if found is not None:
                break
        if found is None:
            ranges.append(None)
            continue
        ranges.append((found.start(), found.end()))
        position = found.end()
    return ranges


def utf16_offset(text: str, index: int) -> int:
    """Python string index ``index`` of ``text`` as a Qt text position (Qt counts UTF-16
    code units: an emoji is two)."""
    return len(text[:index].encode("utf-16-le")) // 2


def word_heard_at(words: Sequence[WordTime], seconds: float) -> int | None:
    """The index of the word heard ``seconds`` into the audio, or None between words (a
    pause, a sentence's end) and outside them. ``words`` are in time order."""
    k = bisect.bisect_right([w.start for w in words], seconds) - 1
    if k >= 0 and words[k].start <= seconds < words[k].end:
        return k
    return None
