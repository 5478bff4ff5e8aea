"""The list of a project's prompts: number, (shortened) text and the verdict of its take.

Drawing only: the rows come from :func:`voicestudio.gui.controllers.record.prompt_row`.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

from voicestudio.gui.controllers.record import PromptRow
from voicestudio.gui.theme import COLORS

VERDICT_COLORS = {"pass": COLORS["ok"], "warn": COLORS["warning"], "fail": COLORS["error"]}
ROW_HEIGHT = 22


class PromptTable(QTableWidget):
    """Rows selected whole, one at a time; never takes the keyboard focus, so the arrow keys
    stay the panel's previous/next shortcuts."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, 3, parent)
        self.setHorizontalHeaderLabels(["#", "Prompt", "Check"])
        self.verticalHeader().hide()
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setWordWrap(False)
        self.verticalHeader().setDefaultSectionSize(ROW_HEIGHT)
        header = self.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)

    def set_row(self, row: int, cells: PromptRow) -> None:
        number = QTableWidgetItem(cells.number)
        number.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        words = QTableWidgetItem(cells.text)
        words.setToolTip(cells.tooltip)
        check = QTableWidgetItem(cells.verdict)
        check.setForeground(QColor(VERDICT_COLORS.get(cells.verdict, COLORS["muted"])))
        for column, item in enumerate((number, words, check)):
            self.setItem(row, column, item)

    def show_row(self, row: int) -> None:
        """Select ``row`` and scroll to it, without emitting a selection (it follows the panel)."""
        self.blockSignals(True)
        self.selectRow(row)
        self.blockSignals(False)
        item = self.item(row, 0)
        if item is not None:
            self.scrollToItem(item, QAbstractItemView.ScrollHint.EnsureVisible)
