"""A marked-up text as sentences of words, each word with its span style and the pause after it.

The markup parser gives runs of text and breaks; speech needs sentences (one model pass
each) whose words know how they are to be said. Runs are cut into words at whitespace (a run
that starts inside a word, ``un<emphasis>real</emphasis>``, continues that word in its first
style); a run that stands for other words (``<sub>``, ``<say-as>``) or has its own phonemes
(``<phoneme>``) stays one word, shown as written. Sentences are found by the same splitter
plain text uses, on the words joined by spaces.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from dataclasses import dataclass, replace

from voicestudio.text.markup import NEUTRAL, Break, MarkupDocument, SpanStyle
from voicestudio.text.normalize import split_sentences

#: Joins the words of one unit (a ``<say-as>`` expansion) while sentences are found, so the
#: splitter never cuts inside it: not whitespace, invisible, never in user text after cleaning.
_JOINER = "\u2060"


@dataclass(frozen=True)
class Token:
    """One word as markup left it: spoken text, text shown, style, fixed phonemes (or None),
    and the silence asked for after it."""

    text: str
    shown: str
    style: SpanStyle = NEUTRAL
    phonemes: str | None = None
    pause_after: float = 0.0
    #: A unit (sub, say-as, phoneme) is one word even when its spoken text has several.
    unit: bool = False


@dataclass(frozen=True)
class MarkedSentence:
    tokens: tuple[Token, ...]
    #: Silence before the sentence's first word (a break at the very start of the text).
    lead: float = 0.0


def tokens_of(document: MarkupDocument) -> tuple[float, list[Token]]:
    """The leading silence and the words of ``document``, in order."""
    tokens: list[Token] = []
    lead = 0.0
    glue = False  # the previous run ended inside a word
    for piece in document.pieces:
        if isinstance(piece, Break):
            if tokens:
                tokens[-1] = replace(tokens[-1], pause_after=tokens[-1].pause_after + piece.seconds)
            else:
                lead += piece.seconds
            glue = False
            continue
        if piece.phonemes is not None or piece.written is not None:
            spoken = " ".join(piece.text.split())
            if spoken:
                tokens.append(Token(spoken, " ".join(piece.shown.split()), piece.style,
                                    piece.phonemes, unit=True))
            glue = True  # what follows without a space ("</sub>.") belongs to it
            continue
        words = piece.text.split()
        if words and glue and not piece.text[0].isspace() and tokens:
            last = tokens[-1]
            if not last.unit:
                tokens[-1] = replace(last, text=last.text + words[0], shown=last.shown + words[0])
                words = words[1:]
            elif not any(ch.isalnum() for ch in words[0]):
                # "<say-as …>555-0123</say-as>." : the mark is shown with the unit, and still
                # spoken (it shapes the intonation) as a token that shows nothing
                tokens[-1] = replace(last, shown=last.shown + words[0])
                tokens.append(Token(words[0], "", piece.style))
                words = words[1:]
        tokens.extend(Token(w, w, piece.style) for w in words)
        glue = bool(piece.text) and not piece.text[-1].isspace()
    return lead, tokens


def marked_sentences(document: MarkupDocument) -> Iterator[MarkedSentence]:
    """The document's sentences, cut where plain text would be cut. Each piece the splitter
    gives is found in the joined words, and takes the words that start inside it (a word too
    long for one model pass, which the splitter cuts, stays whole with its start)."""
    lead, tokens = tokens_of(document)
    texts = [t.text.replace(" ", _JOINER) for t in tokens]
    starts, at = [], 0
    for text in texts:
        starts.append(at)
        at += len(text) + 1
    joined = " ".join(texts)
    taken, cursor = 0, 0
    for piece in split_sentences(joined):
        found = joined.find(piece, cursor)
        if found < 0:
            continue
        cursor = found + len(piece)
        end = bisect.bisect_left(starts, cursor)
        if end > taken:
            yield MarkedSentence(tuple(tokens[taken:end]), lead)
            lead, taken = 0.0, end
    if taken < len(tokens):
        yield MarkedSentence(tuple(tokens[taken:]), lead)
