"""Inline speech markup (the SSML subset): each element and attribute form becomes the runs and
breaks it should; plain text is never touched; every refusal names what and where (line and
column of the offending "<"); hostile documents are refused before anything is expanded; and
the say-as expansions are checked against what espeak-ng actually says."""

from __future__ import annotations

import math
import pickle

import pytest

from voicestudio.errors import InputTextError
from voicestudio.text.markup import (
    MAX_DEPTH,
    MAX_ELEMENTS,
    MAX_MARKUP_CHARS,
    Break,
    MarkupDocument,
    MarkupError,
    Run,
    is_markup,
    parse_markup,
    plain_document,
    read_document,
)
from voicestudio.text.markup_values import (
    BREAK_STRENGTH_SECONDS,
    EMPHASIS_STYLES,
    MAX_BREAK_SECONDS,
    MAX_PHONEME_CHARS,
    PITCH_ST_LIMIT,
    RATE_MAX,
    VOLUME_DB_MAX,
    SpanStyle,
)
from voicestudio.text.phonemize import phonemize
from voicestudio.text.say_as import cardinal_words, ordinal_words, year_words

NEUTRAL = SpanStyle()
LANG = "en-us"


def speak(body: str) -> tuple:
    return parse_markup(f"<speak>{body}</speak>").pieces


def only_run(body: str) -> Run:
    runs = [p for p in speak(body) if isinstance(p, Run)]
    assert len(runs) == 1, runs
    return runs[0]


def styled(body: str) -> SpanStyle:
    return only_run(body).style


def refused(text: str, *, markup: bool | None = True) -> MarkupError:
    with pytest.raises(MarkupError) as caught:
        read_document(text, markup=markup)
    return caught.value


def said(text: str) -> str:
    """What espeak says for ``text``: its phonemes, sentences joined."""
    return " | ".join("".join(sentence) for sentence in phonemize(text, LANG))


# --- detection, plain text, fragments --------------------------------------------------------


@pytest.mark.parametrize("text", [
    "<speak>Hi</speak>",
    "  \n\t<speak version='1.1' xml:lang='en-US'>Hi</speak>",
    "\ufeff<speak>Hi</speak>",
    "<?xml version='1.0' encoding='UTF-8'?>\n<speak>Hi</speak>",
    "\ufeff <?xml version=\"1.0\"?><speak/>",
    "<speak\n>Hi</speak>",
    "<!DOCTYPE speak PUBLIC '-//W3C//DTD SYNTHESIS 1.0//EN' 'synthesis.dtd'><speak/>",
])
def test_a_document_starting_with_speak_is_markup(text):
    assert is_markup(text)


@pytest.mark.parametrize("text", [
    "Hello there",
    "", "   ",
    "<speaker>Bob</speaker>",
    "I said <speak>hi</speak>",
    "<emphasis>hi</emphasis>",
    "<?xml-stylesheet href='a'?><speak/>",
    "<!DOCTYPE html><html></html>",
    "5 < 6 & <speak",
])
def test_anything_else_is_plain_text(text):
    assert not is_markup(text)


def test_plain_text_is_one_neutral_run_untouched():
    text = "  Tom & Jerry <3  say 5 < 6\n\nand <break time='1s'/> too  "
    for doc in (read_document(text), read_document(text, markup=False), plain_document(text)):
        assert doc.pieces == (Run(text),)
        assert doc.text == text
    assert read_document("").pieces == ()


def test_markup_false_reads_even_a_speak_document_as_text():
    text = "<speak>Hi <break/></speak>"
    assert read_document(text, markup=False).pieces == (Run(text),)
    assert read_document(text).pieces == (Run("Hi"), Break(0.4))  # detected


def test_a_fragment_is_read_as_if_wrapped_in_speak_when_markup_is_asked_for():
    doc = read_document("Hello <break time='1s'/> there", markup=True)
    assert doc.pieces == (Run("Hello "), Break(1.0), Run("there"))
    assert doc.text == "Hello there"
    assert read_document("", markup=True).pieces == ()
    # A whole document is not wrapped a second time.
    assert read_document("<speak>Hi</speak>", markup=True).pieces == (Run("Hi"),)


