"""The user's styling controls, their valid ranges, and the emotion presets they combine with.

Ranges live here once; the CLI, the GUI sliders and the error messages read them.
Emotion presets are data (``resources/emotions.json``), not code.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, fields, replace
from functools import lru_cache
from pathlib import Path

from voicestudio.errors import ControlRangeError, VoiceStudioError
from voicestudio.paths import resources_dir


@dataclass(frozen=True)
class ControlSpec:
    name: str
    low: float
    high: float
    default: float
    unit: str
    label: str


CONTROL_SPECS: dict[str, ControlSpec] = {
    s.name: s
    for s in (
        ControlSpec("pitch", -12.0, 12.0, 0.0, "semitones", "Pitch"),
        ControlSpec("pitch_range", 0.25, 2.0, 1.0, "×", "Pitch range"),
        ControlSpec("speed", 0.5, 2.0, 1.0, "×", "Speed"),
        ControlSpec("energy", -12.0, 12.0, 0.0, "dB", "Energy"),
        ControlSpec("breathiness", 0.0, 1.0, 0.0, "", "Breathiness"),
        ControlSpec("variability", 0.0, 2.0, 1.0, "× the voice's noise scales", "Variability"),
        ControlSpec("intensity", 0.0, 100.0, 100.0, "%", "Emotion intensity"),
    )
}


@dataclass(frozen=True)
class StyleControls:
    """What the user asked for. ``variability`` scales the VITS noise scales (0 = the same
    rendering every time, 1 = the voice's defaults); everything else is applied by WORLD."""

    pitch: float = 0.0
    pitch_range: float = 1.0
    speed: float = 1.0
    energy: float = 0.0
    breathiness: float = 0.0
    variability: float = 1.0
    emotion: str = "neutral"
    intensity: float = 100.0

    def validated(self) -> StyleControls:
        """Return self, or raise :class:`ControlRangeError` naming the valid range."""
        for f in fields(self):
            spec = CONTROL_SPECS.get(f.name)
            if spec is None:
                continue
            value = getattr(self, f.name)
            unit = f" {spec.unit}" if spec.unit and not spec.unit.startswith("×") else ""
            valid = f"between {spec.low:g} and {spec.high:g}{unit}"
            name = f"{f.name} (--range)" if f.name == "pitch_range" else f.name
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not math.isfinite(value)
            ):
                raise ControlRangeError(f"{name} must be a number {valid} (got {value!r})")
            if not spec.low <= value <= spec.high:
                raise ControlRangeError(f"{name} must be {valid} (got {value:g})")
        presets = emotion_presets()
        if self.emotion not in presets:
            raise ControlRangeError(
                f"unknown emotion {self.emotion!r}; choose one of: {', '.join(presets)}"
            )
        return self

    def with_changes(self, **changes) -> StyleControls:
        return replace(self, **changes).validated()


@dataclass(frozen=True)
class EmotionPreset:
    name: str
    description: str
    pitch: float = 0.0
    pitch_range: float = 1.0
    speed: float = 1.0
    energy: float = 0.0
    tilt: float = 0.0
    breathiness: float = 0.0
    voicing: float = 1.0


@dataclass(frozen=True)
class StyleParams:
    """Effective numbers for one WORLD render: controls combined with the emotion preset."""

    pitch_st: float = 0.0
    pitch_range: float = 1.0
    speed: float = 1.0
    energy_db: float = 0.0
    tilt_db_per_octave: float = 0.0
    breathiness: float = 0.0
    voicing: float = 1.0

    @property
    def needs_world(self) -> bool:
        """False when only a gain is asked for: no pass over the samples at all (neither
        WORLD nor overlap-add)."""
        return (
            abs(self.pitch_st) > 1e-6
            or abs(self.pitch_range - 1.0) > 1e-6
            or self.needs_vocoder
        )

    @property
    def needs_vocoder(self) -> bool:
        """Whether more than pitch and level change: a tempo, the spectrum's tilt or its
        noise, which only a vocoder (WORLD) can make; pitch alone can also be moved by
        overlap-add (``styling/overlap_add.py``)."""
        return (
            abs(self.speed - 1.0) > 1e-6
            or abs(self.tilt_db_per_octave) > 1e-6
            or self.breathiness > 1e-6
            or self.voicing < 1.0 - 1e-6
        )


def resolve(controls: StyleControls, calibration=None) -> StyleParams:
    """Combine the user's controls with the chosen emotion at its intensity.

    ``calibration`` (a :class:`~voicestudio.styling.calibration.ProsodyCalibration`)
    moves a cloned voice to its speaker's pitch and range first, so the controls act
    relative to the speaker's own voice.

    Additive fields (pitch, energy, tilt, breathiness) scale linearly with intensity,
    multiplicative ones (range, speed) geometrically, so 50 % is half-way on the
    scale a listener hears.
    """
    preset = emotion_presets()[controls.emotion]
    k = controls.intensity / 100.0
    base_shift = calibration.pitch_shift_st if calibration is not None else 0.0
    base_range = calibration.range_scale if calibration is not None else 1.0
    return StyleParams(
        pitch_st=base_shift + controls.pitch + k * preset.pitch,
        pitch_range=base_range * controls.pitch_range * preset.pitch_range**k,
        speed=controls.speed * preset.speed**k,
        energy_db=controls.energy + k * preset.energy,
        tilt_db_per_octave=k * preset.tilt,
        breathiness=min(1.0, controls.breathiness + k * preset.breathiness),
        voicing=1.0 - k * (1.0 - preset.voicing),
    )


def emotions_file() -> Path:
    return resources_dir() / "emotions.json"


@lru_cache(maxsize=4)
def _load_presets(path: Path) -> dict[str, EmotionPreset]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        presets = {}
        for name, values in data["presets"].items():
            preset = EmotionPreset(name=name, **values)
            _check_preset(preset)
            presets[name] = preset
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise VoiceStudioError(f"emotion presets in {path} are broken: {exc}") from exc
    if "neutral" not in presets:
        raise VoiceStudioError(f"emotion presets in {path} lack 'neutral'")
    return presets


def _check_preset(p: EmotionPreset) -> None:
    limits = {"pitch": (-12, 12), "pitch_range": (0.25, 2), "speed": (0.5, 2), "energy": (-12, 12),
              "tilt": (-6, 6), "breathiness": (0, 1), "voicing": (0, 1)}
    for name, (low, high) in limits.items():
        value = getattr(p, name)
        if not low <= value <= high:
            raise ValueError(f"preset {p.name!r}: {name}={value} outside {low}..{high}")


def emotion_presets() -> dict[str, EmotionPreset]:
    """Name → preset, in file order (neutral first)."""
    return _load_presets(emotions_file())
