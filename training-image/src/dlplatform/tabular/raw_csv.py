"""Reads raw CSV files into numbers and labels, with errors that name the file, line and column at fault.

Unlike the training reader (train/dataset.py), missing cells are allowed here: they become NaN for cleaning to handle.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DataError

# Cells that mean "no value" (compared case-insensitively, after stripping spaces).
MISSING_TOKENS = frozenset({"", "na", "n/a", "nan", "null", "none", "?"})
MISSING_SPELLINGS = frozenset({"", "NA", "N/A", "NaN", "nan", "null", "None", "?", "na", "NULL", "n/a"})
NAN_TEXT = "nan"
MAX_LISTED_COLUMNS = 8


@dataclass(frozen=True)
class RawTable:
    """The rows of one or more CSV files with the same columns."""

    feature_names: tuple[str, ...]
    features: np.ndarray  # float64 (rows, features); NaN where a cell was missing
    labels: list[str]  # stripped; "" where the label was missing
    origins: list[str]  # "data.csv line 12" per row, for messages and the report
    files: list[str]


def _columns_text(names: list[str] | tuple[str, ...]) -> str:
    shown = ", ".join(f'"{name}"' for name in names[:MAX_LISTED_COLUMNS])
    return shown + (f", ... ({len(names)} in all)" if len(names) > MAX_LISTED_COLUMNS else "")


def _decode(path: Path, name: str) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        line_start = data.rfind(b"\n", 0, error.start) + 1
        prefix = data[line_start : error.start].decode("utf-8", errors="replace")
        column = len(next(csv.reader([prefix]), [""]))
        raise DataError(
            f"{name} is not UTF-8 text: byte 0x{data[error.start]:02x} at line {line}, column {column}; "
            "save the file as UTF-8 (CSV with a header)"
        ) from None


def _number(cell: str) -> float | None:
    """The cell's value, NaN when missing, None when it is text."""
    text = cell.strip()
    if text.lower() in MISSING_TOKENS:
        return math.nan
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _fast_numbers(cells: list[list[str]], width: int) -> np.ndarray | None:
    """All cells in one numpy call, gaps (exactly as written in MISSING_TOKENS' usual spellings) as NaN; None
    when a cell is text, infinite or spelled otherwise, for the cell-by-cell path to fill or to name."""
    gaps = [[cell in MISSING_SPELLINGS for cell in row] for row in cells]
    try:
        values = np.array(
            [
                [NAN_TEXT if gap else cell for cell, gap in zip(row, row_gaps, strict=True)]
                for row, row_gaps in zip(cells, gaps, strict=True)
            ],
            dtype=np.float64,
        ).reshape(len(cells), width)
    except ValueError:
        return None
    missing = np.array(gaps, dtype=bool).reshape(len(cells), width)
    return values if np.isfinite(values[~missing]).all() else None


def _looks_like_values(cells: list[str]) -> bool:
    """A first line of numbers (all but possibly the label's cell) is data, not a header."""
    numeric = sum(_number(cell) is not None and cell.strip() != "" for cell in cells)
    return len(cells) >= 2 and numeric >= len(cells) - 1


def read_csv_file(path: Path, name: str, label_column: str) -> RawTable:
    """Reads one file; ``name`` is how messages call it (e.g. its path relative to the input folder)."""
    text = _decode(path, name)
    reader = csv.reader(io.StringIO(text))
    header: list[str] | None = None
    rows: list[list[str]] = []
    lines: list[int] = []
    try:
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue  # blank lines are not rows
            if header is None:
                header = [cell.strip() for cell in row]
                continue
            rows.append(row)
            lines.append(reader.line_num)
    except csv.Error as error:
        raise DataError(f"{name} line {reader.line_num} is not valid CSV: {error}") from None
    if header is None:
        raise DataError(f'{name} is empty; expected a CSV header with a "{label_column}" column, then rows')
    if label_column not in header:
        if _looks_like_values(header):
            raise DataError(
                f"{name} has no header: line 1 holds values, not column names; add a header line naming the "
                f'columns, one of them "{label_column}"'
            )
        raise DataError(
            f'{name} has no label column "{label_column}" (set PREPARE_LABEL_COLUMN); its columns are: '
            f"{_columns_text(header)}"
        )
    duplicated = sorted({column for column in header if header.count(column) > 1})
    if duplicated or "" in header:
        problem = f"repeats {_columns_text(duplicated)}" if duplicated else "has an empty column name"
        raise DataError(f"{name} line 1 (the header) {problem}; every column needs its own name")
    if not rows:
        raise DataError(f"{name} has a header but no data rows")
    label_index = header.index(label_column)
    feature_names = tuple(column for column in header if column != label_column)
    labels: list[str] = []
    cells: list[list[str]] = []
    for row, line in zip(rows, lines, strict=True):
        if len(row) != len(header):
            raise DataError(
                f"{name} line {line} has {len(row)} values but the header has {len(header)} columns; "
                "check for a missing or extra comma (quote values that contain commas)"
            )
        labels.append(row[label_index].strip())
        cells.append(row[:label_index] + row[label_index + 1 :])
    features = _fast_numbers(cells, len(feature_names))
    if features is None:  # gaps or text somewhere: cell by cell, to fill gaps and name the cell at fault
        features = np.empty((len(rows), len(feature_names)), dtype=np.float64)
        for row_index, (row_cells, line) in enumerate(zip(cells, lines, strict=True)):
            for column, cell in enumerate(row_cells):
                value = _number(cell)
                if value is None:
                    raise DataError(
                        f'{name} line {line}, column "{feature_names[column]}": {cell.strip()!r} is not a number; '
                        f'every column except "{label_column}" must be numeric (leave the cell empty for a missing '
                        "value, or encode text as numbers)"
                    )
                features[row_index, column] = value
    origins = [f"{name} line {line}" for line in lines]
    return RawTable(feature_names, features, labels, origins, [name])


def combine(tables: list[RawTable], what: str) -> RawTable:
    """Concatenates tables whose columns match (in any order), in the first table's column order."""
    first = tables[0]
    parts = [first.features]
    for table in tables[1:]:
        if set(table.feature_names) != set(first.feature_names):
            missing = [name for name in first.feature_names if name not in table.feature_names]
            extra = [name for name in table.feature_names if name not in first.feature_names]
            raise DataError(
                f"{table.files[0]} has different columns from {first.files[0]} ({what}): missing "
                f"{_columns_text(missing) or 'none'}; unexpected {_columns_text(extra) or 'none'}; every file "
                "needs the same header"
            )
        order = [table.feature_names.index(name) for name in first.feature_names]
        parts.append(table.features[:, order])
    return RawTable(
        first.feature_names,
        np.concatenate(parts),
        [label for table in tables for label in table.labels],
        [origin for table in tables for origin in table.origins],
        [file for table in tables for file in table.files],
    )
