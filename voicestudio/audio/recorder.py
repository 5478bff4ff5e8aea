"""Recording one mono take from a microphone.

Capture follows the Friture shape: the PortAudio callback only copies its block into a
preallocated :class:`~voicestudio.audio.ringbuffer.RingBuffer`; a drain thread moves
the new frames into the capture (and does the mixing down and the level metering), and
the GUI pulls new samples from the recorder on its own timer. Nothing that can block,
allocate much or log runs in the callback. No Qt here.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np

from voicestudio.audio.analysis import LevelMeter, Levels, amplitude_to_dbfs
from voicestudio.audio.devices import (
    AudioDevice,
    AudioDeviceError,
    choose_settings,
    find_device,
    portaudio,
)
from voicestudio.audio.ringbuffer import RingBuffer
from voicestudio.audio.streams import STALL_TIMEOUT_S, StreamOwner, open_stream, shutdown_stream

#: Capture ring length: how long the drain thread may stall before audio is lost.
RING_SECONDS = 4.0
#: How often the drain thread empties the ring.
DRAIN_INTERVAL_S = 0.01
#: Default maximum take length (a runaway recording should not fill the memory).
DEFAULT_MAX_TAKE_S = 600.0
#: Room the capture starts with; it doubles when a take runs longer.
INITIAL_CAPTURE_S = 30.0


class RecorderError(AudioDeviceError):
    """A recording failed or ended early; what was captured is kept in the capture."""


class StopReason(StrEnum):
    """Why a take ended."""

    STOPPED = "stopped"  # the user stopped it
    MAX_LENGTH = "max_length"  # it reached the maximum take length
    ERROR = "error"  # the device or the audio server failed
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class Capture:
    """Everything one recording captured, with how it ended (not yet a project's take)."""

    samples: np.ndarray  # mono float32
    sample_rate: int
    stop_reason: StopReason
    device: str
    error: RecorderError | None = None
    input_overflows: int = 0  # callbacks the driver flagged as having lost input
    dropped_frames: int = 0  # frames lost because the drain thread fell behind
    clipped: bool = False  # some part of the take hit full scale

    @property
    def duration_s(self) -> float:
        return len(self.samples) / float(self.sample_rate)

    @property
    def notice(self) -> str | None:
        """What to tell the user when the take did not end the way they ended it."""
        if self.error is not None:
            return str(self.error)
        if self.stop_reason is StopReason.MAX_LENGTH:
            length = _duration_text(self.duration_s)
            return f"Recording stopped by itself at the maximum take length ({length})."
        if self.input_overflows or self.dropped_frames:
            return (
                "Some audio was lost during this take (the computer was too busy); "
                "consider recording it again."
            )
        return None

    @property
    def complete(self) -> bool:
        """True when nothing went wrong: no error and no lost audio."""
        return self.error is None and self.input_overflows == 0 and self.dropped_frames == 0


def _duration_text(seconds: float) -> str:
    """0.5 s, 45 s, 10 min, 1 min 30 s."""
    if seconds < 60:
        return f"{seconds:.3g} s"
    minutes, rest = divmod(int(round(seconds)), 60)
    return f"{minutes} min" + (f" {rest} s" if rest else "")


class _CaptureBuffer:
    """Growable mono buffer for the take (doubling, so appends are amortised O(1))."""

    def __init__(self, initial: int, limit: int) -> None:
        self._limit = max(1, limit)
        self._data = np.zeros(max(1, min(initial, self._limit)), dtype=np.float32)
        self.length = 0

    def append(self, samples: np.ndarray) -> None:
        needed = self.length + len(samples)
        if needed > len(self._data):
            size = min(self._limit, max(needed, 2 * len(self._data)))
            grown = np.zeros(size, dtype=np.float32)
            grown[: self.length] = self._data[: self.length]
            self._data = grown
        self._data[self.length : needed] = samples
        self.length = needed

    def slice(self, start: int, stop: int | None = None) -> np.ndarray:
        return self._data[start : self.length if stop is None else stop].copy()


class Recorder(StreamOwner):
    """Records one mono take at a time from an input device.

    ``start()`` opens the stream; ``stop()`` returns the :class:`Capture` with everything
    recorded, also when the take already ended by itself (maximum length reached, or the
    device failed — then ``capture.error`` says what happened and the audio so far is kept).
    While recording, ``read_new()`` gives the samples captured since its last call (for the
    live analysis) and ``levels()`` the meter reading since its last call.
    """

    def __init__(
        self,
        device: str | int | None = None,
        *,
        max_seconds: float = DEFAULT_MAX_TAKE_S,
        rate: int | None = None,
    ) -> None:
        if max_seconds <= 0:
            raise ValueError("max_seconds must be positive")
        self.device_spec = device
        self.max_seconds = float(max_seconds)
        self.wanted_rate = rate
        self.device: AudioDevice | None = None
        self.sample_rate = 0
        self.channels = 0  # channels opened (2 only when the device offers no mono)
        self._stream: Any = None
        self._ring: RingBuffer | None = None
        self._capture: _CaptureBuffer | None = None
        self._lock = threading.Lock()  # consumer side only; the callback never takes it
        self._drain_thread: threading.Thread | None = None
        self._stream_done = threading.Event()
        self._ended = threading.Event()
        self._reset_take_state()

    def _reset_take_state(self) -> None:
        self._max_frames = 0
        self._input_overflows = 0
        self._hit_max = False
        self._stop_requested = False
        self._cancelled = False
        self._gui_cursor = 0
        self._stop_reason: StopReason | None = None
        self._error: RecorderError | None = None
        self._meter: LevelMeter | None = None
        self._reset_level_window()

    def _reset_level_window(self) -> None:
        # Levels since the last levels() call, so a peak between GUI frames is not missed.
        self._window_peak = 0.0
        self._window_sumsq = 0.0
        self._window_frames = 0
        self._window_clipped = False

    # -- the real-time side

    def _callback(self, indata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        """PortAudio thread: copy into the ring, count driver overflows, stop at the limit."""
        if status.input_overflow:
            self._input_overflows += 1
        ring = self._ring
        remaining = self._max_frames - ring.frames_offered
        if frames >= remaining:
            ring.write(indata[: max(0, remaining)])
            self._hit_max = True
            raise self._callback_stop
        ring.write(indata)

    def _on_stream_finished(self) -> None:
        self._stream_done.set()

    # -- control

    @property
    def is_recording(self) -> bool:
        return self._stream is not None and not self._ended.is_set()

    def start(self) -> None:
        """Open the device and start capturing a new take."""
        if self.is_recording:
            raise RecorderError("Already recording; stop the current take first.")
        self._close_stream()
        sd = portaudio()
        device = find_device(self.device_spec, "input")
        rate, channels = choose_settings(sd, device, self.wanted_rate)
        self._reset_take_state()
        self.device, self.sample_rate, self.channels = device, rate, channels
        self._max_frames = max(1, int(round(self.max_seconds * rate)))
        self._ring = RingBuffer(min(self._max_frames, int(RING_SECONDS * rate)) + 1, channels)
        self._capture = _CaptureBuffer(int(INITIAL_CAPTURE_S * rate), self._max_frames)
        self._meter = LevelMeter(rate)
        self._callback_stop = sd.CallbackStop
        self._stream_done.clear()
        self._ended.clear()
        try:
            stream = open_stream(
                sd, device, channels, rate, self._callback, self._on_stream_finished
            )
        except (sd.PortAudioError, ValueError) as exc:
            raise AudioDeviceError(f"Cannot open {device.name!r} for recording: {exc}") from exc
        self._stream = stream
        try:
            stream.start()
        except sd.PortAudioError as exc:
            self._close_stream()
            raise AudioDeviceError(f"Cannot start recording from {device.name!r}: {exc}") from exc
        # Early callbacks just fill the ring; the drain thread catches up at once.
        self._drain_thread = threading.Thread(
            target=self._drain_loop, name="recorder-drain", daemon=True
        )
        self._drain_thread.start()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the take has ended (stopped, maximum length, error); False on timeout."""
        return self._ended.wait(timeout)

    def stop(self) -> Capture:
        """End the take (if still running) and return everything recorded."""
        if self._stream is None or self._capture is None:
            raise RecorderError("Not recording: start a take first.")
        self._stop_requested = True
        self._end_stream(abort=False)  # a graceful stop; a dead stream just closes
        assert self._stop_reason is not None
        return Capture(
            samples=self._capture.slice(0),
            sample_rate=self.sample_rate,
            stop_reason=self._stop_reason,
            device=self.device.name if self.device else "",
            error=self._error,
            input_overflows=self._input_overflows,
            dropped_frames=self.dropped_frames,
            clipped=self.clipped,
        )

    def cancel(self) -> None:
        """Abandon the take: nothing is returned and the audio is discarded."""
        if self._stream is None:
            return
        self._stop_requested = self._cancelled = True
        self._end_stream(abort=True)
        self._capture = None

    def _abandon(self) -> None:
        self.cancel()

    def _end_stream(self, abort: bool) -> None:
        """Close the stream and let the drain thread take the last frames and finish."""
        stream, self._stream = self._stream, None
        shutdown_stream(stream, abort=abort)
        self._stream_done.set()
        if self._drain_thread is not None:
            self._drain_thread.join()

    # -- the consumer side

    def _drain_loop(self) -> None:
        stream = self._stream
        last_offered, last_progress = 0, time.monotonic()
        try:
            while not self._stream_done.wait(DRAIN_INTERVAL_S):
                self._drain()
                offered = self._ring.frames_offered
                now = time.monotonic()
                if offered != last_offered:
                    last_offered, last_progress = offered, now
                elif now - last_progress > STALL_TIMEOUT_S:
                    self._error = RecorderError(
                        f"Recording stopped: {self._device_name()} delivered no sound for "
                        f"{STALL_TIMEOUT_S:.0f} s. {self._kept()}"
                    )
                    shutdown_stream(stream, abort=True)  # stop() closes it again: harmless
                    break
            self._drain()
        except Exception as exc:  # a bug here must neither lose the take nor leave stop() waiting
            self._error = RecorderError(
                f"Recording stopped: internal error while reading audio ({exc!r}). {self._kept()}"
            )
            shutdown_stream(stream, abort=True)
        self._stop_reason = self._end_reason()
        self._ended.set()

    def _end_reason(self) -> StopReason:
        if self._cancelled:
            return StopReason.CANCELLED
        if self._error is not None:
            return StopReason.ERROR
        if self._hit_max:
            return StopReason.MAX_LENGTH
        if self._stop_requested:
            return StopReason.STOPPED
        # The stream ended on its own: PortAudio error, device unplugged, server gone.
        self._error = RecorderError(
            f"Recording stopped unexpectedly: {self._device_name()} was disconnected or the "
            f"audio system stopped. {self._kept()}"
        )
        return StopReason.ERROR

    def _device_name(self) -> str:
        return repr(self.device.name) if self.device else "the input device"

    def _kept(self) -> str:
        return f"The {self.seconds_recorded:.1f} s recorded so far were kept."

    def _drain(self) -> None:
        block = self._ring.read_new()
        if not len(block):
            return
        if block.ndim == 2:  # a stereo-only device: mix down here, not in the callback
            block = block.mean(axis=1, dtype=np.float32)
        with self._lock:
            clipped = self._meter.update(block).clipped
            self._capture.append(block)
            self._window_peak = max(self._window_peak, float(np.max(np.abs(block))))
            self._window_sumsq += float(np.dot(block, block))
            self._window_frames += len(block)
            self._window_clipped |= clipped

    def read_new(self) -> np.ndarray:
        """Mono samples captured since the previous call (for the live analysis)."""
        with self._lock:
            if self._capture is None:
                return np.zeros(0, dtype=np.float32)
            new = self._capture.slice(self._gui_cursor)
            self._gui_cursor += len(new)
        return new

    def levels(self) -> Levels:
        """Meter reading over the audio captured since the previous call (silence if none)."""
        with self._lock:
            peak, sumsq, frames, clipped = (
                self._window_peak,
                self._window_sumsq,
                self._window_frames,
                self._window_clipped,
            )
            self._reset_level_window()
            hold = self._meter.peak_hold_dbfs if self._meter else None
        if not frames:
            silent = Levels.silent()
            if hold is None:
                return silent
            return Levels(silent.peak_dbfs, silent.rms_dbfs, False, hold)
        peak_db = amplitude_to_dbfs(peak)
        rms_db = amplitude_to_dbfs(float(np.sqrt(sumsq / frames)))
        return Levels(peak_db, rms_db, clipped, max(hold if hold is not None else peak_db, peak_db))

    # -- accounting

    @property
    def frames_recorded(self) -> int:
        return self._capture.length if self._capture else 0

    @property
    def seconds_recorded(self) -> float:
        return self.frames_recorded / self.sample_rate if self.sample_rate else 0.0

    @property
    def input_overflows(self) -> int:
        return self._input_overflows

    @property
    def dropped_frames(self) -> int:
        return self._ring.frames_dropped if self._ring else 0

    @property
    def stop_reason(self) -> StopReason | None:
        """Why the take ended; None while it runs."""
        return self._stop_reason if self._ended.is_set() else None

    @property
    def error(self) -> RecorderError | None:
        return self._error if self._ended.is_set() else None

    @property
    def clipped(self) -> bool:
        """Whether any part of this take clipped."""
        return bool(self._meter and self._meter.clipped_ever)
