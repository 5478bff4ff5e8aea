"""Perform it: a voice speaks a line with the timing, intonation and loudness of a recording.

The line is synthesized plainly first; its words' and phonemes' times come from the model's
durations, the performance's words from forced alignment (``voice/performance.py``), and
inside each word the place of each of the model's phonemes in the performance from a
spectral warp of the two readings of the word (``audio/spectral_align.py``). Sound by sound,
what the user chose is then carried over: **timing** as a length per phoneme and per pause,
which the model speaks itself (``VoiceModel.infer_timed``; a pause the synthesis lacks is
inserted as silence; for a voice whose graph cannot take durations, a rate per frame of the
plain rendering in WORLD), and, as per-frame edits (``styling.world.FrameEdits``, made on
the model's own samples by overlap-add, or in the one WORLD pass styling makes when a
style control or a stretched timing needs it), **intonation** as the performance's F0
contour in semitones around its speaker's median, scaled to the voice's own range and laid on
the voice's own median (so a low voice can direct a high one and the result keeps its
register; the whole line is then moved so the result's median is the voice's), and
**loudness** as the performance's level contour relative to its own median. Each is blended
with the plain rendering by one strength; the style sliders still apply on top. The
intonation is taken only from the performance's reliable pitch (two trackers agreeing): short
gaps (a consonant) are bridged, and over a long stretch without it (creak, disagreeing
trackers) the voice keeps its own movement, the edit gliding between the edits around it, so
an unvoiced stretch or a tracker's slip in the performance never reaches the output; the
loudness is followed at the scale of syllables.
"""

from __future__ import annotations

import difflib
import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from enum import Enum

import numpy as np

from voicestudio.audio.aligner import AlignedWord
from voicestudio.audio.spectral_align import FRAME_S as FEATURE_S
from voicestudio.audio.spectral_align import spectral_features, warp
from voicestudio.errors import ControlRangeError, VoiceStudioError
from voicestudio.styling.controls import StyleControls, resolve
from voicestudio.styling.world import FrameEdits, WorldAnalysis, analyze, frame_hop
from voicestudio.text.markup import reads_as_markup
from voicestudio.voice.model import Inference, VoiceModel
from voicestudio.voice.performance import Performance, frame_levels_db
from voicestudio.voice.spans import smoothed
from voicestudio.voice.synthesizer import Restyle, Sentence, SpeechChunk, Synthesizer, TextReport
from voicestudio.voice.timings import Pause, TimeMap, WordTime, sentence_word_times


class Transfer(Enum):
    TIMING = "timing"
    PITCH = "pitch"
    ENERGY = "energy"


