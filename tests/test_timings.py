"""Word timings (issue 17, item 3): the bundled voice gets Piper's durations output, word and
phoneme times agree with the audio (a sentence pause lies between the reported words, within
30 ms), scale with the tempo, and reach the CLI as JSON, SRT and WebVTT. A Piper voice whose
graph has no durations still speaks, without timings, and says so."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import onnx
import pytest
import srt
import webvtt
from onnx import TensorProto, helper

from voicestudio.cli import main
from voicestudio.styling.controls import StyleControls
from voicestudio.text.words import spoken_groups, word_slots, written_words
from voicestudio.voice.catalog import bundled_voice
from voicestudio.voice.model import VoiceModel
from voicestudio.voice.synthesizer import Synthesizer
from voicestudio.voice.timings import Timeline

STEADY = StyleControls(variability=0.0)
TWO_SENTENCES = "The old man walked home. Then he slept soundly."
#: A frame of 5 ms is "silent" below this level relative to the loudest frame.
SILENCE_DB = -45.0
TOLERANCE_S = 0.030


def timeline_of(synth: Synthesizer, text: str, controls: StyleControls = STEADY):
    timeline, parts = Timeline(), []
    for chunk in synth.synthesize(text, controls):
        timeline.add(chunk.words, len(chunk.samples) / chunk.sample_rate)
        parts.append(chunk.samples)
    return timeline, np.concatenate(parts)


def longest_silence(audio: np.ndarray, rate: int) -> tuple[float, float]:
    """Start and end (s) of the longest run of silent 5 ms frames inside the audio (not at
    its start or its end)."""
    hop = int(0.005 * rate)
    frames = audio[: len(audio) // hop * hop].reshape(-1, hop)
    level = 10 * np.log10(np.mean(frames**2, axis=1) + 1e-20)
    quiet = np.append(level - level.max() < SILENCE_DB, False)
    runs, start = [], None
    for i, q in enumerate(quiet):
        if q and start is None:
            start = i
        elif not q and start is not None:
            if start > 0 and i < len(quiet) - 1:
                runs.append((start, i))
            start = None
    a, b = max(runs, key=lambda r: r[1] - r[0])
    return a * hop / rate, b * hop / rate


def test_the_bundled_voice_gives_durations_that_add_up_to_its_audio(joe):
    assert joe.has_durations, joe.no_durations_reason
    ids = joe.text_to_ids("Durations add up.")[0]
    out = joe.infer_aligned(ids)
    assert out.samples_per_id is not None and len(out.samples_per_id) == len(ids)
    assert out.samples_per_id.sum() == len(out.audio)


@pytest.mark.parametrize("speed", [1.0, 1.5])
def test_word_boundaries_lie_at_the_silence_between_sentences(synth, speed):
    timeline, audio = timeline_of(synth, TWO_SENTENCES, STEADY.with_changes(speed=speed))
    words = timeline.words
    assert [w.text for w in words] == TWO_SENTENCES.split()
    last = next(i for i in range(len(words) - 1) if words[i].sentence != words[i + 1].sentence)
    silence_start, silence_end = longest_silence(audio, synth.sample_rate)
    assert abs(words[last].end - silence_start) <= TOLERANCE_S
    assert abs(words[last + 1].start - silence_end) <= TOLERANCE_S
    for word in words:  # in order, inside the audio, phonemes inside their word
        assert 0 <= word.start <= word.end <= timeline.duration
        assert word.start <= word.phonemes[0].start and word.phonemes[-1].end == word.end
    starts = [w.start for w in words]
    assert starts == sorted(starts)


def test_times_scale_with_the_tempo(synth):
    plain, _ = timeline_of(synth, TWO_SENTENCES)
    fast, _ = timeline_of(synth, TWO_SENTENCES, STEADY.with_changes(speed=1.5))
    ratios = [f.start / p.start for p, f in zip(plain.words, fast.words, strict=True)]
    assert np.allclose(ratios, 1 / 1.5, atol=0.02)
    assert fast.duration == pytest.approx(plain.duration / 1.5, rel=0.02)


def test_written_words_pair_with_the_spoken_ones():
    # "1984" is four spoken words and "$5" two: learnt by phonemizing the word alone
    phonemes = list("ɪn naɪntiːn hʌndɹɪd eɪɾi fɔːɹ, ɪt kɔst faɪv dɑːlɚz.")
    alone = {"1984,": "naɪntiːn hʌndɹɪd eɪɾi fɔːɹ", "$5.": "faɪv dɑːlɚz"}
    words = written_words("In 1984, it cost $5.")
    slots = word_slots(words, phonemes, lambda i: list(alone.get(words[i], "x")))
    assert [s.text for s in slots] == ["In", "1984,", "it", "cost", "$5."]
    assert "".join(phonemes[slots[1].first:slots[1].end]) == "naɪntiːn hʌndɹɪd eɪɾi fɔːɹ,"
    # words the front end ran together ("with which") are told apart by their own phonemes
    phonemes = list("wɪðwɪtʃ wiː ɑːɹ ðɪ ˈɑːɹts.")
    alone = ["wɪð", "wˈɪtʃ", "wiː", "ɑːɹ", "ðə", "ˈɑːɹts"]
    slots = word_slots(["with", "which", "we", "are", "the", "arts."], phonemes,
                       lambda i: list(alone[i]))
    said = ["".join(phonemes[s.first:s.end]) for s in slots]
    assert said == ["wɪð", "wɪtʃ", "wiː", "ɑːɹ", "ðɪ", "ˈɑːɹts."]
    assert spoken_groups(list("a , b")) == [(0, 3), (4, 5)]  # punctuation joins its word


def test_cli_writes_timings_json_and_subtitles(tmp_path):
    out, js, vtt, srt_path = (tmp_path / n for n in ("a.wav", "a.json", "a.vtt", "b.srt"))
    assert main(["say", TWO_SENTENCES, "-o", str(out), "--timings", str(js),
                 "--subtitles", str(vtt), "--variability", "0", "-q"]) == 0
    data = json.loads(js.read_text(encoding="utf-8"))
    assert data["format"] == "voicestudio-timings" and data["version"] == 1
    assert [w["text"] for w in data["words"]] == TWO_SENTENCES.split()
    assert all(p["start"] <= p["end"] for w in data["words"] for p in w["phonemes"])
    captions = webvtt.from_string(vtt.read_text(encoding="utf-8"), strict=True).captions
    assert [c.text for c in captions] == ["The old man walked home.", "Then he slept soundly."]
    assert captions[0].raw_text.startswith("The <00:00:")  # each word's start marked
    first_word_times = [w["start"] for w in data["words"] if w["sentence"] == 0]
    h, m, sec = captions[0].start.split(":")
    assert int(h) * 3600 + int(m) * 60 + float(sec) == pytest.approx(first_word_times[0],
                                                                     abs=0.002)
    assert main(["say", TWO_SENTENCES, "-o", str(tmp_path / "b.wav"), "--subtitles",
                 str(srt_path), "-q"]) == 0
    cues = list(srt.parse(srt_path.read_text(encoding="utf-8")))
    assert [c.content for c in cues] == ["The old man walked home.", "Then he slept soundly."]
    assert cues[0].end <= cues[1].start


def test_cli_refuses_an_unknown_subtitle_type_before_any_work(tmp_path, capsys):
    out = tmp_path / "a.wav"
    assert main(["say", "Hello.", "-o", str(out), "--subtitles", str(tmp_path / "a.txt")]) == 1
    assert ".srt or .vtt" in capsys.readouterr().err
    assert not out.exists()


def no_durations_voice(folder):
    """A Piper-contract voice whose graph has no durations tensor: its 'audio' is its ids."""
    nodes = [
        helper.make_node("Cast", ["input"], ["as_float"], to=TensorProto.FLOAT),
        helper.make_node("Unsqueeze", ["as_float", "axes"], ["output"]),
    ]
    graph = helper.make_graph(
        nodes, "no-durations",
        [helper.make_tensor_value_info("input", TensorProto.INT64, [1, None]),
         helper.make_tensor_value_info("input_lengths", TensorProto.INT64, [1]),
         helper.make_tensor_value_info("scales", TensorProto.FLOAT, [3])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 1, 1, None])],
        [helper.make_tensor("axes", TensorProto.INT64, [2], [1, 2])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    path = folder / "plain.onnx"
    onnx.save(model, str(path))
    shutil.copyfile(bundled_voice().config_path, folder / "plain.onnx.json")
    return path


def test_a_voice_without_durations_speaks_without_timings_and_says_so(tmp_path, capsys):
    path = no_durations_voice(tmp_path)
    voice = VoiceModel.load(path, provider="cpu")
    assert not voice.has_durations
    assert "durations" in voice.no_durations_reason
    chunks = list(Synthesizer(voice).synthesize("Hello there.", STEADY))
    assert chunks and all(c.words is None for c in chunks)
    timeline = Timeline()
    timeline.add(chunks[0].words, 1.0, voice.no_durations_reason)
    assert not timeline.available and timeline.words == []
    out = tmp_path / "a.wav"
    assert main(["say", "Hello.", "--voice", str(path), "-o", str(out),
                 "--timings", str(tmp_path / "a.json")]) == 1
    assert "gives no word timings" in capsys.readouterr().err
    assert not out.exists()
    assert main(["say", "Hello.", "--voice", str(path), "-o", str(out), "-q"]) == 0


def test_a_voice_without_the_output_is_patched_once_into_the_cache(tmp_path, monkeypatch):
    from voicestudio.voice import alignment

    monkeypatch.setenv("VOICESTUDIO_DATA_DIR", str(tmp_path / "data"))
    source = tmp_path / "copy.onnx"
    shutil.copyfile(bundled_voice().model_path, source)
    first = alignment.with_durations(source)
    cached = tmp_path / "data" / "cache" / "timed-voices"
    assert first.has_durations and Path(first.model).parent == cached
    assert len(onnx.load(first.model).graph.output) == 2
    assert alignment.with_durations(source) == first  # found again, not patched again
    source.write_bytes(source.read_bytes())  # the voice file changed: a new copy replaces it
    os.utime(source, ns=(1, 1))
    second = alignment.with_durations(source)
    assert second.model != first.model and [p.name for p in cached.iterdir()] == [
        Path(second.model).name]
    assert alignment.add_durations_to_file(source)  # an installed voice carries it itself
    assert alignment.with_durations(source).model == str(source)


def test_the_voice_speaks_each_phoneme_for_the_frames_it_is_given(joe):
    """The timed copy of the graph (durations an input): given the model's own durations it
    is the model's own output, sample for sample; given others, each phoneme lasts what it
    is told (here one word twice as long, the rest unchanged)."""
    ids = joe.text_to_ids("The old man walked home.")[0]
    own = joe.infer_aligned(ids, noise_scale=0.0, noise_w=0.0)
    frames = own.samples_per_id // joe.config.hop_length
    same = joe.infer_timed(ids, frames, noise_scale=0.0)
    assert np.array_equal(same.audio, own.audio)
    assert np.array_equal(same.samples_per_id, own.samples_per_id)
    longer = frames.copy()
    longer[len(ids) // 2:len(ids) // 2 + 8] *= 2
    out = joe.infer_timed(ids, longer, noise_scale=0.0)
    assert np.array_equal(out.samples_per_id, longer * joe.config.hop_length)
    assert len(out.audio) == out.samples_per_id.sum() > len(own.audio)
    for bad in (frames[:-1], -frames):
        with pytest.raises(ValueError, match="one non-negative count per phoneme id"):
            joe.infer_timed(ids, bad)


def test_a_timed_copy_that_does_not_speak_as_the_model_is_refused(joe):
    """Given the model's own durations, the copy must give the model's own audio: a Ceil
    that was not the duration predictor's would not (here, a session whose audio is off)."""
    from voicestudio.errors import VoiceStudioError

    class Session:
        def __init__(self, scale: float) -> None:
            self.scale = scale

        def run(self, names, feeds):
            ids = feeds["input"][0]
            own = joe.infer_aligned(ids, noise_scale=0.0, noise_w=0.0).audio
            noise = np.random.default_rng(0).standard_normal(len(own)).astype(np.float32)
            return [(own + self.scale * np.std(own) * noise)[None, None, :]]

    joe._check_timed(Session(0.001))  # within what a GPU's kernels may change
    with pytest.raises(VoiceStudioError, match="does not speak as the model does"):
        joe._check_timed(Session(0.2))


def test_a_graph_without_one_durations_tensor_cannot_be_timed(tmp_path):
    from voicestudio.errors import VoiceStudioError

    voice = VoiceModel.load(no_durations_voice(tmp_path), provider="cpu")
    assert not voice.can_time
    with pytest.raises(VoiceStudioError, match="cannot speak given phoneme durations: its "
                                               "graph has 0 Ceil nodes"):
        voice.infer_timed([1, 2, 3], [1, 1, 1])


def test_webvtt_cue_text_is_escaped():
    from voicestudio.voice.timing_files import vtt_text
    from voicestudio.voice.timings import WordTime

    timeline = Timeline()
    timeline.add([WordTime("AT&T", 0.1, 0.5, 0), WordTime("x<y.", 0.6, 0.9, 0)], 1.0)
    text = vtt_text(timeline)
    assert "AT&amp;T <00:00:00.600>x&lt;y." in text
    assert len(webvtt.from_string(text, strict=True).captions) == 1
