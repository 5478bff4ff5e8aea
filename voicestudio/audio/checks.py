"""Quality checks on a recorded take, each with a verdict and a message a person can act on.

A voice is only as good as the takes it is trained on: a clipped, noisy or misread
take teaches the model exactly that. Each check here looks at one thing, says
"pass", "warn" (usable, but worth a retake) or "fail" (do not train on it), and
explains why in plain language. The audio is never modified; the speech span
found by the VAD is reported so the project can trim when it exports.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum

import numpy as np

from voicestudio.audio.cleanup import (
    VadUnavailableError,
    prepare_samples,
    segments_from_probabilities,
    span_of,
    speech_probabilities,
)
from voicestudio.audio.clipping import MIN_CLIP_RUN, full_scale_runs
from voicestudio.audio.levels import active_rms_dbfs
from voicestudio.audio.recognizer import transcribe
from voicestudio.audio.take_report import CheckResult, TakeReport
from voicestudio.text.compare import char_error_rate, error_rate_text, word_error_rate


class TakeOrigin(Enum):
    """Where a take came from: advice on a cut-off word differs for a live take and a file."""

    MICROPHONE = "microphone"
    FILE = "file"


_EPS = 1e-12
#: Figures are capped so that a digitally silent floor gives a finite, JSON-safe number.
_MAX_DB = 120.0


@dataclass(frozen=True)
class CheckConfig:
    """Every threshold the take checks use, with the reason for its value."""

    # -- level: RMS of the active speech (pauses excluded), in dBFS.
    # Read speech recorded well sits around -18..-24 dBFS (LJ Speech and the pmatthes
    # home recordings measure -18..-22); -35..-10 leaves room for soft and loud voices.
    level_warn_low_dbfs: float = -35.0
    # Below -45 dBFS the microphone's own hiss and 16-bit quantization are close to the
    # speech; raising the level afterwards raises them with it.
    level_fail_low_dbfs: float = -45.0
    level_warn_high_dbfs: float = -10.0
    # Speech peaks 15-20 dB above its RMS, so above -6 dBFS the peaks cannot fit
    # below full scale without clipping or heavy limiting.
    level_fail_high_dbfs: float = -6.0

    # -- clipping. A sample at |x| >= clip_level is at full scale.
    clip_level: float = 0.999
    # A run of this many full-scale samples is a flat top: the converter clipped.
    # One or two can be a legitimate peak touching full scale after normalization.
    clip_run_samples: int = MIN_CLIP_RUN
    # Isolated full-scale samples this common (0.1 %) are clipping too, just spread out.
    clip_share_fail: float = 1e-3

    # -- noise: SNR from 20 ms frame powers. The noise floor is a low percentile of
    # all frames: the quietest moments of the take, before speaking or between words.
    # The 2nd percentile, not the 10th, because pre-trimmed clips have almost no
    # silence: on the raw LJ Speech / pmatthes clips the 10th percentile lands in soft
    # phonemes and reads 17-23 dB for clean audio; the 2nd reads >= 32 dB (median 45),
    # and on speech with added white noise it reads the true SNR within 0.6 dB.
    noise_frame_s: float = 0.02
    noise_percentile: float = 2.0
    snr_warn_db: float = 30.0
    # Below 20 dB the noise is plainly audible under the speech: retake somewhere quieter.
    snr_fail_db: float = 20.0

    # -- speech duration (first to last speech found by the VAD).
    # A single word gives the model almost nothing to learn prosody from.
    min_speech_warn_s: float = 1.0
    # Under half a second is a false start or a cough, not a reading.
    min_speech_fail_s: float = 0.5
    # VITS training batches by length; takes over ~15 s cost GPU memory and are
    # usually two sentences that should be separate prompts.
    max_speech_warn_s: float = 15.0
    max_speech_fail_s: float = 20.0
    # -- the whole take, silence included: longer means the recorder was left running.
    max_take_s: float = 30.0

    # -- VAD trimming.
    vad_threshold: float = 0.5  # silero's default speech probability threshold
    vad_min_speech_s: float = 0.25  # drops clicks and knocks at the edges
    vad_min_silence_s: float = 0.1  # pauses shorter than this stay inside speech
    # Kept around the speech: the detector's 32 ms windows can shave soft onsets
    # (an initial "h" or "f") and the decay of the last word.
    trim_pad_s: float = 0.1
    # Speech this close to either end suggests the recording started late or
    # stopped early and a word was cut off.
    edge_margin_s: float = 0.05

    # -- reading the prompt: PocketSphinx transcript against the prompt. Judged by
    # character error rate (CER) of the normalized words, not WER: PocketSphinx garbles
    # accented or home-microphone speech into near-miss words ("narrowing of the modern
    # letters" heard as "narrowing off the model leftovers"), which WER counts as wholly
    # wrong and CER as mostly right. Measured with check_take on every clip of LJ Speech
    # (32) and pmatthes (141), padded with 0.5 s of -60 dBFS hiss like a recording,
    # own prompt vs each other prompt of the same speaker (992 / 19740 pairs):
    #   CER own median 0.12 / 0.25, max 0.41 / 0.60; other 1st percentile 0.68 / 0.68.
    #   WER own median 0.22 / 0.55, max 0.64 / 1.06; other 1st percentile 0.84 / 0.87,
    #   so a WER threshold of 0.85 would flag 11 of 141 good pmatthes takes.
    # At CER 0.65 no good take is flagged and 0.5 % / 0.08 % of wrong prompts pass
    # (0.70 would let 3-4 % through). Only a warning: the recognizer is weak and the
    # user may accept the take (``accepted_by_user`` lives in the project).
    asr_warn_cer: float = 0.65


# ---------------------------------------------------------------- individual checks


def check_level(speech: np.ndarray, sample_rate: int, config: CheckConfig) -> CheckResult:
    """Active-speech RMS against the level window (pauses do not make a take "quiet")."""
    if not np.any(speech):
        return CheckResult(
            "level",
            "fail",
            "The take is digitally silent: check the microphone is connected and selected.",
            None,
        )
    level = active_rms_dbfs(speech, sample_rate)
    window = f"aim for {config.level_warn_low_dbfs:.0f} to {config.level_warn_high_dbfs:.0f} dBFS"
    if level < config.level_fail_low_dbfs:
        verdict, text = "fail", "Far too quiet"
    elif level < config.level_warn_low_dbfs:
        verdict, text = "warn", "Quiet"
    elif level > config.level_fail_high_dbfs:
        verdict, text = "fail", "Far too loud"
    elif level > config.level_warn_high_dbfs:
        verdict, text = "warn", "Loud"
    else:
        return CheckResult("level", "pass", f"Speech level {level:.1f} dBFS is good.", level)
    advice = (
        "move closer to the microphone or raise the input gain"
        if level < config.level_warn_low_dbfs
        else "lower the input gain or move back from the microphone"
    )
    return CheckResult(
        "level", verdict, f"{text}: speech level {level:.1f} dBFS ({window}); {advice}.", level
    )


def check_clipping(channels: np.ndarray, config: CheckConfig) -> CheckResult:
    """Full-scale runs and share, per channel before mixing (mixing can hide a clipped channel)."""
    runs = full_scale_runs(channels, config.clip_level)
    count, longest = runs.count, runs.longest
    share = count / max(1, channels.size)
    if runs.clipped(config.clip_run_samples) or share >= config.clip_share_fail:
        return CheckResult(
            "clipping",
            "fail",
            f"Clipped: {count} samples hit full scale (longest run {longest}); "
            "lower the input gain and record again — clipping cannot be undone.",
            share,
        )
    if count:
        return CheckResult(
            "clipping",
            "warn",
            f"Peaks touch full scale ({count} samples); there is no headroom, "
            "lower the gain a little.",
            share,
        )
    return CheckResult("clipping", "pass", "No clipping.", 0.0)


def frame_powers(samples: np.ndarray, sample_rate: int, frame_s: float) -> np.ndarray:
    """Mean power of consecutive frames (the last partial frame is dropped)."""
    hop = max(1, int(round(frame_s * sample_rate)))
    n = len(samples) // hop
    if n == 0:
        return np.array([np.mean(np.asarray(samples, np.float64) ** 2)])
    x = np.asarray(samples[: n * hop], dtype=np.float64).reshape(n, hop)
    return np.mean(x**2, axis=1)


def estimate_snr(
    samples: np.ndarray,
    sample_rate: int,
    segments: list[tuple[float, float]] | None,
    config: CheckConfig,
) -> tuple[float, float]:
    """(SNR in dB, noise floor in dBFS) from frame powers.

    Noise is the ``noise_percentile`` of all frames; speech the mean of the frames
    inside ``segments`` (or the louder half when there are no segments), minus the
    noise that is mixed into them.
    """
    powers = frame_powers(samples, sample_rate, config.noise_frame_s)
    noise = float(np.percentile(powers, config.noise_percentile))
    hop_s = len(samples) / sample_rate / len(powers) if len(powers) > 1 else config.noise_frame_s
    centres = (np.arange(len(powers)) + 0.5) * hop_s
    in_speech = np.zeros(len(powers), dtype=bool)
    for start, end in segments or []:
        in_speech |= (centres >= start) & (centres < end)
    if not in_speech.any():
        in_speech = powers >= np.median(powers)
    speech = float(np.mean(powers[in_speech]))
    snr = 10.0 * math.log10(max(speech - noise, _EPS) / max(noise, _EPS))
    floor = 10.0 * math.log10(max(noise, _EPS))
    return min(snr, _MAX_DB), floor


def check_noise(
    samples: np.ndarray,
    sample_rate: int,
    segments: list[tuple[float, float]] | None,
    config: CheckConfig,
) -> CheckResult:
    snr, floor = estimate_snr(samples, sample_rate, segments, config)
    detail = f"speech {snr:.0f} dB above the background noise (noise floor {floor:.0f} dBFS)"
    if snr < config.snr_fail_db:
        return CheckResult(
            "noise",
            "fail",
            f"Too noisy: {detail}; record somewhere quieter or closer to the microphone.",
            snr,
        )
    if snr < config.snr_warn_db:
        return CheckResult(
            "noise", "warn", f"Some background noise: {detail}; the voice may learn the hiss.", snr
        )
    return CheckResult("noise", "pass", f"Quiet background: {detail}.", snr)


def check_duration(speech_s: float | None, config: CheckConfig) -> CheckResult:
    """Speech length (the VAD span; the whole take when the VAD is unavailable)."""
    if speech_s is None:
        return CheckResult("duration", "fail", "No speech found in the take.", 0.0)
    if speech_s < config.min_speech_fail_s:
        return CheckResult(
            "duration",
            "fail",
            f"Too short: only {speech_s:.2f} s of speech; read the whole prompt.",
            speech_s,
        )
    if speech_s < config.min_speech_warn_s:
        return CheckResult(
            "duration",
            "warn",
            f"Very short: {speech_s:.2f} s of speech gives the voice little to learn from.",
            speech_s,
        )
    if speech_s > config.max_speech_fail_s:
        return CheckResult(
            "duration",
            "fail",
            f"Too long: {speech_s:.1f} s of speech (at most {config.max_speech_fail_s:.0f} s); "
            "split it into shorter prompts.",
            speech_s,
        )
    if speech_s > config.max_speech_warn_s:
        return CheckResult(
            "duration",
            "warn",
            f"Long: {speech_s:.1f} s of speech "
            f"(over {config.max_speech_warn_s:.0f} s uses more memory in training).",
            speech_s,
        )
    return CheckResult("duration", "pass", f"Speech lasts {speech_s:.1f} s.", speech_s)


def check_length(
    take_s: float, config: CheckConfig, origin: TakeOrigin = TakeOrigin.MICROPHONE
) -> CheckResult:
    if take_s > config.max_take_s:
        advice = ("was the recorder left running?" if origin is TakeOrigin.MICROPHONE
                  else "cut the file into one sentence per clip.")
        return CheckResult(
            "length",
            "fail",
            f"The take is {take_s:.0f} s long (at most {config.max_take_s:.0f} s); {advice}",
            take_s,
        )
    return CheckResult("length", "pass", f"Take length {take_s:.1f} s.", take_s)


def check_speech_span(
    segments: list[tuple[float, float]] | None,
    take_s: float,
    config: CheckConfig,
    vad_error: str | None,
    origin: TakeOrigin = TakeOrigin.MICROPHONE,
) -> CheckResult:
    """Where the speech is: trimming needs it, and speech at an edge means a cut-off word."""
    live = origin is TakeOrigin.MICROPHONE
    if segments is None:
        return CheckResult(
            "speech", "warn", f"VAD unavailable, silence not trimmed: {vad_error}", None
        )
    if not segments:
        return CheckResult("speech", "fail", "No speech found: the take is silence or noise.", None)
    start, end = segments[0][0], segments[-1][1]
    if start < config.edge_margin_s:
        return CheckResult(
            "speech",
            "warn",
            "Speech starts right at the beginning: the first word may be cut off; "
            "leave a short pause before speaking."
            if live
            else "Speech starts right at the beginning of the file: the first word may be cut off "
            "(the clip may be trimmed too tightly; listen to its start).",
            start,
        )
    if take_s - end < config.edge_margin_s:
        return CheckResult(
            "speech", "warn", "Speech runs to the very end: the last word may be cut off; "
            "wait a moment before stopping." if live else
            "Speech runs to the very end of the file: the last word may be cut off "
            "(the clip may be trimmed too tightly; listen to its end).", start
        )
    return CheckResult(
        "speech",
        "pass",
        f"Speech from {start:.2f} s to {end:.2f} s; {start:.1f} s of silence before "
        f"and {take_s - end:.1f} s after will be trimmed.",
        start,
    )


def check_reading(hypothesis: str, prompt: str, config: CheckConfig) -> CheckResult:
    """Did the take say the prompt? A warning only: the recognizer itself is error-prone."""
    cer = char_error_rate(prompt, hypothesis)
    wer = word_error_rate(prompt, hypothesis)
    heard = hypothesis or "(nothing)"
    figures = f"{error_rate_text(cer)}, {error_rate_text(wer, 'word')}"
    if cer > config.asr_warn_cer:
        return CheckResult(
            "asr",
            "warn",
            f"The recognizer heard something different from the prompt ({figures}): "
            f"“{heard}”. Check the reading, or accept the take if it is right.",
            cer,
        )
    return CheckResult("asr", "pass", f"The reading matches the prompt ({figures}).", cer)


# ---------------------------------------------------------------- all together


def check_take(
    samples: np.ndarray,
    sample_rate: int,
    prompt: str | None = None,
    config: CheckConfig | None = None,
    origin: TakeOrigin = TakeOrigin.MICROPHONE,
) -> TakeReport:
    """Run every check on one take (the reading check only when a prompt is given).

    ``samples`` is mono or frames × channels (mixed to mono, clipping judged per
    channel), float in [-1, 1]. Raises :class:`~voicestudio.audio.cleanup.InvalidAudioError`
    for empty, NaN or wrongly shaped input. A missing VAD is reported as a warning.
    """
    config = config or CheckConfig()
    mono = prepare_samples(samples, sample_rate)
    channels = np.asarray(samples, dtype=np.float32)
    take_s = len(mono) / sample_rate

    segments: list[tuple[float, float]] | None
    vad_error = None
    try:
        probs = speech_probabilities(mono, sample_rate)
        segments = segments_from_probabilities(
            probs, take_s, config.vad_threshold, config.vad_min_speech_s, config.vad_min_silence_s
        )
    except VadUnavailableError as exc:
        segments, vad_error = None, str(exc)

    span = span_of(segments, take_s, config.trim_pad_s) if segments else None
    kept = (
        mono
        if span is None
        else mono[int(round(span[0] * sample_rate)) : int(round(span[1] * sample_rate))]
    )
    if segments is None:
        speech_s: float | None = take_s
    else:
        speech_s = round(segments[-1][1] - segments[0][0], 4) if segments else None

    report = TakeReport(
        speech_start_s=span[0] if span else None, speech_end_s=span[1] if span else None
    )
    report.checks += [
        check_speech_span(segments, take_s, config, vad_error, origin),
        check_duration(speech_s, config),
        check_length(take_s, config, origin),
        check_level(kept, sample_rate, config),
        check_clipping(channels, config),
        check_noise(mono, sample_rate, segments, config),
    ]
    if prompt is not None and prompt.strip():
        report.checks.append(_reading(kept, sample_rate, prompt, config, report))
    return report


def _reading(
    kept: np.ndarray, sample_rate: int, prompt: str, config: CheckConfig, report: TakeReport
) -> CheckResult:
    try:
        hypothesis = transcribe(kept, sample_rate)
    except ImportError as exc:  # pocketsphinx missing from a broken install
        return CheckResult(
            "asr", "warn", f"Speech recognizer unavailable, reading not checked: {exc}", None
        )
    report.asr_text = hypothesis
    return check_reading(hypothesis, prompt, config)
