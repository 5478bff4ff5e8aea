"""A voice project: a folder with ``project.json``, ``takes/`` and ``models/``.

``project.json`` holds everything but audio: the prompts (copied in, so a later
change to the bundled script never reshuffles a project), each prompt's takes with
their check reports, where the speaker left off, and which take is the consent.
Takes are never overwritten: a retake is a new file.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from voicestudio.audio.io import AudioFileWriter
from voicestudio.audio.take_report import VERDICTS, CheckResult, TakeReport
from voicestudio.commands import command
from voicestudio.constants import MODEL_RATE
from voicestudio.errors import AudioFileError, VoiceStudioError
from voicestudio.paths import user_data_dir
from voicestudio.project import selection
from voicestudio.project.store import ProjectFileError, backup_path, load_json, save_json

SCHEMA_VERSION = 3
PROJECT_FILE = "project.json"
TAKES_DIR = "takes"
MODELS_DIR = "models"
DEFAULT_RECORD_RATE = 48_000
DEFAULT_TRAIN_RATE = MODEL_RATE
_NAME_OK = re.compile(r"^[^/\\\x00-\x1f]{1,100}$")

#: Upgrades from older schemas: MIGRATIONS[n] turns a schema-n dict into schema n+1.
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}


def _add_voices(data: dict[str, Any]) -> dict[str, Any]:
    """Schema 2 keeps the voices trained from the project."""
    return {**data, "voices": []}


def _readable_reports(data: dict[str, Any]) -> dict[str, Any]:
    """Schema 3 holds each take's report typed (:class:`TakeReport`). A report an older
    version wrote that cannot be read as one keeps its verdict, as a single check saying so
    (a take that failed must not start to count as unchecked); one without a verdict is
    dropped: the take stays, unchecked, and is checked again when training reads it."""
    prompts = []
    for prompt in data.get("prompts", []):
        if isinstance(prompt, dict) and isinstance(prompt.get("takes"), list):
            prompt = {**prompt, "takes": [_with_readable_report(t) for t in prompt["takes"]]}
        prompts.append(prompt)
    return {**data, "prompts": prompts}


def _with_readable_report(take: Any) -> Any:
    if not isinstance(take, dict) or take.get("report") is None:
        return take
    report = take["report"]
    try:
        TakeReport.from_dict(report)
    except ValueError:
        verdict = report.get("verdict") if isinstance(report, dict) else None
        if verdict not in VERDICTS:
            return {**take, "report": None}
        kept = CheckResult("earlier", verdict, f"Checked by an earlier VoiceStudio: {verdict}.")
        return {**take, "report": TakeReport([kept]).to_dict()}
    return take


MIGRATIONS[1] = _add_voices
MIGRATIONS[2] = _readable_reports


class ProjectError(VoiceStudioError):
    """A project operation the user asked for cannot be done."""


class NewerProjectError(ProjectFileError):
    """``project.json`` was written by a newer VoiceStudio: it is left untouched, and its
    backup is no remedy (it is as new)."""


#: ``Take.source`` of an imported take: this prefix, then the file it came from.
IMPORT_SOURCE_PREFIX = "import:"


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def default_projects_dir() -> Path:
    return user_data_dir() / "projects"


@dataclass
class Take:
    file: str  # relative to the project folder, POSIX separators
    sample_rate: int
    duration_s: float
    recorded: str
    source: str = "microphone"
    report: TakeReport | None = None  # None: never checked
    accepted_by_user: bool = False

    @property
    def imported(self) -> bool:
        """Copied in from a file (``project import``), not recorded in VoiceStudio."""
        return self.source.startswith(IMPORT_SOURCE_PREFIX)

    @property
    def verdict(self) -> str:
        """pass / warn / fail from the take checks, or "unchecked"."""
        return self.report.verdict if self.report is not None else "unchecked"

    def to_dict(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "report": self.report.to_dict() if self.report is not None else None,
        }


@dataclass
class Prompt:
    text: str
    status: str = "pending"  # pending | recorded | skipped
    takes: list[Take] = field(default_factory=list)
    selected: int | None = None  # take used for training; None = the latest

    @property
    def chosen_take(self) -> Take | None:
        if not self.takes:
            return None
        return self.takes[self.selected if self.selected is not None else -1]


@dataclass(frozen=True)
class TrainedVoice:
    """A voice trained from this project; ``path`` is its ``.onnx``, relative to the project."""

    name: str
    path: str
    created: str
    similarity: float | None = None
    steps: int = 0
    train_minutes: float = 0.0


@dataclass(frozen=True)
class ProjectSummary:
    """Counts for people. ``recorded`` prompts have a take (``imported`` of them from files);
    in a project with imported takes the script's unrecorded prompts are optional, so only
    the consent statement counts as still ``to_record``."""

    name: str
    prompts: int
    recorded: int
    skipped: int
    takes: int
    minutes: float
    verdicts: dict[str, int]
    has_consent_take: bool
    imported: int = 0
    to_record: int = 0
    optional: int = 0


class VoiceProject:
    """One project folder. Every change is saved atomically by the method that makes it."""

    def __init__(self, folder: Path, data: dict[str, Any]) -> None:
        self.folder = folder
        self.name: str = data["name"]
        self.speaker: str = data.get("speaker", "")
        self.created: str = data["created"]
        self.modified: str = data["modified"]
        self.record_rate: int = int(data.get("record_rate", DEFAULT_RECORD_RATE))
        self.train_rate: int = int(data.get("train_rate", DEFAULT_TRAIN_RATE))
        self.script_name: str = data.get("script_name", "")
        self.prompts: list[Prompt] = [
            _prompt_from(p, i) for i, p in enumerate(data.get("prompts", []))
        ]
        consent = data.get("consent_index")
        self.consent_index: int | None = (
            consent if isinstance(consent, int) and 0 <= consent < len(self.prompts) else None
        )
        self.position: int = min(max(0, int(data.get("position", 0))), len(self.prompts))
        self.voices: list[TrainedVoice] = [TrainedVoice(**v) for v in data.get("voices", [])]

    # ----------------------------------------------------------------- create / open
    @classmethod
    def create(
        cls,
        name: str,
        parent: str | Path | None = None,
        speaker: str = "",
        prompts: list[str] | None = None,
        script_name: str = "",
        consent_index: int | None = 0,
    ) -> VoiceProject:
        """Make ``parent/name`` (parent defaults to the user's projects folder)."""
        if not _NAME_OK.match(name) or name.strip() in ("", ".", "..") or name != name.strip():
            raise ProjectError(
                f"invalid project name {name!r}: use 1-100 characters without slashes"
            )
        parent = Path(parent).expanduser() if parent else default_projects_dir()
        if not parent.is_dir() and parent.resolve() != default_projects_dir().resolve():
            # a folder the user named: a typo must not leave a new tree of folders behind
            raise ProjectError(f"folder {parent} does not exist; create it first or choose another")
        folder = parent / name
        if folder.exists():
            raise ProjectError(f"{folder} already exists; choose another name or open it")
        if prompts is None:
            prompts, script_name = _default_prompts(name)
        try:
            (folder / TAKES_DIR).mkdir(parents=True)
            (folder / MODELS_DIR).mkdir()
        except OSError as exc:
            raise ProjectError(f"cannot create {folder}: {exc.strerror or exc}") from exc
        stamp = now_iso()
        project = cls(folder, {
            "name": name, "speaker": speaker, "created": stamp, "modified": stamp,
            "script_name": script_name, "consent_index": consent_index if prompts else None,
            "prompts": [{"text": t} for t in prompts],
        })
        project.save()
        return project

    @classmethod
    def open(cls, spec: str | Path) -> VoiceProject:
        """A project folder path, or the name of a project in the default folder."""
        folder = resolve_project(spec)
        path = folder / PROJECT_FILE
        try:
            return cls._open(folder, path)
        except ProjectFileError as exc:
            if not isinstance(exc, NewerProjectError) and _backup_is_good(path):
                raise ProjectFileError(
                    f"{exc}. A good copy is kept in {PROJECT_FILE}.bak: run "
                    f"`{command('project', 'restore', folder)}` to put it back"
                ) from exc
            raise

    @classmethod
    def _open(cls, folder: Path, path: Path) -> VoiceProject:
        data = load_json(path)
        schema = data.get("schema")
        if not isinstance(schema, int):
            raise ProjectFileError(f"{path} is damaged: no schema version")
        if schema > SCHEMA_VERSION:
            raise NewerProjectError(
                f"{path} was written by a newer VoiceStudio (schema {schema}; this version reads "
                f"up to {SCHEMA_VERSION}); update VoiceStudio — the file was left untouched"
            )
        while schema < SCHEMA_VERSION:
            if schema not in MIGRATIONS:
                raise ProjectFileError(
                    f"{path} has schema {schema}, which this VoiceStudio cannot upgrade"
                )
            data = MIGRATIONS[schema](data)
            schema += 1
            data["schema"] = schema
        try:
            return cls(folder, _validated(data, path))
        except (KeyError, TypeError, ValueError) as exc:
            raise ProjectFileError(f"{path} is damaged: {exc}") from exc

    # ----------------------------------------------------------------- state
    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA_VERSION,
            "app": "voicestudio",
            "name": self.name,
            "speaker": self.speaker,
            "created": self.created,
            "modified": self.modified,
            "record_rate": self.record_rate,
            "train_rate": self.train_rate,
            "script_name": self.script_name,
            "consent_index": self.consent_index,
            "position": self.position,
            "prompts": [_prompt_dict(p) for p in self.prompts],
            "voices": [asdict(v) for v in self.voices],
        }

    def save(self) -> None:
        self.modified = now_iso()
        save_json(self.folder / PROJECT_FILE, self.to_dict())

    @property
    def takes_dir(self) -> Path:
        return self.folder / TAKES_DIR

    @property
    def models_dir(self) -> Path:
        return self.folder / MODELS_DIR

    def take_path(self, take: Take) -> Path:
        """The take's file. A symbolic link that leads out of the project folder is refused
        (AudioFileError): a project someone shared must not make VoiceStudio read, train
        on or play files from elsewhere on the disk."""
        path = self.folder / take.file
        try:
            inside = path.resolve().is_relative_to(self.folder.resolve())
        except (OSError, RuntimeError) as exc:  # a link loop
            raise AudioFileError(f"take {take.file} cannot be resolved: {exc}") from exc
        if not inside:
            raise AudioFileError(
                f"take {take.file} is a link to {path.resolve()}, outside the project folder; "
                "it is not used"
            )
        return path

    def prompt(self, index: int) -> Prompt:
        if not 0 <= index < len(self.prompts):
            raise ProjectError(
                f"prompt {index} does not exist (this project has {len(self.prompts)} prompts, "
                f"0-{len(self.prompts) - 1})"
            )
        return self.prompts[index]

    def add_prompt(self, text: str) -> int:
        text = " ".join(text.split())
        if not text:
            raise ProjectError("a prompt cannot be empty")
        self.prompts.append(Prompt(text))
        return len(self.prompts) - 1

    def add_take(
        self,
        index: int,
        samples: np.ndarray,
        sample_rate: int,
        report: TakeReport | None = None,
        source: str = "microphone",
        subtype: str = "pcm24",
        save: bool = True,
    ) -> Take:
        """Store a new take for prompt ``index`` (older takes stay), at its own sample rate."""
        prompt = self.prompt(index)
        samples = np.asarray(samples, dtype=np.float32)
        if samples.ndim != 1 or samples.size == 0:
            raise ProjectError("a take must be non-empty mono audio")
        number = len(prompt.takes) + 1
        relative = PurePosixPath(TAKES_DIR) / f"p{index:04d}_t{number:02d}.wav"
        while (self.folder / relative).exists():  # never overwrite, even after a manual edit
            number += 1
            relative = PurePosixPath(TAKES_DIR) / f"p{index:04d}_t{number:02d}.wav"
        self.takes_dir.mkdir(exist_ok=True)
        with AudioFileWriter(self.folder / relative, sample_rate, fmt=subtype) as writer:
            writer.write(samples)
        take = Take(
            str(relative),
            int(sample_rate),
            len(samples) / float(sample_rate),
            now_iso(),
            source,
            report,
        )
        prompt.takes.append(take)
        prompt.selected = None
        prompt.status = "recorded"
        if save:
            self.save()
        return take

    def skip(self, index: int) -> None:
        prompt = self.prompt(index)
        if prompt.status == "pending":
            prompt.status = "skipped"
        self.position = min(index + 1, len(self.prompts))
        self.save()

    def next_pending(self, start: int | None = None) -> int | None:
        """Where to resume: the first prompt without a take at or after ``start`` (default: the
        saved position)."""
        begin = self.position if start is None else start
        order = list(range(begin, len(self.prompts))) + list(range(0, begin))
        return next((i for i in order if self.prompts[i].status == "pending"), None)

    def add_voice(self, voice: TrainedVoice) -> None:
        self.voices.append(voice)
        self.save()

    def best_voice(self) -> TrainedVoice | None:
        """The trained voice with the highest similarity score that still exists on disk
        (the newest wins a tie, and any scored voice beats an unscored one)."""
        present = [(i, v) for i, v in enumerate(self.voices) if (self.folder / v.path).is_file()]
        if not present:
            return None
        return max(
            present, key=lambda iv: (iv[1].similarity is not None, iv[1].similarity or 0.0, iv[0])
        )[1]

    def summary(self) -> ProjectSummary:
        takes = [t for p in self.prompts for t in p.takes]
        chosen = [p.chosen_take for p in self.prompts if p.chosen_take is not None]
        statement = selection.consent_prompt(self)
        consent = selection.is_statement_recorded(self)
        pending = [i for i, p in enumerate(self.prompts) if p.status == "pending"]
        imported = sum(p.chosen_take is not None and p.chosen_take.imported
                       for i, p in enumerate(self.prompts) if i != statement)
        needed = [i for i in pending if i == statement] if imported else pending
        return ProjectSummary(
            name=self.name,
            prompts=len(self.prompts),
            recorded=sum(p.status == "recorded" for p in self.prompts),
            skipped=sum(p.status == "skipped" for p in self.prompts),
            takes=len(takes),
            minutes=sum(t.duration_s for t in chosen) / 60.0,
            verdicts=dict(Counter(t.verdict for t in chosen)),
            has_consent_take=consent,
            imported=imported,
            to_record=len(needed),
            optional=len(pending) - len(needed),
        )


