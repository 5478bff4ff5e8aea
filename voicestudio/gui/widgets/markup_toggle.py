"""The Synthesize panel's "Speech markup" switch, and where a markup error points in the text.

On, the text is read as speech markup (SSML's common elements) even without a ``<speak>``
root; off, only a text that starts with ``<speak>`` is (the engine's opt-in rule, as in
``voicestudio say``). A markup error names its line and column; the text cursor is put
there so the user sees what to fix.
"""

from __future__ import annotations

import html

from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import QCheckBox, QPlainTextEdit

from voicestudio.gui.controllers.word_positions import utf16_offset

MARKUP_TIP = (
    "Read the text as speech markup (SSML). Supported: "
    "<break time=\"500ms\"/> (a pause), <emphasis>…</emphasis>, "
    "<prosody rate=\"slow\" pitch=\"+2st\" volume=\"+3dB\">…</prosody>, "
    "<phoneme ph=\"…\">word</phoneme>, <sub alias=\"spoken\">written</sub>, "
    "<say-as interpret-as=\"characters\">…</say-as>. "
    "Off, a text that starts with <speak> is still read as markup. See README: Speech markup."
)


class MarkupToggle(QCheckBox):
    """The switch for the text box ``editor``; :meth:`markup` is the choice a render carries."""

    def __init__(self, editor: QPlainTextEdit) -> None:
        super().__init__("Speech markup")
        self.editor = editor
        # Rich text whose own tags are escaped: the elements show as written, and it wraps.
        self.setToolTip(f"<p>{html.escape(MARKUP_TIP)}</p>")

    def markup(self) -> bool | None:
        """True: always markup; None: markup when the text starts with ``<speak>``."""
        return True if self.isChecked() else None

    def show_error(self, line: int, column: int) -> None:
        """Put the text cursor at ``line``, ``column`` (1-based, clamped to the text)."""
        document = self.editor.document()
        block = document.findBlockByNumber(min(max(line, 1), document.blockCount()) - 1)
        line_text = block.text()
        at = block.position() + utf16_offset(line_text, min(max(column, 1) - 1, len(line_text)))
        cursor = self.editor.textCursor()
        cursor.setPosition(at, QTextCursor.MoveMode.MoveAnchor)
        self.editor.setTextCursor(cursor)
        self.editor.ensureCursorVisible()
        self.editor.setFocus()
