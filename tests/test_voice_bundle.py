"""Voice bundles: one .vsvoice file out and back in; every hostile bundle is refused with a
reason and leaves the voices folder as it was."""

from __future__ import annotations

import hashlib
import io
import json
import os
import stat
import zipfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from voicestudio.cli import main
from voicestudio.voice.bundle import (
    BUNDLE_FORMAT,
    MANIFEST,
    MODEL,
    PREVIEW,
    SIDECAR,
    BundleError,
    export_bundle,
    import_bundle,
    read_manifest,
)
from voicestudio.voice.catalog import bundled_voice, list_voices, resolve_voice
from voicestudio.voice.model import VoiceModel

SIDECAR_BYTES = bundled_voice().config_path.read_bytes()


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    folder = tmp_path / "data"
    monkeypatch.setenv("VOICESTUDIO_DATA_DIR", str(folder))
    return folder


@pytest.fixture(scope="module")
def joe_bundle(tmp_path_factory) -> Path:
    """The bundled voice exported once (with its spoken preview) for the module."""
    return export_bundle(None, tmp_path_factory.mktemp("bundle") / "joe-copy", name="joe-copy").path


def entry(data: bytes) -> dict:
    return {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def handmade(
    path: Path,
    files: dict[str, bytes],
    manifest: dict | bytes | None = None,
    extra: dict | None = None,
    symlink: str | None = None,
) -> Path:
    """A bundle built by hand: ``files`` listed in a correct manifest unless one is given,
    ``extra`` entries added without being listed."""
    if manifest is None:
        manifest = {"format": BUNDLE_FORMAT, "schema": 1, "name": "hand-made",
                    "files": {name: entry(data) for name, data in files.items()}}
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(MANIFEST, manifest if isinstance(manifest, bytes) else json.dumps(manifest))
        for name, data in {**files, **(extra or {})}.items():
            info = zipfile.ZipInfo(name)
            if name == symlink:
                info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, data)
    return path


