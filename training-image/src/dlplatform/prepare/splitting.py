"""Seeded, stratified split into train, validation and test, and the class checks a split needs."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np

from ..errors import DataError
from ..tabular.labels import sort_labels

SPLITS = ("train", "validation", "test")


def share(rows: int, fraction: float) -> int:
    """Rows of a class with ``rows`` rows that go to a split of ``fraction``: rounded half up, at least one."""
    return max(1, math.floor(rows * fraction + 0.5))


def _rounded(rows: int, fraction: float) -> int:
    return math.floor(rows * fraction + 0.5)


def required_rows_per_class(validation_fraction: float, test_fraction: float) -> int:
    """The fewest rows a class needs for its share of each split to round to at least one row (and leave one
    for training): 4 with the default 0.15/0.15, 10 with 0.05/0.05."""
    rows = 3
    while (
        _rounded(rows, validation_fraction) < 1
        or _rounded(rows, test_fraction) < 1
        or rows - _rounded(rows, validation_fraction) - _rounded(rows, test_fraction) < 1
    ):
        rows += 1
    return rows


def check_classes(labels: list[str], label_column: str, where: str, *, need: int = 1) -> None:
    """At least two classes, each with at least ``need`` rows."""
    counts = Counter(labels)
    if len(counts) < 2:
        only = next(iter(counts), "")
        raise DataError(
            f'Only one class ("{only}") in column "{label_column}" of {where} after cleaning; a classifier needs '
            "rows of two or more classes"
        )
    small = sorted((count, label) for label, count in counts.items() if count < need)
    if small:
        listed = ", ".join(f'"{label}" has {count}' for count, label in small[:10])
        raise DataError(
            f"Too few rows per class in {where} after cleaning for a stratified train/validation/test split: "
            f"{listed}; each class needs at least {need} with these fractions (add rows, remove the class, "
            "or give train/, validation/ and test/ folders)"
        )


def stratified_split(
    labels: list[str], validation_fraction: float, test_fraction: float, seed: int
) -> dict[str, np.ndarray]:
    """Row indices per split, each sorted; every class contributes its share to every split."""
    rng = np.random.default_rng(seed)
    array = np.asarray(labels)
    parts: dict[str, list[np.ndarray]] = {name: [] for name in SPLITS}
    for label in sort_labels(set(labels)):
        rows = rng.permutation(np.flatnonzero(array == label))
        test = share(len(rows), test_fraction)
        validation = share(len(rows), validation_fraction)
        parts["test"].append(rows[:test])
        parts["validation"].append(rows[test : test + validation])
        parts["train"].append(rows[test + validation :])
    return {name: np.sort(np.concatenate(chunks)) for name, chunks in parts.items()}
