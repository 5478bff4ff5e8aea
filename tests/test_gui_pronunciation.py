"""Fixing a word's pronunciation in the Synthesize panel, offscreen, with the bundled voice:
the "Fix pronunciation" dialog (Listen renders for real) and the "Pronunciations" table."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from gui_layout import clipped  # noqa: E402
from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtGui import QTextCursor  # noqa: E402
from PySide6.QtWidgets import QMessageBox  # noqa: E402

from voicestudio.gui.controllers.pronunciation import (  # noqa: E402
    NO_PROJECT_REASON,
    NO_WORD,
    phonemes_of,
    render_candidate,
    voice_config,
)
from voicestudio.gui.panels.synthesize import SynthesizePanel  # noqa: E402
from voicestudio.project import lexicon_store as store  # noqa: E402
from voicestudio.project.lexicon_store import Scope  # noqa: E402
from voicestudio.project.project import VoiceProject  # noqa: E402
from voicestudio.styling.controls import StyleControls  # noqa: E402
from voicestudio.text.lexicon import Lexicon, LexiconEntry, Pronunciation  # noqa: E402

RENDER_MS = 60_000
TEXT = "Hello there. Please ask Zorblax about the plan."
SENTENCE = "Please ask Zorblax about the plan."
SOUNDS, IPA = Pronunciation.SOUNDS_LIKE, Pronunciation.PHONEMES


@pytest.fixture(autouse=True)
def user_data(tmp_path, monkeypatch) -> Path:
    """The user's lexicon in this test's own folder."""
    monkeypatch.setenv("VOICESTUDIO_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


@pytest.fixture
def panel(themed_synthesize_panel):
    return themed_synthesize_panel()


@pytest.fixture
def project(tmp_path) -> VoiceProject:
    return VoiceProject.create("Speaker", tmp_path, prompts=["One line."], consent_index=None)


def select(panel: SynthesizePanel, word: str) -> None:
    """Select ``word`` in the panel's text, as a double-click would."""
    start = panel.current_text().index(word)
    cursor = panel.text.textCursor()
    cursor.setPosition(start)
    cursor.setPosition(start + len(word), QTextCursor.MoveMode.KeepAnchor)
    panel.text.setTextCursor(cursor)


def wait_for_voice(qtbot, panel: SynthesizePanel) -> None:
    qtbot.waitUntil(lambda: panel.controller.session is not None, timeout=RENDER_MS)


def test_fix_listen_and_save_to_the_project(qtbot, panel, ctx, project, artifacts_dir):
    ctx.set_project(project)
    panel.set_text(TEXT)
    panel.sliders["variability"].set_control(0.0)  # deterministic renders, to compare them
    wait_for_voice(qtbot, panel)
    select(panel, "Zorblax")
    menu = panel.pronunciation.context_menu(panel.text.cursorRect().center())
    assert menu.actions()[0].text() == "Fix pronunciation of “Zorblax”…"
    qtbot.mouseClick(panel.pronunciation.fix_button, Qt.MouseButton.LeftButton)
    dialog = panel.pronunciation.dialog
    assert dialog is not None and dialog.isVisible()
    config = voice_config(None)
    assert dialog.word_edit.text() == "Zorblax"
    assert dialog.now_label.text() == phonemes_of("Zorblax", Lexicon(), config)
    assert dialog.sentence_label.text() == f"“{SENTENCE}”"
    assert not dialog.save_button.isEnabled() and not dialog.listen_button.isEnabled()
    assert dialog.scope_buttons[Scope.PROJECT].isChecked()  # a project is open

    qtbot.keyClicks(dialog.value_edit, "zor blocks")
    assert dialog.save_button.isEnabled() and dialog.message.level != "error"
    assert dialog.with_label.text() == phonemes_of("zor blocks", Lexicon(), config)
    with qtbot.waitSignal(dialog.listened, timeout=RENDER_MS) as heard:
        qtbot.mouseClick(dialog.listen_button, Qt.MouseButton.LeftButton)
    listened = heard.args[0]
    controls = panel.current_controls()
    plain = render_candidate(ctx.voice(None), Lexicon(), SENTENCE, controls)
    assert listened.duration_s > 1.0 and not np.array_equal(listened.samples, plain.samples)
    qtbot.waitUntil(lambda: dialog.listen_button.isEnabled())  # the task ended
    qtbot.wait(50)
    dialog.grab().save(str(artifacts_dir / "dialog_fix_pronunciation.png"))
    assert clipped(dialog) == []

    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert not dialog.isVisible()
    data = json.loads((project.folder / "lexicon.json").read_text(encoding="utf-8"))
    assert data["entries"] == [{"word": "Zorblax", "kind": "sounds-like", "value": "zor blocks",
                                "case_sensitive": False}]
    assert panel.message.level == "ok" and "zor blocks" in panel.message.text()
    # the next preview says it the new way: the same audio as the Listen of the sentence
    synthesizer = panel.controller.session.synthesizer
    assert synthesizer.lexicon.lookup("zorblax").value == "zor blocks"
    assert synthesizer._phonemes(SENTENCE) == list(phonemes_of(SENTENCE.replace(
        "Zorblax", "zor blocks"), Lexicon(), config))
    panel.set_text(SENTENCE)
    with qtbot.waitSignal(panel.rendered, timeout=RENDER_MS) as spoken:
        qtbot.mouseClick(panel.speak_button, Qt.MouseButton.LeftButton)
    assert np.array_equal(spoken.args[0].samples, listened.samples)
    assert controls == StyleControls(variability=0.0)

    # fixing it again starts from the saved entry
    select(panel, "Zorblax")
    again = panel.pronunciation.fix_selected()
    assert again.value_edit.text() == "zor blocks" and again.editing.scope is Scope.PROJECT
    again.reject()