def test_positions_in_a_fragment_are_the_fragment_s_own():
    err = refused("Hello <voice>x</voice>")
    assert (err.line, err.column) == (1, 7)
    err = refused("Hello\n  <audio src='a.wav'/>")
    assert (err.line, err.column) == (2, 3)
    err = refused("Hello <emphasis>there")
    assert (err.line, err.column) == (1, 7)
    assert "unclosed <emphasis>" in err.reason and "</speak>" not in err.reason


def test_parse_markup_insists_on_a_speak_root():
    with pytest.raises(MarkupError) as caught:
        parse_markup("<emphasis>hi</emphasis>")
    assert (caught.value.line, caught.value.column) == (1, 1)
    assert "<speak>" in caught.value.reason
    with pytest.raises(MarkupError, match="must start with <speak>"):
        parse_markup("Hello <speak/>")
    with pytest.raises(MarkupError, match="empty"):
        parse_markup("   ")


# --- text, whitespace, entities --------------------------------------------------------------


def test_whitespace_collapses_and_runs_keep_their_edge_spaces():
    doc = parse_markup("<speak>\n  Hello\n\t world  <emphasis> big </emphasis>  end\n</speak>")
    assert [p.text for p in doc.pieces] == ["Hello world ", "big ", "end"]
    assert doc.text == "Hello world big end"


def test_spaces_around_a_break_do_not_double():
    doc = parse_markup("<speak>One. <break strength='weak'/> Two <break/> <break/> </speak>")
    assert doc.pieces == (Run("One. "), Break(0.2), Run("Two"), Break(0.8))
    assert doc.text == "One. Two"
    assert speak("a<break/> <break/>b") == (Run("a"), Break(0.8), Run("b"))
    assert speak(" <break/> ") == (Break(0.4),)


def test_neighbouring_runs_of_one_style_merge():
    doc = parse_markup("<speak>a<prosody rate='100%'>b</prosody><emphasis level='none'>c"
                       "</emphasis></speak>")
    assert doc.pieces == (Run("abc"),)


def test_predefined_entities_and_character_references_are_read():
    run = only_run("&amp; &lt; &gt; &quot; &apos; &#233; &#x263A; <![CDATA[<raw> & co]]>")
    assert run.text == "& < > \" ' é ☺ <raw> & co"


def test_comments_and_processing_instructions_are_skipped():
    assert speak("a<!-- not said -->b<?pi ignored?>c") == (Run("abc"),)


def test_speak_attributes_and_namespace_declarations_are_ignored():
    doc = parse_markup(
        '<?xml version="1.0" encoding="ISO-8859-1"?>\n'
        '<speak version="1.1" xmlns="http://www.w3.org/2001/10/synthesis" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xsi:schemaLocation="http://www.w3.org/2001/10/synthesis synthesis.xsd" '
        'xml:lang="en-US">Hi</speak>')
    assert doc.pieces == (Run("Hi"),)


# --- break -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("attributes", "seconds"), [
    ("time='500ms'", 0.5), ("time='1.5s'", 1.5), ("time='2s'", 2.0), ("time=' 250 ms '", 0.25),
    ("time='.5s'", 0.5), ("time='10s'", MAX_BREAK_SECONDS), ("", BREAK_STRENGTH_SECONDS["medium"]),
    ("time='300ms' strength='x-strong'", 0.3),  # time wins
    *[(f"strength='{name}'", value) for name, value in BREAK_STRENGTH_SECONDS.items() if value],
])
def test_break_forms(attributes, seconds):
    assert speak(f"a<break {attributes}/>b") == (Run("a"), Break(seconds), Run("b"))


def test_the_strength_table_is_the_suggested_one():
    assert BREAK_STRENGTH_SECONDS == {"none": 0.0, "x-weak": 0.1, "weak": 0.2, "medium": 0.4,
                                      "strong": 0.7, "x-strong": 1.0}


def test_a_silent_break_is_dropped_and_neighbouring_breaks_add_up():
    assert speak("a<break strength='none'/>b") == (Run("ab"),)
    assert speak("a<break time='0ms'/>b") == (Run("ab"),)
    assert speak("a<break time='1s'/><break time='250ms'/>b") == (Run("a"), Break(1.25),
                                                                   Run("b"))


