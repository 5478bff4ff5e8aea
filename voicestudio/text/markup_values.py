"""What the values of speech markup mean: span styles, break lengths, and the attribute
values of ``<break>``, ``<emphasis>``, ``<prosody>``, ``<phoneme>`` and ``<sub>`` read into
numbers. The tables here are the markup reference's (README, "Speech markup"); the parser
(``text/markup.py``) places the errors."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace

from voicestudio.text.lexicon import MAX_VALUE_CHARS

#: The attributes ``<prosody>`` takes.
PROSODY_ATTRIBUTES = frozenset({"rate", "pitch", "volume"})

#: Longest single break (seconds): longer silences belong in the timeline, not in the text.
MAX_BREAK_SECONDS = 10.0
#: Longest ``ph`` of a ``<phoneme>``: the same bound as a lexicon entry's phonemes.
MAX_PHONEME_CHARS = MAX_VALUE_CHARS

#: Speaking-rate multipliers a span may ask for: the range of the Speed styling control
#: (styling/controls.py, a layer above, so the numbers are repeated rather than imported).
RATE_MIN, RATE_MAX = 0.5, 2.0
#: Pitch shift a span may ask for (semitones either way): the range of the Pitch control.
PITCH_ST_LIMIT = 12.0
#: Volume change a span may ask for (dB): far below is still audible as a whisper; +12 dB
#: already nears clipping on a levelled voice.
VOLUME_DB_MIN, VOLUME_DB_MAX = -30.0, 12.0


class ValueRefused(Exception):
    """An attribute value or content the element cannot take; becomes a MarkupError at the
    element's position."""


def _clamp(value: float, low: float, high: float) -> float:
    return min(max(value, low), high)


@dataclass(frozen=True)
class SpanStyle:
    """What prosody and emphasis ask of a span; neutral by default."""

    rate: float = 1.0  # speaking-rate multiplier: 2.0 = twice as fast, 0.5 = half
    pitch_st: float = 0.0  # semitones added to the span's F0
    volume_db: float = 0.0

    @property
    def neutral(self) -> bool:
        return self.rate == 1.0 and self.pitch_st == 0.0 and self.volume_db == 0.0

    def combined(self, inner: SpanStyle) -> SpanStyle:
        """``inner`` nested in this span: rates multiply, semitones and decibels add, each
        clamped to its limits (so deep nesting cannot run away)."""
        return SpanStyle(
            rate=_clamp(self.rate * inner.rate, RATE_MIN, RATE_MAX),
            pitch_st=_clamp(self.pitch_st + inner.pitch_st, -PITCH_ST_LIMIT, PITCH_ST_LIMIT),
            volume_db=_clamp(self.volume_db + inner.volume_db, VOLUME_DB_MIN, VOLUME_DB_MAX),
        )


NEUTRAL = SpanStyle()


#: ``<break strength>`` in seconds; no attribute at all means "medium".
BREAK_STRENGTH_SECONDS: dict[str, float] = {
    "none": 0.0, "x-weak": 0.1, "weak": 0.2, "medium": 0.4, "strong": 0.7, "x-strong": 1.0,
}
DEFAULT_BREAK_STRENGTH = "medium"

#: ``<emphasis level>``: emphasis raises F0 and energy and slows a little, as people do;
#: "reduced" does the opposite.
EMPHASIS_STYLES: dict[str, SpanStyle] = {
    "strong": SpanStyle(rate=0.85, pitch_st=3.0, volume_db=4.0),
    "moderate": SpanStyle(rate=0.92, pitch_st=2.0, volume_db=2.5),
    "none": NEUTRAL,
    "reduced": SpanStyle(rate=1.1, pitch_st=-1.5, volume_db=-3.0),
}
DEFAULT_EMPHASIS_LEVEL = "moderate"

