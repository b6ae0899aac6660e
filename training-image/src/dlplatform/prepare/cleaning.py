"""Row cleaning before the split: rows without a label, exact duplicates, empty columns, rows with gaps.

Everything that needs statistics (constant columns, imputation values) is fitted on the training split only,
in tabular/preprocessing.py; this module only drops what is wrong whatever the split, and counts every row it drops.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..tabular.raw_csv import RawTable

MAX_EXAMPLES = 5

# Why a row was dropped: the key in data-report.json, and the words people read.
MISSING_LABEL = "missing_label"
DUPLICATE = "duplicate"
MISSING_VALUE = "missing_value"
REASONS = {
    MISSING_LABEL: "no label",
    DUPLICATE: "exact duplicate of an earlier row",
    MISSING_VALUE: "a missing feature value (PREPARE_MISSING_VALUES=drop)",
}


@dataclass
class Cleaned:
    """The rows kept, plus why the others went. ``groups`` is the user's split (row -> split name) or None."""

    feature_names: tuple[str, ...]
    features: np.ndarray
    labels: list[str]
    origins: list[str]
    groups: list[str] | None
    rows_in: int
    dropped_rows: dict[str, int] = field(default_factory=dict)
    examples: dict[str, list[str]] = field(default_factory=dict)
    dropped_columns: dict[str, str] = field(default_factory=dict)
    missing_cells_in: dict[str, int] = field(default_factory=dict)
    vocabularies: dict[str, tuple[str, ...]] = field(default_factory=dict)  # text columns (raw_csv.RawTable)


def _drop(cleaned: Cleaned, keep: np.ndarray, reason: str) -> None:
    dropped = np.flatnonzero(~keep)
    if len(dropped) == 0:
        return
    cleaned.dropped_rows[reason] = cleaned.dropped_rows.get(reason, 0) + len(dropped)
    cleaned.examples.setdefault(reason, []).extend(cleaned.origins[i] for i in dropped[:MAX_EXAMPLES])
    cleaned.examples[reason] = cleaned.examples[reason][:MAX_EXAMPLES]
    cleaned.features = cleaned.features[keep]
    cleaned.labels = [label for label, kept in zip(cleaned.labels, keep, strict=True) if kept]
    cleaned.origins = [origin for origin, kept in zip(cleaned.origins, keep, strict=True) if kept]
    if cleaned.groups is not None:
        cleaned.groups = [group for group, kept in zip(cleaned.groups, keep, strict=True) if kept]


def _duplicates(features: np.ndarray, labels: list[str]) -> np.ndarray:
    """True for each row that is not an exact repeat (label and every value, gaps included) of an earlier one."""
    seen: set[tuple[str, bytes]] = set()
    keep = np.ones(len(labels), dtype=bool)
    for index, (label, row) in enumerate(zip(labels, features, strict=True)):
        key = (label, row.tobytes())
        if key in seen:
            keep[index] = False
        seen.add(key)
    return keep


def clean_rows(table: RawTable, groups: list[str] | None, *, drop_duplicates: bool, missing_values: str) -> Cleaned:
    """Applies the row policy in a fixed order, so each dropped row is counted once, under its first reason."""
    missing = np.isnan(table.features)
    cleaned = Cleaned(
        feature_names=table.feature_names,
        features=table.features,
        labels=list(table.labels),
        origins=list(table.origins),
        groups=None if groups is None else list(groups),
        rows_in=len(table.labels),
        vocabularies=dict(table.vocabularies),
        missing_cells_in={
            name: int(count) for name, count in zip(table.feature_names, missing.sum(axis=0), strict=True)
        },
    )
    _drop(cleaned, np.array([label != "" for label in cleaned.labels], dtype=bool), MISSING_LABEL)
    if drop_duplicates:
        _drop(cleaned, _duplicates(cleaned.features, cleaned.labels), DUPLICATE)
    if len(cleaned.labels):
        empty = np.isnan(cleaned.features).all(axis=0)
        for name in np.asarray(cleaned.feature_names)[empty]:
            cleaned.dropped_columns[str(name)] = "entirely missing"
        if empty.any():
            cleaned.features = cleaned.features[:, ~empty]
            cleaned.feature_names = tuple(
                name for name, gone in zip(cleaned.feature_names, empty, strict=True) if not gone
            )
    if missing_values == "drop":
        _drop(cleaned, ~np.isnan(cleaned.features).any(axis=1), MISSING_VALUE)
    return cleaned
