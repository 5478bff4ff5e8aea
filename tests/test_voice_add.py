"""Adding a user's Piper voice: checked, copied atomically, then found by name."""

from __future__ import annotations

import shutil

import pytest

from voicestudio.cli import main
from voicestudio.errors import VoiceLoadError
from voicestudio.voice.catalog import add_voice, bundled_voice, list_voices, resolve_voice


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    folder = tmp_path / "data"
    monkeypatch.setenv("VOICESTUDIO_DATA_DIR", str(folder))
    return folder


def _copy_joe(folder, name):
    folder.mkdir(parents=True, exist_ok=True)
    joe = bundled_voice()
    model = folder / f"{name}.onnx"
    shutil.copyfile(joe.model_path, model)
    shutil.copyfile(joe.config_path, folder / f"{name}.onnx.json")
    return model


def test_added_voice_is_listed_and_resolvable(tmp_path, data_dir, capsys):
    model = _copy_joe(tmp_path / "src", "studio-voice")
    assert main(["voices", "--add", str(model)]) == 0
    assert "added voice studio-voice" in capsys.readouterr().out
    assert [v.name for v in list_voices()] == ["en_US-joe-medium", "studio-voice"]
    info = resolve_voice("studio-voice")
    assert info.source == "user" and info.model_path.parent == data_dir / "voices"
    assert info.model_path.stat().st_size == model.stat().st_size
    assert not list((data_dir / "voices").glob(".*.part"))


def test_duplicate_name_is_refused(data_dir):
    with pytest.raises(VoiceLoadError, match="already exists"):
        add_voice(bundled_voice().model_path)


def test_broken_voice_is_refused_and_nothing_copied(tmp_path, data_dir, capsys):
    model = _copy_joe(tmp_path / "src", "broken")
    model.write_bytes(b"not an onnx model at all")
    assert main(["voices", "--add", str(model)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("voicestudio: error: cannot load voice model")
    assert not (data_dir / "voices").exists() or not any((data_dir / "voices").iterdir())
