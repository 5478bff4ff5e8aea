"""Performed dub lines (issue 18, the dubbing part): a CSV ``perform`` column names a
recording of the line, the voice delivers the line as the recording does, and the result is
fitted to its cue like any line. The recordings are the bundled voice's own renderings of the
line delivered differently (slower, with a pause), so no corpus is needed."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from voicestudio.cli import main
from voicestudio.dubbing import (
    DubScriptError,
    DubSession,
    DubSettings,
    LineStatus,
    TooLongWarning,
    export_dub,
    load_dub_script,
)
from voicestudio.evaluate.prosody import f0_contour
from voicestudio.styling.controls import StyleControls
from voicestudio.voice import perform as perform_module
from voicestudio.voice.perform import PerformSettings, Transfer, prepare_line

STEADY = StyleControls(variability=0.0)
SETTINGS = DubSettings(controls=STEADY)
TEXT = "Every line starts on its cue."
#: The performance: slower, with a long pause after "starts".
DELIVERY = ('<speak><prosody rate="slow">Every line starts</prosody> <break time="500ms"/> '
            'on its cue.</speak>')
OTHER_TEXT = "The quick brown fox jumps over the lazy dog."


def rendering(synth, text: str) -> np.ndarray:
    return np.concatenate([c.samples for c in synth.synthesize(text, STEADY)])


@pytest.fixture(scope="module")
def takes(tmp_path_factory, synth) -> Path:
    """A folder with ``take.wav`` (the line, performed slowly with a pause) and ``other.wav``
    (another text)."""
    folder = tmp_path_factory.mktemp("takes")
    sf.write(str(folder / "take.wav"), rendering(synth, DELIVERY), synth.sample_rate)
    sf.write(str(folder / "other.wav"), rendering(synth, OTHER_TEXT), synth.sample_rate)
    return folder


def write_csv(folder: Path, rows: list[dict[str, str]], name: str = "lines.csv") -> Path:
    path = folder / name
    columns = list(dict.fromkeys(key for row in rows for key in row))
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, columns)
        writer.writeheader()
        writer.writerows(rows)
    return path


def gap_after(words, text: str) -> float:
    """The silence between word ``text`` and the next one."""
    k = next(i for i, w in enumerate(words) if w.text.startswith(text))
    return words[k + 1].start - words[k].end


def test_a_performed_line_follows_its_recording_and_lands_in_its_cue(synth, takes):
    script = write_csv(takes, [
        {"id": "acted", "start": "0.5", "end": "5.5", "text": TEXT, "perform": "take.wav"},
        {"id": "plain", "start": "6.0", "end": "11.0", "text": TEXT, "perform": ""},
    ])
    loaded = load_dub_script(script)
    assert loaded.lines[0].perform == (takes / "take.wav").resolve()  # from the script's folder
    assert loaded.lines[1].perform is None
    session = DubSession(loaded, SETTINGS, synthesizer=synth)
    acted, plain = session.render_all()
    assert acted.status is plain.status is LineStatus.RENDERED
    assert acted.fit_method == plain.fit_method == "none"
    # the performance's delivery: longer, and the pause after "starts" is there
    assert acted.natural_s > plain.natural_s + 0.3
    assert gap_after(acted.words, "starts") > gap_after(plain.words, "starts") + 0.25
    # its words are on the dub's timeline, inside the cue
    assert [w.text for w in acted.words] == [w.text for w in plain.words]
    assert acted.words[0].start >= 0.5 and acted.words[-1].end <= 5.5
    assert plain.words[0].start >= 6.0 and plain.words[-1].end <= 11.0

    out = export_dub(session, takes / "out")
    with open(out.report, encoding="utf-8", newline="") as handle:
        report = list(csv.DictReader(handle))
    assert report[0]["performance"] == str(takes / "take.wav") and report[1]["performance"] == ""
    with open(out.folder / "words.csv", encoding="utf-8", newline="") as handle:
        words = [row for row in csv.DictReader(handle) if row["id"] == "acted"]
    assert len(words) == len(acted.words)
    assert all(float(w["start_s"]) >= 0.5 and float(w["end_s"]) <= 5.5 for w in words)


def test_a_voice_that_cannot_speak_given_durations_stretches_and_says_so(takes, monkeypatch):
    """The line is still performed (its timing stretched in WORLD), and its warnings say
    why it may sound less natural; a plain line says nothing."""
    from voicestudio.errors import VoiceStudioError
    from voicestudio.voice import model as model_module
    from voicestudio.voice.catalog import load_voice
    from voicestudio.voice.synthesizer import Synthesizer

    def refuse(path):
        raise VoiceStudioError("no durations tensor here")

    monkeypatch.setattr(model_module, "durations_as_input", refuse)
    synth = Synthesizer(load_voice(None, provider="cpu"))  # its timed copy not made yet
    script = write_csv(takes, [{"text": TEXT, "perform": "take.wav"}, {"text": TEXT}],
                       "stretched.csv")
    acted, plain = DubSession(load_dub_script(script), SETTINGS, synthesizer=synth).render_all()
    assert acted.status is plain.status is LineStatus.RENDERED
    assert [w.message for w in acted.warnings] == [
        "line 1 (file line 2): stretched the plain rendering of 1 sentence(s) to the "
        "performance's timing: this voice could not speak it at given phoneme durations"]
    assert plain.warnings == []


def test_a_performance_longer_than_its_cue_is_fitted_like_any_line(synth, takes, monkeypatch):
    prepared = []  # each run of the voice model on a performed line
    monkeypatch.setattr(perform_module, "prepare_line",
                        lambda *a, **k: prepared.append(a[1]) or prepare_line(*a, **k))
    untimed = DubSession(load_dub_script(write_csv(takes, [{"text": TEXT, "perform": "take.wav"}],
                                                   "untimed.csv")), SETTINGS, synthesizer=synth)
    natural_s = untimed.render_all()[0].natural_s
    fits, short = natural_s / 1.15, natural_s / 1.6  # within the 1.25× limit, and beyond it
    script = write_csv(takes, [
        {"start": "0", "end": f"{fits:.3f}", "text": TEXT, "perform": "take.wav"},
        {"start": "10", "end": f"{10 + short:.3f}", "text": TEXT, "perform": "take.wav"},
    ], "timed.csv")
    session = DubSession(load_dub_script(script), SETTINGS, synthesizer=synth)
    prepared.clear()
    fitted, too_long = session.render_all()
    # the fit tried several tempi; the voice model ran once per line
    assert session.model_runs >= 3 and prepared == [TEXT, TEXT]

    assert fitted.status is LineStatus.RENDERED and fitted.fit_method == "world"
    assert fitted.natural_s == pytest.approx(natural_s, abs=0.01)
    assert 1.1 <= fitted.tempo <= 1.25 and fitted.rendered_s <= fits + 0.01
    assert fitted.words[0].start >= 0.0 and fitted.words[-1].end <= fits + 0.01
    # the tempo changed, not the pitch (the median F0 of the voiced frames)
    natural = untimed.results[0].samples
    f0 = [f0_contour(x, synth.sample_rate) for x in (natural, fitted.samples)]
    semitones = 12 * np.log2(np.median(f0[1][f0[1] > 0]) / np.median(f0[0][f0[0] > 0]))
    assert abs(semitones) < 0.5

    # too long even at the limit: sped up to it, reported, never cut
    assert too_long.status is LineStatus.TOO_LONG
    assert too_long.tempo <= 1.25 and too_long.rendered_s > short
    (warning,) = [w for w in too_long.warnings if isinstance(w, TooLongWarning)]
    assert "too long for its slot" in warning.message


def test_a_missing_or_unreadable_recording_is_an_error_naming_the_line(takes, tmp_path):
    rows = [{"text": "First line."}, {"text": "Second line."},
            {"text": TEXT, "perform": "nowhere.wav"}]
    with pytest.raises(DubScriptError) as missing:
        load_dub_script(write_csv(tmp_path, rows))
    assert "lines.csv, line 4:" in str(missing.value)  # the header is line 1
    assert "performance recording not found" in str(missing.value)
    assert "nowhere.wav" in str(missing.value)

    (tmp_path / "notes.wav").write_text("not audio", encoding="utf-8")
    rows[2]["perform"] = "notes.wav"
    with pytest.raises(DubScriptError, match=r"line 4: cannot read the performance recording"):
        load_dub_script(write_csv(tmp_path, rows))

    rows[2] = {"text": "<speak>Every <emphasis>line</emphasis>.</speak>",
               "perform": str(takes / "take.wav")}  # absolute paths are taken as they are
    markup = r"line 4: a performed line .* cannot be speech markup"
    with pytest.raises(DubScriptError, match=markup):
        load_dub_script(write_csv(tmp_path, rows))


def test_a_recording_of_another_text_skips_the_line_with_the_reason(synth, takes):
    script = write_csv(takes, [
        {"text": TEXT, "perform": "other.wav"},
        {"text": "This one is fine.", "perform": ""},
    ], "wrong.csv")
    session = DubSession(load_dub_script(script), SETTINGS, synthesizer=synth)
    wrong, fine = session.render_all()
    assert wrong.status is LineStatus.SKIPPED and wrong.samples is None
    (warning,) = wrong.warnings
    assert warning.message.startswith("line 1 (file line 2): performance other.wav not used, "
                                      "skipped: The performance does not read the line")
    assert fine.status is LineStatus.RENDERED
    # asked again (render all after a settings change), the refusal is not read again
    session.set_settings(SETTINGS)
    assert session.render_all()[0].warnings[0].message == warning.message


def test_the_cache_key_follows_the_recording_and_the_perform_settings(synth, takes, tmp_path,
                                                                      monkeypatch):
    take = tmp_path / "take.wav"
    take.write_bytes((takes / "take.wav").read_bytes())
    script = write_csv(tmp_path, [{"text": TEXT, "perform": "take.wav"}])
    cache = tmp_path / "cache"

    def runs(settings: DubSettings = SETTINGS) -> int:
        session = DubSession(load_dub_script(script), settings, synthesizer=synth, cache_dir=cache)
        session.render_all()
        return session.model_runs

    assert runs() == 1 and runs() == 0  # the second session takes it from the cache folder
    audio, rate = sf.read(str(take))
    sf.write(str(take), audio * 0.8, rate)  # another recording under the same name
    os.utime(take, ns=(take.stat().st_atime_ns, take.stat().st_mtime_ns + 10**9))
    assert runs() == 1
    timing_only = PerformSettings(frozenset({Transfer.TIMING}), 1.0)
    assert runs(DubSettings(controls=STEADY, perform=timing_only)) == 1
    # the plain line's key does not change with perform settings it does not use
    plain = DubSession(load_dub_script(script), SETTINGS, synthesizer=synth)
    assert plain.cache_key(TEXT, synth, STEADY) == plain.cache_key(TEXT, synth, STEADY)
    performed = ([str(take), 1, 2], PerformSettings())
    assert plain.cache_key(TEXT, synth, STEADY) != plain.cache_key(
        TEXT, synth, STEADY, performance=performed)
    # a change to how performed lines render makes theirs stale, not the plain lines'
    import voicestudio.dubbing.render as dub_render

    keys = (plain.cache_key(TEXT, synth, STEADY),
            plain.cache_key(TEXT, synth, STEADY, performance=performed))
    monkeypatch.setattr(dub_render, "PERFORMED_CACHE_VERSION",
                        dub_render.PERFORMED_CACHE_VERSION + 1)
    assert plain.cache_key(TEXT, synth, STEADY) == keys[0]
    assert plain.cache_key(TEXT, synth, STEADY, performance=performed) != keys[1]


def test_a_session_line_can_be_given_and_cleared_a_performance(synth, takes):
    script = write_csv(takes, [{"text": TEXT}], "plain.csv")
    session = DubSession(load_dub_script(script), SETTINGS, synthesizer=synth)
    (plain,) = session.render_all()
    line = session.set_performance(1, takes / "take.wav")
    assert line.perform == takes / "take.wav" and session.results[0].status is LineStatus.PENDING
    acted = session.render_line(1)
    assert acted.natural_s > plain.natural_s + 0.3
    session.set_settings(SETTINGS)  # new settings keep it
    assert session.render_all()[0].line.perform == takes / "take.wav"
    gone = r"line 1 \(file line 2\): performance recording not found"
    with pytest.raises(DubScriptError, match=gone):
        session.set_performance(1, takes / "gone.wav")
    session.set_performance(1, None)
    assert session.render_line(1).natural_s == pytest.approx(plain.natural_s, abs=1e-3)


def test_cli_dub_with_a_perform_column(synth, takes, capsys):
    script = write_csv(takes, [{"id": "a", "text": TEXT, "perform": "take.wav"}], "cli.csv")
    out = takes / "cli-out"
    assert main(["dub", str(script), "-o", str(out), "--transfer", "timing,pitch",
                 "--strength", "100", "--variability", "0", "-q"]) == 0
    assert (out / "track.wav").is_file()
    assert main(["dub", str(script), "-o", str(out), "--transfer", "tempo", "-q"]) != 0
    assert "--transfer takes timing, pitch, energy" in capsys.readouterr().err