ALL_TRANSFERS = frozenset(Transfer)
#: The strength a performance is carried over with unless the user says otherwise: most of
#: the performance, with a little of the voice's own delivery left to smooth it.
DEFAULT_STRENGTH = 0.8
#: A word is played at most this much slower or faster than the voice would say it.
MIN_RATE, MAX_RATE = 0.25, 4.0
#: A pause may shrink much further: it is (near) silence, which has nothing to smear.
MAX_PAUSE_RATE = 50.0
#: A performance pause longer than the synthesis' by more than this is inserted as silence
#: (stretching a few frames of near-silence that far would smear the words around it).
MIN_INSERTED_PAUSE_S = 0.03
#: Shortest word the performance is taken to hold (an aligner's zero-length word).
MIN_WORD_S = 0.02
#: Shortest sound inside a word (the spectral warp can place two boundaries on one frame).
MIN_SOUND_S = 0.005
#: Inside a word its sounds are placed in the performance by the spectral warp (False: the
#: word stretched evenly, the rule before). On 53 sentences of both speakers outside the
#: acceptance four: F0 correlation +0.019 on average (0.889 -> 0.909, standard error
#: 0.005), the recognizer's word error rate unchanged (-0.000, s.e. 0.012; the mean of three
#: renderings 0.3 st apart, as one rendering's moves by 0.04 with such a shift). Half the
#: warp, a pull toward the even stretch, or limits on each sound's rate gained less on 26.
SOUND_LEVEL_TIMING = True
#: Timing is spoken by the model itself: each phoneme id given the length the performance
#: gives it (``VoiceModel.infer_timed``), rather than the plain rendering stretched and
#: squeezed frame by frame in WORLD (the rule before, and still the one for a voice whose
#: graph cannot take durations). On 27 sentences of both speakers outside the acceptance
#: four, with timing alone: DNSMOS P.808 4.05 against 3.97 stretched (+0.07, standard error
#: 0.02; the plain rendering 4.09), overall 3.23 against 3.19; with all three transfers on 53,
#: WER of three −0.009 (s.e. 0.015) and F0 correlation +0.003 (s.e. 0.006): no change.
MODEL_TIMING = True
#: A sound the model speaks at a performance's timing (a phoneme id: a phoneme, or the pad
#: the model reads between two) keeps at least this many frames (23 ms at 22.05 kHz), or its
#: own length if shorter: squeezed to one, as about 4 % of the ids of ljspeech's readings
#: were, it is barely heard ...
MIN_SOUND_FRAMES = 2
#: ... while that puts the sounds no more than this many frames behind where the performance
#: ends them (the sounds after it give the frame back; one frame each, as none may vanish,
#: can put them further behind): a performance faster than two frames a sound throughout
#: keeps its words' timing. On 82 sentences of both speakers outside the
#: acceptance four (22 of ljspeech's and 60 of pmatthes', 2.5–9 s long), all three
#: transfers at 100 %: WER of three −0.014 (standard error 0.007; pmatthes −0.015, ljspeech
#: −0.013) against one frame at least, F0 correlation +0.004 (0.004), word timing −0.5 ms (0.5),
#: DNSMOS P.808 +0.005 (0.006). Allowed two frames behind: −0.020 (0.008), but a test's
#: x-fast performance then lost 11 ms more of its words' timing; unbounded: the same on the
#: natural readings, and that performance's words up to 0.22 s late.
MAX_SOUND_LAG_FRAMES = 1
#: Timings each sentence of a prepared line keeps spoken (a few strengths or tempi).
RESPOKEN_KEPT = 4
#: The performance's pitch range is scaled to the voice's by at most this factor either way.
RANGE_RATIO_LIMITS = (0.5, 2.0)
#: Reliable pitch frames this far apart or further in the performance (its trackers
#: disagree, the voice creaks, a long voiceless run) is not bridged by a line drawn across
#: it: there the voice keeps its own movement, shifted by the edits on either side. Shorter
#: gaps (a consonant between two vowels) are bridged. On 25 sentences of both speakers
#: outside the acceptance four: F0 correlation 0.875 -> 0.885 mean (0.894 -> 0.912 median).
MAX_BRIDGE_S = 0.15
#: Loudness edits are bounded; their edges glide.
MAX_GAIN_DB = 12.0
PITCH_GLIDE_S = 0.03
#: The loudness contour is carried over at the scale of syllables, not of sounds: followed
#: frame by frame it gave the voice the performer's consonant/vowel balance as well, and
#: PocketSphinx's word error rate rose by 0.049 on average over 26 sentences outside the
#: acceptance four (loudness alone; all transfers +0.056). Averaged over 150 ms: +0.016
#: (all transfers +0.028), F0 correlation unchanged.
LEVEL_GLIDE_S = 0.15
#: Frames quieter than this below the loudest count as silence when levels are compared.
ACTIVE_RANGE_DB = 35.0
#: Gap kept between two sentences' speech when timing moves them closer.
MIN_SENTENCE_GAP_S = 0.05


#: Why a performed line cannot be speech markup, in every front end's words.
MARKUP_REFUSAL = ("a performed line takes its delivery from the recording, so its text "
                  "cannot be speech markup; write it without <speak>")


def is_performable(text: str, markup: bool | None = None) -> bool:
    """Whether ``text`` can be performed: not when it would be read as speech markup (the
    opt-in rule of ``text.markup.reads_as_markup``)."""
    return not reads_as_markup(text, markup)


@dataclass(frozen=True)
class PerformSettings:
    """What to carry over from the performance, and how much (0 … 1)."""

    transfers: frozenset[Transfer] = ALL_TRANSFERS
    strength: float = DEFAULT_STRENGTH

    def validated(self) -> PerformSettings:
        if not 0.0 <= self.strength <= 1.0:
            raise ControlRangeError(f"strength must be 0 to 100 % (got {self.strength:.0%})")
        return self

    @property
    def neutral(self) -> bool:
        return not self.transfers or self.strength == 0.0


