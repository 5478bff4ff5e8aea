"""Microphones and speakers: listing them, recording a take, playing audio back.

Capture follows the Friture shape: the PortAudio callback only copies its block into a
preallocated :class:`~voicestudio.audio.ringbuffer.RingBuffer`; a drain thread moves
the new frames into the take (and does the mixing down and the level metering), and
the GUI pulls new samples from the recorder on its own timer. Nothing that can block,
allocate much or log runs in the callback.

PortAudio is imported lazily: without libportaudio2 ``import sounddevice`` raises
OSError, and VoiceStudio must still start (and say what is missing) instead of
failing with a traceback. No Qt here.
"""

from __future__ import annotations

import atexit
import contextlib
import threading
import time
from dataclasses import dataclass
from enum import StrEnum
from types import ModuleType
from typing import Any

import numpy as np

from voicestudio.audio.analysis import LevelMeter, Levels, amplitude_to_dbfs
from voicestudio.audio.io import resample
from voicestudio.audio.ringbuffer import RingBuffer
from voicestudio.errors import VoiceStudioError

#: Capture/playback rates tried first; the device's own default rate comes after these.
PREFERRED_RATES: tuple[int, ...] = (48_000,)
#: Stream buffering asked of PortAudio. Recording and take playback need no low latency, and
#: a deeper buffer rides out scheduling hiccups: with PipeWire on two busy cores, ~35 ms lost
#: or skipped audio in about 1 take in 20 (silently, with no xrun flag); 100 ms lost none in 100.
STREAM_LATENCY_S = 0.1
#: Capture ring length: how long the drain thread may stall before audio is lost.
RING_SECONDS = 4.0
#: How often the drain thread empties the ring.
DRAIN_INTERVAL_S = 0.01
#: A running stream that delivers nothing for this long is treated as dead.
STALL_TIMEOUT_S = 2.0
#: Default maximum take length (a runaway recording should not fill the memory).
DEFAULT_MAX_TAKE_S = 600.0
#: Silence appended to playback, so the device's output latency does not cut the tail.
PLAYBACK_TAIL_S = 0.15
#: Longest wait for PortAudio to stop and close a stream before leaving it behind.
SHUTDOWN_TIMEOUT_S = 1.0


class AudioDeviceError(VoiceStudioError):
    """No usable audio device, PortAudio missing, or a device cannot be opened."""


class RecorderError(AudioDeviceError):
    """A recording failed or ended early; what was captured is kept in the take."""


def _sounddevice() -> ModuleType:
    """``sounddevice``, or one clear error when PortAudio (libportaudio2) is missing."""
    try:
        import sounddevice
    except (OSError, ImportError) as exc:
        raise AudioDeviceError(
            "Audio devices are unavailable: the PortAudio library is not installed "
            "(on Debian/Ubuntu: sudo apt install libportaudio2)."
        ) from exc
    return sounddevice


#: Streams PortAudio could not stop in time; kept referenced so that garbage collection
#: (which closes them) cannot hang some later, unrelated line of code.
_abandoned_streams: list[Any] = []


def _shutdown_stream(stream: Any, abort: bool = True, timeout: float = SHUTDOWN_TIMEOUT_S) -> bool:
    """Stop (or abort) and close ``stream`` without ever blocking the caller for long.

    PortAudio 19.6's ALSA backend can spin forever once the sound server is gone (seen with
    an output stream when PipeWire is killed), and Pa_AbortStream then never returns. A
    GUI must not freeze on that, so the call runs on a helper thread; if it does not come
    back in time the stream is left behind and False is returned.
    """

    def shut() -> None:
        with contextlib.suppress(Exception):
            stream.abort() if abort else stream.stop()
        with contextlib.suppress(Exception):
            stream.close()

    helper = threading.Thread(target=shut, name="portaudio-shutdown", daemon=True)
    helper.start()
    helper.join(timeout)
    if helper.is_alive():
        if not _abandoned_streams:
            # Registered after sounddevice's own exit handler, so it runs first: PortAudio's
            # Pa_Terminate would close the stuck stream and hang the exit; the OS cleans up.
            atexit.register(_skip_portaudio_terminate)
        _abandoned_streams.append(stream)
        return False
    return True


