"""A live scrolling spectrogram in pyqtgraph (the Friture way).

Drawing only: the dB columns come from :class:`voicestudio.audio.analysis.LiveAnalyzer`.
The image is a preallocated ring of 8-bit colour indices twice the visible width: each new
column is written at its slot and again one width further on, so the visible window (oldest
to newest) is always one contiguous slice — scrolling never moves the old columns. Only the
new columns are converted (dB → index with fixed levels); the colour lookup table turns
indices into colours when Qt paints the image (an indexed 8-bit QImage), so a frame costs
the same however long the history is.

Audio arrives in blocks (tens of milliseconds each, as the sound server hands them over),
but the picture should glide: between two blocks, :meth:`SpectrogramView.advance` slides
the image left at the speed of time, so the newest column sits where it belongs on the time
axis at every frame, and the next block fills the gap at the right edge.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtWidgets import QWidget

from voicestudio.gui.theme import COLORS, fill_with_graphics

#: Seconds of history shown, and the top of the frequency axis: a voice's formants and
#: fricatives sit below 8 kHz, and a wider range would squeeze them into a strip.
DEFAULT_HISTORY_S = 5.0
DEFAULT_MAX_HZ = 8_000.0
#: Fixed colour range in dB (0 dB = a full-scale sine in one bin): the floor sits under a
#: quiet room's noise, the top at loud vowel harmonics, so silence is dark and speech bright.
DEFAULT_LEVELS_DB = (-100.0, -20.0)
DEFAULT_COLORMAP = "inferno"
#: How far the picture slides while no audio comes (a stalled or stopped stream): a little
#: more than a few blocks, so a late block still joins without a jump.
MAX_SLIDE_S = 0.25


class _CountingImageItem(pg.ImageItem):
    """An ImageItem that counts how often it was painted (the frame rate a user sees)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.paints = 0

    def paint(self, painter, *args) -> None:
        self.paints += 1
        super().paint(painter, *args)