@pytest.mark.parametrize(("element", "words"), [
    ("<break time='-1s'/>", "negative"),
    ("<break time='1'/>", "not a duration"),
    ("<break time='1 sec'/>", "not a duration"),
    ("<break time='10.5s'/>", "longest break"),
    ("<break time='20000ms'/>", "longest break"),
    ("<break strength='huge'/>", "x-weak"),
    ("<break duration='1s'/>", "'duration'"),
    ("<break>now</break>", "must be empty"),
])
def test_bad_breaks_are_refused_at_the_break(element, words):
    err = refused(f"<speak>\nSay  {element} it</speak>")
    assert (err.line, err.column) == (2, 6)
    assert words in err.reason


def test_an_element_inside_a_break_is_refused_where_it_stands():
    err = refused("<speak><break><emphasis>x</emphasis></break></speak>")
    assert (err.line, err.column) == (1, 15)
    assert "<break> must be empty" in err.reason


# --- emphasis, prosody, nesting --------------------------------------------------------------


def test_emphasis_levels_come_from_the_table_moderate_by_default():
    for level, style in EMPHASIS_STYLES.items():
        assert styled(f"<emphasis level='{level}'>word</emphasis>") == style
    assert styled("<emphasis>word</emphasis>") == EMPHASIS_STYLES["moderate"]


def test_the_emphasis_table_is_the_suggested_one():
    suggested = {
        "strong": SpanStyle(rate=0.85, pitch_st=3.0, volume_db=4.0),
        "moderate": SpanStyle(rate=0.92, pitch_st=2.0, volume_db=2.5),
        "none": SpanStyle(),
        "reduced": SpanStyle(rate=1.1, pitch_st=-1.5, volume_db=-3.0),
    }
    assert suggested == EMPHASIS_STYLES


def test_emphasis_raises_pitch_and_energy_and_reduced_lowers_them():
    strong, moderate = EMPHASIS_STYLES["strong"], EMPHASIS_STYLES["moderate"]
    reduced = EMPHASIS_STYLES["reduced"]
    assert strong.pitch_st > moderate.pitch_st > 0 and strong.volume_db > moderate.volume_db > 0
    assert strong.rate < moderate.rate < 1.0
    assert reduced.pitch_st < 0 and reduced.volume_db < 0 and reduced.rate > 1.0
    assert EMPHASIS_STYLES["none"].neutral


@pytest.mark.parametrize(("rate", "expected"), [
    ("x-slow", 0.6), ("slow", 0.8), ("medium", 1.0), ("fast", 1.25), ("x-fast", 1.5),
    ("default", 1.0), ("80%", 0.8), ("150%", 1.5), ("+20%", 1.2), ("-10%", 0.9), ("1.2", 1.2),
    ("0.5", 0.5), ("2", 2.0), ("FAST", 1.25),
])
def test_prosody_rate_forms(rate, expected):
    assert styled(f"<prosody rate='{rate}'>w</prosody>") == SpanStyle(rate=pytest.approx(expected))


@pytest.mark.parametrize(("pitch", "expected"), [
    ("+4st", 4.0), ("-2.5st", -2.5), ("3st", 3.0), ("+10%", 12 * math.log2(1.1)),
    ("-20%", 12 * math.log2(0.8)), ("x-low", -6.0), ("low", -3.0), ("medium", 0.0),
    ("high", 3.0), ("x-high", 6.0), ("default", 0.0), ("+12st", 12.0),
])
def test_prosody_pitch_forms(pitch, expected):
    style = styled(f"<prosody pitch='{pitch}'>w</prosody>")
    assert style.pitch_st == pytest.approx(expected) and style.rate == 1.0


@pytest.mark.parametrize(("volume", "expected"), [
    ("+6dB", 6.0), ("-3dB", -3.0), ("-3.5db", -3.5), ("x-soft", -12.0), ("soft", -6.0),
    ("medium", 0.0), ("loud", 4.0), ("x-loud", 8.0), ("default", 0.0), ("-30dB", -30.0),
])
def test_prosody_volume_forms(volume, expected):
    assert styled(f"<prosody volume='{volume}'>w</prosody>") == SpanStyle(volume_db=expected)


def test_prosody_takes_all_three_at_once():
    style = styled("<prosody rate='slow' pitch='+2st' volume='-6dB'>w</prosody>")
    assert style == SpanStyle(rate=0.8, pitch_st=2.0, volume_db=-6.0)


