"""The capture ring: wraparound, overflow accounting, and no lost frames in normal use."""

from __future__ import annotations

import threading
import time
import tracemalloc

import numpy as np
import pytest

from voicestudio.audio.ringbuffer import RingBuffer


def _ramp(start: int, n: int) -> np.ndarray:
    return np.arange(start, start + n, dtype=np.float32)


def test_write_then_read_returns_the_same_frames():
    ring = RingBuffer(100)
    assert ring.write(_ramp(0, 30)) == 30
    assert ring.read_available() == 30
    np.testing.assert_array_equal(ring.read_new(), _ramp(0, 30))
    assert ring.read_available() == 0
    assert ring.read_new().shape == (0,)


def test_wraparound_keeps_order_for_any_block_sizes():
    rng = np.random.default_rng(1)
    ring = RingBuffer(97)  # a prime, so blocks straddle the end at every offset
    written, received = 0, []
    for _ in range(2000):
        n = int(rng.integers(1, 60))
        assert ring.write(_ramp(written, n)) == n
        written += n
        received.append(ring.read_new(max_frames=int(rng.integers(1, 97))))
        received.append(ring.read_new())
    got = np.concatenate(received)
    np.testing.assert_array_equal(got, _ramp(0, written))
    assert ring.frames_written == ring.frames_read == ring.frames_offered == written
    assert ring.frames_dropped == 0 and ring.overflow_count == 0


def test_overflow_drops_the_new_frames_and_counts_them():
    ring = RingBuffer(100)
    assert ring.write(_ramp(0, 80)) == 80
    assert ring.write(_ramp(80, 50)) == 20  # only 20 fit
    assert ring.frames_dropped == 30
    assert ring.overflow_count == 1
    assert ring.frames_offered == 130
    assert ring.write(_ramp(130, 5)) == 0  # still full
    assert ring.frames_dropped == 35 and ring.overflow_count == 2
    # The oldest frames survive untouched: the consumer never reads torn data.
    np.testing.assert_array_equal(ring.read_new(), _ramp(0, 100))
    assert ring.write(_ramp(135, 10)) == 10
    np.testing.assert_array_equal(ring.read_new(), _ramp(135, 10))


def test_multichannel_blocks_keep_their_channels():
    ring = RingBuffer(10, channels=2)
    block = np.stack([_ramp(0, 7), -_ramp(0, 7)], axis=1)
    ring.write(block)
    ring.read_new(max_frames=5)
    ring.write(block)  # wraps
    out = ring.read_new()
    assert out.shape == (9, 2)
    np.testing.assert_array_equal(out, np.concatenate([block[5:], block]))


def test_invalid_sizes_are_refused():
    with pytest.raises(ValueError):
        RingBuffer(0)
    with pytest.raises(ValueError):
        RingBuffer(10, channels=0)


def test_write_allocates_no_sample_memory():
    """The producer runs in the PortAudio callback: copying in must not allocate buffers,
    not even temporaries (the traced peak would rise by a block's size)."""
    block = np.ones((4096, 1), dtype=np.float32)  # 16 KiB, shaped like sounddevice's indata
    ring = RingBuffer(200 * 4096 + 1000)  # wraps once and overflows at the end
    ring.write(block)
    ring.read_new(max_frames=3000)
    tracemalloc.start()
    try:
        baseline = tracemalloc.get_traced_memory()[0]
        for _ in range(202):
            ring.write(block)
        current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak - baseline < 4096, (
        f"write() used {peak - baseline} bytes at its peak (a block is 16 KiB)"
    )
    assert current - baseline < 4096
    assert ring.frames_dropped > 0 and ring.overflow_count >= 1


def test_threaded_producer_and_consumer_lose_nothing_in_normal_use():
    """A producer writing 10 ms blocks about ten times faster than a 48 kHz callback, and a
    consumer draining every 2 ms: the 1 s ring leaves ample slack, so nothing may be lost."""
    ring = RingBuffer(48_000)
    total, block = 120_000, 480
    received: list[np.ndarray] = []
    done = threading.Event()

    def produce() -> None:
        for start in range(0, total, block):
            ring.write(_ramp(start, block))
            time.sleep(0.001)
        done.set()

    def consume() -> None:
        while not done.is_set() or ring.read_available():
            received.append(ring.read_new())
            time.sleep(0.002)

    threads = [threading.Thread(target=produce), threading.Thread(target=consume)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    np.testing.assert_array_equal(np.concatenate(received), _ramp(0, total))
    assert ring.frames_dropped == 0


def test_threaded_slow_consumer_gets_an_ordered_stream_with_counted_gaps():
    ring = RingBuffer(1000)
    total, block = 100_000, 100
    received: list[np.ndarray] = []
    done = threading.Event()

    def produce() -> None:
        for start in range(0, total, block):
            ring.write(_ramp(start, block))
            time.sleep(0)
        done.set()

    def consume() -> None:
        while not done.is_set() or ring.read_available():
            received.append(ring.read_new())
            time.sleep(0.02)  # the producer outpaces this many times over

    threads = [threading.Thread(target=produce), threading.Thread(target=consume)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    got = np.concatenate(received)
    assert ring.frames_dropped > 0
    assert len(got) + ring.frames_dropped == total == ring.frames_offered
    assert np.all(np.diff(got) > 0), "frames arrive in order, never duplicated or torn"
    # Whole blocks are kept or dropped except at the edge of the free space: every gap is
    # a run of dropped frames, and their sizes add up to the dropped count.
    gaps = np.diff(got) - 1
    assert int(gaps.sum()) + int(got[0]) + (total - 1 - int(got[-1])) == ring.frames_dropped
