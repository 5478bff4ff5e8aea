"""The real window on a real X server: Xvfb and Qt's xcb platform, as `make run` opens it on a
Linux desktop. Every other GUI test uses the offscreen platform, which needs none of the xcb
libraries, so only this test sees a desktop that cannot open the window.

Needs Xvfb, ImageMagick's ``import`` (screenshot) and x11-utils' ``xwininfo``; it skips with
the reason when they are missing, and fails instead when VOICESTUDIO_REQUIRE_DISPLAY=1 (CI).
"""

from __future__ import annotations

import os
import select
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

SCRIPT = Path(sys.executable).with_name("voicestudio")  # what `make run` starts
REQUIRED = os.environ.get("VOICESTUDIO_REQUIRE_DISPLAY") == "1"
TOOLS = {"Xvfb": "xvfb", "import": "imagemagick", "xwininfo": "x11-utils"}
WINDOW_TIMEOUT_S = 90.0


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        reason = (f"{name} is not installed (apt-get install {TOOLS[name]}): the real-window test "
                  "cannot run")
        if REQUIRED:
            pytest.fail(reason)
        pytest.skip(reason)
    return path


@pytest.fixture
def x_display() -> Iterator[str]:
    """A private Xvfb server; its display name (":N", a free number chosen by Xvfb)."""
    read_end, write_end = os.pipe()
    server = subprocess.Popen(
        [
            _tool("Xvfb"),
            "-displayfd",
            str(write_end),
            "-screen",
            "0",
            "1280x800x24",
            "-nolisten",
            "tcp",
        ],
        pass_fds=(write_end,),
        stderr=subprocess.DEVNULL,
    )
    os.close(write_end)
    try:
        ready, _, _ = select.select([read_end], [], [], 30.0)
        number = os.read(read_end, 16).decode().strip() if ready else ""
        if not number:
            pytest.fail("Xvfb did not start within 30 s")
        yield f":{number}"
    finally:
        os.close(read_end)
        server.terminate()
        server.wait(timeout=30)


def _window_titles(display: str) -> str:
    done = subprocess.run([_tool("xwininfo"), "-root", "-tree", "-display", display],
                          capture_output=True, text=True, timeout=30)
    return done.stdout


def test_make_run_opens_the_real_window_on_x11(x_display: str, tmp_path: Path, artifacts_dir: Path):
    _tool("import")
    env = {k: v for k, v in os.environ.items()
           if k not in ("QT_QPA_PLATFORM", "WAYLAND_DISPLAY", "XDG_SESSION_TYPE", "QT_PLUGIN_PATH")}
    env.update(DISPLAY=x_display, VOICESTUDIO_DATA_DIR=str(tmp_path / "data"),
               XDG_CONFIG_HOME=str(tmp_path / "config"), XDG_RUNTIME_DIR=str(tmp_path / "run"))
    (tmp_path / "run").mkdir(mode=0o700)
    log = tmp_path / "app.log"
    with open(log, "wb") as output:
        app = subprocess.Popen([str(SCRIPT)], env=env, stdout=output, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + WINDOW_TIMEOUT_S
        while "VoiceStudio" not in _window_titles(x_display):
            if app.poll() is not None:
                pytest.fail(f"the app exited with {app.returncode} before its window showed:\n"
                            + log.read_text(errors="replace"))
            if time.monotonic() > deadline:
                pytest.fail(
                    f"no VoiceStudio window on {x_display} after {WINDOW_TIMEOUT_S:.0f} s:\n"
                    + log.read_text(errors="replace")
                )
            time.sleep(0.5)
        time.sleep(3.0)  # let the first paint (panels, status bar) land before the picture
        shot = artifacts_dir / "window_x11.png"
        subprocess.run([_tool("import"), "-display", x_display, "-window", "root", str(shot)],
                       check=True, timeout=60)
        assert app.poll() is None, "the app died while its window was shown:\n" + log.read_text(
            errors="replace"
        )
    finally:
        if app.poll() is None:
            app.send_signal(signal.SIGTERM)
            try:
                app.wait(timeout=30)
            except subprocess.TimeoutExpired:
                app.kill()
                app.wait()

    from PySide6.QtGui import QImage  # offscreen Qt in this process reads the PNG

    image = QImage(str(shot))
    assert not image.isNull() and image.width() == 1280 and image.height() == 800
    colours = {image.pixel(x, y) for x in range(0, 1280, 8) for y in range(0, 800, 8)}
    assert len(colours) > 20, "the screen is (nearly) one colour: nothing was drawn"
    assert "qt.qpa" not in log.read_text(errors="replace")
