"""Decodes /invocations request bodies into a float32 array and encodes the predictions response.

Request bodies:
- ``application/json``: ``{"instances": [[f1, ..., fN], ...]}`` (positional rows, other keys are ignored), or
  ``{"instances": [{"f1": v1, ..., "fN": vN}, ...]}`` (named features: the training column names, in any order;
  a missing or unknown name is a 400 naming it; a column the model does not use may be left out).
- ``text/csv``: rows of N numbers, no header. A first line equal to the training feature names (e.g. the
  header of the training CSV without the label column) is tolerated and skipped; any other non-numeric
  line is an error, so a bad first row is never dropped silently.

Text columns (a model whose preprocessing encodes categories): the cell is the text, as in the training CSV (a
JSON string; a number there is a 400 naming the feature); it becomes the category's code here
(:class:`RowSchema`), and the model's preprocessing encodes it. Models without text columns take the all-numbers
path unchanged: no per-row Python work beyond the type checks.

Missing values: a model whose preprocessing imputes (``allow_missing=True``) takes JSON ``null`` and, in CSV,
the cells `prepare` reads as missing (empty, ``NA``, ``NaN``, ``null``, ``?``, ... see raw_csv.MISSING_TOKENS)
as NaN, which the model's preprocessing fills. Any other model rejects them as today: not a number.

Response body (a contract the inference API is coded against)::

    {"predictions": [{"label": "3", "probabilities": {"0": 0.000012, ..., "9": 0.000301}}, ...],
     "model_version": "1497e42e159bef68"}

Probabilities are rounded to 6 decimal places; labels are strings in class-index order.

JSON is parsed with orjson (several times faster than the standard library, and it stops at 1024 levels of
nesting instead of overflowing the stack); when orjson refuses a body, the standard library parses it again
for the message, or for the few documents only it accepts (integers over 64 bits, 1e999).
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus

import numpy as np
import orjson

from ..tabular.raw_csv import MISSING_TOKENS

JSON_TYPE = "application/json"
CSV_TYPE = "text/csv"
PROBABILITY_DECIMALS = 6
FLOAT32_MAX = float(np.finfo(np.float32).max)
NUMBER_TYPES = frozenset((int, float))
NUMBER_OR_NULL_TYPES = frozenset((int, float, type(None)))


@dataclass(frozen=True)
class RowSchema:
    """What a request row holds: the column names in order, those a named row must give, and the text columns."""

    names: tuple[str, ...]
    required: frozenset[str]  # the columns the model uses; the others may be left out of a named row
    # position -> the text's code (a float the model's preprocessing reads), for each text column
    text: Mapping[int, Callable[[str], float]] = field(default_factory=dict)

    @classmethod
    def numeric(cls, names: Sequence[str]) -> RowSchema:
        return cls(tuple(names), frozenset(names))


class BadRequest(Exception):
    """The body cannot be scored; ``str(error)`` says why, for the client, with an HTTP status."""

    def __init__(self, message: str, status: HTTPStatus = HTTPStatus.BAD_REQUEST) -> None:
        super().__init__(message)
        self.status = status


def media_type(content_type: str | None) -> str:
    """'text/csv; charset=utf-8' -> 'text/csv'."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def _text(body: bytes) -> str:
    try:
        return body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BadRequest("The body is not UTF-8 text") from None


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not a valid number (NaN and Infinity are not allowed)")


def _too_many_rows(count: int, kind: str, limit: int) -> BadRequest:
    return BadRequest(
        f"The request has {count} rows; {kind} requests may have at most {limit} rows; send smaller batches",
        HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
    )


def _is_missing(value: object, *, text: bool) -> bool:
    """A gap as the client writes it: JSON null, or a CSV cell prepare reads as missing."""
    return isinstance(value, str) and value.strip().lower() in MISSING_TOKENS if text else value is None


def _first_bad_value(
    rows: Sequence[Sequence[object]],
    where: str,
    *,
    text: bool,
    allow_missing: bool = False,
    names: Sequence[str] = (),
) -> BadRequest:
    """The first value that is not a finite float32 number (a numeric string counts only in CSV, ``text=True``),
    skipping gaps when ``allow_missing``.

    ``where`` formats its position: {i}/{j} 0-based, {row}/{col} 1-based.
    """
    for i, row in enumerate(rows):
        for j, value in enumerate(row):
            if allow_missing and _is_missing(value, text=text):
                continue
            place = where.format(i=i, j=j, row=i + 1, col=j + 1)
            feature = f' (feature "{names[j]}")' if j < len(names) else ""
            number = value if type(value) in NUMBER_TYPES else None
            if text and isinstance(value, str):
                try:
                    number = float(value)
                except ValueError:
                    number = None
            if number is None:
                return BadRequest(f"{place} is {json.dumps(value)}, not a number{feature}")
            try:
                finite = math.isfinite(number) and abs(number) <= FLOAT32_MAX
            except OverflowError:
                finite = False
            if not finite:
                return BadRequest(f"{place} is not a finite number (or beyond float32's range){feature}")
    return BadRequest("The values are not all finite numbers")


