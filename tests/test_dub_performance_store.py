"""The performances chosen in the Dubbing view, saved per script file and given back when the
script is imported again: what is restored, what is not and why, and damaged files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from voicestudio.dubbing.performance_store import (
    NotRestored,
    PerformanceStore,
    PerformanceStoreError,
    restore,
    store_folder,
    store_path,
)
from voicestudio.dubbing.script import load_dub_script, set_line_performance

LINES = "First line of the dub.\nSecond line, performed.\nThird line.\n"


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A user data folder of this test's own (the session's is shared by every test)."""
    folder = tmp_path / "data"
    monkeypatch.setenv("VOICESTUDIO_DATA_DIR", str(folder))
    return folder


def recording(folder: Path, name: str = "take.wav") -> Path:
    path = folder / name
    sf.write(str(path), np.zeros(1600, dtype=np.float32), 16_000)
    return path


def script_file(folder: Path, text: str = LINES, name: str = "lines.txt") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def choose(script_path: Path, index: int, take: Path | None) -> None:
    """What the Dubbing view does: import the script (restoring its saved choices), set the
    line's performance, then save it."""
    script = load_dub_script(script_path)
    store = PerformanceStore.for_script(script_path)
    restore(script, store)
    line = set_line_performance(script, index, take)
    store.keep(line, script)


def reimport(script_path: Path):
    script = load_dub_script(script_path)
    return script, restore(script, PerformanceStore.for_script(script_path))


def test_round_trip(tmp_path: Path, data_dir: Path):
    path, take = script_file(tmp_path), recording(tmp_path)
    choose(path, 2, take)
    stored = store_path(path)
    assert stored.parent == store_folder() == data_dir / "dubs"
    assert stored.name.startswith("lines-") and stored.suffix == ".json"
    saved = json.loads(stored.read_text(encoding="utf-8"))
    assert saved["version"] == 2 and saved["script"] == str(path.resolve())
    assert saved["performances"] == [
        {"line": 2, "text": "Second line, performed.", "recording": str(take.resolve()),
         "before": "First line of the dub.", "after": "Third line.", "over": None}]
    assert [p.name for p in stored.parent.iterdir()] == [stored.name]  # no temporary left

    script, result = reimport(path)
    assert result.restored == [2] and result.notes == []
    assert result.summary == "Restored 1 performance chosen earlier for this script."
    assert [line.perform for line in script.lines] == [None, take.resolve(), None]


def test_changed_text_and_a_gone_line_are_not_restored(tmp_path: Path):
    path, take = script_file(tmp_path), recording(tmp_path)
    choose(path, 2, take)
    choose(path, 3, take)
    path.write_text("First line of the dub.\nSecond line, rewritten.\n", encoding="utf-8")
    script, result = reimport(path)
    assert result.restored == [] and all(line.perform is None for line in script.lines)
    assert [(n.line, n.reason) for n in result.notes] == [
        (2, NotRestored.TEXT_CHANGED), (3, NotRestored.LINE_GONE)]
    assert result.notes[0].message == (
        "line 2: the performance take.wav chosen earlier was not restored: the line's text "
        "has changed")


