"""How far apart two texts are, as words: what a speech recognizer heard against what was
meant to be said. Used by the take checks (did the take read its prompt?), the consent gate
(does the statement read the statement?) and the word error rate of a voice.
"""

from __future__ import annotations

import re

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z0-9]+)*")


def normalize_words(text: str) -> list[str]:
    """Lowercase words without punctuation (apostrophes inside words kept: "don't" ≠ "dont"),
    so that commas, full stops and capitals do not count as recognition errors."""
    text = text.lower().replace("\u2019", "'")
    return _WORD.findall(text)


def word_error_rate(reference: str, hypothesis: str) -> float:
    """(substitutions + deletions + insertions) / reference words, from a word-level
    Levenshtein alignment. An empty reference gives 0 for an empty hypothesis, else 1."""
    ref, hyp = normalize_words(reference), normalize_words(hypothesis)
    if not ref:
        return 0.0 if not hyp else 1.0
    return edit_distance(ref, hyp) / len(ref)


def edit_distance(ref: list[str], hyp: list[str]) -> int:
    """Levenshtein distance between two word sequences (unit costs)."""
    previous = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, start=1):
        current = [i] + [0] * len(hyp)
        for j, h in enumerate(hyp, start=1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (r != h))
        previous = current
    return previous[-1]


def char_error_rate(reference: str, hypothesis: str) -> float:
    """Character edit distance between the normalized word sequences (joined by spaces)
    divided by the reference length: near-miss words count as nearly right."""
    ref, hyp = " ".join(normalize_words(reference)), " ".join(normalize_words(hypothesis))
    if not ref:
        return 0.0 if not hyp else 1.0
    return edit_distance(list(ref), list(hyp)) / len(ref)


def error_rate_text(rate: float, unit: str = "character") -> str:
    """An error rate for people: above 100 % (the recognizer heard far more than was
    written) it says so in words instead of "286 %"."""
    if rate > 1.0:
        return f"more {unit} errors than the text has {unit}s"
    return f"{unit} error rate {rate:.0%}"
