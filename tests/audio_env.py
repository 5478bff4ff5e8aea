"""Test helpers: a private PipeWire with a virtual microphone and speaker, and signal checks.

Debian's PortAudio sees no device on a machine without a sound card. This starts an
isolated PipeWire + WirePlumber (same set-up as ../shared/audio-ci, built in here so the
tests do not depend on files outside the repository): record from "vmic"; play into
"vmic" to inject known audio into it; play to "vspeaker"; record from "vspeaker" to hear
what was played. PortAudio reaches them through ALSA's pipewire plugin.

Only two variables point a client at an instance: ``PIPEWIRE_RUNTIME_DIR`` (its socket)
and ``ALSA_CONFIG_PATH`` (ALSA's config plus the device names). HOME and the XDG folders
of the test process are left alone. PortAudio enumerates devices when it initialises, so
after changing them it is re-initialised (``sd._terminate(); sd._initialize()``).

Run as a script, this file is a child process of the destructive test (the audio
server is killed under it): ``python audio_env.py record-until-error OUT.wav`` or
``python audio_env.py play-until-error``.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

VIRTUAL_DEVICES = frozenset({"vmic", "vspeaker"})
ALSA_TOP_CONFIG = Path("/usr/share/alsa/alsa.conf")
TOOLS = ("pipewire", "wireplumber", "wpctl", "dbus-daemon")
ALSA_PIPEWIRE_PLUGIN = "/usr/lib/*/alsa-lib/libasound_module_pcm_pipewire.so"
INSTALL_HINT = (
    "apt-get install --no-install-recommends libportaudio2 pipewire wireplumber pipewire-alsa dbus"
)

# Virtual speaker "vspeaker" (+ loopback source "vloop" = what was played); virtual mic
# "vmic", fed by playing into the sink "vmic_in". No sound card, no kernel module.
PIPEWIRE_DEVICES_CONF = """
context.objects = [
    { factory = adapter
      args = { factory.name = support.null-audio-sink  node.name = "vspeaker"
               node.description = "VirtualSpeaker"  media.class = "Audio/Sink"
               audio.position = [ MONO ]  object.linger = true } }
    { factory = adapter
      args = { factory.name = support.null-audio-sink  node.name = "vmic_in"
               node.description = "VirtualMicFeed"  media.class = "Audio/Sink"
               audio.position = [ MONO ]  object.linger = true } }
]
context.modules = [
    { name = libpipewire-module-loopback
      args = { node.description = "VirtualMic"
               capture.props  = { node.name = "vmic_cap"  target.object = "vmic_in"
                                  stream.capture.sink = true  audio.position = [ MONO ]
                                  node.dont-reconnect = true }
               playback.props = { node.name = "vmic"  media.class = "Audio/Source"
                                  audio.position = [ MONO ]  priority.session = 2000 } } }
    { name = libpipewire-module-loopback
      args = { node.description = "SpeakerLoopback"
               capture.props  = { node.name = "vloop_cap"  target.object = "vspeaker"
                                  stream.capture.sink = true  audio.position = [ MONO ]
                                  node.dont-reconnect = true }
               playback.props = { node.name = "vloop"  media.class = "Audio/Source"
                                  audio.position = [ MONO ]  priority.session = 100 } } }
]
"""

# Named PortAudio (ALSA) devices bound to the PipeWire nodes above.
ASOUNDRC = """
pcm.vmic     { type pipewire; capture_node "vmic";  playback_node "vmic_in";
               hint { show on; description "VirtualMic" } }
pcm.vspeaker { type pipewire; capture_node "vloop"; playback_node "vspeaker";
               hint { show on; description "VirtualSpeaker" } }
