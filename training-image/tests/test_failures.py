"""Bad input ends the job with a readable reason in output/failure and a non-zero exit."""

from __future__ import annotations

from pathlib import Path

import pytest

from .support import make_tree, run_train


def _failure(root: Path) -> str:
    return (root / "output" / "failure").read_text()


@pytest.mark.parametrize(
    ("hyperparameters", "reason"),
    [
        ({"epochs": "ten"}, 'Invalid hyperparameter "epochs": "ten"; expected a whole number from 1 to 10000'),
        ({"learnig_rate": "0.1"}, 'Unknown hyperparameter "learnig_rate" (did you mean "learning_rate"?)'),
        ({"label_column": "digit"}, 'has no label column "digit" (set the label_column hyperparameter)'),
    ],
    ids=["bad value", "unknown name", "missing label column"],
)
def test_a_bad_hyperparameter_or_label_column_is_reported_in_the_failure_file(
    tmp_path: Path, hyperparameters: dict[str, str], reason: str
) -> None:
    root = make_tree(tmp_path / "opt-ml", hyperparameters)
    result = run_train(root)
    assert result.returncode == 1
    assert reason in _failure(root)
    assert not (root / "model" / "metadata.json").exists()


def test_a_missing_train_channel_is_reported(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "opt-ml", channels=("validation",))
    result = run_train(root)
    assert result.returncode == 1
    assert "Missing required input channel 'train'" in _failure(root)


def test_a_non_numeric_value_is_reported_with_file_line_and_column(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "opt-ml")
    train = root / "input" / "data" / "train" / "train.csv"
    lines = train.read_text().splitlines()
    cells = lines[4].split(",")
    cells[2] = "abc"
    lines[4] = ",".join(cells)
    train.write_text("\n".join(lines) + "\n")

    result = run_train(root)

    assert result.returncode == 1
    assert _failure(root).strip() == (
        "Channel 'train': train.csv line 5, column \"p2\": 'abc' is not a finite number "
        "(every column except the label must be numeric)"
    )


def test_without_validation_and_test_channels_it_holds_out_splits_from_train(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "opt-ml", {"epochs": "1"}, channels=("train",))
    result = run_train(root)
    assert result.returncode == 0, result.stderr
    assert "validation from held out 15% of channel 'train', test from held out 15% of channel 'train'" in (
        result.stderr
    )
