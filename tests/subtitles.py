"""SRT text for the dubbing tests, written from (start, end, text) cues."""

from __future__ import annotations


def srt_time(seconds: float) -> str:
    ms = int(round(seconds * 1000))
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    return f"{h:02d}:{m:02d}:{rest // 1000:02d},{rest % 1000:03d}"


def srt_text(cues: list[tuple[float, float, str]]) -> str:
    return "".join(
        f"{i}\n{srt_time(a)} --> {srt_time(b)}\n{text}\n\n"
        for i, (a, b, text) in enumerate(cues, start=1)
    )