"""


# ------------------------------------------------------------------------------ PortAudio


def reinit_portaudio() -> None:
    """Make PortAudio enumerate devices again (it does so only when initialised).

    Uses sounddevice's private pair; every stream must be closed first.
    """
    import sounddevice as sd

    sd._terminate()
    sd._initialize()


def device_names() -> set[str]:
    import sounddevice as sd

    return {str(d["name"]) for d in sd.query_devices()}


def has_virtual_devices() -> bool:
    return device_names() >= VIRTUAL_DEVICES


def portaudio_missing() -> str | None:
    """Why sounddevice cannot be used here, or None."""
    try:
        import sounddevice  # noqa: F401
    except OSError as exc:
        return f"PortAudio is not installed ({exc}); {INSTALL_HINT}"
    return None


def pipewire_missing() -> str | None:
    """Why a virtual PipeWire cannot be started here, or None."""
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if not glob.glob(ALSA_PIPEWIRE_PLUGIN):
        missing.append("pipewire-alsa")
    if not ALSA_TOP_CONFIG.is_file():
        missing.append(str(ALSA_TOP_CONFIG))
    if missing:
        return f"virtual audio needs {', '.join(missing)}; {INSTALL_HINT}"
    return None


# ------------------------------------------------------------------------- virtual audio


def _die_with_parent(argv: list[str]) -> list[str]:
    """``argv`` run so that it gets SIGTERM if the test run dies, leaving no PipeWire behind.

    util-linux's setpriv sets the parent-death signal before exec; a preexec_fn would do the
    same but is unsafe in a process that already runs threads (ONNX Runtime, PortAudio)."""
    setpriv = shutil.which("setpriv")
    return [setpriv, "--pdeathsig", "TERM", *argv] if setpriv else argv


@dataclass
class VirtualAudio:
    """One private PipeWire instance with "vmic" and "vspeaker"."""

    base: Path
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    @property
    def runtime_dir(self) -> Path:
        return self.base / "runtime"

    @property
    def client_env(self) -> dict[str, str]:
        """Variables that point a PortAudio client at this instance."""
        return {
            "PIPEWIRE_RUNTIME_DIR": str(self.runtime_dir),
            "ALSA_CONFIG_PATH": f"{ALSA_TOP_CONFIG}:{self.base / 'asoundrc'}",
        }

    def _server_env(self) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("PIPEWIRE_", "PULSE_", "XDG_", "DBUS_", "ALSA_"))
        }
        home = self.base / "home"
        env.update(
            HOME=str(home),
            XDG_RUNTIME_DIR=str(self.runtime_dir),
            PIPEWIRE_RUNTIME_DIR=str(self.runtime_dir),
            XDG_CONFIG_HOME=str(home / ".config"),
            XDG_STATE_HOME=str(home / ".state"),
            DBUS_SESSION_BUS_ADDRESS=f"unix:path={self.runtime_dir / 'bus'}",
        )
        return env

    @classmethod
    def start(cls, base: Path, timeout: float = 15.0, attempts: int = 3) -> VirtualAudio:
        """Start dbus, PipeWire and WirePlumber under ``base``; ready when "vmic" is the default
        source.

        A start that fails is stopped and tried again in a fresh folder: on a machine that has
        started and stopped many instances a daemon occasionally dies while starting."""
        for attempt in range(1, attempts + 1):
            try:
                return cls._start_once(
                    Path(base) / f"try{attempt}" if attempt > 1 else Path(base), timeout
                )
            except RuntimeError:
                if attempt == attempts:
                    raise
                time.sleep(0.5)
        raise AssertionError("unreachable")

    @classmethod
    def _start_once(cls, base: Path, timeout: float) -> VirtualAudio:
        audio = cls(base)
        conf_dir = audio.base / "home" / ".config" / "pipewire" / "pipewire.conf.d"
        conf_dir.mkdir(parents=True, exist_ok=True)
        audio.runtime_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        (conf_dir / "ci-devices.conf").write_text(PIPEWIRE_DEVICES_CONF)
        (audio.base / "asoundrc").write_text(ASOUNDRC)
        env = audio._server_env()
        try:
            bus = audio.runtime_dir / "bus"
            audio._spawn(
                "dbus",
                [
                    "dbus-daemon",
                    "--session",
                    f"--address=unix:path={bus}",
                    "--nofork",
                    "--nopidfile",
                ],
                env,
            )
            audio._wait(lambda: bus.exists(), timeout, "the D-Bus socket")
            audio._spawn("pipewire", ["pipewire"], env)
            # WirePlumber exits ("Failed to connect to PipeWire") if it starts before the socket
            # exists.
            socket = audio.runtime_dir / "pipewire-0"
            audio._wait(lambda: socket.exists(), timeout, "PipeWire socket")
            audio._spawn("wireplumber", ["wireplumber"], env)
            audio._wait(
                lambda: audio._default_source(env) == "vmic", timeout, '"vmic" as default source'
            )
        except Exception:
            audio.stop()
            raise
        return audio

    def _spawn(self, name: str, argv: list[str], env: dict[str, str]) -> None:
        with open(self.base / f"{name}.log", "wb") as log:
            self.processes[name] = subprocess.Popen(
                _die_with_parent(argv),
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def _default_source(self, env: dict[str, str]) -> str | None:
        result = subprocess.run(
            ["wpctl", "inspect", "@DEFAULT_AUDIO_SOURCE@"],
            env=env,
            capture_output=True,
            text=True,
            timeout=5,
        )
        return "vmic" if 'node.name = "vmic"' in result.stdout else None

    def _wait(self, ready, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            dead = [name for name, proc in self.processes.items() if proc.poll() is not None]
            if dead or time.monotonic() > deadline:
                logs = "\n".join(
                    f"--- {p.name}\n{p.read_text(errors='replace')[-1500:]}"
                    for p in self.base.glob("*.log")
                )
                raise RuntimeError(
                    f"virtual audio: no {what} ({', '.join(dead) or 'timeout'} exited)\n{logs}"
                )
            time.sleep(0.05)

    def kill_server(self) -> None:
        """Kill PipeWire as a crash would (SIGKILL): clients see the server vanish."""
        proc = self.processes.get("pipewire")
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait(5)

    def stop(self) -> None:
        for name in ("wireplumber", "pipewire", "dbus"):
            proc = self.processes.pop(name, None)
            if proc is None or proc.poll() is not None:
                continue
            proc.terminate()
            try:
                proc.wait(3)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(3)


@contextlib.contextmanager
def client_of(audio: VirtualAudio) -> Iterator[None]:
    """Point this process's PortAudio at ``audio``; restore the old environment afterwards."""
    saved = {key: os.environ.get(key) for key in (*audio.client_env, "PIPEWIRE_REMOTE")}
    os.environ.pop("PIPEWIRE_REMOTE", None)
    os.environ.update(audio.client_env)
    reinit_portaudio()
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        reinit_portaudio()


