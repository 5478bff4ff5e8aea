"""A preallocated single-producer/single-consumer ring of float32 frames.

The PortAudio callback (the producer) runs on a real-time thread that must never
wait: it only copies its block into preallocated memory and advances a counter.
The consumer (a drain thread or a GUI timer) copies out whatever is new. Neither
side takes a lock: the producer only writes the free region and publishes
``frames_written`` after copying; the consumer only reads ``[read, written)`` and
publishes ``frames_read`` after copying, so neither can see a half-written block.

When the consumer falls behind, the producer never overwrites unread frames (that
would hand the consumer torn data); it drops the part of the block that does not
fit and counts it, so lost audio is visible instead of silent.
"""

from __future__ import annotations

import numpy as np


class RingBuffer:
    """Fixed-capacity SPSC ring of ``channels``-wide float32 frames."""

    def __init__(self, capacity: int, channels: int = 1) -> None:
        if capacity < 1 or channels < 1:
            raise ValueError("capacity and channels must be at least 1")
        self.capacity = int(capacity)
        self.channels = int(channels)
        self._buffer = np.zeros((self.capacity, self.channels), dtype=np.float32)
        # Totals since creation; each is written by one side only.
        self._written = 0  # producer: frames stored
        self._read = 0  # consumer: frames taken out
        self._dropped = 0  # producer: frames that did not fit
        self._overflows = 0  # producer: writes that lost frames

    # -- producer side (real-time callback: no allocation beyond views, no locks, no logging)

    def write(self, block: np.ndarray) -> int:
        """Copy ``block`` (frames, or frames × channels) in; returns the frames stored.

        Frames that do not fit are dropped and counted in ``frames_dropped``.
        """
        if block.ndim == 1:
            block = block.reshape(-1, 1)  # a view: mono callers may pass 1-D blocks
        frames = len(block)
        free = self.capacity - (self._written - self._read)
        if frames > free:
            self._dropped += frames - free
            self._overflows += 1
            frames = free
        if frames:
            start = self._written % self.capacity
            first = min(frames, self.capacity - start)
            self._buffer[start : start + first] = block[:first]
            if frames > first:
                self._buffer[: frames - first] = block[first:frames]
            self._written += frames  # publish only after the copy is complete
        return frames

    # -- consumer side

    def read_available(self) -> int:
        """Frames written and not yet read."""
        return self._written - self._read

    def read_new(self, max_frames: int | None = None) -> np.ndarray:
        """Take out up to ``max_frames`` unread frames (all of them by default), oldest first.

        Returns a new array: 1-D for a mono ring, frames × channels otherwise.
        """
        available = self._written - self._read  # one snapshot; later writes wait for the next call
        frames = available if max_frames is None else max(0, min(available, int(max_frames)))
        out = np.empty((frames, self.channels), dtype=np.float32)
        if frames:
            start = self._read % self.capacity
            first = min(frames, self.capacity - start)
            out[:first] = self._buffer[start : start + first]
            if frames > first:
                out[first:] = self._buffer[: frames - first]
            self._read += frames  # release the space only after copying it out
        return out[:, 0] if self.channels == 1 else out

    # -- accounting (safe to read from either side)

    @property
    def frames_written(self) -> int:
        """Frames stored since creation (read or not)."""
        return self._written

    @property
    def frames_read(self) -> int:
        return self._read

    @property
    def frames_dropped(self) -> int:
        """Frames lost because the consumer was too slow."""
        return self._dropped

    @property
    def frames_offered(self) -> int:
        """Every frame the producer was given: ``frames_written + frames_dropped``."""
        return self._written + self._dropped

    @property
    def overflow_count(self) -> int:
        """How many writes lost frames."""
        return self._overflows