def test_a_symbol_the_voice_lacks_is_named_and_save_stays_off(qtbot, panel, artifacts_dir):
    panel.set_text(TEXT)
    cursor = panel.text.textCursor()
    cursor.setPosition(TEXT.index("Zorblax") + 3)  # the cursor in the word, nothing selected
    panel.text.setTextCursor(cursor)
    menu = panel.pronunciation.context_menu(panel.text.cursorRect().center())
    menu.actions()[0].trigger()  # the text box's context menu
    dialog = panel.pronunciation.dialog
    assert dialog.isVisible() and dialog.word_edit.text() == "Zorblax"
    assert dialog.windowTitle() == "Fix pronunciation"
    dialog.kind_buttons[IPA].setChecked(True)
    assert dialog.value_edit.text() == dialog.now_label.text()  # "says now" as a start
    assert dialog.save_button.isEnabled()
    dialog.value_edit.setText("zˈɔːɹbl@ks")
    assert dialog.message.isVisible() and dialog.message.level == "error"
    assert "'@' (U+0040)" in dialog.message.text()
    assert not dialog.save_button.isEnabled() and not dialog.listen_button.isEnabled()
    # no project: only the user's lexicon, and the dialog says why
    assert not dialog.scope_buttons[Scope.PROJECT].isEnabled()
    assert dialog.scope_buttons[Scope.USER].isChecked()
    assert dialog.scope_reason.text() == NO_PROJECT_REASON and dialog.scope_reason.isVisible()
    qtbot.wait(50)
    assert clipped(dialog) == []
    dialog.grab().save(str(artifacts_dir / "dialog_fix_pronunciation_error.png"))
    dialog.value_edit.setText("zˈɔːɹblæks")
    assert dialog.save_button.isEnabled() and not dialog.message.isVisible()
    dialog.reject()

    cursor.setPosition(TEXT.index("."))  # ". |": no word
    cursor.setPosition(TEXT.index(".") + 2, QTextCursor.MoveMode.KeepAnchor)
    panel.text.setTextCursor(cursor)
    assert panel.pronunciation.fix_selected() is None
    assert panel.message.text() == NO_WORD


