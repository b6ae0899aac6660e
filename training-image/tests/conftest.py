"""Session fixtures: one full training run on the digits, and one model server on its output."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from .support import TrainResult, free_port, make_tree, run_train, running_server


@dataclass
class TrainedModel:
    root: Path
    result: TrainResult


@dataclass
class Server:
    port: int
    process: subprocess.Popen[bytes]
    log: Path


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory) -> TrainedModel:
    """The real `train` with default hyperparameters on the digits sample data (all three channels)."""
    root = make_tree(tmp_path_factory.mktemp("trained") / "opt-ml")
    result = run_train(root)
    assert result.returncode == 0, result.stderr
    print(f"\ndefault training run: {result.seconds:.1f} s, test_accuracy={result.test_accuracy}")
    return TrainedModel(root, result)


@pytest.fixture(scope="session")
def serving_root(trained: TrainedModel, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A serving /opt/ml tree holding only the trained model, as SageMaker unpacks model.tar.gz."""
    root = tmp_path_factory.mktemp("serving") / "opt-ml"
    shutil.copytree(trained.root / "model", root / "model")
    return root


@pytest.fixture(scope="session")
def server(serving_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    port = free_port()
    log = tmp_path_factory.mktemp("server") / "server.log"
    with running_server(serving_root, port, log, {"MODEL_SERVER_WORKERS": "2"}) as process:
        yield Server(port, process, log)
