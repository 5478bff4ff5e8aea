"""Offline speech recognition: PocketSphinx with its bundled US-English model.

Its absolute word error rate is higher than a modern recognizer's, so it serves as a
check (did a take read its prompt? is a change making a voice harder to understand?),
not as a quality score. No network and no GPU needed.
"""

from __future__ import annotations

import threading

import numpy as np

from voicestudio.audio.io import resample

#: The bundled acoustic model is trained on 16 kHz speech.
ASR_RATE = 16_000

_decoder = None
_decoder_lock = threading.Lock()


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
