"""Accumulates a window of capture records: per baseline feature the counts per bin, missing and out of range; the
predicted classes; and what could not be used (skipped lines, invalid records), with constant memory in the
window's size (rows are binned in blocks)."""

from __future__ import annotations

import math
from collections import Counter
from datetime import datetime

import numpy as np

from ..tabular.baseline import NUMERIC, Baseline, Counts
from ..tabular.raw_csv import MISSING_TOKENS
from .capture import CaptureRecord, SkippedLine
from .payloads import BadRequestBody, answer, request_rows

BLOCK_ROWS = 10_000
MAX_EXAMPLES = 5
NUMBER_TYPES = (int, float)


def read_number(value: object, text: bool) -> float | None:
    """A numeric cell's value, NaN when missing, None when the model server would refuse it (not a finite number)."""
    if text:
        cell = str(value).strip()
        if cell.lower() in MISSING_TOKENS:
            return math.nan
        try:
            number = float(cell)
        except ValueError:
            return None
    elif value is None:
        return math.nan
    elif type(value) in NUMBER_TYPES:  # not bool, which JSON readers give as a subclass of int
        try:
            number = float(value)  # type: ignore[arg-type]
        except OverflowError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def read_category(value: object) -> tuple[bool, str | None]:
    """A categorical cell: (readable, its text or None when missing). JSON numbers and booleans read as their text.

    A gap is what the model server codes as one (serve/payload.py ``_coded``): null, or a string that prepare reads
    as missing ("", "NA", "null", ...), in JSON as in CSV, so the window counts the gaps the model saw."""
    if value is None:
        return True, None
    if isinstance(value, str):
        cell = value.strip()
        return True, None if cell.lower() in MISSING_TOKENS else cell
    if isinstance(value, bool):
        return True, "true" if value else "false"
    if type(value) in NUMBER_TYPES and math.isfinite(value):  # type: ignore[arg-type]
        number = float(value)  # type: ignore[arg-type]
        return True, str(int(number)) if number.is_integer() else repr(number)
    return False, None


class Window:
    def __init__(
        self,
        baseline: Baseline,
        columns: tuple[str, ...],
        model_version: str,
        start: datetime | None,
        end: datetime | None,
    ) -> None:
        self.baseline = baseline
        self.positions = [columns.index(feature.name) for feature in baseline.features]
        self.numeric = [feature.kind == NUMERIC for feature in baseline.features]
        self.columns = columns
        self.model_version = model_version
        self.start, self.end = start, end
        self.labels = baseline.prediction.labels if baseline.prediction is not None else ()
        self._block: list[list[object]] = []  # one list per valid row: the baseline features' values
        self.bins = [np.zeros(len(feature.bin_labels()), dtype=np.int64) for feature in baseline.features]
        self.missing = [0] * len(baseline.features)
        self.outside = [0] * len(baseline.features)
        self.records = 0  # valid rows
        self.invalid = 0  # rows (or whole bodies) the model's request format does not take
        self.requests = 0
        self.error_answers = 0
        self.outside_window = 0
        self.skipped: Counter[str] = Counter()
        self.skipped_examples: list[str] = []
        self.predictions: Counter[str] = Counter()
        self.other_model_predictions = 0

    def add(self, item: CaptureRecord | SkippedLine) -> None:
        if isinstance(item, SkippedLine):
            self.skipped[item.reason] += 1
            if len(self.skipped_examples) < MAX_EXAMPLES:
                self.skipped_examples.append(f"{item.origin}: {item.reason}")
            return
        if (self.start is not None and item.time < self.start) or (self.end is not None and item.time >= self.end):
            self.outside_window += 1
            return
        self.requests += 1
        reply = answer(item.response) if item.response is not None else None
        try:
            parsed = request_rows(item.request, self.columns)
        except BadRequestBody:
            self.invalid += 1
            return
        if reply is not None and reply.error:
            self.error_answers += 1
            self.invalid += len(parsed.rows)
            return
        for row in parsed.rows:
            values = None if row is None else self._values(row, parsed.text)
            if values is None:
                self.invalid += 1
            else:
                self._block.append(values)
                self.records += 1
        if len(self._block) >= BLOCK_ROWS:
            self._flush()
        if reply is not None:
            known = reply.model_version in (None, self.model_version)
            for label in reply.labels:
                if known and label in self.labels:
                    self.predictions[label] += 1
                else:
                    self.other_model_predictions += 1

    def _values(self, row: list[object], text: bool) -> list[object] | None:
        values: list[object] = []
        for position, numeric in zip(self.positions, self.numeric, strict=True):
            if numeric:
                number = read_number(row[position], text)
                if number is None:
                    return None
                values.append(number)
            else:
                readable, category = read_category(row[position])
                if not readable:
                    return None
                values.append(category)
        return values

    def _flush(self) -> None:
        if not self._block:
            return
        for index, feature in enumerate(self.baseline.features):
            column = [row[index] for row in self._block]
            counts = feature.counts(np.array(column, dtype=np.float64) if self.numeric[index] else column)  # type: ignore[arg-type]
            self.bins[index] += counts.bins
            self.missing[index] += counts.missing
            self.outside[index] += counts.outside
        self._block = []

    def feature_counts(self) -> list[Counts]:
        """The window's counts per baseline feature (after the last record has been added)."""
        self._flush()
        return [
            Counts(bins.copy(), missing, outside)
            for bins, missing, outside in zip(self.bins, self.missing, self.outside, strict=True)
        ]

    def prediction_counts(self) -> np.ndarray:
        return np.array([self.predictions.get(label, 0) for label in self.labels], dtype=np.int64)