def stretches_timing(voice: VoiceModel, settings: PerformSettings) -> bool:
    """Whether ``settings`` carry a performance's timing over by stretching the plain
    rendering in WORLD, since ``voice``'s graph cannot take durations: the user is told, as
    it sounds less natural (a timed graph that fails to run is stretched too, which only
    :func:`perform`'s own report tells)."""
    return (Transfer.TIMING in settings.transfers and not settings.neutral and MODEL_TIMING
            and not voice.can_time)


@dataclass(frozen=True)
class PerformedLine:
    audio: np.ndarray
    sample_rate: int
    #: When each word is heard in ``audio``.
    words: tuple[WordTime, ...]


@dataclass(frozen=True)
class _Prepared:
    sentence: Sentence
    output: Inference
    analysis: WorldAnalysis | None  # None: not needed (a re-spoken sentence with no edits)
    words: tuple[WordTime, ...]  # seconds in the model's output
    features: np.ndarray | None  # audio.spectral_align's, of the model's output (None: unused)


@dataclass(frozen=True)
class _VoicePitch:
    median_hz: float
    range_st: float


@dataclass(frozen=True, eq=False)
class PreparedLine:
    """A line's plain model output, sentence by sentence, with its WORLD analysis and word
    times: the part of :func:`perform` that no performance or setting changes. Whoever
    renders one line again and again with other settings (the Perform dialog while a
    strength is dragged) keeps it, so the plain model output and its analysis are made once
    per line rather than once per step (with timing, the model speaks the line again at
    each new timing, the last few kept in :attr:`respoken`), and the plain rendering for A/B
    is the take the result is made from (:func:`render_plain`). Read-only once made, but for
    :attr:`respoken`."""

    #: What it was made with: the voice (compared by identity), the pronunciations, the
    #: pitch tracker, the text and the model's randomness.
    key: tuple
    sentences: tuple[_Prepared, ...]
    report: TextReport
    #: The sentences spoken again at other timings (:func:`_spoken_at`), the last few used
    #: of each, by (sentence, frames per phoneme id): a dub fit's tempi and a strength
    #: tried again reuse them. Not part of what the line is.
    respoken: OrderedDict = field(default_factory=OrderedDict, compare=False, repr=False)
    _respoken_lock: threading.Lock = field(default_factory=threading.Lock, compare=False,
                                           repr=False)

    def fits(self, synth: Synthesizer, text: str, controls: StyleControls,
             steady_durations: bool = False) -> bool:
        """Whether this is the line ``perform`` would prepare for these arguments (the other
        style controls apply after the model, so they may differ)."""
        return self.key == _prepared_key(synth, text, controls, steady_durations)


def _prepared_key(synth: Synthesizer, text: str, controls: StyleControls, steady: bool
                  ) -> tuple:
    return (id(synth.voice), synth.lexicon.fingerprint, synth.f0_method, text,
            controls.variability, steady)


def prepared_for(synth: Synthesizer, text: str, controls: StyleControls | None = None,
                 steady_durations: bool = False, held: PreparedLine | None = None
                 ) -> PreparedLine:
    """``held`` when it :meth:`~PreparedLine.fits` these arguments, else the line prepared
    anew (:func:`prepare_line`): the one rule for reusing a line's model output."""
    controls = (controls or StyleControls()).validated()
    if held is not None and held.fits(synth, text, controls, steady_durations):
        return held
    return prepare_line(synth, text, controls, steady_durations)


def prepare_line(synth: Synthesizer, text: str, controls: StyleControls | None = None,
                 steady_durations: bool = False) -> PreparedLine:
    """Run the voice model on ``text`` and analyse its output (see :class:`PreparedLine`).
    ``steady_durations``: the model's durations without their random part (dubbing fits a
    line's length by rendering it again, which needs the same length every time)."""
    controls = (controls or StyleControls()).validated()
    if not is_performable(text):
        raise VoiceStudioError(MARKUP_REFUSAL[:1].upper() + MARKUP_REFUSAL[1:])
    if not synth.voice.has_durations:
        raise VoiceStudioError(f"voice {synth.voice.name} gives no phoneme durations, which "
                               f"performing needs ({synth.voice.no_durations_reason})")
    sr = synth.sample_rate
    report = TextReport()
    prepared = []
    for sentence in synth.sentences(text, report, markup=False):
        output = synth.speaker_output(sentence, controls.variability,
                                      noise_w=0.0 if steady_durations else None)
        analysis = analyze(output.audio, sr, method=synth.f0_method, envelopes_now=False)
        words = sentence_word_times(sentence.words, sentence.phonemes, sentence.id_spans,
                                    output.samples_per_id,
                                    TimeMap.tempo(len(output.audio), sr), sentence.index)
        prepared.append(_Prepared(sentence, output, analysis, words,
                                  spectral_features(output.audio, sr)))
    return PreparedLine(_prepared_key(synth, text, controls, steady_durations),
                        tuple(prepared), report)