def _to_array(
    rows: list[list[object]], where: str, *, text: bool, allow_missing: bool = False, names: Sequence[str] = ()
) -> np.ndarray:
    try:
        with np.errstate(over="ignore"):  # a value beyond float32 becomes inf, reported below
            array = np.array(rows, dtype=np.float32)
    except (ValueError, TypeError, OverflowError):
        if not allow_missing:
            raise _first_bad_value(rows, where, text=text, names=names) from None
        array = _with_gaps(rows, where, text=text, names=names)
    # The all-numbers path ends at the first test. A NaN is a gap: JSON null (NumPy reads None as NaN) or a
    # CSV "nan"; it is a bad value unless the model imputes. Infinity never is a value.
    if not np.isfinite(array).all() and (not allow_missing or np.isinf(array).any()):
        raise _first_bad_value(rows, where, text=text, allow_missing=allow_missing, names=names)
    return array


def _with_gaps(rows: list[list[object]], where: str, *, text: bool, names: Sequence[str] = ()) -> np.ndarray:
    """``rows`` with every gap (:func:`_is_missing`) as NaN, for the cells NumPy cannot read (CSV "", "NA", ...)."""
    cells = [[math.nan if _is_missing(value, text=text) else value for value in row] for row in rows]
    try:
        with np.errstate(over="ignore"):
            return np.array(cells, dtype=np.float32)
    except (ValueError, TypeError, OverflowError):
        raise _first_bad_value(rows, where, text=text, allow_missing=True, names=names) from None


def _listed(names: Sequence[str], limit: int = 10) -> str:
    shown = ", ".join(f'"{name}"' for name in names[:limit])
    return shown + (f" ... ({len(names)} in all)" if len(names) > limit else "")


def _named_row(row: dict[str, object], i: int, schema: RowSchema) -> list[object]:
    """A named-feature row in the schema's column order; a column the model does not use, left out, is 0."""
    missing = [name for name in schema.names if name not in row and name in schema.required]
    unknown = [str(name) for name in row if name not in schema.names]
    if missing or unknown:
        problems = ([f"lacks {_listed(missing)}"] if missing else []) + (
            [f"has unknown features {_listed(unknown)}"] if unknown else []
        )
        raise BadRequest(
            f"instances[{i}] {' and '.join(problems)}; the model's features are {_listed(schema.names, 50)}"
        )
    return [row.get(name, 0) for name in schema.names]


def _coded(rows: list[list[object]], where: str, schema: RowSchema, *, allow_missing: bool) -> list[list[object]]:
    """Rows with each text column's value replaced by its code (NaN for a gap); a non-text value there is a 400."""
    coded_rows = []
    for i, row in enumerate(rows):
        coded = list(row)
        for j, code in schema.text.items():
            value = row[j]
            place = where.format(i=i, j=j, row=i + 1, col=j + 1) + f' (feature "{schema.names[j]}")'
            if value is None or (isinstance(value, str) and value.strip().lower() in MISSING_TOKENS):
                if not allow_missing:
                    raise BadRequest(
                        f"{place} is missing; this model was trained without imputation, so every feature needs a value"
                    )
                coded[j] = math.nan
            elif isinstance(value, str):
                coded[j] = code(value.strip())
            else:
                raise BadRequest(f"{place} is {json.dumps(value)}, not text; this feature takes a category as text")
        coded_rows.append(coded)
    return coded_rows


def _load_json(body: bytes) -> object:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as error:
        fast_error = error
    try:
        return json.loads(_text(body), parse_constant=_reject_constant)
    except RecursionError:
        message = str(fast_error)
    except ValueError as error:
        message = str(error)
    raise BadRequest(f"Invalid JSON: {message}")


