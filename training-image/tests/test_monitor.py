"""The baseline a model carries and the real `monitor` entry point on windows of captured traffic: the digits prepared,
trained, and "served" by the model server's own Predictor and answer format; every window goes through
`python entrypoint.py monitor` as the Processing job runs it."""

from __future__ import annotations

import csv
import json
import math
import os
import re
import shutil
import tarfile
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import numpy as np
import pytest

from dlplatform.serve.predictor import Predictor

from .capture_support import (
    CSV_TYPE,
    JSON_TYPE,
    WINDOW_START,
    capture_line,
    capture_path,
    csv_body,
    json_body,
    minutes,
    response_body,
    write_lines,
)
from .conftest import TrainedModel
from .pipeline_support import (
    PREPARED,
    Done,
    prepare_input,
    reason,
    reference_probabilities,
    run_entry,
    training_tree_from_prepared,
)
from .support import SAMPLE_DATA, TRAINING_IMAGE

RAW_DIGITS = TRAINING_IMAGE / "sample-data" / "raw" / "digits.csv"
# The drift.json of the shifted window below, checked in for the jest tests of the metrics publisher
# (test/drift-check.test.ts, test/drift-handlers.test.ts); UPDATE_DRIFT_FIXTURE=1 writes it again.
DRIFT_FIXTURE = TRAINING_IMAGE.parent / "test" / "fixtures" / "drift-report.json"
ROWS_PER_REQUEST = 9
ALL_METRICS = {
    "Records",
    "InvalidInputRate",
    "DriftedFeatures",
    "MaxFeatureDrift",
    "PredictionDrift",
    "MaxMissingRate",
    "MaxOutOfRangeRate",
}
Row = list[float | None]


def read_split(path: Path) -> tuple[list[str], np.ndarray, list[str]]:
    with path.open(newline="") as handle:
        rows = list(csv.reader(handle))
    return rows[0][:-1], np.array([[float(cell) for cell in row[:-1]] for row in rows[1:]]), [r[-1] for r in rows[1:]]


@dataclass
class Served:
    prepared: Path
    model_dir: Path
    preprocessing: dict[str, Any]
    baseline: dict[str, Any]
    predictor: Predictor
    test_rows: list[Row]  # the test split as clients send it: every raw column, None where the model drops one
    train_std: dict[str, float]

    @property
    def columns(self) -> list[str]:
        return list(self.preprocessing["input_features"])

    def traffic(self, rows: Sequence[Row], *, version: str | None = None) -> list[str]:
        """Capture lines of requests of ROWS_PER_REQUEST rows, JSON, CSV and base64 in turn, answered as `serve`
        answers them, one a minute from the window's start."""
        lines = []
        for n, start in enumerate(range(0, len(rows), ROWS_PER_REQUEST)):
            chunk = rows[start : start + ROWS_PER_REQUEST]
            raw = np.array([[math.nan if v is None else v for v in row] for row in chunk], dtype=np.float32)
            probabilities = self.predictor.predict_proba(raw)
            labels = [self.predictor.labels[i] for i in probabilities.argmax(axis=1)]
            answer = response_body(labels, version or self.predictor.version)
            time = WINDOW_START + minutes(n % 60)
            if n % 3 == 0:
                lines.append(capture_line(json_body(chunk), JSON_TYPE, answer, time))
            elif n % 3 == 1:
                lines.append(capture_line(csv_body(chunk), CSV_TYPE, answer, time))
            else:
                lines.append(capture_line(json_body(chunk), JSON_TYPE, answer, time, encoding="BASE64"))
        return lines


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Served:
    base = tmp_path_factory.mktemp("monitor")
    prepared = prepare_input(base / "prepare", {"digits.csv": RAW_DIGITS.read_bytes()})
    assert run_entry("prepare", prepared).returncode == 0
    root = training_tree_from_prepared(prepared, base / "train", {"epochs": "6"})
    done = run_entry("train", root)
    assert done.returncode == 0, done.stderr
    model_dir = root / "model"
    preprocessing = json.loads((model_dir / "preprocessing.json").read_text())
    names, test, _ = read_split(prepared / PREPARED / "test" / "test.csv")
    rows = [
        [float(row[names.index(c)]) if c in names else None for c in preprocessing["input_features"]] for row in test
    ]
    train_names, train, _ = read_split(prepared / PREPARED / "train" / "train.csv")
    return Served(
        prepared=prepared,
        model_dir=model_dir,
        preprocessing=preprocessing,
        baseline=json.loads((model_dir / "baseline.json").read_text()),
        predictor=Predictor.load(model_dir),
        test_rows=rows,
        train_std={name: float(train[:, i].std()) for i, name in enumerate(train_names)},
    )


