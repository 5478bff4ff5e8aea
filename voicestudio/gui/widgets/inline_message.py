"""A message line inside a panel: errors and notices a user can act on, without a modal
dialog that would block the window (and tests)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QWidget

LEVELS = ("info", "ok", "warning", "error")


class InlineMessage(QLabel):
    """Shows one message with a level ("info", "ok", "warning", "error"); the theme colours
    it through the ``level`` property. Empty text hides it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWordWrap(True)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.setProperty("role", "message")
        self.level = "info"
        self.hide()

    def show_message(self, text: str, level: str = "info") -> None:
        if level not in LEVELS:
            raise ValueError(f"level must be one of {LEVELS}")
        self.level = level
        self.setProperty("level", level)
        self.setText(text)
        self.setVisible(bool(text))
        self.style().unpolish(self)
        self.style().polish(self)

    def error(self, text: str) -> None:
        """Show an error; library messages start in lower case (the CLI puts "error:" before
        them), so the first letter is raised here."""
        self.show_message(text[:1].upper() + text[1:], "error")

    def clear_message(self) -> None:
        self.show_message("", "info")