# ---------------------------------------------------------------------------------- signals


def sine(freq: float, rate: int, seconds: float, amp: float = 0.5) -> np.ndarray:
    t = np.arange(int(round(rate * seconds))) / rate
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def rms_dbfs(samples: np.ndarray) -> float:
    samples = np.asarray(samples, dtype=np.float64)
    return 10.0 * np.log10(np.mean(samples**2) + 1e-20)


def dominant_frequency(samples: np.ndarray, rate: int) -> float:
    """Frequency of the strongest partial, to a small fraction of a Hz (zero-padded FFT with
    parabolic interpolation of the log magnitude)."""
    x = np.asarray(samples, dtype=np.float64)
    n_fft = 1 << int(np.ceil(np.log2(len(x) * 8)))
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x)), n_fft)) + 1e-20
    k = int(np.argmax(spectrum[1:-1])) + 1
    a, b, c = np.log(spectrum[k - 1 : k + 2])
    offset = 0.5 * (a - c) / (a - 2 * b + c)
    return (k + offset) * rate / n_fft


def active_region(samples: np.ndarray, rate: int, threshold_db: float = -40.0) -> tuple[int, int]:
    """First and last sample of the 10 ms windows louder than ``threshold_db``."""
    hop = rate // 100
    n = len(samples) // hop
    power = np.mean(np.asarray(samples[: n * hop], np.float64).reshape(n, hop) ** 2, axis=1)
    loud = np.flatnonzero(10 * np.log10(power + 1e-20) > threshold_db)
    if loud.size == 0:
        return 0, 0
    return int(loud[0]) * hop, int(loud[-1] + 1) * hop


