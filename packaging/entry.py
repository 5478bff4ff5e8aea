"""Entry point of the packaged (PyInstaller) app: the same CLI as ``voicestudio``."""

import sys

from voicestudio.cli import main

if __name__ == "__main__":
    sys.exit(main())
