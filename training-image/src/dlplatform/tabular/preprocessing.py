"""The preprocessing `prepare` fits on the training split, and the one transform that applies it.

`prepare` writes it as preprocessing.json, training copies that file into the model folder (so model.tar.gz
carries it), and serving calls :func:`apply` on every request's raw rows: training and serving transform
features with the same code and the same fitted values. A model folder without the file is served unchanged
(:func:`load` returns None and ``apply(None, rows)`` returns ``rows``).

Text (categorical) columns: `prepare` fits each one's categories on the training split, most frequent first. Up to
``max_categories`` of them, the column becomes one indicator feature per category (``region=north``, 1 or 0,
one-hot); above that, one feature holding the category's share of the training rows (frequency encoding: a rare
category is close to 0, a common one close to 1). A raw row carries a text column as a code: the category's position
(:meth:`Preprocessing.code`), ``len(categories)`` for a category never seen in training, NaN for a gap. An unseen
category falls into the "other" bucket (every indicator 0; a frequency of 0) unless ``unseen_categories`` is
``refuse``, when :func:`apply` raises. A gap in a text column is filled with the most frequent training category
when the model imputes (``missing_values`` median or mean).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

PREPROCESSING_FILE = "preprocessing.json"
# The folder `prepare` writes the file into, and the training channel that carries it to `train`.
PREPROCESSING_CHANNEL = "preprocessing"
FORMAT_VERSION = 2
READABLE_VERSIONS = (1, 2)  # version 1: numeric columns only
ONE_HOT = "one_hot"
FREQUENCY = "frequency"
OTHER = "other"
REFUSE = "refuse"
UNSEEN_POLICIES = (OTHER, REFUSE)


class PreprocessingError(ValueError):
    """A row the fitted preprocessing cannot transform (wrong width, or a gap the model has no value for)."""


@dataclass(frozen=True)
class TextColumn:
    """A text column's encoding, fitted on the training split."""

    encoding: str  # one_hot | frequency
    categories: tuple[str, ...]  # most frequent first (ties by text)
    counts: tuple[int, ...]  # training rows per category

    def outputs(self, name: str) -> tuple[str, ...]:
        """The model features this column becomes."""
        return tuple(f"{name}={category}" for category in self.categories) if self.encoding == ONE_HOT else (name,)

    def to_dict(self) -> dict[str, Any]:
        return {"encoding": self.encoding, "categories": list(self.categories), "counts": list(self.counts)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TextColumn:
        column = cls(
            str(data["encoding"]),
            tuple(str(category) for category in data["categories"]),
            tuple(int(count) for count in data["counts"]),
        )
        if column.encoding not in (ONE_HOT, FREQUENCY) or len(column.counts) != len(column.categories):
            raise ValueError(f"invalid text column encoding {data!r}")
        return column

    def block(self, codes: np.ndarray) -> np.ndarray:
        """Codes (category position, len(categories) for an unseen one, NaN for a gap) -> this column's features;
        a gap stays NaN in every feature, for imputation."""
        gaps = np.isnan(codes)
        index = np.where(gaps, len(self.categories), codes).astype(np.intp)
        if self.encoding == ONE_HOT:
            values = (index[:, None] == np.arange(len(self.categories))[None, :]).astype(np.float64)
        else:
            total = sum(self.counts)
            shares = np.array([*(count / total for count in self.counts), 0.0])
            values = shares[index][:, None]
        values[gaps] = np.nan
        return values

    def fill(self) -> tuple[float, ...]:
        """The features of the most frequent category: what a gap becomes when the model imputes."""
        return tuple(self.block(np.zeros(1))[0].tolist())


@dataclass(frozen=True)
class Preprocessing:
    """Raw rows (``input_features``, in that order, NaN for a missing value) -> model rows (``output_features``)."""

    label_column: str
    input_features: tuple[str, ...]
    output_features: tuple[str, ...]
    missing_values: str  # drop | median | mean: how gaps were handled in training
    fill_values: tuple[float, ...] | None  # per output feature; None: a gap is an error (policy "drop")
    dropped_columns: dict[str, str]  # input column -> why the model does not use it
    text_columns: dict[str, TextColumn] = field(default_factory=dict)  # input text column -> its encoding
    unseen_categories: str = OTHER  # other | refuse: what a category never seen in training does at serving

    def __post_init__(self) -> None:
        # Which input column each output feature comes from: numeric ones one to one, text ones as blocks.
        expected: list[str] = []
        sources: list[str] = []
        for name in self.input_features:
            if name in self.dropped_columns:
                continue
            outputs = self.text_columns[name].outputs(name) if name in self.text_columns else (name,)
            expected += outputs
            sources += [name] * len(outputs)
        if tuple(expected) != self.output_features:
            raise ValueError(
                f"output features {list(self.output_features)} do not follow from the input features and text "
                f"encodings (expected {expected})"
            )
        if self.fill_values is not None and len(self.fill_values) != len(self.output_features):
            raise ValueError("fill_values needs one value per output feature")
        if self.unseen_categories not in UNSEEN_POLICIES:
            raise ValueError(f"unseen_categories must be one of {UNSEEN_POLICIES}")
        numeric = [i for i, source in enumerate(sources) if source not in self.text_columns]
        blocks = [
            (self.input_features.index(name), sources.index(name), self.text_columns[name])
            for name in self.input_features
            if name in self.text_columns and name not in self.dropped_columns
        ]
        object.__setattr__(self, "_numeric_out", np.array(numeric, dtype=np.intp))
        object.__setattr__(
            self, "_numeric_in", np.array([self.input_features.index(sources[i]) for i in numeric], dtype=np.intp)
        )
        object.__setattr__(self, "_blocks", blocks)
        object.__setattr__(self, "_sources", tuple(sources))
        object.__setattr__(
            self,
            "_codes",
            {
                name: {category: i for i, category in enumerate(column.categories)}
                for name, column in self.text_columns.items()
            },
        )

    @property
    def used_columns(self) -> tuple[str, ...]:
        """The input columns the model uses, in input order."""
        return tuple(dict.fromkeys(self._sources))  # type: ignore[attr-defined]

    def code(self, column: str, text: str) -> float:
        """A text column's value as a raw-row code: its category's position, len(categories) when unseen."""
        codes: dict[str, int] = self._codes[column]  # type: ignore[attr-defined]
        return float(codes.get(text, len(codes)))

    def to_dict(self) -> dict[str, Any]:
        return {
            "format_version": FORMAT_VERSION,
            "label_column": self.label_column,
            "input_features": list(self.input_features),
            "output_features": list(self.output_features),
            "missing_values": self.missing_values,
            "fill_values": None if self.fill_values is None else list(self.fill_values),
            "dropped_columns": dict(self.dropped_columns),
            "text_columns": {name: column.to_dict() for name, column in self.text_columns.items()},
            "unseen_categories": self.unseen_categories,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Preprocessing:
        if data.get("format_version") not in READABLE_VERSIONS:
            raise ValueError(f"unsupported preprocessing format_version {data.get('format_version')!r}")
        fill = data["fill_values"]
        return cls(
            label_column=str(data["label_column"]),
            input_features=tuple(str(name) for name in data["input_features"]),
            output_features=tuple(str(name) for name in data["output_features"]),
            missing_values=str(data["missing_values"]),
            fill_values=None if fill is None else tuple(float(value) for value in fill),
            dropped_columns={str(k): str(v) for k, v in dict(data["dropped_columns"]).items()},
            text_columns={
                str(name): TextColumn.from_dict(column) for name, column in dict(data.get("text_columns", {})).items()
            },
            unseen_categories=str(data.get("unseen_categories", OTHER)),
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
    vocabularies: dict[str, tuple[str, ...]] | None = None,
    max_categories: int = 20,
    unseen_categories: str = OTHER,
) -> Preprocessing:
    """Fits on the training rows only (NaN = missing): which columns to keep, the values that fill gaps and each
    text column's categories. ``vocabularies``: the text columns, whose values in ``train`` index their entry."""
    vocabularies = vocabularies or {}
    dropped = dict(already_dropped)
    text_columns: dict[str, TextColumn] = {}
    fills: dict[str, tuple[float, ...]] = {}
    for index, name in enumerate(feature_names):
        values = train[:, index]
        present = values[~np.isnan(values)]
        if len(present) == 0:
            dropped[name] = "missing in every training row"
            continue
        if constant_columns == "drop" and np.all(present == present[0]):
            shown = vocabularies[name][int(present[0])] if name in vocabularies else f"{present[0]:g}"
            dropped[name] = f"constant in the training split (always {shown})"
            continue
        if name in vocabularies:
            counts = np.bincount(present.astype(np.intp), minlength=len(vocabularies[name]))
            order = sorted(
                (i for i in range(len(counts)) if counts[i]), key=lambda i: (-counts[i], vocabularies[name][i])
            )
            text_columns[name] = TextColumn(
                ONE_HOT if len(order) <= max_categories else FREQUENCY,
                tuple(vocabularies[name][i] for i in order),
                tuple(int(counts[i]) for i in order),
            )
            fills[name] = text_columns[name].fill()
        else:
            fills[name] = (float(np.mean(present) if missing_values == "mean" else np.median(present)),)
    output: list[str] = []
    fill_values: list[float] = []
    for name in raw_features:
        if name in fills:
            output += text_columns[name].outputs(name) if name in text_columns else (name,)
            fill_values += fills[name]
    return Preprocessing(
        label_column=label_column,
        input_features=raw_features,
        output_features=tuple(output),
        missing_values=missing_values,
        fill_values=None if missing_values == "drop" else tuple(fill_values),
        dropped_columns={name: dropped[name] for name in raw_features if name in dropped},
        text_columns=text_columns,
        unseen_categories=unseen_categories,
    )


def code_table(
    preprocessing: Preprocessing, features: np.ndarray, names: tuple[str, ...], vocabularies: dict[str, tuple[str, ...]]
) -> np.ndarray:
    """A table's columns (``names``, text columns as codes into ``vocabularies``) as raw rows for :func:`apply`:
    in input-feature order, NaN for a column the table lacks, text as the fitted categories' codes."""
    raw = np.full((len(features), len(preprocessing.input_features)), np.nan)
    for index, name in enumerate(names):
        if name not in preprocessing.input_features:
            continue
        values = features[:, index]
        if name in preprocessing.text_columns:
            if name not in vocabularies:
                raise PreprocessingError(f'column "{name}" holds numbers, but the model was trained on text categories')
            mapping = np.array([preprocessing.code(name, text) for text in vocabularies[name]] + [np.nan])
            values = mapping[np.where(np.isnan(values), len(vocabularies[name]), values).astype(np.intp)]
        elif name in vocabularies:
            raise PreprocessingError(f'column "{name}" holds text, but the model was trained on numbers in it')
        raw[:, preprocessing.input_features.index(name)] = values
    return raw


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
    if preprocessing.text_columns:
        out = np.empty((rows.shape[0], len(preprocessing.output_features)), dtype=np.float64)
        out[:, preprocessing._numeric_out] = rows[:, preprocessing._numeric_in]  # type: ignore[attr-defined]
        for column, start, text in preprocessing._blocks:  # type: ignore[attr-defined]
            codes = rows[:, column].astype(np.float64)
            if preprocessing.unseen_categories == REFUSE:
                unseen = np.flatnonzero(codes >= len(text.categories))
                if len(unseen):
                    name = preprocessing.input_features[column]
                    raise PreprocessingError(
                        f'row {unseen[0] + 1}, feature "{name}": a category not seen in training; this model '
                        f"refuses unseen categories (known: {', '.join(text.categories[:20])}"
                        f"{' ...' if len(text.categories) > 20 else ''})"
                    )
            out[:, start : start + len(text.outputs(""))] = text.block(codes)
    else:
        out = rows[:, preprocessing._numeric_in].astype(np.float64, copy=True)  # type: ignore[attr-defined]
    gaps = np.isnan(out)
    if gaps.any():
        if preprocessing.fill_values is None:
            row, column = (int(i) for i in np.argwhere(gaps)[0])
            raise PreprocessingError(
                f'row {row + 1}, feature "{preprocessing._sources[column]}" is missing; this model was '  # type: ignore[attr-defined]
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
