"""A corpus user's way to the consent statement in the window: the Train panel offers to
record it (Record shows its prompt) or to add a recording made elsewhere (checked as
`voicestudio project consent --file` checks it, the verdict shown in the panel). Also the
New project dialog and the status bar's input, which the first-run trial found wanting."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("PySide6")

from gui_layout import clipped  # noqa: E402
from PySide6.QtCore import QSettings, Qt  # noqa: E402
from training_data import OTHER_SPEAKER_WAV, SENTENCES, SPEAKER_RATE, make_project, speaker_reads  # noqa: E402

from voicestudio.audio.io import read_audio, write_audio  # noqa: E402
from voicestudio.gui.main_window import MainWindow, NewProjectDialog  # noqa: E402
from voicestudio.project.project import VoiceProject  # noqa: E402
from voicestudio.project.selection import consent_prompt, statement_for  # noqa: E402

CHECK_TIMEOUT_MS = 180_000


@pytest.fixture
def window(qtbot, tmp_path):
    win = MainWindow(settings=QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    yield win
    win._force_close = True
    win.close()


def _imported_corpus(tmp_path: Path, synth) -> VoiceProject:
    """What `project import` of a folder of clips gives: takes, and no statement prompt."""
    (tmp_path / "source").mkdir(exist_ok=True)
    source = make_project(tmp_path / "source", synth)
    corpus = VoiceProject.create("My corpus", tmp_path, prompts=SENTENCES, consent_index=None)
    for index, prompt in enumerate(source.prompts[1:]):
        take = read_audio(source.take_path(prompt.chosen_take))
        corpus.add_take(index, take.samples, take.sample_rate, source="import:/corpus/clip.wav",
                        save=False)
    corpus.save()
    return corpus


def _check(qtbot, panel, path: Path) -> None:
    assert panel.add_statement_recording(path) is True
    assert panel.checking_statement and not panel.add_statement_button.isEnabled()
    assert not panel.start_button.isEnabled()  # no training while the statement is checked
    qtbot.waitUntil(lambda: not panel.checking_statement, timeout=CHECK_TIMEOUT_MS)


def test_train_panel_adds_a_statement_recorded_elsewhere(qtbot, window, tmp_path, synth,
                                                         artifacts_dir):
    corpus = _imported_corpus(tmp_path, synth)
    window.ctx.set_project(corpus)
    panel = window.train
    window.show_panel(panel)
    assert panel.consent_actions.isVisible()
    assert panel.record_statement_button.isEnabled() and panel.add_statement_button.isEnabled()
    assert "voicestudio" not in panel.project_label.text()  # no CLI commands for a GUI user
    assert clipped(panel) == []
    window.grab().save(str(artifacts_dir / "train_consent_actions.png"))

    # someone else's recording: refused inline, nothing stored
    _check(qtbot, panel, OTHER_SPEAKER_WAV)
    assert panel.consent_message.isVisible() and panel.consent_message.level == "error"
    assert "nothing was stored" in panel.consent_message.text()
    again = VoiceProject.open(corpus.folder)
    statement = consent_prompt(again)
    assert statement is None or not again.prompts[statement].takes
    assert panel.consent_actions.isVisible()

    # the speaker reading the statement: stored, verified, and the way forward goes away
    recording = tmp_path / "statement.wav"
    write_audio(recording, speaker_reads(synth, statement_for(corpus)), SPEAKER_RATE)
    _check(qtbot, panel, recording)
    text = panel.consent_message.text()
    assert panel.consent_message.level == "ok", text
    assert text.startswith("statement.wav is stored as the consent statement")
    assert ": verified" in text
    assert not panel.consent_actions.isVisible()
    assert "Consent statement recorded" in panel.project_label.text()
    stored = VoiceProject.open(corpus.folder)
    assert stored.prompts[consent_prompt(stored)].takes
    window.grab().save(str(artifacts_dir / "train_consent_added.png"))
    # the Record panel shows the new prompt with its take
    assert window.record.prompt_table.rowCount() == len(stored.prompts)


def test_record_the_statement_now_shows_its_prompt_in_record(qtbot, window, tmp_path, synth):
    # a project from the recording script: the statement is prompt 1
    project = window.new_project("Scripted", parent=str(tmp_path))
    window.show_panel(window.train)
    window.record.go_to_prompt(5)
    qtbot.mouseClick(window.train.record_statement_button, Qt.MouseButton.LeftButton)
    assert window.current_panel is window.record and window.record.index == 0
    assert window.record.prompt_label.text() == project.prompts[0].text

    # an imported corpus has none: the button adds it as a prompt, then shows it
    corpus = _imported_corpus(tmp_path, synth)
    window.ctx.set_project(corpus)
    window.show_panel(window.train)
    qtbot.mouseClick(window.train.record_statement_button, Qt.MouseButton.LeftButton)
    index = consent_prompt(corpus)
    assert index == len(SENTENCES) and window.current_panel is window.record
    assert window.record.index == index
    assert window.record.prompt_table.rowCount() == len(SENTENCES) + 1
    assert window.record.prompt_label.text() == statement_for(corpus)
    assert consent_prompt(VoiceProject.open(corpus.folder)) == index  # saved


def test_new_project_dialog_shows_its_fields_whole_and_browses(qtbot, tmp_path, artifacts_dir,
                                                               monkeypatch):
    dialog = NewProjectDialog()
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    ok = dialog.buttons.button(dialog.buttons.StandardButton.Ok)
    assert not ok.isEnabled()  # nothing to create without a name
    dialog.name.setText("LJ test")
    dialog.speaker.setText("the person who will record (optional)")
    assert ok.isEnabled()
    for field in (dialog.name, dialog.speaker, dialog.folder):  # nothing cut off
        needed = field.fontMetrics().horizontalAdvance(field.text()) + 8
        assert field.width() >= needed, field.text()
    assert clipped(dialog) == []
    monkeypatch.setattr("voicestudio.gui.main_window.QFileDialog.getExistingDirectory",
                        lambda *args: str(tmp_path))
    qtbot.mouseClick(dialog.browse_button, Qt.MouseButton.LeftButton)
    assert dialog.folder.text() == str(tmp_path)
    assert dialog.target.text() == f"The project will be made in {tmp_path / 'LJ test'}"
    dialog.grab().save(str(artifacts_dir / "new_project_dialog.png"))


def test_new_project_in_the_dialogs_default_folder_on_a_fresh_machine(window, tmp_path,
                                                                      monkeypatch):
    """The default projects folder does not exist before the first project; the dialog
    offers it, so creating a project there must make it (the trial's first GUI step)."""
    from voicestudio.project.project import default_projects_dir

    monkeypatch.setenv("VOICESTUDIO_DATA_DIR", str(tmp_path / "fresh"))
    assert not default_projects_dir().exists()
    dialog = NewProjectDialog()
    project = window.new_project("First", parent=dialog.folder.text())
    assert project is not None, window.banner.text()
    assert project.folder == default_projects_dir() / "First", window.banner.text()
    assert window.new_project("Second", parent=str(tmp_path / "no such folder")) is None
    assert "does not exist" in window.banner.text() and "--dir" not in window.banner.text()


def test_status_bar_says_what_the_record_panel_says_about_the_input(window):
    from voicestudio.audio.devices import AudioDeviceError, list_devices

    try:
        inputs = list_devices("input")
    except AudioDeviceError:
        inputs = []
    shown = window.record.device_combo.currentText()
    assert window.device_label.text() == f"Input: {shown}"
    if not inputs:  # the first-run trial's case: the status bar said "system default" here
        assert window.device_label.text() == "Input: No microphone found"
    window.record.refresh_devices()
    assert window.device_label.text() == f"Input: {window.record.device_combo.currentText()}"


def test_the_train_panel_and_the_trainer_share_one_thread_default(window):
    import os

    from voicestudio import threads
    from voicestudio.training import finetune

    assert finetune.training_threads is threads.training_threads  # one rule, one place
    cores = os.cpu_count() or 1
    expected = cores if cores <= 3 else cores - 1
    assert threads.training_threads() == expected
    assert window.train.threads_spin.value() == expected  # 2 on a 2-core laptop, not 1


def test_a_refused_start_speaks_of_the_buttons_not_of_commands(qtbot, window, tmp_path, synth):
    pytest.importorskip(
        "torch", reason="training needs the [train] extra (torch==2.13.0); make test installs it")
    corpus = _imported_corpus(tmp_path, synth)
    window.ctx.set_project(corpus)
    panel = window.train
    window.show_panel(panel)
    with qtbot.waitSignal(panel.run_ended, timeout=CHECK_TIMEOUT_MS) as ended:
        assert panel.start() is True
    assert ended.args == ["failed"]
    text = panel.message.text()
    assert panel.message.level == "error" and "no consent statement among its prompts" in text
    assert "“Record the statement now” below (a new prompt in Record)" in text
    assert "“Add a recording of it…”" in text
    # no terminal commands for a GUI user
    assert "voicestudio " not in text and "--file" not in text
    assert panel.consent_actions.isVisible()


def test_closing_while_a_statement_is_checked_stops_the_check(qtbot, tmp_path, synth):
    """The check runs on a worker thread; closing the window cancels it and waits, so the
    thread never outlives its panel (Qt would abort the process) and nothing is stored."""
    corpus = _imported_corpus(tmp_path, synth)
    win = MainWindow(settings=QSettings(str(tmp_path / "closing.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(win)
    win.show()
    win.ctx.set_project(corpus)
    recording = tmp_path / "statement.wav"
    write_audio(recording, speaker_reads(synth, statement_for(corpus)), SPEAKER_RATE)
    assert win.train.add_statement_recording(recording)
    win._force_close = True
    win.close()
    assert not win.train.checking_statement or not win.train.statement.task.running
    again = VoiceProject.open(corpus.folder)
    statement = consent_prompt(again)
    assert statement is None or not again.prompts[statement].takes
