"""Errors a user can cause, each with a message a person can act on.

The CLI prints ``str(error)`` and exits non-zero; the GUI shows it inline. Anything
that is not a ``VoiceStudioError`` is a bug in VoiceStudio, not bad input.
"""


class VoiceStudioError(Exception):
    """Base class for user-facing errors."""


class InputTextError(VoiceStudioError):
    """The text to speak is empty or unusable."""


class ControlRangeError(VoiceStudioError, ValueError):
    """A styling control is outside its valid range."""


class VoiceLoadError(VoiceStudioError):
    """A voice file is missing, corrupt or not Piper-compatible."""


class AudioFileError(VoiceStudioError):
    """An audio file cannot be read or written."""


class OutputPathError(AudioFileError):
    """The output location cannot be written."""
