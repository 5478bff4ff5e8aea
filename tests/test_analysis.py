"""The live analysis feed: STFT columns and meter levels on synthetic signals with known answers."""

from __future__ import annotations

import time

import numpy as np
import pytest

from voicestudio.audio.analysis import (
    LEVEL_FLOOR_DBFS,
    PEAK_FALL_DB_PER_S,
    PEAK_HOLD_S,
    LevelMeter,
    LiveAnalyzer,
    measure_levels,
)
from voicestudio.audio.clipping import RAIL_LEVEL

RATE = 48_000


def _sine(freq: float, seconds: float = 1.0, amp: float = 1.0, rate: int = RATE) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def _feed_in_chunks(analyzer: LiveAnalyzer, signal: np.ndarray, sizes) -> np.ndarray:
    columns, position, expected_first = [], 0, 0
    for size in sizes:
        update = analyzer.feed(signal[position : position + size])
        assert update.first_column == expected_first
        expected_first += len(update.columns)
        columns.append(update.columns)
        position += size
        if position >= len(signal):
            break
    return np.concatenate(columns)


@pytest.mark.parametrize("rate", [16_000, 22_050, 48_000])
def test_a_440_hz_tone_peaks_in_its_bin(rate):
    analyzer = LiveAnalyzer(rate, fft_size=1024, hop=256)
    columns = analyzer.feed(_sine(440.0, 0.5, 0.5, rate)).columns
    assert columns.shape[1] == 513 == analyzer.n_bins
    expected_bin = int(round(440.0 / (rate / 1024)))
    assert set(np.argmax(columns, axis=1)) == {expected_bin}
    assert abs(analyzer.frequencies[expected_bin] - 440.0) <= rate / 1024 / 2


def test_a_full_scale_sine_on_a_bin_reads_0_db():
    analyzer = LiveAnalyzer(RATE)
    freq = 20 * RATE / 1024  # exactly on bin 20
    columns = analyzer.feed(_sine(freq, 0.25)).columns
    np.testing.assert_allclose(columns[:, 20], 0.0, atol=0.01)
    # Hann sidelobes fall fast: three bins away the level is far down.
    assert columns[:, 23].max() < -30.0
    assert columns.min() >= LEVEL_FLOOR_DBFS


def test_columns_do_not_depend_on_how_the_input_is_chunked():
    rng = np.random.default_rng(7)
    signal = (0.3 * rng.standard_normal(RATE) + _sine(1000.0, 1.0, 0.2)).astype(np.float32)
    whole = LiveAnalyzer(RATE).feed(signal).columns
    assert len(whole) == (len(signal) - 1024) // 256 + 1
    chunkings = ([1] * 3000 + [len(signal)], [256] * 200, [441] * 200, rng.integers(1, 4000, 500))
    for sizes in chunkings:
        chunked = _feed_in_chunks(LiveAnalyzer(RATE), signal, sizes)
        assert chunked.shape == whole.shape
        np.testing.assert_allclose(chunked, whole, atol=1e-4)


def test_column_times_and_reset():
    analyzer = LiveAnalyzer(RATE, fft_size=1024, hop=256)
    assert analyzer.column_time(0) == pytest.approx(512 / RATE)
    assert analyzer.column_time(10) == pytest.approx((2560 + 512) / RATE)
    analyzer.feed(np.zeros(5000, np.float32))
    assert analyzer.columns_done == (5000 - 1024) // 256 + 1
    analyzer.reset()
    assert analyzer.columns_done == 0
    assert len(analyzer.feed(np.zeros(1000, np.float32)).columns) == 0  # not one full frame yet


def test_full_scale_sine_levels_are_exact():
    # 48 samples a period: the crest is a sample, exactly 1.0
    levels = measure_levels(_sine(1000.0))
    assert levels.peak_dbfs == pytest.approx(0.0, abs=1e-6)
    assert levels.rms_dbfs == pytest.approx(-3.0103, abs=1e-3)
    assert not levels.clipped


def test_half_scale_sine_is_6_db_down():
    levels = measure_levels(_sine(1000.0, amp=0.5))
    assert levels.peak_dbfs == pytest.approx(-6.0206, abs=1e-3)
    assert levels.rms_dbfs == pytest.approx(-9.0309, abs=1e-3)
    assert not levels.clipped


