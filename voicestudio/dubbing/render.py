"""Speak every line of a dub with its voice and style, fitted to its slot, with a cache.

A :class:`DubSession` holds a script, the settings and one result per line. Rendering
a line goes through a cache keyed by everything that decides its audio (text, voice
file, style controls, tempo), in memory and optionally in a folder of WAVs named by the
key's sha256, each with a JSON file beside it holding the line's word times, so "render
all" after an edit or a re-render of one line redoes only the lines that changed, and a
dub reopened later reuses the audio already made. A line whose text starts with
``<speak>`` is speech markup (spans and breaks), as everywhere in the app.

A line with a performance (``DubLine.perform``: a recording of it) is spoken with
:func:`voicestudio.voice.perform.perform`, delivered as the recording delivers it, and then
fitted to its cue like any line, by WORLD's tempo only (its durations are the performance's,
not the model's to change). The recording is read once per file and text; its identity (path,
size, modification time) and the perform settings are part of the cache key. A recording
that cannot be used (too short, silent, clipped, noisy, reading another text, gone since
the script was read) skips the line with a warning saying why, as an unspeakable line is.
"""

from __future__ import annotations

import bisect
import contextlib
import hashlib
import json
import math
from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from voicestudio.audio.io import read_audio, write_audio
from voicestudio.dubbing.mix import mix
from voicestudio.dubbing.script import (
    DubLine,
    DubScript,
    DubScriptError,
    check_line_text,
    check_performable,
    markup_error,
    set_line_performance,
)
from voicestudio.dubbing.timefit import SpokenLine, fit_to_slot
from voicestudio.dubbing.types import (
    CancelFn,
    DubRenderError,
    DubSettings,
    LineRender,
    LineStatus,
    LineWarning,
    ProgressFn,
    TooLongWarning,
)
from voicestudio.errors import AudioFileError, InputTextError, VoiceStudioError
from voicestudio.safety.watermark import embed
from voicestudio.styling.controls import CONTROL_SPECS, StyleControls, resolve
from voicestudio.text.lexicon import Lexicon, LexiconError
from voicestudio.text.markup import MarkupError
from voicestudio.voice.batch import RenderCancelled
from voicestudio.voice.catalog import load_voice, resolve_voice
from voicestudio.voice.perform import (
    PerformSettings,
    PreparedLine,
    perform,
    prepared_for,
    stretches_timing,
)
from voicestudio.voice.performance import Performance, PerformanceError, read_performance_file
from voicestudio.voice.synthesizer import Synthesizer, TextReport
from voicestudio.voice.timings import PhonemeTime, WordTime

#: Edges quieter than this (relative to the line's peak) are trimmed, so a line starts
#: speaking at its cue and its duration is the speech, not the model's trailing pause.
TRIM_FLOOR_DB = -50.0
TRIM_KEEP_S = 0.010
#: Bumped when rendering changes in a way that makes cached audio stale (3: markup lines
#: are read as markup, and every entry has its word times beside it; 4: a performed line's
#: timing is placed sound by sound and its intonation on the voice's median, and a styled
#: line's F0 has its octave slips folded; 5: a line's pitch and range controls and a
#: calibrated voice's shift are moved by overlap-add when nothing needs WORLD, and a
#: performed line's frames asked below 50 Hz are held there instead of left unmoved).
CACHE_VERSION = 5
#: Bumped when performed lines alone render differently, so plain lines' cached audio stays
#: (2: a performed line's timing is spoken by the model, not stretched in WORLD; 3: its
#: intonation and loudness are moved by overlap-add when no tempo needs WORLD; 4: a sound
#: spoken at the performance's timing keeps two frames, ``perform.MIN_SOUND_FRAMES``).
PERFORMED_CACHE_VERSION = 4
#: What the JSON file beside a cached WAV says it is.
CACHE_WORDS_FORMAT = "voicestudio-dub-words"

if TYPE_CHECKING:
    from voicestudio.dubbing.mix import DubMix


