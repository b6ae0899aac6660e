"""Hyperparameter parsing: SageMaker sends every value as a string."""

from __future__ import annotations

import json
import re
from dataclasses import fields
from pathlib import Path

import pytest

from dlplatform.train.hyperparameters import (
    HyperparameterError,
    Hyperparameters,
    load_hyperparameters,
    parse_hyperparameters,
)


def test_no_hyperparameters_means_all_defaults() -> None:
    assert parse_hyperparameters({}) == Hyperparameters()


def test_parses_string_values_into_typed_fields() -> None:
    hp = parse_hyperparameters(
        {
            "epochs": "12",
            "batch_size": " 32 ",
            "learning_rate": "0.005",
            "weight_decay": "1e-4",
            "model_type": "MLP",
            "hidden_units": "256,128",
            "dropout": "0",
            "label_column": "digit",
            "mixed_precision": "false",
            "device": "cpu",
        }
    )
    assert (hp.epochs, hp.batch_size, hp.learning_rate, hp.weight_decay) == (12, 32, 0.005, 1e-4)
    assert (hp.model_type, hp.hidden_units, hp.dropout, hp.label_column) == ("mlp", (256, 128), 0.0, "digit")
    assert (hp.mixed_precision, hp.device) == (False, "cpu")


def test_accepts_json_quoted_strings_and_non_string_json_values() -> None:
    hp = parse_hyperparameters({"model_type": '"cnn"', "epochs": 7, "hidden_units": [64, 32], "mixed_precision": True})
    assert (hp.model_type, hp.epochs, hp.hidden_units, hp.mixed_precision) == ("cnn", 7, (64, 32), True)


def test_ignores_names_sagemaker_adds_itself() -> None:
    hp = parse_hyperparameters({"_tuning_objective_metric": "validation_loss", "sagemaker_job_name": "x"})
    assert hp == Hyperparameters()


def test_rejects_an_unknown_name_and_suggests_the_closest() -> None:
    with pytest.raises(HyperparameterError, match=r'Unknown hyperparameter "epoch" \(did you mean "epochs"\?\)'):
        parse_hyperparameters({"epoch": "3"})


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("epochs", "abc", "a whole number from 1 to 10000"),
        ("epochs", "0", "a whole number from 1 to 10000"),
        ("epochs", "2.5", "a whole number"),
        ("batch_size", "", "a whole number"),
        ("learning_rate", "0", "a number in (0, 10]"),
        ("learning_rate", "nan", "a number in (0, 10]"),
        ("dropout", "1", "a number in [0, 1)"),
        ("model_type", "rnn", "one of auto, mlp, cnn"),
        ("hidden_units", "64,x", "comma-separated layer sizes"),
        ("hidden_units", "0", "comma-separated layer sizes"),
        ("mixed_precision", "maybe", "true or false"),
        ("validation_fraction", "0.9", "a number in (0, 0.5]"),
        ("label_column", "", "a non-empty column name"),
    ],
)
def test_rejects_a_bad_value_naming_the_hyperparameter_and_what_is_allowed(
    name: str, value: str, expected: str
) -> None:
    with pytest.raises(HyperparameterError) as error:
        parse_hyperparameters({name: value})
    assert f'Invalid hyperparameter "{name}": "{value}"; expected' in str(error.value)
    assert expected in str(error.value)


def test_a_missing_file_means_defaults_and_invalid_json_is_an_error(tmp_path: Path) -> None:
    assert load_hyperparameters(tmp_path / "absent.json") == Hyperparameters()
    bad = tmp_path / "hyperparameters.json"
    bad.write_text("{not json")
    with pytest.raises(HyperparameterError, match="is not valid JSON"):
        load_hyperparameters(bad)
    bad.write_text(json.dumps(["epochs", "3"]))
    with pytest.raises(HyperparameterError, match="must hold a JSON object"):
        load_hyperparameters(bad)


def _documented_default(value: object) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, tuple):
        return ",".join(map(str, value))
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def test_readme_lists_every_hyperparameter_with_its_default() -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    documented = dict(re.findall(r"^\| `([a-z_]+)` \| `([^`]*)` \|", readme, re.MULTILINE))
    defaults = {f.name: _documented_default(getattr(Hyperparameters(), f.name)) for f in fields(Hyperparameters)}
    assert {name: documented.get(name) for name in defaults} == defaults
