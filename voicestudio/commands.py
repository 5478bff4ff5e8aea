"""Commands printed for people to copy into a shell.

Every word is shell-quoted, so a project folder with a space in its name pastes as one
argument. Messages that suggest a command build it here, never by hand.
"""

from __future__ import annotations

import shlex
from pathlib import Path


def command(*words: str | Path | int) -> str:
    """``voicestudio WORDS…`` as a line that pastes into a POSIX shell unchanged."""
    return " ".join(shlex.quote(str(word)) for word in ("voicestudio", *words))
