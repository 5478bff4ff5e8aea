"""Microphones and speakers: listing them, choosing one, and the settings it accepts.

Recording and playback themselves live in :mod:`voicestudio.audio.recorder` and
:mod:`voicestudio.audio.player`; closing their streams safely in
:mod:`voicestudio.audio.streams`.

PortAudio is imported lazily: without libportaudio2 ``import sounddevice`` raises
OSError, and VoiceStudio must still start (and say what is missing) instead of
failing with a traceback. No Qt here.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType

from voicestudio.errors import VoiceStudioError

#: Capture/playback rates tried first; the device's own default rate comes after these.
PREFERRED_RATES: tuple[int, ...] = (48_000,)


class AudioDeviceError(VoiceStudioError):
    """No usable audio device, PortAudio missing, or a device cannot be opened."""


def portaudio() -> ModuleType:
    """``sounddevice``, or one clear error when PortAudio (libportaudio2) is missing."""
    try:
        import sounddevice
    except (OSError, ImportError) as exc:
        raise AudioDeviceError(
            "Audio devices are unavailable: the PortAudio library is not installed "
            "(on Debian/Ubuntu: sudo apt install libportaudio2)."
        ) from exc
    return sounddevice


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


def _host_api_name(host_apis: list, api: object) -> str:
    return str(host_apis[api]["name"]) if isinstance(api, int) and api < len(host_apis) else ""


def list_devices(kind: str = "input") -> list[AudioDevice]:
    """The devices that can record (``kind="input"``) or play (``kind="output"``)."""
    _check_kind(kind)
    sd = portaudio()
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
        found.append(
            AudioDevice(
                index=int(info["index"]),
                name=str(info["name"]),
                kind=kind,
                channels=channels,
                default_rate=int(round(info["default_samplerate"])),
                is_default=int(info["index"]) == default,
                host_api=_host_api_name(host_apis, info.get("hostapi")),
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
        raise AudioDeviceError(
            f"{str(device)!r} matches several devices ({matches}); give the full name."
        )
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
