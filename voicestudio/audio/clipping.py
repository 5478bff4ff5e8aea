"""Clipping: runs of samples at full scale, for the live meter and the take checks alike.

A converter that clips holds its largest code for a few samples, so clipping is a run of
consecutive full-scale samples; a lone full-scale sample is a peak that just fits. Stereo
is judged per channel, because a mix down can hide a channel that clipped. Pure numpy
(the live meter calls this for every 10 ms block).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: A sample at or beyond the largest 16-bit code (32767/32768, -0.0003 dBFS) is "at the rail".
RAIL_LEVEL = 32767.0 / 32768.0
#: This many consecutive samples at the rail are clipping.
MIN_CLIP_RUN = 3


@dataclass(frozen=True)
class FullScaleRuns:
    """Where a block of samples touched full scale."""

    count: int  # samples at full scale, over all channels
    longest: int  # the longest run of consecutive full-scale samples in one channel
    trailing: int  # the run still open at the block's end (mono), to carry into the next block

    def clipped(self, min_run: int = MIN_CLIP_RUN) -> bool:
        return self.longest >= min_run


def full_scale_runs(
    samples: np.ndarray, level: float = RAIL_LEVEL, carry: int = 0
) -> FullScaleRuns:
    """Runs of samples with ``|x| >= level`` in ``samples`` (mono, or frames × channels).

    ``carry`` is the run that ended the previous block of a mono stream: a run that goes on
    at the start of this block counts it, so a run split between two blocks is seen whole.
    A run is only reported in the block that holds some of it.
    """
    hot = np.abs(np.asarray(samples)) >= level
    count = int(hot.sum())
    if count == 0:
        return FullScaleRuns(0, 0, 0)
    if hot.ndim == 1:
        longest, trailing = _column_runs(hot, carry)
        return FullScaleRuns(count, longest, trailing)
    if carry:
        raise ValueError("a carried run is only defined for a mono stream")
    longest = max(_column_runs(column, 0)[0] for column in hot.reshape(hot.shape[0], -1).T)
    return FullScaleRuns(count, longest, 0)


def _column_runs(hot: np.ndarray, carry: int) -> tuple[int, int]:
    """(longest run, run open at the end) of True values in one channel."""
    if not hot.any():
        return 0, 0
    edges = np.flatnonzero(np.diff(np.concatenate(([False], hot, [False])).astype(np.int8)))
    starts, ends = edges[0::2], edges[1::2]
    lengths = ends - starts
    if starts[0] == 0:
        lengths[0] += carry
    trailing = int(lengths[-1]) if ends[-1] == len(hot) else 0
    return int(lengths.max()), trailing
