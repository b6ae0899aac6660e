"""The real `serve` applies the preprocessing `prepare` fitted (preprocessing.json in the model folder) to every
request: raw rows in the raw CSV's columns, gaps filled with the training split's values, no training/serving
skew. Models come from `prepare` then `train` on a small raw CSV made here, with a constant column (dropped)
and gaps; the expected probabilities are computed by hand from the model folder's files."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from .pipeline_support import csv_text, prepare_input, reference_probabilities, run_entry, training_tree_from_prepared
from .support import free_port, request, running_server

HEADER = ["a", "const", "b", "c", "label"]
RAW_COLUMNS = HEADER[:-1]
JSON = {"Content-Type": "application/json"}
CSV = {"Content-Type": "text/csv"}


def raw_rows() -> list[list[object]]:
    """240 rows, three classes told apart by a and b; "const" is always 7; some a and c cells are empty."""
    rng = np.random.default_rng(3)
    rows: list[list[object]] = []
    for i in range(240):
        label = i % 3
        a, b, c = rng.normal(label * 2.0, 0.7), rng.normal(-label, 0.7), rng.normal(0, 1)
        rows.append([
            "" if i % 17 == 0 else round(a, 3),
            7,
            round(b, 3),
            "" if i % 11 == 0 else round(c, 3),
            f"class{label}",
        ])  # fmt: skip
    return rows


@dataclass
class Served:
    port: int
    model_dir: Path
    process: subprocess.Popen[bytes]
    log: Path

    def invoke(self, body: bytes, headers: dict[str, str]) -> Any:
        response = request(self.port, "POST", "/invocations", body, headers)
        return response.status, response.json()


def train_from_raw_csv(base: Path, missing_values: str) -> Path:
    """`prepare` on the raw CSV, then `train` on its outputs (preprocessing channel included): the model folder."""
    prepared = prepare_input(base / "prepare", {"data.csv": csv_text(HEADER, raw_rows())})
    done = run_entry("prepare", prepared, {"PREPARE_MISSING_VALUES": missing_values})
    assert done.returncode == 0, done.stderr
    root = training_tree_from_prepared(prepared, base / "train", {"epochs": "3"})
    done = run_entry("train", root)
    assert done.returncode == 0, done.stderr
    return root / "model"


def serve(model_dir: Path, base: Path) -> Iterator[Served]:
    """`serve` on a copy of ``model_dir`` as SageMaker unpacks model.tar.gz (one worker)."""
    root = base / "serving" / "opt-ml"
    shutil.copytree(model_dir, root / "model")
    port, log = free_port(), base / "server.log"
    with running_server(root, port, log, {"MODEL_SERVER_WORKERS": "1"}) as process:
        yield Served(port, root / "model", process, log)


@pytest.fixture(scope="module")
def imputing_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train_from_raw_csv(tmp_path_factory.mktemp("median"), "median")


@pytest.fixture(scope="module")
def imputing(imputing_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    yield from serve(imputing_model, tmp_path_factory.mktemp("serve-median"))


@pytest.fixture(scope="module")
def dropping(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    base = tmp_path_factory.mktemp("drop")
    yield from serve(train_from_raw_csv(base, "drop"), base)


def by_hand(model_dir: Path, raw: list[list[float | None]]) -> np.ndarray:
    """Probabilities from the files alone: preprocessing.json's columns and fill values, metadata.json's
    normalization, the state_dict in a plain network; none of the server's code."""
    spec = json.loads((model_dir / "preprocessing.json").read_text())
    columns = [spec["input_features"].index(name) for name in spec["output_features"]]
    rows = np.array([[np.nan if row[i] is None else row[i] for i in columns] for row in raw], dtype=np.float64)
    if spec["fill_values"] is not None:
        rows = np.where(np.isnan(rows), np.array(spec["fill_values"]), rows)
    return reference_probabilities(model_dir, rows)


def probabilities(answer: dict[str, Any]) -> np.ndarray:
    return np.array([list(p["probabilities"].values()) for p in answer["predictions"]])


RAW = [[4.1, 7.0, -2.2, 0.3], [0.2, 7.0, 0.1, -1.0], [2.0, 7.0, -1.1, 2.5]]


def test_the_prepared_model_drops_the_constant_column_and_imputes(imputing_model: Path) -> None:
    spec = json.loads((imputing_model / "preprocessing.json").read_text())
    assert spec["input_features"] == RAW_COLUMNS
    assert spec["output_features"] == ["a", "b", "c"]
    assert "const" in spec["dropped_columns"]
    assert spec["fill_values"] is not None


def test_answers_raw_width_json_rows_with_the_probabilities_of_the_transform_by_hand(imputing: Served) -> None:
    status, answer = imputing.invoke(json.dumps({"instances": RAW}).encode(), JSON)
    assert status == 200, answer
    np.testing.assert_allclose(probabilities(answer), by_hand(imputing.model_dir, RAW), atol=2e-6)


