"""The baseline served traffic is compared with: the training data's distribution per input feature, its labels, and
the model's predicted classes on the test split.

`prepare` fits the feature and label parts on the training split and writes baseline.json beside preprocessing.json,
so the `preprocessing` training channel carries both to `train`; `train` copies it into the model folder (fitting one
on its train channel when the channel has none) and adds the prediction part after scoring the test split, so
model.tar.gz carries the baseline of the data that model was trained on. `monitor` bins a window of captured requests
with the same :meth:`counts` the fit used.

A numeric feature has quantile bins: ``bin_edges`` are the distinct deciles of its training values (numpy's
``inverted_cdf`` quantiles, so every edge is a training value), and bin ``i`` holds the values ``v`` with
``edges[i-1] < v <= edges[i]``, the first bin reaching down to minus infinity and the last up to infinity. Right-closed
bins keep a value repeated many times (a pixel that is mostly 0) in a bin of its own, and every bin holds at least one
training value. A categorical (text) feature has one bin per category seen in training (the most frequent
``MAX_CATEGORIES``) plus a last bin, ``other``, for every other value.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from itertools import pairwise
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

BASELINE_FILE = "baseline.json"
FORMAT_VERSION = 1
QUANTILES = tuple(i / 10 for i in range(1, 10))  # deciles: at most 10 bins
MAX_CATEGORIES = 100
OTHER = "other"
NUMERIC = "numeric"
CATEGORICAL = "categorical"


@dataclass(frozen=True)
class Counts:
    """One feature's values in a set of rows: per bin, missing, and outside what training saw."""

    bins: np.ndarray  # int64, one count per bin
    missing: int
    outside: int  # numeric: below the training minimum or above its maximum; categorical: not a training category

    @property
    def rows(self) -> int:
        return int(self.bins.sum()) + self.missing


def _share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def _number_text(value: float) -> str:
    return f"{value:.6g}"


def _described(feature: NumericFeature | CategoricalFeature) -> dict[str, Any]:
    """What every kind of feature records in baseline.json, before what its kind adds."""
    return {"name": feature.name, "kind": feature.kind, "count": feature.count, "missing_rate": feature.missing_rate}


def _common(data: dict[str, Any]) -> dict[str, Any]:
    return {"name": str(data["name"]), "count": int(data["count"]), "missing_rate": float(data["missing_rate"])}


