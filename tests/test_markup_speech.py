"""Speech markup on real synthesis (issue 17, item 2 acceptance): a break adds its silence at
its place, a span's rate, pitch and emphasis change that span only (measured with the word
timings and WORLD's F0), bad markup is refused with its position and writes nothing, plain
text is read exactly as before, and a voice without durations speaks the words plainly and
says so."""

from __future__ import annotations

import numpy as np
import pytest

from tests.test_timings import longest_silence, no_durations_voice
from voicestudio.cli import main
from voicestudio.styling.controls import StyleControls
from voicestudio.styling.world import analyze, frame_hop
from voicestudio.text.markup import MarkupError
from voicestudio.voice.model import VoiceModel
from voicestudio.voice.synthesizer import Synthesizer, TextReport
from voicestudio.voice.timings import Timeline

STEADY = StyleControls(variability=0.0)
LINE = "I waited for you all day long."
TOLERANCE_S = 0.030


def render(synth: Synthesizer, text: str, controls: StyleControls = STEADY, markup=None):
    timeline, parts, report = Timeline(), [], TextReport()
    for chunk in synth.synthesize(text, controls, report, markup=markup):
        timeline.add(chunk.words, len(chunk.samples) / chunk.sample_rate)
        parts.append(chunk.samples)
    return timeline, np.concatenate(parts), report


def word_f0_st(synth: Synthesizer, audio: np.ndarray, timeline: Timeline, words: list[str]):
    """Median F0 (semitones re 100 Hz) of the voiced frames inside ``words``."""
    analysis = analyze(audio, synth.sample_rate)
    hop_s = frame_hop(synth.sample_rate) / synth.sample_rate
    times = np.arange(len(analysis.f0)) * hop_s
    inside = np.zeros(len(times), bool)
    for w in timeline.words:
        if w.text.strip(".,") in words:
            inside |= (times >= w.start) & (times < w.end)
    f0 = analysis.f0[inside & (analysis.f0 > 0)]
    return float(np.median(12 * np.log2(f0 / 100.0)))


def word_level_db(audio: np.ndarray, rate: int, timeline: Timeline, words: list[str]) -> float:
    parts = [audio[int(w.start * rate):int(w.end * rate)] for w in timeline.words
             if w.text.strip(".,") in words]
    x = np.concatenate(parts)
    return float(10 * np.log10(np.mean(x**2)))


def test_a_break_adds_its_silence_where_it_stands(synth):
    plain, plain_audio, _ = render(synth, LINE)
    marked, audio, report = render(
        synth, '<speak>I waited <break time="700ms"/> for you all day long.</speak>')
    assert report.messages() == []
    added = (len(audio) - len(plain_audio)) / synth.sample_rate
    assert abs(added - 0.7) <= TOLERANCE_S
    waited, after = marked.words[1], marked.words[2]
    silence_start, silence_end = longest_silence(audio, synth.sample_rate)
    assert silence_end - silence_start >= 0.7 - TOLERANCE_S
    assert abs(waited.end - silence_start) <= TOLERANCE_S
    assert abs(after.start - silence_end) <= TOLERANCE_S
    # words before keep their times, words after move by the break
    assert marked.words[0].start == pytest.approx(plain.words[0].start, abs=0.002)
    assert after.start - plain.words[2].start == pytest.approx(0.7, abs=TOLERANCE_S)


def test_a_slow_span_lengthens_only_itself(synth):
    plain, _, _ = render(synth, LINE)
    slow, _, _ = render(synth, '<speak>I waited for <prosody rate="slow">you all</prosody> '
                               'day long.</speak>')
    ratios = {p.text: (s.end - s.start) / (p.end - p.start)
              for p, s in zip(plain.words, slow.words, strict=True)}
    assert ratios["you"] > 1.15 and ratios["all"] > 1.15  # slow: 0.8 of the rate, 1.25 as long
    for word in ("I", "waited", "for", "day", "long."):
        assert ratios[word] == pytest.approx(1.0, abs=0.05)


def test_a_pitch_span_rises_four_semitones_and_the_rest_stays(synth):
    plain, plain_audio, _ = render(synth, LINE)
    high, audio, _ = render(synth, '<speak>I waited for <prosody pitch="+4st">you all day'
                                   '</prosody> long.</speak>')
    span, rest = ["you", "all", "day"], ["I", "waited", "long"]
    rise = word_f0_st(synth, audio, high, span) - word_f0_st(synth, plain_audio, plain, span)
    assert rise == pytest.approx(4.0, abs=0.5)
    other = word_f0_st(synth, audio, high, rest) - word_f0_st(synth, plain_audio, plain, rest)
    assert abs(other) <= 0.5


