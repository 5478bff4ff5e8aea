"""The scores shown beside a render in the app: how close it sounds to the speaker's takes
(SECS) and how natural it sounds (DNSMOS). Each may be missing on its own (no takes, a
model that cannot be built): one failing never hides the other."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from voicestudio.audio.io import Audio
from voicestudio.errors import VoiceStudioError
from voicestudio.evaluate.dnsmos import QualityScore, dnsmos
from voicestudio.evaluate.speaker_model import EncoderBuildCancelled

#: DNSMOS costs about half a second of CPU per second of audio beyond its first 9 s
#: window; the app's score line looks at the start of a long render only.
QUALITY_MAX_S = 20.0


@dataclass(frozen=True)
class RenderScore:
    similarity: float | None  # None: no takes to compare with, or ``similarity_error``
    quality: QualityScore | None  # None: ``quality_error``
    similarity_error: str | None = None
    quality_error: str | None = None


def score_render(
    audio: Audio,
    take_paths: Sequence[str | Path],
    cancelled: Callable[[], bool] | None = None,
) -> RenderScore:
    """Similarity to ``take_paths`` (when there are any) and DNSMOS quality of ``audio``.
    Blocking (seconds the first time): call it off the GUI thread."""
    from voicestudio.evaluate.secs import similarity_to_takes

    similarity = similarity_error = quality = quality_error = None
    if take_paths:
        try:
            similarity = similarity_to_takes(audio, take_paths, cancelled=cancelled)
        except EncoderBuildCancelled:
            raise
        except VoiceStudioError as exc:
            similarity_error = str(exc)
    if cancelled is None or not cancelled():
        start = audio.samples[: int(QUALITY_MAX_S * audio.sample_rate)]
        try:
            quality = dnsmos(start, audio.sample_rate)
        except VoiceStudioError as exc:
            quality_error = str(exc)
    return RenderScore(similarity, quality, similarity_error, quality_error)
