"""`prepare` on clean and messy data through the real entry point; the report's numbers are checked against
counts computed here, independently, from the input files."""

from __future__ import annotations

import csv
import hashlib
import json
import math
import random
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from dlplatform.prepare.splitting import row_digests, stratified_split

from .pipeline_support import PREPARED, REPORT, csv_text, prepare_input, read_report, read_split, run_entry
from .support import TRAINING_IMAGE

RAW_DIGITS = TRAINING_IMAGE / "sample-data" / "raw" / "digits.csv"
MISSING = {"", "NA"}
SPLITS = ("train", "validation", "test")


def raw_rows() -> tuple[list[str], list[list[str]]]:
    with RAW_DIGITS.open(newline="") as handle:
        rows = list(csv.reader(handle))
    return rows[0], rows[1:]


@pytest.fixture(scope="module")
def digits(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = prepare_input(tmp_path_factory.mktemp("prepare") / "opt-ml", {"digits.csv": RAW_DIGITS.read_bytes()})
    done = run_entry("prepare", root)
    assert done.returncode == 0, done.stderr
    return root


def test_the_committed_raw_digits_file_is_what_its_script_generates(tmp_path: Path) -> None:
    out = tmp_path / "digits.csv"
    script = TRAINING_IMAGE / "scripts" / "make_raw_digits_csv.py"
    subprocess.run([sys.executable, str(script), "--out", str(out)], check=True, capture_output=True)
    assert out.read_bytes() == RAW_DIGITS.read_bytes()


def test_counts_rows_in_and_out_with_every_dropped_row_and_its_reason(digits: Path) -> None:
    _, rows = raw_rows()
    seen: set[tuple[str, ...]] = set()
    repeats = 0
    for row in rows:
        repeats += tuple(row) in seen
        seen.add(tuple(row))
    report = read_report(digits)
    assert report["rows"]["input"] == len(rows) == 1822
    assert report["rows"]["dropped"] == {"duplicate": repeats} == {"duplicate": 25}
    assert report["rows"]["output"] == len(rows) - repeats
    written = {split: read_split(digits, split)[1] for split in SPLITS}
    assert report["rows"]["per_split"] == {split: len(written[split]) for split in SPLITS}
    assert sum(report["rows"]["per_split"].values()) == report["rows"]["output"]
    assert report["rows"]["dropped_examples"]["duplicate"][0].startswith("digits.csv line ")


def test_splits_stratified_by_the_configured_fractions_without_sharing_rows(digits: Path) -> None:
    _, rows = raw_rows()
    classes = Counter(row[-1] for row in dict.fromkeys(tuple(row) for row in rows))
    report = read_report(digits)
    for split in SPLITS:
        labels = Counter(row[-1] for row in read_split(digits, split)[1])
        assert report["classes"]["counts"][split] == {label: labels[label] for label in report["classes"]["labels"]}
    for label, total in classes.items():
        assert report["classes"]["counts"]["test"][label] == math.floor(total * 0.15 + 0.5)
        assert report["classes"]["counts"]["validation"][label] == math.floor(total * 0.15 + 0.5)
        assert sum(report["classes"]["counts"][split][label] for split in SPLITS) == total
    all_rows = [tuple(row) for split in SPLITS for row in read_split(digits, split)[1]]
    assert len(set(all_rows)) == len(all_rows)


def test_reports_missing_values_and_per_column_statistics_of_the_cleaned_rows(digits: Path) -> None:
    header, rows = raw_rows()
    unique = list(dict.fromkeys(tuple(row) for row in rows))
    report = read_report(digits)
    assert report["missing_values"]["cells_in_input"] == sum(cell in MISSING for row in rows for cell in row[:-1])
    stats = {entry["name"]: entry for entry in report["column_statistics"]}
    for name in ("p5", "p20", "p43"):
        column = header.index(name)
        assert stats[name]["missing_in_input"] == sum(row[column] in MISSING for row in rows)
        values = np.array([float(row[column]) for row in unique if row[column] not in MISSING])
        assert stats[name]["count"] == len(values)
        assert stats[name]["missing_after_cleaning"] == len(unique) - len(values)
        for key, expected in (
            ("min", values.min()),
            ("max", values.max()),
            ("mean", values.mean()),
            ("std", values.std()),
            ("median", np.median(values)),
        ):
            assert stats[name][key] == pytest.approx(expected), (name, key)
    imputed = sum(entry["imputed_cells"] for entry in report["column_statistics"])
    assert report["missing_values"]["cells_imputed"] == imputed > 0


def test_writes_channels_in_the_layout_train_reads_with_no_gaps_left(digits: Path) -> None:
    preprocessing = json.loads((digits / PREPARED / "preprocessing" / "preprocessing.json").read_text())
    for split in SPLITS:
        header, rows = read_split(digits, split)
        assert header == [*preprocessing["output_features"], "label"]
        assert all(len(row) == len(header) and all(cell not in MISSING for cell in row) for row in rows)
    assert preprocessing["input_features"] == raw_rows()[0][:-1]
    assert preprocessing["dropped_columns"]["p0"] == "constant in the training split (always 0)"
    assert set(preprocessing["dropped_columns"]) == set(read_report(digits)["columns"]["dropped"])
    assert "p0" not in preprocessing["output_features"]


def test_writes_a_content_hash_that_changes_with_the_prepared_data(digits: Path, tmp_path: Path) -> None:
    digest = (digits / REPORT / "data.sha256").read_text().strip()
    files = sorted(p for p in (digits / PREPARED).rglob("*") if p.is_file())
    expected = hashlib.sha256()
    for path in files:
        relative = path.relative_to(digits / PREPARED).as_posix()
        expected.update(relative.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    assert digest == expected.hexdigest() == read_report(digits)["content_hash"]
    again = prepare_input(tmp_path / "again", {"digits.csv": RAW_DIGITS.read_bytes()})
    assert run_entry("prepare", again).returncode == 0
    assert (again / REPORT / "data.sha256").read_text().strip() == digest
    other = prepare_input(tmp_path / "other", {"digits.csv": RAW_DIGITS.read_bytes()})
    assert run_entry("prepare", other, {"PREPARE_SEED": "7"}).returncode == 0
    assert (other / REPORT / "data.sha256").read_text().strip() != digest


def test_writes_an_html_report_with_the_counts(digits: Path) -> None:
    page = (digits / REPORT / "data-report.html").read_text()
    assert page.startswith("<!DOCTYPE html>")
    assert "exact duplicate of an earlier row" in page
    assert '<td class="n">1822</td>' in page


def test_keeps_constant_columns_when_configured(tmp_path: Path) -> None:
    root = prepare_input(tmp_path / "opt-ml", {"digits.csv": RAW_DIGITS.read_bytes()})
    assert run_entry("prepare", root, {"PREPARE_CONSTANT_COLUMNS": "keep"}).returncode == 0
    assert read_split(root, "train")[0] == raw_rows()[0]


HEADER = ["a", "b", "label"]


def test_keeps_the_users_split_and_imputes_with_training_split_statistics_only(tmp_path: Path) -> None:
    files = {
        "train/t.csv": csv_text(HEADER, [[1, 10, "x"], [2, 20, "y"], [3, 30, "x"], ["", 40, "y"], [9, 50, "y"]]),
        "validation/v.csv": csv_text(HEADER, [[4, "", "x"], [5, 60, "y"]]),
        "test/s.csv": csv_text(HEADER, [[100, 70, "x"], ["NA", 80, "y"], [1, 10, "x"]]),
    }
    root = prepare_input(tmp_path / "opt-ml", files)
    done = run_entry("prepare", root, {"PREPARE_MISSING_VALUES": "median"})
    assert done.returncode == 0, done.stderr
    assert read_split(root, "train")[1] == [
        ["1", "10", "x"],
        ["2", "20", "y"],
        ["3", "30", "x"],
        ["2.5", "40", "y"],
        ["9", "50", "y"],
    ]
    assert read_split(root, "validation")[1] == [["4", "30", "x"], ["5", "60", "y"]]
    # median of train's a = 2.5 (not 3, the median with test's 100); the test row equal to a train row is a repeat
    assert read_split(root, "test")[1] == [["100", "70", "x"], ["2.5", "80", "y"]]
    report = read_report(root)
    assert report["source"]["kind"] == "user split"
    assert report["rows"]["dropped"] == {"duplicate": 1}
    assert report["rows"]["dropped_examples"]["duplicate"] == ["test/s.csv line 4"]
    assert {entry["name"]: entry["fill_value"] for entry in report["column_statistics"]} == {"a": 2.5, "b": 30.0}


def test_imputes_with_the_mean_or_drops_rows_with_gaps_as_configured(tmp_path: Path) -> None:
    rows = [[i, i * 3 if i != 4 else "", "x" if i % 2 else "y"] for i in range(12)]
    mean_root = prepare_input(tmp_path / "mean", {"d.csv": csv_text(HEADER, rows)})
    assert run_entry("prepare", mean_root, {"PREPARE_MISSING_VALUES": "mean"}).returncode == 0
    train = read_split(mean_root, "train")[1]
    fill = json.loads((mean_root / PREPARED / "preprocessing" / "preprocessing.json").read_text())["fill_values"]
    present_b = [float(row[1]) for row in train if row[0] != "4"]
    assert fill[1] == pytest.approx(np.mean(present_b))
    drop_root = prepare_input(tmp_path / "drop", {"d.csv": csv_text(HEADER, rows)})
    assert run_entry("prepare", drop_root, {"PREPARE_MISSING_VALUES": "drop"}).returncode == 0
    report = read_report(drop_root)
    assert report["rows"]["dropped"] == {"missing_value": 1}
    assert report["rows"]["dropped_examples"]["missing_value"] == ["d.csv line 6"]
    assert report["rows"]["output"] == 11


def test_writes_sample_requests_of_raw_test_rows_with_their_labels(digits: Path) -> None:
    sample = json.loads((digits / REPORT / "sample-requests.json").read_text())
    header, _ = raw_rows()
    lines = RAW_DIGITS.read_text().splitlines()
    assert sample["columns"] == header[:-1]
    assert len(sample["instances"]) == len(sample["labels"]) == 10
    preprocessing = json.loads((digits / PREPARED / "preprocessing" / "preprocessing.json").read_text())
    used = [header.index(name) for name in preprocessing["output_features"]]
    test_rows = {(*(float(cell) for cell in row[:-1]), row[-1]) for row in read_split(digits, "test")[1]}
    for instance, label, origin in zip(sample["instances"], sample["labels"], sample["origins"], strict=True):
        line = int(origin.removeprefix("digits.csv line "))
        cells = lines[line - 1].split(",")
        assert [float(cell) for cell in cells[:-1]] == instance
        assert cells[-1] == label
        assert (*(instance[i] for i in used), label) in test_rows


def _split_rows(rows: list[tuple[str, ...]], seed: int = 42) -> dict[str, set[tuple[str, ...]]]:
    """The split prepare makes of these raw rows (digits: numeric features, the label last), as sets of rows."""
    labels = [row[-1] for row in rows]
    features = np.array([[math.nan if cell in MISSING else float(cell) for cell in row[:-1]] for row in rows])
    parts = stratified_split(labels, row_digests(features, labels, {}), 0.15, 0.15, seed)
    return {name: {rows[i] for i in indices} for name, indices in parts.items()}


def test_rows_keep_their_split_as_data_grows_so_the_approved_model_never_trained_on_the_next_test_rows() -> None:
    # The quality gate scores the approved model on the candidate's test rows: those must be rows it did not train on.
    _, raw = raw_rows()
    rows = list(dict.fromkeys(tuple(row) for row in raw))
    random.Random(7).shuffle(rows)
    first, grown = _split_rows(rows[: len(rows) * 3 // 5]), _split_rows(rows)  # the data grows by two thirds
    assert not first["train"] & grown["test"]
    assert len(first["test"] & grown["test"]) >= 0.9 * len(first["test"])  # test rows mostly stay test rows
    # Neither the order of the file nor the other rows decide a row's split; the seed does.
    assert _split_rows(rows[::-1]) == grown
    assert _split_rows(rows, seed=43)["test"] != grown["test"]
