"""Finding and opening voices: the bundled voice, user voices, paths, providers and broken files.

Real onnxruntime sessions throughout. The "wrong inputs" models are tiny valid ONNX graphs
encoded by hand below (a few protobuf fields), so no ``onnx`` package is needed.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import onnxruntime as ort
import pytest

from voicestudio.errors import VoiceLoadError
from voicestudio.runtime import cuda_unavailable_reason
from voicestudio.threads import inference_threads
from voicestudio.voice.catalog import (
    DEFAULT_VOICE,
    bundled_voice,
    list_voices,
    load_voice,
    resolve_voice,
)
from voicestudio.voice.model import MAX_MODEL_BYTES, MAX_SIDECAR_BYTES, VoiceModel

CUDA_OFFERED = "CUDAExecutionProvider" in ort.get_available_providers()


# --------------------------------------------------------------------------- a tiny ONNX writer

_FLOAT, _INT64 = 1, 7  # onnx.TensorProto element types


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        low, n = n & 0x7F, n >> 7
        out.append(low | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _field(number: int, value: int | str | bytes) -> bytes:
    """One protobuf field: a varint for ints, length-delimited for strings and messages."""
    if isinstance(value, int):
        return _varint(number << 3) + _varint(value)
    data = value.encode() if isinstance(value, str) else value
    return _varint(number << 3 | 2) + _varint(len(data)) + data


def _value_info(name: str, elem_type: int) -> bytes:
    dims = b"".join(_field(1, _field(2, d)) for d in ("batch", "length"))  # symbolic dims
    tensor_type = _field(1, elem_type) + _field(2, dims)
    return _field(1, name) + _field(2, _field(1, tensor_type))


def tiny_onnx_model(inputs: list[tuple[str, int]]) -> bytes:
    """A valid ONNX ModelProto (IR 8, opset 13): each input passes through an Identity node."""
    graph = b"".join(
        _field(1, _field(1, name) + _field(2, f"{name}_out") + _field(4, "Identity"))
        for name, _ in inputs
    )
    graph += _field(2, "tiny")
    graph += b"".join(_field(11, _value_info(name, t)) for name, t in inputs)
    graph += b"".join(_field(12, _value_info(f"{name}_out", t)) for name, t in inputs)
    opset = _field(1, "") + _field(2, 13)
    return _field(1, 8) + _field(2, "voicestudio-tests") + _field(7, graph) + _field(8, opset)


def test_tiny_onnx_model_is_valid():
    session = ort.InferenceSession(
        tiny_onnx_model([("text", _INT64)]), providers=["CPUExecutionProvider"]
    )
    assert [i.name for i in session.get_inputs()] == ["text"]
    (out,) = session.run(None, {"text": np.array([[1, 2, 3]], np.int64)})
    np.testing.assert_array_equal(out, [[1, 2, 3]])


# --------------------------------------------------------------------------- helpers


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    """A private user data folder, so user voices made here never leak into other tests."""
    folder = tmp_path / "data"
    monkeypatch.setenv("VOICESTUDIO_DATA_DIR", str(folder))
    return folder


def _sidecar_dict() -> dict:
    return json.loads(bundled_voice().config_path.read_text(encoding="utf-8"))


def _voice_files(
    folder, name: str, model: bytes | None = None, sidecar: dict | str | bytes | None = None
):
    """Write NAME.onnx (joe's model unless bytes are given) and NAME.onnx.json (joe's unless
    given)."""
    folder.mkdir(parents=True, exist_ok=True)
    model_path = folder / f"{name}.onnx"
    if model is None:
        shutil.copyfile(bundled_voice().model_path, model_path)
    else:
        model_path.write_bytes(model)
    config_path = folder / f"{name}.onnx.json"
    if sidecar is None:
        shutil.copyfile(bundled_voice().config_path, config_path)
    elif isinstance(sidecar, dict):
        config_path.write_text(json.dumps(sidecar), encoding="utf-8")
    elif isinstance(sidecar, str):
        config_path.write_text(sidecar, encoding="utf-8")
    else:
        config_path.write_bytes(sidecar)
    return model_path, config_path


def _link_joe(folder, name: str):
    folder.mkdir(parents=True, exist_ok=True)
    joe = bundled_voice()
    (folder / f"{name}.onnx").symlink_to(joe.model_path)
    (folder / f"{name}.onnx.json").symlink_to(joe.config_path)
    return folder / f"{name}.onnx"


# --------------------------------------------------------------------------- the bundled voice


def test_bundled_voice_loads_on_cpu(joe):
    assert joe.name == DEFAULT_VOICE
    assert joe.provider.requested == "cpu" and joe.provider.used == "cpu"
    assert joe.session.get_providers()[0] == "CPUExecutionProvider"
    assert 8000 <= joe.sample_rate <= 96000
    assert {"input", "input_lengths", "scales"} <= {i.name for i in joe.session.get_inputs()}
    assert joe.session.get_session_options().intra_op_num_threads == inference_threads()
    ids = joe.text_to_ids("Hello world.")
    assert len(ids) == 1 and len(ids[0]) > 5
    audio = joe.infer(ids[0])
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert len(audio) > joe.sample_rate // 4 and np.all(np.isfinite(audio))


def test_auto_provider_explains_its_choice():
    voice = load_voice("joe", provider="auto", threads=1)
    assert voice.provider.requested == "auto"
    assert "CUDA" in voice.provider.reason
    if not CUDA_OFFERED:
        assert voice.provider.used == "cpu"
        assert cuda_unavailable_reason() in voice.provider.reason
    else:
        assert voice.provider.used in ("cpu", "cuda")
    expected = "CUDAExecutionProvider" if voice.provider.used == "cuda" else "CPUExecutionProvider"
    assert voice.session.get_providers()[0] == expected


def test_cuda_request_falls_back_with_reason():
    voice = load_voice(None, provider="cuda", threads=1)
    assert voice.provider.requested == "cuda"
    if not CUDA_OFFERED:
        assert voice.provider.used == "cpu"
        assert voice.provider.reason.startswith("using CPU")
        assert "CUDA" in voice.provider.reason
        assert voice.session.get_providers() == ["CPUExecutionProvider"]
    elif voice.session.get_providers()[0] == "CUDAExecutionProvider":
        assert voice.provider.used == "cuda"
    else:  # onnxruntime-gpu installed but no usable GPU
        assert voice.provider.used == "cpu" and "failed to start" in voice.provider.reason


@pytest.mark.parametrize("threads", [1, 2])
def test_threads_are_honoured(threads):
    voice = load_voice("default", provider="cpu", threads=threads)
    options = voice.session.get_session_options()
    assert options.intra_op_num_threads == threads
    assert options.inter_op_num_threads == 1


def test_unknown_provider_is_refused():
    with pytest.raises(VoiceLoadError, match="provider must be one of auto, cpu, cuda"):
        load_voice(None, provider="tpu")


# --------------------------------------------------------------------------- resolving names and
# paths


@pytest.mark.parametrize(
    "spec", [None, "", DEFAULT_VOICE, DEFAULT_VOICE.upper(), "joe", "JOE", "default", "joe-medium"]
)
def test_resolve_bundled_voice(spec, data_dir):
    info = resolve_voice(spec)
    assert info.name == DEFAULT_VOICE and info.source == "bundled"
    assert info.model_path.is_file() and info.config_path.is_file()


def test_resolve_by_model_and_sidecar_path(tmp_path):
    model, config = _voice_files(tmp_path / "v", "en_GB-path-low")
    for spec in (str(model), str(config), str(tmp_path / "v")):
        info = resolve_voice(spec)
        assert (info.name, info.source) == ("en_GB-path-low", "file")
        assert info.model_path == model and info.config_path == config
    voice = load_voice(str(config), provider="cpu", threads=1)
    assert voice.name == "en_GB-path-low" and voice.model_path == model


def test_unknown_name_lists_available_voices(data_dir):
    _link_joe(data_dir / "voices", "studio-anna")
    with pytest.raises(VoiceLoadError, match="unknown voice 'nobody'") as info:
        resolve_voice("nobody")
    message = str(info.value)
    assert DEFAULT_VOICE in message and "studio-anna" in message


def test_ambiguous_name(data_dir):
    _link_joe(data_dir / "voices", "studio-anna")
    _link_joe(data_dir / "voices", "studio-bert")
    with pytest.raises(VoiceLoadError, match="ambiguous voice 'studio'"):
        resolve_voice("studio")
    assert resolve_voice("bert").name == "studio-bert"


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ("missing/voice.onnx", "voice not found: missing/voice.onnx does not exist"),
        ("nowhere.onnx", "voice not found: nowhere.onnx does not exist"),
        ("nowhere.onnx.json", "voice not found: nowhere.onnx.json does not exist"),
        # a project folder that is not there (the README once gave such a path): not found,
        # not "is not a voice"
        (
            "VoiceStudio/projects/myvoice",
            "voice not found: VoiceStudio/projects/myvoice does not exist",
        ),
    ],
)
def test_bad_paths(tmp_path, monkeypatch, spec, match):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(VoiceLoadError, match=match):
        resolve_voice(spec)


def test_a_project_name_stands_for_its_best_voice(data_dir):
    from voicestudio.project.project import VoiceProject

    project = VoiceProject.create("My voice", prompts=["One line."])  # in the projects folder
    with pytest.raises(VoiceLoadError, match="project 'My voice' has no trained voice yet: run "
                       "`voicestudio train --project .*'"):
        resolve_voice("My voice")
    assert " " in str(project.folder)  # the suggested command quotes the folder


def test_path_that_is_not_a_voice(tmp_path):
    (tmp_path / "notes.txt").write_text("hi")
    with pytest.raises(VoiceLoadError, match="expected a .onnx file"):
        resolve_voice(str(tmp_path / "notes.txt"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(VoiceLoadError, match="holds 0 .onnx files"):
        resolve_voice(str(tmp_path / "empty"))


@pytest.mark.parametrize("how", ["symlink", "copy"])
def test_user_voice_is_listed_and_loadable(data_dir, how):
    voices = data_dir / "voices"
    if how == "symlink":
        _link_joe(voices, "en_GB-studio-medium")
    else:
        _voice_files(voices, "en_GB-studio-medium")
    names = [(v.name, v.source) for v in list_voices()]
    assert names == [(DEFAULT_VOICE, "bundled"), ("en_GB-studio-medium", "user")]
    info = resolve_voice("en_GB-studio-medium")
    assert info.source == "user" and info.model_path.parent == voices
    voice = load_voice("en_gb-studio-medium", provider="cpu", threads=1)
    assert voice.name == "en_GB-studio-medium"
    assert voice.provider.used == "cpu"
    assert len(voice.infer(voice.text_to_ids("Hi.")[0])) > 0


def test_incomplete_user_voices_are_not_listed(data_dir):
    voices = data_dir / "voices"
    voices.mkdir(parents=True)
    (voices / "no-sidecar.onnx").write_bytes(b"x")
    (voices / "dangling.onnx").symlink_to(data_dir / "gone.onnx")
    (voices / "dangling.onnx.json").write_text("{}")
    (voices / "only-sidecar.onnx.json").write_text("{}")
    assert [v.name for v in list_voices()] == [DEFAULT_VOICE]


def test_no_user_voices_folder(data_dir):
    assert not data_dir.exists()
    assert [v.name for v in list_voices()] == [DEFAULT_VOICE]


# --------------------------------------------------------------------------- broken voices


def test_missing_model_file(tmp_path):
    with pytest.raises(VoiceLoadError, match="voice model not found"):
        VoiceModel.load(tmp_path / "ghost.onnx", provider="cpu")


def test_missing_sidecar(tmp_path):
    model, config = _voice_files(tmp_path, "lonely")
    config.unlink()
    with pytest.raises(
        VoiceLoadError, match=r"voice config not found: .*lonely\.onnx\.json"
    ) as info:
        VoiceModel.load(model, provider="cpu")
    assert "NAME.onnx plus NAME.onnx.json" in str(info.value)


def test_empty_model_file(tmp_path):
    model, _ = _voice_files(tmp_path, "empty", model=b"")
    with pytest.raises(VoiceLoadError, match="is empty"):
        VoiceModel.load(model, provider="cpu")


def test_garbage_model_bytes(tmp_path):
    model, _ = _voice_files(tmp_path, "garbage", model=bytes(range(256)) * 64)
    with pytest.raises(VoiceLoadError, match=r"cannot load voice model .*garbage\.onnx") as info:
        VoiceModel.load(model, provider="cpu")
    assert "\n" not in str(info.value)  # onnxruntime's multi-line dump is cut to one line


def test_implausibly_large_model(tmp_path):
    model, _ = _voice_files(tmp_path, "huge", model=b"")
    with open(model, "wb") as handle:  # sparse: costs no disk space
        handle.truncate(MAX_MODEL_BYTES + 1)
    with pytest.raises(VoiceLoadError, match="too large"):
        VoiceModel.load(model, provider="cpu")


@pytest.mark.parametrize(
    ("inputs", "shown"),
    [
        ([("text", _INT64), ("speaker", _FLOAT)], "['text', 'speaker']"),
        ([("input", _INT64), ("input_lengths", _INT64)], "['input', 'input_lengths']"),
    ],
)
def test_model_with_wrong_inputs(tmp_path, inputs, shown):
    model, _ = _voice_files(tmp_path, "not-piper", model=tiny_onnx_model(inputs))
    with pytest.raises(VoiceLoadError, match="is not a Piper voice") as info:
        VoiceModel.load(model, provider="cpu", threads=1)
    message = str(info.value)
    assert shown in message and "'scales'" in message


def _without(key: str) -> dict:
    data = _sidecar_dict()
    del data[key]
    return data


def _with(**changes) -> dict:
    data = _sidecar_dict()
    data.update(changes)
    return data


def _id_map_without(symbol: str) -> dict:
    data = _sidecar_dict()
    del data["phoneme_id_map"][symbol]
    return data


@pytest.mark.parametrize(
    ("sidecar", "match"),
    [
        ("{ this is not json", "is not valid JSON"),
        ("", "is not valid JSON"),
        (b"\xff\xfe\x00garbage", "is not valid JSON"),
        ("[1, 2, 3]", "top level must be a JSON object"),
        ("null", "top level must be a JSON object"),
        (_without("phoneme_id_map"), "phoneme_id_map"),
        (_without("audio"), "'audio'"),
        (_id_map_without("^"), "lacks the required symbol '\\^'"),
        (_with(phoneme_id_map={"^": ["a"], "_": [0], "$": [2]}), "lists of integer ids"),
        (_with(phoneme_id_map=[1, 2]), "lists of integer ids"),
        (_with(phoneme_type="pinyin"), "'pinyin' is not supported"),
        (_with(audio={"sample_rate": 1000}), "sample rate 1000 is out of range"),
        (_with(audio={"sample_rate": "fast"}), "not a Piper voice config"),
        (_with(audio=None), "not a Piper voice config"),
        (_with(num_speakers=None), "not a Piper voice config"),
        (_with(espeak=None), "not a Piper voice config"),
        (_with(espeak="en-us"), "not a Piper voice config"),
        (_with(inference="fast"), "not a Piper voice config"),
    ],
    ids=[
        "bad-json", "empty", "not-utf8", "list", "null", "no-id-map", "no-audio", "no-bos",
        "string-ids", "id-map-list", "phoneme-type", "rate-range", "rate-type", "audio-null",
        "speakers-null", "espeak-null", "espeak-string", "inference-string",
    ],
)
def test_broken_sidecar(tmp_path, sidecar, match):
    model, config = _voice_files(tmp_path, "broken", model=b"never opened", sidecar=sidecar)
    with pytest.raises(VoiceLoadError, match=match) as info:
        VoiceModel.load(model, provider="cpu")
    assert str(config) in str(info.value)


def test_huge_sidecar(tmp_path):
    model, config = _voice_files(tmp_path, "big", model=b"never opened")
    with open(config, "wb") as handle:
        handle.truncate(MAX_SIDECAR_BYTES + 1)
    with pytest.raises(VoiceLoadError, match="implausibly large"):
        VoiceModel.load(model, provider="cpu")


def test_load_voice_reports_broken_user_voice(data_dir):
    _voice_files(data_dir / "voices", "studio-broken", model=b"junk")
    assert "studio-broken" in [v.name for v in list_voices()]
    with pytest.raises(VoiceLoadError, match="cannot load voice model"):
        load_voice("studio-broken", provider="cpu")
