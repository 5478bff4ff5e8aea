"""A folder the test process cannot write into, for "unwritable output" tests."""

from __future__ import annotations

from pathlib import Path


def unwritable_folder(tmp_path: Path) -> Path:
    """A read-only folder, or (as root, who may write anywhere on a normal disk) /sys/kernel,
    which even root cannot add files to."""
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        (folder / "probe").touch()
    except OSError:
        return folder
    (folder / "probe").unlink()
    return Path("/sys/kernel")
