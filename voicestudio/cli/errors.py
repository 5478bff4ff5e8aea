"""Errors in the terminal's words: what went wrong and, where the user can fix it, the
command that does (the GUI words the same errors with its own buttons)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from voicestudio.commands import command

if TYPE_CHECKING:
    from voicestudio.safety.consent import ConsentRemedy


def describe(exc: Exception) -> str:
    """The message to print for a user-facing error."""
    remedy = getattr(exc, "remedy", None)  # a consent refusal that recording the statement fixes
    reason = getattr(exc, "reason", str(exc))
    return f"{reason}; {remedy_line(remedy)}" if remedy is not None else str(exc)


def remedy_line(remedy: ConsentRemedy) -> str:
    """How to record or add the consent statement, as commands to type."""
    advice = f", {remedy.advice}" if remedy.advice else ""
    add = f"`{command('project', 'consent', remedy.folder, '--file', 'STATEMENT.wav')}`"
    if remedy.index is None:
        return f"add it from a recording of the speaker reading “{remedy.statement}”{advice}: {add}"
    again = " again" if remedy.again else ""
    record = command("record", "--project", remedy.folder, "--prompt", remedy.index + 1)
    return (f"record the consent statement{again}{advice} (prompt {remedy.index + 1} in the "
            f"Record panel, or `{record}`), or add a recording of it with {add}")
