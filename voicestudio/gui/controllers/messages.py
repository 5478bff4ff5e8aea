"""The levels of a panel's inline message, as controllers decide them (no Qt here).

One definition for every controller; the widget's own list is
``voicestudio.gui.widgets.inline_message.LEVELS``, whose strings these values are.
"""

from __future__ import annotations

from enum import StrEnum


class Level(StrEnum):
    """How a message is shown: a note, a success, a warning, an error."""

    INFO = "info"
    OK = "ok"
    WARNING = "warning"
    ERROR = "error"
