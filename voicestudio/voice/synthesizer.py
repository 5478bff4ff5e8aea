"""Text → styled speech, one sentence at a time.

``synthesize()`` is a generator (as in Piper's ``voice.py``): the first sentence
is ready after one model pass, long texts stream with bounded memory, and a
consumer can stop at any point.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from voicestudio.errors import InputTextError
from voicestudio.styling.calibration import ProsodyCalibration
from voicestudio.styling.controls import StyleControls, resolve
from voicestudio.styling.render import TARGET_LEVEL_DBFS, set_level, style_audio
from voicestudio.text.lexicon import Lexicon, phonemize_with
from voicestudio.text.normalize import (
    CleanText,
    Dropped,
    clean_text,
    is_latin_voice,
    other_script_noun,
    split_sentences,
)
from voicestudio.voice.model import VoiceModel, config_ids, text_phonemes

#: Silence after each sentence, before tempo changes.
SENTENCE_PAUSE_S = 0.25


@dataclass
class TextReport:
    """What reading a text left out, counted by kind over the whole text. Counts are the
    record; :meth:`messages` words them for people, and nothing parses those words back."""

    #: Characters the cleaning dropped (control characters, emoji and symbols...).
    dropped: Counter[Dropped] = field(default_factory=Counter)
    #: Letters of scripts a Latin voice cannot speak, by script ("CJK", "Arabic").
    other_scripts: Counter[str] = field(default_factory=Counter)
    #: Pieces made only of punctuation (espeak would name each mark).
    wordless_pieces: int = 0
    #: Phonemes the voice has no id for.
    unknown_phonemes: int = 0
    #: Sentences that were spoken.
    sentences: int = 0

    def add_cleaned(self, cleaned: CleanText) -> None:
        self.dropped.update(cleaned.dropped)
        self.other_scripts.update(cleaned.scripts)

    @property
    def skipped(self) -> int:
        """Everything left out, summed over the kinds."""
        return (sum(self.dropped.values()) + sum(self.other_scripts.values())
                + self.wordless_pieces + self.unknown_phonemes)

    def messages(self) -> list[str]:
        """One sentence per kind of problem, for display ("skipped 2 emoji and symbols")."""
        counts = [(kind.value, n) for kind, n in self.dropped.items()]
        counts += [(other_script_noun(script), n) for script, n in self.other_scripts.items()]
        counts += [("pieces of punctuation without words", self.wordless_pieces),
                   ("phonemes the voice does not know", self.unknown_phonemes)]
        return [f"skipped {n} {_singular(what) if n == 1 else what}" for what, n in counts if n]


def _singular(what: str) -> str:
    for plural in ("characters", "symbols", "phonemes", "pieces"):
        what = what.replace(plural, plural[:-1])
    return what


@dataclass(frozen=True)
class Sentence:
    index: int
    text: str
    ids: list[int]


@dataclass(frozen=True)
class SpeechChunk:
    """One sentence of audio (pause included) and the text it came from."""

    index: int
    text: str
    samples: np.ndarray
    sample_rate: int


class Synthesizer:
    """A voice plus the text front end and the styling pass."""

    def __init__(self, voice: VoiceModel, f0_method: str = "rapt",
                 lexicon: Lexicon | None = None) -> None:
        self.voice = voice
        self.f0_method = f0_method
        #: How words are said (the user's and the project's pronunciations); replaceable.
        self.lexicon = lexicon or Lexicon()
        self.calibration = ProsodyCalibration.from_sidecar(voice.config.extra)
        config = voice.config
        self._latin = config.phoneme_type == "espeak" and is_latin_voice(config.espeak_voice)

    @property
    def sample_rate(self) -> int:
        return self.voice.sample_rate

    def sentences(self, text: str, report: TextReport | None = None) -> Iterator[Sentence]:
        """Clean, split and phonemize lazily; raise if nothing in ``text`` can be spoken."""
        if not isinstance(text, str) or not text.strip():
            raise InputTextError("nothing to say: the text is empty")
        report = report if report is not None else TextReport()
        index = 0
        for piece in split_sentences(text):
            cleaned = clean_text(piece, latin_only=self._latin)
            report.add_cleaned(cleaned)
            if not cleaned.text:
                continue
            if not any(ch.isalnum() for ch in cleaned.text):
                report.wordless_pieces += 1
                continue
            # espeak ends a sentence after "Mr." too; the splitter above decided what a sentence
            # is, so espeak's pieces of it are spoken as one utterance.
            phonemes = self._phonemes(cleaned.text)
            ids, missing = config_ids(phonemes, self.voice.config)
            if missing:
                report.unknown_phonemes += len(missing)
            if len(ids) <= 4:  # BOS, PAD, EOS only: punctuation without words
                continue
            report.sentences += 1
            yield Sentence(index, cleaned.text, ids)
            index += 1
        if index == 0:
            detail = "; ".join(report.messages())
            detail = f" ({detail})" if detail else ""
            raise InputTextError(f"nothing speakable in the text{detail}")

    def _phonemes(self, text: str) -> list[str]:
        """One sentence's phonemes: espeak's pieces of it joined, the lexicon applied."""
        config = self.voice.config
        if self.lexicon:
            return phonemize_with(self.lexicon, text, lambda t: text_phonemes(t, config),
                                  config.phoneme_id_map)
        groups = text_phonemes(text, config)
        return [p for i, group in enumerate(groups) for p in ([" "] if i else []) + group]

    def speaker_audio(self, sentence: Sentence, variability: float = 1.0) -> np.ndarray:
        """The speaker model's output for one sentence, at the standard speech level."""
        c = self.voice.config
        raw = self.voice.infer(sentence.ids, noise_scale=c.noise_scale * variability,
                               noise_w=c.noise_w * variability)
        return set_level(raw, self.sample_rate, TARGET_LEVEL_DBFS)

    def pause(self, speed: float) -> np.ndarray:
        return np.zeros(int(round(SENTENCE_PAUSE_S / speed * self.sample_rate)), dtype=np.float32)

    def synthesize(
        self,
        text: str,
        controls: StyleControls | None = None,
        report: TextReport | None = None,
    ) -> Iterator[SpeechChunk]:
        """Yield one styled chunk per sentence. Validation errors surface before any audio."""
        controls = (controls or StyleControls()).validated()
        params = resolve(controls, self.calibration)
        sentences = self.sentences(text, report)
        first = next(sentences)  # raises InputTextError for empty/unspeakable text right away
        for sentence in _chain(first, sentences):
            raw = self.speaker_audio(sentence, controls.variability)
            styled = style_audio(raw, self.sample_rate, params, f0_method=self.f0_method)
            audio = np.concatenate([styled, self.pause(params.speed)])
            yield SpeechChunk(sentence.index, sentence.text, audio, self.sample_rate)


def _chain(first: Sentence, rest: Iterator[Sentence]) -> Iterator[Sentence]:
    yield first
    yield from rest
