"""Before ``make`` builds ``.venv``: are the system tools there that the install needs?

pyworld and pysptk publish no Linux wheels, so pip compiles them: that needs a C compiler
and Python's headers, and Debian's Python needs ``python3-venv`` to make a venv at all.
Without them pip fails deep in a compiler log; this prints the one ``apt-get`` line instead.
Run with the Python that will make the venv (standard library only).
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
import sysconfig
from pathlib import Path


def missing_packages() -> list[tuple[str, str]]:
    """(Debian package, what is missing without it) for each tool the install lacks. The
    Python packages are named for this Python's version (python3.11-venv is what Debian's
    python3-venv installs for its 3.11, and what a second Python needs)."""
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    missing = []
    if importlib.util.find_spec("ensurepip") is None:
        missing.append((f"python{version}-venv", "Python's venv/ensurepip"))
    if not (Path(sysconfig.get_paths()["include"]) / "Python.h").is_file():
        missing.append((f"python{version}-dev", "Python's C headers (Python.h)"))
    compilers = [("cc", "gcc", "a C compiler"), ("c++", "g++", "a C++ compiler (pyworld is C++)")]
    for first, second, what in compilers:
        if shutil.which(first) is None and shutil.which(second) is None:
            missing.append(("build-essential", what))
    return missing


def main() -> int:
    if sys.version_info < (3, 11):  # noqa: UP036 - this script runs before the venv: any Python
        print(f"make: VoiceStudio needs Python 3.11 or newer (this is {sys.version.split()[0]}); "
              "run make PYTHON=python3.11", file=sys.stderr)
        return 1
    missing = missing_packages()
    if not missing:
        return 0
    what = ", ".join(reason for _, reason in missing)
    packages = " ".join(dict.fromkeys(package for package, _ in missing))
    fix = f"install with: sudo apt-get install {packages}" if shutil.which("apt-get") else \
        "install them with your system's package manager"
    print(f"make: the install needs {what}; {fix}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
