"""The speaker model's phoneme durations: the extra ONNX output that word timings need.

A VITS voice decides how many frames each phoneme id lasts (the ``Ceil`` of its duration
predictor) but Piper's ONNX contract outputs audio only. Piper's own patch
(``piper.patch_voice_with_alignment``, the ``piper-tts[alignment]`` extra) marks that tensor
as a second graph output; Piper runtimes read output 0 and ignore it, so a patched voice
stays a Piper voice. VoiceStudio patches the voices it exports and imports on disk, and any
other voice (the bundled one, a downloaded one) in memory when it loads. A graph without one
clear durations tensor loads unpatched: it speaks, without timings.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from voicestudio.project.store import atomic_write_bytes

#: Patched models kept in memory, by file identity, so reloading a voice (another provider,
#: a test) does not parse the graph again; two voices cover "the base voice and the clone".
_CACHE_SIZE = 2


@dataclass(frozen=True)
class Patched:
    """What loading found: the model to open (a path, or patched bytes) and, when the voice
    has no durations, why not (for "no timings" messages)."""

    model: str | bytes
    has_durations: bool
    reason: str = ""


_lock = threading.Lock()
_cache: dict[tuple[str, int, int], Patched] = {}


def with_durations(model_path: Path) -> Patched:
    """``model_path`` ready to open with its durations output, patched in memory if need be."""
    stat = model_path.stat()
    key = (str(model_path.resolve()), stat.st_size, stat.st_mtime_ns)
    with _lock:
        found = _cache.get(key)
    if found is not None:
        return found
    found = _patch(model_path)
    with _lock:
        if len(_cache) >= _CACHE_SIZE:
            _cache.pop(next(iter(_cache)))
        _cache[key] = found
    return found


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
