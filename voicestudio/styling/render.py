"""Speaker-model output → styled audio at a fixed speech level.

Level is set here, not in the model: each sentence's active-speech RMS is brought
to ``TARGET_LEVEL_DBFS`` before analysis and again after resynthesis, then
``energy`` is added. So energy is exact in dB whatever tilt or breathiness did to
the level, and sentences come out evenly loud (Piper peak-normalizes instead).
"""

from __future__ import annotations

import numpy as np

from voicestudio.audio.levels import active_rms_dbfs, soft_limit
from voicestudio.styling.controls import StyleParams
from voicestudio.styling.world import WorldAnalysis, analyze, render

TARGET_LEVEL_DBFS = -20.0


def set_level(samples: np.ndarray, sample_rate: int, level_dbfs: float = TARGET_LEVEL_DBFS) -> np.ndarray:
    """Scale so the active-speech RMS is ``level_dbfs`` (silence stays silence)."""
    samples = np.asarray(samples, dtype=np.float32)
    if samples.size == 0 or not np.any(samples):
        return samples
    gain_db = level_dbfs - active_rms_dbfs(samples, sample_rate)
    return (samples * np.float32(10.0 ** (gain_db / 20.0))).astype(np.float32)


def style_audio(
    samples: np.ndarray,
    sample_rate: int,
    params: StyleParams,
    analysis: WorldAnalysis | None = None,
    f0_method: str = "harvest",
) -> np.ndarray:
    """Apply ``params`` to level-normalized model output; analysis is computed if not given."""
    if params.needs_world and np.any(samples):
        if analysis is None:
            analysis = analyze(samples, sample_rate, method=f0_method)
        samples = render(analysis, params)
    return soft_limit(set_level(samples, sample_rate, TARGET_LEVEL_DBFS + params.energy_db))
