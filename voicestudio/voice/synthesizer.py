"""Text → styled speech, one sentence at a time.

``synthesize()`` is a generator (as in Piper's ``voice.py``): the first sentence
is ready after one model pass, long texts stream with bounded memory, and a
consumer can stop at any point.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, fields

import numpy as np

from voicestudio.errors import InputTextError
from voicestudio.styling.calibration import ProsodyCalibration
from voicestudio.styling.controls import StyleControls, StyleParams, resolve
from voicestudio.styling.render import TARGET_LEVEL_DBFS, set_level, style_audio
from voicestudio.styling.world import FrameEdits, WorldAnalysis, frame_hop
from voicestudio.text.lexicon import Lexicon, Segment, phonemize_with
from voicestudio.text.markup import MarkupDocument, Run, SpanStyle, read_document
from voicestudio.text.normalize import (
    CleanText,
    Dropped,
    clean_text,
    is_latin_voice,
    other_script_noun,
    split_sentences,
)
from voicestudio.text.phonemize import phoneme_id_spans
from voicestudio.text.words import WordSlot, word_slots, written_words
from voicestudio.voice.model import Inference, VoiceModel, text_phonemes
from voicestudio.voice.spans import (
    WordSpan,
    edited_time_map,
    frame_edits,
    insert_pauses,
    pauses_between,
)
from voicestudio.voice.timings import (
    Pause,
    TimeMap,
    WordTime,
    onset_phoneme,
    sentence_word_times,
)
from voicestudio.voice.utterance import MarkedSentence, marked_sentences

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
    #: Sentences whose markup spans or pauses could not be placed (the voice gives no
    #: phoneme durations): spoken plainly.
    unplaced_markup: int = 0
    #: Performed sentences whose timing was stretched in WORLD, as the voice could not
    #: speak them at given phoneme durations (``voice/perform.py``).
    stretched_timing: int = 0

    def add_cleaned(self, cleaned: CleanText) -> None:
        self.dropped.update(cleaned.dropped)
        self.other_scripts.update(cleaned.scripts)

    def add(self, other: TextReport) -> None:
        """Count ``other``'s findings too (a text read once, reported on each render)."""
        for name in (f.name for f in fields(self)):
            mine = getattr(self, name)
            if isinstance(mine, Counter):
                mine.update(getattr(other, name))
            else:
                setattr(self, name, mine + getattr(other, name))

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
        messages = [f"skipped {n} {_singular(what) if n == 1 else what}"
                    for what, n in counts if n]
        if self.unplaced_markup:
            messages.append(f"spoke {self.unplaced_markup} sentence(s) without their markup "
                            "spans and pauses: this voice gives no phoneme durations")
        if self.stretched_timing:
            messages.append(f"stretched the plain rendering of {self.stretched_timing} "
                            "sentence(s) to the performance's timing: this voice could not "
                            "speak it at given phoneme durations")
        return messages


def _singular(what: str) -> str:
    for plural in ("characters", "symbols", "phonemes", "pieces"):
        what = what.replace(plural, plural[:-1])
    return what


@dataclass(frozen=True)
class Sentence:
    index: int
    text: str
    ids: list[int]
    #: The phonemes the ids came from, the ids each became, and the words they make.
    phonemes: tuple[str, ...] = ()
    id_spans: tuple[tuple[int, int], ...] = ()
    words: tuple[WordSlot, ...] = ()
    #: Markup's asks, per word: its span style and the silence after it (empty: plain text);
    #: and the silence before the sentence (a break before the first word of the text).
    styles: tuple[SpanStyle, ...] = ()
    pauses: tuple[float, ...] = ()
    lead: float = 0.0

    @property
    def marked(self) -> bool:
        """Markup asks for something inside the sentence (a span's style, a pause)."""
        return any(not st.neutral for st in self.styles) or any(p > 0 for p in self.pauses[:-1])

    @property
    def pause_after(self) -> float:
        """Silence markup asks for after the sentence's last word."""
        return self.pauses[-1] if self.pauses else 0.0


