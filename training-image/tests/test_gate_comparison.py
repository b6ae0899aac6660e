"""`evaluate` with an approved model: both models scored on the candidate's test rows (the same held-out data), or,
for a model of another problem (other columns, other labels), no comparison at all, with the differences in words."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from .pipeline_support import csv_text, prepare_input, run_entry, training_tree_from_prepared


def rows(seed: int, count: int, *, noise: float, extra: bool = False, labels: tuple[str, ...] = ("a", "b")) -> list:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(count):
        label = i % len(labels)
        row = [round(float(rng.normal(label * 2.0, noise)), 3), ["p", "q", "r"][label] if i % 5 else "s"]
        if extra:
            row.append(round(float(rng.normal()), 3))
        out.append([*row, labels[label]])
    return out


def train(base: Path, header: list[str], data: list, epochs: str) -> tuple[Path, Path]:
    """prepare + train on ``data``: (the model folder, prepare's report folder with test-rows.csv)."""
    prepared = prepare_input(base / "prepare", {"data.csv": csv_text(header, data)})
    done = run_entry("prepare", prepared, {"PREPARE_LABEL_COLUMN": "y"})
    assert done.returncode == 0, done.stderr
    root = training_tree_from_prepared(prepared, base / "train", {"epochs": epochs, "label_column": "y"})
    done = run_entry("train", root)
    assert done.returncode == 0, done.stderr
    return root / "model", prepared / "processing" / "output" / "report"


def evaluate_against(base: Path, candidate: Path, approved: Path, test_rows: Path) -> tuple[dict[str, Any], Path]:
    root = base / "evaluate"
    inputs = root / "processing" / "input"
    shutil.copytree(candidate, inputs / "model")
    shutil.copytree(approved, inputs / "approved-model")
    (inputs / "test").mkdir(parents=True)
    shutil.copy(test_rows / "test-rows.csv", inputs / "test" / "test.csv")
    done = run_entry("evaluate", root)
    assert done.returncode == 0, done.stderr
    out = root / "processing" / "output" / "evaluation"
    return json.loads((out / "comparison.json").read_text()), out


@pytest.fixture(scope="module")
def approved(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Trained well on easy data (its own test split is easy too)."""
    return train(tmp_path_factory.mktemp("approved"), ["f", "g", "y"], rows(1, 200, noise=0.4), "10")


def test_both_models_are_scored_on_the_candidates_test_rows(approved: tuple[Path, Path], tmp_path: Path) -> None:
    # The candidate's table is harder (noisier): on its own test split the approved model scores lower than on
    # the approved model's own split, and that lower figure is what the gate must compare with.
    candidate, report = train(tmp_path / "candidate", ["f", "g", "y"], rows(2, 200, noise=1.6), "10")
    comparison, out = evaluate_against(tmp_path, candidate, approved[0], report)
    assert comparison["same_problem"] is True
    assert comparison["differences"] == []
    assert comparison["approved_evaluation"] == "approved/evaluation.json"
    mine = json.loads((out / "evaluation.json").read_text())
    theirs = json.loads((out / "approved" / "evaluation.json").read_text())
    own_split = json.loads((approved[0] / "evaluation.json").read_text())
    assert theirs["rows"] == mine["rows"]
    assert theirs["test_data"] == mine["test_data"]
    assert theirs["model_version"] == comparison["approved_model_version"] != mine["model_version"]
    assert theirs["accuracy"] < own_split["accuracy"]  # the same model, judged on the candidate's harder rows
    # The candidate's figure on the raw test rows is its training-end figure on the prepared test split.
    assert mine["accuracy"] == json.loads((candidate / "evaluation.json").read_text())["accuracy"]


def test_a_model_of_another_problem_is_not_compared(approved: tuple[Path, Path], tmp_path: Path) -> None:
    labels = ("a", "b", "c")
    candidate, report = train(
        tmp_path / "other", ["f", "g", "h", "y"], rows(3, 240, noise=0.4, extra=True, labels=labels), "3"
    )
    comparison, out = evaluate_against(tmp_path, candidate, approved[0], report)
    assert comparison["same_problem"] is False
    assert comparison["differences"] == [
        'input columns: the candidate adds "h"',
        'labels: "a", "b", "c" against the approved model\'s "a", "b"',
    ]
    assert comparison["approved_evaluation"] is None
    assert not (out / "approved").exists()
