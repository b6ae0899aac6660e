"""The preprocessing `prepare` fits on the training split, and the one transform that applies it.

`prepare` writes it as preprocessing.json, training copies that file into the model folder (so model.tar.gz
carries it), and serving calls :func:`apply` on every request's raw rows: training and serving transform
features with the same code and the same fitted values. A model folder without the file is served unchanged
(:func:`load` returns None and ``apply(None, rows)`` returns ``rows``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

PREPROCESSING_FILE = "preprocessing.json"
# The folder `prepare` writes the file into, and the training channel that carries it to `train`.
PREPROCESSING_CHANNEL = "preprocessing"
FORMAT_VERSION = 1


class PreprocessingError(ValueError):
    """A row the fitted preprocessing cannot transform (wrong width, or a gap the model has no value for)."""


@dataclass(frozen=True)
class Preprocessing:
    """Raw rows (``input_features``, in that order, NaN for a missing value) -> model rows (``output_features``)."""

    label_column: str
    input_features: tuple[str, ...]
    output_features: tuple[str, ...]
    missing_values: str  # drop | median | mean: how gaps were handled in training
    fill_values: tuple[float, ...] | None  # per output feature; None: a gap is an error (policy "drop")
    dropped_columns: dict[str, str]  # input column -> why the model does not use it

    def __post_init__(self) -> None:
        missing = [name for name in self.output_features if name not in self.input_features]
        if missing:
            raise ValueError(f"output features {missing} are not input features")
        if self.fill_values is not None and len(self.fill_values) != len(self.output_features):
            raise ValueError("fill_values needs one value per output feature")
        object.__setattr__(
            self,
            "_columns",
            np.array([self.input_features.index(name) for name in self.output_features], dtype=np.intp),
        )

    @property
    def columns(self) -> np.ndarray:
        """Position in the raw row of each output feature."""
        return self._columns  # type: ignore[attr-defined,no-any-return]

    def to_dict(self) -> dict[str, Any]:
        return {
            "format_version": FORMAT_VERSION,
            "label_column": self.label_column,
            "input_features": list(self.input_features),
            "output_features": list(self.output_features),
            "missing_values": self.missing_values,
            "fill_values": None if self.fill_values is None else list(self.fill_values),
            "dropped_columns": dict(self.dropped_columns),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Preprocessing:
        if data.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"unsupported preprocessing format_version {data.get('format_version')!r}")
        fill = data["fill_values"]
        return cls(
            label_column=str(data["label_column"]),
            input_features=tuple(str(name) for name in data["input_features"]),
            output_features=tuple(str(name) for name in data["output_features"]),
            missing_values=str(data["missing_values"]),
            fill_values=None if fill is None else tuple(float(value) for value in fill),
            dropped_columns={str(k): str(v) for k, v in dict(data["dropped_columns"]).items()},
        )


def fit(
    train: np.ndarray,
    feature_names: tuple[str, ...],
    *,
    raw_features: tuple[str, ...],
    label_column: str,
    missing_values: str,
    constant_columns: str,
    already_dropped: dict[str, str],
) -> Preprocessing:
    """Fits on the training rows only (NaN = missing): which columns to keep and the values that fill gaps."""
    dropped = dict(already_dropped)
    keep: list[int] = []
    fills: list[float] = []
    for index, name in enumerate(feature_names):
        values = train[:, index]
        present = values[~np.isnan(values)]
        if len(present) == 0:
            dropped[name] = "missing in every training row"
            continue
        if constant_columns == "drop" and np.all(present == present[0]):
            dropped[name] = f"constant in the training split (always {present[0]:g})"
            continue
        keep.append(index)
        fills.append(float(np.mean(present) if missing_values == "mean" else np.median(present)))
    output = tuple(feature_names[i] for i in keep)
    return Preprocessing(
        label_column=label_column,
        input_features=raw_features,
        output_features=output,
        missing_values=missing_values,
        fill_values=None if missing_values == "drop" else tuple(fills),
        dropped_columns={name: dropped[name] for name in raw_features if name in dropped},
    )


def apply(preprocessing: Preprocessing | None, rows: np.ndarray) -> np.ndarray:
    """Raw rows (n, len(input_features)), NaN for a missing value, -> float64 model rows (n, len(output_features)).

    ``None`` (a model without preprocessing.json) is the identity. Raises PreprocessingError for a row of the
    wrong width, or a missing value when the model was trained without imputation.
    """
    if preprocessing is None:
        return rows
    if rows.ndim != 2 or rows.shape[1] != len(preprocessing.input_features):
        width = rows.shape[1] if rows.ndim == 2 else "?"
        raise PreprocessingError(f"expected {len(preprocessing.input_features)} features per row, got {width}")
    out = rows[:, preprocessing.columns].astype(np.float64, copy=True)
    gaps = np.isnan(out)
    if gaps.any():
        if preprocessing.fill_values is None:
            row, column = (int(i) for i in np.argwhere(gaps)[0])
            raise PreprocessingError(
                f'row {row + 1}, feature "{preprocessing.output_features[column]}" is missing; this model was '
                "trained without imputation, so every feature needs a value"
            )
        out[gaps] = np.broadcast_to(np.asarray(preprocessing.fill_values), out.shape)[gaps]
    return out


def save(preprocessing: Preprocessing, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(preprocessing.to_dict(), indent=2) + "\n", encoding="utf-8")


def read(path: Path) -> Preprocessing:
    """Reads a preprocessing.json file; raises ValueError (or OSError) when it is not one."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Preprocessing.from_dict(data)
    except (KeyError, TypeError, json.JSONDecodeError) as error:
        raise ValueError(f"{path} is not a valid preprocessing file: {error}") from None


def load(model_dir: Path) -> Preprocessing | None:
    """The model folder's preprocessing, or None when it has none (older models: identity)."""
    path = model_dir / PREPROCESSING_FILE
    return read(path) if path.exists() else None
