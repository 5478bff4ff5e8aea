"""Cleaning arbitrary user text and cutting it into sentence-sized pieces."""

from __future__ import annotations

import collections.abc
import itertools
import random
import re
import time
import tracemalloc

import pytest

from voicestudio.text.normalize import (
    MAX_PIECE_CHARS,
    clean_text,
    is_latin_voice,
    split_sentences,
)

_WS = re.compile(r"\s+")


def _no_space(text: str) -> str:
    return _WS.sub("", text)


# --------------------------------------------------------------------------- clean_text


def test_plain_text_is_untouched():
    result = clean_text("Hello, world. It's 5 o'clock!")
    assert result.text == "Hello, world. It's 5 o'clock!"
    assert result.warnings == []


def test_control_characters_and_nul_are_dropped_and_counted():
    result = clean_text("Hel\x00lo\x07 wor\x1bld\x7f\u200b!")
    assert "\x00" not in result.text and "\x07" not in result.text and "\x1b" not in result.text
    assert all(ch.isprintable() for ch in result.text)
    assert result.text.replace(" ", "") == "Helloworld!"
    assert result.warnings == ["skipped 4 control characters"]  # the zero-width space goes silently


def test_whitespace_is_collapsed():
    assert clean_text("  one\t\ttwo\r\n\nthree \u00a0 four ").text == "one two three four"


def test_emoji_are_dropped_and_counted():
    result = clean_text("Great job 😀👍🏽 see you ✨ soon 🇺🇸")
    assert result.text == "Great job see you soon"
    assert len(result.warnings) == 1
    match = re.fullmatch(r"skipped (\d+) emoji and symbols", result.warnings[0])
    assert match and int(match.group(1)) >= 5


def test_emoji_zwj_sequence_leaves_no_residue():
    result = clean_text("family 👨\u200d👩\u200d👧 time ❤\ufe0f")
    assert result.text == "family time"
    assert result.warnings  # something was reported


@pytest.mark.parametrize(
    ("text", "script", "count"),
    [
        ("Hello 你好世界 world", "CJK", 4),
        ("Hello مرحبا world", "Arabic", 5),
        ("Hello שָׁלוֹם world", "Hebrew", 4),
        ("Hello Привет world", "Cyrillic", 6),
    ],
)
def test_other_scripts_dropped_for_latin_voices(text, script, count):
    result = clean_text(text, latin_only=True)
    assert result.text == "Hello world"
    assert result.warnings == [f"skipped {count} {script} characters this voice cannot speak"]


def test_other_scripts_kept_when_not_latin_only():
    result = clean_text("Привет 你好", latin_only=False)
    assert result.text == "Привет 你好"
    assert result.warnings == []


def test_warnings_count_each_kind():
    result = clean_text("a\x00b\x01 😀 你好 c")
    assert sorted(result.warnings) == sorted(
        [
            "skipped 2 control characters",
            "skipped 1 emoji and symbols",
            "skipped 2 CJK characters this voice cannot speak",
        ]
    )


def test_accented_latin_is_kept():
    text = "Café, naïve Björk, señor Ñandú, Straße, Łódź, Ærø, Tiếng Việt"
    result = clean_text(text)
    assert result.text == text
    assert result.warnings == []


def test_decomposed_accents_are_composed():
    result = clean_text("Cafe\u0301 nin\u0303o")
    assert result.text == "Café niño"
    assert result.warnings == []


def test_nfkc_full_width_and_ligatures():
    assert clean_text("Ｈｅｌｌｏ　Ｗｏｒｌｄ１２３").text == "Hello World123"
    assert clean_text("ﬁne ﬂour ﬀ").text == "fine flour ff"
    assert clean_text("x² ½ №5").text == "x2 1⁄2 No5"


@pytest.mark.parametrize(
    "text",
    [
        "<b>hi</b> &amp; <i>there</i>",
        '<a href="http://x.y/?a=1&b=2">link</a> &lt;&gt;&#39;',
        "<<<>>>&&&;;;",
        "<script>alert('x')</script>",
        "\ufffd\ufffe\uffff\ud7ff",
        "".join(chr(i) for i in range(0, 0x3000, 7)),
    ],
)
def test_odd_input_never_crashes(text):
    result = clean_text(text)
    assert isinstance(result.text, str)
    assert result.text == result.text.strip()
    assert "  " not in result.text