class DubSession:
    """A script being dubbed: render all, re-render one, then mix and export.

    ``synthesizer`` is a voice already loaded (the GUI's, the tests'): used when neither the
    line nor ``settings.voice`` names a voice, and whenever one they name is the same file.
    Other voices are loaded on first use, once each. ``cache_dir`` (optional) keeps rendered
    audio between sessions. One thread at a time: a GUI worker owns the session while it runs.
    """

    def __init__(
        self,
        script: DubScript,
        settings: DubSettings | None = None,
        synthesizer: Synthesizer | None = None,
        cache_dir: str | Path | None = None,
        lexicon: Lexicon | None = None,
    ) -> None:
        self.script = script
        # how words are said in every voice of the dub (default: the given voice's lexicon)
        self.lexicon = lexicon if lexicon is not None else (
            synthesizer.lexicon if synthesizer is not None else Lexicon())
        self.cache_dir = Path(cache_dir).expanduser() if cache_dir is not None else None
        self._cache: dict[str, SpokenLine] = {}
        # each performance recording read once per (file identity, text); a refusal is kept too
        self._performances: dict[tuple, Performance | VoiceStudioError] = {}
        # the performed line's model output while it renders: the fit tries several tempi
        # (dropped at each render_line, so a re-render is a new take and nothing is kept)
        self._prepared: PreparedLine | None = None
        self._voices: dict[Path, Synthesizer] = {}
        self._given = synthesizer
        self.model_runs = 0  # renders that were not in the cache (tests and benchmarks read it)
        # The cues in time order, as (start, index): a line edit changes its text, never its time.
        self._cue_order = sorted((line.start_s, line.index) for line in script.lines if line.timed)
        self.set_settings(settings or DubSettings())

    # -- public API -------------------------------------------------------------------------

    def set_settings(self, settings: DubSettings) -> None:
        """New voice, style, fit or output settings: every line goes back to pending, and the
        next :meth:`render_all` redoes only the lines whose audio the change affects (the rest
        come from the cache)."""
        settings = settings.validated()
        controls: dict[int, StyleControls] = {}
        for line in self.script.lines:  # bad per-line styling fails now, naming its line
            try:
                controls[line.index] = settings.controls.with_changes(**line.style_overrides())
            except VoiceStudioError as exc:
                raise DubScriptError(f"{self.script.source}, line {line.line_no}: {exc}") from exc
        self.settings, self._controls = settings, controls
        self.results: list[LineRender] = [LineRender(line) for line in self.script.lines]

    def mix(self) -> DubMix:
        """The rendered lines on the timeline, normalized (see
        :func:`voicestudio.dubbing.mix.mix`)."""
        return mix(self.results, self.settings, self.script.end_s)

    def render_all(
        self, progress: ProgressFn | None = None, cancelled: CancelFn | None = None
    ) -> list[LineRender]:
        """Render every line not done yet (cached lines cost nothing).

        ``progress(fraction, message)`` is called before each line; ``cancelled()`` returning
        True stops with :class:`RenderCancelled` (lines done so far keep their results).
        Unspeakable lines are skipped with a warning; if no line is speakable, raises.
        """
        self.load_voices()
        total = len(self.results)
        for number, result in enumerate(self.results, start=1):
            if cancelled is not None and cancelled():
                raise RenderCancelled()
            if result.done:
                continue
            if progress is not None:
                progress(
                    (number - 1) / total,
                    f"{result.line.unit} {number} of {total}: {result.line.written_text[:60]}",
                )
            self.render_line(result.line.index)
        if cancelled is not None and cancelled():
            raise RenderCancelled()
        if all(r.status is LineStatus.SKIPPED for r in self.results):
            raise DubRenderError("nothing speakable in any line of the script")
        if progress is not None:
            progress(1.0, f"rendered {total} line(s)")
        return self.results

    @property
    def done(self) -> bool:
        return all(r.done for r in self.results)

    def render_line(self, index: int, fresh: bool = False, text: str | None = None) -> LineRender:
        """(Re-)render line ``index`` (1-based). ``fresh`` renders anew instead of taking the
        cached audio (a new take of a random, variability > 0, voice); ``text`` edits the
        line (in this session's script too, so it survives :meth:`set_settings`)."""
        result = self._result(index)
        line = result.line
        self._prepared = None
        if text is not None:
            if not text.strip():
                raise InputTextError("nothing to say: the text is empty")
            check_line_text(text.strip(), line.line_no, self.script.source)
            if line.perform is not None:
                check_performable(text.strip(), line.label)
            line = replace(line, text=text.strip())
            self.script.lines[index - 1] = line
        synth = self._synth_for(line)
        controls = self._controls[index]
        performed = line.perform is not None

        def render_at(length_factor: float, world_speed: float) -> SpokenLine:
            if performed:  # the fit asks it for WORLD tempi only (model=False)
                return self._perform_cached(line, synth, controls, world_speed, refresh=fresh)
            return self._render_cached(
                line.text, synth, controls, length_factor, world_speed, refresh=fresh
            )

        new = LineRender(line, voice=synth.voice.name, sample_rate=synth.sample_rate)
        try:
            fit = fit_to_slot(render_at, synth.sample_rate, line.slot_s, self.settings.fit,
                              model=not performed)
        except MarkupError as exc:  # checked when the script was read: not a line to skip
            raise markup_error(exc, line.line_no, self.script.source) from exc
        except LexiconError as exc:  # a <phoneme> or lexicon symbol this voice lacks
            raise DubScriptError(f"{self.script.source}, line {line.line_no}: {exc}") from exc
        except InputTextError as exc:
            new.status, new.warnings = (
                LineStatus.SKIPPED,
                [LineWarning(line, f"nothing speakable, skipped: {exc}")],
            )
        except VoiceStudioError as exc:
            if not performed:
                raise
            # the recording cannot be used (PerformanceError and kin): no render, never a
            # garbled one; the reason is the warning
            new.status, new.warnings = (
                LineStatus.SKIPPED,
                [LineWarning(line, f"performance {line.perform.name} not used, skipped: {exc}")],
            )
        else:
            # Watermarked here, once per line, so the track and the stems (the line times the
            # track's gain) carry the same mark and still add up exactly.
            new.samples, new.natural_s, new.rendered_s = (
                embed(fit.samples, synth.sample_rate),
                fit.natural_s,
                fit.rendered_s,
            )
            new.tempo, new.fit_method = fit.tempo, fit.method
            new.words = _on_timeline(fit.words, line)
            new.status = LineStatus.RENDERED if fit.fits else LineStatus.TOO_LONG
            report = TextReport()  # what the text front end left out (cached audio does not say)
            sentences = list(synth.sentences(line.text, report))
            if fit.words is None:  # no durations: markup's spans and breaks were not placed
                report.unplaced_markup += sum(sentence.marked for sentence in sentences)
            if performed and stretches_timing(synth.voice, self.settings.perform):
                report.stretched_timing += len(sentences)
            new.warnings = [LineWarning(line, message) for message in report.messages()]
            if not fit.fits:
                new.warnings.append(self._too_long(line, fit.rendered_s, fit.tempo))
        self.results[index - 1] = new
        return new

    def set_performance(self, index: int, recording: str | Path | None) -> DubLine:
        """Perform line ``index`` like ``recording`` (None: the voice's own delivery again).
        Kept in this session's script, as a text edit is, so re-renders and new settings keep
        it; the line goes back to pending (render it with :meth:`render_line`). A missing or
        unreadable file raises :class:`DubScriptError`, naming the line."""
        self._result(index)
        line = set_line_performance(self.script, index, recording)
        self.results[index - 1] = LineRender(line)
        return line

    def _too_long(self, line: DubLine, rendered_s: float, tempo: float) -> TooLongWarning:
        """The warning for a line that still does not fit, with the cues it runs into."""
        ends_s = line.start_s + rendered_s
        later = self._cue_order[bisect.bisect_right(self._cue_order, (line.start_s, line.index)):]
        next_cue = self.script.lines[later[0][1] - 1] if later else None
        into: list[DubLine] = []
        for start_s, index in later:
            if start_s >= ends_s:
                break
            into.append(self.script.lines[index - 1])
        return TooLongWarning(
            line,
            rendered_s,
            tempo,
            self.settings.fit.fastest,
            next_cue,
            tuple(into),
            self.script.end_s,
        )

    def load_voices(self) -> None:
        """Load the default voice and every voice a line names, failing before any rendering."""
        for line in self.script.lines:
            try:
                self._synth_for(line)
            except VoiceStudioError as exc:
                if line.voice is None:
                    raise
                raise DubScriptError(f"{self.script.source}, line {line.line_no}: {exc}") from exc

    # -- rendering ---------------------------------------------------------------------------

    def _result(self, index: int) -> LineRender:
        if not 1 <= index <= len(self.results):
            raise VoiceStudioError(
                f"line {index} does not exist; the script has {len(self.results)} lines"
            )
        return self.results[index - 1]

    def _synth_for(self, line: DubLine) -> Synthesizer:
        """The line's voice, else the dub's, else the given synthesizer (or the bundled voice);
        each voice file is loaded once, and never when it is the given synthesizer's."""
        spec = line.voice or self.settings.voice
        if spec is None and self._given is not None:
            return self._given
        info = resolve_voice(spec)
        key = info.model_path.resolve()
        if self._given is not None and key == self._given.voice.model_path.resolve():
            return self._given
        if key not in self._voices:
            voice = load_voice(str(info.model_path), self.settings.provider, self.settings.threads)
            self._voices[key] = Synthesizer(voice, lexicon=self.lexicon)
        return self._voices[key]

    def cache_key(
        self,
        text: str,
        synth: Synthesizer,
        controls: StyleControls,
        length_factor: float = 1.0,
        world_speed: float = 1.0,
        performance: tuple[list, PerformSettings] | None = None,
    ) -> str:
        """sha256 of what decides a rendering: the text, the voice file, the style and the fit;
        for a performed line also the recording's identity (:func:`file_identity`) and what
        is carried over from it."""
        model = synth.voice.model_path
        try:
            stat = model.stat()
            voice_id: list = [str(model.resolve()), stat.st_size, stat.st_mtime_ns]
        except OSError:
            voice_id = [str(model)]
        key = {"v": CACHE_VERSION, "text": text, "voice": voice_id,
               "lexicon": [list(entry) for entry in synth.lexicon.fingerprint],
               "f0": synth.f0_method, "controls": asdict(controls),
               "fit": [round(length_factor, 4), round(world_speed, 4)]}
        if performance is not None:  # absent for plain lines: their keys stay as they were
            recording, settings = performance
            key["perform"] = {"v": PERFORMED_CACHE_VERSION, "file": recording,
                              "transfers": sorted(t.value for t in settings.transfers),
                              "strength": round(settings.strength, 4)}
        return hashlib.sha256(
            json.dumps(key, sort_keys=True, ensure_ascii=False).encode("utf-8")
        ).hexdigest()

    def _render_cached(
        self,
        text: str,
        synth: Synthesizer,
        controls: StyleControls,
        length_factor: float,
        world_speed: float,
        refresh: bool = False,
    ) -> SpokenLine:
        """The line from the cache, or rendered and cached; ``refresh`` renders anew and
        replaces it."""
        key = self.cache_key(text, synth, controls, length_factor, world_speed)
        return self._cached(key, synth.sample_rate, refresh,
                            lambda: speak(synth, text, controls, length_factor, world_speed))

    def _perform_cached(self, line: DubLine, synth: Synthesizer, controls: StyleControls,
                        world_speed: float, refresh: bool = False) -> SpokenLine:
        """A performed line from the cache, or performed and cached. The recording is read
        only when the cache misses (a cached line needs no alignment), once per file and
        text; a recording gone or changed since it was checked counts as a new one."""
        recording = file_identity(line.perform)
        key = self.cache_key(line.text, synth, controls, 1.0, world_speed,
                             performance=(recording, self.settings.perform))

        def make() -> SpokenLine:
            performance = self._performance(line.perform, recording, line.text)
            prepared = self._prepared = prepared_for(synth, line.text, controls, True,
                                                     self._prepared)
            return perform_line(synth, line.text, performance, controls, self.settings.perform,
                                world_speed, prepared)

        return self._cached(key, synth.sample_rate, refresh, make)

    def _performance(self, path: Path, recording: list, text: str) -> Performance:
        """The reading of ``path`` for ``text`` (forced alignment, pitch, level), or the
        reason it cannot be used, raised again on every ask."""
        key = (tuple(recording), text)
        if key not in self._performances:
            try:
                self._performances[key] = read_performance_file(path, text)
            except (PerformanceError, AudioFileError) as exc:
                self._performances[key] = exc
        found = self._performances[key]
        if isinstance(found, VoiceStudioError):
            raise found
        return found

    def _cached(self, key: str, rate: int, refresh: bool,
                make: Callable[[], SpokenLine]) -> SpokenLine:
        spoken = None if refresh else self._cache.get(key)
        if spoken is None and self.cache_dir is not None and not refresh:
            spoken = _read_cached(self.cache_dir / key, rate)
        if spoken is None:
            spoken = make()
            self.model_runs += 1
            if self.cache_dir is not None:
                self.cache_dir.mkdir(parents=True, exist_ok=True)
                _write_cached(self.cache_dir / key, spoken, rate)
        self._cache[key] = spoken
        return spoken