def test_takes_the_raw_csv_header_and_answers_csv_as_json(imputing: Served) -> None:
    body = (",".join(RAW_COLUMNS) + "\n" + "".join(",".join(map(str, row)) + "\n" for row in RAW)).encode()
    status, answer = imputing.invoke(body, CSV)
    assert status == 200, answer
    assert answer == imputing.invoke(json.dumps({"instances": RAW}).encode(), JSON)[1]


def test_fills_a_json_null_and_an_empty_csv_cell_with_the_training_value(imputing: Served) -> None:
    gappy: list[list[float | None]] = [[None, 7.0, -2.2, None], [0.2, 7.0, None, -1.0]]
    status, as_json = imputing.invoke(json.dumps({"instances": gappy}).encode(), JSON)
    assert status == 200, as_json
    expected = by_hand(imputing.model_dir, gappy)
    np.testing.assert_allclose(probabilities(as_json), expected, atol=2e-6)
    status, as_csv = imputing.invoke(b",7,-2.2,\n0.2,7,NA,-1\n", CSV)
    assert status == 200, as_csv
    assert as_csv == as_json


def test_a_gap_only_in_the_dropped_column_changes_nothing(imputing: Served) -> None:
    status, answer = imputing.invoke(json.dumps({"instances": [[4.1, None, -2.2, 0.3]]}).encode(), JSON)
    assert status == 200, answer
    np.testing.assert_allclose(probabilities(answer), by_hand(imputing.model_dir, RAW[:1]), atol=2e-6)


@pytest.mark.parametrize(
    ("content_type", "body", "message"),
    [
        ("application/json", '{"instances": [[4.1, -2.2, 0.3]]}', "instances[0] has 3 values; the model expects 4"),
        ("application/json", '{"instances": [[1, 7, 1e39, null]]}', "instances[0][2] is not a finite number"),
        ("application/json", '{"instances": [[1, 7, "x", null]]}', 'instances[0][2] is "x", not a number'),
        ("text/csv", "1,7,inf,\n", "CSV row 1, column 3 is not a finite number"),
        ("text/csv", "1,7,,x\n", 'CSV row 1, column 4 is "x", not a number'),
    ],
    ids=["model width instead of raw width", "overflow beside a gap", "string beside a gap", "csv inf", "csv text"],
)
def test_still_rejects_bad_values_with_400_when_gaps_are_allowed(
    imputing: Served, content_type: str, body: str, message: str
) -> None:
    status, answer = imputing.invoke(body.encode(), {"Content-Type": content_type})
    assert status == 400
    assert message in answer["error"]


@pytest.mark.parametrize(
    ("content_type", "body", "message"),
    [
        ("application/json", '{"instances": [[1, 7, null, 0]]}', "instances[0][2] is null, not a number"),
        ("text/csv", "1,7,,0\n", 'CSV row 1, column 3 is "", not a number'),
        ("text/csv", ",,,\n", 'CSV row 1, column 1 is "", not a number'),
    ],
    ids=["json null", "csv empty cell", "csv row of empty cells"],
)
def test_a_model_trained_with_policy_drop_rejects_gaps_with_400(
    dropping: Served, content_type: str, body: str, message: str
) -> None:
    assert json.loads((dropping.model_dir / "preprocessing.json").read_text())["fill_values"] is None
    status, answer = dropping.invoke(body.encode(), {"Content-Type": content_type})
    assert status == 400
    assert message in answer["error"]
    status, answer = dropping.invoke(json.dumps({"instances": RAW}).encode(), JSON)
    assert status == 200
    np.testing.assert_allclose(probabilities(answer), by_hand(dropping.model_dir, RAW), atol=2e-6)


def test_a_model_folder_without_preprocessing_json_still_serves_at_the_model_width(
    imputing_model: Path, tmp_path: Path
) -> None:
    old = tmp_path / "old-model"
    shutil.copytree(imputing_model, old)
    (old / "preprocessing.json").unlink()
    for served in serve(old, tmp_path):
        model_rows = [[row[0], row[2], row[3]] for row in RAW]
        status, answer = served.invoke(json.dumps({"instances": model_rows}).encode(), JSON)
        assert status == 200, answer
        assert len(answer["predictions"]) == len(RAW)
        status, answer = served.invoke(json.dumps({"instances": RAW}).encode(), JSON)
        assert status == 400
        assert "instances[0] has 4 values; the model expects 3" in answer["error"]
        status, answer = served.invoke(b'{"instances": [[1, null, 0]]}', JSON)
        assert status == 400
        assert "instances[0][1] is null, not a number" in answer["error"]
