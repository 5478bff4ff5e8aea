"""Can a window open here? The system libraries Qt's platform plugin needs, checked before
Qt loads it.

When a library of the xcb plugin is missing, Qt aborts the whole process with a message that
names one package of several (``From 6.5.0, xcb-cursor0 or libxcb-cursor0 is needed…``); a
fresh Debian desktop lacks ``libxcb-icccm4`` and ``libxcb-keysyms1`` as well. This module
asks the dynamic loader (``ldd``) what the plugin would miss and turns the answer into one
``apt-get install`` line. It imports no Qt, so ``voicestudio doctor`` can use it too.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import socket
import subprocess
import sys
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

# The Debian/Ubuntu package of every system library that Qt's platform plugins (xcb, wayland)
# and Qt's own libraries link against in the PySide6 wheels (read off with ``objdump -p``).
LIBRARY_PACKAGES: dict[str, str] = {
    "libGL.so.1": "libgl1",
    "libEGL.so.1": "libegl1",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libxcb.so.1": "libxcb1",
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxcb-glx.so.0": "libxcb-glx0",
    "libX11.so.6": "libx11-6",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
    "libglib-2.0.so.0": "libglib2.0-0",
    "libgthread-2.0.so.0": "libglib2.0-0",
    "libdbus-1.so.3": "libdbus-1-3",
    "libz.so.1": "zlib1g",
    "libzstd.so.1": "libzstd1",
    "libwayland-client.so.0": "libwayland-client0",
    "libwayland-cursor.so.0": "libwayland-cursor0",
    "libwayland-egl.so.1": "libwayland-egl1",
}

# What the README's apt line must hold for the window on X11 (Wayland desktops run it through
# XWayland): the xcb plugin's libraries and its GL integrations, plus a font to draw text with.
WINDOW_PACKAGES: tuple[str, ...] = (
    *sorted({pkg for lib, pkg in LIBRARY_PACKAGES.items() if not lib.startswith("libwayland")}),
    "fonts-dejavu-core",
)

_NOT_FOUND = re.compile(r"^\s*(\S+)\s+=>\s+not found\s*$", re.MULTILINE)
_LDD_TIMEOUT_S = 3.0


@dataclass(frozen=True)
class MissingLibraries:
    """System libraries a Qt platform plugin needs and the loader cannot find."""

    platform: str
    plugin: Path
    libraries: tuple[str, ...]

    @property
    def packages(self) -> tuple[str, ...]:
        return tuple(
            dict.fromkeys(
                LIBRARY_PACKAGES[lib] for lib in self.libraries if lib in LIBRARY_PACKAGES
            )
        )

    @property
    def unknown(self) -> tuple[str, ...]:
        """Missing libraries whose package this table does not know."""
        return tuple(lib for lib in self.libraries if lib not in LIBRARY_PACKAGES)

    def install_command(self) -> str:
        return "sudo apt-get install " + " ".join(self.packages) if self.packages else ""

    def message(self) -> str:
        text = (
            f"the VoiceStudio window cannot open: Qt's {self.platform} platform plugin needs "
            f"system libraries that are missing here ({', '.join(self.libraries)})"
        )
        if self.packages:
            text += f"; install them with: {self.install_command()}"
        if self.unknown:
            text += (f"; install the packages that provide {', '.join(self.unknown)}"
                     " (on Debian/Ubuntu: apt-file search NAME)")
        return text


def parse_ldd(output: str) -> tuple[str, ...]:
    """The ``NAME => not found`` libraries in ``ldd`` output, each once, in order."""
    return tuple(dict.fromkeys(_NOT_FOUND.findall(output)))


def _pyside_plugins_dir() -> Path | None:
    spec = importlib.util.find_spec("PySide6")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "Qt" / "plugins"


def platform_plugin(platform: str) -> Path | None:
    """The plugin file Qt would load for ``platform``, searched in Qt's own order."""
    name = f"libq{platform}.so"
    folders = [
        Path(p) for p in os.environ.get("QT_QPA_PLATFORM_PLUGIN_PATH", "").split(os.pathsep) if p
    ]
    folders += [
        Path(p) / "platforms" for p in os.environ.get("QT_PLUGIN_PATH", "").split(os.pathsep) if p
    ]
    bundled = _pyside_plugins_dir()
    if bundled is not None:
        folders.append(bundled / "platforms")
    return next((folder / name for folder in folders if (folder / name).is_file()), None)