def test_tag_soup_keeps_words():
    assert "hi" in clean_text("<b>hi</b> &amp;").text


def test_lone_surrogate_is_dropped():
    result = clean_text("ok\ud800 then")
    assert result.text == "ok then"
    assert result.warnings == ["skipped 1 invalid or unassigned characters"]


def test_empty_and_blank():
    assert clean_text("").text == ""
    assert clean_text(" \n\t ").text == ""
    assert clean_text("😀😀").text == ""


@pytest.mark.parametrize(
    ("voice", "latin"),
    [
        ("en-us", True),
        ("es", True),
        ("de", True),
        ("vi", True),
        ("ru", False),
        ("cmn", False),
        ("ar", False),
    ],
)
def test_is_latin_voice(voice, latin):
    assert is_latin_voice(voice) is latin


# --------------------------------------------------------------------------- split_sentences


def test_split_basic_sentences():
    text = 'Hello there. How are you? I\'m fine! "Really?" she asked… Yes.'
    assert list(split_sentences(text)) == [
        "Hello there.",
        "How are you?",
        "I'm fine!",
        '"Really?" she asked…',  # a lowercase word continues the sentence
        "Yes.",
    ]


def test_split_paragraphs_without_punctuation():
    text = "A heading\n\nFirst paragraph line\n   \nSecond one"
    assert list(split_sentences(text)) == ["A heading", "First paragraph line", "Second one"]


def test_split_is_lazy_generator():
    pieces = split_sentences("One. Two. Three.")
    assert isinstance(pieces, collections.abc.Iterator)
    assert next(pieces) == "One."