@pytest.mark.parametrize(("attributes", "words"), [
    ("rate='3'", "0.5× to 2×"), ("rate='40%'", "0.5× to 2×"), ("rate='+150%'", "0.5× to 2×"),
    ("rate='fast-ish'", "not a rate"), ("rate='-1'", "not a rate"),
    ("pitch='200Hz'", "semitones"), ("pitch='+20Hz'", "Hz is not supported"),
    ("pitch='+13st'", "±12"), ("pitch='-100%'", "±12"), ("pitch='up'", "not a pitch"),
    ("pitch='50%'", "not a pitch"),
    ("volume='silent'", "silent"), ("volume='+13dB'", "-30 dB to +12 dB"),
    ("volume='-40dB'", "-30 dB to +12 dB"), ("volume='+10%'", "not a volume"),
    ("", "needs at least one of: pitch, rate, volume"),
    ("contour='(0%,+20Hz)'", "<prosody> has no attribute 'contour'"),
    ("rate='slow' duration='2s'", "'duration'"),
])
def test_bad_prosody_is_refused_at_the_element(attributes, words):
    err = refused(f"<speak>Well,\n\n   <prosody {attributes}>w</prosody></speak>")
    assert (err.line, err.column) == (3, 4)
    assert words in err.reason


def test_bad_emphasis_is_refused():
    err = refused("<speak><emphasis level='loud'>w</emphasis></speak>")
    assert (err.line, err.column) == (1, 8) and "strong, moderate, none, reduced" in err.reason
    err = refused("<speak><emphasis rate='1'>w</emphasis></speak>")
    assert "'rate'" in err.reason and "level" in err.reason


def test_nested_spans_combine():
    doc = parse_markup("<speak><prosody rate='slow' pitch='+2st' volume='-6dB'>a <emphasis "
                       "level='strong'>b</emphasis></prosody> c</speak>")
    strong = EMPHASIS_STYLES["strong"]
    assert doc.pieces == (
        Run("a ", SpanStyle(0.8, 2.0, -6.0)),
        Run("b", SpanStyle(0.8 * strong.rate, 2.0 + strong.pitch_st, -6.0 + strong.volume_db)),
        Run(" c"),
    )


def test_nesting_is_clamped_to_the_limits():
    style = styled("<prosody rate='2' pitch='+12st' volume='+12dB'><prosody rate='1.5' "
                   "pitch='+4st' volume='+8dB'>w</prosody></prosody>")
    assert style == SpanStyle(RATE_MAX, PITCH_ST_LIMIT, VOLUME_DB_MAX)
    assert SpanStyle(0.6, -10, -25).combined(SpanStyle(0.5, -5, -10)) == SpanStyle(0.5, -12, -30)


def test_span_style_neutral_and_combined():
    assert SpanStyle().neutral and not SpanStyle(rate=1.1).neutral
    assert not SpanStyle(pitch_st=0.5).neutral and not SpanStyle(volume_db=-1).neutral
    outer = SpanStyle(1.25, 2.0, 3.0)
    assert outer.combined(SpanStyle()) == outer
    assert outer.combined(SpanStyle(0.8, -1.0, 1.0)) == SpanStyle(1.0, 1.0, 4.0)


# --- phoneme, sub ----------------------------------------------------------------------------


def test_phoneme_speaks_its_phonemes_and_shows_its_word():
    for attributes in ("alphabet='ipa' ph='təˈmɑːtoʊ'", "ph=' təˈmɑːtoʊ '", "alphabet='IPA' "
                       "ph='təˈmɑːtoʊ'"):
        doc = parse_markup(f"<speak>a <phoneme {attributes}> tomato </phoneme>!</speak>")
        assert doc.pieces == (Run("a "), Run("tomato", phonemes="təˈmɑːtoʊ"), Run("!"))
        assert doc.text == "a tomato!" == doc.written_text


