"""packaging/preflight.py: `make` names missing build tools before pip fails in a compiler log."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

PREFLIGHT = Path(__file__).resolve().parents[1] / "packaging" / "preflight.py"


def test_this_machine_has_the_build_tools():
    done = subprocess.run(
        [sys.executable, str(PREFLIGHT)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""


def test_without_a_compiler_it_prints_the_apt_line_and_fails(tmp_path: Path):
    """An empty PATH hides cc and gcc, as on a desktop without build-essential."""
    done = subprocess.run(
        [sys.executable, str(PREFLIGHT)],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": str(tmp_path)},
    )
    assert done.returncode == 1
    line, = done.stderr.splitlines()
    assert line.startswith("make: the install needs a C compiler, a C++ compiler")
    # no apt-get on that PATH either
    assert line.endswith("install them with your system's package manager")
    apt = shutil.which("apt-get")
    if apt is None:
        return
    (tmp_path / "apt-get").symlink_to(apt)
    done = subprocess.run(
        [sys.executable, str(PREFLIGHT)],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": str(tmp_path)},
    )
    assert done.stderr.strip().endswith("install with: sudo apt-get install build-essential")