def test_emphasis_raises_the_span_pitch_and_energy(synth):
    plain, plain_audio, _ = render(synth, LINE)
    hit, audio, _ = render(synth, '<speak>I waited for <emphasis level="strong">you</emphasis>'
                                  ' all day long.</speak>')
    sr = synth.sample_rate
    assert word_f0_st(synth, audio, hit, ["you"]) - word_f0_st(
        synth, plain_audio, plain, ["you"]) >= 1.0
    louder = word_level_db(audio, sr, hit, ["you"]) - word_level_db(plain_audio, sr, plain,
                                                                     ["you"])
    assert louder >= 1.5


def test_markup_phonemes_sub_and_say_as_are_spoken(synth):
    sentences = list(synth.sentences(
        '<speak>Call <sub alias="Doctor">Dr.</sub> <phoneme ph="kwˈɪmbəl">Smith</phoneme> at '
        '<say-as interpret-as="telephone">555-0123</say-as>.</speak>'))
    (sentence,) = sentences
    said = "".join(sentence.phonemes)
    assert "kwˈɪmbəl" in said and "smˈɪθ" not in said and "dˈɑːktɚ" in said
    assert [w.text for w in sentence.words] == ["Call", "Dr.", "Smith", "at", "555-0123."]
    with pytest.raises(Exception, match="U\\+0058"):
        list(synth.sentences('<speak><phoneme ph="X">x</phoneme></speak>'))


def test_plain_text_is_read_exactly_as_before(synth):
    _, plain, _ = render(synth, LINE, markup=False)
    _, detected, _ = render(synth, LINE)
    _, wrapped, _ = render(synth, f"<speak>{LINE}</speak>")
    assert np.array_equal(plain, detected) and np.array_equal(plain, wrapped)
    # markup characters in plain text are just text
    assert list(synth.sentences("Use a < b & c > d here.", markup=False))


@pytest.mark.parametrize("markup, where", [
    ("<speak>Hello <emphasis>there</speak>", "line 1, column 14"),
    ("<speak>Hello\n    <voice name='x'>there</voice></speak>", "line 2, column 5"),
    ('<?xml version="1.0"?><!DOCTYPE speak [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;">]>'
     "<speak>&b;</speak>", "line 1"),
])
def test_bad_markup_is_refused_with_its_place_and_writes_nothing(tmp_path, capsys, markup,
                                                                 where):
    out = tmp_path / "a.wav"
    assert main(["say", "--ssml", markup, "-o", str(out)]) == 1
    assert where in capsys.readouterr().err
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_markup_errors_are_typed_with_their_position(synth):
    with pytest.raises(MarkupError) as caught:
        list(synth.sentences("<speak>\n<prosody rate='fast'>quick</speak>"))
    assert caught.value.line == 2


def test_a_voice_without_durations_speaks_markup_plainly_and_says_so(tmp_path):
    voice = VoiceModel.load(no_durations_voice(tmp_path), provider="cpu")
    report = TextReport()
    chunks = list(Synthesizer(voice).synthesize(
        '<speak>Wait <break time="1s"/> here.</speak>', STEADY, report))
    assert chunks and report.unplaced_markup == 1
    assert any("no phoneme durations" in m for m in report.messages())


def test_breaks_after_wordless_pieces_are_kept(synth):
    # "..." is a sentence without words, and the opening quote a token without one: their
    # breaks still come before what follows
    sentences = list(synth.sentences('<speak>Hello. ...<break time="2s"/> World.</speak>'))
    assert [s.lead for s in sentences] == [0.0, 2.0]
    (quoted,) = synth.sentences('<speak>“<break time="1s"/>Hello,” she said.</speak>')
    assert quoted.lead == 1.0
    _, plain, _ = render(synth, "Hello. World.")
    _, marked, _ = render(synth, '<speak>Hello. ...<break time="2s"/> World.</speak>')
    assert (len(marked) - len(plain)) / synth.sample_rate == pytest.approx(2.0, abs=0.05)


def test_a_word_too_long_for_one_pass_keeps_the_sentences_in_step():
    from voicestudio.text.markup import read_document
    from voicestudio.voice.utterance import marked_sentences

    text = "<speak>a b " + "x" * 400 + " c d. Next one here.</speak>"
    groups = [[t.text for t in s.tokens] for s in marked_sentences(read_document(text))]
    assert groups[-1] == ["Next", "one", "here."]
    assert [w for g in groups for w in g] == ["a", "b", "x" * 400, "c", "d.", "Next", "one",
                                               "here."]
