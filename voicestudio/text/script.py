"""Recording scripts: the prompts a speaker reads aloud to build a voice.

A script is plain UTF-8 text, one prompt per line; blank lines and lines starting
with ``#`` are ignored. The first prompt is always a consent statement naming the
project and the date, so every voice project carries the speaker's recorded consent
(it is inserted when a user's own script lacks one).

The bundled English script (``resources/scripts/en_default.txt``) is chosen from a
pool of prompts written for VoiceStudio (``candidates_en.txt``) by
:func:`select_greedy`, which maximises phone and diphone coverage as espeak-ng
phonemizes them; ``benchmarks/script_coverage.py`` rebuilds it reproducibly.

Phone identity (what :func:`phone_runs` and :func:`coverage` count):

* espeak's stress marks (ˈ ˌ) and its linking-glide mark (ʲ, as in "the arts") are
  dropped: they mark prosody and transitions, not separate sounds;
* length stays part of the vowel: ``iː``/``i`` and ``ɔː``/``ɔ`` are different
  phonemes in espeak's en-us set (FLEECE vs happY, THOUGHT vs the short vowel of
  "often"), and the model hears them as different symbol sequences;
* diphthongs (``aɪ aʊ eɪ oʊ ɔɪ``) and affricates (``tʃ dʒ``) are one phone each, but
  only inside a word ("that shop" is t + ʃ); combining marks stay on their base
  (syllabic ``n̩``);
* diphones are adjacent phone pairs inside a word and across word boundaries with no
  pause between them; punctuation (, . ? ! ; : …) is a pause and breaks the chain.

The inventory that coverage is measured against is :data:`EN_US_PHONES`: the phones
espeak-ng's en-us voice (the bundled voice's phonemizer) produces for English text.
The voice's own ``phoneme_id_map`` is no use as a denominator, since it lists every
IPA symbol (151) whatever the language; instead the tests check that every symbol of
:data:`EN_US_PHONES` is in that map, so the voice can say all of them.
"""

from __future__ import annotations

import argparse
import datetime
import functools
import heapq
import re
import sys
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from voicestudio.errors import VoiceStudioError
from voicestudio.paths import resources_dir

#: Read aloud first, before any other prompt; ``{project}`` and ``{date}`` are filled in.
CONSENT_TEMPLATE = (
    "I, the speaker, consent to VoiceStudio creating a synthetic voice "
    "from my recordings for the project {project} on {date}."
)
DEFAULT_SCRIPT_NAME = "en_default"
CANDIDATES_NAME = "candidates_en"
#: Prompts in the bundled script besides the consent statement: about half an hour of
#: reading, and past the point where more prompts add few new diphones.
DEFAULT_SCRIPT_SIZE = 240
ESPEAK_VOICE = "en-us"

#: Limits for user scripts: a longer line is almost certainly not a prompt (a pasted
#: paragraph, a binary file); more prompts than this is days of recording.
MAX_LINE_CHARS = 300
MAX_PROMPTS = 5000
MAX_FILE_BYTES = 4 * 1024 * 1024

#: espeak-ng en-us phones (see the module docstring for what counts as one phone).
#: Derived by phonemizing ~19,000 distinct English words: what never came up
#: there (short ``u``, once) or only for foreign words (x, ɬ, r, ɑ̃) is left out.
EN_US_CONSONANTS = frozenset(
    {"p", "b", "t", "d", "k", "ɡ", "f", "v", "θ", "ð", "s", "z", "ʃ", "ʒ", "h", "m", "n", "ŋ",
     "l", "ɹ", "w", "j", "tʃ", "dʒ", "ɾ", "ʔ", "n̩"}
)  # fmt: skip
EN_US_VOWELS = frozenset(
    {"iː", "i", "ɪ", "ᵻ", "eɪ", "ɛ", "æ", "ɐ", "ʌ", "ə", "ɚ", "ɜː", "ɑː", "ɔː", "ɔ", "oʊ",
     "ʊ", "uː", "aɪ", "aʊ", "ɔɪ"}
)  # fmt: skip
EN_US_PHONES = EN_US_CONSONANTS | EN_US_VOWELS

