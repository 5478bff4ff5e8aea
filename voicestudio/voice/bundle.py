"""Voice bundles: a trained (or any Piper) voice as one ``.vsvoice`` file to share or back up.

A bundle is a zip of exactly ``manifest.json``, ``voice.onnx``, ``voice.onnx.json`` and an
optional ``preview.wav``; the manifest names the voice and gives each file's size and
sha256. Importing trusts nothing in it: entry names are compared with that fixed list (no
paths, so no traversal; no pickles or other extras), sizes are bounded before and while
reading (a zip's sizes can lie), hashes must match, the sidecar must parse and the ONNX
must load with the Piper contract before anything lands in the voices folder, where the
files appear under temporary names and are renamed into place.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import secrets
import shutil
import stat
import tempfile
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from voicestudio.errors import VoiceLoadError
from voicestudio.paths import user_voices_dir
from voicestudio.safety.sidecar import require_exportable
from voicestudio.voice.alignment import add_durations_to_file
from voicestudio.voice.catalog import VoiceInfo, list_voices, resolve_voice

BUNDLE_SUFFIX = ".vsvoice"
BUNDLE_FORMAT = "voicestudio-voice-bundle"
BUNDLE_SCHEMA = 1
MANIFEST, MODEL, SIDECAR, PREVIEW = "manifest.json", "voice.onnx", "voice.onnx.json", "preview.wav"
REQUIRED = (MANIFEST, MODEL, SIDECAR)
#: Largest accepted size of each entry, uncompressed (Piper's "high" voices are about 115 MB).
MAX_SIZES = {MANIFEST: 64 << 10, MODEL: 400 << 20, SIDECAR: 2 << 20, PREVIEW: 20 << 20}
#: Largest bundle file accepted at all (checked before opening it).
MAX_BUNDLE_BYTES = sum(MAX_SIZES.values()) + (1 << 20)
PREVIEW_TEXT = "Hello! This is my voice, made with VoiceStudio."
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,79}$")
_PICKLE_SUFFIXES = (".pt", ".pth", ".pkl", ".pickle", ".npy", ".npz", ".joblib", ".ckpt", ".bin")


class BundleError(VoiceLoadError):
    """A voice bundle that cannot be written or is refused on import."""


@dataclass(frozen=True)
class BundleInfo:
    name: str
    path: Path
    files: dict[str, int]  # entry -> size in bytes


def valid_voice_name(name: str) -> str:
    """``name`` when it can be a file name in the voices folder on every platform."""
    if not isinstance(name, str) or not _NAME.match(name) or name.endswith("."):
        raise BundleError(
            f"voice name {name!r} is not allowed: use 1-80 letters, digits, '-', '_' or '.' "
            "(not starting with '.' or '-')"
        )
    return name


# ----------------------------------------------------------------------------- export
def export_bundle(spec: str | None, out_path: str | Path, preview_text: str | None = PREVIEW_TEXT,
                  name: str | None = None, overwrite: bool = False) -> BundleInfo:
    """Write the voice ``spec`` (see :func:`voicestudio.voice.catalog.resolve_voice`) into
    ``out_path`` (``.vsvoice`` is added when it has no suffix), with a spoken preview unless
    ``preview_text`` is None. Written to a temporary name and renamed: never half a file.
    An existing file is only replaced with ``overwrite``."""
    from voicestudio.voice.model import VoiceModel

    info = resolve_voice(spec)
    name = valid_voice_name(name or info.name)
    out = Path(out_path).expanduser()
    if not out.suffix:
        out = out.with_suffix(BUNDLE_SUFFIX)
    if out.is_dir():
        raise BundleError(f"{out} is a folder; give a file name for the bundle")
    if not out.parent.is_dir():
        raise BundleError(f"cannot write {out}: folder {out.parent} does not exist")
    if out.exists() and not overwrite:
        raise BundleError(
            f"{out} already exists; choose another file name or replace it (--overwrite)"
        )
    sidecar = info.config_path.read_bytes()
    try:
        config = json.loads(sidecar)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BundleError(
            f"voice {info.name!r} cannot be exported: its configuration {info.config_path} is "
            f"not valid JSON ({exc})"
        ) from exc
    require_exportable(config if isinstance(config, dict) else {}, info.name)
    voice = VoiceModel.load(info.model_path, info.config_path, provider="cpu", threads=1, name=name)
    contents: dict[str, bytes | Path] = {MODEL: info.model_path, SIDECAR: sidecar}
    if preview_text:
        contents[PREVIEW] = _preview_wav(voice, preview_text)
    files = {entry: _describe(data) for entry, data in contents.items()}
    manifest = {"format": BUNDLE_FORMAT, "schema": BUNDLE_SCHEMA, "name": name,
                "created": datetime.now(UTC).isoformat(timespec="seconds"), "files": files}
    # a plain new file (not mkstemp's owner-only one), so the bundle gets the user's usual
    # permissions
    tmp = out.parent / f".{out.name}.{secrets.token_hex(6)}.part"
    try:
        with zipfile.ZipFile(tmp, "x") as zf:
            zf.writestr(MANIFEST, json.dumps(manifest, indent=2), zipfile.ZIP_DEFLATED)
            for entry, data in contents.items():
                # ONNX/WAV barely shrink
                method = zipfile.ZIP_DEFLATED if entry == SIDECAR else zipfile.ZIP_STORED
                if isinstance(data, Path):
                    zf.write(data, entry, method)
                else:
                    zf.writestr(entry, data, method)
        os.replace(tmp, out)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise BundleError(f"cannot write {out}: {exc.strerror or exc}") from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return BundleInfo(name, out, {entry: meta["size"] for entry, meta in files.items()})


def _preview_wav(voice, text: str) -> bytes:
    import numpy as np
    import soundfile as sf

    from voicestudio.safety.watermark import embed
    from voicestudio.voice.synthesizer import Synthesizer

    synth = Synthesizer(voice)
    samples = np.concatenate([chunk.samples for chunk in synth.synthesize(text)])
    buffer = io.BytesIO()
    sf.write(
        buffer,
        embed(np.clip(samples, -1.0, 1.0), synth.sample_rate),
        synth.sample_rate,
        subtype="PCM_16",
        format="WAV",
    )
    return buffer.getvalue()


def _describe(data: bytes | Path) -> dict[str, Any]:
    digest = hashlib.sha256()
    if isinstance(data, Path):
        with open(data, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        size = data.stat().st_size
    else:
        digest.update(data)
        size = len(data)
    return {"size": size, "sha256": digest.hexdigest()}


# ----------------------------------------------------------------------------- import
def read_manifest(path: str | Path) -> dict[str, Any]:
    """The checked manifest of bundle ``path`` (entries, sizes, name, schema); raises
    :class:`BundleError` saying what is wrong. Nothing is extracted."""
    path = Path(path).expanduser()
    with _open_zip(path) as zf:
        return _check_entries(zf, path)


def import_bundle(path: str | Path, name: str | None = None, folder: Path | None = None):
    """Check bundle ``path`` and install its voice into the voices folder (``folder`` for
    tests) as ``name`` (default: the manifest's). Returns the installed
    :class:`~voicestudio.voice.catalog.VoiceInfo`; on any problem nothing is installed."""
    from voicestudio.voice.model import VoiceModel

    path = Path(path).expanduser()
    folder = folder or user_voices_dir()
    with _open_zip(path) as zf:
        manifest = _check_entries(zf, path)
        name = valid_voice_name(name or manifest["name"])
        existing = {
            p.name.removesuffix(".onnx").lower(): f"in {folder}" for p in folder.glob("*.onnx")
        }
        existing.update(
            {
                v.name.lower(): "the voice that comes with VoiceStudio"
                if v.source == "bundled"
                else f"in {v.model_path.parent}"
                for v in list_voices()
            }
        )
        if name.lower() in existing:
            raise BundleError(
                f"a voice named {name!r} already exists ({existing[name.lower()]}); import this "
                "one under another name (--name NEW-NAME)"
            )
        try:
            folder.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix=f".{name}.", suffix=".part", dir=folder))
        except OSError as exc:
            raise BundleError(
                f"cannot write into the voices folder {folder}: {exc.strerror or exc}"
            ) from exc
        try:
            for entry in (MODEL, SIDECAR):
                _extract(zf, entry, manifest["files"][entry], staging / entry, path)
            _check_sidecar(staging / SIDECAR, path)
            add_durations_to_file(staging / MODEL)  # word timings without patching every load
            VoiceModel.load(
                staging / MODEL, staging / SIDECAR, provider="cpu", threads=1, name=name
            )
            model, sidecar = folder / f"{name}.onnx", folder / f"{name}.onnx.json"
            os.replace(staging / SIDECAR, sidecar)
            try:
                os.replace(staging / MODEL, model)
            except OSError:
                sidecar.unlink(missing_ok=True)
                raise
        except BundleError:
            raise
        except VoiceLoadError as exc:
            # said with the bundle's entry names, not the staging folder's
            detail = str(exc).replace(f"{staging}{os.sep}", "")
            raise BundleError(f"{path.name}: the voice inside does not load: {detail}") from exc
        except OSError as exc:
            raise BundleError(
                f"cannot install the voice into {folder}: {exc.strerror or exc}"
            ) from exc
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return VoiceInfo(name, model, sidecar, "user")


def _open_zip(path: Path) -> zipfile.ZipFile:
    if not path.is_file():
        raise BundleError(f"voice bundle not found: {path}")
    size = path.stat().st_size
    if size > MAX_BUNDLE_BYTES:
        raise BundleError(f"{path.name} is {size / 1e6:.0f} MB, larger than any voice bundle "
                          f"(at most {MAX_BUNDLE_BYTES / 1e6:.0f} MB)")
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise BundleError(
            f"{path.name} is not a voice bundle (not a readable zip file: {exc})"
        ) from exc


def _check_entries(zf: zipfile.ZipFile, path: Path) -> dict[str, Any]:
    where = path.name
    entries = zf.infolist()
    names = [e.filename for e in entries]
    for entry in entries:
        name = entry.filename
        if "/" in name or "\\" in name or name.startswith(".") or ".." in name or ":" in name:
            raise BundleError(
                f"{where}: refused: entry {name!r} is a path; a voice bundle holds only "
                f"{', '.join(MAX_SIZES)} at its top level"
            )
        if name.lower().endswith(_PICKLE_SUFFIXES):
            raise BundleError(
                f"{where}: refused: {name!r} is a pickled or binary tensor file, which could run "
                "code when loaded; VoiceStudio never loads those"
            )
        if name not in MAX_SIZES:
            raise BundleError(
                f"{where}: refused: unexpected file {name!r}; a voice bundle holds only "
                f"{', '.join(MAX_SIZES)}"
            )
        if stat.S_ISLNK(entry.external_attr >> 16):
            raise BundleError(f"{where}: refused: {name!r} is a symbolic link")
        if entry.flag_bits & 0x1:
            raise BundleError(f"{where}: {name!r} is encrypted; bundles are not")
        if entry.file_size > MAX_SIZES[name]:
            raise BundleError(f"{where}: {name} is {entry.file_size / 1e6:.1f} MB, more than the "
                              f"{MAX_SIZES[name] / 1e6:.1f} MB a voice bundle allows")
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise BundleError(f"{where}: refused: {', '.join(duplicates)} appear(s) more than once")
    missing = [n for n in REQUIRED if n not in names]
    if missing:
        raise BundleError(f"{where} is not a complete voice bundle: {', '.join(missing)} missing")
    manifest = _json(_read(zf, MANIFEST, MAX_SIZES[MANIFEST], where), f"{where}: {MANIFEST}")
    if not isinstance(manifest, dict) or manifest.get("format") != BUNDLE_FORMAT:
        raise BundleError(f"{where}: {MANIFEST} is not a VoiceStudio voice bundle manifest")
    schema = manifest.get("schema")
    if not isinstance(schema, int) or isinstance(schema, bool) or schema < 1:
        raise BundleError(f"{where}: {MANIFEST} has no valid schema number")
    if schema > BUNDLE_SCHEMA:
        raise BundleError(
            f"{where} was made by a newer VoiceStudio (bundle schema {schema}; this version reads "
            f"{BUNDLE_SCHEMA}); update VoiceStudio to import it"
        )
    valid_voice_name(manifest.get("name"))
    files = manifest.get("files")
    if not isinstance(files, dict) or set(files) != set(names) - {MANIFEST}:
        raise BundleError(f"{where}: {MANIFEST} does not list the files the bundle holds")
    for entry, meta in files.items():
        ok = (
            isinstance(meta, dict)
            and isinstance(meta.get("size"), int)
            and isinstance(meta.get("sha256"), str)
        )
        if not ok or meta["size"] != zf.getinfo(entry).file_size:
            raise BundleError(f"{where}: {MANIFEST} gives a wrong size for {entry}")
    return manifest


def _read(zf: zipfile.ZipFile, entry: str, limit: int, where: str) -> bytes:
    try:
        with zf.open(entry) as f:
            data = f.read(limit + 1)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as exc:
        raise BundleError(f"{where}: {entry} cannot be read (damaged bundle: {exc})") from exc
    if len(data) > limit:
        raise BundleError(
            f"{where}: {entry} is larger than the {limit / 1e6:.1f} MB a voice bundle allows"
        )
    return data


def _extract(zf: zipfile.ZipFile, entry: str, meta: dict, target: Path, path: Path) -> None:
    """Copy ``entry`` to ``target``, never more bytes than declared, checking the hash."""
    digest, written = hashlib.sha256(), 0
    try:
        with zf.open(entry) as src, open(target, "xb") as dst:
            for block in iter(lambda: src.read(1 << 20), b""):
                written += len(block)
                if written > meta["size"]:
                    raise BundleError(f"{path.name}: {entry} is larger than its manifest says")
                digest.update(block)
                dst.write(block)
    except (zipfile.BadZipFile, EOFError, ValueError, NotImplementedError) as exc:
        raise BundleError(f"{path.name}: {entry} cannot be read (damaged bundle: {exc})") from exc
    if written != meta["size"] or digest.hexdigest() != meta["sha256"]:
        raise BundleError(f"{path.name}: {entry} does not match its manifest (damaged or altered)")


def _check_sidecar(sidecar: Path, path: Path) -> None:
    data = _json(sidecar.read_bytes(), f"{path.name}: {SIDECAR}")
    if not isinstance(data, dict):
        raise BundleError(f"{path.name}: {SIDECAR} is not a voice configuration")


def _json(data: bytes, where: str) -> Any:
    try:
        return json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise BundleError(f"{where} is not UTF-8 text") from exc
    except json.JSONDecodeError as exc:
        raise BundleError(
            f"{where} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from exc