def _skip_portaudio_terminate() -> None:
    with contextlib.suppress(Exception):
        _sounddevice()._initialized = 0  # sounddevice's exit handler terminates while this is > 0


# ---------------------------------------------------------------------------------- devices


@dataclass(frozen=True)
class AudioDevice:
    """One input or output device as PortAudio sees it right now."""

    index: int
    name: str
    kind: str  # "input" or "output"
    channels: int  # the most channels it offers in this direction
    default_rate: int
    is_default: bool
    host_api: str = ""


def _check_kind(kind: str) -> str:
    if kind not in ("input", "output"):
        raise ValueError(f"kind must be 'input' or 'output', not {kind!r}")
    return kind


def _default_index(sd: ModuleType, kind: str) -> int:
    try:
        return int(sd.query_devices(kind=kind)["index"])
    except (sd.PortAudioError, ValueError, KeyError, TypeError):
        return -1


def list_devices(kind: str = "input") -> list[AudioDevice]:
    """The devices that can record (``kind="input"``) or play (``kind="output"``)."""
    _check_kind(kind)
    sd = _sounddevice()
    try:
        devices = sd.query_devices()
        host_apis = sd.query_hostapis()
    except sd.PortAudioError as exc:
        raise AudioDeviceError(f"Cannot list audio devices: {exc}") from exc
    default = _default_index(sd, kind)
    found = []
    for info in devices:
        channels = int(info[f"max_{kind}_channels"])
        if channels < 1:
            continue
        api = info.get("hostapi")
        found.append(
            AudioDevice(
                index=int(info["index"]),
                name=str(info["name"]),
                kind=kind,
                channels=channels,
                default_rate=int(round(info["default_samplerate"])),
                is_default=int(info["index"]) == default,
                host_api=str(host_apis[api]["name"]) if isinstance(api, int) and api < len(host_apis) else "",
            )
        )
    return found


def find_device(device: str | int | None = None, kind: str = "input") -> AudioDevice:
    """Pick a device by index, by name (exact, else a unique part of it) or the default (None)."""
    devices = list_devices(kind)
    what = "microphone (input device)" if kind == "input" else "speaker (output device)"
    if not devices:
        raise AudioDeviceError(
            f"No {what} found: the audio system reports none. Connect one, check that the "
            "sound server (PipeWire or PulseAudio) is running, and try again."
        )
    names = ", ".join(repr(d.name) for d in devices)
    if device is None:
        return next((d for d in devices if d.is_default), devices[0])
    if isinstance(device, int) and not isinstance(device, bool):
        for candidate in devices:
            if candidate.index == device:
                return candidate
        raise AudioDeviceError(f"There is no {what} number {device}. Available: {names}.")
    wanted = str(device).strip().casefold()
    exact = [d for d in devices if d.name.casefold() == wanted]
    if exact:
        return exact[0]
    partial = [d for d in devices if wanted and wanted in d.name.casefold()]
    if len(partial) == 1:
        return partial[0]
    if len(partial) > 1:
        matches = ", ".join(repr(d.name) for d in partial)
        raise AudioDeviceError(f"{str(device)!r} matches several devices ({matches}); give the full name.")
    raise AudioDeviceError(f"No {what} named {str(device)!r}. Available: {names}.")


def _settings_ok(sd: ModuleType, kind: str, index: int, channels: int, rate: int) -> bool:
    check = sd.check_input_settings if kind == "input" else sd.check_output_settings
    try:
        check(device=index, channels=channels, dtype="float32", samplerate=rate)
    except (sd.PortAudioError, ValueError):
        return False
    return True


def choose_settings(
    sd: ModuleType, device: AudioDevice, wanted_rate: int | None = None
) -> tuple[int, int]:
    """(rate, channels) the device accepts: mono if offered, else stereo to mix down or
    duplicate; the wanted rate if given, else 48 kHz, else the device's default rate."""
    rates = [wanted_rate] if wanted_rate else []
    rates += [r for r in (*PREFERRED_RATES, device.default_rate) if r not in rates]
    for channels in (1, 2):
        if channels > device.channels:
            break
        for rate in rates:
            if _settings_ok(sd, device.kind, device.index, channels, rate):
                return rate, channels
    tried = ", ".join(f"{r} Hz" for r in rates)
    raise AudioDeviceError(
        f"{device.name!r} accepts none of the settings VoiceStudio can use "
        f"(mono or stereo float at {tried})."
    )


