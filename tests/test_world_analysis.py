"""The WORLD analysis takes its spectral envelopes only when asked, once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

import voicestudio.styling.world as world


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


def test_the_preview_s_analysis_has_them_ready(preview):
    """The preview's slider drags must not wait for them."""
    prepared = preview.prepare("The preview takes the envelopes at once.")
    assert all(s.analysis.has_envelopes for s in prepared.sentences)
