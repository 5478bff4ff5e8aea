"""Text → speech with the real bundled voice: streaming, odd input, and sane audio."""

from __future__ import annotations

import inspect
import itertools
import random
import string
import time
import tracemalloc

import numpy as np
import pytest

from voicestudio.audio.levels import active_rms_dbfs
from voicestudio.errors import ControlRangeError, InputTextError
from voicestudio.styling.controls import StyleControls
from voicestudio.styling.render import TARGET_LEVEL_DBFS
from voicestudio.text.normalize import Dropped
from voicestudio.voice.synthesizer import SENTENCE_PAUSE_S, SpeechChunk, TextReport


def _check_audio(chunk: SpeechChunk, synth) -> None:
    """Finite float32 mono in [-1, 1] at the voice's rate, with audible speech and a trailing
    pause."""
    samples = chunk.samples
    assert isinstance(samples, np.ndarray) and samples.dtype == np.float32 and samples.ndim == 1
    assert np.all(np.isfinite(samples))
    assert np.max(np.abs(samples)) <= 1.0
    assert chunk.sample_rate == synth.sample_rate == synth.voice.sample_rate
    pause = int(round(SENTENCE_PAUSE_S * chunk.sample_rate))
    assert len(samples) > pause + chunk.sample_rate // 10
    assert not np.any(samples[-pause:])  # the sentence pause is silence
    speech = samples[:-pause]
    assert np.max(np.abs(speech)) > 0.05
    assert active_rms_dbfs(speech, chunk.sample_rate) == pytest.approx(TARGET_LEVEL_DBFS, abs=1.5)


def test_synthesize_is_a_generator_with_one_chunk_per_sentence(synth):
    text = "The sun is up. Are you coming with us? Let's go!"
    report = TextReport()
    chunks = synth.synthesize(text, report=report)
    assert inspect.isgenerator(chunks)
    chunks = list(chunks)
    assert [c.index for c in chunks] == [0, 1, 2]
    assert [c.text for c in chunks] == ["The sun is up.", "Are you coming with us?", "Let's go!"]
    for chunk in chunks:
        _check_audio(chunk, synth)
    assert report.sentences == 3 and report.messages() == []
    # a longer sentence makes longer audio
    assert len(chunks[1].samples) > len(chunks[2].samples)


def test_consumer_can_stop_early(synth):
    chunks = synth.synthesize("One sentence here. Another one there. And a third.")
    first = next(chunks)
    assert first.index == 0
    chunks.close()  # no error, no further work
    with pytest.raises(StopIteration):
        next(chunks)