def resolve_project(spec: str | Path) -> Path:
    """A folder holding project.json, or a project name under the default projects folder."""
    path = Path(spec).expanduser()
    if path.name == PROJECT_FILE:
        path = path.parent
    if (path / PROJECT_FILE).is_file() or (path / (PROJECT_FILE + ".bak")).is_file():
        return path
    by_name = default_projects_dir() / str(spec)
    if "/" not in str(spec) and (by_name / PROJECT_FILE).is_file():
        return by_name
    raise ProjectError(
        f"no VoiceStudio project at {path} (and none named {str(spec)!r} "
        f"in {default_projects_dir()})"
    )


def _backup_is_good(path: Path) -> bool:
    try:
        load_json(backup_path(path))
    except ProjectFileError:
        return False
    return True


def _default_prompts(name: str) -> tuple[list[str], str]:
    try:
        from voicestudio.text.script import load_script
    except ImportError:  # the recording script module is optional in stripped-down builds
        return [], ""
    script = load_script(None, project_name=name, date=dt.date.today())
    return list(script.prompts), script.name


def _prompt_dict(prompt: Prompt) -> dict[str, Any]:
    return {**asdict(prompt), "takes": [t.to_dict() for t in prompt.takes]}


def _prompt_from(data: dict[str, Any], index: int) -> Prompt:
    takes = [_take_from(t) for t in data.get("takes", [])]
    return Prompt(
        text=data["text"],
        status=data.get("status", "pending"),
        takes=takes,
        selected=data.get("selected"),
    )


