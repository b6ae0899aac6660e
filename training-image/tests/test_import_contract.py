"""The import contract between the stage packages (pyproject.toml, [tool.importlinter]) holds, and breaks on an
import that crosses it: lint-imports runs on a copy of the package with one import planted."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .support import TRAINING_IMAGE

LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def _lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    """lint-imports with the project's contracts on ``tree``: a copy of training-image/'s pyproject.toml and src/."""
    env = {**os.environ, "PYTHONPATH": str(tree / "src")}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-logo", "--no-cache", "pyproject.toml"],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def package_copy(tmp_path: Path) -> Path:
    shutil.copy(TRAINING_IMAGE / "pyproject.toml", tmp_path / "pyproject.toml")
    shutil.copytree(
        TRAINING_IMAGE / "src" / "dlplatform",
        tmp_path / "src" / "dlplatform",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    return tmp_path


def _plant(tree: Path, module: str, line: str) -> None:
    path = tree / "src" / "dlplatform" / module
    path.write_text(path.read_text(encoding="utf-8") + f"\n{line}\n", encoding="utf-8")


def test_the_package_keeps_the_import_contract(package_copy: Path) -> None:
    result = _lint_imports(package_copy)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 2 kept, 0 broken." in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "broken"),
    [
        pytest.param(
            "serve/app.py",
            "from ..train import trainer  # noqa: E402",
            "dlplatform.serve is not allowed to import dlplatform.train",
            id="serve-imports-train",
        ),
        pytest.param(
            "train/export.py",
            "from ..evaluate import scoring  # noqa: E402",
            "dlplatform.train is not allowed to import dlplatform.evaluate",
            id="train-imports-an-evaluate-inside",
        ),
        pytest.param(
            "evaluate/job.py",
            "from ..train.dataset import Dataset  # noqa: E402",
            "dlplatform.evaluate is not allowed to import dlplatform.train",
            id="evaluate-imports-train",
        ),
        pytest.param(
            "tabular/files.py",
            "from ..prepare import cleaning  # noqa: E402",
            "dlplatform.tabular is not allowed to import dlplatform.prepare",
            id="shared-code-imports-a-stage",
        ),
        pytest.param(
            "prepare/cleaning.py",
            "import torch  # noqa: E402",
            "dlplatform.prepare is not allowed to import torch",
            id="prepare-imports-torch",
        ),
        pytest.param(
            "monitor/window.py",
            "from ..serve import payload  # noqa: E402",
            "dlplatform.monitor is not allowed to import dlplatform.serve",
            id="monitor-imports-serve",
        ),
        pytest.param(
            "monitor/model_files.py",
            "from ..model import artifact  # noqa: E402",
            "dlplatform.monitor is not allowed to import torch",
            id="monitor-imports-torch-through-the-model-artifact",
        ),
    ],
)
def test_an_import_across_the_contract_breaks_it(package_copy: Path, module: str, line: str, broken: str) -> None:
    _plant(package_copy, module, line)
    result = _lint_imports(package_copy)
    assert result.returncode == 1, result.stdout + result.stderr
    assert broken in result.stdout