@pytest.mark.parametrize(
    "unit",
    [
        "This is a sentence in a very long text. ",
        "words without any punctuation keep on coming ",  # one megabyte-long "sentence"
    ],
)
def test_first_chunk_of_a_megabyte_streams(synth, unit):
    text = unit * (1_000_000 // len(unit))
    assert len(text) > 990_000
    tracemalloc.start()
    try:
        start = time.perf_counter()
        chunks = synth.synthesize(text)
        first = next(chunks)
        elapsed = time.perf_counter() - start
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    chunks.close()
    # an unpunctuated piece is MAX_PIECE_CHARS long (~17 s of speech, ~2 s of model time on
    # 2 cores); the limit leaves room for a loaded machine but not for reading the whole text
    assert elapsed < 10.0, f"first chunk took {elapsed:.1f} s"
    assert peak < 100e6, f"peak traced memory {peak / 1e6:.0f} MB"
    assert first.index == 0 and len(first.text) <= 300
    assert text.startswith(first.text.rstrip("."))
    _check_audio(first, synth)


@pytest.mark.parametrize("text", ["", " ", "   \n\t\r\n  ", "\u3000\u00a0"])
def test_empty_text_is_refused(synth, text):
    with pytest.raises(InputTextError, match="empty|nothing"):
        next(synth.synthesize(text))


def test_non_string_is_refused(synth):
    with pytest.raises(InputTextError):
        next(synth.synthesize(None))


@pytest.mark.parametrize(
    ("text", "mentions"),
    [
        ("😀🎉👍🏽 🇺🇸", "emoji"),
        ("\x00\x01\x02\x1b", "control characters"),
        ("你好，世界", "CJK characters"),
        ("مرحبا 😀", "Arabic characters"),
    ],
)
def test_nothing_speakable_says_what_was_skipped(synth, text, mentions):
    with pytest.raises(InputTextError, match="nothing speakable") as info:
        next(synth.synthesize(text))
    assert mentions in str(info.value) and "skipped" in str(info.value)


@pytest.mark.parametrize("text", ["...", "?!", "- - -", ". , ;", "…", "' \" ( ) [ ]"])
def test_punctuation_only_is_refused(synth, text):
    with pytest.raises(InputTextError, match="nothing speakable"):
        next(synth.synthesize(text))


def test_mixed_junk_speaks_with_warnings(synth):
    text = "Hello\x00 there 😀! This is\x07 你好 English. Done\u200b now 🎉🎉."
    report = TextReport()
    chunks = list(synth.synthesize(text, report=report))
    assert [c.text for c in chunks] == ["Hello there !", "This is English.", "Done now ."]
    for chunk in chunks:
        _check_audio(chunk, synth)
    assert report.dropped[Dropped.CONTROL] == 2  # the zero-width space is dropped silently
    assert report.dropped[Dropped.SYMBOLS] == 3
    assert report.other_scripts == {"CJK": 2}
    assert report.sentences == 3 and report.skipped == 7
    assert report.messages() == [  # the counts, worded for display only
        "skipped 2 control characters",
        "skipped 3 emoji and symbols",
        "skipped 2 CJK characters this voice cannot speak",
    ]


def test_sentences_made_only_of_junk_are_skipped(synth):
    report = TextReport()
    chunks = list(synth.synthesize("First. 😀😀. 你好. Last.", report=report))
    assert [c.text for c in chunks] == ["First.", "Last."]
    assert [c.index for c in chunks] == [0, 1]
    assert report.dropped == {Dropped.SYMBOLS: 2} and report.other_scripts == {"CJK": 2}


@pytest.mark.parametrize(
    "text",
    [
        "¿Dónde está la biblioteca? Me gustaría leer un libro, señor.",
        "Grüße aus München! Die Straße ist schön und übermäßig groß.",
        "Ça va très bien, merci. Où est la gare?",
    ],
)
def test_non_english_latin_text_speaks(synth, text):
    report = TextReport()
    chunks = list(synth.synthesize(text, report=report))
    assert len(chunks) == 2
    for chunk in chunks:
        _check_audio(chunk, synth)
    assert not any("characters" in m for m in report.messages())  # no letter was dropped


@pytest.mark.parametrize("kind", ["random", "repeated"])
def test_ten_thousand_letter_word(synth, kind):
    rng = random.Random(5)
    if kind == "random":
        word = "".join(rng.choice(string.ascii_lowercase) for _ in range(10_000))
    else:
        word = "a" * 10_000
    chunks = synth.synthesize(f"{word}.")
    start = time.perf_counter()
    first = next(chunks)
    assert time.perf_counter() - start < 10.0
    chunks.close()
    assert first.index == 0 and len(first.text) <= 300
    assert np.all(np.isfinite(first.samples)) and np.max(np.abs(first.samples)) <= 1.0
    assert first.samples.dtype == np.float32 and first.sample_rate == synth.sample_rate


def test_loud_style_stays_in_range(synth):
    chunks = list(synth.synthesize("Shouting very loudly now!", StyleControls(energy=12.0)))
    samples = chunks[0].samples
    assert np.all(np.isfinite(samples)) and np.max(np.abs(samples)) <= 1.0
    assert chunks[0].sample_rate == synth.sample_rate


def test_styled_chunk_keeps_rate_and_range(synth):
    (chunk,) = synth.synthesize("A little higher and faster.", StyleControls(pitch=3.0, speed=1.25))
    assert chunk.sample_rate == synth.voice.sample_rate
    assert chunk.samples.dtype == np.float32
    assert np.all(np.isfinite(chunk.samples)) and np.max(np.abs(chunk.samples)) <= 1.0
    pause = int(round(SENTENCE_PAUSE_S / 1.25 * chunk.sample_rate))
    assert not np.any(chunk.samples[-pause:])


def test_bad_controls_fail_before_any_audio(synth):
    with pytest.raises(ControlRangeError, match="speed"):
        next(synth.synthesize("Hello.", StyleControls(speed=10.0)))


def test_zero_variability_is_repeatable(synth):
    quiet = StyleControls(variability=0.0)
    a = next(synth.synthesize("Same every time.", quiet)).samples
    b = next(synth.synthesize("Same every time.", quiet)).samples
    np.testing.assert_allclose(a, b, atol=1e-5)


def test_sentences_are_lazy(synth):
    text = "Short one. " * 100_000
    start = time.perf_counter()
    first_two = list(itertools.islice(synth.sentences(text), 2))
    assert time.perf_counter() - start < 2.0
    assert [s.index for s in first_two] == [0, 1]
    assert all(s.text == "Short one." and len(s.ids) > 4 for s in first_two)


def test_punctuation_only_pieces_are_skipped_not_named(synth):
    """espeak would say "exclamation mark" for a lone "!!!"; such pieces are dropped with a
    warning."""
    report = TextReport()
    sentences = list(synth.sentences("Hello there. !!! ??? ... Goodbye now.", report))
    assert [s.text for s in sentences] == ["Hello there.", "Goodbye now."]
    assert report.wordless_pieces >= 1 and report.skipped == report.wordless_pieces
    assert any("punctuation without words" in m for m in report.messages())


def test_report_words_counts_for_display_only():
    report = TextReport()
    assert report.messages() == [] and report.skipped == 0
    report.dropped[Dropped.INVALID] += 1
    report.other_scripts["Arabic"] += 5
    report.wordless_pieces = 1
    report.unknown_phonemes = 3
    assert report.messages() == [
        "skipped 1 invalid or unassigned character",
        "skipped 5 Arabic characters this voice cannot speak",
        "skipped 1 piece of punctuation without words",
        "skipped 3 phonemes the voice does not know",
    ]
    assert report.skipped == 10