@pytest.mark.parametrize(
    "unit",
    [
        "The quick brown fox jumps over the lazy dog. ",
        "the quick brown fox jumps over the lazy dog ",  # no punctuation at all
        "x" * 997 + " ",  # enormous words
    ],
)
def test_split_megabyte_is_lazy(unit):
    text = unit * (1_000_000 // len(unit))
    tracemalloc.start()
    try:
        start = time.perf_counter()
        pieces = split_sentences(text)
        first = list(itertools.islice(pieces, 3))
        elapsed = time.perf_counter() - start
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(first) == 3
    assert elapsed < 0.5, f"first pieces took {elapsed:.2f} s"
    # at most a copy or two of the text, never one per piece or a list of all pieces
    assert peak < 3 * len(text), f"peak {peak / 1e6:.1f} MB"
    assert all(0 < len(p) <= MAX_PIECE_CHARS for p in first)


def test_long_unpunctuated_text_splits_at_word_boundaries():
    rng = random.Random(3)
    words = [
        "".join(rng.choice("abcdefghij") for _ in range(rng.randint(1, 12))) for _ in range(2000)
    ]
    text = " ".join(words)
    pieces = list(split_sentences(text))
    assert len(pieces) > 1
    assert all(len(p) <= MAX_PIECE_CHARS for p in pieces)
    # every cut is between words: the words come back exactly
    assert " ".join(pieces).split() == words
    assert all(p == p.strip() for p in pieces)
    # pieces are reasonably full (no degenerate tiny cuts)
    assert all(len(p) > MAX_PIECE_CHARS // 2 for p in pieces[:-1])


def test_long_sentence_prefers_clause_breaks():
    clause = "and then we walked a little further along the river bank"
    text = ", ".join([clause] * 20) + "."
    pieces = list(split_sentences(text))
    assert len(pieces) > 1
    assert all(len(p) <= MAX_PIECE_CHARS for p in pieces)
    assert all(p.endswith(",") for p in pieces[:-1])
    assert " ".join(pieces).split() == text.split()


def test_enormous_word_is_cut_anyway():
    word = "a" * 1000
    pieces = list(split_sentences(f"Start. {word} end."))
    assert pieces[0] == "Start."
    assert all(len(p) <= MAX_PIECE_CHARS for p in pieces)
    assert pieces[1:] == ["a" * MAX_PIECE_CHARS] * 3 + ["a" * 100 + " end."]


@pytest.mark.parametrize("max_chars", [20, 80, MAX_PIECE_CHARS])
def test_split_never_loses_text_and_respects_limit(max_chars):
    rng = random.Random(max_chars)
    vocab = [
        "word",
        "Dr.",
        "e.g.",
        "U.S.A.",
        "it's",
        "(aside)",
        '"quoted."',
        "3.14",
        "—",
        "well,",
        "so;",
        "wow!",
        "what?",
        "hmm…",
        "ok...",
        "'single'",
        "end.)",
        "x" * 350,
        "über",
        "naïve",
    ]
    seps = [" ", " ", " ", "\n", "\n\n", "\t", "  \n \n"]
    for _ in range(30):
        n = rng.randint(1, 200)
        text = "".join(rng.choice(vocab) + rng.choice(seps) for _ in range(n))
        pieces = list(split_sentences(text, max_chars=max_chars))
        assert all(0 < len(p) <= max_chars for p in pieces)
        assert all(p == p.strip() for p in pieces)
        assert _no_space("".join(pieces)) == _no_space(text)
        if max_chars >= 350:  # no word longer than a piece: words come back whole
            assert " ".join(pieces).split() == text.split()


def test_normal_prose_keeps_every_word():
    text = (
        "Mr. and Mrs. Dursley, of number four, Privet Drive, were proud to say that they were "
        "perfectly normal, thank you very much. They were the last people you'd expect to be "
        "involved in anything strange or mysterious, because they just didn't hold with such "
        "nonsense.\n\nMr. Dursley was the director of a firm called Grunnings, which made drills. "
        "He was a big, beefy man with hardly any neck, although he did have a very large "
        "mustache; Mrs. Dursley was thin and blonde and had nearly twice the usual amount of "
        "neck, which came in very useful as she spent so much of her time craning over garden "
        "fences, spying on the neighbors and the quiet, ordinary life they led from morning until "
        "night without a single pause for breath or punctuation "
        "of any kind whatsoever in this rather long clause here"
    )
    pieces = list(split_sentences(text))
    assert " ".join(pieces).split() == text.split()
    assert all(len(p) <= MAX_PIECE_CHARS for p in pieces)


@pytest.mark.parametrize(
    "text",
    [
        "Dr. Smith met Mr. Jones at 5 p.m. on Jan. 3rd, i.e. today. See e.g. U.S.A. etc.",
        "...",
        "?!?!",
        ". . .",
        "a.b.c.d.e.f",
        "Version 3.14.15 of v.2.0 ships.",
        "“Quoted,” he said. ‘Single.’ (Parenthetical.) [Bracketed!]",
        "",
        "   \n\n   ",
    ],
)
def test_abbreviations_and_punctuation_do_not_crash(text):
    pieces = list(split_sentences(text))
    assert all(p and p == p.strip() for p in pieces)
    assert _no_space("".join(pieces)) == _no_space(text)


def test_invisible_format_characters_vanish_without_a_space():
    result = clean_text("co\u00adoperate\u200d and re\u200bad")
    assert result.text == "cooperate and read" and result.warnings == []


def test_symbols_espeak_can_read_are_kept():
    assert clean_text("It is 5°C © 2026").text == "It is 5°C © 2026"


@pytest.mark.parametrize(
    "text, pieces",
    [
        ("Mr. Smith is here. He waved.", ["Mr. Smith is here.", "He waved."]),
        ("We met J. R. Doe today. Fine.", ["We met J. R. Doe today.", "Fine."]),
        ("Bring fruit, e.g. apples. Thanks.", ["Bring fruit, e.g. apples.", "Thanks."]),
        ("I said no. Then I left.", ["I said no.", "Then I left."]),
        ("We met at 5 p.m. It was late.", ["We met at 5 p.m.", "It was late."]),
        ("We met at 5 p.m. today. Fine.", ["We met at 5 p.m. today.", "Fine."]),
        ("One.\r\n\r\nTwo", ["One.", "Two"]),
        ("First para\r\n\r\nSecond para", ["First para", "Second para"]),
    ],
)
def test_abbreviations_and_initials_do_not_end_a_sentence(text, pieces):
    assert list(split_sentences(text)) == pieces
