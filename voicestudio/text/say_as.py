"""``<say-as>`` expansions: numbers, dates, phone numbers and spellings as text espeak reads right.

Each expansion is checked against what espeak-ng actually says (tests/test_markup.py):

- Letters are joined by commas. Joined by spaces, espeak reads "A" as the article ("A B C"
  → "ɐ bˈiː sˈiː"); a comma after each letter makes it a name ("ˈeɪ, bˈiː, sˈiː") and gives
  the short pause a person leaves when spelling.
- Cardinals stay digits (espeak reads them in the voice's own language); group commas are
  dropped so a voice that reads "," as a decimal mark does not.
- Ordinals and dates are English words: espeak reads "3rd" right but "100th" as "one hundred
  θ", so the words are spelled here ("one hundredth"). Years read as people say them
  ("twenty twenty-six", "nineteen oh five", "two thousand five").
- Telephone digits are spoken one by one, groups separated by commas.
"""

from __future__ import annotations

import calendar
import re
from enum import Enum


class SayAsError(ValueError):
    """The content cannot be read the way ``interpret-as`` asks; the message says why."""


class InterpretAs(Enum):
    """The ``interpret-as`` values supported; the value is the attribute's spelling."""

    CHARACTERS = "characters"
    SPELL_OUT = "spell-out"
    CARDINAL = "cardinal"
    NUMBER = "number"
    ORDINAL = "ordinal"
    DATE = "date"
    TELEPHONE = "telephone"


#: Date formats: which fields the content holds, in order (y year, m month, d day).
DATE_FORMATS = ("ymd", "mdy", "dmy", "md", "dm", "ym", "my", "y", "m", "d")
#: Read "2026-12-06" unless ``format`` says otherwise (ISO 8601 order).
DEFAULT_DATE_FORMAT = "ymd"
#: Longest integer part a number may have (up to hundreds of trillions): beyond that nobody
#: means a quantity, and ``characters`` reads a digit string better.
MAX_NUMBER_DIGITS = 15
#: What separates spelled-out letters: see the module docstring for why a comma.
LETTER_SEPARATOR = ", "
#: What separates the digit groups of a phone number: a comma gives the pause people make.
PHONE_GROUP_SEPARATOR = ", "

_DATE_SEPARATORS = re.compile(r"[-/.]")
_MAX_YEAR_DIGITS = 4
_MAX_MONTH_DAY_DIGITS = 2
# "1234", "1,234,567", optionally signed (ASCII or Unicode minus) and with a decimal part.
_CARDINAL = re.compile(r"([+\-\u2212]?)(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?")
_ORDINAL = re.compile(r"(\d{1,3}(?:,\d{3})+|\d+)(st|nd|rd|th)?", re.IGNORECASE)
# Digits in groups separated by spaces, hyphens, dots, slashes or brackets; an optional "+".
_TELEPHONE = re.compile(r"\+?[\d\s\-./()]+")
_DIGIT_GROUPS = re.compile(r"\d+")

_ONES = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
    "nineteen",
)
_TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_SCALES = ((10**12, "trillion"), (10**9, "billion"), (10**6, "million"), (10**3, "thousand"))
# Ordinals that are not the cardinal + "th"; "-ty" becomes "-tieth" by rule.
_IRREGULAR_ORDINALS = {
    "one": "first", "two": "second", "three": "third", "five": "fifth", "eight": "eighth",
    "nine": "ninth", "twelve": "twelfth",
}
_ORDINAL_SUFFIXES = {1: "st", 2: "nd", 3: "rd"}


