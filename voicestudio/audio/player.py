"""Playing a mono buffer on a speaker without blocking (take playback, synthesis previews).

The PortAudio callback only copies the next slice of a buffer prepared in advance
(resampled and padded with silence before the stream opens). No Qt here.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np

from voicestudio.audio.devices import (
    AudioDevice,
    AudioDeviceError,
    choose_settings,
    find_device,
    portaudio,
)
from voicestudio.audio.io import resample
from voicestudio.audio.streams import STALL_TIMEOUT_S, StreamOwner, open_stream

#: Silence appended to playback, so the device's output latency does not cut the tail.
PLAYBACK_TAIL_S = 0.15


class Player(StreamOwner):
    """Non-blocking playback of a mono buffer on an output device.

    The device is opened at the buffer's rate when it accepts it, else at a rate it does
    accept, resampling with soxr first.
    """

    def __init__(self, device: str | int | None = None, *, rate: int | None = None) -> None:
        self.device_spec = device
        self.wanted_rate = rate  # force an output rate (resampling when it differs)
        self.device: AudioDevice | None = None
        self.sample_rate = 0
        self._stream: Any = None
        self._data = np.zeros(0, dtype=np.float32)
        self._position = 0
        self._length = 0  # frames of real audio, without the silent tail
        self._done = threading.Event()
        self._done.set()
        self._stopped = False
        self.error: AudioDeviceError | None = None

    def _callback(self, outdata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        """PortAudio thread: copy the next slice out; silence and stop at the end."""
        position = self._position
        chunk = self._data[position : position + frames]
        n = len(chunk)
        outdata[:n] = chunk[:, np.newaxis]  # mono → every channel, by broadcasting a view
        if n < frames:
            outdata[n:] = 0.0
        self._position = position + n
        if self._position >= len(self._data):
            raise self._callback_stop

    def _on_finished(self) -> None:
        if not self._stopped and self._position < len(self._data):
            self._fail("was disconnected or the audio system stopped")
        self._done.set()

    def _fail(self, what: str) -> None:
        name = repr(self.device.name) if self.device else "the output device"
        self.error = AudioDeviceError(f"Playback stopped unexpectedly: {name} {what}.")

    def play(self, samples: np.ndarray, sample_rate: int) -> None:
        """Start playing ``samples`` (mono) and return at once; stops what was playing."""
        self.stop()
        sd = portaudio()
        device = find_device(self.device_spec, "output")
        samples = np.asarray(samples, dtype=np.float32).reshape(-1)
        rate, channels = choose_settings(sd, device, self.wanted_rate or int(sample_rate))
        if rate != sample_rate:
            samples = resample(samples, int(sample_rate), rate)
        tail = np.zeros(int(PLAYBACK_TAIL_S * rate), dtype=np.float32)
        self._data = np.clip(np.concatenate((samples, tail)), -1.0, 1.0)
        self._length = len(samples)
        self._position, self._stopped, self.error = 0, False, None
        self._last_position, self._last_progress = -1, time.monotonic()
        self.device, self.sample_rate = device, rate
        self._callback_stop = sd.CallbackStop
        self._done.clear()
        try:
            self._stream = open_stream(
                sd, device, channels, rate, self._callback, self._on_finished
            )
            self._stream.start()
        except (sd.PortAudioError, ValueError) as exc:
            self._done.set()
            self._close_stream()
            raise AudioDeviceError(f"Cannot play on {device.name!r}: {exc}") from exc

    def _check_stalled(self) -> None:
        """A stream that stops asking for audio while 'active' is dead (see shutdown_stream)."""
        if self._stream is None or self._done.is_set():
            return
        now = time.monotonic()
        if self._position != self._last_position:
            self._last_position, self._last_progress = self._position, now
        elif now - self._last_progress > STALL_TIMEOUT_S:
            self._fail(f"took no audio for {STALL_TIMEOUT_S:.0f} s")
            self._done.set()
            self._close_stream()

    @property
    def is_playing(self) -> bool:
        self._check_stalled()
        return self._stream is not None and not self._done.is_set()

    @property
    def position_s(self) -> float:
        """Seconds of the buffer handed to the device so far (for a playhead)."""
        if not self.sample_rate:
            return 0.0
        return min(self._position, self._length) / self.sample_rate

    def wait(self, timeout: float | None = None) -> bool:
        """Block until playback has finished; False on timeout. ``error`` says if it failed."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._done.wait(0.05):
            self._check_stalled()
            if deadline is not None and time.monotonic() >= deadline:
                return self._done.is_set()
        self._close_stream()
        return True

    def stop(self) -> None:
        """Stop at once (no-op when idle)."""
        if self._stream is None:
            return
        self._stopped = True
        self._close_stream()
        self._done.set()

    def _abandon(self) -> None:
        self.stop()
