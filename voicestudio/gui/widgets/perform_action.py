"""The Synthesize panel's "Perform…" button and the dialog it opens; "Use this result" shows
the performed line in the panel (waveform, words, scores), where Export saves it like any
rendered line. The dialog is kept between openings, so a performance recorded once still
serves after the voice or a slider changed (the line is rendered again with it). Kept out of
the panel so the panel stays a list of its widgets.
"""

from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QPushButton, QVBoxLayout

from voicestudio.gui.controllers.perform import PerformLine
from voicestudio.gui.controllers.synthesize import Preview, VoiceKey
from voicestudio.gui.widgets.perform_dialog import PerformDialog

PERFORM_TIP = ("Act the line yourself (record it or load a recording) and hear the voice deliver "
               "it with your timing, intonation and loudness")


class PerformAction(QObject):
    """Wires "Perform…" into ``panel`` (a SynthesizePanel: its ``ctx``, text, voice, style
    controls, ``controller`` and ``message``)."""

    def __init__(self, panel) -> None:
        super().__init__(panel)
        self.panel = panel
        self.dialog: PerformDialog | None = None
        self.button = QPushButton("Perform…")
        self.button.setToolTip(PERFORM_TIP)
        self.button.clicked.connect(self.open)

    def buttons(self) -> QVBoxLayout:
        """"Perform…" beside the text, an action on the line like the pronunciation buttons
        (under them the text row would grow; the voice row has no room left)."""
        column = QVBoxLayout()
        column.addWidget(self.button)
        column.addStretch(1)
        return column

    def line(self) -> PerformLine:
        """The panel's line as Speak would render it now."""
        panel = self.panel
        voice = VoiceKey(panel.current_voice_spec(), panel.ctx.provider,
                         panel.voice_combo.currentText())
        return PerformLine(panel.current_text(), voice, panel.current_controls(),
                           panel.markup_toggle.markup())

    def open(self) -> PerformDialog:
        if self.dialog is None:
            self.dialog = PerformDialog(self.panel.ctx, self.line, parent=self.panel)
            self.dialog.used.connect(self._use)
        self.dialog.start()
        return self.dialog

    def _use(self, preview: Preview) -> None:
        panel = self.panel
        panel.controller.show_result(preview, self.dialog.controller.line.voice)
        panel.message.show_message("Showing the performed line: Export saves it; Speak or a "
                                   "slider renders the plain line again.", "ok")

    def shutdown(self) -> None:
        if self.dialog is not None:
            self.dialog.shutdown()
