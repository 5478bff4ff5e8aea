"""The "Pronunciations" dialog: every entry of the user's lexicon and the open project's, in
one table, with add / edit / remove and TSV import / export.

A project entry that replaces one of the user's for the same word says so in its Scope cell,
and the user's entry it replaces is greyed. Adding and editing open the
:class:`~voicestudio.gui.widgets.pronunciation_dialog.PronunciationDialog`; the writing is
:mod:`voicestudio.gui.controllers.pronunciation` over ``project.lexicon_store`` (atomic
files; a bad TSV file is refused whole, naming its line).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from voicestudio.audio.io import Audio
from voicestudio.errors import VoiceStudioError
from voicestudio.gui.controllers.pronunciation import (
    COLUMNS,
    SCOPE_LABELS,
    LexiconRow,
    PronunciationContext,
    export_tsv,
    import_tsv,
    lexicon_rows,
    remove_stored,
    scope_unavailable,
)
from voicestudio.gui.widgets.inline_message import InlineMessage
from voicestudio.gui.widgets.pronunciation_dialog import PronunciationDialog
from voicestudio.project.lexicon_store import Scope
from voicestudio.project.project import VoiceProject

TSV_FILTER = "Tab-separated lexicon (*.tsv *.txt);;All files (*)"
OVERRIDDEN_TIP = "This project has its own entry for this word, and it wins while it is open"
OVERRIDES_TIP = "Wins over your own entry for this word while this project is open"


class LexiconTableDialog(QDialog):
    """See the module docstring. ``context`` gives the dialogs what they need of the panel
    (fresh each time: an edit changes how words are said); ``play`` plays a Listen."""

    #: An entry was added, edited, removed or imported: how words are said has changed.
    changed = Signal()

    def __init__(self, project: VoiceProject | None,
                 context: Callable[[], PronunciationContext], play: Callable[[Audio], None],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.project = project
        self.rows: list[LexiconRow] = []
        self.editor: PronunciationDialog | None = None
        self._context = context
        self._play = play
        self.setWindowTitle("Pronunciations")
        self.resize(760, 440)
        self._build()
        self.refresh()

    def _build(self) -> None:
        intro = QLabel("Words the voices say your way. Your entries apply to every voice; a "
                       "project's apply while it is open and win a word both have.")
        intro.setWordWrap(True)
        intro.setProperty("role", "hint")
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        for column in range(len(COLUMNS)):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(COLUMNS.index("Pronunciation"), QHeaderView.ResizeMode.Stretch)
        self.table.itemSelectionChanged.connect(self._selection_changed)
        self.table.doubleClicked.connect(lambda index: self.edit_row(index.row()))
        self.count_label = QLabel()
        self.count_label.setProperty("role", "hint")
        self.message = InlineMessage()

        self.add_button = QPushButton("Add…")
        self.add_button.clicked.connect(self.add_entry)
        self.edit_button = QPushButton("Edit…")
        self.edit_button.clicked.connect(lambda: self.edit_row(self.selected_row()))
        self.remove_button = QPushButton("Remove")
        self.remove_button.clicked.connect(self._confirm_remove)
        self.file_scope = QComboBox()
        self.file_scope.setToolTip("The lexicon that Import adds to and Export writes")
        for scope in (Scope.USER, Scope.PROJECT):
            self.file_scope.addItem(SCOPE_LABELS[scope], scope)
        reason = scope_unavailable(Scope.PROJECT, self.project)
        if reason:
            item = self.file_scope.model().item(1)
            item.setEnabled(False)
            item.setToolTip(reason)
        else:
            self.file_scope.setCurrentIndex(1)
        self.import_button = QPushButton("Import TSV…")
        self.import_button.setToolTip("Add the entries of a TSV file (word, kind, pronunciation, "
                                      "case); a file with a bad line imports nothing")
        self.import_button.clicked.connect(self._choose_import)
        self.export_button = QPushButton("Export TSV…")
        self.export_button.clicked.connect(self._choose_export)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)

        edit_row = QHBoxLayout()
        for button in (self.add_button, self.edit_button, self.remove_button):
            edit_row.addWidget(button)
        edit_row.addStretch(1)
        edit_row.addWidget(QLabel("TSV file of"))
        edit_row.addWidget(self.file_scope)
        edit_row.addWidget(self.import_button)
        edit_row.addWidget(self.export_button)
        bottom = QHBoxLayout()
        bottom.addWidget(self.count_label, 1)
        bottom.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.table, 1)
        layout.addLayout(edit_row)
        layout.addWidget(self.message)
        layout.addLayout(bottom)

    # ------------------------------------------------------------------ the rows
    def refresh(self) -> None:
        """Read both lexicons again; a damaged file is said inline (and shows no rows)."""
        try:
            self.rows = lexicon_rows(self.project)
        except VoiceStudioError as exc:
            self.rows = []
            self.message.error(str(exc))
        self.table.clearSelection()  # the row chosen may be another entry now
        self.table.setRowCount(len(self.rows))
        muted = self.palette().color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text)
        for r, row in enumerate(self.rows):
            for c, text in enumerate(row.cells):
                item = QTableWidgetItem(text)
                if row.overridden:
                    item.setForeground(muted)
                    item.setToolTip(OVERRIDDEN_TIP)
                elif row.overrides:
                    item.setToolTip(OVERRIDES_TIP)
                self.table.setItem(r, c, item)
        in_project = sum(row.stored.scope is Scope.PROJECT for row in self.rows)
        self.count_label.setText(
            f"{len(self.rows)} entries: {in_project} in this project, "
            f"{len(self.rows) - in_project} for all your voices" if self.project is not None
            else f"{len(self.rows)} entries for all your voices (open a project for its own)")
        self._selection_changed()

    def selected_row(self) -> int:
        rows = self.table.selectionModel().selectedRows()
        return rows[0].row() if rows else -1

    def _selection_changed(self) -> None:
        chosen = self.selected_row() >= 0
        self.edit_button.setEnabled(chosen)
        self.remove_button.setEnabled(chosen)

    # ------------------------------------------------------------------ edits
    def add_entry(self) -> PronunciationDialog | None:
        return self._open_editor(None)

    def edit_row(self, index: int) -> PronunciationDialog | None:
        if not 0 <= index < len(self.rows):
            return None
        return self._open_editor(self.rows[index])

    def _open_editor(self, row: LexiconRow | None) -> PronunciationDialog | None:
        try:
            context = self._context()
        except VoiceStudioError as exc:
            self.message.error(str(exc))
            return None
        stored = row.stored if row is not None else None
        self.editor = PronunciationDialog(context, self._play,
                                          word=stored.entry.word if stored else "",
                                          editing=stored, parent=self)
        self.editor.saved.connect(self._edited)
        self.editor.open()
        return self.editor

    def _edited(self, entry, scope: Scope) -> None:
        self.refresh()
        self.message.show_message(f"Saved “{entry.word}” ({SCOPE_LABELS[scope]}).", "ok")
        self.changed.emit()

    def _confirm_remove(self) -> None:
        index = self.selected_row()
        if index < 0:
            return
        stored = self.rows[index].stored
        answer = QMessageBox.question(
            self, "Remove pronunciation",
            f"Remove the pronunciation of “{stored.entry.word}” ({stored.entry.value}) from "
            f"{SCOPE_LABELS[stored.scope]}?")
        if answer == QMessageBox.StandardButton.Yes:
            self.remove_row(index)

    def remove_row(self, index: int) -> bool:
        if not 0 <= index < len(self.rows):
            return False
        stored = self.rows[index].stored
        try:
            remove_stored(stored, self.project)
        except VoiceStudioError as exc:
            self.message.error(str(exc))
            return False
        self.refresh()
        self.message.show_message(f"Removed “{stored.entry.word}” ({SCOPE_LABELS[stored.scope]}).",
                                  "info")
        self.changed.emit()
        return True

    # ------------------------------------------------------------------ files
    def _file_scope(self) -> Scope:
        return self.file_scope.currentData()

    def _choose_import(self) -> None:
        path, _filter = QFileDialog.getOpenFileName(self, "Import pronunciations", "",
                                                    TSV_FILTER)
        if path:
            self.import_file(Path(path))

    def _choose_export(self) -> None:
        path, _filter = QFileDialog.getSaveFileName(self, "Export pronunciations",
                                                    "pronunciations.tsv", TSV_FILTER)
        if path:
            self.export_file(Path(path))

    def import_file(self, path: Path) -> bool:
        """Add a TSV file's entries to the chosen lexicon; a bad file changes nothing."""
        scope = self._file_scope()
        try:
            count = import_tsv(path, scope, self.project)
        except VoiceStudioError as exc:
            self.message.show_message(f"Nothing was imported: {exc}", "error")
            return False
        self.refresh()
        self.message.show_message(f"Imported {count} entries from {path.name} "
                                  f"({SCOPE_LABELS[scope]}).", "ok")
        self.changed.emit()
        return True

    def export_file(self, path: Path) -> bool:
        scope = self._file_scope()
        try:
            count = export_tsv(path, scope, self.project)
        except VoiceStudioError as exc:
            self.message.error(str(exc))
            return False
        self.message.show_message(f"Wrote {count} entries ({SCOPE_LABELS[scope]}) to {path}.",
                                  "ok")
        return True

    def shutdown(self) -> None:
        if self.editor is not None:
            self.editor.shutdown()

    def done(self, result: int) -> None:
        self.shutdown()
        super().done(result)
