"""When each word and phoneme is heard in the output audio.

The speaker model says how many samples each phoneme id lasts (``voice.alignment``); the
text front end says which phonemes make which written word (``text.words``). Styling then
moves time (a tempo change, later span rates and breaks), so model times go through a
:class:`TimeMap` into the styled chunk, and a :class:`Timeline` adds up the chunks of a
whole text. Times are seconds from the start of the audio they describe.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from voicestudio.text.words import WordSlot, is_punctuation


@dataclass(frozen=True)
class PhonemeTime:
    symbol: str
    start: float
    end: float


@dataclass(frozen=True)
class WordTime:
    """A written word, when it is heard, the sentence it belongs to (0-based over the
    text) and its phonemes."""

    text: str
    start: float
    end: float
    sentence: int
    phonemes: tuple[PhonemeTime, ...] = ()

    def shifted(self, seconds: float) -> WordTime:
        return self.mapped(lambda t: t + seconds)

    def mapped(self, when) -> WordTime:
        """This word with every time ``t`` replaced by ``when(t)`` (an increasing map)."""
        return replace(self, start=when(self.start), end=when(self.end), phonemes=tuple(
            PhonemeTime(p.symbol, when(p.start), when(p.end)) for p in self.phonemes))


@dataclass(frozen=True)
class Pause:
    """Silence inserted into the styled audio where the model's sample ``at`` lands."""

    at: float
    seconds: float


@dataclass(frozen=True)
class TimeMap:
    """Piecewise-linear map from a sample of the model's output to seconds in the styled
    audio: ``model`` sample positions (increasing) and where each lands (``seconds``), then
    shifted by the pauses inserted before it."""

    model: np.ndarray
    seconds: np.ndarray
    pauses: tuple[Pause, ...] = ()

    @classmethod
    def tempo(cls, model_samples: int, sample_rate: int, speed: float = 1.0) -> TimeMap:
        """The whole sentence played ``speed`` times as fast (WORLD's uniform retiming)."""
        end = model_samples / sample_rate / speed
        return cls(np.array([0.0, float(model_samples)]), np.array([0.0, end]))

    def __call__(self, sample: float, start: bool = True) -> float:
        """Where ``sample`` is heard. At a pause's own position a start is heard after the
        pause and an end before it."""
        t = float(np.interp(sample, self.model, self.seconds))
        return t + sum(p.seconds for p in self.pauses
                       if sample > p.at or (start and sample == p.at))

    def with_pauses(self, pauses: tuple[Pause, ...]) -> TimeMap:
        return replace(self, pauses=self.pauses + pauses)


def sentence_word_times(
    slots: Sequence[WordSlot],
    phonemes: Sequence[str],
    id_spans: Sequence[tuple[int, int]],
    samples_per_id: np.ndarray,
    time_map: TimeMap,
    sentence: int,
) -> tuple[WordTime, ...]:
    """Word and phoneme times of one sentence. A word spans its phonemes without the
    punctuation after it (a comma's pause belongs to no word), and starts where
    :func:`onset_phoneme` says."""
    starts = np.concatenate([[0], np.cumsum(samples_per_id)])
    words = []
    for slot in slots:
        spoken = [k for k in range(slot.first, slot.end)
                  if phonemes[k] != " " and not is_punctuation(phonemes[k])
                  and id_spans[k][1] > id_spans[k][0]]
        times = tuple(
            PhonemeTime(phonemes[k], time_map(starts[id_spans[k][0]]),
                        time_map(starts[id_spans[k][1]], start=False))
            for k in spoken
        )
        first = onset_phoneme(phonemes, slot.first)
        if spoken and spoken[0] != slot.first:
            first = spoken[0]
        onset = time_map(starts[id_spans[first][0]] if first < len(id_spans) else starts[-1])
        if times:
            words.append(WordTime(slot.text, onset, times[-1].end, sentence, times))
        else:  # a word with nothing of its own (shared out to its neighbours): a point in time
            words.append(WordTime(slot.text, onset, onset, sentence))
    return tuple(words)


def onset_phoneme(phonemes: Sequence[str], first: int) -> int:
    """Where a word starting at phoneme ``first`` is first heard: at the word separator before
    it, which the model spends on the word's onset (a stop's closure, a glide in), unless
    punctuation comes before the separator (then it is still the pause). A forced aligner
    agrees: on the bundled voice its word starts lay a median 45 ms before the first phoneme
    and within about 20 ms of this onset."""
    if 0 < first < len(phonemes) and phonemes[first - 1] == " " and not (
            first > 1 and is_punctuation(phonemes[first - 2])):
        return first - 1
    return first


@dataclass
class Timeline:
    """Word times over a stream of chunks. ``available`` turns False (with the reason) as
    soon as one chunk came without times: partial timings would mislead."""

    words: list[WordTime] = field(default_factory=list)
    duration: float = 0.0
    available: bool = True
    reason: str = ""

    def add(self, words: Sequence[WordTime] | None, seconds: float, reason: str = "") -> None:
        """A chunk of ``seconds`` whose word times (from its own start) are ``words``."""
        if words is None:
            if self.available:
                self.available, self.reason = False, reason or "no timings for this voice"
        elif self.available:
            self.words.extend(w.shifted(self.duration) for w in words)
        self.duration += seconds