def file_identity(path: Path) -> list:
    """What says a recording is the same file: its path, size and modification time (in a
    cache key, a changed file makes new keys). AudioFileError when it is gone."""
    try:
        stat = path.stat()
    except OSError as exc:
        raise AudioFileError(f"the recording {path} is gone: {exc.strerror or exc}") from exc
    return [str(path), stat.st_size, stat.st_mtime_ns]


def speak(synth: Synthesizer, text: str, controls: StyleControls, length_factor: float = 1.0,
          world_speed: float = 1.0) -> SpokenLine:
    """``text`` styled with ``controls``, the model's ``length_scale`` times ``length_factor``
    and WORLD's tempo times ``world_speed`` (both keep the pitch), edges trimmed, with when
    each word is heard (seconds from the first kept sample).

    Each sentence is :meth:`Synthesizer.render_sentence` (so markup's spans and breaks are
    placed), but the pause between sentences is shortened with the tempo, as the fit
    expects, and none follows the last: the sentence pause ``render_sentence`` appends is
    taken off again (it is the chunk's last samples, silence). A break markup asks for
    before the first word or after the last is trimmed with the edges' silence.
    """
    params = resolve(controls, synth.calibration)
    params = replace(params, speed=params.speed * world_speed)
    tempo = 1.0 / length_factor
    rate = synth.sample_rate
    between = synth.pause(params.speed * tempo)
    appended = len(synth.pause(params.speed))  # what render_sentence puts after a sentence
    # Durations come from the predictor's mean (noise_w 0): with sampled durations every
    # render of a line has another length, and a tempo fitted on one render misses on the
    # next. Variability still changes the voice's timbre and intonation (noise_scale).
    length_scale = synth.voice.config.length_scale * length_factor
    parts: list[np.ndarray] = []
    words: list[WordTime] | None = []
    at = 0  # samples so far
    for sentence in synth.sentences(text, TextReport()):
        if parts:
            parts.append(between)
            at += len(between)
        output = synth.speaker_output(sentence, controls.variability,
                                      length_scale=length_scale, noise_w=0.0)
        chunk = synth.render_sentence(sentence, output, params)
        audio = chunk.samples[:len(chunk.samples) - appended]
        if chunk.words is None or words is None:
            words = None
        else:
            words.extend(w.shifted(at / rate) for w in chunk.words)
        parts.append(audio)
        at += len(audio)
    samples = np.concatenate(parts).astype(np.float32)
    return _trimmed(samples, None if words is None else tuple(words), rate)