@pytest.mark.parametrize(("element", "words"), [
    ("<phoneme alphabet='x-sampa' ph='t@'>the</phoneme>", "IPA"),
    ("<phoneme ph=''>the</phoneme>", "needs ph"),
    ("<phoneme>the</phoneme>", "needs ph"),
    (f"<phoneme ph='{'a' * (MAX_PHONEME_CHARS + 1)}'>the</phoneme>", "longer than 200"),
    ("<phoneme ph='ðə'> </phoneme>", "written word"),
    ("<phoneme ph='ðə' lang='en'>the</phoneme>", "'lang'"),
    ("<sub alias=''>WWW</sub>", "needs alias"),
    ("<sub>WWW</sub>", "needs alias"),
    ("<sub alias='x' ph='y'>WWW</sub>", "'ph'"),
])
def test_bad_phonemes_and_subs_are_refused_at_the_element(element, words):
    err = refused(f"<speak>\n\t{element}</speak>")
    assert (err.line, err.column) == (2, 2)
    assert words in err.reason


def test_phoneme_ph_at_the_limit_is_accepted():
    assert only_run(f"<phoneme ph='{'a' * MAX_PHONEME_CHARS}'>x</phoneme>").phonemes


@pytest.mark.parametrize("outer", ["phoneme ph='ðə'", "sub alias='x'",
                                   "say-as interpret-as='cardinal'"])
def test_text_only_elements_refuse_elements_inside(outer):
    name = outer.split()[0]
    err = refused(f"<speak><{outer}>1 <emphasis>2</emphasis></{name}></speak>")
    assert (err.line, err.column) == (1, 12 + len(outer))
    assert f"<{name}> may hold only text, not <emphasis>" in err.reason


def test_sub_speaks_its_alias_and_shows_what_is_written():
    doc = parse_markup("<speak>Visit the <sub alias='World  Wide\nWeb'>WWW</sub> today</speak>")
    assert doc.pieces == (Run("Visit the "), Run("World Wide Web", written="WWW"), Run(" today"))
    assert doc.text == "Visit the World Wide Web today"
    assert doc.written_text == "Visit the WWW today"
    assert only_run("<sub alias='same'>same</sub>").written is None


def test_a_break_separates_the_written_words_around_it():
    """Dub stems and subtitles are named from written_text: "VTT" and "please" stay apart."""
    doc = parse_markup("<speak><say-as interpret-as='characters'>VTT</say-as>"
                       "<break time='300ms'/>please</speak>")
    assert doc.written_text.split() == ["VTT", "please"]
    assert parse_markup("<speak>Hello<break/>, world.</speak>").written_text == "Hello, world."
    assert parse_markup("<speak>Wait <break/> now</speak>").written_text == "Wait now"


def test_runs_keep_the_style_they_sit_in():
    run = only_run("<emphasis level='strong'><sub alias='Doctor'>Dr.</sub></emphasis>")
    assert run == Run("Doctor", EMPHASIS_STYLES["strong"], written="Dr.")


# --- say-as, against what espeak says --------------------------------------------------------


def say_as(interpret_as: str, content: str, extra: str = "") -> Run:
    return only_run(f"<say-as interpret-as='{interpret_as}'{extra}>{content}</say-as>")


@pytest.mark.parametrize("kind", ["characters", "spell-out"])
def test_characters_are_spoken_as_letter_names(kind):
    run = say_as(kind, "abc")
    assert run.text == "A, B, C" and run.written == "abc"
    assert said(run.text) == "ˈeɪ, bˈiː, sˈiː"
    # Why commas: with spaces espeak reads "A" as the article, and "ABC" as one word.
    assert said("A B C").startswith("ɐ ") and said(run.text).startswith("ˈeɪ")


def test_every_spelled_letter_is_its_name():
    run = say_as("characters", "Nasa 4 U")
    assert run.text == "N, A, S, A, 4, U"
    names = [said(ch) for ch in "NASA4U"]
    assert said(run.text) == ", ".join(names)


@pytest.mark.parametrize("kind", ["cardinal", "number"])
def test_cardinals_are_read_as_quantities(kind):
    assert say_as(kind, "1,234").text == "1234"
    assert said("1234") == "wˈʌn θˈaʊzənd tˈuːhˈʌndɹɪd θˈɜːɾi fˈɔːɹ"
    assert say_as(kind, "-3.5").text == "-3.5" and said("-3.5") == "mˈaɪnəs θɹˈiː pɔɪnt fˈaɪv"
    assert say_as(kind, "007").text == "7"
    assert say_as(kind, "1234").written is None  # said as written


