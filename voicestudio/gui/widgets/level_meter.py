"""An input level meter: peak and RMS bars, a peak-hold marker and a clip light.

Drawing only: the readings (:class:`voicestudio.audio.analysis.Levels`) come from the
recorder's meter. The clip light stays lit until :meth:`LevelMeterWidget.reset` (a new
take) or a click on the meter, so a clip between two glances is not missed.
"""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QMouseEvent, QPainter, QPaintEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

from voicestudio.audio.analysis import LEVEL_FLOOR_DBFS, Levels
from voicestudio.gui.theme import COLORS

#: The scale shown, in dBFS: below -60 a voice is inaudible on a meter anyway.
METER_FLOOR_DB = -60.0
#: Colour zones: speech peaks belong below -12; -12..-3 is hot; above -3 risks clipping.
HOT_DB = -12.0
DANGER_DB = -3.0
SCALE_MARKS_DB = (0, -6, -12, -18, -24, -36, -48, -60)


class LevelMeterWidget(QWidget):
    """Vertical meter with two bars (peak, RMS), a peak-hold line and a clip light on top.

    ``set_levels(levels)`` shows a reading and counts it in ``updates``; ``reset()`` empties
    the bars and puts the clip light out."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Expanding)
        self.setMinimumHeight(90)
        self.setToolTip(
            "Input level: peak (left) and RMS (right) in dBFS, with the peak hold line.\n"
            "The light on top turns red when the input clipped; click to reset it."
        )
        self.updates = 0
        self.reset()

    def sizeHint(self) -> QSize:
        return QSize(64, 160)

    def minimumSizeHint(self) -> QSize:
        return QSize(56, 90)

    # -- state
    def reset(self) -> None:
        self.peak_dbfs = LEVEL_FLOOR_DBFS
        self.rms_dbfs = LEVEL_FLOOR_DBFS
        self.hold_dbfs = LEVEL_FLOOR_DBFS
        self.clipped = False
        self.update()

    def set_levels(self, levels: Levels) -> None:
        self.peak_dbfs = levels.peak_dbfs
        self.rms_dbfs = levels.rms_dbfs
        self.hold_dbfs = levels.peak_hold_dbfs
        self.clipped = self.clipped or levels.clipped
        self.updates += 1
        self.update()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self.clipped = False
        self.update()
        super().mousePressEvent(event)

    # -- drawing
    @staticmethod
    def _fraction(db: float) -> float:
        """Position of ``db`` on the scale, 0 (floor) to 1 (full scale)."""
        return min(1.0, max(0.0, (db - METER_FLOOR_DB) / -METER_FLOOR_DB))

    @staticmethod
    def _zone_color(db: float) -> QColor:
        if db >= DANGER_DB:
            return QColor(COLORS["error"])
        if db >= HOT_DB:
            return QColor(COLORS["warning"])
        return QColor(COLORS["ok"])

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        w, h = self.width(), self.height()
        light = 14.0
        top = light + 8.0
        bottom = h - 4.0
        scale_w = 24.0
        bar_w = max(6.0, (w - scale_w - 10.0) / 2.0)
        bars_x = scale_w + 4.0
        span = bottom - top

        # clip light
        painter.setPen(QColor(COLORS["border"]))
        painter.setBrush(QColor(COLORS["error"]) if self.clipped else QColor(COLORS["alt"]))
        painter.drawEllipse(QRectF(bars_x + bar_w - light / 2.0, 2.0, light, light))

        # scale
        font = QFont(self.font())
        font.setPointSizeF(7.0)
        painter.setFont(font)
        painter.setPen(QColor(COLORS["muted"]))
        last_y = -1e9
        for mark in SCALE_MARKS_DB:  # top down; a mark too close to the one above is left out
            y = bottom - self._fraction(mark) * span
            if y - last_y < 12.0 and mark != METER_FLOOR_DB:
                continue
            last_y = y
            painter.drawText(
                QRectF(0.0, y - 7.0, scale_w, 14.0),
                Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                f"{mark:d}",
            )

        # bars: background, then the level in zone colours
        painter.setPen(Qt.PenStyle.NoPen)
        for i, value in enumerate((self.peak_dbfs, self.rms_dbfs)):
            x = bars_x + i * (bar_w + 2.0)
            painter.setBrush(QColor(COLORS["base"]))
            painter.drawRect(QRectF(x, top, bar_w, span))
            level = self._fraction(value)
            for lo, hi in ((METER_FLOOR_DB, HOT_DB), (HOT_DB, DANGER_DB), (DANGER_DB, 0.0)):
                a, b = self._fraction(lo), min(self._fraction(hi), level)
                if b > a:
                    color = self._zone_color(lo)
                    if i == 0:
                        color = color.lighter(115)
                    painter.setBrush(color)
                    painter.drawRect(QRectF(x, bottom - b * span, bar_w, (b - a) * span))

        # peak-hold marker across both bars
        if self.hold_dbfs > METER_FLOOR_DB:
            y = bottom - self._fraction(self.hold_dbfs) * span
            painter.setPen(self._zone_color(self.hold_dbfs).lighter(140))
            painter.drawLine(int(bars_x), int(y), int(bars_x + 2 * bar_w + 2.0), int(y))
        painter.end()