#: The tempo a performed line may be given through the speed control (its own range).
_SPEED_RANGE = (CONTROL_SPECS["speed"].low, CONTROL_SPECS["speed"].high)


def perform_line(synth: Synthesizer, text: str, performance: Performance,
                 controls: StyleControls, settings: PerformSettings,
                 world_speed: float = 1.0, prepared: PreparedLine | None = None) -> SpokenLine:
    """``text`` delivered as ``performance`` delivers it (:func:`perform`), WORLD's tempo times
    ``world_speed`` (the fit's; pitch kept), edges trimmed, with when each word is heard.

    The fit's tempo goes in through the speed control, which styling applies in the performance's
    one pass (a WORLD pass, with a tempo; inserted pauses and the sentences' places scale with
    it), so a fitted performance costs no second pass; it stays within the control's range, and
    the fit measures what it got. ``prepared``: the line's model output (steady durations) from an
    earlier fitting render, so the model runs once per line, not once per tempo tried.
    """
    speed = float(np.clip(controls.speed * world_speed, *_SPEED_RANGE))
    line = perform(synth, text, performance, replace(controls, speed=speed), settings,
                   steady_durations=True,  # every fitting render of the line equally long
                   prepared=prepared)
    return _trimmed(line.audio.astype(np.float32), line.words, line.sample_rate)


