"""When each word of a known text is spoken in a recording: forced alignment.

PocketSphinx aligns the text's words to the audio (its US-English acoustic model and CMU
dictionary, 10 ms frames). Two things need help on top of it:

- **Words the dictionary lacks.** Numbers are read with the same expansions the text front
  end uses ("1984" as a year, as a cardinal, or as espeak says it: each a pronunciation
  variant, the aligner picks the one spoken); other unknown words (names) get espeak's
  pronunciation mapped onto the dictionary's phones. A word nothing can pronounce is left out
  of the alignment and placed between its neighbours afterwards.
- **Word edges at pauses.** The aligner may give a pause to the word before or after it
  ("then," lasting through the comma's pause). Each word's edges are moved off the quiet
  frames at its start and end, judged against the recording's own speech and noise levels,
  so that pauses lie between words.

Times are seconds in the audio given. Qt-free; one decoder per process behind a lock.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from dataclasses import dataclass

import numpy as np

from voicestudio.audio.cleanup import prepare_samples
from voicestudio.audio.io import resample
from voicestudio.audio.recognizer import ASR_RATE
from voicestudio.errors import VoiceStudioError
from voicestudio.text.say_as import cardinal_words, year_words
from voicestudio.text.words import written_words

#: PocketSphinx's frame: 10 ms at 16 kHz.
FRAME_S = 0.01
_FRAME = int(ASR_RATE * FRAME_S)

# -- edge refinement. Frame levels are 10 ms RMS in dB. The speech reference is a high
# percentile of all frames (the vowels), the noise floor a low one (pauses, or the
# quietest consonants of a clip trimmed tight).
_SPEECH_PERCENTILE = 95.0
_NOISE_PERCENTILE = 5.0
#: A frame is quiet when it is below the noise floor + this share of the speech-to-noise
#: range, and never above this many dB under the speech reference: weak fricatives ("f",
#: "th") sit 25-35 dB under the vowels, so a higher line would eat them on clean audio.
_QUIET_SHARE = 0.3
_QUIET_MAX_BELOW_SPEECH_DB = 30.0
#: Digitally silent frames (synthesis pads, a gated microphone) count as this level.
_FLOOR_DB = -80.0
#: Quiet runs shorter than this at a word's edge stay in the word: a stop's closure or the
#: gap of a short hesitation is part of how the word is said, not a pause.
_MIN_PAUSE_S = 0.05
#: A quiet run this long inside a word is a pause the aligner put in the wrong place (after
#: a word's first sounds, or before its last): no word holds a silence this long.
_INNER_PAUSE_S = 0.12
#: Kept before the first loud frame of a word that starts with a stop consonant (p, t, k,
#: b, d, g, ch, j): its closure is silent but belongs to the word.
_STOP_CLOSURE_S = 0.04
_STOPS = frozenset({"P", "T", "K", "B", "D", "G", "CH", "JH"})

_FILLERS = ("<s>", "</s>", "<sil>")
_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z0-9]+)*")
_VARIANT = re.compile(r"\(\d+\)$")
#: Longest digit string read as a number (as ``text.say_as`` does); longer are spelled by espeak.
_MAX_NUMBER_DIGITS = 15

_decoder = None
_decoder_lock = threading.Lock()


class AlignmentError(VoiceStudioError):
    """The text cannot be aligned to the recording at all."""


@dataclass(frozen=True)
class AlignedWord:
    """A written word of the transcript (as ``text.words.written_words`` gives it) and when
    it is spoken, in seconds from the start of the audio."""

    text: str
    start: float
    end: float


def align_words(samples: np.ndarray, sample_rate: int, transcript: str) -> list[AlignedWord]:
    """One :class:`AlignedWord` per written word of ``transcript``, in order.

    ``samples`` are mono or frames × channels floats in [-1, 1]. Raises
    :class:`AlignmentError` when the text has no words or the recording cannot be aligned
    to it (far too short for the text, or silence), and the take checks' InvalidAudioError
    for empty or broken samples.
    """
    words = written_words(transcript)
    if not words:
        raise AlignmentError("Nothing to align: the text has no words.")
    mono = prepare_samples(samples, sample_rate)
    x = resample(mono, int(sample_rate), ASR_RATE)
    pcm = (np.clip(x, -1.0, 1.0) * 32767.0).astype("<i2")
    n_frames = max(1, len(x) // _FRAME)

    with _decoder_lock:
        decoder = _get_decoder()
        keys = [[_dictionary_key(decoder, token) for token in _tokens(word)] for word in words]
        owners = [i for i, word_keys in enumerate(keys) for key in word_keys if key is not None]
        sequence = [key for word_keys in keys for key in word_keys if key is not None]
        if not sequence:
            raise AlignmentError(
                f"None of the words of “{transcript.strip()}” can be pronounced for alignment."
            )
        segments = _force_align(decoder, pcm, sequence)
        first_phones = [_first_phone(decoder, key) for key in sequence]

    spans: list[tuple[int, int] | None] = [None] * len(words)
    starts_with_stop = [False] * len(words)
    for (start, end), owner, phone in zip(segments, owners, first_phones, strict=True):
        if spans[owner] is None:
            spans[owner] = (start, end)
            starts_with_stop[owner] = phone in _STOPS
        else:
            spans[owner] = (spans[owner][0], end)

    levels = _frame_levels(pcm, n_frames)
    refined = [
        None if span is None else _refine(span, levels, stop)
        for span, stop in zip(_move_inner_pauses(spans, levels), starts_with_stop, strict=True)
    ]
    return [
        AlignedWord(word, round(a * FRAME_S, 3), round(b * FRAME_S, 3))
        for word, (a, b) in zip(words, _fill_gaps(refined, n_frames), strict=True)
    ]


# ---------------------------------------------------------------- the decoder


def _get_decoder():
    """The aligner's own decoder (no language model: alignment needs only the dictionary and
    the acoustic model). Loading takes ~0.3 s; the words added to its dictionary stay."""
    global _decoder
    if _decoder is None:
        from pocketsphinx import Decoder  # imported lazily: only alignment needs it

        _decoder = Decoder(samprate=ASR_RATE, lm=None, loglevel="FATAL")
    return _decoder


def _force_align(decoder, pcm: np.ndarray, sequence: list[str]) -> list[tuple[int, int]]:
    """(first frame, end frame) of each word of ``sequence``, end exclusive.

    The feature front end is reset first (cepstral-mean statistics would otherwise carry
    over from the previous recording, as in ``recognizer.transcribe``).
    """
    text = " ".join(sequence)
    try:
        decoder.set_align_text(text)
    except RuntimeError as exc:  # a word missing from the dictionary: a bug in _dictionary_key
        raise AlignmentError(f"Cannot set up the alignment of “{text}”: {exc}") from exc
    decoder.reinit_feat()
    decoder.start_utt()
    decoder.process_raw(pcm.tobytes(), no_search=False, full_utt=True)
    decoder.end_utt()
    found = [
        (_VARIANT.sub("", seg.word), seg.start_frame, seg.end_frame + 1)
        for seg in (decoder.seg() or [])
        if seg.word not in _FILLERS and not seg.word.startswith("[")
    ]
    if [word for word, _, _ in found] != sequence:
        seconds = len(pcm) / ASR_RATE
        raise AlignmentError(
            f"Cannot follow the text in this recording ({seconds:.1f} s): it may be silent, "
            "far too short for the text, or say something else."
        )
    return [(start, end) for _, start, end in found]


def _first_phone(decoder, key: str) -> str:
    pronunciation = decoder.lookup_word(key) or ""
    return pronunciation.split(" ", 1)[0]


# ---------------------------------------------------------------- words the dictionary lacks


def _tokens(word: str) -> list[str]:
    """The dictionary-shaped pieces of a written word: lowercase ASCII letters and digits,
    apostrophes inside kept ("Caslon's"), hyphens and other marks splitting ("picture-books")."""
    plain = unicodedata.normalize("NFKD", word.replace("\u2019", "'"))
    plain = "".join(ch for ch in plain if not unicodedata.combining(ch)).lower()
    return _TOKEN.findall(plain)


def _dictionary_key(decoder, token: str) -> str | None:
    """The dictionary word to align ``token`` with, adding it (with its variants) when
    missing; None when it cannot be pronounced."""
    if decoder.lookup_word(token) is not None:
        return token
    variants: list[str] = []
    if token.isdigit() and len(token.lstrip("0") or "0") <= _MAX_NUMBER_DIGITS:
        number = int(token)
        readings = [cardinal_words(number)]
        if 1000 <= number < 10000:
            readings.insert(0, year_words(number))
        for reading in readings:
            phones = _spelled(decoder, reading)
            if phones:
                variants.append(phones)
    phones = _espeak_phones(token)
    if phones:
        variants.append(phones)
    variants = list(dict.fromkeys(variants))
    if not variants:
        return None
    for i, phones in enumerate(variants):
        decoder.add_word(token if i == 0 else f"{token}({i + 1})", phones, i == len(variants) - 1)
    return token


def _spelled(decoder, reading: str) -> str | None:
    """The dictionary pronunciation of a phrase of known words ("nineteen eighty-four")."""
    parts = [decoder.lookup_word(w) for w in re.split(r"[\s-]+", reading.strip()) if w]
    return " ".join(parts) if parts and all(parts) else None


def _espeak_phones(token: str) -> str | None:
    """espeak-ng's US-English pronunciation of ``token`` in the dictionary's phones."""
    from voicestudio.text.phonemize import phonemize  # espeak loads only when a word needs it

    try:
        sentences = phonemize(token, "en-us")
    except Exception:  # noqa: BLE001 - a broken espeak leaves the word to be interpolated
        return None
    phones = ipa_to_arpabet("".join("".join(s) for s in sentences))
    return " ".join(phones) if phones else None


#: espeak's IPA → the CMU dictionary's phones, longest symbols first.
_IPA_TO_ARPABET = {
    "aɪə": "AY ER", "aʊə": "AW ER", "ɑːɹ": "AA R", "ɔːɹ": "AO R", "ɪɹ": "IH R", "ɛɹ": "EH R",
    "ʊɹ": "UH R", "aɪ": "AY", "aʊ": "AW", "eɪ": "EY", "oʊ": "OW", "əʊ": "OW", "ɔɪ": "OY",
    "tʃ": "CH", "dʒ": "JH", "ɜː": "ER", "ɑː": "AA", "iː": "IY", "uː": "UW", "ɔː": "AO",
    "oː": "OW", "ɚ": "ER", "ɝ": "ER", "ɜ": "ER", "i": "IY", "ɪ": "IH", "ᵻ": "IH", "e": "EH",
    "ɛ": "EH", "æ": "AE", "a": "AA", "ɑ": "AA", "ɒ": "AA", "ɔ": "AO", "o": "OW", "ʊ": "UH",
    "u": "UW", "ʌ": "AH", "ə": "AH", "ɐ": "AH", "y": "UW", "ø": "ER", "œ": "ER",
    "p": "P", "b": "B", "t": "T", "d": "D", "k": "K", "ɡ": "G", "g": "G", "f": "F", "v": "V",
    "θ": "TH", "ð": "DH", "s": "S", "z": "Z", "ʃ": "SH", "ʒ": "ZH", "h": "HH", "m": "M",
    "n": "N", "ŋ": "NG", "l": "L", "ɫ": "L", "ɬ": "L", "ɹ": "R", "r": "R", "ɾ": "T", "ʔ": "T",
    "j": "Y", "w": "W", "x": "K", "ç": "HH", "ʍ": "W",
}
_LONGEST_IPA = max(len(k) for k in _IPA_TO_ARPABET)


def ipa_to_arpabet(ipa: str) -> list[str]:
    """Dictionary phones for an espeak IPA string; stress, length and marks it has no phone
    for are skipped (the aligner only needs a close pronunciation)."""
    ipa = "".join(ch for ch in ipa if ch not in "ˈˌ")
    phones: list[str] = []
    i = 0
    while i < len(ipa):
        for size in range(min(_LONGEST_IPA, len(ipa) - i), 0, -1):
            mapped = _IPA_TO_ARPABET.get(ipa[i:i + size])
            if mapped is not None:
                phones.extend(mapped.split())
                i += size
                break
        else:
            i += 1
    return phones


# ---------------------------------------------------------------- word edges


def _frame_levels(pcm: np.ndarray, n_frames: int) -> np.ndarray:
    """RMS level of each 10 ms frame in dB (full scale 0)."""
    x = np.zeros(n_frames * _FRAME, dtype=np.float64)
    usable = min(len(pcm), len(x))
    x[:usable] = pcm[:usable] / 32768.0
    power = np.mean(x.reshape(n_frames, _FRAME) ** 2, axis=1)
    return np.maximum(10.0 * np.log10(np.maximum(power, 1e-20)), _FLOOR_DB)


def quiet_line_db(levels: np.ndarray) -> float:
    """The level under which a frame counts as a pause in a recording, from its frame levels
    in dB (digital silence counted as ``_FLOOR_DB``, so synthesis pads do not sink it)."""
    levels = np.maximum(levels, _FLOOR_DB)
    speech = float(np.percentile(levels, _SPEECH_PERCENTILE))
    noise = float(np.percentile(levels, _NOISE_PERCENTILE))
    return min(noise + _QUIET_SHARE * (speech - noise), speech - _QUIET_MAX_BELOW_SPEECH_DB)


def _move_inner_pauses(
    spans: list[tuple[int, int] | None], levels: np.ndarray
) -> list[tuple[int, int] | None]:
    """Words holding a long pause: the shorter side of the pause goes to the neighbour it
    touches ("books by" with the end of "books" given to "by", then the pause)."""
    out = list(spans)
    line = quiet_line_db(levels)
    min_run = int(round(_INNER_PAUSE_S / FRAME_S))
    for i, span in enumerate(out):
        if span is None:
            continue
        start, end = span
        quiet = np.concatenate([[0], (levels[start:end] < line).astype(np.int8), [0]])
        edges = np.diff(quiet)
        runs = [(start + a, start + b) for a, b in
                zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True)
                if b - a >= min_run and a > 0 and start + b < end]
        if not runs:
            continue
        q0, q1 = max(runs, key=lambda r: r[1] - r[0])
        before = out[i - 1] if i > 0 else None
        after = out[i + 1] if i + 1 < len(out) else None
        if q0 - start < end - q1:  # the head is the previous word's ending
            if before is not None and before[1] == start:
                out[i - 1] = (before[0], q0)
            out[i] = (q1, end)
        else:  # the tail is the next word's beginning
            if after is not None and after[0] == end:
                out[i + 1] = (q1, after[1])
            out[i] = (start, q0)
    return out


def _refine(span: tuple[int, int], levels: np.ndarray, starts_with_stop: bool) -> tuple[int, int]:
    """``span`` without the quiet runs (at least ``_MIN_PAUSE_S``) at its start and end."""
    start, end = span
    end = min(end, len(levels))
    if end <= start:
        return span
    loud = np.flatnonzero(levels[start:end] >= quiet_line_db(levels))
    if len(loud) == 0:  # a whispered word: nothing to go by
        return span
    min_run = int(round(_MIN_PAUSE_S / FRAME_S))
    first, last = start + int(loud[0]), start + int(loud[-1]) + 1
    if first - start >= min_run:
        keep = int(round(_STOP_CLOSURE_S / FRAME_S)) if starts_with_stop else 0
        start = max(start, first - keep)
    if end - last >= min_run:
        end = last
    return start, end


def _fill_gaps(spans: list[tuple[int, int] | None], n_frames: int) -> list[tuple[int, int]]:
    """Place words left out of the alignment between their aligned neighbours, sharing the
    time between them equally (a point where they touch)."""
    filled: list[tuple[int, int]] = []
    i = 0
    while i < len(spans):
        span = spans[i]
        if span is not None:
            filled.append(span)
            i += 1
            continue
        j = i
        while j < len(spans) and spans[j] is None:
            j += 1
        left = filled[-1][1] if filled else 0
        right = spans[j][0] if j < len(spans) else n_frames
        right = max(left, right)
        edges = np.linspace(left, right, j - i + 1).round().astype(int)
        filled.extend((int(a), int(b)) for a, b in zip(edges[:-1], edges[1:], strict=True))
        i = j
    return filled
