"""Named style presets: JSON in the user data folder, validated on load, never lost when damaged."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from voicestudio.paths import user_data_dir
from voicestudio.styling.controls import StyleControls
from voicestudio.styling.presets import (
    MAX_NAME_CHARS,
    PRESETS_FILE,
    PresetError,
    PresetFileError,
    PresetStore,
    presets_path,
)

BRIGHT = StyleControls(
    pitch=2.5,
    pitch_range=1.3,
    speed=1.1,
    energy=1.5,
    breathiness=0.1,
    variability=0.5,
    emotion="happy",
    intensity=60.0,
)


@pytest.fixture
def store(tmp_path: Path) -> PresetStore:
    return PresetStore(tmp_path / PRESETS_FILE)


def test_default_location_is_the_user_data_folder():
    assert presets_path() == user_data_dir() / PRESETS_FILE
    assert PresetStore().path == presets_path()


def test_save_and_load_round_trip(store: PresetStore):
    assert store.load() == {}  # no file yet: no presets, no error
    assert store.save("  Bright   voice ", BRIGHT) is None
    store.save("calm", StyleControls(emotion="calm"))
    assert store.names() == ["Bright voice", "calm"]  # names tidied, sorted case-insensitively
    assert store.get("Bright voice") == BRIGHT
    # a fresh reader agrees
    assert PresetStore(store.path).load()["calm"] == StyleControls(emotion="calm")

    data = json.loads(store.path.read_text(encoding="utf-8"))  # plain JSON a person can read
    assert data["version"] == 1 and data["presets"]["Bright voice"]["pitch"] == 2.5
    assert not list(store.path.parent.glob("*.part"))  # written atomically, nothing left over

    store.save("calm", StyleControls(pitch=-1.0))  # replacing keeps one entry
    assert store.get("calm").pitch == -1.0 and len(store.names()) == 2
    store.delete("calm")
    assert store.names() == ["Bright voice"]
    with pytest.raises(PresetError, match="no style preset named 'calm'"):
        store.delete("calm")
    with pytest.raises(PresetError, match="no style preset named"):
        store.get("missing")


@pytest.mark.parametrize("name, message", [
    ("", "give the preset a name"),
    ("   ", "give the preset a name"),
    ("x" * (MAX_NAME_CHARS + 1), f"at most {MAX_NAME_CHARS} characters"),
])
def test_bad_names_are_refused(store: PresetStore, name: str, message: str):
    with pytest.raises(PresetError, match=message):
        store.save(name, BRIGHT)
    assert not store.path.exists()


def test_out_of_range_controls_are_not_saved(store: PresetStore):
    with pytest.raises(ValueError, match="pitch must be between -12 and 12"):
        store.save("loud", StyleControls(pitch=40.0))
    assert not store.path.exists()


@pytest.mark.parametrize("content, detail", [
    ("{not json", "line 1, column 2"),
    ('["a list"]', 'a "presets" object'),
    ('{"presets": {"a": {"pitch": 99}}}', "preset 'a': pitch must be between -12 and 12"),
    ('{"presets": {"a": {"emotion": "furious"}}}', "unknown emotion 'furious'"),
    ('{"presets": {"a": {"pitch": "high"}}}', "pitch must be a number"),
    ('{"presets": {"a": {"volume": 3}}}', "unknown fields: volume"),
    ('{"presets": {"a": 3}}', "is not a JSON object"),
    ('{"version": 9, "presets": {}}', "newer VoiceStudio"),
])
def test_damaged_file_is_a_clear_error_and_kept(store: PresetStore, content: str, detail: str):
    store.path.write_text(content, encoding="utf-8")
    with pytest.raises(PresetFileError) as info:
        store.load()
    message = str(info.value)
    assert str(store.path) in message and "damaged" in message and detail in message
    assert "left as it is" in message
    assert store.path.read_text(encoding="utf-8") == content  # untouched


def test_saving_over_a_damaged_file_sets_it_aside(store: PresetStore):
    store.path.write_bytes(b"\xff\xfe garbage")
    with pytest.raises(PresetFileError, match="not UTF-8"):
        store.load()
    kept = store.save("fresh", BRIGHT)
    assert kept == store.path.with_name(PRESETS_FILE + ".broken")
    assert kept.read_bytes() == b"\xff\xfe garbage"  # the user's file is not lost
    assert store.names() == ["fresh"]

    store.path.write_text("{", encoding="utf-8")  # damaged again: a second copy, numbered
    kept2 = store.save("fresh", BRIGHT)
    assert kept2 == store.path.with_name(PRESETS_FILE + ".broken2")
    assert kept.read_bytes() == b"\xff\xfe garbage" and kept2.read_text(encoding="utf-8") == "{"
