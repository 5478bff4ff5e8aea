"""PortAudio streams: the buffering they ask for, and closing them without hanging.

Shared by :class:`~voicestudio.audio.recorder.Recorder` and
:class:`~voicestudio.audio.player.Player`, each of which holds one stream at a time.
No Qt here.
"""

from __future__ import annotations

import atexit
import contextlib
import threading
from collections.abc import Callable
from types import ModuleType
from typing import Any, Self

from voicestudio.audio.devices import AudioDevice, portaudio

#: Stream buffering asked of PortAudio. Recording and take playback need no low latency, and
#: a deeper buffer rides out scheduling hiccups: with PipeWire on two busy cores, ~35 ms lost
#: or skipped audio in about 1 take in 20 (silently, with no xrun flag); 100 ms lost none in 100.
STREAM_LATENCY_S = 0.1
#: A running stream that delivers (or takes) nothing for this long is treated as dead.
STALL_TIMEOUT_S = 2.0
#: Longest wait for PortAudio to stop and close a stream before leaving it behind.
SHUTDOWN_TIMEOUT_S = 1.0

#: Streams PortAudio could not stop in time; kept referenced so that garbage collection
#: (which closes them) cannot hang some later, unrelated line of code.
_abandoned_streams: list[Any] = []


def open_stream(
    sd: ModuleType,
    device: AudioDevice,
    channels: int,
    rate: int,
    callback: Callable[..., None],
    finished_callback: Callable[[], None],
) -> Any:
    """A float32 stream on ``device`` in its direction (input or output), not started yet.

    Raises what PortAudio raises (``sd.PortAudioError``, ValueError); the caller words it."""
    stream_type = sd.InputStream if device.kind == "input" else sd.OutputStream
    return stream_type(
        device=device.index,
        channels=channels,
        samplerate=rate,
        dtype="float32",
        latency=STREAM_LATENCY_S,
        callback=callback,
        finished_callback=finished_callback,
    )


def shutdown_stream(stream: Any, abort: bool = True, timeout: float = SHUTDOWN_TIMEOUT_S) -> bool:
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
        portaudio()._initialized = 0  # sounddevice's exit handler terminates while this is > 0


class StreamOwner:
    """Holds at most one PortAudio stream, closed through :func:`shutdown_stream`.

    Leaving a ``with`` block ends the stream at once and keeps nothing (:meth:`_abandon`:
    a recording is cancelled, playback stopped).
    """

    _stream: Any = None

    def _close_stream(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            shutdown_stream(stream, abort=True)

    def _abandon(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._abandon()
