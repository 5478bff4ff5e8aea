"""The live analysis feed for the recording screen: level meter and scrolling spectrogram.

Fed with whatever new samples the consumer drained from the capture ring, it turns
them into STFT columns and meter levels. Columns depend only on the signal, never on
how it was chopped into blocks: the analyzer keeps the samples that do not yet fill a
frame and uses them on the next feed. Pure numpy; a second of 48 kHz audio costs a
few milliseconds (fed in 10 ms blocks), far inside a 30 fps budget.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from voicestudio.audio.clipping import full_scale_runs

#: Levels below this are shown as this (digital silence has no finite dB value).
LEVEL_FLOOR_DBFS = -120.0
#: Peak-hold marker: stays this long, then falls at PEAK_FALL_DB_PER_S.
PEAK_HOLD_S = 1.5
PEAK_FALL_DB_PER_S = 20.0


def amplitude_to_dbfs(amplitude: float) -> float:
    """20·log10 of a linear amplitude, floored at ``LEVEL_FLOOR_DBFS``."""
    if amplitude <= 0.0:
        return LEVEL_FLOOR_DBFS
    return max(LEVEL_FLOOR_DBFS, 20.0 * float(np.log10(amplitude)))


@dataclass(frozen=True)
class Levels:
    """Meter reading over one stretch of samples (dBFS: 0 = full scale)."""

    peak_dbfs: float
    rms_dbfs: float
    clipped: bool
    peak_hold_dbfs: float

    @classmethod
    def silent(cls) -> Levels:
        return cls(LEVEL_FLOOR_DBFS, LEVEL_FLOOR_DBFS, False, LEVEL_FLOOR_DBFS)


def measure_levels(samples: np.ndarray) -> Levels:
    """Peak, RMS and clipping of one buffer (peak hold = peak)."""
    samples = np.asarray(samples, dtype=np.float32)
    if samples.size == 0:
        return Levels.silent()
    peak = float(np.max(np.abs(samples)))
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))
    clipped = peak > 1.0 or full_scale_runs(samples).clipped()
    peak_db = amplitude_to_dbfs(peak)
    return Levels(peak_db, amplitude_to_dbfs(rms), clipped, peak_db)


class LevelMeter:
    """Levels of each new block, with a peak-hold marker and clip runs that span blocks.

    Time is counted in samples, not wall-clock, so the meter behaves the same however
    often it is fed.
    """

    def __init__(
        self,
        sample_rate: int,
        hold_s: float = PEAK_HOLD_S,
        fall_db_per_s: float = PEAK_FALL_DB_PER_S,
    ) -> None:
        self.sample_rate = int(sample_rate)
        self.hold_s = float(hold_s)
        self.fall_db_per_s = float(fall_db_per_s)
        self.reset()

    def reset(self) -> None:
        self._hold_db = LEVEL_FLOOR_DBFS
        self._since_hold = 0  # samples since the hold was set
        self._rail_carry = 0
        self.clipped_ever = False  # sticky clip light until reset

    def _held_db(self) -> float:
        excess = self._since_hold / self.sample_rate - self.hold_s
        return self._hold_db - self.fall_db_per_s * max(0.0, excess)

    @property
    def peak_hold_dbfs(self) -> float:
        """Where the peak-hold marker stands now."""
        return max(LEVEL_FLOOR_DBFS, self._held_db())

    def update(self, samples: np.ndarray) -> Levels:
        samples = np.asarray(samples, dtype=np.float32)
        if samples.size == 0:
            return Levels(LEVEL_FLOOR_DBFS, LEVEL_FLOOR_DBFS, False, self.peak_hold_dbfs)
        levels = measure_levels(samples)
        runs = full_scale_runs(samples, carry=self._rail_carry)
        self._rail_carry = runs.trailing
        clipped = levels.clipped or runs.clipped()
        self.clipped_ever |= clipped
        self._since_hold += len(samples)
        if levels.peak_dbfs >= self._held_db():
            self._hold_db, self._since_hold = levels.peak_dbfs, 0
        hold = max(LEVEL_FLOOR_DBFS, self._held_db(), levels.peak_dbfs)
        return Levels(levels.peak_dbfs, levels.rms_dbfs, clipped, hold)


@dataclass(frozen=True)
class LiveUpdate:
    """What one feed produced: new spectrogram columns and the levels of the new samples."""

    columns: np.ndarray  # (n_new, fft_size // 2 + 1) float32 dB; 0 dB = full-scale sine
    first_column: int  # index of columns[0] since the analyzer started
    levels: Levels


class LiveAnalyzer:
    """Incremental STFT (Hann window, dB magnitude) plus a level meter over new samples.

    Column ``k`` covers samples ``[k·hop, k·hop + fft_size)`` of everything fed so far.
    """

    def __init__(
        self,
        sample_rate: int,
        fft_size: int = 1024,
        hop: int = 256,
        floor_db: float = LEVEL_FLOOR_DBFS,
    ) -> None:
        if fft_size < 2 or hop < 1 or hop > fft_size:
            raise ValueError("need fft_size >= 2 and 1 <= hop <= fft_size")
        self.sample_rate = int(sample_rate)
        self.fft_size = int(fft_size)
        self.hop = int(hop)
        self.floor_db = float(floor_db)
        self._window = np.hanning(self.fft_size + 1)[:-1].astype(np.float32)  # periodic Hann
        # Scale so that a full-scale sine centred on a bin reads 0 dB.
        self._scale = np.float32(2.0 / self._window.sum())
        self._floor_amp = np.float32(10.0 ** (self.floor_db / 20.0))
        self.meter = LevelMeter(self.sample_rate)
        self.reset()

    def reset(self) -> None:
        self._pending = np.zeros(0, dtype=np.float32)  # samples not yet consumed by a column
        self.columns_done = 0
        self.meter.reset()

    @property
    def n_bins(self) -> int:
        return self.fft_size // 2 + 1

    @property
    def frequencies(self) -> np.ndarray:
        """Centre frequency of each bin in Hz."""
        return np.fft.rfftfreq(self.fft_size, 1.0 / self.sample_rate)

    def column_time(self, index: int) -> float:
        """Time in seconds of the centre of column ``index``."""
        return (index * self.hop + self.fft_size / 2) / self.sample_rate

    def feed(self, samples: np.ndarray) -> LiveUpdate:
        """Analyse new mono samples; returns the columns they completed (possibly none)."""
        samples = np.asarray(samples, dtype=np.float32).reshape(-1)
        levels = self.meter.update(samples)
        pending = np.concatenate((self._pending, samples)) if self._pending.size else samples
        first = self.columns_done
        n_cols = max(0, (len(pending) - self.fft_size) // self.hop + 1)
        if n_cols == 0:
            self._pending = pending.copy() if pending is samples else pending
            return LiveUpdate(np.zeros((0, self.n_bins), dtype=np.float32), first, levels)
        windows = np.lib.stride_tricks.sliding_window_view(pending, self.fft_size)
        frames = windows[:: self.hop][:n_cols]
        spectrum = np.abs(np.fft.rfft(frames * self._window, axis=-1)).astype(np.float32)
        spectrum *= self._scale
        np.maximum(spectrum, self._floor_amp, out=spectrum)
        columns = np.maximum(20.0 * np.log10(spectrum), np.float32(self.floor_db))  # exact floor
        self._pending = pending[n_cols * self.hop :].copy()
        self.columns_done += n_cols
        return LiveUpdate(columns, first, levels)