def _trimmed(samples: np.ndarray, words: tuple[WordTime, ...] | None, rate: int) -> SpokenLine:
    """The edges' silence cut, the words moved into the kept audio (an edge word's quiet part
    may be cut)."""
    first, end = speech_span(samples, rate)
    kept_s = (end - first) / rate
    if words is not None:
        words = tuple(w.mapped(lambda t: min(max(t - first / rate, 0.0), kept_s)) for w in words)
    return SpokenLine(samples[first:end], words)


def trim_silence(samples: np.ndarray, rate: int) -> np.ndarray:
    """Cut leading and trailing silence (below :data:`TRIM_FLOOR_DB` of the peak), keeping 10 ms."""
    first, end = speech_span(samples, rate)
    return samples[first:end]


def speech_span(samples: np.ndarray, rate: int) -> tuple[int, int]:
    """The samples :func:`trim_silence` keeps, as ``(first, end)``."""
    peak = float(np.max(np.abs(samples), initial=0.0))
    if peak == 0.0:
        return 0, len(samples)
    loud = np.flatnonzero(np.abs(samples) >= peak * 10.0 ** (TRIM_FLOOR_DB / 20.0))
    keep = int(TRIM_KEEP_S * rate)
    return max(0, int(loud[0]) - keep), min(len(samples), int(loud[-1]) + 1 + keep)