@dataclass
class Checked:
    done: Done
    root: Path

    @property
    def report(self) -> dict[str, Any]:
        return json.loads((self.root / "processing" / "output" / "drift" / "drift.json").read_text())

    @property
    def html(self) -> str:
        return (self.root / "processing" / "output" / "drift" / "drift.html").read_text()

    def feature(self, name: str) -> dict[str, Any]:
        return next(entry for entry in self.report["features"] if entry["name"] == name)


def monitor(
    tmp_path: Path, model_dir: Path, lines: Sequence[str], env: Mapping[str, str] | None = None, *, archive: bool = True
) -> Checked:
    """`monitor` with the model as model.tar.gz (as the endpoint's model artifact), or as its folder."""
    root = tmp_path / "opt-ml"
    model_input = root / "processing" / "input" / "model"
    if archive:
        model_input.mkdir(parents=True)
        with tarfile.open(model_input / "model.tar.gz", "w:gz") as tar:
            for path in sorted(model_dir.iterdir()):
                tar.add(path, arcname=path.name)
    else:
        shutil.copytree(model_dir, model_input)
    capture = root / "processing" / "input" / "capture"
    half = len(lines) // 2  # two files, in two hours' folders, as the endpoint writes them
    write_lines(capture_path(capture, "digits", "AllTraffic", WINDOW_START, "00-00-000-a"), lines[:half])
    write_lines(capture_path(capture, "digits", "AllTraffic", WINDOW_START + minutes(60), "00-00-000-b"), lines[half:])
    settings = {"MONITOR_WINDOW_START": "2026-03-01T13:00:00Z", "MONITOR_WINDOW_END": "2026-03-01T14:00:00Z"}
    return Checked(run_entry("monitor", root, {**settings, **(env or {})}), root)


def test_prepare_writes_the_training_splits_baseline_beside_the_preprocessing(served: Served) -> None:
    baseline = json.loads((served.prepared / PREPARED / "preprocessing" / "baseline.json").read_text())
    names, train, labels = read_split(served.prepared / PREPARED / "train" / "train.csv")
    assert [f["name"] for f in baseline["features"]] == served.preprocessing["output_features"] == names
    assert baseline["labels"]["labels"] == [str(d) for d in range(10)]
    assert baseline["labels"]["counts"] == [Counter(labels)[str(d)] for d in range(10)]
    exact = 0
    for feature in baseline["features"]:
        values = np.sort(train[:, names.index(feature["name"])])
        assert (feature["count"], feature["kind"]) == (len(values), "numeric")
        if feature["missing_rate"] > 0:  # the split's rows hold the imputed value there; the baseline, the gap
            continue
        exact += 1
        deciles = {float(values[math.ceil(q * len(values)) - 1]) for q in np.arange(1, 10) / 10}
        assert feature["bin_edges"] == sorted(edge for edge in deciles if edge < values[-1])
        assert [feature["min"], feature["max"]] == [values[0], values[-1]]
        edges = [-math.inf, *feature["bin_edges"], math.inf]
        shares = [np.mean((values > low) & (values <= high)) for low, high in pairwise(edges)]
        assert feature["bin_frequencies"] == pytest.approx(shares)
    assert exact > 30  # the other features had gaps in the training split


def test_the_model_carries_that_baseline_and_its_predicted_classes_on_the_test_split(served: Served) -> None:
    baseline = json.loads((served.prepared / PREPARED / "preprocessing" / "baseline.json").read_text())
    carried = dict(served.baseline)
    prediction = carried.pop("prediction")
    assert carried == {**baseline, "prediction": None} or {**carried, "prediction": None} == baseline
    _, test, _ = read_split(served.prepared / PREPARED / "test" / "test.csv")
    predicted = reference_probabilities(served.model_dir, test).argmax(axis=1)
    assert prediction["labels"] == [str(d) for d in range(10)]
    assert prediction["counts"] == np.bincount(predicted, minlength=10).tolist()
    assert prediction["rows"] == len(test)


