"""The bundled voice stays intelligible, judged by an offline recognizer (PocketSphinx).

PocketSphinx is a weak recognizer, so a low WER here is strong evidence; a high one
could still be the recognizer's fault, which is why the bounds are loose compared
with what the voice measures (default ~0.02-0.03, moderately styled ~0.06-0.11).
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

from voicestudio.audio.recognizer import transcribe
from voicestudio.styling.controls import StyleControls
from voicestudio.text.compare import edit_distance, normalize_words, word_error_rate

#: Simple everyday sentences, 2-3 s each, no names or numbers written as digits.
SENTENCES = (
    "Please open the window before you leave.",
    "I would like a cup of coffee with milk.",
    "The bus to the city leaves at nine.",
    "My sister is reading a book in the garden.",
    "We need to buy bread and eggs today.",
    "Can you call me back this afternoon?",
    "The children are playing outside in the park.",
    "It is going to rain later this evening.",
)


def corpus_wer(synth, controls: StyleControls | None, label: str) -> float:
    """Aggregate WER (errors summed over sentences / reference words summed), printing misses."""
    errors = words = 0
    for text in SENTENCES:
        audio = np.concatenate([chunk.samples for chunk in synth.synthesize(text, controls)])
        hypothesis = transcribe(audio, synth.sample_rate)
        ref = normalize_words(text)
        e = edit_distance(ref, normalize_words(hypothesis))
        errors, words = errors + e, words + len(ref)
        if e:
            print(f"  [{label}] {text!r} heard as {hypothesis!r}")
    wer = errors / words
    print(f"{label}: WER {wer:.3f} ({errors} errors / {words} words)")
    return wer


def test_default_output_is_intelligible(synth):
    assert corpus_wer(synth, None, "default") <= 0.25


def test_moderately_styled_output_stays_intelligible(synth):
    # Measured 0.06-0.11 over several noise draws (the recognizer trips on a word or
    # two per run); 0.3 leaves room for an unlucky draw but not for garbled speech.
    controls = StyleControls(pitch=3.0, speed=1.1)
    assert corpus_wer(synth, controls, "pitch +3, speed 1.1") <= 0.3


# ---------------------------------------------------------------- the metric itself


@pytest.mark.parametrize(
    ("reference", "hypothesis", "expected"),
    [
        ("the cat sat on the mat", "the cat sat on the mat", 0.0),
        ("The cat sat on the mat.", "the CAT, sat on the mat", 0.0),  # case and punctuation
        ("the cat sat on the mat", "the cat sat on the map", 1 / 6),  # substitution
        ("the cat sat on the mat", "the cat sat on mat", 1 / 6),  # deletion
        ("the cat sat on the mat", "the black cat sat on the mat", 1 / 6),  # insertion
        ("the cat sat on the mat", "", 1.0),
        ("don't stop", "dont stop", 0.5),  # apostrophes are part of the word
        ("yes", "no no no", 3.0),  # insertions can push WER above 1
        ("", "", 0.0),
        ("", "something", 1.0),
    ],
)
def test_word_error_rate_on_known_strings(reference: str, hypothesis: str, expected: float):
    assert word_error_rate(reference, hypothesis) == pytest.approx(expected)


def test_normalize_words_keeps_apostrophes_and_drops_punctuation():
    assert normalize_words("It's 5 o'clock — don’t STOP!") == [
        "it's",
        "5",
        "o'clock",
        "don't",
        "stop",
    ]
    assert normalize_words("'quoted' words, (brackets)") == ["quoted", "words", "brackets"]


def test_transcribe_is_safe_from_several_threads(synth):
    clips = [
        np.concatenate([c.samples for c in synth.synthesize(text)]) for text in SENTENCES[:2]
    ]
    expected = [transcribe(clip, synth.sample_rate) for clip in clips]
    results: dict[int, str] = {}

    def work(i: int) -> None:
        results[i] = transcribe(clips[i % 2], synth.sample_rate)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [results[i] for i in range(4)] == expected * 2


def test_transcribe_rejects_multichannel_input():
    with pytest.raises(ValueError):
        transcribe(np.zeros((2, 16000), dtype=np.float32), 16000)
