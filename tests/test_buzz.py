"""The frame-rate buzz figure: natural speech near 1, a comb locked to the decoder's
256-sample frames far above it, whatever the level or a DC offset."""

from __future__ import annotations

import math

import numpy as np
import pytest

from voicestudio.evaluate.buzz import GRID_HOP, GRID_RATE, frame_buzz, mean_buzz
from voicestudio.styling.controls import StyleControls


@pytest.fixture(scope="module")
def speech(synth) -> np.ndarray:
    text = "The birch canoe slid on the smooth planks, and the juice of lemons makes fine punch."
    return np.concatenate([c.samples for c in synth.synthesize(text, StyleControls(variability=0))])


def _comb(n: int, rms: float) -> np.ndarray:
    """One random 256-sample pattern repeated: what a grid-locked decoder adds."""
    pattern = np.random.default_rng(3).standard_normal(GRID_HOP)
    out = np.tile(pattern, n // GRID_HOP + 1)[:n]
    return out * rms / np.sqrt(np.mean(out**2))


def test_natural_speech_scores_about_one_and_a_comb_far_above(speech):
    clean = frame_buzz(speech, GRID_RATE)
    assert 0.2 < clean < 2.0
    rms = float(np.sqrt(np.mean(speech**2)))
    buzzing = speech + _comb(len(speech), rms * 10 ** (-10 / 20))  # 10 dB under the speech
    assert frame_buzz(buzzing, GRID_RATE) > 10 * clean
    assert frame_buzz(buzzing * 0.1 + 0.05, GRID_RATE) == pytest.approx(
        frame_buzz(buzzing, GRID_RATE), rel=0.02
    )


def test_the_grid_is_the_model_rate_whatever_the_file_rate(speech):
    from voicestudio.audio.io import resample

    rms = float(np.sqrt(np.mean(speech**2)))
    buzzing = speech + _comb(len(speech), rms * 0.3)
    at_48k = resample(buzzing.astype(np.float32), GRID_RATE, 48_000)
    assert frame_buzz(at_48k, 48_000) == pytest.approx(frame_buzz(buzzing, GRID_RATE), rel=0.1)


def test_silence_and_scraps_are_not_measured(speech):
    assert math.isnan(frame_buzz(np.zeros(GRID_RATE), GRID_RATE))
    assert math.isnan(frame_buzz(speech[:300], GRID_RATE))
    assert mean_buzz([(np.zeros(100), GRID_RATE)]) is None
    assert mean_buzz([(speech, GRID_RATE), (np.zeros(10), GRID_RATE)]) == frame_buzz(
        speech, GRID_RATE
    )


def test_it_is_the_training_loss_measured_on_the_clip_itself(speech):
    torch = pytest.importorskip("torch", reason="the training loss needs the [train] extra (torch)")
    from voicestudio.training.features import frame_sync_loss

    x = speech - speech.mean()
    x = x[: len(x) // GRID_HOP * GRID_HOP]
    loss = float(
        frame_sync_loss(
            torch.from_numpy(x.astype(np.float32)), torch.from_numpy(x.astype(np.float32))
        )
    )
    assert frame_buzz(x, GRID_RATE) == pytest.approx(loss, rel=1e-3)
