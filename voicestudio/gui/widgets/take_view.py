"""The take in view: its waveform beside a caption and the badges of its checks.

Drawing only: the audio, the caption and the check rows come from the Record panel and
:mod:`voicestudio.gui.controllers.record`.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from voicestudio.audio.take_report import CheckResult
from voicestudio.gui.widgets.check_list import CheckList
from voicestudio.gui.widgets.waveform import WaveformView

#: Room for seven checks; the live view above gets the rest of the height.
MAX_HEIGHT = 230


class TakeView(QWidget):
    """Waveform (left) and caption over check badges (right)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMaximumHeight(MAX_HEIGHT)
        self.waveform = WaveformView()
        self.waveform.setMinimumHeight(110)
        self.caption = QLabel("No take yet")
        self.caption.setProperty("role", "hint")
        self.caption.setWordWrap(True)
        self.checks = CheckList()
        column = QVBoxLayout()
        column.setSpacing(4)
        column.addWidget(self.caption)
        column.addWidget(self.checks, 1)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.waveform, 5)
        row.addLayout(column, 6)

    def show_take(
        self,
        audio: tuple[np.ndarray, int] | None,
        caption: str,
        checks: list[tuple[str, CheckResult]],
    ) -> None:
        """Show a take: (samples, rate) or None when its file cannot be read."""
        if audio is None:
            self.waveform.clear()
        else:
            self.waveform.set_audio(*audio)
        self.caption.setText(caption)
        self.checks.set_checks(checks)

    def clear(self, caption: str = "") -> None:
        self.show_take(None, caption, [])

    def badges(self) -> list[QLabel]:
        """The check badges in view (for tests)."""
        return self.checks.badges()