def _take_from(data: dict[str, Any]) -> Take:
    report = data.get("report")
    return Take(**{**data, "report": TakeReport.from_dict(report) if report is not None else None})


def _validated(data: dict[str, Any], path: Path) -> dict[str, Any]:
    """Check types and that every take file stays inside the project (no ../ escapes)."""
    for key in ("name", "created", "modified"):
        if not isinstance(data.get(key), str):
            raise TypeError(f"'{key}' must be a string")
    for key in ("consent_index", "position", "record_rate", "train_rate"):
        value = data.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise TypeError(f"'{key}' must be a whole number")
    for key in ("speaker", "script_name"):
        if not isinstance(data.get(key, ""), str):
            raise TypeError(f"'{key}' must be a string")
    prompts = data.get("prompts", [])
    if not isinstance(prompts, list):
        raise TypeError("'prompts' must be a list")
    for i, prompt in enumerate(prompts):
        if not isinstance(prompt, dict) or not isinstance(prompt.get("text"), str):
            raise TypeError(f"prompts[{i}] must be an object with a 'text' string")
        if prompt.get("status", "pending") not in ("pending", "recorded", "skipped"):
            raise ValueError(f"prompts[{i}].status is {prompt.get('status')!r}")
        takes = prompt.get("takes", [])
        if not isinstance(takes, list):
            raise TypeError(f"prompts[{i}].takes must be a list")
        for j, take in enumerate(takes):
            where = f"prompts[{i}].takes[{j}]"
            if not isinstance(take, dict):
                raise TypeError(f"{where} must be an object")
            unknown = set(take) - set(Take.__dataclass_fields__)
            if unknown:
                raise ValueError(f"{where} has unknown fields {sorted(unknown)}")
            file = take.get("file")
            if (
                not isinstance(file, str)
                or PurePosixPath(file).is_absolute()
                or ".." in PurePosixPath(file).parts
            ):
                raise ValueError(f"{where}.file must be a path inside the project (got {file!r})")
            if not isinstance(take.get("sample_rate"), int) or not isinstance(
                take.get("duration_s"), int | float
            ):
                raise TypeError(f"{where} needs an integer sample_rate and a numeric duration_s")
            if not isinstance(take.get("recorded", ""), str) or not isinstance(
                take.get("source", ""), str
            ):
                raise TypeError(f"{where}.recorded and .source must be strings")
            if take.get("report") is not None and not isinstance(take.get("report"), dict):
                raise TypeError(f"{where}.report must be an object")
            if not isinstance(take.get("accepted_by_user", False), bool):
                raise TypeError(f"{where}.accepted_by_user must be true or false")
        selected = prompt.get("selected")
        if selected is not None and not (isinstance(selected, int) and 0 <= selected < len(takes)):
            raise ValueError(f"prompts[{i}].selected is out of range")
    voices = data.get("voices", [])
    if not isinstance(voices, list):
        raise TypeError("'voices' must be a list")
    for i, voice in enumerate(voices):
        where = f"voices[{i}]"
        if not isinstance(voice, dict) or set(voice) - set(TrainedVoice.__dataclass_fields__):
            raise ValueError(f"{where} must be an object with the fields of a trained voice")
        file = voice.get("path")
        if (
            not isinstance(file, str)
            or PurePosixPath(file).is_absolute()
            or ".." in PurePosixPath(file).parts
        ):
            raise ValueError(f"{where}.path must be a path inside the project (got {file!r})")
        if not isinstance(voice.get("name"), str) or not isinstance(voice.get("created"), str):
            raise TypeError(f"{where} needs a name and a created date")
        similarity = voice.get("similarity")
        if similarity is not None and (
            isinstance(similarity, bool) or not isinstance(similarity, int | float)
        ):
            raise TypeError(f"{where}.similarity must be a number or null")
        if not isinstance(voice.get("steps", 0), int) or not isinstance(
            voice.get("train_minutes", 0.0), int | float
        ):
            raise TypeError(f"{where}.steps and .train_minutes must be numbers")
    return data
