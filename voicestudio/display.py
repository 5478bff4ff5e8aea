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
import subprocess
import sys
from dataclasses import dataclass
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
_LDD_TIMEOUT_S = 20.0


@dataclass(frozen=True)
class MissingLibraries:
    """System libraries a Qt platform plugin needs and the loader cannot find."""

    platform: str
    plugin: Path
    libraries: tuple[str, ...]

    @property
    def packages(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(LIBRARY_PACKAGES[lib] for lib in self.libraries if lib in LIBRARY_PACKAGES))

    @property
    def unknown(self) -> tuple[str, ...]:
        """Missing libraries whose package this table does not know."""
        return tuple(lib for lib in self.libraries if lib not in LIBRARY_PACKAGES)

    def install_command(self) -> str:
        return "sudo apt-get install " + " ".join(self.packages) if self.packages else ""

    def message(self) -> str:
        text = (f"the VoiceStudio window cannot open: Qt's {self.platform} platform plugin needs system "
                f"libraries that are missing here ({', '.join(self.libraries)})")
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
    folders = [Path(p) for p in os.environ.get("QT_QPA_PLATFORM_PLUGIN_PATH", "").split(os.pathsep) if p]
    folders += [Path(p) / "platforms" for p in os.environ.get("QT_PLUGIN_PATH", "").split(os.pathsep) if p]
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
        done = subprocess.run([ldd, str(library)], capture_output=True, text=True, timeout=_LDD_TIMEOUT_S,
                              check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return parse_ldd(done.stdout)


def window_platform(env: dict[str, str] | None = None) -> str | None:
    """The platform plugin Qt will load for a window, or None when that is not an X11/Wayland one
    (``offscreen``, ``vnc``…) or not Linux."""
    env = os.environ if env is None else env
    if not sys.platform.startswith("linux"):
        return None
    chosen = env.get("QT_QPA_PLATFORM", "").split(";")[0].split(":")[0].strip()
    if chosen:
        return chosen if chosen in ("xcb", "wayland") else None
    if env.get("DISPLAY"):
        return "xcb"  # also on a Wayland desktop: Qt falls back to XWayland when wayland fails
    return "wayland" if env.get("WAYLAND_DISPLAY") else None


def window_libraries_problem(env: dict[str, str] | None = None) -> MissingLibraries | None:
    """What keeps Qt's platform plugin from loading here, or None (fine, or cannot tell)."""
    platform = window_platform(env)
    if platform is None:
        return None
    plugin = platform_plugin(platform)
    if plugin is None:
        return None  # Qt reports a missing plugin itself, without aborting on our behalf
    missing = missing_libraries(plugin)
    return MissingLibraries(platform, plugin, missing) if missing else None

