"""Dubbing scripts in: every format, every kind of broken file, and big ones (no synthesis here)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from subtitles import srt_text, srt_time

from voicestudio.dubbing.script import (
    MAX_SCRIPT_BYTES,
    DubScriptError,
    load_dub_script,
    parse_dub_script,
    timestamp,
)
from voicestudio.errors import VoiceStudioError


def messages(script) -> list[str]:
    return [w.message for w in script.warnings]


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- formats


def test_srt_cues_keep_times_text_and_source_lines(tmp_path):
    path = write(
        tmp_path,
        "film.srt",
        "1\n00:00:01,237 --> 00:00:02,900\n<i>Hello</i> there,\nmy friend.\n\n"
        "2\n01:02:03,004 --> 01:02:05,000\n{\\an8}Fish &amp; chips!\n",
    )
    script = load_dub_script(path)
    assert script.format == "srt" and script.timed and messages(script) == []
    first, second = script.lines
    assert (first.index, first.line_no, first.start_s, first.end_s) == (1, 2, 1.237, 2.9)
    assert first.text == "Hello there, my friend."  # markup gone, lines joined
    assert (
        second.line_no == 7 and second.start_s == pytest.approx(3723.004) and second.end_s == 3725.0
    )
    # not the file's lines
    assert (first.label, second.label) == ("cue 1 (00:00:01.237)", "cue 2 (01:02:03.004)")
    assert second.text == "Fish & chips!"
    assert first.slot_s == pytest.approx(1.663)
    assert script.end_s == 3725.0


def test_untimed_lines_are_named_by_their_count_and_their_file_line():
    text = parse_dub_script("# a comment\nHello.\n\nBye.\n", "text")
    assert [(ln.unit, ln.label) for ln in text.lines] == [
        ("line", "line 1 (file line 2)"),
        ("line", "line 2 (file line 4)"),
    ]
    assert parse_dub_script("Hello.\n", "text").lines[0].label == "line 1"
    assert timestamp(3723.004) == "01:02:03.004" and timestamp(0.0) == "00:00:00.000"


def test_webvtt_cues_with_identifiers_settings_notes_and_voice_tags(tmp_path):
    text = (
        "WEBVTT - a film\n\nNOTE translated by hand\n\nintro\n00:01.250 --> 00:02.500 align:start\n"
        "<v Bob>Hi &lt;there&gt;</v>\n\n00:00:03.000 --> 00:00:04.125\nSecond line\nwraps here\n"
    )
    script = load_dub_script(write(tmp_path, "film.vtt", text))
    assert script.format == "vtt"
    assert [(ln.start_s, ln.end_s, ln.text, ln.line_no) for ln in script.lines] == [
        (1.25, 2.5, "Hi <there>", 6), (3.0, 4.125, "Second line wraps here", 9)]


def test_csv_with_per_line_overrides_and_tsv(tmp_path):
    csv_path = write(tmp_path, "lines.csv", 'id,text,voice,emotion,intensity,pitch,speed\n'
                                            'a1,"Hello, world",joe,happy,50,2,1.1\n'
                                            'a2,Plain line,,,,,\n\n')
    script = load_dub_script(csv_path)
    assert not script.timed
    one, two = script.lines
    assert (one.clip_id, one.text, one.voice, one.line_no) == ("a1", "Hello, world", "joe", 2)
    assert one.style_overrides() == {
        "emotion": "happy",
        "intensity": 50.0,
        "pitch": 2.0,
        "speed": 1.1,
    }
    assert two.voice is None and two.style_overrides() == {}
    multi = load_dub_script(write(tmp_path, "multi.csv", 'id,text\n1,"Two\nlines"\n\n2,Next\n3,\n'))
    assert [(ln.line_no, ln.text) for ln in multi.lines] == [(2, "Two lines"), (5, "Next")]
    assert messages(multi) == ["line 6: empty text, skipped"]
    tsv = load_dub_script(
        write(tmp_path, "lines.tsv", "text\tstart\tend\tpitch\nGood morning\t1.5\t3\t-1\n")
    )
    assert (
        tsv.timed
        and tsv.lines[0].start_s == 1.5
        and tsv.lines[0].end_s == 3.0
        and tsv.lines[0].pitch == -1.0
    )


def test_plain_text_skips_blanks_and_comments_and_keeps_unicode(tmp_path):
    script = load_dub_script(
        write(
            tmp_path, "lines.txt", "# take 1\nCafé déjà vu.\n\n  Naïve façade — “quoted” 日本語  \n"
        )
    )
    assert [(ln.index, ln.line_no, ln.text) for ln in script.lines] == [
        (1, 2, "Café déjà vu."), (2, 4, "Naïve façade — “quoted” 日本語")]
    assert not script.timed and script.end_s is None


def test_unicode_subtitles_and_utf16_files(tmp_path):
    srt = srt_text([(0.0, 1.0, "Ça va? Très bien — merci."), (1.0, 2.0, "Ελληνικά, русский, 中文")])
    path = write(tmp_path, "u16.srt", srt.encode("utf-16"))
    assert [ln.text for ln in load_dub_script(path).lines] == [
        "Ça va? Très bien — merci.",
        "Ελληνικά, русский, 中文",
    ]
    bom = write(tmp_path, "bom.srt", "\ufeff" + srt)
    assert load_dub_script(bom).lines[0].text.startswith("Ça va")


def test_format_is_sniffed_when_the_name_does_not_say(tmp_path):
    assert load_dub_script(write(tmp_path, "a.sub", srt_text([(0, 1, "Hi")]))).format == "srt"
    assert (
        load_dub_script(write(tmp_path, "b.sub", "WEBVTT\n\n00:00.000 --> 00:01.000\nHi\n")).format
        == "vtt"
    )
    assert load_dub_script(write(tmp_path, "c", "Just a line\n")).format == "text"


# --------------------------------------------------------------------------- timing problems


@pytest.mark.parametrize(
    "name, text, line, fragment",
    [
        (
            "neg.srt",
            "1\n00:00:01,000 --> 00:00:02,000\nok\n\n2\n-00:00:01,000 --> 00:00:03,000\nbad\n",
            6,
            "negative",
        ),
        (
            "rev.srt",
            "1\n00:00:01,000 --> 00:00:02,000\nok\n\n2\n00:00:05,000 --> 00:00:04,000\nbad\n",
            6,
            "before its start",
        ),
        ("zero.srt", "1\n00:00:05,000 --> 00:00:05,000\nzero\n", 2, "at its start"),
        ("neg.vtt", "WEBVTT\n\n-00:01.000 --> 00:02.000\nbad\n", 3, "negative"),
        (
            "rev.vtt",
            "WEBVTT\n\n00:01.000 --> 00:02.000\nok\n\n00:09.000 --> 00:03.000\nbad\n",
            6,
            "before its start",
        ),
        ("rev.csv", "text,start,end\nfine,0,1\nbad,3,2\n", 3, "before its start"),
        ("neg.csv", "text,start,end\nbad,-1,2\n", 2, "negative"),
    ],
)
def test_negative_and_reversed_times_are_errors_naming_the_line(
    tmp_path, name, text, line, fragment
):
    with pytest.raises(DubScriptError) as info:
        load_dub_script(write(tmp_path, name, text))
    message = str(info.value)
    assert f"line {line}:" in message and fragment in message and name in message


def test_overlapping_cues_warn_and_keep_their_own_times(tmp_path):
    script = load_dub_script(
        write(tmp_path, "o.srt", srt_text([(0, 2, "One"), (1.5, 3, "Two"), (3, 4, "Three")]))
    )
    assert [ln.start_s for ln in script.lines] == [0, 1.5, 3]
    assert len(messages(script)) == 1
    assert "line 6:" in messages(script)[0] and "overlap" in messages(script)[0]


def test_cues_out_of_order_are_not_called_overlapping(tmp_path):
    script = load_dub_script(
        write(tmp_path, "o.srt", srt_text([(5, 6, "Late"), (0, 1, "Early"), (0.5, 2, "Over")]))
    )
    # file order kept; placement is by time
    assert [ln.start_s for ln in script.lines] == [5, 0, 0.5]
    assert messages(script) == [
        "line 6: cues are not in time order; every line is placed at its own time",
        "line 10: cue starts at 0.500 s, before the cue at line 6 ends (1.000 s); both are placed "
        "at their own times and overlap",
    ]
    assert script.end_s == 6


def test_empty_cues_are_skipped_with_a_warning(tmp_path):
    text = (
        "1\n00:00:00,000 --> 00:00:01,000\nFirst\n\n2\n00:00:01,000 --> 00:00:02,000\n<i> </i>\n\n"
        "3\n00:00:02,000 --> 00:00:03,000\nThird\n"
    )
    script = load_dub_script(write(tmp_path, "e.srt", text))
    assert [(ln.index, ln.text) for ln in script.lines] == [(1, "First"), (2, "Third")]
    assert messages(script) == ["line 6: empty cue, skipped"]
    csv = load_dub_script(write(tmp_path, "e.csv", "id,text\n1,Hello\n2,\n"))
    assert [ln.text for ln in csv.lines] == ["Hello"] and messages(csv) == [
        "line 3: empty text, skipped"
    ]


def test_text_swallowed_across_a_blank_line_is_flagged(tmp_path):
    """srt reads a block whose number and time were lost as more text of the cue before it."""
    text = ("1\n00:00:01,000 --> 00:00:02,000\nok\n\nlost its time line\n\n"
            "2\n00:00:03,000 --> 00:00:04,000\nnext\n")
    script = load_dub_script(write(tmp_path, "lost.srt", text))
    assert [ln.text for ln in script.lines] == ["ok lost its time line", "next"]
    assert len(messages(script)) == 1 and messages(script)[0].startswith(
        "line 2: the cue's text has a blank line"
    )


def test_only_empty_cues_is_an_error(tmp_path):
    with pytest.raises(DubScriptError, match="no lines to speak"):
        load_dub_script(write(tmp_path, "e.srt", "1\n00:00:00,000 --> 00:00:01,000\n\n\n"))


# --------------------------------------------------------------------------- malformed files


@pytest.mark.parametrize(
    "name, text, line, fragment",
    [
        (
            "bad_time.srt",
            "1\n00:00:01,000 --> 00:00:02,000\nok\n\n2\n00:00:0x,000 --> 00:00:03,000\nbad\n",
            6,
            "cue time",
        ),
        (
            "garbage.srt",
            "\nthis is not a block\n\n1\n00:00:01,000 --> 00:00:02,000\nok\n",
            2,
            "not a subtitle block",
        ),
        (
            "mid.srt",
            "1\n00:00:01,000 --> 00:00:02,000\nok\n\n2\n00:00:03,000 -> "
            "later\nbad\n\n3\n00:00:05,000 --> 00:00:06,000\nok\n",
            6,
            "not a valid cue time '00:00:03,000 -> later' (expected HH:MM:SS,mmm",
        ),
        (
            "comma.vtt",
            "WEBVTT\n\n00:01.000 --> 00:02.000\nhi\n\n00:03,000 --> 00:04,000\nbad\n",
            6,
            "dot before the milliseconds",
        ),
        (
            "minutes.srt",
            "1\n00:61:04,000 --> 00:62:06,000\nlate\n",
            2,
            "minutes and seconds go up to 59",
        ),
        (
            "seconds.vtt",
            "WEBVTT\n\n00:01.000 --> 00:75.000\nhi\n",
            3,
            "minutes and seconds go up to 59",
        ),
        (
            "onearrow.vtt",
            "WEBVTT\n\n1\n00:01.000 -> 00:02.000\nhi\n",
            4,
            "the arrow between the times is '-->'",
        ),
        (
            "arrow.vtt",
            "WEBVTT\n\n00:01.000 --> 00:02.000\nhi\n\n00:03.000 --> 00:0q.000\nbad\n",
            6,
            "(expected [HH:]MM:SS.mmm",
        ),
        ("header.vtt", "00:01.000 --> 00:02.000\nno header\n", 1, "WEBVTT"),
        ("nocol.csv", "name,words\na,b\n", 1, "'text' column"),
        ("num.csv", "text,pitch\nfine,1\nbad,high\n", 3, "pitch must be a number"),
        ("range.csv", "text,speed\nfine,1\ntoo fast,9\n", 3, "speed must be between"),
        ("emotion.csv", "text,emotion\nbad,furious-ish\n", 2, "unknown emotion"),
        ("fields.csv", "id,text\n1,hello,extra\n", 2, "fields"),
        ("quote.csv", 'id,text\n1,"unterminated\n', 2, ""),
        ("mixed.csv", "text,start,end\ntimed,0,1\nuntimed,,\n", 3, "every line a time or none"),
        ("half.csv", "text,start,end\nhalf,1,\n", 2, "both start and end"),
    ],
)
def test_malformed_files_name_the_line_and_the_problem(tmp_path, name, text, line, fragment):
    with pytest.raises(DubScriptError) as info:
        load_dub_script(write(tmp_path, name, text))
    message = str(info.value)
    assert f"line {line}" in message, message
    assert fragment in message, message
    assert isinstance(info.value, VoiceStudioError)


def test_an_unclosed_quote_is_reported_where_it_opens_not_at_the_end(tmp_path):
    text = 'id,text\n1,fine\n2,"never closed\n3,more\n4,more\n5,more\n'
    with pytest.raises(DubScriptError, match=r"line 3: .*never closed") as info:
        load_dub_script(write(tmp_path, "open.csv", text))
    assert "line 7" not in str(info.value)


def test_a_vtt_block_that_lost_its_time_line_is_flagged(tmp_path):
    """WebVTT readers drop a block without ``-->`` silently; its text would go unspoken."""
    text = ("WEBVTT\n\nNOTE a comment\n\n00:01.000 --> 00:02.000\nhi\n\nlost its time line\n\n"
            "00:03.000 --> 00:04.000\nnext\n")
    script = load_dub_script(write(tmp_path, "lost.vtt", text))
    assert [ln.text for ln in script.lines] == ["hi", "next"]
    assert messages(script) == ["line 8: text without a cue time, not spoken: 'lost its time line'"]


def test_markup_is_removed_but_angle_brackets_in_text_stay():
    text = srt_text(
        [(0, 1, "<b>x</b> < y and y > z"), (1, 2, '<font color="red">Red</font> <00:01.500>now')]
    )
    assert [ln.text for ln in parse_dub_script(text, "srt").lines] == ["x < y and y > z", "Red now"]


def test_no_cues_at_all(tmp_path):
    with pytest.raises(DubScriptError, match="no VTT cues"):
        load_dub_script(write(tmp_path, "n.vtt", "WEBVTT\n\nNOTE nothing here\n"))


def test_huge_binary_missing_and_non_utf8_files_are_refused(tmp_path):
    huge = tmp_path / "huge.srt"
    with open(huge, "wb") as handle:
        handle.truncate(MAX_SCRIPT_BYTES + 1)
    with pytest.raises(DubScriptError, match="MB"):
        load_dub_script(huge)
    with pytest.raises(DubScriptError, match="binary"):
        load_dub_script(
            write(tmp_path, "video.srt", b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)))
        )
    with pytest.raises(DubScriptError, match="not found"):
        load_dub_script(tmp_path / "missing.srt")
    with pytest.raises(DubScriptError, match="folder"):
        load_dub_script(tmp_path)
    with pytest.raises(DubScriptError, match=r"line 2: not UTF-8"):
        load_dub_script(write(tmp_path, "latin1.txt", "fine\ncaf\xe9\n".encode("latin-1")))
    with pytest.raises(DubScriptError, match="characters in one line"):
        load_dub_script(write(tmp_path, "long.txt", "word " * 1000))


def test_a_thousand_cue_file_parses_quickly_and_exactly(tmp_path):
    cues = [
        (i * 2.0 + 0.001 * (i % 7), i * 2.0 + 1.5, f"Line number {i}, ça va.") for i in range(1000)
    ]
    path = write(tmp_path, "long.srt", srt_text(cues))
    started = time.perf_counter()
    script = load_dub_script(path)
    elapsed = time.perf_counter() - started
    assert len(script.lines) == 1000 and messages(script) == []
    assert elapsed < 2.0, f"parsing 1,000 cues took {elapsed:.2f} s"
    for line, (start, end, text) in zip(script.lines, cues, strict=True):
        assert line.start_s == pytest.approx(start, abs=1e-9) and line.end_s == pytest.approx(
            end, abs=1e-9
        )
        assert line.text == text
    assert script.lines[-1].line_no == 999 * 4 + 2 and script.end_s == pytest.approx(1999.5)
    vtt = "WEBVTT\n\n" + "".join(
        f"{srt_time(a).replace(',', '.')} --> {srt_time(b).replace(',', '.')}\n{t}\n\n"
        for a, b, t in cues
    )
    started = time.perf_counter()
    vtt_script = parse_dub_script(vtt, "vtt")
    assert time.perf_counter() - started < 2.0
    assert [(ln.start_s, ln.end_s) for ln in vtt_script.lines] == [
        (ln.start_s, ln.end_s) for ln in script.lines
    ]