# -------------------------------------------------------------------------------- recording


class StopReason(StrEnum):
    """Why a take ended."""

    STOPPED = "stopped"  # the user stopped it
    MAX_LENGTH = "max_length"  # it reached the maximum take length
    ERROR = "error"  # the device or the audio server failed
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class Take:
    """Everything a recording captured, with how it ended."""

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
            return f"Recording stopped by itself at the maximum take length ({_duration_text(self.duration_s)})."
        if self.input_overflows or self.dropped_frames:
            return "Some audio was lost during this take (the computer was too busy); consider recording it again."
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


class _TakeBuffer:
    """Growable mono buffer for the take (doubling, so appends are amortised O(1))."""

    def __init__(self, initial: int, limit: int) -> None:
        self._limit = max(1, limit)
        self._data = np.zeros(max(1, min(initial, self._limit)), dtype=np.float32)
        self.length = 0

    def append(self, samples: np.ndarray) -> None:
        needed = self.length + len(samples)
        if needed > len(self._data):
            grown = np.zeros(min(self._limit, max(needed, 2 * len(self._data))), dtype=np.float32)
            grown[: self.length] = self._data[: self.length]
            self._data = grown
        self._data[self.length : needed] = samples
        self.length = needed

    def slice(self, start: int, stop: int | None = None) -> np.ndarray:
        return self._data[start : self.length if stop is None else stop].copy()


