"""The WORLD analysis takes its pitch and its spectral envelopes only when asked, once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

import voicestudio.styling.world as world
from voicestudio.styling.controls import StyleControls
from voicestudio.voice.preview import PreviewSession, readied


def test_envelopes_are_taken_once_when_first_asked_for(monkeypatch):
    sr = 22050
    t = np.arange(sr) / sr
    x = 0.3 * np.sin(2 * np.pi * 140 * t) * (1 + 0.3 * np.sin(2 * np.pi * 3 * t))
    calls = []
    cheaptrick = world.pw.cheaptrick
    monkeypatch.setattr(world.pw, "cheaptrick",
                        lambda *a, **k: calls.append(1) or cheaptrick(*a, **k))
    analysis = world.analyze(x, sr, envelopes_now=False)
    assert calls == [] and not analysis.has_envelopes
    assert abs(np.median(analysis.f0[analysis.voiced]) - 140) < 3  # the pitch, without them
    with ThreadPoolExecutor(4) as pool:  # render threads asking at once
        spectra = list(pool.map(lambda _: analysis.sp, range(4)))
    taken = len(calls)
    assert taken == len(world._frame_splits(len(analysis.f0), world.analysis_workers()))
    assert all(s is spectra[0] for s in spectra)
    assert analysis.ap.shape == analysis.sp.shape and len(calls) == taken


def test_the_pitch_is_taken_once_when_first_asked_for(monkeypatch):
    sr = 22050
    t = np.arange(sr) / sr
    x = 0.3 * np.sin(2 * np.pi * 140 * t)
    calls = []
    rapt = world.pysptk.rapt
    monkeypatch.setattr(world.pysptk, "rapt", lambda *a, **k: calls.append(1) or rapt(*a, **k))
    analysis = world.analyze(x, sr, pitch_now=False, envelopes_now=False)
    assert calls == [] and not analysis.has_pitch and not analysis.has_envelopes
    with ThreadPoolExecutor(4) as pool:
        contours = list(pool.map(lambda _: analysis.f0, range(4)))
    assert len(calls) == 1 and all(c is contours[0] for c in contours)
    assert not analysis.has_envelopes
    assert analysis.sp.shape[0] == len(analysis.f0) and len(calls) == 1  # envelopes: same pitch
    eager = world.analyze(x, sr)
    assert eager.has_pitch and eager.has_envelopes
    assert np.array_equal(eager.voiced, analysis.voiced)  # RAPT is not exact between calls
    v = eager.voiced
    assert np.max(np.abs(12 * np.log2(eager.f0[v] / analysis.f0[v]))) < 0.01


def test_a_preview_line_s_first_render_waits_for_no_analysis_it_does_not_need(synth):
    """An unstyled render takes none of it, a pitch move only the pitch; the envelopes are
    taken when a control needs the vocoder."""
    session = PreviewSession(synth, keep_ready=False)
    line = "The preview takes the analysis when it is needed."
    (sentence,) = session.prepare(line).sentences
    assert not sentence.analysis.has_pitch
    session.render(line, StyleControls())
    assert not sentence.analysis.has_pitch
    session.render(line, StyleControls(pitch=2.0))
    assert sentence.analysis.has_pitch and not sentence.analysis.has_envelopes
    session.render(line, StyleControls(speed=1.2))
    assert sentence.analysis.has_envelopes


def test_the_preview_readies_the_analysis_in_the_background(synth):
    """So the slider drags after the first render find it ready."""
    session = PreviewSession(synth)
    prepared = session.prepare("The preview readies the envelopes behind the first render.")
    assert readied(30.0), "the background analyses did not end"
    assert all(s.analysis.has_envelopes for s in prepared.sentences)