_DIGRAPHS = frozenset({"tʃ", "dʒ", "eɪ", "aɪ", "aʊ", "oʊ", "ɔɪ"})
_DROPPED = str.maketrans("", "", "ˈˌʲ")
_LENGTH = "ː"
_WS = re.compile(r"\s+")
_CONSENT_WORD = re.compile(r"\bconsent", re.IGNORECASE)
_MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip

#: Greedy weights: a phone never seen yet is worth this many new diphones.
PHONE_WEIGHT = 10.0
DIPHONE_WEIGHT = 1.0


class ScriptError(VoiceStudioError):
    """A recording script file is missing, unreadable or not a list of prompts."""


@dataclass
class RecordingScript:
    """The prompts of one recording session, consent statement included."""

    name: str
    prompts: list[str]
    consent_index: int = 0

    @property
    def consent(self) -> str:
        """The filled-in consent statement the speaker reads first."""
        return self.prompts[self.consent_index]

    def __len__(self) -> int:
        return len(self.prompts)


# --------------------------------------------------------------------------- files


def scripts_dir() -> Path:
    """Bundled scripts and the candidate pool they are chosen from."""
    return resources_dir() / "scripts"


def default_script_path() -> Path:
    return scripts_dir() / f"{DEFAULT_SCRIPT_NAME}.txt"


def candidates_path() -> Path:
    return scripts_dir() / f"{CANDIDATES_NAME}.txt"


def parse_prompts(text: str, source: str = "script") -> list[str]:
    """Script text → prompts: blank lines and ``#`` comments dropped, whitespace tidied.

    Raises :class:`ScriptError` naming ``source`` and the line when a line is too long,
    there are too many prompts, or there are none at all.
    """
    prompts: list[str] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = _WS.sub(" ", unicodedata.normalize("NFC", raw)).strip()
        if not line or line.startswith("#"):
            continue
        if len(line) > MAX_LINE_CHARS:
            raise ScriptError(
                f"{source}, line {number}: a prompt of {len(line)} characters is too long "
                f"(at most {MAX_LINE_CHARS}); put one sentence on each line."
            )
        prompts.append(line)
        if len(prompts) > MAX_PROMPTS:
            raise ScriptError(
                f"{source}: more than {MAX_PROMPTS} prompts; "
                "split the script into several projects."
            )
    if not prompts:
        raise ScriptError(
            f"{source}: no prompts found; write one sentence "
            "per line (lines starting with # are comments)."
        )
    return prompts


