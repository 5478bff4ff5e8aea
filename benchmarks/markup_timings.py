"""What speech markup and word timings cost (issue 17: each at most 5 % of synthesis time).

Word timings: the same ~500-word passage synthesized by the bundled voice opened as Piper
ships it (no durations output, so no timings) and as VoiceStudio opens it (Piper's alignment
patch: the durations come out and every word's and phoneme's times are computed).

Markup: the passage as markup (a break every 25 words, a ``<sub>``, a ``<phoneme>`` and a
``<say-as>`` every 50 words) against the plain passage, (a) in the text front end (parsing,
words, sentences, phonemes) and (b) through the whole synthesis, where breaks are inserted
as silence. Spans that restyle their words (``<emphasis>``, ``<prosody>``) cost a WORLD pass
over their sentences, like the style sliders: that is styling, reported on its own line.
Interleaved repetitions, neutral controls, variability 0; shares are per repetition.

    .venv/bin/python benchmarks/markup_timings.py [--reps 5]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import interleaved, median  # noqa: E402
from texts import PASSAGE  # noqa: E402


def marked_passage(spans: bool = False) -> str:
    """The passage as markup: every 25th word followed by a break, every 50th word a
    sub/phoneme/say-as in turn; with ``spans``, every 20th word emphasized."""
    out = []
    for i, word in enumerate(PASSAGE.replace("&", "and").replace("<", " ").split(), start=1):
        if i % 50 == 0:
            kind = (i // 50) % 3
            word = ('<sub alias="for example">e.g.</sub>' if kind == 0 else
                    '<phoneme ph="tˈɛst">word</phoneme>' if kind == 1 else
                    '<say-as interpret-as="cardinal">1,234</say-as>')
        elif spans and i % 20 == 0:
            word = f"<emphasis>{word}</emphasis>"
        out.append(word)
        if i % 25 == 0:
            out.append('<break time="300ms"/>')
    return "<speak>" + " ".join(out) + "</speak>"


def untimed_voice(voice):
    """The same voice opened straight from its file, as Piper does: no durations output."""
    from voicestudio.runtime import create_session
    from voicestudio.voice.model import VoiceModel

    session, choice = create_session(str(voice.model_path), "cpu")
    return VoiceModel(voice.name, voice.model_path, voice.config, session, choice)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args(argv)

    from voicestudio.styling.controls import StyleControls
    from voicestudio.voice.catalog import load_voice
    from voicestudio.voice.synthesizer import Synthesizer

    voice = load_voice(None, provider="cpu")
    timed_synth, untimed_synth = Synthesizer(voice), Synthesizer(untimed_voice(voice))
    assert voice.has_durations and not untimed_synth.voice.has_durations
    controls = StyleControls(variability=0.0)
    marked, styled = marked_passage(), marked_passage(spans=True)

    def speak(synth, text):
        return lambda: [None for _chunk in synth.synthesize(text, controls)]

    def front(text):
        return lambda: list(timed_synth.sentences(text))

    paths = {
        "synthesis, no timings (as Piper opens the voice)": speak(untimed_synth, PASSAGE),
        "synthesis with word timings": speak(timed_synth, PASSAGE),
        "front end, plain": front(PASSAGE),
        "front end, markup": front(marked),
        "synthesis of the markup (breaks, sub, phoneme, say-as)": speak(timed_synth, marked),
        "synthesis of the markup + emphasis every 20 words (styling)": speak(timed_synth, styled),
    }
    times = interleaved(paths, args.reps)  # warm-up call first: espeak, onnxruntime
    untimed, timed_s, front_plain, front_marked, marked_s, styled_s = times.values()
    shares = {
        "word timings (synthesis with ÷ without − 1)":
            [t / u - 1 for u, t in zip(untimed, timed_s, strict=True)],
        "markup in the front end ÷ synthesis":
            [(m - p) / s for p, m, s in zip(front_plain, front_marked, timed_s, strict=True)],
    }
    print(f"Markup and word timings: {len(PASSAGE.split())}-word passage, "
          f"{args.reps} interleaved repetitions")
    print("| path | median s |")
    print("|---|--:|")
    for name, values in times.items():
        print(f"| {name} | {median(values):.3f} |")
    print()
    for name, values in shares.items():
        verdict = "yes" if median(values) <= 0.05 else "no"
        print(f"{name}: {100 * median(values):+.2f} % ({100 * min(values):+.2f} to "
              f"{100 * max(values):+.2f} %); goal ≤ 5 %: {verdict}")
    silence = marked.count("<break") * 0.3
    print(f"(the markup's synthesis also speaks {silence:.1f} s of breaks; its time includes "
          f"the sub/say-as words' extra speech)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
