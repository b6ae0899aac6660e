"""Reads CSV channels and turns them into normalised train, validation and test arrays."""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DataError
from ..tabular.files import data_files
from ..tabular.labels import sort_labels

MAX_LISTED_COLUMNS = 8


@dataclass(frozen=True)
class Table:
    """One channel's rows: numeric features plus the raw label strings."""

    features: np.ndarray  # float64, (rows, width)
    labels: list[str]
    feature_names: tuple[str, ...]
    name: str  # e.g. "channel 'train'", for messages


@dataclass(frozen=True)
class Dataset:
    """Normalised splits ready for training, with what serving needs to reproduce the preprocessing."""

    train_x: np.ndarray
    train_y: np.ndarray
    validation_x: np.ndarray
    validation_y: np.ndarray
    test_x: np.ndarray
    test_y: np.ndarray
    feature_names: tuple[str, ...]
    label_names: tuple[str, ...]
    mean: np.ndarray
    std: np.ndarray
    sources: dict[str, str]


def _columns_text(names: list[str] | tuple[str, ...]) -> str:
    shown = ", ".join(names[:MAX_LISTED_COLUMNS])
    return shown + (f", ... ({len(names)} in all)" if len(names) > MAX_LISTED_COLUMNS else "")


def _read_file(path: Path, label_column: str, channel: str) -> tuple[list[str], list[list[str]], list[str]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise DataError(f"Channel '{channel}': {path.name} is not UTF-8 text (expected CSV)") from None
    rows = [row for row in csv.reader(io.StringIO(text)) if any(cell.strip() for cell in row)]
    if not rows:
        raise DataError(f"Channel '{channel}': {path.name} is empty (expected a CSV header and rows)")
    header = [name.strip() for name in rows[0]]
    if len(set(header)) != len(header):
        raise DataError(f"Channel '{channel}': {path.name} has duplicate column names in its header")
    if label_column not in header:
        raise DataError(
            f"Channel '{channel}': {path.name} has no label column \"{label_column}\" (set the label_column "
            f"hyperparameter); its columns are: {_columns_text(header)}"
        )
    label_index = header.index(label_column)
    feature_names = [name for i, name in enumerate(header) if i != label_index]
    features: list[list[str]] = []
    labels: list[str] = []
    for line, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise DataError(
                f"Channel '{channel}': {path.name} line {line} has {len(row)} values; the header has {len(header)}"
            )
        label = row[label_index].strip()
        if not label:
            raise DataError(f"Channel '{channel}': {path.name} line {line} has an empty label")
        labels.append(label)
        features.append([cell for i, cell in enumerate(row) if i != label_index])
    return feature_names, features, labels


def _to_numbers(cells: list[list[str]], names: list[str], path: Path, channel: str) -> np.ndarray:
    if not cells:
        return np.zeros((0, len(names)))
    try:
        values = np.array(cells, dtype=np.float64)
    except ValueError:
        values = None
    if values is not None and np.isfinite(values).all():
        return values
    for line, row in enumerate(cells, start=2):
        for name, cell in zip(names, row, strict=True):
            try:
                ok = math.isfinite(float(cell))
            except ValueError:
                ok = False
            if not ok:
                raise DataError(
                    f"Channel '{channel}': {path.name} line {line}, column \"{name}\": {cell.strip()!r} is not "
                    "a finite number (every column except the label must be numeric)"
                )
    raise DataError(f"Channel '{channel}': {path.name} has values that are not finite numbers")


def read_channel(directory: Path, channel: str, label_column: str) -> Table:
    """Reads every CSV file of a channel; all of them need a header with the same columns."""
    files = data_files(directory)
    if not files:
        raise DataError(f"Channel '{channel}' has no data files under {directory} (expected CSV with a header)")
    feature_names: list[str] | None = None
    parts: list[np.ndarray] = []
    labels: list[str] = []
    for path in files:
        names, cells, file_labels = _read_file(path, label_column, channel)
        values = _to_numbers(cells, names, path, channel)
        if feature_names is None:
            feature_names = names
        elif set(names) != set(feature_names):
            raise DataError(
                f"Channel '{channel}': {path.name} has different columns from {files[0].name}; all files of a "
                "channel need the same header"
            )
        else:
            values = values[:, [names.index(name) for name in feature_names]]
        parts.append(values)
        labels.extend(file_labels)
    assert feature_names is not None
    if not feature_names:
        raise DataError(f"Channel '{channel}' has no feature columns besides \"{label_column}\"")
    if not labels:
        raise DataError(f"Channel '{channel}' has a header but no data rows")
    return Table(np.concatenate(parts), labels, tuple(feature_names), f"channel '{channel}'")


def align_columns(table: Table, feature_names: tuple[str, ...]) -> Table:
    """Reorders ``table``'s features to ``feature_names``; the sets must match exactly."""
    if table.feature_names == feature_names:
        return table
    missing = [name for name in feature_names if name not in table.feature_names]
    extra = [name for name in table.feature_names if name not in feature_names]
    if missing or extra:
        raise DataError(
            f"The {table.name} columns differ from the train channel's: missing {_columns_text(missing) or 'none'}; "
            f"unexpected {_columns_text(extra) or 'none'}"
        )
    order = [table.feature_names.index(name) for name in feature_names]
    return Table(table.features[:, order], table.labels, feature_names, table.name)


def stratified_holdout(labels: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Splits row indices into (kept, held out), holding out ``fraction`` of each class with 2 or more rows."""
    rng = np.random.default_rng(seed)
    kept: list[np.ndarray] = []
    held: list[np.ndarray] = []
    for label in np.unique(labels):
        rows = rng.permutation(np.flatnonzero(labels == label))
        count = min(len(rows) - 1, round(fraction * len(rows))) if len(rows) >= 2 else 0
        held.append(rows[:count])
        kept.append(rows[count:])
    return np.sort(np.concatenate(kept)), np.sort(np.concatenate(held))


def _encode(table: Table, index: dict[str, int]) -> np.ndarray:
    unknown = sorted(set(table.labels) - set(index))
    if unknown:
        raise DataError(f"The {table.name} has labels that never occur in the training data: {', '.join(unknown[:10])}")
    return np.array([index[label] for label in table.labels], dtype=np.int64)


def prepare_dataset(
    train: Table,
    validation: Table | None,
    test: Table | None,
    *,
    validation_fraction: float,
    test_fraction: float,
    seed: int,
) -> Dataset:
    """Holds out validation/test rows from train when those channels are absent, then normalises."""
    label_names = sort_labels(set(train.labels))
    if len(label_names) < 2:
        raise DataError(f"The train channel has a single class ({label_names[0]}); a classifier needs two or more")
    index = {label: i for i, label in enumerate(label_names)}
    x, y = train.features, _encode(train, index)
    sources = {"train": "channel 'train'"}
    held_test = held_validation = None
    if test is None:
        keep, held = stratified_holdout(y, test_fraction, seed)
        held_test, x, y = (x[held], y[held]), x[keep], y[keep]
        sources["test"] = f"held out {test_fraction:.0%} of channel 'train'"
    if validation is None:
        keep, held = stratified_holdout(y, validation_fraction, seed + 1)
        held_validation, x, y = (x[held], y[held]), x[keep], y[keep]
        sources["validation"] = f"held out {validation_fraction:.0%} of channel 'train'"
    splits = {}
    for name, table, held in (("validation", validation, held_validation), ("test", test, held_test)):
        if table is not None:
            aligned = align_columns(table, train.feature_names)
            splits[name] = (aligned.features, _encode(aligned, index))
            sources[name] = f"channel '{name}'"
        else:
            assert held is not None
            splits[name] = held
        if len(splits[name][1]) == 0:
            raise DataError(f"No {name} rows: add a '{name}' channel or more rows to the train channel")
    mean = x.mean(axis=0)
    std = x.std(axis=0)
    std[std < 1e-12] = 1.0

    def normalise(values: np.ndarray) -> np.ndarray:
        return ((values - mean) / std).astype(np.float32)

    return Dataset(
        train_x=normalise(x),
        train_y=y,
        validation_x=normalise(splits["validation"][0]),
        validation_y=splits["validation"][1],
        test_x=normalise(splits["test"][0]),
        test_y=splits["test"][1],
        feature_names=train.feature_names,
        label_names=label_names,
        mean=mean,
        std=std,
        sources=sources,
    )
