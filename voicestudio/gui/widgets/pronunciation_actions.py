"""The Synthesize panel's way into the pronunciation lexicon: "Fix pronunciation…" and
"Pronunciations…" beside the text, the same fix in the text's context menu, and the two
dialogs they open. After a save the panel's controller is told, so the next preview says
the word the new way. Kept out of the panel so the panel stays a list of its widgets.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QPoint, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QPushButton, QVBoxLayout

from voicestudio.audio.io import Audio
from voicestudio.errors import VoiceStudioError
from voicestudio.gui.controllers.pronunciation import (
    NO_WORD,
    SCOPE_LABELS,
    PronunciationContext,
    WordSpan,
    sentence_around,
    stored_entry,
    voice_config,
    word_at,
)
from voicestudio.gui.widgets.lexicon_table import LexiconTableDialog
from voicestudio.gui.widgets.pronunciation_dialog import PronunciationDialog
from voicestudio.project.lexicon_store import lexicon_for


class PronunciationActions(QObject):
    """Wires the lexicon's buttons, menu item and dialogs into ``panel`` (a SynthesizePanel:
    its ``text``, ``ctx``, ``message``, ``controller``, voice and controls)."""

    def __init__(self, panel) -> None:
        super().__init__(panel)
        self.panel = panel
        self.dialog: PronunciationDialog | None = None
        self.table: LexiconTableDialog | None = None
        self.fix_button = QPushButton("Fix pronunciation…")
        self.fix_button.setToolTip("Say a word of the text your way: select it (or put the "
                                   "cursor in it) first")
        self.fix_button.clicked.connect(self.fix_selected)
        self.table_button = QPushButton("Pronunciations…")
        self.table_button.setToolTip("Every word with a pronunciation of its own, yours and this "
                                     "project's: add, edit, remove, import, export")
        self.table_button.clicked.connect(self.open_table)
        panel.text.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        panel.text.customContextMenuRequested.connect(self._show_context_menu)

    def buttons(self) -> QVBoxLayout:
        column = QVBoxLayout()
        column.addWidget(self.fix_button)
        column.addWidget(self.table_button)
        column.addStretch(1)
        return column

    # ------------------------------------------------------------------ the word
    def selected_word(self) -> WordSpan | None:
        cursor = self.panel.text.textCursor()
        return word_at(self.panel.current_text(), cursor.selectionStart(), cursor.selectionEnd())

    def word_at_point(self, pos: QPoint) -> WordSpan | None:
        """The selected word when the click is on the selection, else the word clicked."""
        text, cursor = self.panel.text, self.panel.text.textCursor()
        at = text.cursorForPosition(pos).position()
        if cursor.hasSelection() and cursor.selectionStart() <= at <= cursor.selectionEnd():
            return self.selected_word()
        return word_at(self.panel.current_text(), at)

    def context_menu(self, pos: QPoint) -> QMenu:
        """The text box's own menu with "Fix pronunciation of “word”…" on top."""
        menu = self.panel.text.createStandardContextMenu(pos)
        span = self.word_at_point(pos)
        action = QAction(f"Fix pronunciation of “{span.word}”…" if span else
                         "Fix pronunciation…", menu)
        action.setEnabled(span is not None)
        action.triggered.connect(lambda: self.fix_word(span))
        first = menu.actions()[0] if menu.actions() else None
        menu.insertAction(first, action)
        menu.insertSeparator(first)
        return menu

    def _show_context_menu(self, pos: QPoint) -> None:
        menu = self.context_menu(pos)
        menu.exec(self.panel.text.viewport().mapToGlobal(pos))  # a scroll area's position
        menu.deleteLater()

    # ------------------------------------------------------------------ the dialogs
    def context(self) -> PronunciationContext:
        """What the dialogs need, as the panel is now; VoiceStudioError when the voice's
        sidecar or a lexicon file cannot be read."""
        panel, ctx = self.panel, self.panel.ctx
        spec = panel.current_voice_spec()
        return PronunciationContext(voice_config(spec), lexicon_for(ctx.project), ctx.project,
                                    voice=lambda: ctx.voice(spec),
                                    controls=panel.current_controls)

    def play(self, audio: Audio) -> None:
        """Through the panel's player; VoiceStudioError (no device) for the dialog to show."""
        self.panel.ctx.play(audio.samples, audio.sample_rate)

    def fix_selected(self) -> PronunciationDialog | None:
        return self.fix_word(self.selected_word())

    def fix_word(self, span: WordSpan | None) -> PronunciationDialog | None:
        """Open "Fix pronunciation" for ``span`` of the text (the entry it has, if any)."""
        panel = self.panel
        if span is None:
            panel.message.show_message(NO_WORD, "warning")
            return None
        try:
            context = self.context()
            editing = stored_entry(span.word, context.project)
        except VoiceStudioError as exc:
            panel.message.error(str(exc))
            return None
        if self.dialog is not None:
            self.dialog.deleteLater()
        self.dialog = PronunciationDialog(context, self.play, word=span.word,
                                          sentence=sentence_around(panel.current_text(), span),
                                          editing=editing, parent=panel)
        self.dialog.saved.connect(self._saved)
        self.dialog.open()
        return self.dialog

    def open_table(self) -> LexiconTableDialog:
        if self.table is not None:
            self.table.deleteLater()
        self.table = LexiconTableDialog(self.panel.ctx.project, self.context, self.play,
                                        parent=self.panel)
        self.table.changed.connect(self.panel.controller.lexicon_changed)
        self.table.open()
        return self.table

    def _saved(self, entry, scope) -> None:
        self.panel.controller.lexicon_changed()
        self.panel.message.show_message(
            f"“{entry.word}” is now said as {entry.value} ({SCOPE_LABELS[scope]}); Speak to "
            "hear it in the text.", "ok")

    def shutdown(self) -> None:
        for dialog in (self.dialog, self.table):
            if dialog is not None:
                dialog.shutdown()
