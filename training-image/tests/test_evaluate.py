"""Evaluation: at the end of `train` on prepare's output (into the model folder) and as the standalone
`evaluate` entry point. Every figure is checked against scikit-learn on predictions computed here."""

from __future__ import annotations

import csv
import hashlib
import json
import re
import shutil
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, confusion_matrix, log_loss, precision_recall_fscore_support

from dlplatform.model.artifact import read_model

from .pipeline_support import (
    PREPARED,
    prepare_input,
    reason,
    reference_probabilities,
    run_entry,
    training_tree_from_prepared,
)
from .support import SAMPLE_DATA, TRAINING_IMAGE

RAW_DIGITS = TRAINING_IMAGE / "sample-data" / "raw" / "digits.csv"


@dataclass
class Trained:
    prepared: Path
    root: Path
    stdout: str

    @property
    def model_dir(self) -> Path:
        return self.root / "model"


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Trained:
    base = tmp_path_factory.mktemp("evaluate")
    prepared = prepare_input(base / "prepare", {"digits.csv": RAW_DIGITS.read_bytes()})
    assert run_entry("prepare", prepared).returncode == 0
    root = training_tree_from_prepared(prepared, base / "train", {"epochs": "6"})
    done = run_entry("train", root)
    assert done.returncode == 0, done.stderr
    return Trained(prepared, root, done.stdout)


def read_csv(path: Path, label_column: str = "label") -> tuple[list[str], np.ndarray, list[str]]:
    with path.open(newline="") as handle:
        rows = list(csv.reader(handle))
    header = rows[0]
    label = header.index(label_column)
    names = [name for i, name in enumerate(header) if i != label]
    values = np.array(
        [[float(cell) if cell != "" else np.nan for i, cell in enumerate(row) if i != label] for row in rows[1:]]
    )
    return names, values, [row[label] for row in rows[1:]]


def probabilities(model_dir: Path, rows: np.ndarray) -> tuple[np.ndarray, dict[str, Any]]:
    """Independent of the code under test (reference_probabilities), with the model's metadata."""
    return reference_probabilities(model_dir, rows), read_model(model_dir)[1]


def expected_ece(probs: np.ndarray, y: np.ndarray, bins: int = 10) -> tuple[float, list[int]]:
    confidence, correct = probs.max(axis=1), probs.argmax(axis=1) == y
    ece, counts = 0.0, []
    for b in range(bins):
        low, high = b / bins, (b + 1) / bins
        members = [(c > low or (b == 0 and c >= 0)) and c <= high for c in confidence]
        members = np.array(members)
        counts.append(int(members.sum()))
        if members.any():
            ece += members.mean() * abs(correct[members].mean() - confidence[members].mean())
    return ece, counts


def check_against_sklearn(evaluation: dict[str, Any], probs: np.ndarray, y: np.ndarray, labels: list[str]) -> None:
    classes = list(range(len(labels)))
    predicted = probs.argmax(axis=1)
    precision, recall, f1, support = precision_recall_fscore_support(y, predicted, labels=classes, zero_division=0)
    assert evaluation["rows"] == len(y)
    assert evaluation["accuracy"] == pytest.approx(accuracy_score(y, predicted))
    for i, entry in enumerate(evaluation["per_class"]):
        assert entry["label"] == labels[i]
        assert [entry["precision"], entry["recall"], entry["f1"]] == pytest.approx([precision[i], recall[i], f1[i]])
        assert entry["support"] == support[i]
    for average in ("macro", "weighted"):
        p, r, f, _ = precision_recall_fscore_support(y, predicted, labels=classes, average=average, zero_division=0)
        got = evaluation[f"{average}_avg"]
        assert [got["precision"], got["recall"], got["f1"]] == pytest.approx([p, r, f]), average
    assert evaluation["confusion_matrix"]["matrix"] == confusion_matrix(y, predicted, labels=classes).tolist()
    assert evaluation["log_loss"] == pytest.approx(
        log_loss(y, probs / probs.sum(axis=1, keepdims=True), labels=classes), rel=1e-4
    )
    ece, counts = expected_ece(probs, y)
    assert evaluation["calibration"]["expected_calibration_error"] == pytest.approx(ece, abs=1e-6)
    assert [entry["count"] for entry in evaluation["calibration"]["reliability"]] == counts


def test_training_evaluates_the_exported_model_on_the_test_split_matching_sklearn(trained: Trained) -> None:
    evaluation = json.loads((trained.model_dir / "evaluation.json").read_text())
    _, rows, labels = read_csv(trained.prepared / PREPARED / "test" / "test.csv")
    probs, metadata = probabilities(trained.model_dir, rows)
    y = np.array([metadata["labels"].index(label) for label in labels])
    assert evaluation["model_version"] == metadata["model_version"]
    check_against_sklearn(evaluation, probs, y, metadata["labels"])
    latency = evaluation["latency"]
    assert 0 < latency["single_row_ms"]["p50"] <= latency["single_row_ms"]["p99"]
    assert latency["batch_rows"] == len(y)
    assert latency["batch_ms_per_row"] > 0