def test_a_choice_over_the_script_s_perform_cell_holds_until_the_cell_changes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Replacing or clearing the CSV's recording in the app lasts across imports of the same
    script; once the CSV gives that line another recording, or none, the script file wins
    and the choice is dropped (the cell going back does not bring it back)."""
    monkeypatch.chdir(tmp_path)  # the CSV's relative perform cells
    ours, theirs = recording(tmp_path, "ours.wav"), recording(tmp_path, "theirs.wav")
    newer = recording(tmp_path, "newer.wav")
    csv = "text,perform\nOne.,theirs.wav\nTwo.,theirs.wav\nThree.,\nFour.,theirs.wav\n"
    path = script_file(tmp_path, csv, "lines.csv")
    choose(path, 1, ours)  # another recording in place of the script's
    choose(path, 2, None)  # the script's taken away
    choose(path, 3, ours)
    choose(path, 4, None)
    for _ in range(2):  # and again: a restored choice is not lost by the next import
        script, result = reimport(path)
        assert [line.perform for line in script.lines] == [
            ours.resolve(), None, ours.resolve(), None]
        assert result.restored == [1, 2, 3, 4] and result.cleared == [2, 4]
        assert result.notes == []
        assert result.summary == (
            "Restored 2 performances chosen earlier for this script. Lines 2, 4 stay without "
            "the recordings the script's perform column names, as chosen earlier.")
    saved = json.loads(store_path(path).read_text(encoding="utf-8"))["performances"]
    assert [(e["recording"], e["over"]) for e in saved] == [
        (str(ours.resolve()), str(theirs.resolve())), (None, str(theirs.resolve())),
        (str(ours.resolve()), None), (None, str(theirs.resolve()))]

    choose(path, 1, theirs)  # back to what the script says: nothing to remember
    assert [e["line"] for e in json.loads(
        store_path(path).read_text(encoding="utf-8"))["performances"]] == [2, 3, 4]

    path.write_text("text,perform\nOne.,theirs.wav\nTwo.,newer.wav\nThree.,newer.wav\nFour.,\n",
                    encoding="utf-8")
    script, result = reimport(path)
    assert [line.perform for line in script.lines] == [
        theirs.resolve(), newer.resolve(), newer.resolve(), None]
    assert result.restored == [] and result.summary == ""
    assert [(n.line, n.reason) for n in result.notes] == [
        (2, NotRestored.SCRIPT_WINS), (3, NotRestored.SCRIPT_WINS)]  # 4: plain, as chosen
    assert result.notes[0].message == (
        "line 2: leaving out theirs.wav, as chosen earlier, was not restored: the script's "
        "perform column gives it newer.wav now, which wins")
    assert result.notes[1].message == (
        "line 3: the performance ours.wav chosen earlier was not restored: the script's "
        "perform column gives it newer.wav now, which wins")

    # superseded choices are dropped with the next change: the old cells do not revive them
    choose(path, 1, ours)
    path.write_text(csv, encoding="utf-8")
    script, result = reimport(path)
    assert [line.perform for line in script.lines] == [
        ours.resolve(), theirs.resolve(), None, theirs.resolve()]
    assert result.restored == [1] and result.notes == []


def test_a_cell_emptied_in_the_script_wins_over_a_choice(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    ours, _theirs = recording(tmp_path, "ours.wav"), recording(tmp_path, "theirs.wav")
    path = script_file(tmp_path, "text,perform\nOne.,theirs.wav\n", "lines.csv")
    choose(path, 1, ours)
    path.write_text("text,perform\nOne.,\n", encoding="utf-8")
    script, result = reimport(path)
    assert script.lines[0].perform is None and result.restored == []
    (note,) = result.notes
    assert note.reason is NotRestored.SCRIPT_WINS and note.message.endswith(
        "the script's perform column gives it none now, which wins")


def test_cleared_choices_follow_their_lines_and_neighbours_both_move(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A line inserted above two saved choices next to each other moves both (the lower one
    no longer blocks the upper one's new place), cleared ones included, and says so."""
    monkeypatch.chdir(tmp_path)
    ours, _theirs = recording(tmp_path, "ours.wav"), recording(tmp_path, "theirs.wav")
    path = script_file(tmp_path, "text,perform\nOne.,\nTwo.,theirs.wav\nThree.,\nFour.,\n",
                       "lines.csv")
    choose(path, 2, None)
    choose(path, 3, ours)
    path.write_text("text,perform\nOne.,\nNew.,\nTwo.,theirs.wav\nThree.,\nFour.,\n",
                    encoding="utf-8")
    script, result = reimport(path)
    assert [line.perform for line in script.lines] == [None, None, None, ours.resolve(), None]
    assert result.restored == [3, 4] and result.cleared == [3] and result.notes == []
    assert result.moved == [(2, 3), (3, 4)]
    assert result.summary == (
        "Restored 1 performance chosen earlier for this script (2 on another line than "
        "before: lines were added or removed above). Line 3 stays without the recording the "
        "script's perform column names, as chosen earlier.")


