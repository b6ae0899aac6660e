"""Spot interruptions: a killed job resumes from its newest checkpoint and ends with the very same model."""

from __future__ import annotations

import re
import signal
import time
from pathlib import Path

import pytest

from .support import checkpoint_names, make_tree, read_metadata, run_train, start_train, wait_for_line

# Short runs: a fixed number of epochs (patience larger than epochs, so early stopping never ends them).
SHORT = {"epochs": "7", "patience": "50"}


@pytest.fixture(scope="module")
def uninterrupted_version(tmp_path_factory: pytest.TempPathFactory) -> str:
    root = make_tree(tmp_path_factory.mktemp("reference") / "opt-ml", SHORT)
    result = run_train(root)
    assert result.returncode == 0, result.stderr
    assert result.epochs == list(range(1, 8))
    return str(read_metadata(root)["model_version"])


def test_resumes_after_sigkill_from_the_newest_checkpoint_not_from_epoch_0(
    tmp_path: Path, uninterrupted_version: str
) -> None:
    root = make_tree(tmp_path / "opt-ml", SHORT)
    process = start_train(root, tmp_path / "first.log")
    wait_for_line(process, r"^epoch=2;")
    process.kill()
    assert process.wait(timeout=30) == -signal.SIGKILL
    assert not (root / "model" / "metadata.json").exists()
    newest = checkpoint_names(root)[-1]
    completed = int(re.fullmatch(r"checkpoint-e(\d+)-s000000\.pt", newest)[1])
    assert 2 <= completed < 7

    resumed = run_train(root)

    assert resumed.returncode == 0, resumed.stderr
    assert resumed.epochs == list(range(completed + 1, 8))
    assert f"Resuming from {root / 'checkpoints' / newest}" in resumed.stderr
    assert read_metadata(root)["model_version"] == uninterrupted_version


def test_sigterm_saves_a_mid_epoch_checkpoint_and_exits_143_then_resumes_exactly(
    tmp_path: Path, uninterrupted_version: str
) -> None:
    root = make_tree(tmp_path / "opt-ml", SHORT)
    log = tmp_path / "first.log"
    process = start_train(root, log)
    wait_for_line(process, r"^epoch=2;")
    time.sleep(0.1)  # land inside epoch 3
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 143  # 143 only when it stopped at a step: a finished run exits 0

    saved = re.search(r"SIGTERM received: saved (\S+checkpoint-e(\d+)-s(\d+)\.pt)", log.read_text())
    assert saved, log.read_text()
    assert Path(saved[1]).exists()
    assert Path(saved[1]).name == checkpoint_names(root)[-1]
    assert not (root / "output" / "failure").exists()
    assert not (root / "model" / "metadata.json").exists()

    resumed = run_train(root)

    assert resumed.returncode == 0, resumed.stderr
    assert resumed.epochs == list(range(int(saved[2]) + 1, 8))
    assert read_metadata(root)["model_version"] == uninterrupted_version


def test_ignores_a_checkpoint_written_for_other_hyperparameters(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "opt-ml", {"epochs": "1"})
    assert run_train(root).returncode == 0
    (root / "input" / "config" / "hyperparameters.json").write_text('{"epochs": "1", "learning_rate": "0.002"}')
    (root / "model" / "metadata.json").unlink()

    again = run_train(root)

    assert again.returncode == 0, again.stderr
    assert again.epochs == [1]
    assert "written for other data or hyperparameters" in again.stderr