def test_the_model_folder_carries_the_fitted_preprocessing_and_the_reports(trained: Trained) -> None:
    source = trained.prepared / PREPARED / "preprocessing" / "preprocessing.json"
    copy = trained.model_dir / "preprocessing.json"
    assert copy.read_bytes() == source.read_bytes()
    metadata = json.loads((trained.model_dir / "metadata.json").read_text())
    assert metadata["preprocessing_sha256"] == hashlib.sha256(source.read_bytes()).hexdigest()
    assert metadata["feature_names"] == json.loads(source.read_text())["output_features"]
    page = (trained.model_dir / "evaluation.html").read_text()
    assert page.count("<svg") == 2
    svgs = [ElementTree.fromstring(svg) for svg in re.findall(r"<svg.*?</svg>", page, re.DOTALL)]  # well-formed
    assert next(len(svg.findall("{http://www.w3.org/2000/svg}rect")) for svg in svgs) == 10 * 10
    assert 'aria-label="Confusion matrix"' in page
    assert 'aria-label="Reliability diagram"' in page


def test_standalone_evaluate_reads_model_tar_gz_and_raw_rows_through_the_preprocessing(
    trained: Trained, tmp_path: Path
) -> None:
    root = tmp_path / "opt-ml"
    model_input = root / "processing" / "input" / "model"
    model_input.mkdir(parents=True)
    with tarfile.open(model_input / "model.tar.gz", "w:gz") as archive:
        for path in sorted(trained.model_dir.iterdir()):
            archive.add(path, arcname=path.name)
    test_dir = root / "processing" / "input" / "test"
    test_dir.mkdir(parents=True)
    lines = (SAMPLE_DATA / "test.csv").read_text().splitlines()
    for line_number, column in ((3, 20), (9, 43), (17, 5)):  # gaps the model's imputation fills
        cells = lines[line_number].split(",")
        cells[column] = ""
        lines[line_number] = ",".join(cells)
    (test_dir / "raw.csv").write_text("\n".join(lines) + "\n")

    done = run_entry("evaluate", root)

    assert done.returncode == 0, done.stderr
    evaluation = json.loads((root / "processing" / "output" / "evaluation" / "evaluation.json").read_text())
    names, raw, labels = read_csv(test_dir / "raw.csv")
    preprocessing = json.loads((trained.model_dir / "preprocessing.json").read_text())
    columns = [names.index(name) for name in preprocessing["output_features"]]
    rows = raw[:, columns]
    gaps = np.argwhere(np.isnan(rows))
    assert len(gaps) == 3
    for row, column in gaps:
        rows[row, column] = preprocessing["fill_values"][column]
    probs, metadata = probabilities(trained.model_dir, rows)
    y = np.array([metadata["labels"].index(label) for label in labels])
    check_against_sklearn(evaluation, probs, y, metadata["labels"])
    assert (root / "processing" / "output" / "evaluation" / "evaluation.html").exists()
    assert not (root / "output" / "message").exists()


def evaluate_fails(tmp_path: Path, trained: Trained, test_csv: str | None) -> str:
    root = tmp_path / "opt-ml"
    (root / "processing" / "input").mkdir(parents=True)
    shutil.copytree(trained.model_dir, root / "processing" / "input" / "model")
    if test_csv is not None:
        (root / "processing" / "input" / "test").mkdir()
        (root / "processing" / "input" / "test" / "t.csv").write_text(test_csv)
    done = run_entry("evaluate", root)
    assert done.returncode == 1
    return reason(root)


def test_standalone_evaluate_without_a_model_says_what_it_expected(tmp_path: Path) -> None:
    root = tmp_path / "opt-ml"
    (root / "processing" / "input" / "model").mkdir(parents=True)
    done = run_entry("evaluate", root)
    assert done.returncode == 1
    assert reason(root).endswith("expected model.tar.gz or metadata.json with model.pt")


def test_standalone_evaluate_names_the_columns_the_test_data_lacks(trained: Trained, tmp_path: Path) -> None:
    message = evaluate_fails(tmp_path, trained, "p1,p2,label\n1,2,3\n")
    # p0 is constant in the training split (dropped): the model does not need it.
    assert message.startswith("The test data lacks columns the model needs: p3, p4")


def test_standalone_evaluate_rejects_labels_the_model_does_not_know(trained: Trained, tmp_path: Path) -> None:
    lines = (SAMPLE_DATA / "test.csv").read_text().splitlines()
    lines[1] = lines[1].rsplit(",", 1)[0] + ",eleven"
    message = evaluate_fails(tmp_path, trained, "\n".join(lines[:3]) + "\n")
    assert message == "The test data has labels the model does not know: eleven"


def test_training_rejects_a_preprocessing_channel_fitted_for_other_data(trained: Trained, tmp_path: Path) -> None:
    root = training_tree_from_prepared(trained.prepared, tmp_path / "opt-ml", {"epochs": "1"})
    preprocessing = root / "input" / "data" / "preprocessing" / "preprocessing.json"
    data = json.loads(preprocessing.read_text())
    data["dropped_columns"][data["output_features"][0]] = "dropped by hand: a file fitted for other data"
    data["output_features"], data["fill_values"] = data["output_features"][1:], data["fill_values"][1:]
    preprocessing.write_text(json.dumps(data))
    done = run_entry("train", root)
    assert done.returncode == 1
    assert (
        (root / "output" / "failure")
        .read_text()
        .startswith("Channel 'preprocessing': preprocessing.json was fitted for other data")
    )