def missing_libraries(library: Path) -> tuple[str, ...] | None:
    """The libraries the loader cannot find for ``library`` (transitively); None: cannot tell."""
    ldd = shutil.which("ldd")
    if ldd is None:
        return None
    try:
        done = subprocess.run(
            [ldd, str(library)], capture_output=True, text=True, timeout=_LDD_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return parse_ldd(done.stdout)


def candidate_platforms(env: dict[str, str] | None = None) -> list[str]:
    """The platform plugins Qt 6 will try for a window, in its order: ``QT_QPA_PLATFORM``'s
    list when set, else Wayland first on a Wayland session and X11 (xcb) when ``DISPLAY``
    is set (Qt falls back from one to the next). Empty off Linux."""
    env = os.environ if env is None else env
    if not sys.platform.startswith("linux"):
        return []
    chosen = env.get("QT_QPA_PLATFORM", "").strip()
    if chosen:
        return [part.split(":")[0].strip() for part in chosen.split(";") if part.strip()]
    order = []
    if env.get("WAYLAND_DISPLAY") or env.get("XDG_SESSION_TYPE") == "wayland":
        order.append("wayland")
    if env.get("DISPLAY") or not order:
        order.append("xcb")  # Qt's default: with no display it fails, which is reported
    return order


def _x_display_reachable(display: str) -> bool:
    """Whether an X server answers at ``display`` (":0", "unix:1.0", "host:10.0")."""
    host, _, rest = display.rpartition(":")
    number = rest.split(".")[0]
    if not number.isdigit():
        return False
    if host in ("", "unix") or host.startswith("/"):
        path = host if host.startswith("/") else f"/tmp/.X11-unix/X{number}"
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(2.0)
            for address in (path, "\0" + path):  # the file, or Linux's abstract socket of that name
                try:
                    sock.connect(address)
                    return True
                except OSError:
                    continue
        return False
    try:
        with socket.create_connection((host, 6000 + int(number)), timeout=2.0):
            return True
    except OSError:
        return False


def _wayland_display_reachable(env: dict[str, str]) -> bool:
    name = env.get("WAYLAND_DISPLAY", "")
    if not name:
        return False
    path = Path(name) if name.startswith("/") else Path(env.get("XDG_RUNTIME_DIR", "")) / name
    return path.is_socket()


class WindowVerdict(Enum):
    """Whether Qt can open the window here, and if not, why."""

    OK = "ok"
    NOT_LINUX_OR_CHOSEN = "not checked"  # another OS, or a platform such as offscreen chosen
    NO_DISPLAY = "no display"
    UNREACHABLE = "display not reachable"
    MISSING_LIBRARIES = "missing libraries"


@dataclass(frozen=True)
class WindowCheck:
    """The outcome for the platforms Qt would try (the first that works, or the last one's
    problem); ``message()`` is the one line the app prints instead of Qt's abort."""

    verdict: WindowVerdict
    platform: str | None = None
    display: str | None = None
    missing: MissingLibraries | None = None
    libraries_checked: bool = True  # False: ldd was not there to ask (the check could not look)

    @property
    def ok(self) -> bool:
        return self.verdict in (WindowVerdict.OK, WindowVerdict.NOT_LINUX_OR_CHOSEN)

    def message(self) -> str:
        start = (
            "start VoiceStudio from a desktop session (or a virtual screen such as Xvfb); without "
            "a screen, use 'voicestudio say' and the other commands (see 'voicestudio --help')"
        )
        if self.verdict is WindowVerdict.NO_DISPLAY:
            unset = {"xcb": "DISPLAY is unset", "wayland": "WAYLAND_DISPLAY is unset"}.get(
                self.platform or "", "DISPLAY and WAYLAND_DISPLAY are unset")
            return f"no display to open the VoiceStudio window on ({unset}); {start}"
        if self.verdict is WindowVerdict.UNREACHABLE:
            return (
                f"cannot connect to the display {self.display} ({self.platform}): no screen "
                f"answers there; check DISPLAY/WAYLAND_DISPLAY, or {start}"
            )
        if self.verdict is WindowVerdict.MISSING_LIBRARIES and self.missing is not None:
            return self.missing.message()
        return ""


_DISPLAY_VARIABLE = {"xcb": "DISPLAY", "wayland": "WAYLAND_DISPLAY"}


def _check_platform(platform: str, env: dict[str, str]) -> WindowCheck:
    variable = _DISPLAY_VARIABLE[platform]
    display = env.get(variable) or None
    if display is None:
        return WindowCheck(WindowVerdict.NO_DISPLAY, platform)
    reachable = (
        _x_display_reachable(display) if platform == "xcb" else _wayland_display_reachable(env)
    )
    if not reachable:
        return WindowCheck(WindowVerdict.UNREACHABLE, platform, display)
    plugin = platform_plugin(platform)
    missing = missing_libraries(plugin) if plugin is not None else ()
    if missing:
        return WindowCheck(
            WindowVerdict.MISSING_LIBRARIES,
            platform,
            display,
            MissingLibraries(platform, plugin, missing),
        )
    return WindowCheck(WindowVerdict.OK, platform, display, libraries_checked=missing is not None)


def check_window(env: dict[str, str] | None = None) -> WindowCheck:
    """Can Qt open the window here? Each platform Qt would try is checked as Qt would meet
    it: its display variable, the system libraries of its plugin (``ldd``), and a display
    that answers. A platform other than xcb/wayland (offscreen, vnc…) is not checked."""
    env = dict(os.environ if env is None else env)
    candidates = candidate_platforms(env)
    if not candidates or any(p not in _DISPLAY_VARIABLE for p in candidates):
        return WindowCheck(WindowVerdict.NOT_LINUX_OR_CHOSEN, candidates[0] if candidates else None)
    checks = [_check_platform(platform, env) for platform in candidates]
    for check in checks:
        if check.verdict is WindowVerdict.OK:
            return check
    # Nothing works: missing libraries first (a display answered; the user can install them),
    # else the last one tried.
    return next((c for c in checks if c.verdict is WindowVerdict.MISSING_LIBRARIES), checks[-1])
