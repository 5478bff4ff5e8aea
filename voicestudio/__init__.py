"""VoiceStudio: an offline voice-cloning studio (record, fine-tune, style, export)."""

__version__ = "0.1.0"