def test_keeping_a_choice_needs_the_script_s_own_cells(tmp_path: Path):
    path = script_file(tmp_path)
    script = load_dub_script(path)
    with pytest.raises(ValueError, match="restore"):
        PerformanceStore.for_script(path).keep(script.lines[0], script)


def test_a_version_1_store_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The first stores (no ``over``: the script's perform cell always won) still restore,
    and the script's cell still wins over them."""
    monkeypatch.chdir(tmp_path)
    take, _theirs = recording(tmp_path), recording(tmp_path, "theirs.wav")
    path = script_file(tmp_path, "text,perform\nOne.,theirs.wav\nTwo.,\n", "lines.csv")
    store_path(path).parent.mkdir(parents=True)
    store_path(path).write_text(json.dumps({
        "format": "voicestudio-dub-performances", "version": 1, "script": str(path.resolve()),
        "performances": [{"line": n, "text": text, "recording": str(take.resolve()),
                          "before": None, "after": None}
                         for n, text in ((1, "One."), (2, "Two."))]}), encoding="utf-8")
    script, result = reimport(path)
    assert result.restored == [2] and script.lines[1].perform == take.resolve()
    assert [(n.line, n.reason) for n in result.notes] == [(1, NotRestored.SCRIPT_WINS)]


@pytest.mark.parametrize("entry", [
    {"recording": None, "over": None},  # no choice at all
    {"recording": "/a/b.wav", "over": "/a/./b.wav"},  # the script's own recording
    {"recording": "/a/b.wav", "over": "b.wav"},  # not absolute
    {"recording": None, "over": "/a/b.wav", "version": 1},  # version 2's, in a version 1
])
def test_a_damaged_choice_makes_the_store_unreadable(tmp_path: Path, entry: dict):
    path = script_file(tmp_path)
    version = entry.pop("version", 2)
    store_path(path).parent.mkdir(parents=True)
    store_path(path).write_text(json.dumps({
        "format": "voicestudio-dub-performances", "version": version,
        "script": str(path.resolve()),
        "performances": [{"line": 1, "text": "First line of the dub.", **entry}]}),
        encoding="utf-8")
    _script, result = reimport(path)
    (note,) = result.notes
    assert note.reason is NotRestored.UNREADABLE_STORE and "is damaged: entry 1" in note.message


def test_a_missing_recording_is_noted_and_kept(tmp_path: Path):
    path, take = script_file(tmp_path), recording(tmp_path)
    choose(path, 1, take)
    take.unlink()
    script, result = reimport(path)
    assert result.restored == [] and script.lines[0].perform is None
    (note,) = result.notes
    assert note.reason is NotRestored.RECORDING_MISSING and str(take.resolve()) in note.message
    recording(tmp_path)  # the drive is back: found on the next import
    assert reimport(path)[1].restored == [1]


@pytest.mark.parametrize("content", [
    "{not json",
    json.dumps({"format": "voicestudio-dub-performances", "version": 99, "performances": []}),
    json.dumps({"format": "voicestudio-dub-performances", "version": 1, "script": "",
                "performances": [{"line": "two"}]}),
])
def test_an_unreadable_store_is_one_note_and_left_alone(tmp_path: Path, content: str):
    path, take = script_file(tmp_path), recording(tmp_path)
    stored = store_path(path)
    stored.parent.mkdir(parents=True)
    stored.write_text(content, encoding="utf-8")
    script, result = reimport(path)
    assert result.restored == [] and all(line.perform is None for line in script.lines)
    (note,) = result.notes
    assert note.reason is NotRestored.UNREADABLE_STORE
    assert note.message.startswith("saved performances for this script could not be read: ")
    PerformanceStore.for_script(path).forget(1)  # nothing to forget: not rewritten
    assert stored.read_text(encoding="utf-8") == content
    choose(path, 1, take)  # a new choice replaces it, the unread file kept aside
    assert reimport(path)[1].restored == [1]
    aside = stored.with_name(stored.name + ".unreadable")
    assert aside.read_text(encoding="utf-8") == content


def test_clearing_forgets(tmp_path: Path):
    path, take = script_file(tmp_path), recording(tmp_path)
    choose(path, 1, take)
    choose(path, 3, take)
    choose(path, 1, None)
    assert reimport(path)[1].restored == [3]
    choose(path, 3, None)
    assert not store_path(path).exists()  # nothing left: no file
    assert reimport(path)[1].restored == []


def test_two_scripts_do_not_mix(tmp_path: Path):
    take = recording(tmp_path)
    for folder in ("one", "two"):
        (tmp_path / folder).mkdir()
    one, two = script_file(tmp_path / "one"), script_file(tmp_path / "two")
    assert store_path(one) != store_path(two)  # same name, other folders
    choose(one, 1, take)
    choose(two, 2, take)
    assert reimport(one)[1].restored == [1]
    assert reimport(two)[1].restored == [2]


def test_a_failed_save_raises_a_typed_error(tmp_path: Path, data_dir: Path):
    path, take = script_file(tmp_path), recording(tmp_path)
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    data_dir.write_text("a file where the data folder should be", encoding="utf-8")
    store = PerformanceStore.for_script(path)
    with pytest.raises(PerformanceStoreError, match="cannot save the performances of lines.txt"):
        store.remember(1, "First line of the dub.", take)
    assert store.entries == []  # not saved, so not written by a later save either


def test_a_choice_follows_its_line_when_lines_move(tmp_path: Path):
    """A line inserted above: the choice is found on the one line that now reads its text
    between one of the same neighbours, said so, and kept there from then on (clearing that
    line forgets it)."""
    path, take = script_file(tmp_path), recording(tmp_path)
    choose(path, 2, take)
    path.write_text("A new first line.\n" + LINES, encoding="utf-8")
    script, result = reimport(path)
    assert result.restored == [3] and result.moved == [(2, 3)] and result.notes == []
    assert script.lines[2].perform == take.resolve() and script.lines[1].perform is None
    assert "1 on another line than before" in result.summary
    store = PerformanceStore.for_script(path)
    restore(load_dub_script(path), store)
    store.forget(3)  # cleared in the app, on the line where it is now
    assert reimport(path)[1].restored == []


def test_a_moved_text_is_not_guessed(tmp_path: Path):
    """The same words elsewhere, between other lines (a repeated "Yes."), or twice: the
    choice is not given to either; the note says the line changed."""
    path, take = script_file(tmp_path), recording(tmp_path)
    choose(path, 2, take)
    for text in ("Intro.\nMore.\nSecond line, performed.\nEnd.\n",
                 "First line of the dub.\nNew.\nSecond line, performed.\nThird line.\n"
                 "First line of the dub.\nSecond line, performed.\n"):
        path.write_text(text, encoding="utf-8")
        script, result = reimport(path)
        assert result.restored == [] and all(line.perform is None for line in script.lines)
        (note,) = result.notes
        assert note.reason is NotRestored.TEXT_CHANGED and note.line == 2



def test_a_store_without_neighbours_still_restores_in_place(tmp_path: Path):
    """Stores written before the neighbours were kept: read as they are, restored where the
    line still reads the same, never moved."""
    path, take = script_file(tmp_path), recording(tmp_path)
    stored = store_path(path)
    stored.parent.mkdir(parents=True)
    stored.write_text(json.dumps({
        "format": "voicestudio-dub-performances", "version": 1, "script": str(path.resolve()),
        "performances": [{"line": 2, "text": "Second line, performed.",
                          "recording": str(take.resolve())}]}), encoding="utf-8")
    assert reimport(path)[1].restored == [2]
    path.write_text("A new first line.\n" + LINES, encoding="utf-8")
    assert reimport(path)[1].restored == []


def test_a_moved_or_renamed_script_finds_its_choices(tmp_path: Path):
    """The script renamed (its old file gone): the one store whose script is gone and whose
    choices all read as lines of this script becomes its store, said in the message; the
    old store is renamed, not copied, so the next import finds it directly."""
    path, take = script_file(tmp_path), recording(tmp_path)
    choose(path, 2, take)
    old_store = store_path(path)
    moved = tmp_path / "elsewhere"
    moved.mkdir()
    new_path = path.rename(moved / "renamed.txt")
    script, result = reimport(new_path)
    assert result.restored == [2] and result.notes == []
    assert result.moved_from == path.resolve()
    assert f"when it was {path.resolve()}" in result.summary
    assert script.lines[1].perform == take.resolve()
    assert store_path(new_path).is_file() and not old_store.exists()
    again = reimport(new_path)[1]
    assert again.restored == [2] and again.moved_from is None


def test_a_copy_or_an_unclear_move_takes_no_one_else_s_choices(tmp_path: Path):
    """A copy of a script (the original still there) starts with none; so does a script two
    gone scripts' stores would fit, or one whose lines the gone script's choices do not read."""
    path, take = script_file(tmp_path), recording(tmp_path)
    choose(path, 2, take)
    copy = script_file(tmp_path, name="copy.txt")
    assert reimport(copy)[1].restored == []
    twin = script_file(tmp_path, name="twin.txt")
    choose(twin, 2, take)
    path.unlink()
    twin.unlink()
    lonely = script_file(tmp_path, name="third.txt")
    result = reimport(lonely)[1]
    assert result.restored == [] and result.moved_from is None  # two would fit: neither
    store_path(twin).unlink()
    other = script_file(tmp_path, "Other words.\nSecond line, reworded.\n", name="other.txt")
    assert reimport(other)[1].restored == []  # the gone script's choice reads no line here
    assert store_path(path).is_file()


def test_a_gone_script_s_choices_are_not_taken_by_chance(tmp_path: Path):
    """A script whose folder is gone too (a drive unplugged) keeps its store; a store whose
    only line reads elsewhere here with other neighbours is not this script's; a damaged or
    foreign file beside them is passed over. A taken-over store that restores nothing says so."""
    take = recording(tmp_path)
    drive = tmp_path / "usb"
    drive.mkdir()
    on_drive = script_file(drive)
    choose(on_drive, 2, take)
    (drive / "lines.txt").unlink()
    drive.rmdir()  # the drive's folder is gone with it
    store_folder().joinpath("junk.json").write_text("[1, 2]", encoding="utf-8")
    copy = script_file(tmp_path, name="copy.txt")
    assert reimport(copy)[1].moved_from is None
    assert store_path(on_drive).is_file()

    gone = script_file(tmp_path, name="gone.txt")
    choose(gone, 2, take)
    gone.unlink()
    store_path(on_drive).unlink()
    elsewhere = script_file(tmp_path, "Intro.\nMore.\nSecond line, performed.\nEnd.\n",
                            name="elsewhere.txt")
    assert reimport(elsewhere)[1].moved_from is None and store_path(gone).is_file()

    take.unlink()  # the recording is gone: taken over, but nothing to restore
    renamed = script_file(tmp_path, name="renamed.txt")
    result = reimport(renamed)[1]
    assert result.restored == [] and result.moved_from == gone.resolve()
    assert "none could be restored" in result.summary
    assert result.notes[0].reason is NotRestored.RECORDING_MISSING