def expand(interpret_as: str, content: str, date_format: str | None = None) -> str:
    """The text to speak for ``content`` read as ``interpret_as``; SayAsError if it cannot be."""
    try:
        kind = InterpretAs(interpret_as.strip().lower())
    except ValueError:
        supported = ", ".join(k.value for k in InterpretAs)
        raise SayAsError(f"interpret-as={interpret_as!r} is not supported; use one of: "
                         f"{supported}") from None
    if date_format is not None and kind is not InterpretAs.DATE:
        raise SayAsError(f"format applies only to interpret-as='date', not {kind.value!r}")
    content = " ".join(content.split())
    if not content:
        raise SayAsError(f"<say-as interpret-as={kind.value!r}> has nothing inside it to read")
    if kind in (InterpretAs.CHARACTERS, InterpretAs.SPELL_OUT):
        return spell_out(content)
    if kind in (InterpretAs.CARDINAL, InterpretAs.NUMBER):
        return cardinal(content)
    if kind is InterpretAs.ORDINAL:
        return ordinal(content)
    if kind is InterpretAs.DATE:
        return date(content, date_format or DEFAULT_DATE_FORMAT)
    return telephone(content)


def spell_out(content: str) -> str:
    """Each character on its own, letters as capitals: "abc" → "A, B, C"."""
    return LETTER_SEPARATOR.join(_capital(ch) for ch in content if not ch.isspace())


def cardinal(content: str) -> str:
    """A number as digits espeak reads as a quantity: "1,234" → "1234", "-0.5" → "-0.5"."""
    match = _CARDINAL.fullmatch(content)
    if match is None:
        raise SayAsError(f"{content!r} is not a number: write digits, such as 1234, 1,234 or "
                         "-3.5")
    sign, whole, fraction = match.groups()
    digits = _digits(whole, content)
    minus = "-" if sign in ("-", "\u2212") else ""
    return f"{minus}{int(digits)}" + (f".{fraction}" if fraction else "")


def ordinal(content: str) -> str:
    """An ordinal in English words: "3" → "third", "100th" → "one hundredth"."""
    match = _ORDINAL.fullmatch(content)
    if match is None:
        raise SayAsError(f"{content!r} is not an ordinal: write a whole number, such as 3 or 3rd")
    number = int(_digits(match.group(1), content))
    suffix = match.group(2)
    if suffix is not None and suffix.lower() != ordinal_suffix(number):
        raise SayAsError(f"{content!r} does not match its suffix: write {number}"
                         f"{ordinal_suffix(number)}")
    return ordinal_words(number)


def date(content: str, date_format: str) -> str:
    """A date in English words: "2026-12-06" (ymd) → "December sixth, twenty twenty-six"."""
    fmt = date_format.strip().lower()
    if fmt not in DATE_FORMATS:
        raise SayAsError(f"format={date_format!r} is not a date format; use one of: "
                         f"{', '.join(DATE_FORMATS)}")
    fields = _DATE_SEPARATORS.split(content)
    if len(fields) != len(fmt) or not all(f.isascii() and f.isdigit() for f in fields):
        raise SayAsError(f"{content!r} is not a date in the format {fmt!r}: write "
                         f"{len(fmt)} number(s) separated by -, / or .")
    parts = dict(zip(fmt, fields, strict=True))
    for field, limit in (("y", _MAX_YEAR_DIGITS), ("m", _MAX_MONTH_DAY_DIGITS),
                         ("d", _MAX_MONTH_DAY_DIGITS)):
        if len(parts.get(field, "")) > limit:
            raise SayAsError(f"{content!r} is not a date: {parts[field]!r} has too many digits")
    year = int(parts["y"]) if "y" in parts else None
    month = int(parts["m"]) if "m" in parts else None
    day = int(parts["d"]) if "d" in parts else None
    _check_date(content, year, month, day)
    month_name = calendar.month_name[month] if month is not None else ""
    day_words = ordinal_words(day) if day is not None else ""
    year_text = year_words(year) if year is not None else ""
    if month_name and day_words:
        spoken = f"{month_name} {day_words}"
        return f"{spoken}, {year_text}" if year_text else spoken
    return " ".join(part for part in (month_name, day_words, year_text) if part)