def test_a_model_trained_on_ready_made_channels_gets_a_baseline_of_its_train_channel(trained: TrainedModel) -> None:
    baseline = json.loads((trained.root / "model" / "baseline.json").read_text())
    names, train, labels = read_split(SAMPLE_DATA / "train.csv")
    assert baseline["source"] == "train: the train channel"
    assert [f["name"] for f in baseline["features"]] == names
    assert baseline["labels"]["counts"] == [Counter(labels)[str(d)] for d in range(10)]
    p20 = baseline["features"][names.index("p20")]
    assert [p20["min"], p20["max"], p20["count"]] == [train[:, 20].min(), train[:, 20].max(), len(train)]
    evaluation = json.loads((trained.root / "model" / "evaluation.json").read_text())
    assert baseline["prediction"]["counts"] == np.sum(evaluation["confusion_matrix"]["matrix"], axis=0).tolist()


def test_training_refuses_a_baseline_for_columns_the_preprocessing_does_not_take(
    served: Served, tmp_path: Path
) -> None:
    root = training_tree_from_prepared(served.prepared, tmp_path / "opt-ml", {"epochs": "1"})
    path = root / "input" / "data" / "preprocessing" / "baseline.json"
    data = json.loads(path.read_text())
    data["features"][0]["name"] = "pixel"
    path.write_text(json.dumps(data))
    done = run_entry("train", root)
    assert done.returncode == 1
    assert (
        (root / "output" / "failure")
        .read_text()
        .startswith("Channel 'preprocessing': baseline.json describes columns the preprocessing does not take (pixel)")
    )


def test_a_window_of_the_test_split_shows_no_drift(served: Served, tmp_path: Path) -> None:
    checked = monitor(tmp_path, served.model_dir, served.traffic(served.test_rows))
    assert checked.done.returncode == 0, checked.done.stderr
    report = checked.report
    assert (report["status"], report["records"], report["drifted_features"]) == ("ok", len(served.test_rows), 0)
    assert report["max_feature_drift"] < 0.25
    assert report["prediction"]["drift"] == pytest.approx(0.0, abs=1e-3)  # the very rows the baseline predicted
    assert set(report["metrics"]) == ALL_METRICS
    assert report["metrics"]["InvalidInputRate"] == 0
    assert report["metrics"]["DriftedFeatures"] == 0
    assert (report["skipped_lines"], report["invalid_records"]) == (0, 0)
    assert report["window"] == {"start": "2026-03-01T13:00:00Z", "end": "2026-03-01T14:00:00Z"}
    print(f"\ntest split window: max feature PSI {report['max_feature_drift']:.4f}")
    assert "status: ok; records: 269 valid" in checked.done.stdout


def test_two_features_shifted_by_two_standard_deviations_drift_and_no_other(served: Served, tmp_path: Path) -> None:
    shifted = ["p20", "p43"]
    rows = [list(row) for row in served.test_rows]
    for name in shifted:
        column = served.columns.index(name)
        for row in rows:
            row[column] = float(row[column]) + 2 * served.train_std[name]  # type: ignore[arg-type]
    checked = monitor(tmp_path, served.model_dir, served.traffic(rows), archive=False)
    assert checked.done.returncode == 0, checked.done.stderr
    report = checked.report
    assert report["status"] == "drift"
    assert sorted(entry["name"] for entry in report["features"] if entry["drifted"]) == shifted
    assert [entry["name"] for entry in report["features"][:2]] == sorted(
        shifted, key=lambda name: -checked.feature(name)["drift"]
    )  # worst first
    assert report["metrics"]["DriftedFeatures"] == 2
    assert report["metrics"]["MaxFeatureDrift"] >= 0.25
    assert checked.feature("p20")["out_of_range_rate"] > 0
    assert "most drifted: p" in checked.done.stdout
    if os.environ.get("UPDATE_DRIFT_FIXTURE") == "1":
        DRIFT_FIXTURE.parent.mkdir(parents=True, exist_ok=True)
        DRIFT_FIXTURE.write_text(json.dumps(report, indent=1) + "\n")
    # The fixture is this report's shape: the same fields and metric names (values vary with the trained model).
    fixture = json.loads(DRIFT_FIXTURE.read_text())
    assert sorted(fixture) == sorted(report)
    assert sorted(fixture["metrics"]) == sorted(report["metrics"])
    assert fixture["schema_version"] == report["schema_version"]


