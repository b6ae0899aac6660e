"""Stratified split into train, validation and test that keeps rows in their split as data is added, and the class
checks a split needs.

Within each class, rows are ordered by a seeded hash of their content (:func:`row_digests`), and the first of that
order go to test, the next to validation, the rest to train, in the shares the fractions give. A row's place in the
order depends on its content only, so adding rows never moves a row forward: a row that was in train is still
behind at least as many rows, and reaches test only once its class's test share outgrows the old test and validation
rows together (with the default fractions, once the class more than doubles). So the candidate's test rows are rows
the approved model did not train on, and the quality gate's like-with-like comparison is fair to both models.
With a random permutation (as before), about 70% of the next candidate's test rows were rows the approved model
had trained on, so the gate scored the approved model on rows it had learned and rejected fair candidates.
"""

from __future__ import annotations

import hashlib
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


def row_digests(features: np.ndarray, labels: list[str], text_columns: dict[int, tuple[str, ...]]) -> list[bytes]:
    """A digest of each row's content: its label, its numbers' values (not their spelling) and its texts (not their
    codes, which depend on the other rows). ``text_columns``: column index -> the vocabulary its codes index."""
    numeric = np.delete(features, list(text_columns), axis=1) if text_columns else features
    numeric = np.ascontiguousarray(numeric, dtype=np.float64)
    digests = []
    for i, label in enumerate(labels):
        digest = hashlib.blake2b(label.encode(), digest_size=16)
        digest.update(b"\x00" + numeric[i].tobytes())
        for j, vocabulary in text_columns.items():
            code = features[i, j]
            digest.update(b"\x00" + (b"\xff" if math.isnan(code) else vocabulary[int(code)].encode()))
        digests.append(digest.digest())
    return digests


def stratified_split(
    labels: list[str], digests: list[bytes], validation_fraction: float, test_fraction: float, seed: int
) -> dict[str, np.ndarray]:
    """Row indices per split, each sorted; every class contributes its share to every split, and each row's place
    in its class's order follows from its content digest (:func:`row_digests`) and the seed alone, not the file's
    order."""
    salt = seed.to_bytes(8, "little")
    order = [hashlib.blake2b(digest, key=salt, digest_size=8).digest() for digest in digests]
    array = np.asarray(labels)
    parts: dict[str, list[np.ndarray]] = {name: [] for name in SPLITS}
    for label in sort_labels(set(labels)):
        # Equal rows (duplicates kept by PREPARE_DROP_DUPLICATES=false) tie; their file order breaks it.
        rows = np.array(sorted(np.flatnonzero(array == label), key=lambda i: (order[i], i)), dtype=np.int64)
        test = share(len(rows), test_fraction)
        validation = share(len(rows), validation_fraction)
        parts["test"].append(rows[:test])
        parts["validation"].append(rows[test : test + validation])
        parts["train"].append(rows[test + validation :])
    return {name: np.sort(np.concatenate(chunks)) for name, chunks in parts.items()}
