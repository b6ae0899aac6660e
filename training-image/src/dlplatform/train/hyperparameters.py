"""Parses and validates hyperparameters.json, where SageMaker delivers every value as a string."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from ..errors import ConfigurationError
from ..settings import Parser, boolean, choice, column_name, did_you_mean, number, whole_number

# SageMaker itself may add names like these (e.g. `_tuning_objective_metric` during tuning, `sagemaker_*`
# from the Python SDK); they are not ours to validate.
RESERVED_PREFIXES = ("sagemaker_", "_")


class HyperparameterError(ConfigurationError):
    """An unknown hyperparameter name or a value that does not parse."""


def unit_list(text: str) -> tuple[int, ...]:
    parts = [part.strip() for part in text.strip("[]").split(",")]
    if not parts or not all(re.fullmatch(r"\d+", part) and 1 <= int(part) <= 8192 for part in parts):
        raise ValueError('comma-separated layer sizes from 1 to 8192, e.g. "256,128"')
    return tuple(int(part) for part in parts)


def _spec(default: Any, parser: Parser, help_text: str) -> Any:
    return field(default=default, metadata={"parse": parser, "help": help_text})


@dataclass(frozen=True)
class Hyperparameters:
    """Validated hyperparameters; every one is optional (see training-image/README.md)."""

    epochs: int = _spec(50, whole_number(1, 10_000), "Most training epochs (early stopping may end sooner).")
    batch_size: int = _spec(64, whole_number(1, 65_536), "Mini-batch size per process (per GPU).")
    learning_rate: float = _spec(1e-3, number(0.0, 10.0, low_open=True), "Adam learning rate.")
    weight_decay: float = _spec(0.0, number(0.0, 1.0), "Adam weight decay (L2).")
    patience: int = _spec(10, whole_number(1, 10_000), "Epochs without a better validation loss before stopping.")
    model_type: str = _spec("auto", choice("auto", "mlp", "cnn"), "auto: CNN for square images >= 8x8, else MLP.")
    hidden_units: tuple[int, ...] = _spec((128,), unit_list, "Dense layer sizes (MLP body, or the CNN's head).")
    dropout: float = _spec(0.2, number(0.0, 1.0, high_open=True), "Dropout probability.")
    label_column: str = _spec("label", column_name, "Name of the CSV column holding the class label.")
    validation_fraction: float = _spec(
        0.15, number(0.0, 0.5, low_open=True), "Held out from train when there is no validation channel."
    )
    test_fraction: float = _spec(0.15, number(0.0, 0.5, low_open=True), "Held out when there is no test channel.")
    seed: int = _spec(42, whole_number(0, 2**31 - 1), "Seed for initialisation, shuffling and splits.")
    device: str = _spec("auto", choice("auto", "cuda", "cpu"), "auto: CUDA when available, else CPU.")
    mixed_precision: bool = _spec(True, boolean, "Automatic mixed precision (float16) on CUDA; ignored on CPU.")

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["hidden_units"] = list(self.hidden_units)
        return data


def known_names() -> list[str]:
    return sorted(f.name for f in fields(Hyperparameters))


def _as_text(value: object) -> str:
    """SageMaker sends strings; the Python SDK sometimes JSON-quotes them again ('"auto"')."""
    text = value if isinstance(value, str) else json.dumps(value)
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] == '"':
        try:
            unquoted = json.loads(text)
        except json.JSONDecodeError:
            return text
        if isinstance(unquoted, str):
            return unquoted.strip()
    return text


def parse_hyperparameters(raw: Mapping[str, object]) -> Hyperparameters:
    """Validates every name and value; raises HyperparameterError naming the first problem found."""
    specs = {f.name: f for f in fields(Hyperparameters)}
    values: dict[str, Any] = {}
    for name in sorted(raw):
        if name.startswith(RESERVED_PREFIXES):
            continue
        spec = specs.get(name)
        if spec is None:
            raise HyperparameterError(
                f'Unknown hyperparameter "{name}"{did_you_mean(name, specs)}. '
                f"Known hyperparameters: {', '.join(known_names())}"
            )
        text = _as_text(raw[name])
        try:
            values[name] = spec.metadata["parse"](text)
        except ValueError as error:
            raise HyperparameterError(f'Invalid hyperparameter "{name}": "{text}"; expected {error}') from None
    return Hyperparameters(**values)


def load_hyperparameters(path: Path) -> Hyperparameters:
    """Reads hyperparameters.json; a missing file means all defaults."""
    if not path.exists():
        return Hyperparameters()
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise HyperparameterError(f"{path} is not valid JSON: {error}") from None
    if not isinstance(raw, dict):
        raise HyperparameterError(f"{path} must hold a JSON object of name -> string value")
    return parse_hyperparameters(raw)