def render_plain(synth: Synthesizer, line: PreparedLine, controls: StyleControls | None = None
                 ) -> PerformedLine:
    """The prepared line in the voice's own delivery (the style controls applied): the A/B
    reference of a performed rendering made from the same ``line``."""
    params = resolve((controls or StyleControls()).validated(), synth.calibration)
    chunks = [synth.render_sentence(p.sentence, p.output, params, p.analysis)
              for p in line.sentences]
    return _placed(chunks, (), 0.0, params.speed, synth.sample_rate)


def perform(synth: Synthesizer, text: str, performance: Performance,
            controls: StyleControls | None = None, settings: PerformSettings | None = None,
            report: TextReport | None = None, steady_durations: bool = False,
            prepared: PreparedLine | None = None) -> PerformedLine:
    """``text`` in ``synth``'s voice, delivered as ``performance`` delivers it.
    ``steady_durations``: as :func:`prepare_line` says. ``prepared``: the line's model
    output from an earlier call, used when it :meth:`~PreparedLine.fits` (else the model
    runs again)."""
    settings = (settings or PerformSettings()).validated()
    controls = (controls or StyleControls()).validated()
    prepared = prepared_for(synth, text, controls, steady_durations, prepared)
    if report is not None:
        report.add(prepared.report)
    params = resolve(controls, synth.calibration)
    sr = synth.sample_rate
    ours = [w for p in prepared.sentences for w in p.words]
    theirs = matched_words([w.text for w in ours], performance.words)
    voice = (_voice_pitch([p.analysis for p in prepared.sentences])
             if Transfer.PITCH in settings.transfers and not settings.neutral else None)
    restyles: list[Restyle | None] = []
    spoken: list[_Prepared] = []
    first = 0
    for p in prepared.sentences:
        mine = theirs[first:first + len(p.words)]
        first += len(p.words)
        if settings.neutral:
            restyles.append(None)
            spoken.append(p)
            continue
        said, restyle, stretched = _restyle(synth, prepared, p, mine, performance, voice,
                                            settings, params.speed, controls.variability,
                                            params.needs_world)
        if stretched and report is not None:
            report.stretched_timing += 1
        spoken.append(said)
        restyles.append(restyle)
    if voice is not None:
        restyles = _on_voice_median(restyles, spoken, voice)
    chunks = [synth.render_sentence(p.sentence, p.output, params, p.analysis, restyle=r)
              for p, r in zip(spoken, restyles, strict=True)]
    timing = Transfer.TIMING in settings.transfers and not settings.neutral
    return _placed(chunks, theirs, settings.strength if timing else 0.0, params.speed, sr)


# ----------------------------------------------------------------------------- words
def matched_words(ours: Sequence[str], theirs: Sequence[AlignedWord]) -> list[AlignedWord]:
    """The performance's word for each of ours (same text, in order); a word of ours the
    performance lacks gets the time between its neighbours'."""
    a, b = [_key(w) for w in ours], [_key(w.text) for w in theirs]
    found: list[AlignedWord | None] = [None] * len(ours)
    for block in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_matching_blocks():
        for i in range(block.size):
            found[block.a + i] = theirs[block.b + i]
    if not any(found):
        raise VoiceStudioError("the performance's words could not be matched with the text")
    return _filled(ours, found)


def _key(word: str) -> str:
    return re.sub(r"[^\w']", "", word.casefold())


def _filled(ours: Sequence[str], found: list[AlignedWord | None]) -> list[AlignedWord]:
    known = [i for i, w in enumerate(found) if w is not None]
    out: list[AlignedWord] = []
    for i, word in enumerate(found):
        if word is not None:
            out.append(word)
            continue
        before = max((k for k in known if k < i), default=None)
        after = min((k for k in known if k > i), default=None)
        at = (found[before].end if before is not None else found[after].start)  # type: ignore
        until = found[after].start if after is not None else at  # type: ignore
        out.append(AlignedWord(ours[i], at, max(at, until)))
    return out


