"""Reading a small text file a user names (texts to evaluate, a lexicon to import): bounded in
size, UTF-8 with or without a byte-order mark, and every failure a message that names it."""

from __future__ import annotations

from pathlib import Path

from voicestudio.errors import VoiceStudioError


def read_text_file(path: Path, max_bytes: int, what: str,
                   error: type[VoiceStudioError] = VoiceStudioError) -> str:
    """The text of ``path`` (``what`` it is, for messages); ``error`` when it is missing,
    larger than ``max_bytes`` or not UTF-8."""
    if not path.is_file():
        raise error(f"{what} not found: {path}")
    if path.stat().st_size > max_bytes:
        raise error(f"{what} {path} is larger than {max_bytes >> 20} MB")
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise error(f"{path} is not UTF-8 text (byte {exc.start} is invalid); save it as "
                    "UTF-8") from exc