@dataclass(frozen=True)
class NumericFeature:
    name: str
    count: int  # training rows
    missing_rate: float
    minimum: float
    maximum: float
    bin_edges: tuple[float, ...]
    bin_frequencies: tuple[float, ...]  # len(bin_edges) + 1, shares of the present training values

    kind: ClassVar[str] = NUMERIC

    @property
    def shares(self) -> tuple[float, ...]:
        """The training values' share of each bin (:meth:`bin_labels` names them)."""
        return self.bin_frequencies

    def counts(self, values: np.ndarray) -> Counts:
        """``values``: float64, NaN for a missing value."""
        present = values[~np.isnan(values)]
        bins = np.bincount(np.searchsorted(self.bin_edges, present, side="left"), minlength=len(self.bin_edges) + 1)
        outside = int(np.count_nonzero((present < self.minimum) | (present > self.maximum)))
        return Counts(bins.astype(np.int64), len(values) - len(present), outside)

    def bin_labels(self) -> list[str]:
        edges = [_number_text(edge) for edge in self.bin_edges]
        if not edges:
            return ["all values"]
        middle = [f"{low} to {high}" for low, high in pairwise(edges)]
        return [f"<= {edges[0]}", *middle, f"> {edges[-1]}"]

    def to_dict(self) -> dict[str, Any]:
        return {
            **_described(self),
            "min": self.minimum,
            "max": self.maximum,
            "bin_edges": list(self.bin_edges),
            "bin_frequencies": list(self.bin_frequencies),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NumericFeature:
        feature = cls(
            **_common(data),
            minimum=float(data["min"]),
            maximum=float(data["max"]),
            bin_edges=tuple(float(edge) for edge in data["bin_edges"]),
            bin_frequencies=tuple(float(share) for share in data["bin_frequencies"]),
        )
        if len(feature.bin_frequencies) != len(feature.bin_edges) + 1 or list(feature.bin_edges) != sorted(
            set(feature.bin_edges)
        ):
            raise ValueError(f'feature "{feature.name}": bin_edges must increase and have one frequency more')
        return feature


@dataclass(frozen=True)
class CategoricalFeature:
    name: str
    count: int
    missing_rate: float
    categories: tuple[str, ...]
    frequencies: tuple[float, ...]  # len(categories) + 1: each category, then every other value

    kind: ClassVar[str] = CATEGORICAL

    @property
    def shares(self) -> tuple[float, ...]:
        return self.frequencies

    def counts(self, values: Sequence[str | None]) -> Counts:
        """``values``: the text of each value, None for a missing one."""
        index = {category: i for i, category in enumerate(self.categories)}
        bins = np.zeros(len(self.categories) + 1, dtype=np.int64)
        missing = 0
        for value in values:
            if value is None:
                missing += 1
            else:
                bins[index.get(value, len(self.categories))] += 1
        return Counts(bins, missing, int(bins[-1]))

    def bin_labels(self) -> list[str]:
        return [*self.categories, OTHER]

    def to_dict(self) -> dict[str, Any]:
        return {
            **_described(self),
            "categories": list(self.categories),
            "frequencies": list(self.frequencies),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CategoricalFeature:
        feature = cls(
            **_common(data),
            categories=tuple(str(category) for category in data["categories"]),
            frequencies=tuple(float(share) for share in data["frequencies"]),
        )
        if len(feature.frequencies) != len(feature.categories) + 1:
            raise ValueError(f'feature "{feature.name}": frequencies needs one share per category plus "other"')
        return feature


Feature = NumericFeature | CategoricalFeature
FEATURE_KINDS: dict[str, type[NumericFeature] | type[CategoricalFeature]] = {
    NUMERIC: NumericFeature,
    CATEGORICAL: CategoricalFeature,
}


@dataclass(frozen=True)
class ClassDistribution:
    """How often each class occurs: the training labels, or the model's predictions on the test split."""

    labels: tuple[str, ...]
    counts: tuple[int, ...]

    @property
    def rows(self) -> int:
        return sum(self.counts)

    @property
    def frequencies(self) -> tuple[float, ...]:
        return tuple(_share(count, self.rows) for count in self.counts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "labels": list(self.labels),
            "counts": list(self.counts),
            "frequencies": list(self.frequencies),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ClassDistribution:
        distribution = cls(tuple(str(label) for label in data["labels"]), tuple(int(n) for n in data["counts"]))
        if len(distribution.labels) != len(distribution.counts):
            raise ValueError("a class distribution needs one count per label")
        return distribution


@dataclass(frozen=True)
class Baseline:
    features: tuple[Feature, ...]  # the raw input columns the model uses, in request order
    label_column: str
    labels: ClassDistribution | None  # the training split's labels
    source: str  # where the feature and label parts were fitted
    prediction: ClassDistribution | None = None  # the model's predicted classes on the test split (train adds it)

    def with_prediction(self, prediction: ClassDistribution) -> Baseline:
        return replace(self, prediction=prediction)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format_version": FORMAT_VERSION,
            "source": self.source,
            "label_column": self.label_column,
            "features": [feature.to_dict() for feature in self.features],
            "labels": None if self.labels is None else self.labels.to_dict(),
            "prediction": None if self.prediction is None else self.prediction.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Baseline:
        if data.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"unsupported baseline format_version {data.get('format_version')!r}")
        features = []
        for entry in data["features"]:
            kind = FEATURE_KINDS.get(entry.get("kind"))
            if kind is None:
                raise ValueError(
                    f"feature {entry.get('name')!r} has kind {entry.get('kind')!r}; expected one of "
                    + ", ".join(FEATURE_KINDS)
                )
            features.append(kind.from_dict(entry))
        labels, prediction = data.get("labels"), data.get("prediction")
        return cls(
            features=tuple(features),
            label_column=str(data["label_column"]),
            labels=None if labels is None else ClassDistribution.from_dict(labels),
            source=str(data["source"]),
            prediction=None if prediction is None else ClassDistribution.from_dict(prediction),
        )


def fit_numeric(name: str, values: np.ndarray) -> NumericFeature:
    """``values``: the training rows' values of one column, float64, NaN for a missing value (at least one present)."""
    present = np.sort(values[~np.isnan(values)])
    if len(present) == 0:
        raise ValueError(f'column "{name}" has no value to fit a baseline on')
    maximum = float(present[-1])
    cuts = np.unique(np.quantile(present, QUANTILES, method="inverted_cdf"))
    edges = tuple(float(edge) for edge in cuts if edge < maximum)  # the last bin then holds the maximum
    missing_rate = _share(len(values) - len(present), len(values))
    feature = NumericFeature(name, len(values), missing_rate, float(present[0]), maximum, edges, ())
    bins = feature.counts(present).bins
    return replace(feature, bin_frequencies=tuple(float(count / len(present)) for count in bins))


def fit_categorical(name: str, values: Sequence[str | None]) -> CategoricalFeature:
    """``values``: the training rows' text of one column, None for a missing value (at least one present)."""
    seen = Counter(value for value in values if value is not None)
    present = sum(seen.values())
    if not present:
        raise ValueError(f'column "{name}" has no value to fit a baseline on')
    # Most frequent first; ties by name, so the same data gives the same file.
    categories = tuple(category for category, _ in sorted(seen.items(), key=lambda item: (-item[1], item[0])))
    missing_rate = _share(len(values) - present, len(values))
    feature = CategoricalFeature(name, len(values), missing_rate, categories[:MAX_CATEGORIES], ())
    bins = feature.counts(values).bins
    return replace(feature, frequencies=tuple(float(count / present) for count in bins))


def fit_feature(name: str, kind: str, values: np.ndarray | Sequence[str | None]) -> Feature:
    if kind == NUMERIC:
        return fit_numeric(name, np.asarray(values, dtype=np.float64))
    if kind == CATEGORICAL:
        return fit_categorical(name, list(values))  # type: ignore[arg-type]
    raise ValueError(f"unknown feature kind {kind!r}")


def class_distribution(labels: Sequence[str], order: Sequence[str]) -> ClassDistribution:
    """Counts of ``labels`` in the class order ``order`` (every label must be in it)."""
    seen = Counter(labels)
    return ClassDistribution(tuple(order), tuple(seen.get(label, 0) for label in order))


def save(baseline: Baseline, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(to_json(baseline), encoding="utf-8")


def to_json(baseline: Baseline) -> str:
    return json.dumps(baseline.to_dict(), indent=2, allow_nan=False) + "\n"


def read(path: Path) -> Baseline:
    """Reads a baseline.json file; raises ValueError (or OSError) when it is not one."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Baseline.from_dict(data)
    except (KeyError, TypeError, AttributeError, json.JSONDecodeError) as error:
        raise ValueError(f"{path.name} is not a valid baseline file: {error}") from None