def test_the_table_lists_edits_removes_and_refuses_a_bad_import(
        qtbot, panel, ctx, project, tmp_path, monkeypatch, artifacts_dir):
    ctx.set_project(project)
    user = store.lexicon_path(Scope.USER)
    store.add_entry(user, LexiconEntry("Zorblax", SOUNDS, "zor blocks"))
    store.add_entry(user, LexiconEntry("NASA", SOUNDS, "nassa", case_sensitive=True))
    project_file = store.lexicon_path(Scope.PROJECT, project)
    store.add_entry(project_file, LexiconEntry("zorblax", IPA, "zˈɔːɹblæks"))
    store.add_entry(project_file, LexiconEntry("Nguyen", SOUNDS, "win"))
    wait_for_voice(qtbot, panel)

    qtbot.mouseClick(panel.pronunciation.table_button, Qt.MouseButton.LeftButton)
    table = panel.pronunciation.table
    assert table.isVisible() and table.table.rowCount() == 4

    def cells(row: int) -> list[str]:
        return [table.table.item(row, c).text() for c in range(table.table.columnCount())]

    assert [cells(r) for r in range(4)] == [
        ["Nguyen", "Sounds like", "win", "any", "This project"],
        ["zorblax", "Phonemes (IPA)", "zˈɔːɹblæks", "any", "This project (overrides yours)"],
        ["NASA", "Sounds like", "nassa", "exact", "All my voices"],
        ["Zorblax", "Sounds like", "zor blocks", "any", "All my voices (the project's wins)"],
    ]
    assert not table.edit_button.isEnabled()
    table.table.selectRow(0)
    assert table.edit_button.isEnabled() and table.remove_button.isEnabled()
    qtbot.wait(50)
    assert clipped(table) == []
    table.grab().save(str(artifacts_dir / "dialog_pronunciations.png"))

    # edit: Nguyen becomes exact-case phonemes, still in the project
    editor = table.edit_row(0)
    assert editor.word_edit.text() == "Nguyen" and editor.value_edit.text() == "win"
    editor.kind_buttons[IPA].setChecked(True)
    editor.value_edit.setText("wˈɪn")
    editor.exact.setChecked(True)
    qtbot.wait(50)
    assert editor.windowTitle() == "Edit pronunciation" and clipped(editor) == []
    editor.grab().save(str(artifacts_dir / "dialog_edit_pronunciation.png"))
    with qtbot.waitSignal(table.changed):
        assert editor.save()
    assert cells(0) == ["Nguyen", "Phonemes (IPA)", "wˈɪn", "exact", "This project"]
    saved = store.load_lexicon(project_file).entries
    assert [(e.word, e.value, e.case_sensitive) for e in saved] == [
        ("Nguyen", "wˈɪn", True), ("zorblax", "zˈɔːɹblæks", False)]
    assert panel.controller.session.synthesizer.lexicon.lookup("Nguyen").value == "wˈɪn"

    # remove (after the confirmation) the project's zorblax: the user's no longer overridden
    monkeypatch.setattr(QMessageBox, "question",
                        staticmethod(lambda *_a, **_k: QMessageBox.StandardButton.Yes))
    table.table.selectRow(1)
    with qtbot.waitSignal(table.changed):
        qtbot.mouseClick(table.remove_button, Qt.MouseButton.LeftButton)
    assert table.table.rowCount() == 3
    assert cells(2) == ["Zorblax", "Sounds like", "zor blocks", "any", "All my voices"]
    assert panel.controller.session.synthesizer.lexicon.lookup("zorblax").value == "zor blocks"

    # a bad TSV file: the error names its line, and every entry is still there
    bad = tmp_path / "bad.tsv"
    bad.write_text("Siobhan\tipa\tʃɪvˈɔːn\nOops\tspelled\tx\n", encoding="utf-8")
    before = [cells(r) for r in range(3)]
    assert not table.import_file(bad)
    assert table.message.level == "error" and "bad.tsv, line 2" in table.message.text()
    assert table.message.text().startswith("Nothing was imported: bad.tsv, line 2: kind must")
    assert [cells(r) for r in range(3)] == before
    assert len(store.load_lexicon(project_file)) == 1 and len(store.load_lexicon(user)) == 2
    qtbot.wait(50)
    assert clipped(table) == []
    table.grab().save(str(artifacts_dir / "dialog_pronunciations_error.png"))

    # a good one, into the user's lexicon, and out again
    good = tmp_path / "good.tsv"
    good.write_text("Siobhan\tipa\tʃɪvˈɔːn\n", encoding="utf-8")
    table.file_scope.setCurrentIndex(table.file_scope.findData(Scope.USER))
    assert table.import_file(good) and table.table.rowCount() == 4
    out = tmp_path / "out.tsv"
    assert table.export_file(out)
    assert "Siobhan\tipa\tʃɪvˈɔːn\tany" in out.read_text(encoding="utf-8")
    table.reject()
