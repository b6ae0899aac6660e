"""Tables with text columns and a named label: the encoding `prepare` fits on the training split (one-hot, frequency
above the cardinality setting, the unseen-category policy), the label candidates when the label is missing, and a
mixed numeric + text table trained end to end and served with named-feature requests that send the raw text."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from dlplatform.errors import DataError
from dlplatform.tabular.preprocessing import (
    FREQUENCY,
    ONE_HOT,
    Preprocessing,
    PreprocessingError,
    apply,
    code_table,
    fit,
)
from dlplatform.tabular.raw_csv import read_csv_file

from .pipeline_support import csv_text, prepare_input, read_report, run_entry, training_tree_from_prepared
from .support import free_port, request, running_server

HEADER = ["x", "region", "grade", "kind"]
JSON = {"Content-Type": "application/json"}
CSV = {"Content-Type": "text/csv"}


def table_rows(count: int = 240) -> list[list[object]]:
    """Three classes: "kind" follows the region (north/south/east) and x; grade is text with gaps."""
    rng = np.random.default_rng(5)
    regions = ["north", "south", "east"]
    rows: list[list[object]] = []
    for i in range(count):
        label = i % 3
        rows.append([
            round(float(rng.normal(label * 1.5, 0.6)), 3),
            regions[label] if i % 7 else regions[(label + 1) % 3],
            "" if i % 13 == 0 else ["A", "B"][i % 2],
            ["red", "green", "blue"][label],
        ])  # fmt: skip
    return rows


def read(tmp_path: Path, header: list[str], rows: list[list[object]], label: str = "kind") -> Any:
    path = tmp_path / "data.csv"
    path.write_text(csv_text(header, rows))
    return read_csv_file(path, "data.csv", label)


def fitted(tmp_path: Path, *, max_categories: int = 20, unseen: str = "other", missing: str = "median") -> Any:
    table = read(tmp_path, HEADER, table_rows())
    train = np.arange(0, 200)
    preprocessing = fit(
        table.features[train],
        table.feature_names,
        raw_features=table.feature_names,
        label_column="kind",
        missing_values=missing,
        constant_columns="drop",
        already_dropped={},
        vocabularies=table.vocabularies,
        max_categories=max_categories,
        unseen_categories=unseen,
    )
    return table, preprocessing


def test_text_columns_are_read_as_categories_and_one_hot_encoded(tmp_path: Path) -> None:
    table, preprocessing = fitted(tmp_path)
    assert table.vocabularies == {"region": ("east", "north", "south"), "grade": ("A", "B")}
    region = preprocessing.text_columns["region"]
    assert region.encoding == ONE_HOT
    assert set(region.categories) == {"north", "south", "east"}
    assert sum(region.counts) == 200  # fitted on the 200 training rows only
    assert preprocessing.output_features == (
        "x",
        *(f"region={category}" for category in region.categories),
        "grade=A",
        "grade=B",
    )
    raw = code_table(preprocessing, table.features, table.feature_names, table.vocabularies)
    model_rows = apply(preprocessing, raw)
    for row, source in zip(model_rows[:20], table_rows()[:20], strict=True):
        assert row[0] == source[0]
        assert list(row[1:4]) == [1.0 if category == source[1] else 0.0 for category in region.categories]
        if source[2] == "":  # a gap: the most frequent training grade
            assert list(row[4:]) == [
                1.0 if preprocessing.text_columns["grade"].categories[0] == g else 0.0 for g in "AB"
            ]
        else:
            assert list(row[4:]) == [1.0 if source[2] == g else 0.0 for g in "AB"]
    # preprocessing.json round trip: the same transform after writing and reading the file.
    again = Preprocessing.from_dict(json.loads(json.dumps(preprocessing.to_dict())))
    assert np.array_equal(apply(again, raw), model_rows)


def test_an_unseen_category_goes_to_the_other_bucket_or_is_refused(tmp_path: Path) -> None:
    _, preprocessing = fitted(tmp_path)
    row = np.array([[1.0, preprocessing.code("region", "west"), preprocessing.code("grade", "A")]])
    assert preprocessing.code("region", "west") == 3.0
    other = apply(preprocessing, row)
    assert list(other[0, 1:4]) == [0.0, 0.0, 0.0]  # every region indicator 0
    _, refusing = fitted(tmp_path, unseen="refuse")
    with pytest.raises(PreprocessingError, match='row 1, feature "region": a category not seen in training'):
        apply(refusing, row)


def test_above_the_cardinality_setting_a_text_column_is_frequency_encoded(tmp_path: Path) -> None:
    table, preprocessing = fitted(tmp_path, max_categories=2)
    region = preprocessing.text_columns["region"]
    assert region.encoding == FREQUENCY
    assert preprocessing.text_columns["grade"].encoding == ONE_HOT  # two categories: still one-hot
    assert "region" in preprocessing.output_features
    raw = code_table(preprocessing, table.features, table.feature_names, table.vocabularies)
    column = preprocessing.output_features.index("region")
    shares = dict(zip(region.categories, np.array(region.counts) / sum(region.counts), strict=True))
    values = apply(preprocessing, raw)[:10, column]
    assert list(values) == [shares[str(row[1])] for row in table_rows()[:10]]
    unseen = np.array([[1.0, preprocessing.code("region", "west"), 0.0]])
    assert apply(preprocessing, unseen)[0, column] == 0.0  # never seen in training: a share of 0


def test_a_mostly_numeric_column_with_a_word_is_a_typo_not_a_category(tmp_path: Path) -> None:
    rows = table_rows(20)
    rows[4][0] = "twelve"
    with pytest.raises(DataError, match=r'data.csv line 6, column "x": \'twelve\' is not a number, but 19 of'):
        read(tmp_path, HEADER, rows)


def test_a_missing_label_names_every_column_and_the_likely_labels(tmp_path: Path) -> None:
    header = [f"f{i}" for i in range(30)] + ["diagnosis"]
    rng = np.random.default_rng(0)
    rows = [[*np.round(rng.normal(size=30), 3).tolist(), ["malignant", "benign"][i % 2]] for i in range(50)]
    with pytest.raises(DataError) as error:
        read(tmp_path, header, rows, label="label")
    message = str(error.value)
    assert 'likely label columns: "diagnosis";' in message
    assert "--label <name>" in message
    assert "prepareLabelColumn" in message
    assert message.endswith(", ".join(f'"{name}"' for name in header))  # all 31, not 8 of them


# --- a mixed table trained end to end and served ---------------------------------------------------------------


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("text-prepare")
    root = prepare_input(base / "prepare", {"data.csv": csv_text(HEADER, table_rows())})
    done = run_entry("prepare", root, {"PREPARE_LABEL_COLUMN": "kind"})
    assert done.returncode == 0, done.stderr
    return root


@pytest.fixture(scope="module")
def model_dir(prepared: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("text-train")
    root = training_tree_from_prepared(prepared, base / "train", {"epochs": "8", "label_column": "kind"})
    done = run_entry("train", root)
    assert done.returncode == 0, done.stderr
    return root / "model"


def serve_copy(model_dir: Path, base: Path, unseen: str = "other") -> Iterator[int]:
    serving = base / "serving" / "opt-ml"
    shutil.copytree(model_dir, serving / "model")
    spec = serving / "model" / "preprocessing.json"
    spec.write_text(json.dumps({**json.loads(spec.read_text()), "unseen_categories": unseen}))
    port = free_port()
    with running_server(serving, port, base / "server.log", {"MODEL_SERVER_WORKERS": "1"}):
        yield port


@pytest.fixture(scope="module")
def served(model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    yield from serve_copy(model_dir, tmp_path_factory.mktemp("text-serve"))


def invoke(port: int, body: object, headers: dict[str, str] = JSON) -> tuple[int, Any]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    response = request(port, "POST", "/invocations", data, headers)
    return response.status, response.json()


def test_the_data_report_and_baseline_show_each_text_columns_categories(prepared: Path) -> None:
    report = read_report(prepared)
    region = next(entry for entry in report["text_columns"] if entry["name"] == "region")
    assert region["encoding"] == ONE_HOT
    assert set(region["categories"]) == {"north", "south", "east"}
    assert sum(region["categories"].values()) == report["rows"]["output"]
    html = (prepared / "processing" / "output" / "report" / "data-report.html").read_text()
    assert "Text columns: categories and rows" in html
    assert "north" in html
    baseline = json.loads((prepared / "processing/output/data/preprocessing/baseline.json").read_text())
    features = {feature["name"]: feature for feature in baseline["features"]}
    assert features["region"]["kind"] == "categorical"
    assert set(features["region"]["categories"]) == {"north", "south", "east"}
    assert features["x"]["kind"] == "numeric"
    sample = json.loads((prepared / "processing/output/report/sample-requests.json").read_text())
    assert sample["columns"] == ["x", "region", "grade"]
    assert all(isinstance(row[1], str) for row in sample["instances"])
    assert sample["instances_by_name"][0] == dict(zip(sample["columns"], sample["instances"][0], strict=True))


def test_named_and_positional_requests_with_text_get_the_same_answer(served: int) -> None:
    named = [{"grade": "A", "region": "east", "x": 3.1}, {"x": -0.2, "region": "north", "grade": None}]
    positional = [[3.1, "east", "A"], [-0.2, "north", None]]
    status, by_name = invoke(served, {"instances": named})
    assert status == 200, by_name
    status, by_position = invoke(served, {"instances": positional})
    assert status == 200, by_position
    assert by_name == by_position
    assert [p["label"] for p in by_name["predictions"]] == ["blue", "red"]  # east with a high x; north, low x
    status, by_csv = invoke(served, b"x,region,grade\n3.1,east,A\n-0.2,north,\n", CSV)
    assert status == 200
    assert by_csv == by_name


def test_an_unseen_category_is_answered_through_the_other_bucket(served: int) -> None:
    status, answer = invoke(served, {"instances": [{"x": 1.4, "region": "west", "grade": "B"}]})
    assert status == 200, answer
    assert len(answer["predictions"]) == 1


def test_a_model_set_to_refuse_unseen_categories_answers_400_naming_them(model_dir: Path, tmp_path: Path) -> None:
    # PREPARE_UNSEEN_CATEGORIES=refuse writes this into preprocessing.json (the unit tests above fit it).
    for port in serve_copy(model_dir, tmp_path, unseen="refuse"):
        status, answer = invoke(port, {"instances": [{"x": 1.4, "region": "west", "grade": "B"}]})
        assert status == 400
        assert answer["error"].startswith(
            'row 1, feature "region": a category not seen in training; this model refuses'
        )
        assert invoke(port, {"instances": [{"x": 1.4, "region": "east", "grade": "B"}]})[0] == 200


def test_label_candidates_are_the_last_column_then_columns_with_few_values(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    header = ["size", "species", "weight"]
    data = [
        [round(float(rng.normal()), 3), ["cat", "dog", "fox"][i % 3], round(float(rng.normal()), 3)] for i in range(60)
    ]
    with pytest.raises(DataError, match='likely label columns: "weight", "species";'):
        read(tmp_path, header, data, label="label")


@pytest.mark.parametrize(
    ("instances", "message"),
    [
        ([{"x": 1.0, "grade": "A"}], 'instances[0] lacks "region"'),
        ([{"x": 1.0, "region": "east", "grade": "A", "colour": 2}], 'has unknown features "colour"'),
        ([{"x": 1.0, "region": 3, "grade": "A"}], 'instances[0][1] (feature "region") is 3, not text'),
        ([{"x": "big", "region": "east", "grade": "A"}], 'instances[0][0] is "big", not a number (feature "x")'),
        ([[1.0, "east"]], "instances[0] has 2 values; the model expects 3"),
        (["x"], "instances[0] must be a list of 3 values or an object of feature: value"),
    ],
    ids=["missing", "unknown", "number for text", "text for number", "short row", "neither"],
)
def test_bad_named_requests_get_a_400_naming_the_feature(served: int, instances: list[Any], message: str) -> None:
    status, answer = invoke(served, {"instances": instances})
    assert status == 400
    assert message in answer["error"]
