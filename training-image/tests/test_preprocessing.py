"""preprocessing.apply, the transform serving runs on every request: identity without a file, the fitted
column selection and imputation with one, and clear errors for rows it cannot transform."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from dlplatform.tabular.preprocessing import Preprocessing, PreprocessingError, apply, load

from .pipeline_support import PREPARED, csv_text, prepare_input, read_split, run_entry


def fitted(tmp_path: Path, missing: str = "median") -> Preprocessing:
    rows = [[i, 5, i * 2 if i != 3 else "", "x" if i % 2 else "y"] for i in range(12)]
    root = prepare_input(tmp_path / "opt-ml", {"d.csv": csv_text(["a", "const", "b", "label"], rows)})
    assert run_entry("prepare", root, {"PREPARE_MISSING_VALUES": missing}).returncode == 0
    model_dir = root / PREPARED / "preprocessing"
    preprocessing = load(model_dir)
    assert preprocessing is not None
    return preprocessing


def test_a_model_folder_without_preprocessing_is_served_unchanged(tmp_path: Path) -> None:
    rows = np.arange(6, dtype=np.float64).reshape(2, 3)
    assert load(tmp_path) is None
    assert apply(None, rows) is rows


def test_selects_the_used_columns_in_order_and_fills_gaps_with_the_training_median(tmp_path: Path) -> None:
    preprocessing = fitted(tmp_path)
    assert preprocessing.input_features == ("a", "const", "b")
    assert preprocessing.output_features == ("a", "b")
    assert preprocessing.dropped_columns == {"const": "constant in the training split (always 5)"}
    rows = np.array([[1.0, 5.0, 2.0], [np.nan, 5.0, np.nan]])
    out = apply(preprocessing, rows)
    assert out.tolist() == [[1.0, 2.0], [preprocessing.fill_values[0], preprocessing.fill_values[1]]]


def test_transforms_raw_rows_exactly_as_prepare_wrote_the_training_rows(tmp_path: Path) -> None:
    preprocessing = fitted(tmp_path)
    root = tmp_path / "opt-ml"
    header, rows = read_split(root, "train")
    written = np.array([[float(cell) for cell in row[:-1]] for row in rows])
    source = {int(row[0]): row for row in written}
    raw = np.array([[a, 5.0, a * 2 if a != 3 else np.nan] for a in source])
    assert np.array_equal(apply(preprocessing, raw), np.array(list(source.values())))
    assert header == ["a", "b", "label"]


def test_rejects_a_row_of_the_wrong_width_naming_the_expected_width(tmp_path: Path) -> None:
    with pytest.raises(PreprocessingError, match="expected 3 features per row, got 2"):
        apply(fitted(tmp_path), np.zeros((1, 2)))


def test_rejects_a_gap_when_the_model_was_trained_without_imputation(tmp_path: Path) -> None:
    preprocessing = fitted(tmp_path, "drop")
    assert preprocessing.fill_values is None
    with pytest.raises(PreprocessingError, match='row 2, feature "b" is missing; this model was trained without'):
        apply(preprocessing, np.array([[1.0, 5.0, 2.0], [1.0, 5.0, np.nan]]))


def test_round_trips_through_its_json_file(tmp_path: Path) -> None:
    preprocessing = fitted(tmp_path)
    data = json.loads((tmp_path / "opt-ml" / PREPARED / "preprocessing" / "preprocessing.json").read_text())
    assert Preprocessing.from_dict(data) == preprocessing
    assert preprocessing.to_dict() == data