#: ``<prosody>`` labels: rate multipliers, pitch in semitones, volume in dB.
RATE_LABELS: dict[str, float] = {
    "x-slow": 0.6, "slow": 0.8, "medium": 1.0, "fast": 1.25, "x-fast": 1.5, "default": 1.0,
}
PITCH_LABELS_ST: dict[str, float] = {
    "x-low": -6.0, "low": -3.0, "medium": 0.0, "high": 3.0, "x-high": 6.0, "default": 0.0,
}
VOLUME_LABELS_DB: dict[str, float] = {
    "x-soft": -12.0, "soft": -6.0, "medium": 0.0, "loud": 4.0, "x-loud": 8.0, "default": 0.0,
}

#: Only IPA: the voice's phoneme map is espeak IPA, one symbol per character.
PHONEME_ALPHABET = "ipa"

_NUMBER = r"(\d+(?:\.\d*)?|\.\d+)"
_BREAK_TIME = re.compile(rf"{_NUMBER}\s*(ms|s)")
_SIGNED_PERCENT = re.compile(rf"([+-]){_NUMBER}\s*%")
_PERCENT = re.compile(rf"{_NUMBER}\s*%")
_MULTIPLIER = re.compile(_NUMBER)
_SEMITONES = re.compile(rf"([+-]?){_NUMBER}\s*st")
_HERTZ = re.compile(rf"[+-]?{_NUMBER}\s*hz")
_DECIBELS = re.compile(rf"([+-]?){_NUMBER}\s*db")
_MS_PER_S = 1000.0
_SEMITONES_PER_OCTAVE = 12.0
_PERCENT_SCALE = 100.0

def phonemes_value(attributes: dict[str, str]) -> str:
    alphabet = attributes.get("alphabet", PHONEME_ALPHABET).strip().lower()
    if alphabet != PHONEME_ALPHABET:
        raise ValueRefused(f"alphabet={attributes['alphabet']!r} is not supported: write the "
                       f"phonemes in IPA (alphabet={PHONEME_ALPHABET!r})")
    phonemes = " ".join(attributes.get("ph", "").split())
    if not phonemes:
        raise ValueRefused("<phoneme> needs ph, the phonemes to speak")
    if len(phonemes) > MAX_PHONEME_CHARS:
        raise ValueRefused(f"ph is longer than {MAX_PHONEME_CHARS} characters")
    return phonemes


def alias_value(attributes: dict[str, str]) -> str:
    alias = " ".join(attributes.get("alias", "").split())
    if not alias:
        raise ValueRefused("<sub> needs alias, the text to speak")
    return alias


def break_seconds(attributes: dict[str, str]) -> float:
    strength = attributes.get("strength", DEFAULT_BREAK_STRENGTH).strip().lower()
    if strength not in BREAK_STRENGTH_SECONDS:
        raise ValueRefused(f"strength={attributes['strength']!r} is not a break strength; use one "
                       f"of: {', '.join(BREAK_STRENGTH_SECONDS)}")
    if "time" not in attributes:
        return BREAK_STRENGTH_SECONDS[strength]
    raw = attributes["time"]
    value = raw.strip().lower()
    if value.startswith("-"):
        raise ValueRefused(f"time={raw!r}: a break cannot be negative")
    match = _BREAK_TIME.fullmatch(value)
    if match is None:
        raise ValueRefused(f"time={raw!r} is not a duration: write it as 500ms or 1.5s")
    seconds = float(match.group(1)) / (_MS_PER_S if match.group(2) == "ms" else 1.0)
    if seconds > MAX_BREAK_SECONDS:
        raise ValueRefused(f"time={raw!r} is longer than the longest break, "
                       f"{MAX_BREAK_SECONDS:g} s")
    return seconds


def emphasis_style(attributes: dict[str, str]) -> SpanStyle:
    level = attributes.get("level", DEFAULT_EMPHASIS_LEVEL).strip().lower()
    if level not in EMPHASIS_STYLES:
        raise ValueRefused(f"level={attributes['level']!r} is not an emphasis level; use one of: "
                       f"{', '.join(EMPHASIS_STYLES)}")
    return EMPHASIS_STYLES[level]


