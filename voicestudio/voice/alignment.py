"""The speaker model's phoneme durations: the extra ONNX output that word timings need.

A VITS voice decides how many frames each phoneme id lasts (the ``Ceil`` of its duration
predictor) but Piper's ONNX contract outputs audio only. Piper's own patch
(``piper.patch_voice_with_alignment``, the ``piper-tts[alignment]`` extra) marks that tensor
as a second graph output; Piper runtimes read output 0 and ignore it, so a patched voice
stays a Piper voice. VoiceStudio patches the voices it exports and imports on disk, and any
other voice (the bundled one, a downloaded one) on first load into a cached copy. A graph
without one clear durations tensor loads unpatched: it speaks, without timings.

The same tensor can also be made an input (:func:`durations_as_input`): a copy of the voice
that speaks each phoneme id for as many frames as it is told, so a performance's timing is
spoken by the model itself instead of stretched afterwards.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from pathlib import Path

from voicestudio.errors import VoiceStudioError
from voicestudio.paths import user_data_dir
from voicestudio.project.store import atomic_write_bytes

#: Where voices patched here are kept (in the user data folder), so the graph is parsed once
#: per voice file, not on every load, and no patched copy stays in memory.
CACHE_FOLDER = ("cache", "timed-voices")


@dataclass(frozen=True)
class Patched:
    """What loading found: the model to open (a path, or patched bytes when the cache cannot
    be written) and, when the voice has no durations, why not (for "no timings" messages)."""

    model: str | bytes
    has_durations: bool
    reason: str = ""


_lock = threading.Lock()
#: Per voice file (path, size, mtime): what was found, unless it is patched bytes.
_found: dict[tuple[str, int, int], Patched] = {}


def with_durations(model_path: Path) -> Patched:
    """``model_path`` ready to open with its durations output: itself when it has one (or
    cannot have one), else a patched copy from the cache, made on first use."""
    stat = model_path.stat()
    key = (str(model_path.resolve()), stat.st_size, stat.st_mtime_ns)
    cached = _cache_path(model_path, key)
    with _lock:
        found = _found.get(key)
        if found is not None and (found.model != str(cached) or cached.is_file()):
            return found
    if cached.is_file() and cached.stat().st_size > 0:
        found = Patched(str(cached), True)
    else:
        found = _patch(model_path)
        if isinstance(found.model, bytes):
            found = _keep(found, cached)
    if not isinstance(found.model, bytes):
        with _lock:
            _found[key] = found
    return found


def _cache_path(model_path: Path, key: tuple[str, int, int]) -> Path:
    digest = hashlib.sha256(repr(key).encode("utf-8")).hexdigest()[:_DIGEST_CHARS]
    return user_data_dir().joinpath(*CACHE_FOLDER) / f"{model_path.stem}-{digest}.onnx"


_DIGEST_CHARS = 16


def _keep(patched: Patched, cached: Path) -> Patched:
    """Write the patched model to the cache (replacing older copies of the same voice file);
    the bytes themselves when the cache cannot be written."""
    assert isinstance(patched.model, bytes)
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        stem = cached.name.rsplit("-", 1)[0]
        for old in cached.parent.glob(f"{stem}-{'[0-9a-f]' * _DIGEST_CHARS}.onnx"):
            old.unlink(missing_ok=True)
        atomic_write_bytes(cached, patched.model)
    except (OSError, VoiceStudioError):
        return patched
    return Patched(str(cached), True)


def _patch(model_path: Path) -> Patched:
    try:
        import onnx
        from piper.patch_voice_with_alignment import add_alignment_output
    except ImportError as exc:
        return Patched(str(model_path), False, f"the onnx package is missing ({exc.name})")
    try:
        model = onnx.load(str(model_path))
    except Exception as exc:  # not a protobuf: let onnxruntime word the load error
        return Patched(str(model_path), False, f"the model could not be read ({exc})")
    if len(model.graph.output) > 1:
        return Patched(str(model_path), True)  # patched already (exported or imported here)
    try:
        add_alignment_output(model)
    except ValueError as exc:
        return Patched(str(model_path), False, f"its graph has no single durations tensor ({exc})")
    return Patched(model.SerializeToString(), True)


def add_durations_to_file(model_path: Path) -> bool:
    """Patch a voice file in place (atomically): True when it has the durations output now."""
    patched = _patch(model_path)
    if isinstance(patched.model, bytes):
        atomic_write_bytes(model_path, patched.model)
    return patched.has_durations


#: The input of a voice made by :func:`durations_as_input`: frames per phoneme id, float32,
#: shape ``[1, 1, ids]`` (each frame ``hop_length`` samples of audio).
DURATIONS_INPUT = "durations"


def durations_as_input(model_path: Path) -> bytes:
    """A copy of the voice at ``model_path`` whose phoneme durations are the input
    :data:`DURATIONS_INPUT` in place of its duration predictor's (the one ``Ceil``, whose
    output becomes an ``Identity`` of the input, so everything after it is unchanged).
    VoiceStudioError saying why when the graph cannot be made so."""
    try:
        import onnx
    except ImportError as exc:
        raise VoiceStudioError(f"the onnx package is missing ({exc.name})") from exc
    try:
        model = onnx.load(str(model_path))
    except Exception as exc:  # not a protobuf
        raise VoiceStudioError(f"the model could not be read ({exc})") from exc
    ceils = [k for k, node in enumerate(model.graph.node) if node.op_type == "Ceil"]
    if len(ceils) != 1:
        raise VoiceStudioError(f"its graph has {len(ceils)} Ceil nodes, not one durations tensor")
    ceil = model.graph.node[ceils[0]]
    if any(i.name == DURATIONS_INPUT for i in model.graph.input):
        raise VoiceStudioError(f"its graph already has an input named {DURATIONS_INPUT!r}")
    identity = onnx.helper.make_node("Identity", [DURATIONS_INPUT], list(ceil.output),
                                     name=f"{DURATIONS_INPUT}_given")
    model.graph.node.remove(ceil)
    model.graph.node.insert(ceils[0], identity)
    model.graph.input.append(onnx.helper.make_tensor_value_info(
        DURATIONS_INPUT, onnx.TensorProto.FLOAT, [1, 1, "phonemes"]))
    return model.SerializeToString()
