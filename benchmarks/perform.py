"""Perform it (issue 18): how closely a voice follows a performance, and what it costs.

Performer/voice pairs from ../shared/data/speech: each of the four sentences both speakers
recorded (LJ001-0001, -0009, -0010, -0012), read by pmatthes (male) and by ljspeech
(female), directs the bundled voice (male). For each: the plain rendering and the performed
one (all three transfers at 100 % and at the default 80 %), at variability 0.

- timing: the result is aligned to the text independently (PocketSphinx, ``audio/aligner``);
  the median over words of |result word start − performance word start|, the two timelines
  sharing an origin (their median offset) (goal ≤ 50 ms with timing; plain should miss).
- intonation: Pearson correlation of the result's F0 (semitones) with the performance's,
  frames mapped through the two independent word alignments, voiced in both (goal ≥ 0.8;
  plain ≤ 0.5). F0 is measured with Praat's tracker (parselmouth), not with the trackers
  VoiceStudio uses, in two passes that set each recording's pitch range (De Looze & Hirst;
  ``speaker_f0``); on the performance only frames where Praat agrees (within 1.5 st) with
  RAPT or Harvest count, since on these home and studio recordings the trackers disagree by
  more than 6 semitones on up to 6 % of frames. The "raw" column: one wide pass (60–500 Hz)
  on both sides and every frame of Praat's, as this benchmark measured before.
  The result's median F0 against the plain rendering's (goal: within 1 st, so a female
  performance leaves the male voice male).
- the voice: speaker similarity (Resemblyzer cosine) of the result to the plain rendering
  (goal ≥ 0.90) and word error rate of PocketSphinx on both (goal: no worse than plain + 0.05).
  The recognizer alone moves a sentence's WER by 0.044 on average (standard deviation) when
  the whole line is 0.3 semitones higher or lower, so "WER of 3" is the mean over the
  rendering and the same rendering 0.3 st lower and higher (the style's pitch control),
  beside the single rendering's.
- naturalness: DNSMOS (P.808 and P.835 overall, ``evaluate/dnsmos``) of each rendering, the
  plain one's beside the performed ones' (no goal in the issue; the transfer should cost
  little of it).
- time: reading the performance, and perform() against plain synthesis of the same line;
  a re-render at another strength from the line's prepared model output (the dialog's case);
  making the voice's timed copy (durations as an input), once per voice, before the rest; and
  (not with --dev) the issue's goal as it is worded: transferring a 5 s line, beside its plain
  synthesis, on three lines of each performer about that long.

    .venv/bin/python benchmarks/perform.py [--sentences LJ001-0009 ...] [--dev]
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import median, now  # noqa: E402
from corpus import recordings  # noqa: E402

SENTENCES = ("LJ001-0001", "LJ001-0009", "LJ001-0010", "LJ001-0012")
FRAME_S = 0.005
PERFORMERS = ("pmatthes", "ljspeech")


@dataclass
class Row:
    performer: str
    sentence: str
    setting: str
    timing_ms: float
    f0_r: float
    f0_raw: float
    median_st: float
    secs: float
    wer: float
    wer3: float
    p808: float
    ovrl: float
    seconds: float


def timing_error_ms(result_words, performance_words) -> float:
    """Median over words of |result start − performance start| once the two timelines share
    an origin: the median offset between them (not the first word's, which would carry that
    one word's alignment error into every other)."""
    d = np.array([r.start - p.start for r, p in zip(result_words, performance_words,
                                                     strict=True)])
    return 1000 * float(np.median(np.abs(d - np.median(d))))


def reliable_f0(samples: np.ndarray, rate: int) -> np.ndarray:
    """Praat's two-pass F0 (:func:`speaker_f0`) where RAPT or Harvest agrees with it within
    1.5 st (else 0)."""
    from voicestudio.audio.io import resample
    from voicestudio.styling.world import track_f0

    praat = speaker_f0(samples, rate)
    x = resample(samples, rate, 16_000)
    others = [track_f0(x, 16_000, m) for m in ("rapt", "harvest")]
    agree = np.zeros(len(praat), bool)
    for other in others:
        other = np.pad(other, (0, max(0, len(praat) - len(other))))[:len(praat)]
        both = (praat > 0) & (other > 0)
        close = np.zeros(len(praat), bool)
        close[both] = np.abs(12 * np.log2(praat[both] / other[both])) <= 1.5
        agree |= close
    return np.where(agree, praat, 0.0)


def praat_f0(samples: np.ndarray, rate: int, floor: float = 60.0, ceiling: float = 500.0
             ) -> np.ndarray:
    """F0 per 5 ms frame (0 unvoiced), Praat's autocorrelation tracker, searching
    ``floor`` … ``ceiling`` Hz."""
    import parselmouth

    pitch = parselmouth.Sound(samples.astype(np.float64), rate).to_pitch_ac(
        time_step=FRAME_S, pitch_floor=floor, pitch_ceiling=ceiling)
    times = np.arange(int(len(samples) / rate / FRAME_S)) * FRAME_S
    values = np.array([pitch.get_value_at_time(t) for t in times])
    return np.nan_to_num(values, nan=0.0)


def speaker_f0(samples: np.ndarray, rate: int) -> np.ndarray:
    """Praat's F0 in two passes (De Looze & Hirst's method for setting the pitch range per
    speaker): a wide first pass, then floor = 0.75 × its first quartile and ceiling = 1.5 × its
    third. With one wide range for every speaker, Praat (and RAPT or Harvest with it) read
    spurious frames up to 20 st above a male speaker's median on a phrase's last fricative;
    one such frame made the correlation of a contour that follows closely near zero."""
    first = praat_f0(samples, rate)
    voiced = first[first > 0]
    if len(voiced) < 20:
        return first
    q1, q3 = np.percentile(voiced, [25, 75])
    return praat_f0(samples, rate, 0.75 * q1, 1.5 * q3)


def st(f0: np.ndarray) -> np.ndarray:
    out = np.full(len(f0), np.nan)
    voiced = f0 > 0
    if voiced.any():
        out[voiced] = 12 * np.log2(f0[voiced] / np.median(f0[voiced]))
    return out


def f0_correlation(result_f0, result_words, perf_f0, perf_words, frame_s) -> float:
    """Correlation of two semitone contours, result frames mapped to performance time through
    word starts and ends (independent alignments of each)."""
    xs = np.ravel([[w.start, w.end] for w in result_words])
    ys = np.ravel([[w.start, w.end] for w in perf_words])
    keep = np.concatenate([[True], np.diff(xs) > 0]) & np.concatenate([[True], np.diff(ys) >= 0])
    xs, ys = xs[keep], ys[keep]
    times = np.arange(len(result_f0)) * frame_s
    inside = (times >= xs[0]) & (times <= xs[-1])
    mapped = np.interp(times, xs, ys)
    a = st(result_f0)
    b_all = st(perf_f0)
    index = np.clip(np.round(mapped / frame_s).astype(int), 0, len(b_all) - 1)
    b = b_all[index]
    both = inside & np.isfinite(a) & np.isfinite(b)
    if both.sum() < 20:
        return float("nan")
    return float(np.corrcoef(a[both], b[both])[0, 1])


#: The pitch offsets (semitones) of the renderings "WER of 3" is the mean over.
JITTER_ST = (-0.3, 0.3)


def wer_of_3(text: str, first: float, render, controls, rate: int) -> float:
    """The mean of ``first`` (the rendering's WER) and the WERs of ``render(controls)`` with
    the pitch control at each of JITTER_ST."""
    from voicestudio.audio.recognizer import transcribe
    from voicestudio.text.compare import word_error_rate

    return float(np.mean([first] + [
        word_error_rate(text, transcribe(render(replace(controls, pitch=j)), rate))
        for j in JITTER_ST]))


def plain_audio(synth, text: str, controls) -> np.ndarray:
    return np.concatenate([c.samples for c in synth.synthesize(text, controls)])


def performed_audio(synth, text: str, performance, strength: float, controls) -> np.ndarray:
    from voicestudio.voice.perform import ALL_TRANSFERS, PerformSettings, perform

    return perform(synth, text, performance, controls,
                   PerformSettings(ALL_TRANSFERS, strength)).audio


def dnsmos_scorer():
    """(P.808, OVRL) of a rendering; NaN, said once, when DNSMOS is not installed."""
    from voicestudio.evaluate.dnsmos import DnsmosScorer, DnsmosUnavailableError

    try:
        scorer = DnsmosScorer()
    except DnsmosUnavailableError as exc:
        print(f"naturalness not measured: {exc}")
        return lambda samples, rate: (float("nan"), float("nan"))

    def score(samples: np.ndarray, rate: int) -> tuple[float, float]:
        q = scorer.score(samples, rate)
        return q.p808, q.ovrl
    return score


#: How many of each performer's other recordings make the development set.
DEV_COUNT = {"pmatthes": 16, "ljspeech": 10}


def dev_sentences(files: dict, performer: str) -> list[str]:
    """Evenly spread recordings of 2.5-9 s that are not the four acceptance sentences: the
    set the transfer's rules (MAX_BRIDGE_S, LEVEL_GLIDE_S) were chosen on, so that the four
    stay a test. Some are refused by the performance checks or not aligned: reported."""
    import soundfile as sf

    names = [name for name, (path, _text) in files.items() if name not in SENTENCES
             and 2.5 < sf.info(str(path)).duration < 9.0]
    step = max(1, len(names) // DEV_COUNT[performer])
    return names[::step][:DEV_COUNT[performer]]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", nargs="*", default=list(SENTENCES))
    parser.add_argument("--dev", action="store_true",
                        help="instead, the sentences the transfer's rules were chosen on: up to "
                             "16 of pmatthes' and 10 of ljspeech's other recordings (2.5-9 s)")
    args = parser.parse_args(argv)

    from voicestudio.audio.aligner import align_words
    from voicestudio.audio.io import Audio, read_audio
    from voicestudio.audio.recognizer import transcribe
    from voicestudio.errors import VoiceStudioError
    from voicestudio.evaluate.secs import speaker_similarity
    from voicestudio.styling.controls import StyleControls
    from voicestudio.text.compare import word_error_rate
    from voicestudio.voice.catalog import load_voice
    from voicestudio.voice.perform import ALL_TRANSFERS, PerformSettings, perform, prepare_line
    from voicestudio.voice.performance import read_performance
    from voicestudio.voice.synthesizer import Synthesizer

    frame_s = FRAME_S
    f0_contour = speaker_f0
    synth = Synthesizer(load_voice(None, provider="cpu"))
    sr = synth.sample_rate
    started = now()
    timed = synth.voice.can_time
    print(f"the voice's timed copy (phoneme durations as an input): "
          f"{'made' if timed else 'not possible'} in {now() - started:.2f} s, once per voice")
    naturalness = dnsmos_scorer()
    controls = StyleControls(variability=0.0)
    rows: list[Row] = []
    reading_s: list[float] = []
    restrength_s: list[float] = []
    for performer in PERFORMERS:
        files = {p.stem: (p, t) for p, t in recordings(performer)}
        if not files:
            print(f"{performer}: the speech corpus is not on this machine; skipped")
            continue
        names = dev_sentences(files, performer) if args.dev else args.sentences
        for name in names:
            sentence_rows: list[Row] = []  # kept only when the whole sentence was measured
            try:
                path, text = files[name]
                take = read_audio(path)
                started = now()
                performance = read_performance(take.samples, take.sample_rate, text)
                reading_s.append(now() - started)
                perf_raw = praat_f0(take.samples, take.sample_rate)  # one wide pass, every frame
                perf_f0 = reliable_f0(take.samples, take.sample_rate)
                perf_words = performance.words
                started = now()
                plain = np.concatenate([c.samples for c in synth.synthesize(text, controls)])
                plain_s = now() - started
                plain_f0 = f0_contour(plain, sr)
                plain_words = align_words(plain, sr, text)
                plain_wer = word_error_rate(text, transcribe(plain, sr))
                sentence_rows.append(Row(
                    performer, name, "plain", timing_error_ms(plain_words, perf_words),
                    f0_correlation(plain_f0, plain_words, perf_f0, perf_words, frame_s),
                    f0_correlation(praat_f0(plain, sr), plain_words, perf_raw, perf_words,
                                   frame_s),
                    0.0, 1.0, plain_wer,
                    wer_of_3(text, plain_wer, partial(plain_audio, synth, text), controls, sr),
                    *naturalness(plain, sr), plain_s))
                for label, strength in (("performed 100 %", 1.0), ("performed 80 %", 0.8)):
                    started = now()
                    line = perform(synth, text, performance, controls,
                                   PerformSettings(ALL_TRANSFERS, strength))
                    took = now() - started
                    f0 = f0_contour(line.audio, sr)
                    words = align_words(line.audio, sr, text)
                    shift = 12 * np.log2(np.median(f0[f0 > 0]) / np.median(plain_f0[plain_f0 > 0]))
                    sentence_rows.append(Row(
                        performer, name, label, timing_error_ms(words, perf_words),
                        f0_correlation(f0, words, perf_f0, perf_words, frame_s),
                        f0_correlation(praat_f0(line.audio, sr), words, perf_raw, perf_words,
                                       frame_s), float(shift),
                        speaker_similarity(Audio(line.audio, sr), Audio(plain, sr)),
                        wer := word_error_rate(text, transcribe(line.audio, sr)),
                        wer_of_3(text, wer, partial(performed_audio, synth, text, performance,
                                                    strength), controls, sr),
                        *naturalness(line.audio, sr), took))
                prepared = prepare_line(synth, text, controls)  # as the Perform dialog holds it
                started = now()
                perform(synth, text, performance, controls, PerformSettings(ALL_TRANSFERS, 0.5),
                        prepared=prepared)
                restrength_s.append(now() - started)
            except VoiceStudioError as exc:  # refused, or a rendering not aligned (--dev)
                print(f"{performer} {name}: skipped ({exc})")
                continue
            rows += sentence_rows
    print("| performer | sentence | rendering | word starts, median error ms | F0 r | F0 r raw | "
          "median F0 vs plain st | SECS vs plain | WER | WER of 3 | DNSMOS P.808 | OVRL | s |")
    print("|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    for r in rows:
        print(f"| {r.performer} | {r.sentence} | {r.setting} | {r.timing_ms:.0f} | {r.f0_r:.2f} "
              f"| {r.f0_raw:.2f} | {r.median_st:+.2f} | {r.secs:.3f} | {r.wer:.2f} "
              f"| {r.wer3:.2f} | {r.p808:.2f} | {r.ovrl:.2f} | {r.seconds:.2f} |")
    print()
    for setting in ("plain", "performed 100 %", "performed 80 %"):
        sel = [r for r in rows if r.setting == setting]
        if sel:
            print(f"{setting}: timing {median(r.timing_ms for r in sel):.0f} ms, F0 r "
                  f"{median(r.f0_r for r in sel):.2f} (min {min(r.f0_r for r in sel):.2f}), "
                  f"raw {median(r.f0_raw for r in sel):.2f}, |median shift| max "
                  f"{max(abs(r.median_st) for r in sel):.2f} st, SECS min "
                  f"{min(r.secs for r in sel):.3f}, WER mean {np.mean([r.wer for r in sel]):.2f}"
                  f" (of 3: {np.mean([r.wer3 for r in sel]):.2f}), DNSMOS P.808 "
                  f"{np.mean([r.p808 for r in sel]):.2f} OVRL {np.mean([r.ovrl for r in sel]):.2f}"
                  f", time median {median(r.seconds for r in sel):.2f} s")
    if restrength_s:
        print(f"a strength change in the Perform dialog (the line's model output reused): "
              f"median {median(restrength_s):.2f} s (max {max(restrength_s):.2f})")
    if reading_s:
        print(f"reading a performance (checks, alignment, F0, level): median "
              f"{median(reading_s):.2f} s")
    if not args.dev:
        five_second_lines(synth, controls)
    return 0


#: The issue's timing goal is for a 5 s line: lines this long (s) are timed on their own.
FIVE_S = (4.6, 5.6)


def five_second_lines(synth, controls, per_performer: int = 3, repeats: int = 3) -> None:
    """Time to transfer a 5 s line (all transfers, 100 %) beside plain synthesis of it: the
    first few recordings of each performer about that long (not the four), the median of
    ``repeats`` each."""
    import soundfile as sf

    from voicestudio.audio.io import read_audio
    from voicestudio.errors import VoiceStudioError
    from voicestudio.voice.perform import ALL_TRANSFERS, PerformSettings, perform
    from voicestudio.voice.performance import read_performance

    added = []
    for performer in PERFORMERS:
        found = [(p, t) for p, t in recordings(performer) if p.stem not in SENTENCES
                 and FIVE_S[0] < sf.info(str(p)).duration < FIVE_S[1]][:per_performer]
        for path, text in found:
            take = read_audio(path)
            try:
                performance = read_performance(take.samples, take.sample_rate, text)
            except VoiceStudioError as exc:
                print(f"{performer} {path.stem}: skipped ({exc})")
                continue
            plain, performed = [], []
            for _ in range(repeats):
                started = now()
                plain_audio(synth, text, controls)
                plain.append(now() - started)
                started = now()
                perform(synth, text, performance, controls, PerformSettings(ALL_TRANSFERS, 1.0))
                performed.append(now() - started)
            added.append(median(performed) - median(plain))
            print(f"5 s line, {performer} {path.stem}: plain {median(plain):.2f} s, performed "
                  f"{median(performed):.2f} s (transfer +{added[-1]:.2f} s; the recording "
                  "read once before, as above)")
    if added:
        print(f"transfer of a 5 s line: +{min(added):.2f} … +{max(added):.2f} s "
              f"(goal ≤ 1 s)")


if __name__ == "__main__":
    sys.exit(main())