def test_mostly_missing_values_raise_the_missing_rate(served: Served, tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    rows = [list(row) for row in served.test_rows]
    gaps = round(0.8 * len(rows))  # in each column, 80% of the rows, chosen at random
    for column in range(len(served.columns)):
        for index in rng.permutation(len(rows))[:gaps]:
            rows[index][column] = None
    checked = monitor(tmp_path, served.model_dir, served.traffic(rows))
    assert checked.done.returncode == 0, checked.done.stderr
    report = checked.report
    assert report["metrics"]["MaxMissingRate"] == pytest.approx(gaps / len(rows))
    for entry in report["features"]:
        assert entry["missing_rate"] == pytest.approx(gaps / len(rows))
        assert entry["baseline_missing_rate"] < 0.01
        assert entry["drift"] is None  # about 54 values each: too few to compare
    assert report["drifted_features"] == 0
    assert "MaxFeatureDrift" not in report["metrics"]
    # What the model answers on rows it mostly imputes is another matter: a changed predicted class is drift.
    assert report["status"] == ("drift" if report["prediction"]["drifted"] else "ok")


def test_fewer_records_than_the_minimum_are_not_enough_data_and_publish_nothing_that_could_alarm(
    served: Served, tmp_path: Path
) -> None:
    rows = [[value + 50 if value is not None else None for value in row] for row in served.test_rows[:60]]
    checked = monitor(tmp_path, served.model_dir, served.traffic(rows), {"MONITOR_MIN_RECORDS": "100"})
    assert checked.done.returncode == 0, checked.done.stderr
    report = checked.report
    assert (report["status"], report["records"], report["min_records"]) == ("not_enough_data", 60, 100)
    assert report["metrics"] == {"Records": 60}
    assert report["drifted_features"] == 0
    assert all(entry["drift"] is None and not entry["drifted"] for entry in report["features"])
    assert report["prediction"]["drift"] is None


def test_records_outside_the_window_and_of_another_model_version_are_left_out(served: Served, tmp_path: Path) -> None:
    lines = served.traffic(served.test_rows[:90]) + served.traffic(served.test_rows[90:], version="0123456789abcdef")
    early = capture_line(json_body(served.test_rows[:5]), JSON_TYPE, None, WINDOW_START - minutes(1))
    checked = monitor(tmp_path, served.model_dir, [early, *lines, "{not json"])
    report = checked.report
    assert (report["records"], report["outside_window_lines"], report["skipped_lines"]) == (269, 1, 1)
    assert (report["prediction"]["records"], report["prediction"]["other_model_records"]) == (90, 179)
    assert report["skipped_reasons"] == {"not JSON": 1}


def test_drift_html_draws_every_feature_worst_first_as_well_formed_svg(served: Served, tmp_path: Path) -> None:
    checked = monitor(tmp_path, served.model_dir, served.traffic(served.test_rows))
    page, report = checked.html, checked.report
    assert page.startswith("<!DOCTYPE html>")
    svgs = [ElementTree.fromstring(svg) for svg in re.findall(r"<svg.*?</svg>", page, re.DOTALL)]
    assert len(svgs) == len(report["features"]) + 1  # the predicted class, then each feature
    headings = re.findall(r"<h3>(.*?)</h3>", page)
    assert headings == [entry["name"] for entry in report["features"]]
    drifts = [entry["drift"] for entry in report["features"]]
    assert drifts == sorted(drifts, reverse=True)


def test_a_model_without_a_baseline_and_bad_settings_fail_with_the_reason(served: Served, tmp_path: Path) -> None:
    old_model = tmp_path / "old-model"
    shutil.copytree(served.model_dir, old_model)
    (old_model / "baseline.json").unlink()
    checked = monitor(tmp_path / "a", old_model, [])
    assert checked.done.returncode == 1
    assert reason(checked.root).startswith("The model has no baseline.json: it was trained by an image from before")
    checked = monitor(tmp_path / "b", served.model_dir, [], {"MONITOR_DRIFT_TRESHOLD": "0.2"})
    assert checked.done.returncode == 1
    assert reason(checked.root).startswith(
        'Unknown setting "MONITOR_DRIFT_TRESHOLD" (did you mean "MONITOR_DRIFT_THRESHOLD"?)'
    )
    checked = monitor(tmp_path / "c", served.model_dir, [], {"MONITOR_WINDOW_END": "2026-03-01T12:00:00Z"})
    assert checked.done.returncode == 1
    assert "the window starts at 2026-03-01T13:00:00+00:00, not before it ends at" in reason(checked.root)
    checked = monitor(tmp_path / "d", served.model_dir, [], {"MONITOR_MIN_RECORDS": "0"})
    assert (
        reason(checked.root)
        == 'Invalid setting "MONITOR_MIN_RECORDS": "0"; expected a whole number from 1 to 1000000000'
    )
