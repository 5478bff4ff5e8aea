"""Word times and speech markup in dubs (issue 17): a dub line's word times land inside its cue
(a line the fit sped up too), a markup line of a CSV script speaks its break and emphasis, bad
markup names the script line and column and exports nothing, cached lines keep their word
times, the export writes them (words.csv, track.srt, track.vtt), and plain lines render
sample for sample as they did before lines went through ``render_sentence``.

Real synthesis with the bundled voice at variability 0.
"""

from __future__ import annotations

import csv
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from subtitles import srt_text

from tests.test_timings import no_durations_voice
from voicestudio.dubbing import (
    DubScriptError,
    DubSession,
    DubSettings,
    LineStatus,
    dub,
    export_dub,
    load_dub_script,
    parse_dub_script,
)
from voicestudio.dubbing.render import speak, trim_silence
from voicestudio.dubbing.timefit import FIT_TOLERANCE_S
from voicestudio.styling.controls import StyleControls, resolve
from voicestudio.styling.render import TARGET_LEVEL_DBFS, set_level, style_audio
from voicestudio.voice.model import VoiceModel
from voicestudio.voice.synthesizer import Synthesizer, TextReport

STEADY = StyleControls(variability=0.0)
LINE = "I waited for you all day long."
MARKED = '<speak>I waited <break time="700ms"/> for <emphasis>you</emphasis> all day long.</speak>'
LONG = "Right away, straight to the station. Do not stop."
TOLERANCE_S = 0.030


def old_speak(synth: Synthesizer, text: str, controls: StyleControls, length_factor: float = 1.0,
              world_speed: float = 1.0) -> np.ndarray:
    """``dubbing.render.speak`` as it was before it went through ``render_sentence``, kept
    verbatim (less its docstring) so plain lines are checked against it sample for sample."""
    params = resolve(controls, synth.calibration)
    params = replace(params, speed=params.speed * world_speed)
    tempo = 1.0 / length_factor
    config = synth.voice.config
    parts: list[np.ndarray] = []
    for sentence in synth.sentences(text, TextReport()):
        if parts:
            parts.append(synth.pause(params.speed * tempo))
        raw = synth.voice.infer(sentence.ids, noise_scale=config.noise_scale * controls.variability,
                                length_scale=config.length_scale * length_factor, noise_w=0.0)
        raw = set_level(raw, synth.sample_rate, TARGET_LEVEL_DBFS)
        parts.append(style_audio(raw, synth.sample_rate, params, f0_method=synth.f0_method))
    return trim_silence(np.concatenate(parts).astype(np.float32), synth.sample_rate)


def natural_s(synth: Synthesizer, text: str) -> float:
    return len(speak(synth, text, STEADY).samples) / synth.sample_rate


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize(
    ("text", "changes", "length_factor", "world_speed"),
    [
        ("Hello there.", {}, 1.0, 1.0),
        ("Right away, straight to the station.", {}, 0.75, 1.12),
        ("Good morning. How are you today? Fine, thanks.", {}, 1.0, 1.0),
        ("Good morning. How are you today? Fine, thanks.", {"speed": 1.2, "pitch": 2.0}, 0.85,
         0.95),
        ("Come here. Now!", {"emotion": "calm"}, 1.3, 1.0),
        ("x < y, said the teacher.", {}, 1.0, 1.0),
    ],
)
def test_plain_dub_lines_render_exactly_as_before(synth, text, changes, length_factor,
                                                  world_speed):
    controls = STEADY.with_changes(**changes)
    before = old_speak(synth, text, controls, length_factor, world_speed)
    after = speak(synth, text, controls, length_factor, world_speed)
    assert after.samples.dtype == before.dtype and np.array_equal(after.samples, before)
    assert after.words is not None and after.words[0].start >= 0.0
    assert after.words[-1].end <= len(after.samples) / synth.sample_rate


def test_a_dub_lines_word_times_land_inside_its_cue(synth):
    """A line that fits as spoken, a two-sentence line the fit had to speed up (about 1.15×)
    and a markup line: every word inside its cue, in order, and the sped-up line's words
    closer together than the same line's at its natural tempo."""
    natural = speak(synth, LONG, STEADY)
    long_s = len(natural.samples) / synth.sample_rate
    cues = [(0.5, 2.0, "Hello there."), (3.0, 3.0 + long_s / 1.15, LONG), (7.0, 11.0, MARKED)]
    session = DubSession(parse_dub_script(srt_text(cues), "srt"), DubSettings(controls=STEADY),
                         synth)
    session.render_all()
    fitted = session.results[1]
    assert fitted.fit_method != "none" and 1.08 <= fitted.tempo <= 1.25
    for result in session.results:
        line = result.line
        assert result.status is LineStatus.RENDERED, result.warnings
        assert result.words is not None and result.words, line.text
        assert [w.text for w in result.words] == line.written_text.split()
        for word in result.words:
            assert line.start_s <= word.start <= word.end <= line.end_s + FIT_TOLERANCE_S, word
        starts = [w.start for w in result.words]
        assert starts == sorted(starts)
        # the words are where the audio is: it starts speaking on its cue
        assert result.words[0].start - line.start_s <= 0.05
        assert line.start_s + result.rendered_s - result.words[-1].end <= 0.05
    spoken = fitted.words[-1].end - fitted.words[0].start
    at_natural = natural.words[-1].end - natural.words[0].start
    assert spoken / at_natural == pytest.approx(1.0 / fitted.tempo, abs=0.03)


