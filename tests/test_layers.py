"""The import contracts in pyproject.toml (run by `make lint`) hold on this tree, and each one
fails when a module breaks it: a copy of the package gets one bad import per contract."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT = Path(sys.executable).with_name("lint-imports")

pytestmark = pytest.mark.skipif(
    not LINT.is_file(), reason="import-linter is not installed (make install)"
)


def lint(tree: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run(
        [str(LINT), "--no-cache", "--no-logo", str(tree / "pyproject.toml")],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def clean_copy(tmp_path_factory) -> Path:
    tree = tmp_path_factory.mktemp("tree")
    shutil.copytree(ROOT / "voicestudio", tree / "voicestudio",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tree / "pyproject.toml")
    return tree


def test_the_tree_keeps_every_contract(clean_copy):
    result = lint(clean_copy)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "BROKEN" not in result.stdout and "KEPT" in result.stdout


@pytest.mark.parametrize(("module", "bad_import", "contract"), [
    # a lower layer reaching up: the audio layer importing the GUI
    ("audio/io.py", "import voicestudio.gui.app", "Layers: "),
    # two modules importing each other
    ("dubbing/types.py", "import voicestudio.dubbing.render", "No import cycles"),
    # Qt below the GUI, and in a controller that must stay Qt-free
    ("voice/model.py", "import PySide6.QtCore", "Only the GUI imports Qt"),
    ("gui/controllers/__init__.py", "import PySide6.QtWidgets", "Only the GUI imports Qt"),
    # torch reached from synthesis code
    ("styling/world.py", "import torch", "torch only in training"),
    # the GUI reaching into training past its torch-free front
    ("gui/panels/export.py", "import voicestudio.training.dataset",
     "The GUI reaches training only through its front"),
])
def test_a_bad_import_breaks_its_contract(tmp_path, clean_copy, module, bad_import, contract):
    tree = tmp_path / "tree"
    shutil.copytree(clean_copy, tree)
    path = tree / "voicestudio" / module
    path.write_text(path.read_text() + f"\n{bad_import}  # noqa\n")
    result = lint(tree)
    assert result.returncode != 0
    broken = [
        line
        for line in result.stdout.splitlines()
        if line.endswith("BROKEN") or " BROKEN (" in line
    ]
    assert any(line.startswith(contract) for line in broken), result.stdout[-3000:]
