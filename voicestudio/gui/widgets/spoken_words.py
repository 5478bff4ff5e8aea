"""The word being heard, marked while a rendered line plays: in the text box (an extra
selection, so the user's own selection stays as it is) and on the waveform.

Playback runs on PortAudio's thread; this only polls its position on a short timer while
the panel's own sound plays, and stops when it ends, when another sound starts or when the
text changes. Which characters a word is and which word a time falls in are worked out
without Qt (``gui/controllers/word_positions.py``).
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QObject, QTimer
from PySide6.QtGui import QTextCharFormat, QTextCursor
from PySide6.QtWidgets import QPlainTextEdit, QTextEdit

from voicestudio.gui.controllers.word_positions import utf16_offset, word_heard_at, word_ranges
from voicestudio.gui.theme import translucent
from voicestudio.gui.widgets.waveform import WaveformView
from voicestudio.voice.timings import WordTime

#: How often the play position is read: about 30 updates a second, smooth to the eye.
POLL_MS = 30


class SpokenWords(QObject):
    """Follows playback of the shown render; ``ctx`` plays it (a StudioContext)."""

    def __init__(self, text: QPlainTextEdit, waveform: WaveformView, ctx) -> None:
        super().__init__(text)
        self.text, self.waveform, self.ctx = text, waveform, ctx
        self.words: tuple[WordTime, ...] = ()
        self.ranges: list[tuple[int, int] | None] = []  # each word's characters in the text
        self.current: int | None = None  # the word marked
        self._sound = -1  # ctx.sounds_played when our sound started
        self.timer = QTimer(self)
        self.timer.setInterval(POLL_MS)
        self.timer.timeout.connect(self._poll)
        text.textChanged.connect(self._text_changed)

    def show_render(self, text: str, words: Sequence[WordTime] | None, markup: bool) -> None:
        """A new render of ``text`` is shown; ``words`` when the voice gave times. Words are
        found in the text box only while it still holds ``text``."""
        self.stop()
        self.words = tuple(words or ())
        same = text == self.text.toPlainText()
        self.ranges = word_ranges(text, [w.text for w in self.words], markup) if same else []

    def follow(self) -> None:
        """The shown render just started playing (the sound ``ctx`` played last)."""
        if not self.words:
            return
        self._sound = self.ctx.sounds_played
        self.timer.start()

    def _poll(self) -> None:
        position = self.ctx.playback_position_s
        if position is None or self.ctx.sounds_played != self._sound:
            self.stop()  # ended, or another sound took the speaker
            return
        self.update_position(position)

    def update_position(self, seconds: float) -> None:
        """Mark the word heard ``seconds`` into the render, and the play-head."""
        k = word_heard_at(self.words, seconds) if self.words else None
        word = self.words[k] if k is not None else None
        self.waveform.show_playback(seconds, (word.start, word.end) if word else None)
        if k != self.current:
            self.current = k
            span = self.ranges[k] if k is not None and k < len(self.ranges) else None
            self.text.setExtraSelections([self._selection(*span)] if span else [])

    def _selection(self, start: int, end: int) -> QTextEdit.ExtraSelection:
        selection = QTextEdit.ExtraSelection()
        cursor = QTextCursor(self.text.document())
        plain = self.text.toPlainText()
        cursor.setPosition(utf16_offset(plain, start))
        cursor.setPosition(utf16_offset(plain, end), QTextCursor.MoveMode.KeepAnchor)
        selection.cursor = cursor
        style = QTextCharFormat()
        # The theme's highlight colour, see-through: the user's selection is the solid one.
        style.setBackground(translucent("accent", 140))
        selection.format = style
        return selection

    def stop(self) -> None:
        """No word marked, no play-head, no polling."""
        self.timer.stop()
        self.current = None
        self.text.setExtraSelections([])
        self.waveform.show_playback(None)

    def _text_changed(self) -> None:
        self.stop()
        self.ranges = []  # the words no longer stand where they were found