def test_untimed_lines_get_their_word_times_where_the_mix_puts_them(tmp_path, synth):
    script = parse_dub_script("First line here.\nSecond line there.\n", "text")
    result = dub(script, tmp_path / "out", DubSettings(controls=STEADY, gap_s=0.5),
                 synthesizer=synth)
    rows = read_csv(result.words)
    assert [r["word"] for r in rows] == ["First", "line", "here.", "Second", "line", "there."]
    first = [r for r in rows if r["index"] == "1"]
    second = [r for r in rows if r["index"] == "2"]
    assert float(first[0]["start_s"]) <= 0.05
    assert float(second[0]["start_s"]) >= float(first[-1]["end_s"]) + 0.5


def test_a_markup_line_in_a_csv_script_speaks_its_break_and_emphasis(tmp_path, synth):
    quoted = MARKED.replace('"', '""')
    path = tmp_path / "lines.csv"
    path.write_text(f'id,text\nplain,{LINE}\nmarked,"{quoted}"\n', encoding="utf-8")
    script = load_dub_script(path)
    assert script.lines[1].text == MARKED and script.lines[1].markup
    session = DubSession(script, DubSettings(controls=STEADY), synth)
    plain, marked = session.render_all()
    assert marked.status is LineStatus.RENDERED and marked.warnings == []
    assert marked.rendered_s - plain.rendered_s >= 0.7 - TOLERANCE_S  # the break, and emphasis
    assert marked.rendered_s - plain.rendered_s <= 0.7 + 0.3
    words = {w.text: w for w in marked.words}
    assert words["for"].start - words["waited"].end >= 0.7 - TOLERANCE_S
    plain_words = {w.text: w for w in plain.words}
    # emphasis: "you" is given more time than when it is spoken plainly
    assert words["you"].end - words["you"].start > plain_words["you"].end - plain_words["you"].start
    export = dub(script, tmp_path / "out", DubSettings(controls=STEADY), synthesizer=synth)
    rows = read_csv(export.words)
    assert [r["word"] for r in rows if r["id"] == "marked"] == LINE.split()
    assert "speak" not in export.stems[1].name and "i-waited" in export.stems[1].name
    assert read_csv(export.report)[1]["text"] == MARKED  # the report keeps what was written


@pytest.mark.parametrize("fmt", ["csv", "srt", "text"])
def test_bad_markup_names_the_script_line_and_column_and_exports_nothing(tmp_path, synth, fmt):
    bad = "<speak>Hello <whisper>there</whisper>.</speak>"  # no such element: column 14
    if fmt == "csv":
        path, where = tmp_path / "lines.csv", 3
        path.write_text(f"id,text\na,Fine.\nb,{bad}\n", encoding="utf-8")
    elif fmt == "srt":
        path, where = tmp_path / "lines.srt", 6
        path.write_text(srt_text([(0, 1, "Fine."), (2, 3, bad)]), encoding="utf-8")
    else:
        path, where = tmp_path / "lines.txt", 2
        path.write_text(f"Fine.\n{bad}\n", encoding="utf-8")
    with pytest.raises(DubScriptError, match=rf"{path.name}, line {where}: bad speech markup at "
                                             r"column 14 of the line's text: .*whisper"):
        load_dub_script(path)
    with pytest.raises(DubScriptError, match=rf"line {where}: .*column 14"):
        dub(path, tmp_path / "out", DubSettings(controls=STEADY), synthesizer=synth)
    assert not (tmp_path / "out").exists()


def test_a_line_edit_with_bad_markup_is_refused_and_the_line_kept(synth):
    session = DubSession(parse_dub_script("Fine.\n", "text"), DubSettings(controls=STEADY), synth)
    session.render_all()
    before = session.results[0]
    with pytest.raises(DubScriptError, match=r"line 1: bad speech markup at column 8"):
        session.render_line(1, text="<speak><break time='forever'/> now</speak>")
    assert session.results[0] is before and session.script.lines[0].text == "Fine."


