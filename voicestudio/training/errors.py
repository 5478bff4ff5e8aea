"""The error of a training that cannot start or go on, shared by the trainer's modules."""

from __future__ import annotations

from voicestudio.errors import VoiceStudioError


class TrainingError(VoiceStudioError):
    """Training cannot start or continue; the message says why."""
