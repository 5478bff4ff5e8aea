"""``voicestudio doctor``: versions, providers, audio devices and data locations."""

from __future__ import annotations

import importlib.metadata
import os
import re
import subprocess
import sys
from pathlib import Path

import onnxruntime as ort

from voicestudio.cli.doctor import audio_devices_summary, report

SCRIPT = Path(sys.executable).with_name("voicestudio")


def _section(text: str, title: str) -> list[str]:
    """The indented lines under ``title:`` up to the next blank line."""
    lines = text.splitlines()
    start = lines.index(f"{title}:") + 1
    body = []
    for line in lines[start:]:
        if not line.strip():
            break
        body.append(line)
    return body


def test_doctor_script_exits_zero_and_reports_everything(tmp_path: Path):
    proc = subprocess.run([str(SCRIPT), "doctor"], cwd=tmp_path, capture_output=True, timeout=120,
                          env=os.environ.copy())
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stderr == b""
    out = proc.stdout.decode()
    assert out.startswith("VoiceStudio doctor")

    packages = _section(out, "packages")
    for dist in ("onnxruntime", "piper-tts", "pyworld"):
        version = importlib.metadata.version(dist)
        assert any(
            re.fullmatch(rf"\s+{re.escape(dist)}\s+{re.escape(version)}", line) for line in packages
        ), f"{dist} {version} not listed:\n" + "\n".join(packages)

    runtime = _section(out, "onnxruntime")
    providers = [line for line in runtime if "available providers:" in line]
    assert len(providers) == 1 and "CPUExecutionProvider" in providers[0]
    assert any(line.strip().startswith("cuda: ") for line in runtime)

    devices = _section(out, "audio devices")
    assert devices, "audio devices section is empty"
    listed = any(re.match(r"\s+\[\d+\] ", line) for line in devices)
    reason = any(line.strip().startswith(("unavailable:", "none:")) for line in devices)
    assert listed or reason, devices
    if reason:
        assert "PortAudio" in devices[0]

    locations = _section(out, "locations")
    data_dir = os.environ["VOICESTUDIO_DATA_DIR"]
    assert f"  user data:     {data_dir}" in locations
    assert f"  user voices:   {Path(data_dir) / 'voices'}" in locations
    assert f"  dub choices:   {Path(data_dir) / 'dubs'}" in locations
    voice_line = next(line for line in locations if "default voice:" in line)
    assert Path(voice_line.split("default voice:", 1)[1].strip()).is_file()
    assert "\ntorch: " in out


def test_doctor_in_process_matches_runtime(capsys):
    from voicestudio.cli import main

    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert ", ".join(ort.get_available_providers()) in out
    assert out.strip() == report().strip()


def test_audio_devices_summary_never_raises():
    lines = audio_devices_summary()
    assert lines and all(isinstance(line, str) and line for line in lines)
