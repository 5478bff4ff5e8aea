"""The system-library check that stands between `make run` and Qt's abort on a desktop that
lacks an xcb library (the real window on Xvfb is tested in test_window_x11.py)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from voicestudio.display import (
    LIBRARY_PACKAGES,
    WINDOW_PACKAGES,
    MissingLibraries,
    WindowVerdict,
    candidate_platforms,
    check_window,
    parse_ldd,
    platform_plugin,
)

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = Path(sys.executable).with_name("voicestudio")

# What ldd printed for PySide6's xcb plugin on a Debian 12 machine without two of the packages.
LDD_OUTPUT = """\
\tlinux-vdso.so.1 (0x00007ffd4b5f2000)
\tlibQt6XcbQpa.so.6 => /venv/PySide6/Qt/lib/libQt6XcbQpa.so.6 (0x00007f0c1b000000)
\tlibxcb-cursor.so.0 => /lib/x86_64-linux-gnu/libxcb-cursor.so.0 (0x00007f0c1ae00000)
\tlibxcb-icccm.so.4 => not found
\tlibxcb-keysyms.so.1 => not found
\tlibxcb-icccm.so.4 => not found
\tlibxcb-keysyms.so.1 => not found
\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f0c1a800000)
"""


def test_ldd_output_gives_each_missing_library_once_and_its_package():
    missing = parse_ldd(LDD_OUTPUT)
    assert missing == ("libxcb-icccm.so.4", "libxcb-keysyms.so.1")
    problem = MissingLibraries("xcb", Path("libqxcb.so"), missing)
    assert problem.install_command() == "sudo apt-get install libxcb-icccm4 libxcb-keysyms1"
    assert "libxcb-icccm.so.4, libxcb-keysyms.so.1" in problem.message()
    assert problem.message().endswith(
        "install them with: sudo apt-get install libxcb-icccm4 libxcb-keysyms1"
    )
    assert parse_ldd(LDD_OUTPUT.replace("not found", "/usr/lib/x.so (0x1)")) == ()


def test_an_unknown_library_is_named_without_inventing_a_package():
    problem = MissingLibraries("xcb", Path("p.so"), ("libxcb-icccm.so.4", "libfoo.so.3"))
    assert problem.packages == ("libxcb-icccm4",)
    assert problem.unknown == ("libfoo.so.3",)
    assert "install the packages that provide libfoo.so.3" in problem.message()


@pytest.mark.parametrize(("env", "expected"), [
    ({"DISPLAY": ":0"}, ["xcb"]),
    # a Wayland desktop with XWayland: Qt tries wayland, then falls back to xcb
    ({"DISPLAY": ":0", "WAYLAND_DISPLAY": "wayland-0"}, ["wayland", "xcb"]),
    ({"DISPLAY": ":0", "XDG_SESSION_TYPE": "wayland"}, ["wayland", "xcb"]),
    ({"WAYLAND_DISPLAY": "wayland-0"}, ["wayland"]),
    ({}, ["xcb"]),
    ({"QT_QPA_PLATFORM": "offscreen", "DISPLAY": ":0"}, ["offscreen"]),
    ({"QT_QPA_PLATFORM": "xcb:nograb"}, ["xcb"]),
    ({"QT_QPA_PLATFORM": "wayland;xcb"}, ["wayland", "xcb"]),
])
def test_the_platforms_qt_will_try(env, expected):
    assert candidate_platforms(env) == expected


def test_no_display_or_one_that_does_not_answer_is_said_in_one_line(tmp_path):
    none = check_window({})
    assert none.verdict is WindowVerdict.NO_DISPLAY and not none.ok
    assert none.message().startswith(
        "no display to open the VoiceStudio window on (DISPLAY is unset)"
    )
    assert "offscreen" not in none.message()  # an invisible window helps nobody
    gone = check_window({"DISPLAY": ":97"})  # no X server there
    assert gone.verdict is WindowVerdict.UNREACHABLE
    assert gone.message().startswith("cannot connect to the display :97 (xcb)")
    wayland = check_window({"WAYLAND_DISPLAY": "wayland-9", "XDG_RUNTIME_DIR": str(tmp_path)})
    assert wayland.verdict is WindowVerdict.UNREACHABLE and wayland.platform == "wayland"
    assert check_window({"QT_QPA_PLATFORM": "offscreen"}).ok  # not ours to judge


@pytest.fixture
def answering_display(tmp_path):
    """A listening socket that stands in for an X server: DISPLAY may name its path (as
    XQuartz's does). Nothing is drawn on it; the checks only need it to answer."""
    import socket

    path = tmp_path / "x-server"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(8)
    yield f"{path}:0"
    server.close()


def test_a_display_that_answers_is_enough(answering_display):
    check = check_window({"DISPLAY": answering_display})  # the README's packages give the libraries
    assert check.verdict is WindowVerdict.OK and check.platform == "xcb" and check.ok, check


def test_every_library_qt_links_has_a_known_package():
    """Each system library that PySide6's xcb plugin and Qt's own libraries need directly is in
    the table, so a missing one always gives an install line (readelf reads the ELF itself)."""
    readelf = shutil.which("readelf") or shutil.which("objdump")
    if readelf is None:
        pytest.skip(
            "neither readelf nor objdump is installed (binutils): cannot read the plugin's needs"
        )
    plugin = platform_plugin("xcb")
    assert plugin is not None, "PySide6's xcb plugin is not installed"
    qt_lib = plugin.parents[2] / "lib"
    files = [
        plugin,
        qt_lib / "libQt6XcbQpa.so.6",
        qt_lib / "libQt6Gui.so.6",
        qt_lib / "libQt6Widgets.so.6",
        *sorted((plugin.parents[1] / "xcbglintegrations").glob("*.so")),
    ]
    needed: set[str] = set()
    for path in files:
        args = (
            [readelf, "-d", str(path)]
            if readelf.endswith("readelf")
            else [readelf, "-p", str(path)]
        )
        out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
        needed |= set(re.findall(r"\(NEEDED\)\s+Shared library: \[(.+?)\]", out)) | set(
            re.findall(r"^\s+NEEDED\s+(\S+)", out, re.MULTILINE))
    assert needed, "no NEEDED entries read"
    system = {
        n for n in needed if not n.startswith(("libQt6", "libicu", "libpyside", "libshiboken"))
    }
    base = {"libc.so.6", "libm.so.6", "libgcc_s.so.1", "libstdc++.so.6", "libdl.so.2",
            "libpthread.so.0", "librt.so.1"}  # glibc and the compiler runtime: on every system
    unknown = {n for n in system - base - LIBRARY_PACKAGES.keys() if not n.startswith("ld-linux")}
    assert unknown == set()


def test_the_readme_and_ci_install_every_window_package():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    line = next(
        (line for line in readme.splitlines() if line.startswith("sudo apt-get install")), ""
    )
    assert line, "README has no 'sudo apt-get install' line"
    missing = [p for p in WINDOW_PACKAGES if p not in line.split()]
    assert missing == [], f"README's apt line lacks {missing}"
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert [p for p in WINDOW_PACKAGES if p not in ci.replace('"', " ").split()] == []


def _plugin_with_a_missing_library(folder: Path) -> Path:
    """A stand-in xcb plugin linked against a library that is then removed, so the loader
    really cannot find it (built with the C compiler, as a broken system would look)."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.skip("no C compiler (cc/gcc) to build a plugin with a missing library")
    absent = folder / "libvoicestudio-absent.so.1"
    source = folder / "empty.c"
    source.write_text("int voicestudio_absent(void) { return 1; }\n")
    subprocess.run(
        [
            cc,
            "-shared",
            "-fPIC",
            "-Wl,-soname,libvoicestudio-absent.so.1",
            "-o",
            str(absent),
            str(source),
        ],
        check=True,
    )
    plugin = folder / "plugins" / "platforms" / "libqxcb.so"
    plugin.parent.mkdir(parents=True)
    source.write_text(
        "extern int voicestudio_absent(void);\nint plugin_entry(void) { return "
        "voicestudio_absent(); }\n"
    )
    subprocess.run(
        [cc, "-shared", "-fPIC", "-Wl,--no-as-needed", "-o", str(plugin), str(source), str(absent)],
        check=True,
    )
    absent.unlink()
    return plugin


def _window_env(tmp_path: Path, plugins: Path, display: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("QT_QPA_PLATFORM", "WAYLAND_DISPLAY", "XDG_SESSION_TYPE")
    }
    env.update(
        DISPLAY=display,
        QT_PLUGIN_PATH=str(plugins),
        VOICESTUDIO_DATA_DIR=str(tmp_path / "data"),
        XDG_CONFIG_HOME=str(tmp_path / "config"),
    )
    return env


def test_launch_with_a_missing_library_prints_the_fix_and_exits_cleanly(
    tmp_path: Path, answering_display
):
    """What `make run` runs, on a desktop whose xcb plugin misses a library: one line with the
    library and the way to install it, a plain exit 1 — not Qt's abort (SIGABRT)."""
    plugin = _plugin_with_a_missing_library(tmp_path)
    env = _window_env(tmp_path, plugin.parents[1], answering_display)
    done = subprocess.run([str(SCRIPT)], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, (done.returncode, done.stderr)
    assert "Aborted" not in done.stderr and "qt.qpa.plugin" not in done.stderr
    line, = [line for line in done.stderr.splitlines() if line.strip()]
    assert line.startswith(
        "voicestudio: error: the VoiceStudio window cannot open: Qt's xcb platform plugin"
    )
    assert "libvoicestudio-absent.so.1" in line

    doctor = subprocess.run(
        [str(SCRIPT), "doctor"], env=env, capture_output=True, text=True, timeout=120
    )
    assert doctor.returncode == 0, doctor.stderr
    assert "libraries: MISSING libvoicestudio-absent.so.1" in doctor.stdout
    assert "can open: no: the VoiceStudio window cannot open" in doctor.stdout


def test_the_plugin_is_found_where_qt_looks_first(tmp_path: Path, monkeypatch, answering_display):
    plugin = _plugin_with_a_missing_library(tmp_path)
    monkeypatch.setenv("QT_PLUGIN_PATH", str(plugin.parents[1]))
    assert platform_plugin("xcb") == plugin
    check = check_window({"DISPLAY": answering_display})
    assert check.verdict is WindowVerdict.MISSING_LIBRARIES
    assert check.missing.libraries == ("libvoicestudio-absent.so.1",)
    monkeypatch.setenv("QT_QPA_PLATFORM_PLUGIN_PATH", str(tmp_path / "elsewhere"))
    assert platform_plugin("xcb") == plugin  # an empty folder first: Qt goes on looking
