"""(b) of ``run.py``: preview latency, from a control change to audio ready, and what the
app's latest-wins policy does with a burst of slider events."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Any

try:  # imported as ``benchmarks.preview`` from the repository root
    from benchmarks.common import STYLED_KW, median, now, p90
    from benchmarks.texts import PREVIEW_LINE, WARMUP_SENTENCE
except ImportError:  # run as a script: benchmarks/ is sys.path[0]
    from common import STYLED_KW, median, now, p90
    from texts import PREVIEW_LINE, WARMUP_SENTENCE

GOAL_PREVIEW_MS = 100.0  # median control change → audio ready
DRAG_INTERVAL_S = 0.016  # one slider event per display frame (~60 Hz)


def slider_changes(n: int) -> list:
    """A user moving one control at a time (the others stay where they were left):
    pitch, speed, range, energy, then emotion presets and intensity. Never variability."""
    from voicestudio.styling.controls import StyleControls

    moves: list[tuple[str, Any]] = (
        [("pitch", v) for v in (1.0, 2.0, 3.0, 4.0, 3.0, 2.0)]
        + [("speed", v) for v in (1.05, 1.1, 1.15, 1.2, 0.9, 0.95)]
        + [("pitch_range", v) for v in (1.1, 1.2, 1.3, 0.8, 0.9)]
        + [("energy", v) for v in (1.0, 2.0, 3.0, -2.0)]
        + [("emotion", v) for v in ("happy", "sad", "calm", "excited", "angry", "whisper", "happy")]
        + [("intensity", v) for v in (60.0, 30.0)]
    )
    controls = StyleControls()
    out = []
    for i in range(n):
        name, value = moves[i % len(moves)]
        controls = controls.with_changes(**{name: value})
        out.append(controls)
    return out


def bench_preview(voice, changes: int, burst_requests: int) -> dict[str, Any]:
    from voicestudio.styling.controls import StyleControls
    from voicestudio.voice.preview import PreviewSession
    from voicestudio.voice.synthesizer import Synthesizer

    PreviewSession(Synthesizer(voice), keep_ready=False).prepare(WARMUP_SENTENCE)  # warm-up
    first = first_renders(voice)
    session = PreviewSession(Synthesizer(voice))  # f0_method="rapt", the default
    start = now()
    session.prepare(PREVIEW_LINE)
    prepare_s = now() - start
    _readied()
    line_s = session.render(PREVIEW_LINE, StyleControls()).duration_s
    session.render(PREVIEW_LINE, StyleControls(**STYLED_KW))  # warm-up, not counted

    controls = slider_changes(changes)
    render_ms, rendered_s = [], []
    for c in controls:
        start = now()
        audio = session.render(PREVIEW_LINE, c)
        render_ms.append((now() - start) * 1000.0)
        rendered_s.append(audio.duration_s)

    bursts = {
        "at_once": latest_wins_burst(session, slider_changes(burst_requests), 0.0),
        "drag_16ms": latest_wins_burst(session, slider_changes(burst_requests), DRAG_INTERVAL_S),
    }
    return {
        "text": PREVIEW_LINE,
        "line_audio_s": line_s,
        "prepare_s": prepare_s,
        "first_render": first,
        "changes": len(controls),
        "render_ms": render_ms,
        "render_audio_s": rendered_s,
        "render_median_ms": median(render_ms),
        "render_p90_ms": p90(render_ms),
        "render_max_ms": max(render_ms),
        "model_runs": session.model_runs,  # 1 = every render reused the prepared line
        "goal_median_ms_max": GOAL_PREVIEW_MS,
        "latest_wins": bursts,
    }


FIRST_RENDER_REPS = 3


def first_renders(voice, reps: int = FIRST_RENDER_REPS) -> list[dict[str, Any]]:
    """A new line's first render (the model, what of the analysis the controls need, the
    render), unstyled / pitch moved (overlap-add) / styled with a tempo (WORLD), beside the
    rule before: the whole analysis taken before the render. Median of ``reps``, the two
    interleaved; each on a fresh session, after the last one's background work ended."""
    from voicestudio.styling.controls import StyleControls
    from voicestudio.voice.preview import PreviewSession
    from voicestudio.voice.synthesizer import Synthesizer

    cases = (("unstyled", StyleControls()), ("pitch +3 st", StyleControls(pitch=3.0)),
             ("styled (a tempo: WORLD)", StyleControls(**STYLED_KW)))
    times: dict[tuple[str, bool], list[float]] = {}
    for _ in range(reps):
        for label, controls in cases:
            for whole_first in (False, True):
                session = PreviewSession(Synthesizer(voice))
                start = now()
                line = session.prepare(PREVIEW_LINE)
                if whole_first:
                    for sentence in line.sentences:
                        sentence.analysis.sp  # noqa: B018 - the whole analysis, as before
                session.render(PREVIEW_LINE, controls)
                times.setdefault((label, whole_first), []).append((now() - start) * 1000.0)
                _readied()
    return [{"case": label, "ms": median(times[(label, False)]),
             "whole_analysis_first_ms": median(times[(label, True)]),
             "spread_ms": [min(times[(label, False)]), max(times[(label, False)])]}
            for label, _c in cases]


def _readied() -> None:
    """Wait for the preview's background readying (so it does not share the machine with
    what is timed next)."""
    from voicestudio.voice.preview import readied

    if not readied(60.0):
        raise RuntimeError("the preview's background analyses did not end within 60 s")


def latest_wins_burst(session, controls: Sequence, interval_s: float) -> dict[str, Any]:
    """Send ``controls`` as fast as a slider would, through the app's preview policy
    (:class:`LatestWins`); time the last request to its delivered result. A plain thread
    renders each run of requests the policy starts, as the GUI's worker task does."""
    from voicestudio.voice.preview import LatestWins, render_request

    n = len(controls)
    policy = LatestWins()
    lock = threading.Lock()  # the policy has one owner at a time: this lock
    delivered: list[tuple[int, float, bool]] = []
    done = threading.Event()

    def render_from(request) -> None:
        while request is not None:
            result = render_request(session, request)
            with lock:
                finished = policy.finish(result.request_id)
            if finished.deliver:
                delivered.append((result.request_id, now(), result.error is None))
                if result.request_id == n:  # a fresh policy numbers requests 1..n
                    done.set()
            request = finished.start

    threads: list[threading.Thread] = []
    first_at = last_at = now()
    for i, c in enumerate(controls):
        if i:
            time.sleep(interval_s)
        last_at = now()
        with lock:
            start = policy.request(PREVIEW_LINE, c)
        if start is not None:  # nothing was rendering: this request starts a thread
            threads.append(threading.Thread(target=render_from, args=(start,), daemon=True))
            threads[-1].start()
    finished = done.wait(timeout=120.0)
    for thread in threads:
        thread.join(timeout=120.0)
    result_at = next((t for rid, t, _ in delivered if rid == n), None)
    return {
        "requested": n,
        "interval_ms": interval_s * 1000.0,
        "rendered": policy.rendered,
        "replaced_before_start": policy.replaced,
        "dropped_stale": policy.dropped,
        "delivered": len(delivered),
        "errors": sum(1 for *_, ok in delivered if not ok),
        "last_result_delivered": bool(finished),
        "last_request_to_result_ms": (result_at - last_at) * 1000.0 if result_at else None,
        "first_request_to_last_result_ms": (result_at - first_at) * 1000.0 if result_at else None,
    }