@dataclass(frozen=True)
class SpeechChunk:
    """One sentence of audio (pause included), the text it came from and when its words are
    heard (seconds from the chunk's start; None when the voice gives no durations)."""

    index: int
    text: str
    samples: np.ndarray
    sample_rate: int
    words: tuple[WordTime, ...] | None = None


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

    def sentences(self, text: str, report: TextReport | None = None,
                  markup: bool | None = None) -> Iterator[Sentence]:
        """Clean, split and phonemize lazily; raise if nothing in ``text`` can be spoken.
        ``markup``: True reads ``text`` as speech markup, False as plain text, None (the
        default) as markup when it starts with ``<speak>``; bad markup raises MarkupError
        before anything is spoken."""
        if not isinstance(text, str) or not text.strip():
            raise InputTextError("nothing to say: the text is empty")
        report = report if report is not None else TextReport()
        document = read_document(text, markup)
        if _is_plain(document):
            return self._plain_sentences(document.text, report)
        return self._marked_sentences(document, report)

    def _plain_sentences(self, text: str, report: TextReport) -> Iterator[Sentence]:
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
            ids, spans, missing = phoneme_id_spans(phonemes, self.voice.config.phoneme_id_map)
            if missing:
                report.unknown_phonemes += len(missing)
            if len(ids) <= 4:  # BOS, PAD, EOS only: punctuation without words
                continue
            report.sentences += 1
            written = written_words(cleaned.text)
            words = word_slots(written, phonemes, lambda i, w=written: self._phonemes(w[i]))
            yield Sentence(index, cleaned.text, ids, tuple(phonemes), tuple(spans), tuple(words))
            index += 1
        if index == 0:
            _nothing_speakable(report)

    def _marked_sentences(self, document: MarkupDocument, report: TextReport
                          ) -> Iterator[Sentence]:
        index = 0
        lead = 0.0
        for marked in marked_sentences(document):
            lead += marked.lead
            sentence = self._marked_sentence(marked, index, lead, report)
            if sentence is None:  # nothing spoken: its breaks still come before what follows
                lead += sum(t.pause_after for t in marked.tokens)
                continue
            yield sentence
            lead = 0.0
            index += 1
        if index == 0:
            _nothing_speakable(report)

    def _marked_sentence(self, marked: MarkedSentence, index: int, lead: float,
                         report: TextReport) -> Sentence | None:
        """One sentence of markup: its words cleaned, phonemized together (``<phoneme>``
        words as given), each word keeping its style and the pause after it."""
        words: list[str] = []
        alone: list[Callable[[], list[str]]] = []  # each word's phonemes on its own
        styles: list[SpanStyle] = []
        pauses: list[float] = []
        segments: list[Segment] = []
        for token in marked.tokens:
            if token.phonemes is not None:
                fixed = tuple(unicodedata.normalize("NFD", token.phonemes))
                segments.append(Segment(token.text, fixed))
                shown, own = token.shown, (lambda f=fixed: list(f))
            else:
                cleaned = clean_text(token.text, latin_only=self._latin)
                report.add_cleaned(cleaned)
                if cleaned.text:  # punctuation too: it shapes the intonation
                    if segments and not segments[-1].fixed:
                        segments[-1] = Segment(f"{segments[-1].text} {cleaned.text}")
                    else:
                        segments.append(Segment(cleaned.text))
                if not written_words(cleaned.text):  # no word: its pause goes to the one before
                    if pauses:
                        pauses[-1] += token.pause_after
                    else:
                        lead += token.pause_after
                    continue
                shown = token.shown if token.unit else cleaned.text
                own = lambda t=cleaned.text: self._phonemes(t)  # noqa: E731
            words.append(shown)
            alone.append(own)
            styles.append(token.style)
            pauses.append(token.pause_after)
        if not words:
            report.wordless_pieces += 1
            return None
        config = self.voice.config
        phonemes = phonemize_with(self.lexicon, segments, lambda t: text_phonemes(t, config),
                                  config.phoneme_id_map)
        ids, spans, missing = phoneme_id_spans(phonemes, config.phoneme_id_map)
        report.unknown_phonemes += len(missing)
        if len(ids) <= 4:
            return None
        report.sentences += 1
        slots = word_slots(words, phonemes, lambda i: alone[i]())
        return Sentence(index, " ".join(words), ids, tuple(phonemes), tuple(spans),
                        tuple(slots), tuple(styles), tuple(pauses), lead)

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
        return self.speaker_output(sentence, variability).audio

    def speaker_output(self, sentence: Sentence, variability: float = 1.0,
                       length_scale: float | None = None, noise_w: float | None = None
                       ) -> Inference:
        """:meth:`speaker_audio` with the samples each phoneme id lasts (when the voice says).
        ``length_scale`` and ``noise_w`` replace the voice's own (dubbing fits a length)."""
        c = self.voice.config
        out = self.voice.infer_aligned(
            sentence.ids, noise_scale=c.noise_scale * variability,
            length_scale=c.length_scale if length_scale is None else length_scale,
            noise_w=c.noise_w * variability if noise_w is None else noise_w)
        return Inference(set_level(out.audio, self.sample_rate, TARGET_LEVEL_DBFS),
                         out.samples_per_id)

    def timed_output(self, sentence: Sentence, frames: np.ndarray, variability: float = 1.0
                     ) -> Inference:
        """:meth:`speaker_output` with phoneme id ``i`` lasting ``frames[i]`` model frames
        (:meth:`VoiceModel.infer_timed`): the sentence spoken at a given timing."""
        c = self.voice.config
        out = self.voice.infer_timed(sentence.ids, frames, noise_scale=c.noise_scale * variability)
        return Inference(set_level(out.audio, self.sample_rate, TARGET_LEVEL_DBFS),
                         out.samples_per_id)

    def pause(self, speed: float) -> np.ndarray:
        return np.zeros(int(round(SENTENCE_PAUSE_S / speed * self.sample_rate)), dtype=np.float32)

    def render_sentence(self, sentence: Sentence, output: Inference, params: StyleParams,
                        analysis: WorldAnalysis | None = None,
                        report: TextReport | None = None,
                        restyle: Restyle | None = None) -> SpeechChunk:
        """One sentence styled (its markup spans and pauses included), with the pause after
        it and when its words are heard. ``analysis`` is the model output's WORLD analysis
        when the caller keeps one (the preview). ``restyle`` (a performance's timing,
        intonation and loudness) replaces what markup would ask."""
        sr = self.sample_rate
        durations = output.samples_per_id
        edits, time_map = None, TimeMap.tempo(len(output.audio), sr, params.speed)
        if restyle is not None:
            hop = frame_hop(sr)
            edits = restyle.edits
            if edits is not None:
                time_map = edited_time_map(edits, hop, sr, params.speed)
            time_map = time_map.with_pauses(restyle.pauses)
        elif sentence.marked and durations is None:
            if report is not None:
                report.unplaced_markup += 1
        elif sentence.marked:
            spans = self._word_spans(sentence, durations)
            hop = frame_hop(sr)
            frames = len(analysis.f0) if analysis is not None else len(output.audio) // hop + 1
            edits = frame_edits(spans, frames, hop, sr)
            if edits is not None:
                time_map = edited_time_map(edits, hop, sr, params.speed)
            time_map = time_map.with_pauses(pauses_between(spans))
        styled = style_audio(output.audio, sr, params, analysis=analysis,
                             f0_method=self.f0_method, edits=edits)
        styled = insert_pauses(styled, sr, time_map)
        words = None
        if durations is not None:
            words = sentence_word_times(sentence.words, sentence.phonemes, sentence.id_spans,
                                        durations, time_map, sentence.index)
        lead = np.zeros(int(round(sentence.lead * sr)), np.float32)
        if words is not None and len(lead):
            words = tuple(w.shifted(len(lead) / sr) for w in words)
        after = np.zeros(int(round(sentence.pause_after * sr)), np.float32)
        audio = np.concatenate([lead, styled, self.pause(params.speed), after])
        return SpeechChunk(sentence.index, sentence.text, audio, sr, words)

    def _word_spans(self, sentence: Sentence, durations: np.ndarray) -> list[WordSpan]:
        """Each word's samples in the model output, with its markup style and pause."""
        starts = np.concatenate([[0], np.cumsum(durations)])
        spans = []
        for k, slot in enumerate(sentence.words):
            first = onset_phoneme(sentence.phonemes, slot.first)
            a = sentence.id_spans[first][0] if first < len(sentence.id_spans) else -1
            b = sentence.id_spans[slot.end - 1][1] if slot.end > slot.first else a
            spans.append(WordSpan(int(starts[a]), int(starts[b]), sentence.styles[k],
                                  sentence.pauses[k]))
        return spans

    def synthesize(
        self,
        text: str,
        controls: StyleControls | None = None,
        report: TextReport | None = None,
        markup: bool | None = None,
    ) -> Iterator[SpeechChunk]:
        """Yield one styled chunk per sentence. Validation errors surface before any audio.
        ``markup`` as in :meth:`sentences`."""
        controls = (controls or StyleControls()).validated()
        params = resolve(controls, self.calibration)
        report = report if report is not None else TextReport()
        sentences = self.sentences(text, report, markup)
        first = next(sentences)  # raises InputTextError for empty/unspeakable text right away
        for sentence in _chain(first, sentences):
            raw = self.speaker_output(sentence, controls.variability)
            yield self.render_sentence(sentence, raw, params, report=report)


@dataclass(frozen=True)
class Restyle:
    """Per-frame edits and inserted pauses for one sentence, made outside the synthesizer
    (``voice/perform.py``: a performance's timing, intonation and loudness)."""

    edits: FrameEdits | None = None
    pauses: tuple[Pause, ...] = ()


def _is_plain(document: MarkupDocument) -> bool:
    """Nothing but text: the plain front end reads it, exactly as before markup existed."""
    pieces = document.pieces
    return len(pieces) <= 1 and all(
        isinstance(p, Run) and p.style.neutral and p.phonemes is None and p.written is None
        for p in pieces)


def _nothing_speakable(report: TextReport) -> None:
    detail = "; ".join(report.messages())
    detail = f" ({detail})" if detail else ""
    raise InputTextError(f"nothing speakable in the text{detail}")


def _chain(first: Sentence, rest: Iterator[Sentence]) -> Iterator[Sentence]:
    yield first
    yield from rest
