"""What the pronunciation lexicon costs (issue 17: at most 5 % of synthesis time).

The lexicon works in the text front end (a regex over each sentence, and espeak on the pieces
around a phoneme entry); the model then speaks whatever phonemes it is given, longer or shorter
than without the entries. So its cost is measured where it is paid: the front end of a
~500-word passage (cleaning, splitting, phonemizing) without a lexicon and with one of 500
entries (respellings and phoneme entries, 20 of whose words occur in the passage, many times),
against the whole synthesis of the passage without one (the bundled voice, neutral controls,
variability 0). Interleaved repetitions; the table gives medians and the extra time as a share
of synthesis, per repetition.

    .venv/bin/python benchmarks/lexicon.py [--reps 5]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import interleaved, median  # noqa: E402
from texts import PASSAGE  # noqa: E402


def lexicon_for_benchmark():
    from voicestudio.text.lexicon import Lexicon, LexiconEntry, Pronunciation

    entries = [LexiconEntry(f"Name{n:03d}", Pronunciation.SOUNDS_LIKE, f"nay mee {n}")
               for n in range(480)]
    words = sorted({w.strip(".,;:!?\"'()") for w in PASSAGE.split() if w.isalpha()},
                   key=len, reverse=True)[:20]
    for i, word in enumerate(words):  # words of the passage: these entries are applied
        kind = Pronunciation.PHONEMES if i % 2 else Pronunciation.SOUNDS_LIKE
        entries.append(LexiconEntry(word, kind, "tˈɛst" if i % 2 else "test word"))
    return Lexicon(entries), words


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args(argv)

    from voicestudio.styling.controls import StyleControls
    from voicestudio.voice.catalog import load_voice
    from voicestudio.voice.synthesizer import Synthesizer

    voice = load_voice(None, provider="cpu")
    lexicon, words = lexicon_for_benchmark()
    plain, fixed = Synthesizer(voice), Synthesizer(voice, lexicon=lexicon)
    controls = StyleControls(variability=0.0)

    def speak(synth):
        return lambda: [None for _chunk in synth.synthesize(PASSAGE, controls)]

    def front(synth):
        return lambda: list(synth.sentences(PASSAGE))

    paths = {"synthesis": speak(plain), "front end": front(plain),
             "front end + lexicon": front(fixed)}
    times = interleaved(paths, args.reps)  # warm-up call first: espeak, onnxruntime
    extra = [(c - b) / a for a, b, c in zip(*times.values(), strict=True)]
    print(f"Lexicon cost: {len(PASSAGE.split())}-word passage, {len(lexicon)} entries "
          f"({len(words)} of them words of the passage), {args.reps} interleaved repetitions")
    print("| path | median s |")
    print("|---|--:|")
    for name, values in times.items():
        print(f"| {name} | {median(values):.3f} |")
    verdict = "yes" if median(extra) <= 0.05 else "no"
    print(f"\nlexicon's extra time ÷ synthesis: {100 * median(extra):.2f} % "
          f"({100 * min(extra):.2f}–{100 * max(extra):.2f} %); goal ≤ 5 %: {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