def test_ordinals_say_what_espeak_says_for_the_word():
    assert said(say_as("ordinal", "3").text) == said("third") == said("3rd")
    assert say_as("ordinal", "21st").text == "twenty-first"
    assert said(say_as("ordinal", "22").text) == said("twenty-second")
    # Spelled out because espeak misreads "100th" as "one hundred th".
    hundredth = say_as("ordinal", "100").text
    assert hundredth == "one hundredth"
    assert said(hundredth).endswith("hˈʌndɹədθ") and said("100th").endswith("hˈʌndɹɪd θ")
    assert say_as("ordinal", "3").written == "3"


def test_number_words():
    assert cardinal_words(0) == "zero" and cardinal_words(15) == "fifteen"
    assert cardinal_words(1_002_003) == "one million two thousand three"
    assert cardinal_words(999_999_999_999_999).startswith("nine hundred ninety-nine trillion")
    assert [ordinal_words(n) for n in (1, 2, 3, 5, 8, 9, 11, 12, 13, 20, 40, 101, 1000)] == [
        "first", "second", "third", "fifth", "eighth", "ninth", "eleventh", "twelfth",
        "thirteenth", "twentieth", "fortieth", "one hundred first", "one thousandth"]
    assert [year_words(y) for y in (2026, 1999, 1905, 1900, 2000, 2005, 2010, 476, 1000)] == [
        "twenty twenty-six", "nineteen ninety-nine", "nineteen oh five", "nineteen hundred",
        "two thousand", "two thousand five", "twenty ten", "four hundred seventy-six",
        "one thousand"]


@pytest.mark.parametrize(("content", "date_format", "expected"), [
    ("2026-12-06", None, "December sixth, twenty twenty-six"),
    ("2026/12/6", "ymd", "December sixth, twenty twenty-six"),
    ("12/06/2026", "mdy", "December sixth, twenty twenty-six"),
    ("06.12.2026", "dmy", "December sixth, twenty twenty-six"),
    ("12-06", "md", "December sixth"),
    ("6/12", "dm", "December sixth"),
    ("2026-12", "ym", "December twenty twenty-six"),
    ("12/2026", "my", "December twenty twenty-six"),
    ("1999", "y", "nineteen ninety-nine"),
    ("7", "m", "July"),
    ("31", "d", "thirty-first"),
    ("2024-02-29", None, "February twenty-ninth, twenty twenty-four"),
    ("02-29", "md", "February twenty-ninth"),
])
def test_dates_are_read_in_words(content, date_format, expected):
    extra = f" format='{date_format}'" if date_format else ""
    run = say_as("date", content, extra)
    assert run.text == expected and run.written == content


def test_espeak_reads_the_date_words_as_a_date():
    run = say_as("date", "2026-12-06")
    assert said(run.text) == "dᵻsˈɛmbɚ sˈɪksθ, twˈɛnti twˈɛntisˈɪks"
    assert said("sixth") in said(run.text)


@pytest.mark.parametrize(("content", "extra", "words"), [
    ("2026-13-01", "", "month must be 1 to 12"),
    ("2026-02-29", "", "day must be 1 to 28"),
    ("2026-04-31", "", "day must be 1 to 30"),
    ("2026-12-00", "", "day must be 1 to 31"),
    ("0000-01-01", "", "no year 0"),
    ("12/06", "", "format 'ymd'"),
    ("2026-Dec-06", "", "format 'ymd'"),
    ("20260-12-06", "", "too many digits"),
    ("2026-12-06", " format='iso'", "not a date format"),
])
def test_impossible_dates_are_refused(content, extra, words):
    err = refused(f"<speak>On <say-as interpret-as='date'{extra}>{content}</say-as></speak>")
    assert (err.line, err.column) == (1, 11)
    assert words in err.reason


def test_telephone_digits_are_spoken_one_by_one_in_groups():
    run = say_as("telephone", "555-0123")
    assert run.text == "5 5 5, 0 1 2 3" and run.written == "555-0123"
    assert said(run.text) == said("five five five, zero one two three")
    assert say_as("telephone", "+1 (555) 010.0123").text == "plus 1, 5 5 5, 0 1 0, 0 1 2 3"