def test_a_phoneme_the_voice_lacks_names_the_script_line(tmp_path, synth):
    path = tmp_path / "lines.txt"
    path.write_text('Fine.\n<speak>Say <phoneme ph="X">this</phoneme>.</speak>\n',
                    encoding="utf-8")
    with pytest.raises(DubScriptError, match=r"lines.txt, line 2: .*U\+0058"):
        dub(path, tmp_path / "out", DubSettings(controls=STEADY), synthesizer=synth)
    assert not (tmp_path / "out").exists()


def test_markup_cues_survive_the_subtitle_readers():
    """SRT and WebVTT readers strip tags such as <i>: a cue starting with <speak> keeps all of
    its markup (its lines joined, entities left to the markup parser); others are as before."""
    cue = '<speak>Tom <break time="300ms"/>\n&amp; <emphasis>Jerry</emphasis>.</speak>'
    joined = '<speak>Tom <break time="300ms"/> &amp; <emphasis>Jerry</emphasis>.</speak>'
    srt = parse_dub_script(srt_text([(0, 2, cue), (3, 4, "<i>Tom &amp; Jerry</i>")]), "srt")
    vtt = parse_dub_script(
        f"WEBVTT\n\n00:00.000 --> 00:02.000\n{cue}\n\n00:03.000 --> 00:04.000\n"
        "<i>Tom &amp; Jerry</i>\n", "vtt")
    for script in (srt, vtt):
        assert [line.text for line in script.lines] == [joined, "Tom & Jerry"]
        assert script.lines[0].written_text == "Tom & Jerry."


def test_a_cached_rerender_returns_the_same_word_times(tmp_path, synth):
    cache = tmp_path / "cache"
    natural = natural_s(synth, LONG)
    script = parse_dub_script(srt_text([(0, natural / 1.15, LONG), (5, 9, MARKED)]), "srt")
    settings = DubSettings(controls=STEADY)
    first = DubSession(script, settings, synth, cache_dir=cache)
    first.render_all()
    words = [r.words for r in first.results]
    assert all(words) and len(list(cache.glob("*.json"))) == len(list(cache.glob("*.wav")))
    again = DubSession(script, settings, synth, cache_dir=cache)
    again.render_all()
    assert again.model_runs == 0 and [r.words for r in again.results] == words
    assert [r.rendered_s for r in again.results] == [r.rendered_s for r in first.results]
    # a missing or damaged words file means a new render, never a crash
    records = sorted(cache.glob("*.json"))
    records[0].write_text("{not json", encoding="utf-8")
    for record in records[1:]:
        record.unlink()
    repaired = DubSession(script, settings, synth, cache_dir=cache)
    repaired.render_all()
    assert repaired.model_runs >= 1 and [r.words for r in repaired.results] == words
    assert all(r.status is LineStatus.RENDERED for r in repaired.results)


def test_the_export_writes_words_and_subtitles_of_the_dub(tmp_path, synth):
    cues = [(0.5, 2.0, "Hello there."), (3.0, 6.0, MARKED)]
    export = dub(parse_dub_script(srt_text(cues), "srt"), tmp_path / "out",
                 DubSettings(controls=STEADY), synthesizer=synth)
    rows = read_csv(export.words)
    assert list(rows[0]) == ["index", "id", "word", "start_s", "end_s"]
    for row in rows:
        start, end = cues[int(row["index"]) - 1][:2]
        assert start <= float(row["start_s"]) <= float(row["end_s"]) <= end
    srt_file, vtt_file = export.subtitles
    assert srt_file.name == "track.srt" and vtt_file.name == "track.vtt"
    subtitles = parse_dub_script(srt_file.read_text(encoding="utf-8"), "srt")
    assert [line.text for line in subtitles.lines] == ["Hello there.",
                                                      "I waited for you all day long."]
    for line, (start, end, _) in zip(subtitles.lines, cues, strict=True):
        assert start <= line.start_s < line.end_s <= end
    vtt = vtt_file.read_text(encoding="utf-8")
    assert vtt.startswith("WEBVTT") and "<00:00:03." in vtt  # each word's start in its cue


def test_a_voice_without_durations_dubs_without_word_times_and_says_so(tmp_path):
    voice = VoiceModel.load(no_durations_voice(tmp_path), provider="cpu")
    script = parse_dub_script(f"Hello there.\n{MARKED}\n", "text")
    session = DubSession(script, DubSettings(controls=STEADY), Synthesizer(voice))
    plain, marked = session.render_all()
    assert plain.words is None and marked.words is None and plain.warnings == []
    assert any("no phoneme durations" in w.message for w in marked.warnings)
    export = export_dub(session, tmp_path / "out")
    assert read_csv(export.words) == []  # the header only
    # the subtitles still have a cue per line, over its audio
    cues = parse_dub_script(export.subtitles[0].read_text(encoding="utf-8"), "srt").lines
    assert [c.text for c in cues] == ["Hello there.", "I waited for you all day long."]