# ----------------------------------------------------------------------------- edits
def _restyle(synth: Synthesizer, line: PreparedLine, p: _Prepared,
             theirs: Sequence[AlignedWord], performance: Performance,
             voice: _VoicePitch | None, settings: PerformSettings, speed: float,
             variability: float, styled: bool) -> tuple[_Prepared, Restyle, bool]:
    """The sentence to render (``p``, or ``p`` spoken again by the model at the
    performance's timing), the edits that carry the rest of the performance over, and
    whether the timing had to be stretched in WORLD instead (the voice cannot speak given
    durations). ``styled``: the style controls need a WORLD pass anyway (a dub fit's tempo)."""
    sr = synth.sample_rate
    hop = frame_hop(sr)
    hop_s = hop / sr
    n = len(p.analysis.f0)
    s = settings.strength
    rate, pauses = np.ones(n), []
    heard = {id(w) for w in performance.words}  # not a word matched_words had to place
    knots = [_word_knots(mine, their, p.features,
                         performance.features if id(their) in heard else None)
             for mine, their in zip(p.words, theirs, strict=True)]
    if Transfer.TIMING in settings.transfers:
        rate, pauses = _timing(p.words, theirs, knots, n, hop_s, s, sr, speed)
    to_performance = _time_map(knots)
    said, to_model = p, None
    edited = voice is not None or Transfer.ENERGY in settings.transfers
    timed = Transfer.TIMING in settings.transfers and MODEL_TIMING
    stretched = stretches_timing(synth.voice, settings)
    if timed and not stretched:
        try:
            said, to_model, spoken_pauses = _spoken_at(synth, line, p, rate, pauses, hop_s,
                                                       variability, analysed=edited or styled)
        except VoiceStudioError:  # the timed graph failed to run: stretched in WORLD instead
            stretched = True
        else:
            pauses = spoken_pauses
            rate = np.ones(_frames(said, hop))
    times = np.arange(_frames(said, hop)) * hop_s
    at = to_performance(times if to_model is None else to_model(times))
    pitch = np.zeros(len(times))
    if voice is not None:
        pitch = _intonation(said.analysis.f0, at, performance, voice, s)
        pitch = smoothed(pitch, int(round(PITCH_GLIDE_S / hop_s)))
    gain = np.zeros(len(times))
    if Transfer.ENERGY in settings.transfers:
        gain = _loudness(said.output.audio, hop, sr, at, performance, s)
        gain = smoothed(gain, int(round(LEVEL_GLIDE_S / hop_s)))
    if to_model is not None and not edited:
        return said, Restyle(None, tuple(pauses)), stretched  # the model's audio
    return (said, Restyle(FrameEdits(rate, pitch, gain), tuple(pauses)),
            stretched)


def _frames(p: _Prepared, hop: int) -> int:
    """Analysis frames of ``p``'s output (its WORLD analysis' when made)."""
    return len(p.analysis.f0) if p.analysis is not None else len(p.output.audio) // hop + 1