@pytest.mark.parametrize(("interpret_as", "content", "words"), [
    ("telephone", "555-CALL", "not a phone number"),
    ("telephone", "--", "not a phone number"),
    ("cardinal", "twelve", "not a number"),
    ("cardinal", "1,23", "not a number"),
    ("number", "1" * 16, "more than 15 digits"),
    ("ordinal", "3.5", "not an ordinal"),
    ("ordinal", "-3", "not an ordinal"),
    ("ordinal", "3th", "write 3rd"),
    ("characters", "  ", "nothing inside"),
    ("currency", "$5", "characters, spell-out, cardinal, number, ordinal, date, telephone"),
])
def test_say_as_refuses_what_it_cannot_read(interpret_as, content, words):
    err = refused(f"<speak>\n <say-as interpret-as='{interpret_as}'>{content}</say-as></speak>")
    assert (err.line, err.column) == (2, 2)
    assert words in err.reason


def test_say_as_attributes_are_checked():
    err = refused("<speak><say-as>5</say-as></speak>")
    assert "needs interpret-as" in err.reason and err.column == 8
    err = refused("<speak><say-as interpret-as='cardinal' format='ymd'>5</say-as></speak>")
    assert "format applies only to interpret-as='date'" in err.reason
    err = refused("<speak><say-as interpret-as='cardinal' detail='2'>5</say-as></speak>")
    assert "'detail'" in err.reason


# --- refusals: elements, syntax, positions ---------------------------------------------------


@pytest.mark.parametrize("name", ["voice", "audio", "mark", "p", "s", "lang", "ssml:break"])
def test_unsupported_elements_are_refused_with_the_supported_list(name):
    err = refused(f"<speak>Hi\n    <{name}>there</{name}></speak>")
    assert (err.line, err.column) == (2, 5)
    assert f"<{name}> is not supported" in err.reason
    for supported in ("<speak>", "<break>", "<emphasis>", "<prosody>", "<phoneme>", "<sub>",
                      "<say-as>"):
        assert supported in err.reason
    assert str(err) == f"line 2, column 5: {err.reason}"


def test_an_empty_unsupported_element_is_refused_too():
    err = refused("<speak>a <mark name='here'/> b</speak>")
    assert (err.line, err.column) == (1, 10) and "<mark>" in err.reason


def test_columns_count_characters_not_bytes():
    err = refused("<speak>héllo 😀 wörld <voice/></speak>")
    assert (err.line, err.column) == (1, 22)
    err = refused("<speak>\r\nline two\r\n  é<voice/></speak>")
    assert (err.line, err.column) == (3, 4)


@pytest.mark.parametrize(("text", "line", "column", "words"), [
    ("<speak>\n  <emphasis>hi</prosody></speak>", 2, 15,
     "</prosody> does not close <emphasis> (opened at line 2, column 3)"),
    ("<speak>\n  <emphasis>hi\n</speak>", 2, 3, "unclosed <emphasis>: it needs a </emphasis> "
     "before </speak>"),
    ("<speak>\n<prosody rate='slow'>hi", 2, 1, "unclosed <prosody>"),
    ("<speak><break time=1s/></speak>", 1, 20, "quote attribute values"),
    ("<speak><break time='1s/></speak>", 1, 25, "not well-formed"),  # the "<" in the value
    ("<speak>Tom & Jerry</speak>", 1, 12, "write & as &amp;"),
    ("<speak>a</speak>\nb", 2, 1, "exactly one <speak> root"),
    ("<speak>a</speak><speak>b</speak>", 1, 17, "exactly one <speak> root"),
    ("<speak>a <speak>b</speak></speak>", 1, 10, "<speak> may only be the root"),
    ("<speak><break time='1s' time='2s'/></speak>", 1, 25, "duplicate attribute"),
    ("<speak>&nbsp;</speak>", 1, 8, "unknown entity"),
    ("<speak><!-- open </speak>", 1, 8, "unfinished"),
    ("", 1, 1, "empty"),
])
def test_syntax_errors_say_what_and_where(text, line, column, words):
    with pytest.raises(MarkupError) as caught:
        parse_markup(text)
    err = caught.value
    assert words in err.reason
    assert (err.line, err.column) == (line, column)


