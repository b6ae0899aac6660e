"""Decodes /invocations request bodies into a float array and encodes the predictions response.

Request bodies:
- ``application/json``: ``{"instances": [[f1, ..., fN], ...]}`` (other keys are ignored).
- ``text/csv``: rows of N numbers, no header. A first line equal to the training feature names (e.g. the
  header of the training CSV without the label column) is tolerated and skipped; any other non-numeric
  line is an error, so a bad first row is never dropped silently.

Response body (a contract the inference API is coded against)::

    {"predictions": [{"label": "3", "probabilities": {"0": 0.000012, ..., "9": 0.000301}}, ...],
     "model_version": "1497e42e159bef68"}

Probabilities are rounded to 6 decimal places; labels are strings in class-index order.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence

import numpy as np

JSON_TYPE = "application/json"
CSV_TYPE = "text/csv"
SUPPORTED_TYPES = (JSON_TYPE, CSV_TYPE)
PROBABILITY_DECIMALS = 6


class BadRequest(Exception):
    """The body cannot be scored; ``str(error)`` says why, for the client."""


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


def _first_bad_value(rows: Sequence[Sequence[object]], where: str, *, text: bool) -> BadRequest:
    """The first value that is not a finite number (a numeric string counts only in CSV, ``text=True``).

    ``where`` formats its position: {i}/{j} 0-based, {row}/{col} 1-based.
    """
    for i, row in enumerate(rows):
        for j, value in enumerate(row):
            place = where.format(i=i, j=j, row=i + 1, col=j + 1)
            number = value if type(value) in (int, float) else None
            if text and isinstance(value, str):
                try:
                    number = float(value)
                except ValueError:
                    number = None
            if number is None:
                return BadRequest(f"{place} is {json.dumps(value)}, not a number")
            try:
                finite = math.isfinite(number)
            except OverflowError:
                finite = False
            if not finite:
                return BadRequest(f"{place} is not a finite number")
    return BadRequest("The values are not all finite numbers")


def _to_array(rows: list[list[object]], where: str, *, text: bool) -> np.ndarray:
    try:
        array = np.array(rows, dtype=np.float64)
    except (ValueError, TypeError, OverflowError):
        raise _first_bad_value(rows, where, text=text) from None
    if not np.isfinite(array).all():
        raise _first_bad_value(rows, where, text=text)
    return array


def parse_json(body: bytes, width: int) -> np.ndarray:
    try:
        document = json.loads(_text(body), parse_constant=_reject_constant)
    except ValueError as error:
        raise BadRequest(f"Invalid JSON: {error}") from None
    if not isinstance(document, dict) or "instances" not in document:
        raise BadRequest('The JSON body must be an object with "instances": a list of rows of numbers')
    instances = document["instances"]
    if not isinstance(instances, list) or not instances:
        raise BadRequest('"instances" must be a non-empty list of rows of numbers')
    for i, row in enumerate(instances):
        if not isinstance(row, list):
            raise BadRequest(f"instances[{i}] must be a list of {width} numbers")
        if len(row) != width:
            raise BadRequest(f"instances[{i}] has {len(row)} values; the model expects {width}")
        if not all(type(value) is float or type(value) is int for value in row):
            raise _first_bad_value([row], f"instances[{i}][{{j}}]", text=False)
    return _to_array(instances, "instances[{i}][{j}]", text=False)


def parse_csv(body: bytes, width: int, feature_names: Sequence[str]) -> np.ndarray:
    try:
        rows = [row for row in csv.reader(io.StringIO(_text(body))) if any(cell.strip() for cell in row)]
    except csv.Error as error:
        raise BadRequest(f"Invalid CSV: {error}") from None
    if rows and [cell.strip() for cell in rows[0]] == list(feature_names):
        rows = rows[1:]
    if not rows:
        raise BadRequest("The CSV body has no rows")
    for i, row in enumerate(rows):
        if len(row) != width:
            raise BadRequest(f"CSV row {i + 1} has {len(row)} values; the model expects {width}")
    return _to_array(rows, "CSV row {row}, column {col}", text=True)


def parse_body(body: bytes, content_type: str | None, width: int, feature_names: Sequence[str]) -> np.ndarray:
    kind = media_type(content_type)
    if not body.strip():
        raise BadRequest("The request body is empty")
    if kind == JSON_TYPE:
        return parse_json(body, width)
    return parse_csv(body, width, feature_names)


def encode_predictions(probabilities: np.ndarray, labels: Sequence[str], version: str) -> bytes:
    best = probabilities.argmax(axis=1).tolist()
    rounded = np.round(probabilities.astype(np.float64), PROBABILITY_DECIMALS).tolist()
    predictions = [
        {"label": labels[top], "probabilities": dict(zip(labels, row, strict=True))}
        for top, row in zip(best, rounded, strict=True)
    ]
    return json.dumps({"predictions": predictions, "model_version": version}, separators=(",", ":")).encode()
