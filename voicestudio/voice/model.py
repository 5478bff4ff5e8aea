"""A Piper-compatible voice: an ONNX speaker model plus its JSON sidecar.

The contract is Piper's (inputs ``input``, ``input_lengths``, ``scales`` and
optionally ``sid``; output audio first), so any Piper voice loads here and every
voice VoiceStudio exports loads in Piper. VoiceStudio's own sidecar fields live
under ``"voicestudio"`` and are kept in :attr:`VoiceConfig.extra`.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

from voicestudio.errors import VoiceLoadError, VoiceStudioError
from voicestudio.runtime import ProviderChoice, create_session
from voicestudio.text.phonemize import phoneme_ids, phonemize
from voicestudio.voice.alignment import DURATIONS_INPUT, durations_as_input, with_durations

REQUIRED_INPUTS = ("input", "input_lengths", "scales")
MAX_MODEL_BYTES = 1 << 30  # no real VITS voice comes near 1 GiB
MAX_SIDECAR_BYTES = 8 << 20
WARMUP_TEXT = "This is a short warm-up sentence."
SUPPORTED_PHONEME_TYPES = ("espeak", "text")


@dataclass(frozen=True)
class VoiceConfig:
    """The fields of a Piper ``.onnx.json`` that synthesis needs."""

    sample_rate: int
    espeak_voice: str
    phoneme_id_map: Mapping[str, Sequence[int]]
    phoneme_type: str = "espeak"
    num_speakers: int = 1
    noise_scale: float = 0.667
    length_scale: float = 1.0
    noise_w: float = 0.8
    hop_length: int = 256
    language: str = ""
    quality: str = ""
    dataset: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_file(cls, path: Path) -> VoiceConfig:
        if not path.is_file():
            raise VoiceLoadError(
                f"voice config not found: {path} (a Piper voice is NAME.onnx plus NAME.onnx.json)"
            )
        if path.stat().st_size > MAX_SIDECAR_BYTES:
            raise VoiceLoadError(
                f"voice config {path} is implausibly large ({path.stat().st_size} bytes)"
            )
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise VoiceLoadError(f"voice config {path} is not valid JSON: {exc}") from exc
        try:
            return cls.from_dict(data)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:  # e.g. "espeak": null
            raise VoiceLoadError(f"voice config {path} is not a Piper voice config: {exc}") from exc

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> VoiceConfig:
        if not isinstance(data, Mapping):
            raise TypeError("top level must be a JSON object")
        inference = data.get("inference", {}) or {}
        id_map = data["phoneme_id_map"]
        if not isinstance(id_map, Mapping) or not all(
            isinstance(v, list) and all(isinstance(i, int) for i in v) for v in id_map.values()
        ):
            raise TypeError("'phoneme_id_map' must map phonemes to lists of integer ids")
        for symbol in ("^", "_", "$"):
            if symbol not in id_map:
                raise KeyError(f"phoneme_id_map lacks the required symbol {symbol!r}")
        phoneme_type = str(data.get("phoneme_type", "espeak"))
        if phoneme_type not in SUPPORTED_PHONEME_TYPES:
            raise ValueError(
                f"phoneme type {phoneme_type!r} is not supported "
                f"(only {', '.join(SUPPORTED_PHONEME_TYPES)})"
            )
        sample_rate = int(data["audio"]["sample_rate"])
        if not 8000 <= sample_rate <= 96000:
            raise ValueError(f"sample rate {sample_rate} is out of range")
        lang = data.get("language", {}) or {}
        return cls(
            sample_rate=sample_rate,
            espeak_voice=str(data.get("espeak", {}).get("voice", "en-us")),
            phoneme_id_map=id_map,
            phoneme_type=phoneme_type,
            num_speakers=int(data.get("num_speakers", 1)),
            noise_scale=float(inference.get("noise_scale", 0.667)),
            length_scale=float(inference.get("length_scale", 1.0)),
            noise_w=float(inference.get("noise_w", 0.8)),
            hop_length=int(data.get("hop_length", 256)),
            language=str(lang.get("code", "")) if isinstance(lang, Mapping) else "",
            quality=str(data.get("audio", {}).get("quality", "")),
            dataset=str(data.get("dataset", "")),
            extra=dict(data.get("voicestudio", {}) or {}),
        )


class VoiceModel:
    """A loaded voice: config + onnxruntime session on the chosen provider."""

    def __init__(
        self,
        name: str,
        model_path: Path,
        config: VoiceConfig,
        session: ort.InferenceSession,
        provider: ProviderChoice,
        no_durations_reason: str = "",
    ):
        self.name = name
        self.model_path = model_path
        self.config = config
        self.session = session
        self.provider = provider
        self._has_sid = any(i.name == "sid" for i in session.get_inputs())
        #: Whether the model says how long each phoneme lasts (word timings need it).
        self.has_durations = len(session.get_outputs()) > 1
        self.no_durations_reason = "" if self.has_durations else (
            no_durations_reason or "the voice model does not output phoneme durations")
        self._timed: ort.InferenceSession | str | None = None  # str: why there is none
        self._timed_lock = threading.Lock()

    @classmethod
    def load(
        cls,
        model_path: str | Path,
        config_path: str | Path | None = None,
        provider: str = "auto",
        threads: int | None = None,
        name: str | None = None,
    ) -> VoiceModel:
        model_path = Path(model_path)
        config_path = (
            Path(config_path) if config_path else model_path.with_name(model_path.name + ".json")
        )
        if not model_path.is_file():
            raise VoiceLoadError(f"voice model not found: {model_path}")
        size = model_path.stat().st_size
        if size == 0:
            raise VoiceLoadError(f"voice model {model_path} is empty")
        if size > MAX_MODEL_BYTES:
            raise VoiceLoadError(f"voice model {model_path} is too large ({size / 2**20:.0f} MiB)")
        config = VoiceConfig.from_file(config_path)

        def warmup(session: ort.InferenceSession) -> None:
            _check_contract(session, model_path)
            ids = _ids_for(WARMUP_TEXT, config)
            sid = 0 if any(i.name == "sid" for i in session.get_inputs()) else None
            session.run(None, _feeds(session, ids, (0.667, 1.0, 0.8), sid))

        patched = with_durations(model_path)
        try:
            session, choice = create_session(patched.model, provider, threads, warmup)
        except VoiceLoadError:
            raise
        except Exception as exc:  # onnxruntime raises its own Fail/InvalidProtobuf types
            raise VoiceLoadError(
                f"cannot load voice model {model_path}: {_first_line(exc)}"
            ) from exc
        _check_contract(session, model_path)
        return cls(name or model_path.name.removesuffix(".onnx"), model_path, config, session,
                   choice, patched.reason)

    @property
    def sample_rate(self) -> int:
        return self.config.sample_rate

    def text_to_ids(self, text: str) -> list[list[int]]:
        """One id sequence per sentence espeak finds in ``text`` (unknown phonemes skipped)."""
        return [config_ids(ph, self.config)[0] for ph in text_phonemes(text, self.config)]

    def infer(
        self,
        ids: Sequence[int],
        noise_scale: float | None = None,
        length_scale: float | None = None,
        noise_w: float | None = None,
        speaker_id: int | None = None,
    ) -> np.ndarray:
        """Run the speaker model on one id sequence; raw float32 audio (not normalized)."""
        return self.infer_aligned(ids, noise_scale, length_scale, noise_w, speaker_id).audio

    def infer_aligned(
        self,
        ids: Sequence[int],
        noise_scale: float | None = None,
        length_scale: float | None = None,
        noise_w: float | None = None,
        speaker_id: int | None = None,
    ) -> Inference:
        """Audio and, when the model outputs them, the samples each phoneme id lasts."""
        c = self.config
        scales = (
            c.noise_scale if noise_scale is None else noise_scale,
            c.length_scale if length_scale is None else length_scale,
            c.noise_w if noise_w is None else noise_w,
        )
        sid = speaker_id if speaker_id is not None else (0 if self._has_sid else None)
        outputs = self.session.run(None, _feeds(self.session, ids, scales, sid))
        audio = np.asarray(outputs[0], dtype=np.float32).reshape(-1)
        samples = None
        if len(outputs) > 1:
            frames = np.asarray(outputs[1]).reshape(-1)
            if len(frames) == len(ids):  # anything else is not the durations Piper's patch marks
                samples = (frames * c.hop_length).astype(np.int64)
        return Inference(audio, samples)

    def infer_timed(
        self,
        ids: Sequence[int],
        frames: Sequence[int] | np.ndarray,
        noise_scale: float | None = None,
        speaker_id: int | None = None,
    ) -> Inference:
        """Audio in which phoneme id ``ids[i]`` lasts ``frames[i]`` frames (``hop_length``
        samples each) instead of what the model's duration predictor gives it: the same
        voice, each sound spoken at the length asked (a performance's timing). Made on first
        use from a copy of the graph (:func:`~voicestudio.voice.alignment.durations_as_input`);
        VoiceStudioError when the voice's graph cannot take durations."""
        frames = np.asarray(frames, dtype=np.float32).reshape(-1)
        if len(frames) != len(ids) or np.any(frames < 0) or not np.all(np.isfinite(frames)):
            raise ValueError("frames must be one non-negative count per phoneme id")
        session = self._timed_session()
        c = self.config
        frames = np.round(frames)
        noise = c.noise_scale if noise_scale is None else noise_scale
        try:
            audio = self._run_timed(session, ids, frames, noise, speaker_id)
        except Exception as exc:  # onnxruntime's own types (out of memory on a GPU, ...)
            raise VoiceStudioError(f"voice {self.name} could not speak given phoneme "
                                   f"durations: {_first_line(exc)}") from exc
        return Inference(audio, (frames * c.hop_length).astype(np.int64))

    def _run_timed(self, session: ort.InferenceSession, ids: Sequence[int], frames: np.ndarray,
                   noise_scale: float, speaker_id: int | None = None) -> np.ndarray:
        c = self.config
        sid = speaker_id if speaker_id is not None else (0 if self._has_sid else None)
        feeds = _feeds(session, ids, (noise_scale, c.length_scale, c.noise_w), sid)
        feeds[DURATIONS_INPUT] = np.asarray(frames, dtype=np.float32).reshape(1, 1, -1)
        return np.asarray(session.run(None, feeds)[0], dtype=np.float32).reshape(-1)

    def _check_timed(self, session: ort.InferenceSession) -> None:
        """Given the model's own durations, the timed copy must speak what the model does:
        else the one Ceil in its graph was not the duration predictor's."""
        ids = _ids_for(WARMUP_TEXT, self.config)
        own = self.infer_aligned(ids, noise_scale=0.0, noise_w=0.0)
        if own.samples_per_id is None:
            raise VoiceStudioError("the model does not say its durations to compare with")
        audio = self._run_timed(session, ids, own.samples_per_id // self.config.hop_length, 0.0)
        if len(audio) != len(own.audio) or _rms(audio - own.audio) > TIMED_TOLERANCE * max(
                _rms(own.audio), 1e-9):
            raise VoiceStudioError("its graph, given the model's own durations, does not "
                                   "speak as the model does")

    @property
    def can_time(self) -> bool:
        """Whether :meth:`infer_timed` works for this voice (makes its session if need be)."""
        try:
            self._timed_session()
        except VoiceStudioError:
            return False
        return True

    def _timed_session(self) -> ort.InferenceSession:
        """The timed copy's session, made (and checked) on first use; kept while the voice is."""
        with self._timed_lock:
            if self._timed is None:
                try:
                    session, _choice = create_session(
                        durations_as_input(self.model_path), self.provider.used)
                    self._check_timed(session)  # also when CUDA fell back to the CPU
                    self._timed = session
                except VoiceStudioError as exc:
                    self._timed = str(exc)
                except Exception as exc:  # onnxruntime's own Fail types
                    self._timed = _first_line(exc)
            if isinstance(self._timed, str):
                raise VoiceStudioError(f"voice {self.name} cannot speak given phoneme durations: "
                                       f"{self._timed}")
            return self._timed


#: The timed copy given the model's own durations must match the model's audio this closely
#: (RMS of the difference over the audio's RMS): the same graph but for one node, it matches
#: exactly on the CPU; a GPU's kernel choices may differ a little, another Ceil entirely.
TIMED_TOLERANCE = 0.01


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if len(x) else 0.0


@dataclass(frozen=True)
class Inference:
    """One model pass: raw audio, and per phoneme id the samples it lasts (None: unknown).
    The samples add up to the audio's length (VITS upsamples each frame by ``hop_length``)."""

    audio: np.ndarray
    samples_per_id: np.ndarray | None = None


def text_phonemes(text: str, config: VoiceConfig) -> list[list[str]]:
    """Phonemes per sentence, by the voice's phoneme type."""
    if config.phoneme_type == "text":
        import unicodedata

        return [list(unicodedata.normalize("NFD", text))]
    return phonemize(text, config.espeak_voice)


def config_ids(phonemes: list[str], config: VoiceConfig) -> tuple[list[int], set[str]]:
    """Ids for one sentence in this voice's map, and the phonemes it lacks."""
    return phoneme_ids(phonemes, config.phoneme_id_map)


def _ids_for(text: str, config: VoiceConfig) -> list[int]:
    return config_ids(text_phonemes(text, config)[0], config)[0]


def _feeds(
    session: ort.InferenceSession, ids: Sequence[int], scales, sid: int | None
) -> dict[str, np.ndarray]:
    feeds = {
        "input": np.asarray([ids], dtype=np.int64),
        "input_lengths": np.asarray([len(ids)], dtype=np.int64),
        "scales": np.asarray(scales, dtype=np.float32),
    }
    if sid is not None:
        feeds["sid"] = np.asarray([sid], dtype=np.int64)
    return feeds


def _check_contract(session: ort.InferenceSession, model_path: Path) -> None:
    names = [i.name for i in session.get_inputs()]
    missing = [n for n in REQUIRED_INPUTS if n not in names]
    if missing:
        raise VoiceLoadError(
            f"{model_path} is not a Piper voice: inputs are {names}, "
            f"expected {list(REQUIRED_INPUTS)} (+ optional 'sid')"
        )


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__