def read_prompts(path: str | Path) -> list[str]:
    """Prompts of a UTF-8 script file (a byte-order mark is allowed), validated."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ScriptError(
                f"{path}: {size} bytes is too big for a recording script "
                f"(at most {MAX_FILE_BYTES // (1024 * 1024)} MiB)."
            )
        data = path.read_bytes()
    except FileNotFoundError:
        raise ScriptError(f"Recording script not found: {path}") from None
    except IsADirectoryError:
        raise ScriptError(f"{path} is a folder, not a recording script file.") from None
    except OSError as error:
        raise ScriptError(
            f"Cannot read recording script {path}: {error.strerror or error}"
        ) from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise ScriptError(
            f"{path}, line {line}: not UTF-8 text; save the script as UTF-8 and try again."
        ) from None
    return parse_prompts(text, str(path))


def spoken_date(date: datetime.date | str) -> str:
    """A date as a speaker reads it ("March 12, 2026"), independent of the locale."""
    if isinstance(date, str):
        return date.strip()
    return f"{_MONTHS[date.month - 1]} {date.day}, {date.year}"


def is_consent(prompt: str) -> bool:
    """Whether a prompt talks about consent (it says "consent"): such lines are kept out of
    the texts the base model is distilled from."""
    return bool(_CONSENT_WORD.search(prompt))


def is_consent_statement(prompt: str) -> bool:
    """Whether a prompt is VoiceStudio's consent statement, :data:`CONSENT_TEMPLATE` filled in
    for some project and date. The wording is fixed: with wording of one's own, a recording
    of any sentence (plus "I consent") could pass for the statement."""
    return bool(_STATEMENT.match(_WS.sub(" ", prompt).strip()))


_STATEMENT = re.compile(
    re.escape(CONSENT_TEMPLATE)
    .replace(re.escape("{project}"), ".+")
    .replace(re.escape("{date}"), ".+")
    + "$"
)


def fill_consent(template: str, project_name: str, date: datetime.date | str) -> str:
    """Fill ``{project}`` and ``{date}`` (plain replacement: other braces stay as they are)."""
    return template.replace("{project}", project_name).replace("{date}", spoken_date(date))


def load_script(
    path: str | Path | None,
    project_name: str,
    date: datetime.date | str | None = None,
) -> RecordingScript:
    """The prompts to record for a project; ``path=None`` is the bundled English script.

    The first prompt is the consent statement, :data:`CONSENT_TEMPLATE` with the project
    name and date (today when ``date`` is None) filled in. A user's file gets it inserted
    before its first line; a first line of the user's own saying "consent" is replaced by
    it (the wording is fixed, see :func:`is_consent_statement`).
    """
    project = _WS.sub(" ", project_name).strip()
    if not project:
        raise ScriptError("The project needs a name before its consent statement can be written.")
    when = datetime.date.today() if date is None else date
    if isinstance(when, str) and not when.strip():
        raise ScriptError("The consent statement needs a date.")
    source = default_script_path() if path is None else Path(path)
    prompts = read_prompts(source)
    if is_consent(prompts[0]):
        prompts[0] = CONSENT_TEMPLATE
    else:
        prompts.insert(0, CONSENT_TEMPLATE)
        if len(prompts) > MAX_PROMPTS + 1:
            raise ScriptError(f"{source}: more than {MAX_PROMPTS} prompts.")
    prompts[0] = fill_consent(prompts[0], project, when)
    name = DEFAULT_SCRIPT_NAME if path is None else source.stem
    return RecordingScript(name=name, prompts=prompts, consent_index=0)


# --------------------------------------------------------------------------- phones


def _word_phones(word: str) -> list[str]:
    """One espeak word (stress marks already removed) → phones."""
    phones: list[str] = []
    for ch in word:
        attaches = ch == _LENGTH or unicodedata.combining(ch)
        if phones and (attaches or (len(phones[-1]) == 1 and phones[-1] + ch in _DIGRAPHS)):
            phones[-1] += ch
        else:
            phones.append(ch)
    return phones


def _is_phone_char(ch: str) -> bool:
    return unicodedata.category(ch)[0] in "LM"


@functools.lru_cache(maxsize=16384)
def phone_runs(text: str, espeak_voice: str = ESPEAK_VOICE) -> tuple[tuple[str, ...], ...]:
    """Text → pause-free runs of phones (cached: building a script phonemizes each prompt once)."""
    from voicestudio.text.phonemize import phonemize

    runs: list[tuple[str, ...]] = []
    for sentence in phonemize(text, espeak_voice):
        run: list[str] = []
        word = ""
        for ch in "".join(sentence).translate(_DROPPED) + ".":
            if _is_phone_char(ch):
                word += ch
                continue
            run.extend(_word_phones(word))
            word = ""
            if ch.isspace():
                continue  # a word boundary: the diphone chain goes on
            if run:
                runs.append(tuple(run))
            run = []
    return tuple(runs)


def _units(text: str) -> tuple[Counter[str], Counter[tuple[str, str]]]:
    phones: Counter[str] = Counter()
    diphones: Counter[tuple[str, str]] = Counter()
    for run in phone_runs(text):
        phones.update(run)
        diphones.update(zip(run, run[1:], strict=False))
    return phones, diphones


@dataclass
class CoverageReport:
    """How well a set of prompts covers the language's sounds (phones and diphones)."""

    prompts: int
    words: int
    phone_counts: Counter[str]
    diphone_counts: Counter[tuple[str, str]]
    inventory: frozenset[str] = field(default=EN_US_PHONES)

    @property
    def total_phones(self) -> int:
        """Phones spoken in all the prompts together: a proxy for recording time."""
        return sum(self.phone_counts.values())

    @property
    def phones_covered(self) -> frozenset[str]:
        return frozenset(p for p in self.inventory if self.phone_counts[p])

    @property
    def phones_missing(self) -> frozenset[str]:
        return self.inventory - self.phones_covered

    @property
    def phones_outside(self) -> frozenset[str]:
        """Phones seen that are not in the inventory (foreign words, espeak oddities)."""
        return frozenset(p for p in self.phone_counts if p not in self.inventory)

    @property
    def diphones(self) -> int:
        """Distinct diphones seen."""
        return len(self.diphone_counts)

    def rarest(self, k: int = 5) -> list[tuple[str, int]]:
        """The ``k`` inventory phones heard least often (missing ones first, at 0)."""
        counts = sorted((self.phone_counts[p], p) for p in self.inventory)
        return [(p, n) for n, p in counts[:k]]

    def summary(self) -> str:
        rare = ", ".join(f"{p} {n}" for p, n in self.rarest())
        return (
            f"{self.prompts} prompts, {self.words} words, {self.total_phones} phones; "
            f"phones covered {len(self.phones_covered)} of {len(self.inventory)}; "
            f"diphones {self.diphones}; rarest: {rare}"
        )


