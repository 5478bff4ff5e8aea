"""The checks of one take: a coloured badge (pass, warn, fail) and the check's message per row.

Drawing only: which checks, their order and their names come from the caller.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QGridLayout, QLabel, QScrollArea, QSizePolicy, QWidget

from voicestudio.audio.take_report import CheckResult


class CheckList(QScrollArea):
    """Rows of badge and message; scrolls when there are more checks than room."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._box = QWidget()
        self._grid = QGridLayout(self._box)
        self._grid.setContentsMargins(0, 0, 0, 0)
        self._grid.setHorizontalSpacing(8)
        self._grid.setVerticalSpacing(3)
        self._grid.setColumnStretch(1, 1)
        self.setWidget(self._box)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

    def set_checks(self, rows: list[tuple[str, CheckResult]]) -> None:
        """Show (readable name, result) rows in the order given; an empty list clears."""
        grid = self._grid
        while grid.count():
            widget = grid.takeAt(0).widget()
            if widget is not None:
                widget.hide()  # at once: deleteLater waits for the event loop
                widget.deleteLater()
        for row in range(grid.rowCount()):
            grid.setRowStretch(row, 0)
        for row, (label, check) in enumerate(rows):
            grid.addWidget(_badge(label, check), row, 0, Qt.AlignmentFlag.AlignTop)
            grid.addWidget(_message(check), row, 1)
        grid.setRowStretch(len(rows), 1)

    def badges(self) -> list[QLabel]:
        """The badges in view (for tests)."""
        return [
            w
            for w in self._box.findChildren(QLabel)
            if w.property("role") == "badge" and not w.isHidden()
        ]


def _badge(label: str, check: CheckResult) -> QLabel:
    badge = QLabel(label)
    badge.setProperty("role", "badge")
    badge.setProperty("badge", check.verdict)
    badge.setObjectName(f"check_{check.name}")
    badge.setToolTip(f"{check.verdict}: {check.message}")
    badge.setAlignment(Qt.AlignmentFlag.AlignCenter)
    badge.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
    return badge


def _message(check: CheckResult) -> QLabel:
    message = QLabel(check.message)
    message.setWordWrap(True)
    message.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
    message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    if check.verdict == "pass":
        message.setProperty("role", "hint")
    return message
