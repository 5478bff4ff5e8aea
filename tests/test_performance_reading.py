"""Reading a performance (issue 18, "Perform it"): forced alignment of a recording's words,
its pitch and level contours, and clear refusals of recordings that cannot be read.

The aligner is measured against the bundled voice's own word times and on real speech
(../shared/data/speech, skipped with the reason when absent)."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from voicestudio.audio.aligner import (
    AlignedWord,
    AlignmentError,
    align_words,
    ipa_to_arpabet,
    quiet_line_db,
)
from voicestudio.audio.io import read_audio
from voicestudio.errors import AudioFileError
from voicestudio.styling.controls import StyleControls
from voicestudio.text.words import written_words
from voicestudio.voice.performance import (
    Performance,
    PerformanceError,
    agreed_f0,
    pitch_contour,
    read_performance,
    read_performance_file,
    spoken_text,
)
from voicestudio.voice.timings import Timeline

LINE_9 = ("Printing, then, for our purpose, may be considered as the art of making books by "
          "means of movable types.")
NUMBERS = "In 1984 it cost 5 dollars."
#: A pause is a stretch this long below the recording's quiet line (10 ms frames).
PAUSE_S = 0.15


def render(synth, text: str) -> tuple[np.ndarray, Timeline]:
    timeline, parts = Timeline(), []
    for chunk in synth.synthesize(text, StyleControls(variability=0.0)):
        timeline.add(chunk.words, len(chunk.samples) / chunk.sample_rate)
        parts.append(chunk.samples)
    assert timeline.available, timeline.reason
    return np.concatenate(parts), timeline


def speech(shared_speech, corpus: str, clip: str = "LJ001-0009"):
    audio = read_audio(shared_speech / corpus / f"{clip}.flac")
    return audio.samples, audio.sample_rate


def pauses(samples: np.ndarray, rate: int) -> list[tuple[float, float]]:
    """Stretches of at least PAUSE_S whose 10 ms frames are all below the quiet line."""
    hop = rate // 100
    frames = samples[: len(samples) // hop * hop].reshape(-1, hop).astype(np.float64)
    levels = np.maximum(10 * np.log10(np.mean(frames**2, axis=1) + 1e-20), -80.0)
    quiet = np.concatenate([[False], levels < quiet_line_db(levels), [False]])
    edges = np.diff(quiet.astype(int))
    runs = zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True)
    return [(a / 100, b / 100) for a, b in runs if (b - a) / 100 >= PAUSE_S]


def assert_well_formed(words: list[AlignedWord], text: str, duration: float) -> None:
    assert [w.text for w in words] == written_words(text)
    for word, after in zip(words, words[1:], strict=False):
        assert word.end <= after.start, (word, after)
    assert all(0.0 <= w.start < w.end <= duration + 1e-6 for w in words), words


# ---------------------------------------------------------------- the aligner


def test_aligned_words_match_the_voice_own_word_times(synth):
    audio, timeline = render(synth, LINE_9)
    words = align_words(audio, synth.sample_rate, LINE_9)
    assert_well_formed(words, LINE_9, len(audio) / synth.sample_rate)
    model = timeline.words
    starts = np.abs([w.start - m.start for w, m in zip(words, model, strict=True)])
    ends = np.abs([w.end - m.end for w, m in zip(words, model, strict=True)])
    # The model gives the space between two words its own duration (median 45 ms), heard as
    # the onset of the next word (a stop's closure, a glide in); a word's reported start is
    # that space's start (voice/timings.py), and the aligner starts words there too.
    print("start errors (ms):", np.round(1000 * starts))
    assert np.median(starts) <= 0.03, starts
    assert starts.max() <= 0.1, starts
    assert np.median(ends) <= 0.03, ends


def test_numbers_in_the_text_align(synth):
    audio, timeline = render(synth, NUMBERS)
    words = align_words(audio, synth.sample_rate, NUMBERS)
    assert_well_formed(words, NUMBERS, len(audio) / synth.sample_rate)
    for word, model in zip(words, timeline.words, strict=True):
        assert abs(word.start - model.start) <= 0.1 and abs(word.end - model.end) <= 0.1, (
            word, model)
    number, model = words[1], timeline.words[1]  # read as the front end read it, 1.4 s long
    overlap = min(number.end, model.end) - max(number.start, model.start)
    assert overlap >= 0.9 * (model.end - model.start)


def test_words_missing_from_the_dictionary_get_a_pronunciation():
    assert ipa_to_arpabet("zˈaɪnɚ") == ["Z", "AY", "N", "ER"]
    assert ipa_to_arpabet("dʒˈʌdʒ") == ["JH", "AH", "JH"]


@pytest.mark.parametrize("corpus", ["pmatthes", "ljspeech"])
def test_real_speech_aligns_with_pauses_between_words(shared_speech, corpus):
    samples, rate = speech(shared_speech, corpus)
    words = align_words(samples, rate, LINE_9)
    assert_well_formed(words, LINE_9, len(samples) / rate)
    found = [p for p in pauses(samples, rate) if words[0].start < p[0] and p[1] < words[-1].end]
    assert found, "the reading has pauses between phrases"
    for start, end in found:  # no word runs through a pause
        inside = [w for w in words if w.start < start + 0.03 and w.end > end - 0.03]
        assert not inside, (start, end, inside)
    by_text = {w.text: w for w in words}
    if corpus == "pmatthes":  # he pauses after "then,"; the pause lies between the words
        assert by_text["for"].start - by_text["then,"].end >= 0.1
    else:  # she runs "then, for" together and pauses after "purpose,"
        assert by_text["may"].start - by_text["purpose,"].end >= 0.2


def test_alignment_refuses_what_it_cannot_follow():
    with pytest.raises(AlignmentError, match="Cannot follow the text"):
        align_words(np.zeros(3 * 16000, np.float32), 16000, LINE_9)
    with pytest.raises(AlignmentError, match="no words"):
        align_words(np.zeros(16000, np.float32), 16000, " ... ")


# ---------------------------------------------------------------- reading a performance


@pytest.mark.parametrize(("corpus", "low_hz", "high_hz"),
                         [("pmatthes", 90.0, 150.0), ("ljspeech", 170.0, 260.0)])
def test_performance_of_real_speech(shared_speech, corpus, low_hz, high_hz):
    samples, rate = speech(shared_speech, corpus)
    performance = read_performance(samples, rate, LINE_9)
    assert isinstance(performance, Performance)
    assert performance.duration == pytest.approx(len(samples) / rate)
    assert [w.text for w in performance.words] == written_words(LINE_9)
    assert low_hz <= performance.median_hz <= high_hz
    pitch, level = performance.pitch_st, performance.level_db
    assert len(pitch) == len(level) == pytest.approx(performance.duration / 0.005, abs=2)
    assert abs(np.nanmedian(pitch)) < 0.5
    assert abs(np.nanmedian(level)) < 0.5
    assert 2.0 <= performance.range_st <= 15.0
    # Tracker slips do not survive: no step of an octave-ish size between frames.
    assert np.nanmax(np.abs(np.diff(pitch))) < 3.0
    assert np.nanmax(np.abs(pitch)) <= 18.0  # within an octave and a half of the median
    # Nothing is read between the words (pauses are NaN).
    times = performance.frame_times()
    outside = np.ones(len(times), bool)
    for word in performance.words:
        outside &= ~((times >= word.start) & (times < word.end))
    assert np.isnan(pitch[outside]).all() and np.isnan(level[outside]).all()


def test_the_trackers_agree_on_a_clean_voice_and_blips_are_dropped():
    # a harmonic voice gliding 130 -> 160 Hz: both trackers find it, and agree
    rate, seconds = 16_000, 1.5
    t = np.arange(int(rate * seconds)) / rate
    true_hz = 130.0 * (160.0 / 130.0) ** (t / seconds)
    phase = 2 * np.pi * np.cumsum(true_hz) / rate
    x = sum(np.sin(k * phase) / k for k in range(1, 11)).astype(np.float64) * 0.1
    f0 = agreed_f0(x, rate)
    frames = np.arange(len(f0)) * 0.005
    middle = (frames > 0.1) & (frames < seconds - 0.1)
    assert (f0[middle] > 0).mean() > 0.9
    truth = 130.0 * (160.0 / 130.0) ** (frames / seconds)
    found = middle & (f0 > 0)
    assert np.abs(12 * np.log2(f0[found] / truth[found])).max() < 0.5
    # a 15 ms voicing blip between unvoiced frames is not intonation
    track = 150.0 * 2 ** (np.linspace(-3, 3, 400) / 12)
    track[300:303] = 0.0
    track[303:306] = 400.0
    track[306:309] = 0.0
    st, median_hz = pitch_contour(track, np.ones(400, bool), 0.005)
    assert np.isnan(st[303:306]).all()
    assert median_hz == pytest.approx(150.0, rel=0.03)


def test_stereo_and_file_input(shared_speech, tmp_path):
    samples, rate = speech(shared_speech, "pmatthes")
    path = tmp_path / "take.wav"
    sf.write(path, np.stack([samples, 0.5 * samples], axis=1), rate)
    performance = read_performance_file(path, LINE_9)
    assert 90.0 <= performance.median_hz <= 150.0
    bad = tmp_path / "notes.wav"
    bad.write_text("not audio")
    with pytest.raises(AudioFileError):
        read_performance_file(bad, LINE_9)


def _short(x, rate):
    return x[int(1.3 * rate):int(1.5 * rate)]


def _silent(x, rate):
    return np.zeros(3 * rate, np.float32)


def _clipped(x, rate):  # in stereo: clipping is judged per channel
    return np.stack([np.clip(x * 20.0, -1.0, 1.0), 0.5 * x], axis=1)


def _noisy(x, rate):
    return (x + np.random.default_rng(0).normal(0.0, 0.05, len(x))).astype(np.float32)


@pytest.mark.parametrize(("spoil", "message"), [
    (_short, "Too short: the performance lasts only 0.20 s"),
    (_silent, "digitally silent"),
    (_clipped, "Clipped: .* samples hit full scale"),
    (_noisy, "Too noisy"),
])
def test_unusable_recordings_are_refused_with_the_reason(shared_speech, spoil, message):
    samples, rate = speech(shared_speech, "pmatthes")
    with pytest.raises(PerformanceError, match=message) as caught:
        read_performance(spoil(samples, rate), rate, LINE_9)
    assert "Too noisy" not in str(caught.value) or spoil is _noisy  # silence is not "noise"


def test_a_recording_of_another_text_is_refused(shared_speech):
    samples, rate = speech(shared_speech, "pmatthes", "LJ001-0010")
    with pytest.raises(PerformanceError, match="does not read the line: the recognizer heard"):
        read_performance(samples, rate, LINE_9)


def test_a_text_without_words_is_refused():
    with pytest.raises(PerformanceError, match="no words"):
        read_performance(np.zeros(16000, np.float32), 16000, "—")


def test_numbers_are_compared_as_spoken():
    assert spoken_text(NUMBERS) == "In nineteen eighty-four it cost five dollars."
    assert spoken_text("1,500 people") == "one thousand five hundred people"
    assert spoken_text("In 1500 or 150") == "In fifteen hundred or one hundred fifty"