def coverage(prompts: Iterable[str], inventory: frozenset[str] = EN_US_PHONES) -> CoverageReport:
    """Phone and diphone coverage of prompts as espeak-ng en-us phonemizes them."""
    phones: Counter[str] = Counter()
    diphones: Counter[tuple[str, str]] = Counter()
    count = words = 0
    for prompt in prompts:
        p, d = _units(prompt)
        phones.update(p)
        diphones.update(d)
        count += 1
        words += len(prompt.split())
    return CoverageReport(count, words, phones, diphones, inventory)


# --------------------------------------------------------------------------- selection


def select_greedy(candidates: Sequence[str], n: int) -> list[str]:
    """Choose ``n`` prompts that together cover the most phones and diphones.

    Each candidate is scored by the phones (weight :data:`PHONE_WEIGHT`) and diphones
    (weight :data:`DIPHONE_WEIGHT`) it contains, each divided by one plus the number of
    already chosen prompts that contain it: new sounds count fully, and once everything
    is covered, the rarest sounds get further examples. The score is divided by the
    prompt's length in phones, so short prompts that pack in new sounds win over long
    ones and the script stays quick to record. Returned in the order chosen (the most
    useful first, so a speaker who stops early still has the best coverage for the
    count). Deterministic: ties go to the earlier candidate; duplicates count once.
    """
    if n < 0:
        raise ValueError(f"cannot choose {n} prompts")
    unique: list[str] = list(dict.fromkeys(_WS.sub(" ", c).strip() for c in candidates))
    unique = [c for c in unique if c]
    units: list[tuple[list[tuple[str, float]], float]] = []
    for text in unique:
        phones, diphones = _units(text)
        weighted = [(f"p:{p}", PHONE_WEIGHT) for p in phones]
        weighted += [(f"d:{a} {b}", DIPHONE_WEIGHT) for a, b in diphones]
        units.append((weighted, float(max(1, sum(phones.values())))))
    seen: Counter[str] = Counter()

    def gain(index: int) -> float:
        weighted, length = units[index]
        return sum(w / (1 + seen[u]) for u, w in weighted) / length

    # Lazy greedy: a score only falls as prompts are chosen, so a stale score is an
    # upper bound and only the top of the heap needs re-scoring.
    heap = [(-gain(i), i) for i in range(len(unique))]
    heapq.heapify(heap)
    chosen: list[str] = []
    while heap and len(chosen) < n:
        _, index = heapq.heappop(heap)
        fresh = (-gain(index), index)
        if heap and fresh > heap[0]:
            heapq.heappush(heap, fresh)
            continue
        chosen.append(unique[index])
        seen.update({u for u, _ in units[index][0]})
    return chosen


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m voicestudio.text.script [FILE]``: print a script's coverage."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("script", nargs="?", help="a script file (default: the bundled one)")
    args = parser.parse_args(argv)
    try:
        script = load_script(args.script, "example", datetime.date.today())
    except ScriptError as error:
        print(error, file=sys.stderr)
        return 1
    print(coverage(script.prompts[1:]).summary())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