def voices_folder_state(data_dir: Path) -> list[str]:
    folder = data_dir / "voices"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def tiny_onnx(input_name: str) -> bytes:
    """A valid ONNX graph that is not a Piper voice (its input is not ``input``)."""
    onnx = pytest.importorskip(
        "onnx", reason="building a test ONNX needs the onnx package (the [train] extra)"
    )
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info(input_name, TensorProto.FLOAT, [1])
    y = helper.make_tensor_value_info("output", TensorProto.FLOAT, [1])
    graph = helper.make_graph(
        [helper.make_node("Identity", [input_name], ["output"])], "g", [x], [y]
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model.SerializeToString()


# ----------------------------------------------------------------------------- round trip
def test_export_then_import_gives_the_same_voice(joe_bundle, data_dir, tmp_path, capsys):
    manifest = read_manifest(joe_bundle)
    assert manifest["name"] == "joe-copy" and set(manifest["files"]) == {MODEL, SIDECAR, PREVIEW}
    with zipfile.ZipFile(joe_bundle) as zf:
        preview, rate = sf.read(io.BytesIO(zf.read(PREVIEW)))
        assert zf.read(MODEL) == bundled_voice().model_path.read_bytes()
    assert rate == 22_050 and len(preview) > rate  # a spoken second or more

    assert main(["voices", "--import", str(joe_bundle)]) == 0
    assert "imported voice joe-copy" in capsys.readouterr().out
    info = resolve_voice("joe-copy")
    assert info.source == "user"
    # the same voice, installed with its phoneme durations as a second output (word timings;
    # Piper reads the first and ignores it)
    installed = VoiceModel.load(info.model_path)
    original = VoiceModel.load(bundled_voice().model_path)
    assert [o.name for o in installed.session.get_outputs()][0] == "output"
    assert installed.has_durations and len(installed.session.get_outputs()) == 2
    ids = original.text_to_ids("The same voice.")[0]
    assert np.array_equal(installed.infer(ids, 0.0, 1.0, 0.0), original.infer(ids, 0.0, 1.0, 0.0))
    # nothing temporary left
    assert voices_folder_state(data_dir) == ["joe-copy.onnx", "joe-copy.onnx.json"]

    assert main(["voices", "--import", str(joe_bundle)]) == 1  # the name is taken now
    assert "already exists (in " in capsys.readouterr().err
    assert main(["voices", "--import", str(joe_bundle), "--name", "en_US-joe-medium"]) == 1
    assert "already exists (the voice that comes with VoiceStudio)" in capsys.readouterr().err
    assert main(["voices", "--import", str(joe_bundle), "--name", "joe-two"]) == 0
    assert [v.name for v in list_voices()] == ["en_US-joe-medium", "joe-copy", "joe-two"]

    out = tmp_path / "again"
    assert main(["voices", "--export", "joe-two", "-o", str(out), "--no-preview"]) == 0
    written = out.with_suffix(".vsvoice")
    assert set(read_manifest(written)["files"]) == {MODEL, SIDECAR}
    assert stat.S_IMODE(written.stat().st_mode) == 0o666 & ~_umask()  # the user's usual permissions
    before = written.read_bytes()
    # never replaced silently
    assert main(["voices", "--export", "joe-copy", "-o", str(out), "--no-preview"]) == 1
    assert "already exists" in capsys.readouterr().err and written.read_bytes() == before
    assert (
        main(["voices", "--export", "joe-copy", "-o", str(out), "--no-preview", "--overwrite"]) == 0
    )
    assert read_manifest(written)["name"] == "joe-copy"
    assert main(["voices", "--export", "joe-two"]) == 1
    assert "needs -o" in capsys.readouterr().err


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_export_errors_leave_no_file(tmp_path, data_dir):
    with pytest.raises(BundleError, match="does not exist"):
        export_bundle(None, tmp_path / "no" / "such" / "x.vsvoice")
    with pytest.raises(BundleError, match="not allowed"):
        export_bundle(None, tmp_path / "x.vsvoice", name="../evil")
    assert not [p.name for p in tmp_path.iterdir() if p.name.endswith((".vsvoice", ".part"))]


# ----------------------------------------------------------------------------- hostile bundles
ONNX_GARBAGE = b"\x08\x07garbage that is not an onnx graph" * 10


def _cases() -> list[tuple[str, object, str]]:
    """(id, how to build it in a folder, expected message fragment)."""
    ok = {MODEL: ONNX_GARBAGE, SIDECAR: SIDECAR_BYTES}
    listed = {name: entry(data) for name, data in ok.items()}

    def manifest(**changes):
        return {
            "format": BUNDLE_FORMAT,
            "schema": 1,
            "name": "hand-made",
            "files": listed,
            **changes,
        }

    return [
        ("not-a-zip", lambda p: _raw(p, b"PK\x03\x04 truncated"), "not a readable zip"),
        ("empty-file", lambda p: _raw(p, b""), "not a readable zip"),
        ("missing", lambda p: p.with_name("absent.vsvoice"), "not found"),
        ("path-traversal", lambda p: handmade(p, ok, extra={"../../evil.onnx": b"x"}), "is a path"),
        ("absolute-path", lambda p: handmade(p, ok, extra={"/etc/cron.d/evil": b"x"}), "is a path"),
        ("backslash-path", lambda p: handmade(p, ok, extra={"..\\evil.onnx": b"x"}), "is a path"),
        ("pickle", lambda p: handmade(p, ok, extra={"voice.pt": b"\x80\x04K\x01."}), "pickled"),
        ("numpy-pickle", lambda p: handmade(p, ok, extra={"weights.npy": b"\x93NUMPY"}), "pickled"),
        ("extra-file", lambda p: handmade(p, ok, extra={"run.sh": b"rm -rf ~"}), "unexpected file"),
        (
            "symlink",
            lambda p: handmade(p, {MODEL: ONNX_GARBAGE, SIDECAR: b"/etc/passwd"}, symlink=SIDECAR),
            "symbolic link",
        ),
        ("no-model", lambda p: handmade(p, {SIDECAR: SIDECAR_BYTES}), "voice.onnx missing"),
        ("no-manifest", lambda p: _zip(p, ok), "manifest.json missing"),
        (
            "manifest-not-json",
            lambda p: handmade(p, ok, manifest=b"{not json"),
            "not valid JSON (line 1",
        ),
        ("manifest-not-utf8", lambda p: handmade(p, ok, manifest=b"\xff\xfe{}"), "not UTF-8"),
        (
            "manifest-wrong-format",
            lambda p: handmade(p, ok, manifest=manifest(format="zip")),
            "not a VoiceStudio",
        ),
        (
            "newer-schema",
            lambda p: handmade(p, ok, manifest=manifest(schema=99)),
            "newer VoiceStudio",
        ),
        ("bad-name", lambda p: handmade(p, ok, manifest=manifest(name="../../x")), "not allowed"),
        (
            "unlisted-file",
            lambda p: handmade(p, ok, manifest=manifest(files={MODEL: listed[MODEL]})),
            "does not list",
        ),
        (
            "wrong-size",
            lambda p: handmade(
                p,
                ok,
                manifest=manifest(
                    files={**listed, MODEL: {"size": 5, "sha256": listed[MODEL]["sha256"]}}
                ),
            ),
            "wrong size",
        ),
        (
            "altered",
            lambda p: handmade(
                p,
                ok,
                manifest=manifest(
                    files={**listed, MODEL: {"size": len(ONNX_GARBAGE), "sha256": "0" * 64}}
                ),
            ),
            "does not match its manifest",
        ),
        ("duplicate-entry", lambda p: _duplicate(p, ok), "more than once"),
        ("garbage-onnx", lambda p: handmade(p, ok), "does not load"),
        (
            "sidecar-not-json",
            lambda p: handmade(p, {MODEL: ONNX_GARBAGE, SIDECAR: b"{"}),
            "voice.onnx.json is not valid",
        ),
    ]


def _raw(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _zip(path: Path, files: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return path


def _duplicate(path: Path, files: dict[str, bytes]) -> Path:
    handmade(path, files)
    # zipfile warns: duplicate name
    with pytest.warns(UserWarning), zipfile.ZipFile(path, "a") as zf:
        zf.writestr(MODEL, b"second copy")
    return path


@pytest.mark.parametrize("case, build, message", _cases(), ids=[c[0] for c in _cases()])
def test_a_hostile_or_broken_bundle_is_refused_and_installs_nothing(
    case, build, message, tmp_path, data_dir
):
    (data_dir / "voices").mkdir(parents=True)
    (data_dir / "voices" / "keep.txt").write_text("the user's file")
    bundle = build(tmp_path / f"{case}.vsvoice")
    with pytest.raises(BundleError) as caught:
        import_bundle(bundle)
    assert message in str(caught.value), str(caught.value)
    assert str(caught.value).count(bundle.name) <= 1, str(caught.value)  # the file is named once
    assert voices_folder_state(data_dir) == ["keep.txt"]
    assert not (tmp_path / "evil.onnx").exists() and not (tmp_path.parent / "evil.onnx").exists()


def test_an_onnx_with_the_wrong_inputs_is_refused(tmp_path, data_dir):
    bundle = handmade(tmp_path / "wrong.vsvoice", {MODEL: tiny_onnx("x"), SIDECAR: SIDECAR_BYTES})
    assert main(["voices", "--import", str(bundle)]) == 1
    with pytest.raises(BundleError, match="does not load") as caught:
        import_bundle(bundle)
    # no staging folder in it
    assert "input" in str(caught.value) and ".part" not in str(caught.value)
    assert str(caught.value).count("wrong.vsvoice") == 1
    assert voices_folder_state(data_dir) == []


def test_oversized_entries_are_refused_before_reading(tmp_path, data_dir, monkeypatch):
    import voicestudio.voice.bundle as bundle_module

    monkeypatch.setitem(bundle_module.MAX_SIZES, MODEL, 1_000)
    big = handmade(tmp_path / "big.vsvoice", {MODEL: b"\0" * 5_000, SIDECAR: SIDECAR_BYTES})
    with pytest.raises(BundleError, match="MB a voice bundle allows"):
        import_bundle(big)
    monkeypatch.setattr(bundle_module, "MAX_BUNDLE_BYTES", 100)
    with pytest.raises(BundleError, match="larger than any voice bundle"):
        import_bundle(big)
    assert voices_folder_state(data_dir) == []
