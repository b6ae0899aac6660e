"""The real `train` entry point on the digits: accuracy, the model artifact and the log contract."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys

import pytest
import torch

from dlplatform.model.artifact import model_version

from .conftest import TrainedModel
from .support import ENTRYPOINT, EPOCH_LINE, checkpoint_names, read_metadata

MIN_TEST_ACCURACY = 0.97


def test_trains_the_digits_to_at_least_97_percent_test_accuracy_on_cpu(trained: TrainedModel) -> None:
    assert trained.result.test_accuracy >= MIN_TEST_ACCURACY


def test_prints_one_metric_line_per_epoch_then_the_test_accuracy_then_the_evaluation(trained: TrainedModel) -> None:
    lines = trained.result.stdout.splitlines()
    metric_lines = [line for line in lines if line.startswith("epoch=")]
    assert metric_lines, trained.result.stdout
    assert all(EPOCH_LINE.fullmatch(line) for line in metric_lines)
    assert trained.result.epochs == list(range(1, len(metric_lines) + 1))
    assert re.fullmatch(r"test_accuracy=[0-9]\.[0-9]{6};", lines[-2])
    assert lines[-1].startswith("test_macro_precision=")


def test_writes_weights_and_metadata_that_serving_needs(trained: TrainedModel) -> None:
    metadata = read_metadata(trained.root)
    assert metadata["model_kind"] == "cnn"
    assert metadata["input_width"] == 64
    assert metadata["labels"] == [str(digit) for digit in range(10)]
    assert metadata["feature_names"] == [f"p{i}" for i in range(64)]
    assert len(metadata["normalization"]["mean"]) == len(metadata["normalization"]["std"]) == 64
    assert all(std > 0 for std in metadata["normalization"]["std"])
    assert metadata["hyperparameters"]["epochs"] == 50
    assert metadata["metrics"]["test_accuracy"] == pytest.approx(trained.result.test_accuracy, abs=1e-6)
    assert re.fullmatch(r"[0-9a-f]{16}", metadata["model_version"])
    state = torch.load(trained.root / "model" / "model.pt", weights_only=True)
    predictive = {key: metadata[key] for key in ("architecture", "feature_names", "labels", "normalization")}
    assert model_version(state, predictive) == metadata["model_version"]
    metrics = json.loads((trained.root / "output" / "data" / "metrics.json").read_text())
    assert metrics["model_version"] == metadata["model_version"]


def test_keeps_only_the_newest_two_checkpoints_and_writes_no_failure(trained: TrainedModel) -> None:
    names = checkpoint_names(trained.root)
    last_epoch = trained.result.epochs[-1]
    assert names == [f"checkpoint-e{last_epoch - 1:05d}-s000000.pt", f"checkpoint-e{last_epoch:05d}-s000000.pt"]
    assert not (trained.root / "output" / "failure").exists()
    assert not list((trained.root / "checkpoints").glob(".*.tmp"))


def test_metric_values_are_finite_and_losses_fall(trained: TrainedModel) -> None:
    values = [tuple(map(float, match.groups()[1:])) for match in EPOCH_LINE.finditer(trained.result.stdout)]
    assert all(math.isfinite(v) for row in values for v in row)
    assert values[-1][0] < values[0][0]


def test_the_entry_point_without_a_command_prints_usage_and_exits_2() -> None:
    done = subprocess.run([sys.executable, str(ENTRYPOINT)], capture_output=True, text=True, check=False)
    assert done.returncode == 2
    assert "train|serve" in done.stderr
