"""Speaker-model output → styled audio at a fixed speech level.

Level is set here, not in the model: each sentence's active-speech RMS is brought
to ``TARGET_LEVEL_DBFS`` before analysis and to ``TARGET_LEVEL_DBFS + energy``
after resynthesis, with a look-ahead limiter holding peaks below full scale. So
energy is met in dB whatever tilt or breathiness did to the level, and sentences
come out evenly loud (Piper peak-normalizes instead).
"""

from __future__ import annotations

import numpy as np

from voicestudio.audio.levels import set_speech_level
from voicestudio.styling.controls import StyleParams
from voicestudio.styling.world import FrameEdits, WorldAnalysis, analyze, render

#: Active-speech RMS of neutral output: near broadcast level (EBU R128 is -23 LUFS), leaving
#: the headroom that +12 dB of energy needs with only light peak limiting.
TARGET_LEVEL_DBFS = -24.0


def set_level(
    samples: np.ndarray, sample_rate: int, level_dbfs: float = TARGET_LEVEL_DBFS
) -> np.ndarray:
    """Active-speech RMS to ``level_dbfs``, peaks limited (silence stays silence)."""
    return set_speech_level(samples, sample_rate, level_dbfs)


def style_audio(
    samples: np.ndarray,
    sample_rate: int,
    params: StyleParams,
    analysis: WorldAnalysis | None = None,
    f0_method: str = "rapt",
    edits: FrameEdits | None = None,
) -> np.ndarray:
    """Apply ``params`` (and a markup span's per-frame ``edits``) to level-normalized model
    output; analysis is computed if not given."""
    if (params.needs_world or edits is not None) and np.any(samples):
        if analysis is None:
            analysis = analyze(samples, sample_rate, method=f0_method)
        samples = render(analysis, params, edits)
    return set_level(samples, sample_rate, TARGET_LEVEL_DBFS + params.energy_db)
