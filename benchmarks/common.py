"""What the sections of ``run.py`` share: the styled setting, timing helpers, and how much
of the machine other processes took while a benchmark ran."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Iterable, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

#: The "styled" setting of every styled row: needs the full WORLD pass.
STYLED_KW: dict[str, float] = {"pitch": 3.0, "pitch_range": 1.3, "speed": 1.1, "energy": 2.0}
SETTLE_S = 0.02  # untimed idle before each timed call


def now() -> float:
    return time.perf_counter()


def median(values: Iterable[float]) -> float:
    return float(statistics.median(list(values)))


def p90(values: Sequence[float]) -> float:
    return float(np.percentile(np.asarray(values, dtype=float), 90))


def williams_orders(n: int) -> list[list[int]]:
    """Orders of ``n`` items in which every item follows every other equally often (a Williams
    Latin square), so what one path leaves behind (onnxruntime threads still spinning, warm
    caches) does not always land on the same next path."""
    first = [0]
    low, high = 1, n - 1
    while len(first) < n:
        first.append(low)
        low += 1
        if len(first) < n:
            first.append(high)
            high -= 1
    rows = [[(j + r) % n for j in first] for r in range(n)]
    return rows if n % 2 == 0 else rows + [row[::-1] for row in rows]


def ordered(items: Sequence[Any], k: int) -> list[Any]:
    orders = williams_orders(len(items))
    return [items[j] for j in orders[k % len(orders)]]


def settle() -> None:
    """Idle between timed calls (not timed): the previous path's thread pools stop spinning."""
    time.sleep(SETTLE_S)


def interleaved(paths: dict[str, Any], reps: int) -> dict[str, list[float]]:
    """Seconds per call of each work in ``paths`` over ``reps`` repetitions, after one warm-up
    call each, the order reversed every other repetition so drift in the machine is shared."""

    def timed(work) -> float:
        settle()
        started = now()
        work()
        return now() - started

    for work in paths.values():
        timed(work)
    times: dict[str, list[float]] = {name: [] for name in paths}
    for rep in range(reps):
        for name in (list(paths) if rep % 2 == 0 else list(paths)[::-1]):
            times[name].append(timed(paths[name]))
    return times


def version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _busy_cpu_s() -> float | None:
    """CPU seconds the whole machine has spent busy since boot (``/proc/stat``), or None."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except (OSError, IndexError):
        return None
    ticks = [int(v) for v in fields]
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)  # idle + iowait
    return (sum(ticks[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _own_cpu_s() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


class OtherLoad:
    """CPU time other processes used while the benchmark ran: the machine's busy time minus
    this process's own. On a 2-core machine even half a core taken by something else skews
    the absolute seconds (and, unevenly, the ratios), so the report states it."""

    def __init__(self) -> None:
        self.busy0, self.own0, self.t0 = _busy_cpu_s(), _own_cpu_s(), now()

    def result(self) -> dict[str, Any]:
        busy = _busy_cpu_s()
        wall = now() - self.t0
        if busy is None or self.busy0 is None:
            return {"other_cpu_s": None, "wall_s": wall}
        other = max(0.0, (busy - self.busy0) - (_own_cpu_s() - self.own0))
        return {"other_cpu_s": other, "wall_s": wall,
                "other_cores_avg": other / wall if wall else None}