class Recorder:
    """Records one mono take at a time from an input device.

    ``start()`` opens the stream; ``stop()`` returns the :class:`Take` with everything
    recorded, also when the take already ended by itself (maximum length reached, or the
    device failed — then ``take.error`` says what happened and the audio so far is kept).
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
        self._take: _TakeBuffer | None = None
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
        sd = _sounddevice()
        device = find_device(self.device_spec, "input")
        rate, channels = choose_settings(sd, device, self.wanted_rate)
        self._reset_take_state()
        self.device, self.sample_rate, self.channels = device, rate, channels
        self._max_frames = max(1, int(round(self.max_seconds * rate)))
        self._ring = RingBuffer(min(self._max_frames, int(RING_SECONDS * rate)) + 1, channels)
        self._take = _TakeBuffer(int(30 * rate), self._max_frames)
        self._meter = LevelMeter(rate)
        self._callback_stop = sd.CallbackStop
        self._stream_done.clear()
        self._ended.clear()
        try:
            stream = sd.InputStream(
                device=device.index,
                channels=channels,
                samplerate=rate,
                dtype="float32",
                latency=STREAM_LATENCY_S,
                callback=self._callback,
                finished_callback=self._on_stream_finished,
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
        self._drain_thread = threading.Thread(target=self._drain_loop, name="recorder-drain", daemon=True)
        self._drain_thread.start()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the take has ended (stopped, maximum length, error); False on timeout."""
        return self._ended.wait(timeout)

    def stop(self) -> Take:
        """End the take (if still running) and return everything recorded."""
        if self._stream is None or self._take is None:
            raise RecorderError("Not recording: start a take first.")
        self._stop_requested = True
        stream, self._stream = self._stream, None
        _shutdown_stream(stream, abort=False)  # a graceful stop; a dead stream just closes
        self._stream_done.set()
        if self._drain_thread is not None:
            self._drain_thread.join()
        assert self._stop_reason is not None
        return Take(
            samples=self._take.slice(0),
            sample_rate=self.sample_rate,
            stop_reason=self._stop_reason,
            device=self.device.name if self.device else "",
            error=self._error,
            input_overflows=self._input_overflows,
            dropped_frames=self._ring.frames_dropped if self._ring else 0,
            clipped=self.clipped,
        )

    def cancel(self) -> None:
        """Abandon the take: nothing is returned and the audio is discarded."""
        if self._stream is None:
            return
        self._stop_requested = self._cancelled = True
        stream, self._stream = self._stream, None
        _shutdown_stream(stream, abort=True)
        self._stream_done.set()
        if self._drain_thread is not None:
            self._drain_thread.join()
        self._take = None

    def _close_stream(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            _shutdown_stream(stream, abort=True)

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.cancel()

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
                    _shutdown_stream(stream, abort=True)  # stop() closes it again: harmless
                    break
            self._drain()
        except Exception as exc:  # a bug here must neither lose the take nor leave stop() waiting
            self._error = RecorderError(f"Recording stopped: internal error while reading audio ({exc!r}). {self._kept()}")
            _shutdown_stream(stream, abort=True)
        if self._cancelled:
            reason = StopReason.CANCELLED
        elif self._error is not None:
            reason = StopReason.ERROR
        elif self._hit_max:
            reason = StopReason.MAX_LENGTH
        elif self._stop_requested:
            reason = StopReason.STOPPED
        else:  # the stream ended on its own: PortAudio error, device unplugged, server gone
            reason = StopReason.ERROR
            self._error = RecorderError(
                f"Recording stopped unexpectedly: {self._device_name()} was disconnected or the "
                f"audio system stopped. {self._kept()}"
            )
        self._stop_reason = reason
        self._ended.set()

    def _device_name(self) -> str:
        return repr(self.device.name) if self.device else "the input device"

    def _kept(self) -> str:
        seconds = self._take.length / self.sample_rate if self._take and self.sample_rate else 0.0
        return f"The {seconds:.1f} s recorded so far were kept."

    def _drain(self) -> None:
        block = self._ring.read_new()
        if not len(block):
            return
        if block.ndim == 2:  # a stereo-only device: mix down here, not in the callback
            block = block.mean(axis=1, dtype=np.float32)
        with self._lock:
            clipped = self._meter.update(block).clipped
            self._take.append(block)
            self._window_peak = max(self._window_peak, float(np.max(np.abs(block))))
            self._window_sumsq += float(np.dot(block, block))
            self._window_frames += len(block)
            self._window_clipped |= clipped

    def read_new(self) -> np.ndarray:
        """Mono samples captured since the previous call (for the live analysis)."""
        with self._lock:
            if self._take is None:
                return np.zeros(0, dtype=np.float32)
            new = self._take.slice(self._gui_cursor)
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
            return silent if hold is None else Levels(silent.peak_dbfs, silent.rms_dbfs, False, hold)
        peak_db = amplitude_to_dbfs(peak)
        rms_db = amplitude_to_dbfs(float(np.sqrt(sumsq / frames)))
        return Levels(peak_db, rms_db, clipped, max(hold if hold is not None else peak_db, peak_db))

    # -- accounting

    @property
    def frames_recorded(self) -> int:
        return self._take.length if self._take else 0

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


# --------------------------------------------------------------------------------- playback


class Player:
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
        sd = _sounddevice()
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
            self._stream = sd.OutputStream(
                device=device.index,
                channels=channels,
                samplerate=rate,
                dtype="float32",
                latency=STREAM_LATENCY_S,
                callback=self._callback,
                finished_callback=self._on_finished,
            )
            self._stream.start()
        except (sd.PortAudioError, ValueError) as exc:
            self._done.set()
            self._close()
            raise AudioDeviceError(f"Cannot play on {device.name!r}: {exc}") from exc

    def _check_stalled(self) -> None:
        """A stream that stops asking for audio while 'active' is dead (see _shutdown_stream)."""
        if self._stream is None or self._done.is_set():
            return
        now = time.monotonic()
        if self._position != self._last_position:
            self._last_position, self._last_progress = self._position, now
        elif now - self._last_progress > STALL_TIMEOUT_S:
            self._fail(f"took no audio for {STALL_TIMEOUT_S:.0f} s")
            self._done.set()
            self._close()

    @property
    def is_playing(self) -> bool:
        self._check_stalled()
        return self._stream is not None and not self._done.is_set()

    @property
    def position_s(self) -> float:
        """Seconds of the buffer handed to the device so far (for a playhead)."""
        return min(self._position, self._length) / self.sample_rate if self.sample_rate else 0.0

    def wait(self, timeout: float | None = None) -> bool:
        """Block until playback has finished; False on timeout. ``error`` says if it failed."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._done.wait(0.05):
            self._check_stalled()
            if deadline is not None and time.monotonic() >= deadline:
                return self._done.is_set()
        self._close()
        return True

    def stop(self) -> None:
        """Stop at once (no-op when idle)."""
        if self._stream is None:
            return
        self._stopped = True
        self._close()
        self._done.set()

    def _close(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            _shutdown_stream(stream, abort=True)

    def __enter__(self) -> Player:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