def test_markup_error_is_an_input_text_error_with_its_parts():
    err = MarkupError("what went wrong", 3, 7)
    assert isinstance(err, InputTextError)
    assert str(err) == "line 3, column 7: what went wrong"
    assert (err.reason, err.line, err.column) == ("what went wrong", 3, 7)
    copy = pickle.loads(pickle.dumps(err))
    assert (str(copy), copy.line, copy.column) == (str(err), 3, 7)


def test_an_error_late_in_the_document_returns_nothing():
    with pytest.raises(MarkupError):
        parse_markup("<speak>" + "Fine words. " * 100 + "<voice/></speak>")


# --- hardening -------------------------------------------------------------------------------

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE speak [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<speak>&lol9;</speak>
"""


def test_billion_laughs_is_refused_before_anything_expands():
    # Refused at the DOCTYPE, before a single entity is declared: nothing can expand. It is
    # detected as markup (a DOCTYPE naming speak), so it is refused rather than read aloud.
    assert is_markup(BILLION_LAUGHS)
    for markup in (None, True):
        err = refused(BILLION_LAUGHS, markup=markup)
        assert err.reason == "markup may not declare entities or a DTD"
        assert (err.line, err.column) == (2, 1)


@pytest.mark.parametrize("text", [
    '<!DOCTYPE speak [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><speak>&xxe;</speak>',
    '<!DOCTYPE speak SYSTEM "http://example.com/evil.dtd"><speak>hi</speak>',
    '<!DOCTYPE speak PUBLIC "-//W3C//DTD SYNTHESIS 1.0//EN" "synthesis.dtd"><speak/>',
])
def test_any_dtd_or_external_entity_is_refused(text):
    err = refused(text, markup=None)
    assert err.reason == "markup may not declare entities or a DTD"
    assert (err.line, err.column) == (1, 1)


def test_a_dtd_inside_the_document_is_refused_where_it_stands():
    err = refused("<speak>Hi\n  <!DOCTYPE x [<!ENTITY a 'b'>]>&a;</speak>")
    assert err.reason == "markup may not declare entities or a DTD"
    assert (err.line, err.column) == (2, 3)


def test_an_undeclared_entity_is_not_fetched():
    err = refused("<speak>&xxe;</speak>")
    assert "unknown entity" in err.reason


def test_markup_longer_than_the_limit_is_refused_unread():
    text = "<speak>" + "a" * MAX_MARKUP_CHARS + "</speak>"
    err = refused(text)
    assert "longer than 1,000,000 characters" in err.reason
    assert (err.line, err.column) == (1, MAX_MARKUP_CHARS + 1)
    assert len(parse_markup("<speak>" + "a" * (MAX_MARKUP_CHARS - 15) + "</speak>").text) > 0


def test_nesting_deeper_than_the_limit_is_refused_at_the_element_too_deep():
    def nested(depth: int) -> str:  # <speak> plus depth - 1 prosody levels
        inner = depth - 1
        return ("<speak>" + "<prosody rate='1.01'>" * inner + "x" + "</prosody>" * inner
                + "</speak>")

    assert parse_markup(nested(MAX_DEPTH)).text == "x"
    err = refused(nested(MAX_DEPTH + 1))
    assert f"deeper than {MAX_DEPTH}" in err.reason
    assert (err.line, err.column) == (1, 8 + 21 * (MAX_DEPTH - 1))


def test_more_elements_than_the_limit_are_refused():
    breaks = MAX_ELEMENTS - 1  # and <speak>
    doc = parse_markup("<speak>a" + "<break/>" * breaks + "b</speak>")
    assert doc.pieces[1] == Break(pytest.approx(breaks * BREAK_STRENGTH_SECONDS["medium"]))
    err = refused("<speak>a" + "<break/>" * (breaks + 1) + "b</speak>")
    assert "more than 100,000 elements" in err.reason
    assert (err.line, err.column) == (1, 9 + 8 * breaks)


def test_the_document_type_is_a_plain_value():
    doc = parse_markup("<speak>Hi <break/>there</speak>")
    assert isinstance(doc, MarkupDocument) and doc == parse_markup(
        "<speak>Hi <break strength='medium'/>there</speak>")
    assert hash(doc) == hash(parse_markup("<speak>Hi <break/>there</speak>"))
