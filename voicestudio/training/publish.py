"""Trained checkpoint → a calibrated Piper voice registered in its project.

Check the speaker's consent against the data the voice was trained on (the statement may
have been recorded again since; the sidecar records its hash), export, then measure: the
speaker's prosody from the training takes, the new voice's from its own output on the
same texts (on onnxruntime, exactly as users will hear it), and store the calibration in
the sidecar before the voice is registered.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from voicestudio.constants import MODEL_RATE
from voicestudio.evaluate.prosody import prosody_stats
from voicestudio.project.project import TrainedVoice, VoiceProject, now_iso
from voicestudio.project.store import atomic_write_bytes
from voicestudio.safety import consent as consent_gate
from voicestudio.styling.calibration import SIDECAR_KEY, ProsodyCalibration, calibrate
from voicestudio.training.dataset import ExclusionReason, TrainingData
from voicestudio.training.events import Event, Publishing, PublishStep
from voicestudio.training.export import export_voice
from voicestudio.training.finetune import TrainConfig, TrainResult, load_trained

#: Enough sentences for stable F0 percentiles (thousands of voiced frames) in a few seconds.
CALIBRATION_TAKES = 24


@dataclass(frozen=True)
class PublishedVoice:
    path: Path
    calibration: ProsodyCalibration
    entry: TrainedVoice


def voice_name(project: VoiceProject, when: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9]+", "-", project.name).strip("-").lower() or "voice"
    stamp = re.sub(r"[^0-9]", "", when)[:14]
    return f"{slug}-{stamp}"


def measure_calibration(onnx_path: Path, data: TrainingData) -> ProsodyCalibration:
    from voicestudio.voice.evaluation import spread
    from voicestudio.voice.model import VoiceModel

    everything = data.train + data.held_out
    # A speaker's pitch drifts over a session (pmatthes reads at 112 Hz in his first takes
    # and 101 Hz in his last): the speaker side pools every take, the voice side speaks
    # takes spread evenly over the session.
    speaker = prosody_stats([(u.audio, MODEL_RATE, u.text) for u in everything])
    takes = spread(everything, CALIBRATION_TAKES)
    voice = VoiceModel.load(onnx_path, Path(str(onnx_path) + ".json"), provider="cpu", threads=None)
    clips = []
    for u in takes:
        audio = voice.infer(u.ids, length_scale=1.0)
        clips.append((audio, voice.sample_rate, u.text))
    return calibrate(speaker, prosody_stats(clips))


def publish(
    project: VoiceProject,
    result: TrainResult,
    config: TrainConfig,
    on_event: Callable[[Event], None] | None = None,
) -> PublishedVoice:
    """Check consent, export, calibrate and register the voice; each step begins with a
    :class:`~voicestudio.training.events.Publishing` event."""
    emit = on_event or (lambda event: None)
    emit(Publishing(PublishStep.CONSENT))
    from voicestudio.evaluate.secs import default_encoder

    consent = consent_gate.verify_trained_data(
        project, result.data.train + result.data.held_out,
        result.data.left_out(ExclusionReason.FOREIGN_SPEAKER), default_encoder())
    model, state = load_trained(result.best_path)
    created = now_iso()
    name = voice_name(project, created)
    folder = project.models_dir / "voices" / name
    suffix = 1
    while folder.exists():  # never replace a voice that is already registered
        suffix += 1
        folder = project.models_dir / "voices" / f"{name}-{suffix}"
    name = folder.name
    emit(Publishing(PublishStep.EXPORT))
    fields = {
        "provenance": {
            "project": project.name,
            "speaker": project.speaker,
            "training_data_sha256": result.data.fingerprint(),
            "takes": len(result.data.train),
            "training_seconds_of_speech": round(result.data.seconds, 1),
            "steps": int(result.steps),
            "best_step": int(result.best_step),
            "similarity": result.similarity,
        },
        "styling_defaults": {"emotion": "neutral", "pitch": 0.0, "speed": 1.0},
        consent_gate.SIDECAR_KEY: consent.to_dict(),
    }
    onnx_path = export_voice(model, folder, name, fields)
    emit(Publishing(PublishStep.CALIBRATION))
    calibration = measure_calibration(onnx_path, result.data)
    sidecar_path = Path(str(onnx_path) + ".json")
    sidecar = json.loads(sidecar_path.read_text(encoding="utf-8"))
    sidecar["voicestudio"][SIDECAR_KEY] = calibration.to_dict()
    sidecar["inference"]["length_scale"] = round(calibration.length_scale, 4)
    text = json.dumps(sidecar, indent=2, ensure_ascii=False)
    atomic_write_bytes(sidecar_path, text.encode("utf-8"))
    relative = PurePosixPath(onnx_path.relative_to(project.folder).as_posix())
    minutes = (config.minutes if config.steps is None else 0.0) or 0.0
    entry = TrainedVoice(name, str(relative), created, result.similarity, int(result.steps),
                         float(minutes))
    project.add_voice(entry)
    return PublishedVoice(onnx_path, calibration, entry)