def _on_timeline(words: tuple[WordTime, ...] | None, line: DubLine
                 ) -> tuple[WordTime, ...] | None:
    """A line's word times on the dub's timeline: from its cue's start (a line without a cue
    is placed by the mix, which shifts them again: :attr:`Placement.words`)."""
    if words is None or line.start_s is None:
        return words
    return tuple(w.shifted(line.start_s) for w in words)


def _read_cached(stem: Path, rate: int) -> SpokenLine | None:
    """A line from the cache folder (``KEY.wav`` and ``KEY.json``), or None when either is
    missing or unusable (it is then re-rendered)."""
    wav, words_file = stem.with_suffix(".wav"), stem.with_suffix(".json")
    if not wav.is_file() or not words_file.is_file():
        return None
    try:
        audio = read_audio(wav)  # refuses empty, unreadable and non-finite files
        record = json.loads(words_file.read_text(encoding="utf-8"))
        words = _words_from_json(record, len(audio.samples) / rate)
    except (AudioFileError, OSError, ValueError, TypeError, KeyError):
        return None
    if audio.sample_rate != rate:
        return None
    return SpokenLine(audio.samples, words)


def _write_cached(stem: Path, spoken: SpokenLine, rate: int) -> None:
    """The WAV, then its words (read back only when both are there)."""
    write_audio(stem.with_suffix(".wav"), spoken.samples, rate, fmt="float")
    record = {"format": CACHE_WORDS_FORMAT, "version": CACHE_VERSION,
              "words": None if spoken.words is None else [_word_json(w) for w in spoken.words]}
    try:
        stem.with_suffix(".json").write_text(json.dumps(record, ensure_ascii=False),
                                             encoding="utf-8")
    except OSError:  # a cache that cannot be written is only slower next time
        with contextlib.suppress(OSError):
            stem.with_suffix(".json").unlink()


def _word_json(word: WordTime) -> dict:
    # full precision (JSON floats round-trip exactly): a cached line has the same times
    return {"text": word.text, "start": word.start, "end": word.end, "sentence": word.sentence,
            "phonemes": [[p.symbol, p.start, p.end] for p in word.phonemes]}


def _words_from_json(record: dict, duration_s: float) -> tuple[WordTime, ...] | None:
    """The words of a cache record; ValueError (and kin) when it is not one of ours, or a
    time lies outside the audio."""
    if record["format"] != CACHE_WORDS_FORMAT or record["version"] != CACHE_VERSION:
        raise ValueError("not this version's cache record")
    if record["words"] is None:
        return None

    def seconds(value: object) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TypeError("a time must be a number")
        if not (math.isfinite(value) and 0.0 <= value <= duration_s + 1e-6):
            raise ValueError("a time outside the audio")
        return float(value)

    words = []
    for w in record["words"]:
        if not isinstance(w["text"], str) or not isinstance(w["sentence"], int):
            raise TypeError("a word needs its text and sentence")
        phonemes = tuple(PhonemeTime(str(symbol), seconds(a), seconds(b))
                         for symbol, a, b in w["phonemes"])
        words.append(WordTime(w["text"], seconds(w["start"]), seconds(w["end"]), w["sentence"],
                              phonemes))
    return tuple(words)
