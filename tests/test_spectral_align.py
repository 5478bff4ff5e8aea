"""Lining up the sounds of two readings of a word (``audio/spectral_align``): a warp of
spectral features finds where each sound of one reading lies in the other, however
differently long each sound is held (within the warp's slope of 1/2 … 2)."""

from __future__ import annotations

import numpy as np
import pytest

from voicestudio.audio.spectral_align import FRAME_S, spectral_features, warp

RATE = 16_000


def sound(kind: str, seconds: float, rng: np.random.Generator) -> np.ndarray:
    """One steady "sound" with its own spectrum: a low vowel-like tone complex, a hiss, a
    bright buzz."""
    t = np.arange(int(seconds * RATE)) / RATE
    if kind == "vowel":
        return sum(np.sin(2 * np.pi * 120 * k * t) / k for k in range(1, 8)) * 0.2
    if kind == "hiss":
        noise = rng.standard_normal(len(t))
        return np.diff(noise, prepend=0.0) * 0.1  # high-pass: a fricative
    return sum(np.sin(2 * np.pi * 210 * k * t) for k in range(8, 20)) * 0.05


def reading(lengths: dict[str, float], seed: int) -> tuple[np.ndarray, list[float]]:
    """The three sounds in a row, held as long as ``lengths`` says; and where each ends."""
    rng = np.random.default_rng(seed)
    parts, ends, t = [], [], 0.0
    for kind in ("vowel", "hiss", "buzz"):
        parts.append(sound(kind, lengths[kind], rng))
        t += lengths[kind]
        ends.append(t)
    return np.concatenate(parts).astype(np.float32), ends


def test_the_warp_finds_where_each_sound_lies_however_long_it_is_held():
    a, a_ends = reading({"vowel": 0.10, "hiss": 0.08, "buzz": 0.12}, seed=1)
    b, b_ends = reading({"vowel": 0.07, "hiss": 0.15, "buzz": 0.10}, seed=2)
    path = warp(spectral_features(a, RATE), spectral_features(b, RATE))
    assert path is not None
    for a_end, b_end in zip(a_ends[:2], b_ends[:2], strict=True):
        found = np.interp(a_end / FRAME_S, np.arange(len(path)), path) * FRAME_S
        assert abs(found - b_end) <= 0.015, (a_end, b_end, found)
        even = a_end * b_ends[-1] / a_ends[-1]  # an even stretch of the whole misses it
        assert abs(even - b_end) > 0.025
    assert np.all(np.diff(path) >= 0)
    assert path[0] == 0 and path[-1] >= len(spectral_features(b, RATE)) - 1.5  # ends tied


def test_no_warp_between_readings_more_than_twice_as_long_as_each_other():
    a, _ = reading({"vowel": 0.05, "hiss": 0.05, "buzz": 0.05}, seed=1)
    b, _ = reading({"vowel": 0.15, "hiss": 0.15, "buzz": 0.10}, seed=2)
    assert warp(spectral_features(a, RATE), spectral_features(b, RATE)) is None
    assert warp(np.zeros((1, 12)), np.zeros((1, 12))) is None


@pytest.mark.parametrize("rate", [16_000, 22_050, 44_100])
def test_features_are_normalised_per_recording_and_framed_every_5_ms(rate):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(rate).astype(np.float32) * 0.1  # one second
    features = spectral_features(x, rate)
    assert features.shape[1] == 12
    assert abs(len(features) - round(1.0 / FRAME_S)) <= 1
    assert np.allclose(features.mean(axis=0), 0.0, atol=1e-4)
    assert np.allclose(features.std(axis=0), 1.0, atol=1e-3)