class SpectrogramView(QWidget):
    """Scrolling spectrogram: ``configure(sample_rate, hop, frequencies)`` once per stream
    (the analyzer's geometry), then ``add_columns(db_columns)`` with each batch of new
    columns. ``columns_received``, ``frames`` (images handed to the view) and ``paints``
    (frames actually drawn) are counters for tests and benchmarks. Call ``advance()`` on
    every frame tick without new columns, so the picture keeps moving with time."""

    def __init__(
        self,
        parent: QWidget | None = None,
        *,
        history_s: float = DEFAULT_HISTORY_S,
        max_hz: float = DEFAULT_MAX_HZ,
        levels_db: tuple[float, float] = DEFAULT_LEVELS_DB,
        colormap: str = DEFAULT_COLORMAP,
    ) -> None:
        super().__init__(parent)
        if history_s <= 0 or max_hz <= 0 or levels_db[1] <= levels_db[0]:
            raise ValueError(
                "need history_s > 0, max_hz > 0 and levels_db = (low, high) with low < high"
            )
        self.history_s = float(history_s)
        self.max_hz = float(max_hz)
        self.levels_db = (float(levels_db[0]), float(levels_db[1]))
        self._scale = np.float32(255.0 / (self.levels_db[1] - self.levels_db[0]))
        self.columns_received = 0
        self.frames = 0
        self.width_columns = 0  # columns in view
        self.n_bins = 0  # frequency bins drawn (those up to max_hz)
        self.sample_rate = 0
        self.hop = 0
        self._ring = np.zeros((1, 2), dtype=np.uint8)
        self._write = 0
        self.newest_at: float | None = None  # time.monotonic() when the newest column arrived
        self._slide_s = 0.0

        self.setMinimumHeight(120)
        self._graphics = fill_with_graphics(self)
        self.plot = self._graphics.addPlot()
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.hideButtons()
        for name in ("left", "bottom"):
            axis = self.plot.getAxis(name)
            axis.setPen(pg.mkPen(COLORS["border"]))
            axis.setTextPen(pg.mkPen(COLORS["muted"]))
        self.plot.getAxis("left").setWidth(40)
        self.plot.setLabel("left", "kHz")
        self.plot.setLabel("bottom", "time (s)")
        self.image = _CountingImageItem(axisOrder="row-major")
        lut = pg.colormap.get(colormap).getLookupTable(0.0, 1.0, 256, alpha=False)
        self.image.setLookupTable(lut)
        self.plot.addItem(self.image)
        self.plot.setXRange(-self.history_s, 0.0, padding=0.0)
        self.plot.setYRange(0.0, self.max_hz / 1000.0, padding=0.0)

    @property
    def paints(self) -> int:
        return self.image.paints

    @property
    def configured(self) -> bool:
        return self.width_columns > 0

    def configure(self, sample_rate: int, hop: int, frequencies: np.ndarray) -> None:
        """Size the ring for columns every ``hop`` samples at ``sample_rate`` whose bins lie at
        ``frequencies`` (Hz); clears the history when the geometry changes."""
        frequencies = np.asarray(frequencies, dtype=np.float64)
        n_bins = int(np.searchsorted(frequencies, self.max_hz, side="right"))
        width = max(2, math.ceil(self.history_s * sample_rate / hop))
        if (sample_rate, hop, n_bins, width) != (
            self.sample_rate,
            self.hop,
            self.n_bins,
            self.width_columns,
        ):
            self.sample_rate, self.hop, self.n_bins, self.width_columns = (
                int(sample_rate),
                int(hop),
                n_bins,
                width,
            )
            self._ring = np.zeros((n_bins, 2 * width), dtype=np.uint8)
            self.clear()  # the image must have its new size before it is placed
            bin_khz = (
                float(frequencies[1] - frequencies[0]) / 1000.0 if len(frequencies) > 1 else 0.0
            )
            seconds = width * hop / sample_rate
            # Pixel centres on the bin frequencies; the newest column ends at 0 s.
            self.image.setRect(QRectF(-seconds, -bin_khz / 2.0, seconds, n_bins * bin_khz))
        else:
            self.clear()

    def clear(self) -> None:
        """Forget the history (a new take)."""
        self._ring[:] = 0
        self._write = 0
        self.newest_at = None
        self._slide(0.0)
        self._show()

    def add_columns(self, columns: np.ndarray, now: float | None = None) -> None:
        """Append new spectrum columns (n × bins, dB) at the right edge; ``now`` is when they
        arrived (time.monotonic(), the default)."""
        if not self.configured:
            raise RuntimeError("configure() the spectrogram before adding columns")
        columns = np.asarray(columns, dtype=np.float32)
        if columns.ndim != 2 or columns.shape[0] == 0:
            return
        self.columns_received += columns.shape[0]
        width = self.width_columns
        columns = columns[-width:, : self.n_bins]  # older columns would scroll out at once
        n = columns.shape[0]
        index = (columns - np.float32(self.levels_db[0])) * self._scale
        np.clip(index, 0.0, 255.0, out=index)
        pixels = index.astype(np.uint8).T  # bins × n
        slots = (self._write + np.arange(n)) % width
        self._ring[:, slots] = pixels
        self._ring[:, slots + width] = pixels
        self._write = int((self._write + n) % width)
        self.newest_at = time.monotonic() if now is None else now
        self._slide(0.0)
        self._show()
        self.frames += 1

    def advance(self, now: float | None = None) -> bool:
        """Slide the picture left by the time since the newest column arrived (at most
        MAX_SLIDE_S). Returns whether it moved (then it counts as a frame)."""
        if self.newest_at is None:
            return False
        now = time.monotonic() if now is None else now
        offset = min(max(0.0, now - self.newest_at), MAX_SLIDE_S)
        if offset == self._slide_s:
            return False
        self._slide(offset)
        self.frames += 1
        return True

    def _slide(self, offset_s: float) -> None:
        self._slide_s = offset_s
        self.image.setPos(-offset_s, 0.0)

    def _show(self) -> None:
        width = self.width_columns
        if width == 0:
            return
        self.image.setImage(
            self._ring[:, self._write : self._write + width], autoLevels=False, levels=None
        )

    def visible_image(self) -> np.ndarray:
        """The colour indices in view (bins × columns, oldest column first): for tests."""
        return self._ring[:, self._write : self._write + self.width_columns]
