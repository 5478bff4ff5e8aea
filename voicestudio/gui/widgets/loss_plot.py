"""Live training curves: the loss per step, and the speaker similarity and quality per evaluation.

Points arrive once per training step; they go into growable preallocated arrays (a
curve is always a slice, never a copy) and the curves are redrawn on a timer tick only
when something new came in, so a fast trainer cannot make the GUI paint per step.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QWidget

from voicestudio.gui.theme import COLORS

REDRAW_MS = 250
INITIAL_CAPACITY = 256


class SeriesBuffer:
    """x/y points appended one at a time into arrays that double when full."""

    def __init__(self, capacity: int = INITIAL_CAPACITY) -> None:
        self._x = np.zeros(capacity, dtype=np.float64)
        self._y = np.zeros(capacity, dtype=np.float64)
        self.count = 0

    def append(self, x: float, y: float) -> None:
        if self.count == len(self._x):
            self._x = np.concatenate([self._x, np.zeros_like(self._x)])
            self._y = np.concatenate([self._y, np.zeros_like(self._y)])
        self._x[self.count] = x
        self._y[self.count] = y
        self.count += 1

    def clear(self) -> None:
        self.count = 0

    @property
    def x(self) -> np.ndarray:
        return self._x[: self.count]

    @property
    def y(self) -> np.ndarray:
        return self._y[: self.count]


class StepPlot(pg.PlotWidget):
    """A plot of named series over training steps, redrawn on a timer when data changed."""

    def __init__(self, title: str, y_label: str, parent: QWidget | None = None) -> None:
        super().__init__(parent, background=COLORS["base"])
        self.setTitle(title, color=COLORS["text"], size="10pt")
        self.setLabel("bottom", "step", color=COLORS["muted"])
        self.setLabel("left", y_label, color=COLORS["muted"])
        self.showGrid(x=True, y=True, alpha=0.15)
        self.setMenuEnabled(False)
        self.setMouseEnabled(x=False, y=False)
        self.hideButtons()
        self.addLegend(offset=(-10, 10), labelTextColor=COLORS["text"])
        self.plotItem.layout.setContentsMargins(4, 4, 14, 4)  # room for the last x tick label
        self._show_empty_range()
        self.series: dict[str, SeriesBuffer] = {}
        self._curves: dict[str, pg.PlotDataItem] = {}
        self._dirty = False
        self._timer = QTimer(self)
        self._timer.setInterval(REDRAW_MS)
        self._timer.timeout.connect(self.redraw)
        self._timer.start()

    def add_series(
        self, name: str, color: str, width: float = 2.0, symbol: str | None = None
    ) -> None:
        self.series[name] = SeriesBuffer()
        options = dict(pen=pg.mkPen(color, width=width), name=name)
        if symbol:
            options.update(symbol=symbol, symbolSize=7, symbolBrush=color, symbolPen=None)
        self._curves[name] = self.plot([], [], **options)

    def append(self, name: str, step: float, value: float) -> None:
        self.series[name].append(step, value)
        self._dirty = True

    def point_count(self, name: str) -> int:
        return self.series[name].count

    def clear_points(self) -> None:
        for buffer in self.series.values():
            buffer.clear()
        self._dirty = True
        self.redraw()

    def redraw(self) -> None:
        if not self._dirty:
            return
        self._dirty = False
        for name, buffer in self.series.items():
            self._curves[name].setData(buffer.x, buffer.y)
        if any(buffer.count for buffer in self.series.values()):
            self.enableAutoRange(axis="x")
        else:
            self._show_empty_range()

    def _show_empty_range(self) -> None:
        """Steps 0-10 before the first point, rather than pyqtgraph's bare 0-1."""
        self.setXRange(0, 10, padding=0)

    def stop(self) -> None:
        self._timer.stop()


class LossPlot(StepPlot):
    """The total loss and its mel L1 part per step, on a log axis (total ≈ 45 × mel + KL,
    so the two differ by about two decades)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Training loss", "loss (log)", parent)
        self.setLogMode(x=False, y=True)
        self.add_series("total", COLORS["accent"])
        self.add_series("mel L1", COLORS["warning"])

    def add_loss(self, step: int, total: float, mel_l1: float) -> None:
        # non-positive or non-finite values cannot sit on a log axis; the trainer fails on NaN
        # anyway
        if np.isfinite(total) and total > 0:
            self.append("total", step, total)
        if np.isfinite(mel_l1) and mel_l1 > 0:
            self.append("mel L1", step, mel_l1)


class SimilarityPlot(StepPlot):
    """Speaker similarity of each evaluation (cosine of speaker embeddings, 0..1)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Speaker similarity", "similarity", parent)
        self.setYRange(0.0, 1.0, padding=0.02)
        self.add_series("similarity", COLORS["ok"], symbol="o")

    def add_score(self, step: int, similarity: float) -> None:
        self.append("similarity", step, similarity)


class QualityPlot(StepPlot):
    """DNSMOS overall quality of each evaluation (a predicted listener rating, 1..5)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Quality (DNSMOS)", "rating", parent)
        self.setYRange(1.0, 5.0, padding=0.02)
        self.add_series("quality", COLORS["accent"], symbol="o")

    def add_score(self, step: int, quality: float) -> None:
        self.append("quality", step, quality)