def telephone(content: str) -> str:
    """Digits one by one, groups apart: "+1 555-0123" → "plus 1, 5 5 5, 0 1 2 3"."""
    if _TELEPHONE.fullmatch(content) is None or not _DIGIT_GROUPS.search(content):
        raise SayAsError(f"{content!r} is not a phone number: write digits, optionally grouped "
                         "by spaces, hyphens, dots or brackets, with an optional leading +")
    groups = [" ".join(group) for group in _DIGIT_GROUPS.findall(content)]
    spoken = PHONE_GROUP_SEPARATOR.join(groups)
    return f"plus {spoken}" if content.startswith("+") else spoken


def cardinal_words(number: int) -> str:
    """A whole number ≥ 0 in English words, US style: 123 → "one hundred twenty-three"."""
    if number < 20:
        return _ONES[number]
    if number < 100:
        tens, ones = divmod(number, 10)
        return _TENS[tens] + (f"-{_ONES[ones]}" if ones else "")
    if number < 1000:
        hundreds, rest = divmod(number, 100)
        return f"{_ONES[hundreds]} hundred" + (f" {cardinal_words(rest)}" if rest else "")
    for scale, name in _SCALES:
        if number >= scale:
            high, rest = divmod(number, scale)
            return f"{cardinal_words(high)} {name}" + (f" {cardinal_words(rest)}" if rest else "")
    raise AssertionError("unreachable")  # pragma: no cover - every number ≥ 1000 has a scale


def ordinal_words(number: int) -> str:
    """A whole number ≥ 0 as an English ordinal: 21 → "twenty-first", 100 → "one hundredth"."""
    words = cardinal_words(number)
    head, sep, last = words.rpartition(" ")
    lead, hyphen, word = last.rpartition("-")
    if word in _IRREGULAR_ORDINALS:
        word = _IRREGULAR_ORDINALS[word]
    elif word.endswith("y"):
        word = word[:-1] + "ieth"
    else:
        word += "th"
    return f"{head}{sep}{lead}{hyphen}{word}"


def ordinal_suffix(number: int) -> str:
    """The English suffix written after a number: 1 → "st", 12 → "th", 22 → "nd"."""
    if number % 100 in (11, 12, 13):
        return "th"
    return _ORDINAL_SUFFIXES.get(number % 10, "th")


def year_words(year: int) -> str:
    """A year as people say it: 2026 → "twenty twenty-six", 1905 → "nineteen oh five",
    2005 → "two thousand five", 1900 → "nineteen hundred"."""
    if year < 1000 or year % 1000 < 10:
        return cardinal_words(year)
    century, rest = divmod(year, 100)
    if rest == 0:
        return f"{cardinal_words(century)} hundred"
    if rest < 10:
        return f"{cardinal_words(century)} oh {_ONES[rest]}"
    return f"{cardinal_words(century)} {cardinal_words(rest)}"


def _capital(ch: str) -> str:
    upper = ch.upper()
    return upper if len(upper) == 1 else ch  # "ß".upper() is "SS": two letters, not one


def _digits(whole: str, content: str) -> str:
    digits = whole.replace(",", "")
    if len(digits.lstrip("0")) > MAX_NUMBER_DIGITS:
        raise SayAsError(f"{content!r} has more than {MAX_NUMBER_DIGITS} digits: use "
                         "interpret-as='characters' to read the digits one by one")
    return digits


def _check_date(content: str, year: int | None, month: int | None, day: int | None) -> None:
    if year is not None and year < 1:
        raise SayAsError(f"{content!r} is not a date: there is no year 0")
    if month is not None and not 1 <= month <= 12:
        raise SayAsError(f"{content!r} is not a date: the month must be 1 to 12, not {month}")
    if day is None:
        return
    # Without a year, 29 February may still be a real date; without a month, any day to 31.
    days = 31 if month is None else calendar.monthrange(year or 2000, month)[1]
    if not 1 <= day <= days:
        raise SayAsError(f"{content!r} is not a date: the day must be 1 to {days}, not {day}")
