"""Reads raw CSV files into numbers and labels, with errors that name the file, line and column at fault.

Unlike the training reader (train/dataset.py), missing cells are allowed here: they become NaN for cleaning to handle.

A column whose present cells are mostly not numbers is a text (categorical) column: its cells are stored as codes
(the position of the text in the column's ``vocabularies`` entry, as a float; NaN for a gap), so cleaning treats
every column alike; `prepare` fits the encoding (tabular/preprocessing.py) on the training split. A column that is
mostly numbers with a few words in it is a typo, not a text column: the first word is named as an error. Booleans
(true/false, yes/no) and dates are text columns like any other: their values are the categories.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import DataError

# Cells that mean "no value" (compared case-insensitively, after stripping spaces).
MISSING_TOKENS = frozenset({"", "na", "n/a", "nan", "null", "none", "?"})
MISSING_SPELLINGS = frozenset({"", "NA", "N/A", "NaN", "nan", "null", "None", "?", "na", "NULL", "n/a"})
NAN_TEXT = "nan"
MAX_LISTED_COLUMNS = 8
# A column is text when fewer than this share of its present cells are numbers; above it, the words are typos.
NUMERIC_MAJORITY = 0.5
# A label column with at most this many distinct values (in the first rows) is named as a likely label.
CANDIDATE_MAX_VALUES = 20


@dataclass(frozen=True)
class RawTable:
    """The rows of one or more CSV files with the same columns."""

    feature_names: tuple[str, ...]
    features: np.ndarray  # float64 (rows, features); NaN where a cell was missing
    labels: list[str]  # stripped; "" where the label was missing
    origins: list[str]  # "data.csv line 12" per row, for messages and the report
    files: list[str]
    # Text columns: name -> the distinct texts, sorted; the column's values in ``features`` index this tuple.
    vocabularies: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def text(self, column: str, codes: np.ndarray) -> list[str | None]:
        """A text column's codes back as their texts (None for a gap)."""
        vocabulary = self.vocabularies[column]
        return [None if np.isnan(code) else vocabulary[int(code)] for code in codes]


def _columns_text(names: list[str] | tuple[str, ...], limit: int = MAX_LISTED_COLUMNS) -> str:
    shown = ", ".join(f'"{name}"' for name in names[:limit])
    return shown + (f", ... ({len(names)} in all)" if len(names) > limit else "")


def label_candidates(header: list[str], rows: list[list[str]]) -> list[str]:
    """Columns that look like a label: the last column, then columns with few distinct values (a class, not a
    measurement), in header order."""
    candidates = [header[-1]]
    for index, name in enumerate(header):
        values = {row[index].strip() for row in rows if len(row) == len(header)} - {""}
        if name not in candidates and 2 <= len(values) <= min(CANDIDATE_MAX_VALUES, max(2, len(rows) // 5)):
            candidates.append(name)
    return candidates


def missing_label_message(name: str, label_column: str, header: list[str], rows: list[list[str]]) -> str:
    """Every column (a table of 31 columns lists 31), and the likely labels first, so the fix is one flag away."""
    candidates = label_candidates(header, rows)
    return (
        f'{name} has no label column "{label_column}"; likely label columns: {_columns_text(candidates, 5)}; '
        f"set the label column with --label <name> in local mode or the prepareLabelColumn setting "
        f"(PREPARE_LABEL_COLUMN); its {len(header)} columns are: {_columns_text(header, len(header))}"
    )


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
        raise DataError(missing_label_message(name, label_column, header, rows))
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
    vocabularies: dict[str, tuple[str, ...]] = {}
    if features is None:  # gaps or text somewhere: column by column, to fill gaps, find text and name typos
        features = np.empty((len(rows), len(feature_names)), dtype=np.float64)
        for column, feature in enumerate(feature_names):
            column_cells = [row_cells[column] for row_cells in cells]
            values = [_number(cell) for cell in column_cells]
            words = [index for index, value in enumerate(values) if value is None]
            if not words:
                features[:, column] = values
                continue
            present = sum(1 for value in values if value is None or not math.isnan(value))
            if present - len(words) >= NUMERIC_MAJORITY * present:
                first = words[0]
                raise DataError(
                    f'{name} line {lines[first]}, column "{feature}": {column_cells[first].strip()!r} is not a '
                    f"number, but {present - len(words)} of the column's {present} values are; fix the cell or "
                    "leave it empty for a missing value (a column of mostly text is read as categories)"
                )
            texts = [
                None if value is not None and math.isnan(value) else cell.strip()
                for cell, value in zip(column_cells, values, strict=True)
            ]
            vocabularies[feature] = tuple(sorted({text for text in texts if text is not None}))
            index = {text: float(i) for i, text in enumerate(vocabularies[feature])}
            features[:, column] = [math.nan if text is None else index[text] for text in texts]
    origins = [f"{name} line {line}" for line in lines]
    return RawTable(feature_names, features, labels, origins, [name], vocabularies)


def _recoded(table: RawTable, vocabularies: dict[str, tuple[str, ...]]) -> np.ndarray:
    """``table``'s features with each text column's codes in the merged ``vocabularies``."""
    features = table.features.copy()
    for column, vocabulary in vocabularies.items():
        index = table.feature_names.index(column)
        if column not in table.vocabularies:
            if not np.isnan(features[:, index]).all():
                raise DataError(
                    f'column "{column}" holds text in some files but only numbers in {table.files[0]}; a column '
                    "is numbers in every file or text in every file"
                )
            continue
        new_codes = np.array([vocabulary.index(text) for text in table.vocabularies[column]], dtype=np.float64)
        present = ~np.isnan(features[:, index])
        features[present, index] = new_codes[features[present, index].astype(np.intp)]
    return features


def combine(tables: list[RawTable], what: str) -> RawTable:
    """Concatenates tables whose columns match (in any order), in the first table's column order."""
    first = tables[0]
    for table in tables[1:]:
        if set(table.feature_names) != set(first.feature_names):
            missing = [name for name in first.feature_names if name not in table.feature_names]
            extra = [name for name in table.feature_names if name not in first.feature_names]
            raise DataError(
                f"{table.files[0]} has different columns from {first.files[0]} ({what}): missing "
                f"{_columns_text(missing) or 'none'}; unexpected {_columns_text(extra) or 'none'}; every file "
                "needs the same header"
            )
    text_columns = [name for name in first.feature_names if any(name in table.vocabularies for table in tables)]
    vocabularies = {
        name: tuple(sorted({text for table in tables for text in table.vocabularies.get(name, ())}))
        for name in text_columns
    }
    parts = []
    for table in tables:
        features = _recoded(table, vocabularies) if vocabularies else table.features
        order = [table.feature_names.index(name) for name in first.feature_names]
        parts.append(features[:, order])
    return RawTable(
        first.feature_names,
        np.concatenate(parts),
        [label for table in tables for label in table.labels],
        [origin for table in tables for origin in table.origins],
        [file for table in tables for file in table.files],
        vocabularies,
    )