def prosody_style(attributes: dict[str, str]) -> SpanStyle:
    if not attributes:
        takes = ", ".join(sorted(PROSODY_ATTRIBUTES))
        raise ValueRefused(f"<prosody> needs at least one of: {takes}")
    style = NEUTRAL
    if "rate" in attributes:
        style = replace(style, rate=_rate(attributes["rate"]))
    if "pitch" in attributes:
        style = replace(style, pitch_st=_pitch_st(attributes["pitch"]))
    if "volume" in attributes:
        style = replace(style, volume_db=_volume_db(attributes["volume"]))
    return style


def _rate(raw: str) -> float:
    value = raw.strip().lower()
    if value in RATE_LABELS:
        return RATE_LABELS[value]
    if (match := _SIGNED_PERCENT.fullmatch(value)) is not None:
        rate = 1.0 + _signed(match) / _PERCENT_SCALE
    elif (match := _PERCENT.fullmatch(value)) is not None:
        rate = float(match.group(1)) / _PERCENT_SCALE
    elif _MULTIPLIER.fullmatch(value) is not None:
        rate = float(value)
    else:
        raise ValueRefused(f"rate={raw!r} is not a rate: use {', '.join(RATE_LABELS)}, a "
                       "percentage of normal (80%), a change (+20%, -10%) or a multiplier (1.2)")
    if not RATE_MIN <= rate <= RATE_MAX:
        raise ValueRefused(f"rate={raw!r} asks for {rate:g}× normal speed; the rate must be "
                       f"{RATE_MIN:g}× to {RATE_MAX:g}×")
    return rate


def _pitch_st(raw: str) -> float:
    value = raw.strip().lower()
    if value in PITCH_LABELS_ST:
        return PITCH_LABELS_ST[value]
    if _HERTZ.fullmatch(value) is not None:
        raise ValueRefused(f"pitch={raw!r}: pitch in Hz is not supported (each voice has its own "
                       "pitch); use semitones (+2st) or a percentage (+10%)")
    if (match := _SEMITONES.fullmatch(value)) is not None:
        semitones = _signed(match)
    elif (match := _SIGNED_PERCENT.fullmatch(value)) is not None:
        factor = 1.0 + _signed(match) / _PERCENT_SCALE
        semitones = _SEMITONES_PER_OCTAVE * math.log2(factor) if factor > 0 else -math.inf
    else:
        raise ValueRefused(f"pitch={raw!r} is not a pitch: use {', '.join(PITCH_LABELS_ST)}, "
                       "semitones (+2st, -1.5st) or a percentage (+10%, -5%)")
    if not -PITCH_ST_LIMIT <= semitones <= PITCH_ST_LIMIT:
        raise ValueRefused(f"pitch={raw!r} is outside ±{PITCH_ST_LIMIT:g} semitones")
    return semitones


def _volume_db(raw: str) -> float:
    value = raw.strip().lower()
    if value in VOLUME_LABELS_DB:
        return VOLUME_LABELS_DB[value]
    if value == "silent":
        raise ValueRefused("volume='silent' is not supported: leave the words out, or use <break>")
    match = _DECIBELS.fullmatch(value)
    if match is None:
        raise ValueRefused(f"volume={raw!r} is not a volume: use {', '.join(VOLUME_LABELS_DB)} or "
                       "decibels (+6dB, -3dB)")
    decibels = _signed(match)
    if not VOLUME_DB_MIN <= decibels <= VOLUME_DB_MAX:
        raise ValueRefused(f"volume={raw!r} is outside {VOLUME_DB_MIN:g} dB to "
                       f"+{VOLUME_DB_MAX:g} dB")
    return decibels


def _signed(match: re.Match[str]) -> float:
    """The signed number of a ``(sign)(number)`` match."""
    magnitude = float(match.group(2))
    return -magnitude if match.group(1) == "-" else magnitude