def parse_json(
    body: bytes,
    width: int,
    max_rows: int,
    *,
    allow_missing: bool = False,
    schema: RowSchema | None = None,
    feature_names: Sequence[str] = (),
) -> np.ndarray:
    """``schema``: the model's columns, for named-feature rows and text columns (None: every column numeric, named
    ``feature_names``)."""
    document = _load_json(body)
    if not isinstance(document, dict) or "instances" not in document:
        raise BadRequest(
            'The JSON body must be an object with "instances": a list of rows (lists of values, or objects of '
            "feature: value)"
        )
    instances = document["instances"]
    if not isinstance(instances, list) or not instances:
        raise BadRequest('"instances" must be a non-empty list of rows')
    if len(instances) > max_rows:
        raise _too_many_rows(len(instances), JSON_TYPE, max_rows)
    allowed = NUMBER_OR_NULL_TYPES if allow_missing else NUMBER_TYPES
    names = schema.names if schema is not None else feature_names
    text = schema is not None and bool(schema.text)
    for i, item in enumerate(instances):
        row = item
        if type(row) is not list:
            if type(row) is not dict:
                raise BadRequest(f"instances[{i}] must be a list of {width} values or an object of feature: value")
            row = instances[i] = _named_row(row, i, schema or RowSchema.numeric(feature_names))
        if len(row) != width:
            raise BadRequest(f"instances[{i}] has {len(row)} values; the model expects {width}")
        if not text and not allowed.issuperset(map(type, row)):
            raise _first_bad_value(
                [row], f"instances[{i}][{{j}}]", text=False, allow_missing=allow_missing, names=names
            )
    if text:
        assert schema is not None
        instances = _coded(instances, "instances[{i}][{j}]", schema, allow_missing=allow_missing)
        for i, row in enumerate(instances):
            if not allowed.issuperset(map(type, row)):
                raise _first_bad_value(
                    [row], f"instances[{i}][{{j}}]", text=False, allow_missing=allow_missing, names=names
                )
    return _to_array(instances, "instances[{i}][{j}]", text=False, allow_missing=allow_missing, names=names)


def parse_csv(
    body: bytes,
    width: int,
    feature_names: Sequence[str],
    max_rows: int,
    *,
    allow_missing: bool = False,
    schema: RowSchema | None = None,
) -> np.ndarray:
    try:
        # A blank line is no row; a line of commas is a row of empty cells (gaps), never dropped silently.
        rows = [row for row in csv.reader(io.StringIO(_text(body))) if len(row) > 1 or (row and row[0].strip())]
    except csv.Error as error:
        raise BadRequest(f"Invalid CSV: {error}") from None
    if rows and [cell.strip() for cell in rows[0]] == list(feature_names):
        rows = rows[1:]
    if not rows:
        raise BadRequest("The CSV body has no rows")
    if len(rows) > max_rows:
        raise _too_many_rows(len(rows), CSV_TYPE, max_rows)
    for i, row in enumerate(rows):
        if len(row) != width:
            raise BadRequest(f"CSV row {i + 1} has {len(row)} values; the model expects {width}")
    where = "CSV row {row}, column {col}"
    if schema is not None and schema.text:
        rows = _coded(rows, where, schema, allow_missing=allow_missing)  # type: ignore[arg-type]
    return _to_array(rows, where, text=True, allow_missing=allow_missing)  # type: ignore[arg-type]


def parse_body(
    body: bytes,
    kind: str,
    width: int,
    feature_names: Sequence[str],
    max_rows: int,
    *,
    allow_missing: bool = False,
    schema: RowSchema | None = None,
) -> np.ndarray:
    """Rows of shape (n, width), float32, finite, or NaN for a gap when ``allow_missing``; text columns as codes
    (``schema``, default: every column numeric); ``kind`` is a media type from :func:`media_type`."""
    if not body.strip():
        raise BadRequest("The request body is empty")
    if kind == JSON_TYPE:
        return parse_json(
            body, width, max_rows, allow_missing=allow_missing, schema=schema, feature_names=feature_names
        )
    return parse_csv(body, width, feature_names, max_rows, allow_missing=allow_missing, schema=schema)


def encode_predictions(probabilities: np.ndarray, labels: Sequence[str], version: str) -> bytes:
    best = probabilities.argmax(axis=1).tolist()
    rounded = np.round(probabilities.astype(np.float64), PROBABILITY_DECIMALS).tolist()
    predictions = [
        {"label": labels[top], "probabilities": dict(zip(labels, row, strict=True))}
        for top, row in zip(best, rounded, strict=True)
    ]
    return orjson.dumps({"predictions": predictions, "model_version": version})
