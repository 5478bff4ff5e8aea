"""Speak every line of a dub with its voice and style, fitted to its slot, with a cache.

A :class:`DubSession` holds a script, the settings and one result per line. Rendering
a line goes through a cache keyed by everything that decides its audio (text, voice
file, style controls, tempo), in memory and optionally in a folder of WAVs named by the
key's sha256, so "render all" after an edit or a re-render of one line redoes only the
lines that changed, and a dub reopened later reuses the audio already made.
"""

from __future__ import annotations

import bisect
import hashlib
import json
from dataclasses import asdict, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from voicestudio.audio.io import read_audio, write_audio
from voicestudio.dubbing.mix import mix
from voicestudio.dubbing.script import DubLine, DubScript, DubScriptError, check_line_text
from voicestudio.dubbing.timefit import fit_to_slot
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
from voicestudio.styling.controls import StyleControls, resolve
from voicestudio.styling.render import TARGET_LEVEL_DBFS, set_level, style_audio
from voicestudio.text.lexicon import Lexicon
from voicestudio.voice.batch import RenderCancelled
from voicestudio.voice.catalog import load_voice, resolve_voice
from voicestudio.voice.synthesizer import Synthesizer, TextReport

#: Edges quieter than this (relative to the line's peak) are trimmed, so a line starts
#: speaking at its cue and its duration is the speech, not the model's trailing pause.
TRIM_FLOOR_DB = -50.0
TRIM_KEEP_S = 0.010
#: Bumped when rendering changes in a way that makes cached audio stale.
CACHE_VERSION = 2

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
        self._cache: dict[str, np.ndarray] = {}
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
                    f"{result.line.unit} {number} of {total}: {result.line.text[:60]}",
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
        if text is not None:
            if not text.strip():
                raise InputTextError("nothing to say: the text is empty")
            check_line_text(text.strip(), line.line_no, self.script.source)
            line = replace(line, text=text.strip())
            self.script.lines[index - 1] = line
        synth = self._synth_for(line)
        controls = self._controls[index]

        def render_at(length_factor: float, world_speed: float) -> np.ndarray:
            return self._render_cached(
                line.text, synth, controls, length_factor, world_speed, refresh=fresh
            )

        new = LineRender(line, voice=synth.voice.name, sample_rate=synth.sample_rate)
        try:
            fit = fit_to_slot(render_at, synth.sample_rate, line.slot_s, self.settings.fit)
        except InputTextError as exc:
            new.status, new.warnings = (
                LineStatus.SKIPPED,
                [LineWarning(line, f"nothing speakable, skipped: {exc}")],
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
            new.status = LineStatus.RENDERED if fit.fits else LineStatus.TOO_LONG
            report = TextReport()  # what the text front end left out (cached audio does not say)
            list(synth.sentences(line.text, report))
            new.warnings = [LineWarning(line, message) for message in report.messages()]
            if not fit.fits:
                new.warnings.append(self._too_long(line, fit.rendered_s, fit.tempo))
        self.results[index - 1] = new
        return new

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
    ) -> str:
        """sha256 of what decides a rendering: the text, the voice file, the style and the fit."""
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
    ) -> np.ndarray:
        """Audio from the cache, or rendered and cached; ``refresh`` renders anew and replaces
        it."""
        key = self.cache_key(text, synth, controls, length_factor, world_speed)
        audio = None if refresh else self._cache.get(key)
        if audio is None and self.cache_dir is not None and not refresh:
            audio = _read_cached(self.cache_dir / f"{key}.wav", synth.sample_rate)
        if audio is None:
            audio = speak(synth, text, controls, length_factor, world_speed)
            self.model_runs += 1
            if self.cache_dir is not None:
                self.cache_dir.mkdir(parents=True, exist_ok=True)
                write_audio(self.cache_dir / f"{key}.wav", audio, synth.sample_rate, fmt="float")
        self._cache[key] = audio
        return audio


def speak(synth: Synthesizer, text: str, controls: StyleControls, length_factor: float = 1.0,
          world_speed: float = 1.0) -> np.ndarray:
    """``text`` styled with ``controls``, the model's ``length_scale`` times ``length_factor``
    and WORLD's tempo times ``world_speed`` (both keep the pitch), edges trimmed.

    The same steps as :meth:`Synthesizer.synthesize`, which has no length argument: level,
    WORLD styling, a pause between sentences (shortened with the tempo), none after the last.
    """
    params = resolve(controls, synth.calibration)
    params = replace(params, speed=params.speed * world_speed)
    tempo = 1.0 / length_factor
    config = synth.voice.config
    parts: list[np.ndarray] = []
    for sentence in synth.sentences(text, TextReport()):
        if parts:
            parts.append(synth.pause(params.speed * tempo))
        # Durations come from the predictor's mean (noise_w 0): with sampled durations every
        # render of a line has another length, and a tempo fitted on one render misses on the
        # next. Variability still changes the voice's timbre and intonation (noise_scale).
        raw = synth.voice.infer(sentence.ids, noise_scale=config.noise_scale * controls.variability,
                                length_scale=config.length_scale * length_factor, noise_w=0.0)
        raw = set_level(raw, synth.sample_rate, TARGET_LEVEL_DBFS)
        parts.append(style_audio(raw, synth.sample_rate, params, f0_method=synth.f0_method))
    return trim_silence(np.concatenate(parts).astype(np.float32), synth.sample_rate)


def trim_silence(samples: np.ndarray, rate: int) -> np.ndarray:
    """Cut leading and trailing silence (below :data:`TRIM_FLOOR_DB` of the peak), keeping 10 ms."""
    peak = float(np.max(np.abs(samples), initial=0.0))
    if peak == 0.0:
        return samples
    loud = np.flatnonzero(np.abs(samples) >= peak * 10.0 ** (TRIM_FLOOR_DB / 20.0))
    keep = int(TRIM_KEEP_S * rate)
    return samples[max(0, loud[0] - keep): loud[-1] + 1 + keep]


def _read_cached(path: Path, rate: int) -> np.ndarray | None:
    """Audio from the cache folder, or None when missing or unusable (it is then re-rendered)."""
    if not path.is_file():
        return None
    try:
        audio = read_audio(path)  # refuses empty, unreadable and non-finite files
    except AudioFileError:
        return None
    return audio.samples if audio.sample_rate == rate else None
