"""Prosody calibration: a cloned voice speaks at its speaker's pitch, range and pace.

Fine-tuning changes timbre but leaves joe's duration predictor and much of his
intonation in place (the feasibility clone spoke at 87 Hz for a 105 Hz speaker, with a
narrower range). So the speaker's F0 statistics and speaking rate are measured from
the takes, the clone's from its own output, and the difference is stored in the
voice's sidecar: a pitch shift and range factor the styling pass applies by default,
and a length scale for the model. The user's sliders then act relative to the
speaker's own voice.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from voicestudio.evaluate.prosody import ProsodyStats

#: Corrections beyond these are measurement trouble (octave errors, silent takes), not a voice.
#: A female speaker cloned from the male base voice legitimately needs about +16 st
#: (ljspeech 215 Hz against joe's 87 Hz), so the pitch limit is an octave and a half.
MAX_SHIFT_ST = 18.0
RANGE_LIMITS = (0.5, 2.0)
LENGTH_LIMITS = (0.7, 1.4)
SIDECAR_KEY = "prosody"


@dataclass(frozen=True)
class ProsodyCalibration:
    pitch_shift_st: float = 0.0
    range_scale: float = 1.0
    length_scale: float = 1.0
    speaker: ProsodyStats | None = None
    voice: ProsodyStats | None = None

    @property
    def is_identity(self) -> bool:
        return abs(self.pitch_shift_st) < 1e-6 and abs(self.range_scale - 1) < 1e-6

    def to_dict(self) -> dict[str, Any]:
        return {
            "pitch_shift_st": round(self.pitch_shift_st, 4),
            "range_scale": round(self.range_scale, 4),
            "length_scale": round(self.length_scale, 4),
            "speaker": self.speaker.to_dict() if self.speaker else None,
            "voice": self.voice.to_dict() if self.voice else None,
        }

    @classmethod
    def from_sidecar(cls, extra: dict[str, Any] | None) -> ProsodyCalibration:
        """The calibration in a voice's ``"voicestudio"`` fields; none (identity) when absent
        or malformed (a hand-edited sidecar must not stop a voice from speaking)."""
        data = (extra or {}).get(SIDECAR_KEY)
        if not isinstance(data, dict):
            return cls()
        try:
            shift = float(data.get("pitch_shift_st", 0.0))
            scale = float(data.get("range_scale", 1.0))
            length = float(data.get("length_scale", 1.0))
        except (TypeError, ValueError):
            return cls()
        if not all(math.isfinite(v) for v in (shift, scale, length)):
            return cls()
        return cls(
            _clamp(shift, -MAX_SHIFT_ST, MAX_SHIFT_ST),
            _clamp(scale, *RANGE_LIMITS),
            _clamp(length, *LENGTH_LIMITS),
            _stats(data.get("speaker")),
            _stats(data.get("voice")),
        )


def calibrate(speaker: ProsodyStats, voice: ProsodyStats) -> ProsodyCalibration:
    """What takes ``voice`` (measured at length scale 1, no styling) to ``speaker``."""
    shift, scale, length = 0.0, 1.0, 1.0
    if speaker.f0_median_hz and voice.f0_median_hz:
        shift = _clamp(
            12.0 * math.log2(speaker.f0_median_hz / voice.f0_median_hz), -MAX_SHIFT_ST, MAX_SHIFT_ST
        )
    if speaker.f0_range_st and voice.f0_range_st:
        scale = _clamp(speaker.f0_range_st / voice.f0_range_st, *RANGE_LIMITS)
    if speaker.speaking_rate_pps and voice.speaking_rate_pps:
        length = _clamp(voice.speaking_rate_pps / speaker.speaking_rate_pps, *LENGTH_LIMITS)
    return ProsodyCalibration(shift, scale, length, speaker, voice)


def _clamp(value: float, low: float, high: float) -> float:
    return min(high, max(low, value))


def _stats(data: Any) -> ProsodyStats | None:
    if not isinstance(data, dict):
        return None
    try:
        return ProsodyStats.from_dict(data)
    except (TypeError, ValueError, KeyError):
        return None
