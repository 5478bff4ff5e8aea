"""A waveform of a take or a rendered line, with an optional F0 (pitch) contour below it,
and while it plays, the word being heard marked over both and a play-head.

Drawing only: the samples and the contour come from engine code. Long audio is drawn as a
min/max envelope with a bounded number of columns, so a minute of 48 kHz audio costs the
same to draw as a second.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QWidget

from voicestudio.gui.theme import COLORS, fill_with_graphics, translucent

# Columns of the min/max envelope: more than any screen is wide, few enough to draw at once.
MAX_COLUMNS = 3000


def envelope(
    samples: np.ndarray, sample_rate: int, columns: int = MAX_COLUMNS
) -> tuple[np.ndarray, np.ndarray]:
    """Points (x in seconds, y) to draw ``samples``: the samples themselves when they are
    few, else for each of ``columns`` equal slices its minimum then its maximum, so the
    line sweeps the slice's whole range."""
    y = np.asarray(samples, dtype=np.float32).reshape(-1)
    n = y.size
    if n == 0:
        return np.zeros(0), np.zeros(0)
    if n <= 2 * columns:
        return np.arange(n) / float(sample_rate), y
    per = n // columns
    used = per * columns
    blocks = y[:used].reshape(columns, per)
    lo = blocks.min(axis=1)
    hi = blocks.max(axis=1)
    if used < n:  # the tail that did not fill a whole column joins the last one
        lo[-1] = min(lo[-1], y[used:].min())
        hi[-1] = max(hi[-1], y[used:].max())
    t = (np.arange(columns) * per + per / 2) / float(sample_rate)
    return np.repeat(t, 2), np.column_stack([lo, hi]).reshape(-1)


class WaveformView(QWidget):
    """``set_audio(samples, sample_rate)`` draws a waveform; ``set_f0(times_s, f0_hz)``
    adds a pitch contour (NaN or 0 = unvoiced, drawn as gaps) in a second plot that shares
    the time axis; ``show_playback(seconds, word)`` marks where playback is and the span of
    the word heard there (None: no word); ``clear()`` empties both and hides the contour."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.duration_s = 0.0
        self.setMinimumHeight(120)
        self._graphics = fill_with_graphics(self)

        self.wave_plot = self._graphics.addPlot(row=0, col=0)
        self._style_plot(self.wave_plot)
        self.wave_plot.setYRange(-1.0, 1.0, padding=0.02)
        self.wave_plot.getAxis("left").setWidth(48)
        self.wave_curve = self.wave_plot.plot(pen=pg.mkPen(COLORS["accent"], width=1))

        self.f0_plot = self._graphics.addPlot(row=1, col=0)
        self._style_plot(self.f0_plot)
        self.f0_plot.setLabel("left", "F0", units="Hz")
        self.f0_plot.getAxis("left").enableAutoSIPrefix(False)
        self.f0_plot.getAxis("left").setWidth(48)
        self.f0_plot.setLabel("bottom", "time", units="s")
        self.f0_plot.setXLink(self.wave_plot)
        self.f0_curve = self.f0_plot.plot(pen=pg.mkPen(COLORS["ok"], width=2), connect="finite")
        self.f0_plot.hide()
        self.wave_plot.setLabel("bottom", "time", units="s")

        # The word heard, over both plots, and the play-head; hidden until playback shows them.
        self.word_regions = [self._word_region(plot) for plot in (self.wave_plot, self.f0_plot)]
        self.playhead = pg.InfiniteLine(angle=90, movable=False,
                                        pen=pg.mkPen(COLORS["text"], width=1))
        self.playhead.setZValue(20)
        self.playhead.hide()
        self.wave_plot.addItem(self.playhead, ignoreBounds=True)

    @staticmethod
    def _word_region(plot: pg.PlotItem) -> pg.LinearRegionItem:
        region = pg.LinearRegionItem(movable=False, brush=translucent("accent", 75),
                                     pen=pg.mkPen(translucent("accent", 150)))
        region.setZValue(-10)  # under the waveform
        region.hide()
        plot.addItem(region, ignoreBounds=True)
        return region

    @property
    def word_region(self) -> pg.LinearRegionItem:
        """The word's mark on the waveform (the contour's follows it)."""
        return self.word_regions[0]

    def show_playback(self, seconds: float | None,
                      word: tuple[float, float] | None = None) -> None:
        """Put the play-head at ``seconds`` (None: hide it) and mark ``word`` (start, end in
        seconds; None: no word)."""
        self.playhead.setVisible(seconds is not None)
        if seconds is not None:
            self.playhead.setValue(seconds)
        for region in self.word_regions:
            region.setVisible(word is not None)
            if word is not None:
                region.setRegion(word)

    @staticmethod
    def _style_plot(plot: pg.PlotItem) -> None:
        plot.setMenuEnabled(False)
        plot.setMouseEnabled(x=False, y=False)
        plot.hideButtons()
        plot.showGrid(x=True, y=True, alpha=0.15)
        for name in ("left", "bottom"):
            axis = plot.getAxis(name)
            axis.setPen(pg.mkPen(COLORS["border"]))
            axis.setTextPen(pg.mkPen(COLORS["muted"]))

    def set_audio(self, samples: np.ndarray, sample_rate: int) -> None:
        """Draw ``samples`` (mono float, -1..1) recorded or rendered at ``sample_rate`` Hz."""
        if sample_rate <= 0:
            raise ValueError("sample_rate must be positive")
        x, y = envelope(samples, sample_rate)
        self.duration_s = float(np.asarray(samples).size) / float(sample_rate)
        self.wave_curve.setData(x, y)
        self.wave_plot.setXRange(0.0, max(self.duration_s, 1e-3), padding=0.0)
        peak = float(np.max(np.abs(y))) if y.size else 0.0
        self.wave_plot.setYRange(-max(peak, 0.05), max(peak, 0.05), padding=0.05)

    def set_f0(self, times_s: np.ndarray, f0_hz: np.ndarray) -> None:
        """Show a pitch contour; frames with F0 <= 0 or NaN are unvoiced and left as gaps."""
        t = np.asarray(times_s, dtype=np.float64).reshape(-1)
        f0 = np.asarray(f0_hz, dtype=np.float64).reshape(-1)
        if t.shape != f0.shape:
            raise ValueError(f"times_s and f0_hz differ in length ({t.size} vs {f0.size})")
        f0 = np.where(np.isfinite(f0) & (f0 > 0), f0, np.nan)
        self.f0_curve.setData(t, f0, connect="finite")
        voiced = f0[np.isfinite(f0)]
        if voiced.size:
            self.f0_plot.setYRange(
                float(voiced.min()) * 0.9, float(voiced.max()) * 1.1, padding=0.0
            )
        self.wave_plot.setLabel("bottom", "")
        self.wave_plot.getAxis("bottom").setStyle(showValues=False)
        self.f0_plot.show()

    def clear(self) -> None:
        """Empty the view and hide the contour."""
        self.duration_s = 0.0
        self.show_playback(None)
        self.wave_curve.setData([], [])
        self.f0_curve.setData([], [])
        self.f0_plot.hide()
        self.wave_plot.getAxis("bottom").setStyle(showValues=True)
        self.wave_plot.setLabel("bottom", "time", units="s")

    @property
    def has_audio(self) -> bool:
        return self.wave_curve.xData is not None and len(self.wave_curve.xData) > 0

    @property
    def has_f0(self) -> bool:
        y = self.f0_curve.yData
        return self.f0_plot.isVisible() and y is not None and bool(np.isfinite(y).any())
