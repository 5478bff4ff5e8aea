"""A training run's previews, newest first: each evaluation's step and scores, and a Play
button for its preview WAV."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QWidget,
)

from voicestudio.gui.controllers.train import scores


class PreviewRow(QWidget):
    """One intermediate preview: its step and score, and a Play button."""

    def __init__(self, step: int, path: Path, similarity: float | None,
                 quality: float | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.step, self.path, self.similarity, self.quality = step, path, similarity, quality
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 2, 6, 2)
        self.label = QLabel(f"Step {step}  ·  {scores(similarity, quality)}")
        self.play_button = QPushButton("Play")
        self.play_button.setToolTip(f"Play {path.name}")
        layout.addWidget(self.label, 1)
        layout.addWidget(self.play_button)


class PreviewList(QListWidget):
    """``play(path)`` when a row's Play button is clicked."""

    play = Signal(object)

    def add(self, step: int, path: Path, similarity: float | None, quality: float | None) -> None:
        row = PreviewRow(step, path, similarity, quality)
        row.play_button.clicked.connect(lambda _=False: self.play.emit(path))
        item = QListWidgetItem()
        item.setSizeHint(row.sizeHint())
        self.insertItem(0, item)  # newest first
        self.setItemWidget(item, row)

    def rows(self) -> list[PreviewRow]:
        return [self.itemWidget(self.item(i)) for i in range(self.count())]
