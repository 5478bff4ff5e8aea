"""PreviewSession caching and LatestWinsRenderer, with the real voice and WORLD."""

from __future__ import annotations

import statistics
import threading
import time

import numpy as np
import pytest

from voicestudio.audio.io import Audio
from voicestudio.errors import ControlRangeError, InputTextError
from voicestudio.styling.controls import StyleControls
from voicestudio.voice.preview import LatestWinsRenderer, PreviewSession, RenderResult

LINE = "Preview caching keeps the slow part. Sliders only redo the styling."


def test_cached_renders_skip_the_model_and_are_fast(preview: PreviewSession):
    base = StyleControls(variability=0.7)
    runs = preview.model_runs
    start = time.perf_counter()
    preview.prepare(LINE, base.variability)
    first_prepare = time.perf_counter() - start
    assert preview.model_runs == runs + 1

    first = preview.render(LINE, base)
    assert isinstance(first, Audio) and first.sample_rate == preview.synthesizer.sample_rate
    assert first.duration_s > 2.0 and np.abs(first.samples).max() > 0.05

    variants = [
        base.with_changes(pitch=4.0),
        base.with_changes(pitch=-3.0, pitch_range=1.5),
        base.with_changes(speed=1.5),
        base.with_changes(speed=0.7),
        base.with_changes(emotion="happy"),
        base.with_changes(emotion="whisper", intensity=50),
        base.with_changes(energy=-6.0, breathiness=0.5),
    ]
    timings, audios = [], []
    for controls in variants:
        start = time.perf_counter()
        audios.append(preview.render(LINE, controls))
        timings.append(time.perf_counter() - start)
    assert preview.model_runs == runs + 1, "a control change must not rerun the speaker model"
    cached = statistics.median(timings)
    assert cached < first_prepare / 3, f"cached render {cached * 1000:.0f} ms vs first prepare {first_prepare * 1000:.0f} ms"

    # the controls really act on the cached line
    fast, slow = audios[2], audios[3]
    assert fast.duration_s < first.duration_s < slow.duration_s
    assert not np.array_equal(audios[0].samples, first.samples)


def test_variability_and_new_text_rerun_the_model(preview: PreviewSession):
    text = "Variability changes the model output itself."
    preview.render(text, StyleControls(variability=1.0))
    runs = preview.model_runs
    preview.render(text, StyleControls(variability=1.0, pitch=2))
    assert preview.model_runs == runs
    preview.render(text, StyleControls(variability=0.3))
    assert preview.model_runs == runs + 1
    preview.render(text + " And a new sentence.", StyleControls(variability=0.3))
    assert preview.model_runs == runs + 2
    preview.render(text, StyleControls(variability=0.3, speed=1.2))  # both lines still cached
    assert preview.model_runs == runs + 2


def test_lru_eviction_respects_max_lines(synth):
    session = PreviewSession(synth, max_lines=2)
    a, b, c = "Apples.", "Bananas.", "Cherries."
    session.prepare(a)
    session.prepare(b)
    assert session.model_runs == 2
    session.prepare(a)  # hit: a becomes the most recent
    assert session.model_runs == 2
    session.prepare(c)  # evicts b, the least recently used
    assert session.model_runs == 3
    assert len(session._cache) == 2
    session.prepare(a)
    assert session.model_runs == 3
    session.prepare(b)  # was evicted
    assert session.model_runs == 4
    assert len(session._cache) <= session.max_lines


def test_render_rejects_bad_input(preview: PreviewSession):
    runs = preview.model_runs
    with pytest.raises(InputTextError):
        preview.render("\U0001F600\U0001F600", StyleControls())
    with pytest.raises(InputTextError):
        preview.render("   ", StyleControls())
    with pytest.raises(ControlRangeError):
        preview.render(LINE, StyleControls(pitch=40))
    assert preview.model_runs == runs


class Collector:
    def __init__(self) -> None:
        self.results: list[RenderResult] = []
        self.event = threading.Event()
        self.threads: set[str] = set()

    def __call__(self, result: RenderResult) -> None:
        self.threads.add(threading.current_thread().name)
        self.results.append(result)
        self.event.set()

    def wait_for(self, request_id: int, timeout: float = 30.0) -> RenderResult:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.results and self.results[-1].request_id == request_id:
                return self.results[-1]
            self.event.wait(0.05)
            self.event.clear()
        raise AssertionError(f"no result for request {request_id}; got {[r.request_id for r in self.results]}")


def test_latest_wins_under_a_burst(preview: PreviewSession):
    text = "A dragged slider sends many requests in a row."
    collector = Collector()
    renderer = LatestWinsRenderer(preview, collector)
    try:
        controls = [StyleControls(pitch=round(-6 + 0.4 * i, 2), speed=1.0 + i / 60) for i in range(30)]
        ids = [renderer.request(text, c) for c in controls]
        assert ids == list(range(ids[0], ids[0] + 30))
        final = collector.wait_for(ids[-1])
        time.sleep(0.2)  # nothing else may arrive after the final result

        assert final.error is None and isinstance(final.audio, Audio) and final.audio.samples.size > 0
        assert final.controls == controls[-1] and final.text == text
        delivered = [r.request_id for r in collector.results]
        assert delivered == sorted(set(delivered)), f"stale or repeated result delivered: {delivered}"
        assert delivered[-1] == ids[-1]
        assert renderer.rendered + renderer.replaced == 30, (renderer.rendered, renderer.replaced)
        assert renderer.rendered <= 10, f"{renderer.rendered} of 30 burst requests were rendered"
        assert len(delivered) == renderer.rendered - renderer.dropped
        assert collector.threads == {"preview-render"}  # callbacks run on the worker thread
    finally:
        renderer.close()


def test_renderer_delivers_errors_and_keeps_running(preview: PreviewSession):
    collector = Collector()
    renderer = LatestWinsRenderer(preview, collector)
    try:
        bad = renderer.request("\U0001F600 \U0001F389", StyleControls())
        result = collector.wait_for(bad)
        assert result.audio is None
        assert isinstance(result.error, InputTextError)
        assert "nothing speakable" in str(result.error)

        good = renderer.request("Still working after an error.", StyleControls(pitch=1))
        result = collector.wait_for(good)
        assert result.error is None and result.audio is not None and result.audio.samples.size > 0
        assert renderer._thread.is_alive()
    finally:
        renderer.close()
    assert not renderer._thread.is_alive()


def test_close_stops_an_idle_and_a_busy_thread(preview: PreviewSession):
    idle = LatestWinsRenderer(preview, lambda result: None)
    assert idle._thread.is_alive()
    idle.close(timeout=5)
    assert not idle._thread.is_alive()

    busy = LatestWinsRenderer(preview, lambda result: None)
    busy.request("Closing while a render is under way, or about to start.", StyleControls())
    busy.close(timeout=30)
    assert not busy._thread.is_alive()