def test_clipped_signals_are_flagged():
    overdriven = np.clip(4.0 * _sine(200.0, 0.1), -1.0, 1.0)  # a clipped sine: a near-square
    assert measure_levels(overdriven).clipped
    square = np.sign(_sine(100.0, 0.1)).astype(np.float32)
    levels = measure_levels(square)
    assert levels.clipped
    assert levels.rms_dbfs == pytest.approx(0.0, abs=0.01)
    over = np.full(10, 0.1, np.float32)
    over[5] = 1.2  # a float stream can exceed full scale; written as PCM it would clip
    assert measure_levels(over).clipped


def test_a_lone_full_scale_sample_is_not_clipping():
    signal = np.zeros(100, np.float32)
    signal[[10, 12, 14]] = 1.0
    signal[50:52] = -RAIL_LEVEL
    assert not measure_levels(signal).clipped


def test_silence_reads_the_floor():
    for silence in (np.zeros(4800, np.float32), np.zeros(0, np.float32)):
        levels = measure_levels(silence)
        assert levels.peak_dbfs == levels.rms_dbfs == LEVEL_FLOOR_DBFS
        assert not levels.clipped


def test_meter_sees_a_clip_run_split_across_blocks():
    meter = LevelMeter(RATE)
    first = np.zeros(100, np.float32)
    first[-2:] = 1.0
    second = np.zeros(100, np.float32)
    second[:2] = 1.0
    assert not meter.update(first).clipped
    assert meter.update(second).clipped
    assert meter.clipped_ever
    assert not meter.update(np.zeros(100, np.float32)).clipped
    assert meter.clipped_ever  # the clip light stays on until reset
    meter.reset()
    assert not meter.clipped_ever


def test_peak_hold_holds_then_falls():
    meter = LevelMeter(RATE)
    loud = meter.update(_sine(1000.0, 0.01, amp=0.5))
    assert loud.peak_hold_dbfs == pytest.approx(-6.02, abs=0.01)
    quiet = _sine(1000.0, 0.1, amp=0.01)  # -40 dBFS
    for _ in range(int(PEAK_HOLD_S / 0.1) - 1):
        assert meter.update(quiet).peak_hold_dbfs == pytest.approx(-6.02, abs=0.01)
    for _ in range(11):  # 1.1 s more: past the hold time by about a second
        levels = meter.update(quiet)
    held_for = (int(PEAK_HOLD_S / 0.1) + 10) * 0.1  # time since the loud block
    expected = -6.02 - PEAK_FALL_DB_PER_S * (held_for - PEAK_HOLD_S)
    assert levels.peak_hold_dbfs == pytest.approx(expected, abs=0.05)
    assert levels.peak_dbfs == pytest.approx(-40.0, abs=0.01)
    for _ in range(30):  # the marker never falls below the signal
        levels = meter.update(quiet)
    assert levels.peak_hold_dbfs == pytest.approx(-40.0, abs=0.01)


def test_feed_reports_levels_of_the_new_samples():
    analyzer = LiveAnalyzer(RATE)
    assert analyzer.feed(_sine(1000.0, 0.1)).levels.peak_dbfs == pytest.approx(0.0, abs=1e-6)
    update = analyzer.feed(_sine(1000.0, 0.1, amp=0.1))
    assert update.levels.rms_dbfs == pytest.approx(-23.01, abs=0.01)
    assert update.levels.peak_hold_dbfs == pytest.approx(0.0, abs=1e-6)


def test_cheap_enough_for_a_live_display():
    """One second of 48 kHz audio in 10 ms blocks, as a GUI timer would feed it."""
    signal = (0.1 * np.random.default_rng(0).standard_normal(RATE)).astype(np.float32)
    analyzer = LiveAnalyzer(RATE)
    analyzer.feed(signal[:480])  # warm-up
    started = time.perf_counter()
    for start in range(0, RATE, 480):
        analyzer.feed(signal[start : start + 480])
    elapsed = time.perf_counter() - started
    # 30 fps leaves 33 ms a frame for everything; the analysis of 1 s must cost a small part.
    assert elapsed < 0.25, f"analysing 1 s of audio took {elapsed * 1000:.0f} ms"
