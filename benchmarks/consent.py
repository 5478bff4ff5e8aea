"""Consent-gate benchmark: same-speaker and different-speaker scores, the equal error rate
and the threshold ``voicestudio.safety.consent.THRESHOLD`` is set from.

Each trial is what the gate does: one clip (the "consent take") against the mean
embedding of a speaker's takes.
Same speaker: every clip against the rest of its own speaker's clips (leave one out).
Different speaker: every clip against each other speaker's takes. Speakers: pmatthes
and ljspeech (../shared/data/speech, real), the bundled base voice (joe, reading
``texts.SENTENCES`` and the consent statement) and pysptk's CMU Arctic example clip
(a fourth voice, one 4 s clip, used only as an impostor). With three to four voices
the different-speaker side is thin: the EER says these voices are told apart, not
what happens for two similar-sounding strangers. Per take (every training take is
screened against the statement, ``TAKE_THRESHOLD``): clip against clip, same and
different speakers. Same-speaker clips are also scored after a worse microphone (16 kHz,
20 dB SNR noise, -6 dB), since a consent take is sometimes recorded apart from the
takes. Prints tables and writes
``benchmarks/results/consent.json``; nothing is asserted.

    python benchmarks/consent.py
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
LONG_CLIP_S = 5.0

from corpus import SPEECH, recordings  # noqa: E402
from texts import SENTENCES  # noqa: E402


def equal_error_rate(
    genuine: np.ndarray, impostor: np.ndarray
) -> tuple[float, float, float, float]:
    """(EER, its threshold, lowest and highest threshold reaching it). A threshold t accepts
    scores >= t; the EER is where false rejects and false accepts cross."""
    candidates = np.unique(np.concatenate([genuine, impostor, [1.0 + 1e-6]]))
    frr = np.array([(genuine < t).mean() for t in candidates])
    far = np.array([(impostor >= t).mean() for t in candidates])
    worst = np.maximum(frr, far)
    eer = float(worst.min())
    best = candidates[worst == worst.min()]
    if eer == 0.0:  # a gap: every threshold above the highest impostor and up to the lowest genuine
        low, high = float(impostor.max()) + 1e-6, float(genuine.min())
        return 0.0, (low + high) / 2, low, high
    return eer, float(best.mean()), float(best.min()), float(best.max())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args(argv)

    from voicestudio.audio.io import read_audio, resample
    from voicestudio.evaluate.secs import cosine, default_encoder, mean_embedding
    from voicestudio.evaluate.speaker_model import ensure_encoder_model
    from voicestudio.safety.consent import TAKE_THRESHOLD, THRESHOLD
    from voicestudio.text.script import CONSENT_TEMPLATE, fill_consent
    from voicestudio.voice.catalog import load_voice
    from voicestudio.voice.synthesizer import Synthesizer

    started = time.perf_counter()
    ensure_encoder_model()
    encoder = default_encoder()
    clips: dict[str, list[tuple[np.ndarray, int]]] = {}
    for speaker in ("pmatthes", "ljspeech"):
        rows = recordings(speaker)
        if not rows:
            print(
                f"no speech corpus at {SPEECH}: {speaker} is "
                "left out (the figures are then weaker still)"
            )
            continue
        clips[speaker] = [
            (a.samples, a.sample_rate) for a in (read_audio(path) for path, _text in rows)
        ]
    synth = Synthesizer(load_voice(None, provider="cpu"))
    statement = fill_consent(CONSENT_TEMPLATE, "Benchmark", "2026-11-29")
    clips["base voice"] = [
        (np.concatenate([c.samples for c in synth.synthesize(t)]), synth.sample_rate)
        for t in (statement, *SENTENCES)
    ]
    arctic = Path(__import__("pysptk").__file__).parent / "example_audio_data" / "arctic_a0007.wav"
    extra = {}
    if arctic.is_file():
        a = read_audio(arctic)
        extra["CMU Arctic clip"] = [(a.samples, a.sample_rate)]

    rng = np.random.default_rng(0)

    def worse_microphone(x: np.ndarray, rate: int) -> tuple[np.ndarray, int]:
        y = resample(x, rate, 16_000) * 0.5
        noise = rng.standard_normal(y.size).astype(np.float32)
        return (y + noise * np.sqrt(np.mean(y**2)) * 10 ** (-20 / 20)).astype(np.float32), 16_000

    emb = {s: encoder.embed_many(c) for s, c in {**clips, **extra}.items()}
    degraded = {
        s: encoder.embed_many([worse_microphone(*c) for c in cs]) for s, cs in clips.items()
    }

    def reference(speaker: str, leave_out: int | None = None) -> np.ndarray:
        return mean_embedding(emb[speaker][[i for i in range(len(emb[speaker])) if i != leave_out]])

    genuine = {
        s: np.array([cosine(emb[s][i], reference(s, i)) for i in range(len(emb[s]))]) for s in clips
    }
    genuine_worse = {
        s: np.array([cosine(degraded[s][i], reference(s, i)) for i in range(len(emb[s]))])
        for s in clips
    }
    # the statement takes about 7 s to read: how clips of that length fare on their own
    long_enough = {
        s: np.array([len(x) >= LONG_CLIP_S * r for x, r in cs]) for s, cs in clips.items()
    }
    refs = {s: reference(s) for s in clips}
    impostor = {
        (a, b): np.array([cosine(e, refs[b]) for e in emb[a]]) for a in emb for b in clips if a != b
    }

    # Per take (the screening of every training take): statement clip against one take.
    pair_same = np.concatenate(
        [(emb[s] @ emb[s].T)[np.triu_indices(len(emb[s]), 1)] for s in clips]
    )
    pair_other = np.concatenate([(emb[a] @ emb[b].T).ravel() for a in emb for b in clips if a != b])
    wrongly_left_out = float((pair_same < TAKE_THRESHOLD).mean())
    wrongly_kept = float((pair_other >= TAKE_THRESHOLD).mean())

    all_genuine = np.concatenate(list(genuine.values()))
    all_impostor = np.concatenate(list(impostor.values()))
    eer, eer_threshold, low, high = equal_error_rate(all_genuine, all_impostor)
    worse = np.concatenate(list(genuine_worse.values()))
    eer_worse, *_ = equal_error_rate(worse, all_impostor)

    print("Consent gate: one clip against the mean of a speaker's takes\n")
    print(
        "| same speaker | trials | min | 5th pct | median | below threshold | worse mic: min | "
        f"worse mic: below | worse mic, clips ≥ {LONG_CLIP_S:g} s: below |"
    )
    print("|---|--:|--:|--:|--:|--:|--:|--:|--:|")
    for s, g in genuine.items():
        w, keep = genuine_worse[s], long_enough[s]
        print(
            f"| {s} | {len(g)} | {g.min():.3f} | {np.percentile(g, 5):.3f} | {np.median(g):.3f} | "
            f"{int((g < THRESHOLD).sum())} | {w.min():.3f} | {int((w < THRESHOLD).sum())} | "
            f"{int((w[keep] < THRESHOLD).sum())} of {int(keep.sum())} |"
        )
    print("\n| consent take from → takes of | trials | median | max | accepted |")
    print("|---|--:|--:|--:|--:|")
    for (a, b), scores in impostor.items():
        print(f"| {a} → {b} | {len(scores)} | {np.median(scores):.3f} | {scores.max():.3f} | "
              f"{int((scores >= THRESHOLD).sum())} |")
    frr = float((all_genuine < THRESHOLD).mean())
    far = float((all_impostor >= THRESHOLD).mean())
    gap = f"every threshold from {low:.3f} to {high:.3f} separates them" if eer == 0 else \
        f"at threshold {eer_threshold:.3f}"
    print(
        f"\nEER {100 * eer:.2f} % over {len(all_genuine)} same-speaker and {len(all_impostor)} "
        f"different-speaker trials ({gap}); with the worse microphone {100 * eer_worse:.2f} %."
    )
    print(
        f"Chosen threshold {THRESHOLD:.2f}: false rejects {100 * frr:.2f} % "
        f"({100 * float((worse < THRESHOLD).mean()):.2f} % with the worse microphone), false "
        f"accepts {100 * far:.2f} %. {time.perf_counter() - started:.0f} s in all."
    )
    print(
        f"Per take, threshold {TAKE_THRESHOLD:.2f}: {100 * wrongly_left_out:.2f} % "
        f"of {len(pair_same)} same-speaker clip pairs would leave a take out "
        f"(lowest {pair_same.min():.3f}); {100 * wrongly_kept:.2f} % of {len(pair_other)} "
        "different-speaker pairs would keep another speaker's take "
        f"(highest {pair_other.max():.3f})."
    )
    out = HERE / "results" / "consent.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "threshold": THRESHOLD,
                "eer": eer,
                "eer_threshold": eer_threshold,
                "eer_range": [low, high],
                "eer_worse_microphone": eer_worse,
                "false_reject_rate": frr,
                "false_accept_rate": far,
                "take_threshold": TAKE_THRESHOLD,
                "take_wrongly_left_out": wrongly_left_out,
                "take_wrongly_kept": wrongly_kept,
                "genuine": {
                    s: {
                        "trials": len(g),
                        "min": float(g.min()),
                        "median": float(np.median(g)),
                        "worse_microphone_min": float(genuine_worse[s].min()),
                    }
                    for s, g in genuine.items()
                },
                "impostor": {
                    f"{a} -> {b}": {
                        "trials": len(v),
                        "median": float(np.median(v)),
                        "max": float(v.max()),
                    }
                    for (a, b), v in impostor.items()
                },
            },
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
