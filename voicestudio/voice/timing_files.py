"""Word timings written out: a JSON record, SRT and WebVTT subtitles.

JSON holds every word and phoneme (for lip-sync and karaoke tools); subtitles hold one cue
per sentence, and WebVTT also marks each word's start inside its cue with a cue timestamp
(``<00:00:01.250>``), which players use for word-by-word highlighting. The ``srt`` and
``webvtt-py`` libraries format the times.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from datetime import timedelta
from enum import Enum
from itertools import groupby
from pathlib import Path

from voicestudio.errors import OutputPathError
from voicestudio.project.store import atomic_write_bytes
from voicestudio.voice.timings import Timeline, WordTime

TIMINGS_FORMAT = "voicestudio-timings"
TIMINGS_VERSION = 1
#: Times are written to the millisecond (a frame of the voice model is about 12 ms).
_DIGITS = 3


class SubtitleFormat(Enum):
    SRT = ".srt"
    VTT = ".vtt"

    @classmethod
    def for_path(cls, path: Path) -> SubtitleFormat:
        for fmt in cls:
            if path.suffix.lower() == fmt.value:
                return fmt
        raise OutputPathError(f"{path}: subtitles are written as .srt or .vtt; name the file so")


@dataclass(frozen=True)
class Cue:
    start: float
    end: float
    words: tuple[WordTime, ...]

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)


def sentence_cues(timeline: Timeline) -> list[Cue]:
    """One cue per sentence, from its first word's start to its last word's end."""
    cues = []
    for _, group in groupby(timeline.words, key=lambda w: w.sentence):
        words = tuple(group)
        cues.append(Cue(words[0].start, max(w.end for w in words), words))
    return cues


def timings_json(timeline: Timeline) -> dict:
    """The JSON record of a timeline (seconds, rounded to the millisecond)."""
    def t(x: float) -> float:
        return round(x, _DIGITS)

    return {
        "format": TIMINGS_FORMAT,
        "version": TIMINGS_VERSION,
        "duration": t(timeline.duration),
        "words": [
            {"text": w.text, "start": t(w.start), "end": t(w.end), "sentence": w.sentence,
             "phonemes": [{"symbol": p.symbol, "start": t(p.start), "end": t(p.end)}
                          for p in w.phonemes]}
            for w in timeline.words
        ],
    }


def srt_text(timeline: Timeline) -> str:
    import srt

    def at(seconds: float) -> timedelta:  # rounded as the VTT and JSON times are (srt cuts)
        return timedelta(milliseconds=round(seconds * 1000))

    return srt.compose([srt.Subtitle(i, at(c.start), at(c.end), c.text)
                        for i, c in enumerate(sentence_cues(timeline), start=1)])


def vtt_text(timeline: Timeline) -> str:
    from webvtt import Caption, WebVTT

    vtt = WebVTT()
    for cue in sentence_cues(timeline):
        # cue text is markup in WebVTT: "AT&T" or "x<y" must be escaped (webvtt-py writes raw)
        parts = [html.escape(cue.words[0].text, quote=False)]
        parts += [f"<{_vtt_time(w.start)}>{html.escape(w.text, quote=False)}"
                  for w in cue.words[1:]]
        vtt.captions.append(Caption(_vtt_time(cue.start), _vtt_time(cue.end), " ".join(parts)))
    return vtt.content


def _vtt_time(seconds: float) -> str:
    ms = int(round(seconds * 1000))
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}.{ms:03d}"


def write_timings(path: Path, timeline: Timeline) -> None:
    _write(path, json.dumps(timings_json(timeline), ensure_ascii=False, indent=1) + "\n")


def write_subtitles(path: Path, timeline: Timeline) -> None:
    fmt = SubtitleFormat.for_path(path)
    _write(path, srt_text(timeline) if fmt is SubtitleFormat.SRT else vtt_text(timeline))


def _write(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))  # a failure names the file and the reason