def _spoken_at(synth: Synthesizer, line: PreparedLine, p: _Prepared, rate: np.ndarray,
               pauses: Sequence[Pause], hop_s: float, variability: float, analysed: bool):
    """``p`` spoken by the model with each phoneme id lasting what ``rate`` (per frame of
    ``p``) makes of it (its WORLD analysis made, and kept with it, only when ``analysed``:
    edits or style controls follow, by overlap-add or WORLD); with a map from its seconds to
    ``p``'s, and ``pauses`` placed in it."""
    sr = synth.sample_rate
    edges = np.arange(len(rate) + 1) * hop_s
    heard = np.concatenate([[0.0], np.cumsum(hop_s / rate)])  # where each frame edge lands
    bounds = np.concatenate([[0], np.cumsum(p.output.samples_per_id)]) / sr
    hop = synth.voice.config.hop_length
    frames = _id_frames(np.interp(bounds, edges, heard) * sr / hop, p.output.samples_per_id // hop)
    key = (p.sentence.index, variability, frames.tobytes())
    with line._respoken_lock:
        said = line.respoken.get(key)
        if said is not None:
            line.respoken.move_to_end(key)  # used last: evicted last
    if said is None and np.array_equal(frames * synth.voice.config.hop_length,
                                       p.output.samples_per_id):
        said = p  # the model's own timing
    if said is None:
        output = synth.timed_output(p.sentence, frames, variability)
        words = sentence_word_times(p.sentence.words, p.sentence.phonemes,
                                    p.sentence.id_spans, output.samples_per_id,
                                    TimeMap.tempo(len(output.audio), sr), p.sentence.index)
        said = _Prepared(p.sentence, output, None, words, None)
    if analysed and said.analysis is None:
        said = replace(said, analysis=analyze(said.output.audio, sr, method=synth.f0_method,
                                              envelopes_now=False))
    with line._respoken_lock:
        line.respoken[key] = said
        line.respoken.move_to_end(key)
        while len(line.respoken) > RESPOKEN_KEPT * len(line.sentences):
            line.respoken.popitem(last=False)
    new_bounds = np.concatenate([[0], np.cumsum(said.output.samples_per_id)]) / sr

    def to_model(t: np.ndarray) -> np.ndarray:
        return np.interp(t, new_bounds, bounds)

    placed = [Pause(float(np.interp(q.at / sr, bounds, new_bounds) * sr), q.seconds)
              for q in pauses]
    return said, to_model, placed


def _id_frames(ends: np.ndarray, own: np.ndarray) -> np.ndarray:
    """Whole model frames per phoneme id from where each id should start and end (``ends``,
    fractional frames from 0, one more than ids): each id at least ``MIN_SOUND_FRAMES``, or
    its ``own`` length (the model's frames for it) if shorter, while the ids run no more
    than ``MAX_SOUND_LAG_FRAMES`` behind where they should end (else one frame, as none may
    vanish); what an id takes beyond its share is taken back from the ids after it."""
    frames = np.zeros(len(own), np.int64)
    given = 0
    for i, length in enumerate(own):
        end = int(round(ends[i + 1]))
        least = min(int(length), MIN_SOUND_FRAMES)
        if given + least - end > MAX_SOUND_LAG_FRAMES:
            least = min(int(length), 1)
        frames[i] = max(end - given, least)
        given += frames[i]
    return frames


def _timing(ours: Sequence[WordTime], theirs: Sequence[AlignedWord],
            knots: Sequence[np.ndarray], n: int, hop_s: float, s: float, sr: int,
            speed: float) -> tuple[np.ndarray, list[Pause]]:
    """A rate per frame that gives each sound of a word (between two of its ``knots``) and
    each pause between two words the length the performance gives it, blended geometrically
    by ``s``; pauses the synthesis lacks become inserted silence."""
    rate = np.ones(n)
    pauses = []

    def frames(a: float, b: float) -> slice:
        return slice(int(round(a / hop_s)), min(n, int(round(b / hop_s))))

    for k, (mine, their) in enumerate(zip(ours, theirs, strict=True)):
        points = knots[k]
        shortest = MIN_WORD_S if len(points) == 2 else MIN_SOUND_S
        for (x0, y0), (x1, y1) in zip(points[:-1], points[1:], strict=True):
            length = max(x1 - x0, shortest)
            target = length ** (1 - s) * max(y1 - y0, shortest) ** s
            rate[frames(x0, x1)] = np.clip(length / target, MIN_RATE, MAX_RATE)
        if k + 1 == len(ours):
            break
        gap = max(0.0, ours[k + 1].start - mine.end)
        wanted = (1 - s) * gap + s * max(0.0, theirs[k + 1].start - their.end)
        if wanted - gap > MIN_INSERTED_PAUSE_S:
            at = (mine.end + ours[k + 1].start) / 2 * sr
            pauses.append(Pause(at, (wanted - gap) / speed))
        elif gap > hop_s:
            rate[frames(mine.end, ours[k + 1].start)] = np.clip(gap / max(wanted, hop_s / 2),
                                                              MIN_RATE, MAX_PAUSE_RATE)
    return rate, pauses


def _word_knots(mine: WordTime, their: AlignedWord, ours: np.ndarray,
                theirs: np.ndarray | None) -> np.ndarray:
    """``[k, 2]`` (model second, performance second) pairs through one word: its start, the
    boundaries between its phonemes (the model's durations) placed in the performance by a
    spectral warp of the two readings of the word, and its end. Without a usable warp
    (no features, lengths too different) only the start and end."""
    ends = [(mine.start, their.start), (mine.end, max(their.start, their.end))]
    inner = [ph.end for ph in mine.phonemes[:-1] if mine.start < ph.end < mine.end]
    if theirs is None or not inner or not SOUND_LEVEL_TIMING:
        return np.asarray(ends)
    a0, a1 = (min(int(round(t / FEATURE_S)), len(ours) - 1) for t in (mine.start, mine.end))
    b0, b1 = (min(int(round(t / FEATURE_S)), len(theirs) - 1)
              for t in (their.start, their.end))
    path = warp(ours[a0:a1 + 1], theirs[b0:b1 + 1])
    if path is None:
        return np.asarray(ends)
    x = np.asarray(inner)
    y = (b0 + np.interp((x / FEATURE_S) - a0, np.arange(len(path)), path)) * FEATURE_S
    y = np.clip(y, their.start, their.end)
    return np.asarray([ends[0], *zip(x, np.maximum.accumulate(y), strict=True), ends[1]])


def _time_map(knots: Sequence[np.ndarray]):
    """Model seconds → performance seconds, through the words' ``knots`` (slope 1 before
    the first word and after the last)."""
    xs, ys = [], []
    for points in knots:
        for x, y in points:
            if not xs or (x > xs[-1] and y >= ys[-1]):
                xs.append(x)
                ys.append(y)
    xs, ys = np.asarray(xs), np.asarray(ys)

    def mapped(t: np.ndarray) -> np.ndarray:
        if len(xs) == 1:
            return t - xs[0] + ys[0]
        inside = np.interp(t, xs, ys)
        return np.where(t < xs[0], ys[0] - (xs[0] - t),
                        np.where(t > xs[-1], ys[-1] + (t - xs[-1]), inside))
    return mapped


def _intonation(f0: np.ndarray, at: np.ndarray, performance: Performance,
                voice: _VoicePitch, s: float) -> np.ndarray:
    """Semitones to add per frame: the performance's contour (around its median, scaled to
    the voice's range) on the voice's median, blended by ``s``. Where the performance has no
    pitch to give (a gap of ``MAX_BRIDGE_S`` or more, or before its first voiced frame and
    after its last), the edit glides between the edits around it, so the voice's own
    movement shows through; 0 where the voice is unvoiced."""
    contour = _sampled(performance.pitch_st, performance.frame_s, at, max_gap_s=MAX_BRIDGE_S)
    ratio = np.clip(voice.range_st / max(performance.range_st, 1e-3), *RANGE_RATIO_LIMITS)
    voiced = f0 > 0
    own = np.zeros_like(f0)
    own[voiced] = 12.0 * np.log2(f0[voiced] / voice.median_hz)
    given = voiced & np.isfinite(contour)
    edit = np.where(given, s * (ratio * np.nan_to_num(contour) - own), 0.0)
    missing = voiced & ~given
    if given.any() and missing.any():
        frames = np.arange(len(f0))
        edit[missing] = np.interp(frames[missing], frames[given], edit[given])
    return edit


def _on_voice_median(restyles: Sequence[Restyle | None], sentences: Sequence[_Prepared],
                     voice: _VoicePitch) -> list[Restyle | None]:
    """The line's intonation edits moved together so that the result's median pitch is the
    voice's own. The contour is laid on the voice's median, yet where the voice's voiced
    sounds fall on it can move the result's median with it (a short line with a wide rise:
    +1.5 st on one of 26): the register is the voice's, so the whole line moves back, its
    shape untouched. Frames count for as long as they are heard (``1 / rate``)."""
    values, weights = [], []
    for restyle, p in zip(restyles, sentences, strict=True):
        if restyle is None or restyle.edits is None:
            continue
        voiced = p.analysis.f0 > 0
        values.append(12.0 * np.log2(p.analysis.f0[voiced] / voice.median_hz)
                      + restyle.edits.pitch_st[voiced])
        weights.append(1.0 / restyle.edits.rate[voiced])
    if not values or not sum(len(v) for v in values):
        return list(restyles)
    shift = _weighted_median(np.concatenate(values), np.concatenate(weights))
    out: list[Restyle | None] = []
    for restyle, p in zip(restyles, sentences, strict=True):
        if restyle is None or restyle.edits is None:
            out.append(restyle)
            continue
        pitch = np.where(p.analysis.f0 > 0, restyle.edits.pitch_st - shift, 0.0)
        out.append(replace(restyle, edits=replace(restyle.edits, pitch_st=pitch)))
    return out


def _weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    order = np.argsort(values)
    cumulative = np.cumsum(weights[order])
    return float(values[order][np.searchsorted(cumulative, cumulative[-1] / 2)])


def _loudness(audio: np.ndarray, hop: int, rate: int, at: np.ndarray,
              performance: Performance, s: float) -> np.ndarray:
    """dB to add per frame: the performance's level contour against the voice's, both
    relative to their medians, blended by ``s``; 0 in silence."""
    own = _levels(audio, hop, len(at), rate)
    theirs = _sampled(performance.level_db, performance.frame_s, at, fill=False)
    active = np.isfinite(own) & np.isfinite(theirs)
    return np.where(active, np.clip(s * (np.nan_to_num(theirs) - np.nan_to_num(own)),
                                    -MAX_GAIN_DB, MAX_GAIN_DB), 0.0)


def _levels(audio: np.ndarray, hop: int, n: int, rate: int) -> np.ndarray:
    """Frame level (dB) relative to the median active frame; NaN in silence (measured as the
    performance's is, so the two can be subtracted)."""
    db = frame_levels_db(audio, hop, n, rate)
    active = db > db.max() - ACTIVE_RANGE_DB
    if not active.any():
        return np.full(n, np.nan)
    return np.where(active, db - np.median(db[active]), np.nan)


def _sampled(values: np.ndarray, frame_s: float, at: np.ndarray, fill: bool = True,
             max_gap_s: float = np.inf) -> np.ndarray:
    """``values`` (a contour with NaN gaps) read at times ``at``; with ``fill``, gaps between
    two defined stretches shorter than ``max_gap_s`` are bridged linearly (a pitch contour
    across a consonant); longer ones stay NaN."""
    t = np.arange(len(values)) * frame_s
    good = np.isfinite(values)
    if not good.any():
        return np.full(len(at), np.nan)
    if fill:
        defined = t[good]
        out = np.interp(at, defined, values[good])
        outside = (at < defined[0]) | (at > defined[-1])
        if len(defined) > 1 and np.isfinite(max_gap_s):
            after = np.clip(np.searchsorted(defined, at), 1, len(defined) - 1)
            gap = defined[after] - defined[after - 1]
            on_frame = good[np.clip(np.round(at / frame_s).astype(int), 0, len(values) - 1)]
            outside |= ~on_frame & (gap >= max_gap_s)
        return np.where(outside, np.nan, out)
    index = np.clip(np.round(at / frame_s).astype(int), 0, len(values) - 1)
    return values[index]


def _voice_pitch(analyses: Sequence[WorldAnalysis]) -> _VoicePitch:
    """The voice's own median F0 and range on this line (its plain rendering)."""
    f0 = np.concatenate([a.f0[a.f0 > 0] for a in analyses] or [np.zeros(0)])
    if len(f0) < 10:
        raise VoiceStudioError("the voice's rendering of the line has too little voiced speech "
                               "to carry an intonation over")
    median = float(np.median(f0))
    st = 12.0 * np.log2(f0 / median)
    return _VoicePitch(median, float(np.percentile(st, 90) - np.percentile(st, 10)))


# ----------------------------------------------------------------------------- placing
def _placed(chunks: Sequence[SpeechChunk], theirs: Sequence[AlignedWord], s: float,
            speed: float, sr: int) -> PerformedLine:
    """Sentences one after another; with timing, each sentence's first word is moved toward
    the time the performance says it (never into the sentence before)."""
    offsets, first, natural = [], 0, 0.0
    for j, chunk in enumerate(chunks):
        words = chunk.words or ()
        offset = natural
        if j and words and s > 0:
            lead = words[0].start
            target = offsets[0] + (chunks[0].words[0].start if chunks[0].words else 0.0) + (
                theirs[first].start - theirs[0].start) / speed
            previous = chunks[j - 1].words
            earliest = offsets[-1] + (previous[-1].end if previous else 0.0) + MIN_SENTENCE_GAP_S
            offset = max(earliest, (1 - s) * (natural + lead) + s * target) - lead
        offset = max(offset, offsets[-1] if offsets else 0.0)  # never before the one before
        offsets.append(offset)
        natural = offset + len(chunk.samples) / sr
        first += len(words)
    total = max(int(round(o * sr)) + len(c.samples) for o, c in zip(offsets, chunks, strict=True))
    audio = np.zeros(total, np.float32)
    out_words: list[WordTime] = []
    for offset, chunk in zip(offsets, chunks, strict=True):
        start = int(round(offset * sr))
        audio[start:start + len(chunk.samples)] += chunk.samples
        out_words += [w.shifted(start / sr) for w in chunk.words or ()]
    return PerformedLine(audio, sr, tuple(out_words))
