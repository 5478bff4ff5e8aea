"""Word error rate of synthesized speech, judged by an offline recognizer.

Styling must not make speech hard to understand. A listener test is the real
measure; an automatic one that needs no network and no GPU is PocketSphinx with
its bundled US-English model. Its absolute WER is higher than a modern
recognizer's, so it is useful as a regression signal (did a change make the
voice less intelligible?), not as a quality score.
"""

from __future__ import annotations

import re
import threading

import numpy as np

from voicestudio.audio.io import resample

#: The bundled acoustic model is trained on 16 kHz speech.
ASR_RATE = 16_000

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z0-9]+)*")
_decoder = None
_decoder_lock = threading.Lock()


def normalize_words(text: str) -> list[str]:
    """Lowercase words without punctuation (apostrophes inside words kept: "don't" ≠ "dont"),
    so that commas, full stops and capitals do not count as recognition errors."""
    text = text.lower().replace("\u2019", "'")
    return _WORD.findall(text)


def word_error_rate(reference: str, hypothesis: str) -> float:
    """(substitutions + deletions + insertions) / reference words, from a word-level
    Levenshtein alignment. An empty reference gives 0 for an empty hypothesis, else 1."""
    ref, hyp = normalize_words(reference), normalize_words(hypothesis)
    if not ref:
        return 0.0 if not hyp else 1.0
    return edit_distance(ref, hyp) / len(ref)


def edit_distance(ref: list[str], hyp: list[str]) -> int:
    """Levenshtein distance between two word sequences (unit costs)."""
    previous = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, start=1):
        current = [i] + [0] * len(hyp)
        for j, h in enumerate(hyp, start=1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (r != h))
        previous = current
    return previous[-1]


def _get_decoder():
    """One decoder per process: loading the model takes ~0.3 s and a few tens of MB."""
    global _decoder
    if _decoder is None:
        from pocketsphinx import Decoder  # imported lazily: only evaluation needs it

        _decoder = Decoder(samprate=ASR_RATE, loglevel="FATAL")  # no per-utterance log chatter
    return _decoder


def transcribe(samples: np.ndarray, sample_rate: int) -> str:
    """Recognize one utterance (mono float samples in [-1, 1]) and return the words, lowercase.

    The PocketSphinx decoder is not thread-safe, so calls are serialized on one shared
    decoder. Its feature front end also carries cepstral-mean statistics from one
    utterance to the next, which can change the words heard for the same audio; it
    is reset before each call so a transcript depends only on its own samples.
    """
    x = np.asarray(samples, dtype=np.float32)
    if x.ndim != 1:
        raise ValueError("transcribe() expects mono samples")
    x = resample(x, int(sample_rate), ASR_RATE)
    pcm = (np.clip(x, -1.0, 1.0) * 32767.0).astype("<i2")
    with _decoder_lock:
        decoder = _get_decoder()
        decoder.reinit_feat()
        decoder.start_utt()
        decoder.process_raw(pcm.tobytes(), no_search=False, full_utt=True)
        decoder.end_utt()
        hyp = decoder.hyp()
    return hyp.hypstr.strip() if hyp is not None else ""