def aligned_correlation(reference: np.ndarray, recorded: np.ndarray) -> tuple[float, int]:
    """Normalised cross-correlation of ``reference`` with ``recorded`` at the best lag.

    Returns (correlation, lag): the reference starts ``lag`` samples into the recording.
    """
    from scipy.signal import correlate

    ref = np.asarray(reference, np.float64)
    rec = np.asarray(recorded, np.float64)
    xc = correlate(rec, ref, mode="valid", method="fft")
    lag = int(np.argmax(np.abs(xc)))
    segment = rec[lag : lag + len(ref)]
    denom = np.linalg.norm(ref) * np.linalg.norm(segment)
    return (float(np.dot(ref, segment) / denom) if denom else 0.0), lag


class Injector:
    """Plays a buffer into a device on its own OutputStream (independent of Player, so the
    recorder tests do not lean on the code under test for their stimulus)."""

    def __init__(
        self, device: str, samples: np.ndarray, rate: int, lead_s: float = 0.0, tail_s: float = 0.2
    ):
        import sounddevice as sd

        silence = np.zeros(int(rate * lead_s), np.float32)
        self.data = np.concatenate(
            (silence, np.asarray(samples, np.float32), np.zeros(int(rate * tail_s), np.float32))
        )
        self.position = 0
        # the stimulus itself had gaps: a test may retry rather than blame the recorder
        self.underflows = 0
        self.stream = sd.OutputStream(
            device=device,
            samplerate=rate,
            channels=1,
            dtype="float32",
            latency=0.1,
            callback=self._callback,
        )  # 0.1 s: see streams.STREAM_LATENCY_S

    def _callback(self, outdata, frames, time_info, status) -> None:
        import sounddevice as sd

        if status.output_underflow:
            self.underflows += 1
        chunk = self.data[self.position : self.position + frames]
        outdata[: len(chunk), 0] = chunk
        outdata[len(chunk) :] = 0
        self.position += len(chunk)
        if self.position >= len(self.data):
            raise sd.CallbackStop

    def __enter__(self) -> Injector:
        self.stream.start()
        return self

    def wait(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while self.stream.active and time.monotonic() < deadline:
            time.sleep(0.01)

    def __exit__(self, *exc_info) -> None:
        from voicestudio.audio.streams import shutdown_stream as _shutdown_stream

        _shutdown_stream(self.stream)  # PortAudio can hang aborting a stream whose server died


# ------------------------------------------------------- child of the destructive test


def _record_until_error(out_path: str) -> None:
    """Record from "vmic" (with a tone injected) until the server dies; save what came."""
    from voicestudio.audio.io import write_audio
    from voicestudio.audio.recorder import Recorder

    rate = 48_000
    recorder = Recorder("vmic", max_seconds=30, rate=rate)
    with Injector("vmic", sine(440.0, rate, 20.0), rate):
        recorder.start()
        # audio is flowing before the parent kills the server
        while recorder.seconds_recorded < 0.3:
            time.sleep(0.01)
        print("READY", flush=True)
        ended = recorder.wait(10.0)
        take = recorder.stop()
    if len(take.samples):
        write_audio(out_path, take.samples, take.sample_rate, fmt="float")
    _report(
        ended_by_itself=ended,
        stop_reason=str(take.stop_reason),
        error=str(take.error) if take.error else None,
        error_type=type(take.error).__name__,
        seconds=take.duration_s,
    )


def _play_until_error() -> None:
    """Play a long tone on "vspeaker" until the server dies; report what the player saw."""
    from voicestudio.audio.player import Player

    player = Player("vspeaker")
    player.play(sine(440.0, 48_000, 20.0), 48_000)
    while player.position_s < 0.3:
        time.sleep(0.01)
    print("READY", flush=True)
    finished = player.wait(10.0)
    _report(
        finished=finished,
        is_playing=player.is_playing,
        error=str(player.error) if player.error else None,
        error_type=type(player.error).__name__,
        position_s=player.position_s,
    )


def _report(**fields) -> None:
    print(json.dumps(fields), flush=True)


CHILD_MODES = {"record-until-error": _record_until_error, "play-until-error": _play_until_error}

if __name__ == "__main__":
    # Exits normally on purpose: the exit must not hang on a stream whose server died.
    if len(sys.argv) < 2 or sys.argv[1] not in CHILD_MODES:
        sys.exit(f"usage: {sys.argv[0]} record-until-error OUT.wav | play-until-error")
    CHILD_MODES[sys.argv[1]](*sys.argv[2:])
