"""One clip detector for the live meter and the take checks: runs of full-scale samples."""

from __future__ import annotations

import numpy as np
import pytest

from voicestudio.audio.clipping import MIN_CLIP_RUN, RAIL_LEVEL, FullScaleRuns, full_scale_runs


def _signal(pattern: str) -> np.ndarray:
    """'x' = a sample at the rail (alternating sign), '.' = a quiet one."""
    return np.array(
        [(-1) ** i * (1.0 if c == "x" else 0.1) for i, c in enumerate(pattern)], np.float32
    )


@pytest.mark.parametrize(
    ("pattern", "count", "longest", "trailing"),
    [
        ("....", 0, 0, 0),
        ("x...", 1, 1, 0),
        (".xx.xxx.", 5, 3, 0),
        ("..xx", 2, 2, 2),
        ("xxxx", 4, 4, 4),
    ],
)
def test_runs_of_a_mono_block(pattern, count, longest, trailing):
    assert full_scale_runs(_signal(pattern)) == FullScaleRuns(count, longest, trailing)


def test_a_run_split_between_blocks_is_counted_whole_where_it_goes_on():
    first = full_scale_runs(_signal("...xx"))
    assert first.trailing == 2 and not first.clipped()
    second = full_scale_runs(_signal("x..."), carry=first.trailing)
    assert second.longest == 3 and second.clipped() and second.trailing == 0
    # A block that starts off the rail does not report the run before it again.
    assert full_scale_runs(_signal(".x.."), carry=5).longest == 1
    assert full_scale_runs(_signal("xxxx"), carry=2) == FullScaleRuns(4, 6, 6)


def test_channels_are_judged_apart_and_the_level_is_a_parameter():
    left, right = _signal("x.x.x."), _signal(".x.x.x")  # the mix has six rail samples in a row
    runs = full_scale_runs(np.stack([left, right], axis=1))
    assert runs.count == 6 and runs.longest == 1 and not runs.clipped()
    assert full_scale_runs(np.full(4, 0.9995, np.float32)).count == 0  # below the 16-bit rail
    assert full_scale_runs(np.full(4, 0.9995, np.float32), 0.999).longest == 4
    assert full_scale_runs(np.full(3, RAIL_LEVEL, np.float32)).clipped(MIN_CLIP_RUN)
    with pytest.raises(ValueError, match="mono"):
        full_scale_runs(np.ones((4, 2), np.float32), carry=1)
