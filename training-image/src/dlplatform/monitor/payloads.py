"""Turns a captured request body into rows of cells, and a captured response into predicted classes.

Requests are what the model server takes (serve/payload.py): ``application/json`` with ``{"instances": [...]}`` of
positional rows (lists, in the model's request columns) or named rows (objects keyed by column name), and
``text/csv`` rows without a header (a first line equal to the column names is skipped, as the server does). Cells stay
as sent; window.py reads them by the kind of each feature. Responses are the server's
``{"predictions": [{"label": ...}, ...], "model_version": ...}``; anything else (``{"error": ...}``) is an error answer.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass

import orjson

from .capture import Payload

JSON_TYPE = "application/json"
CSV_TYPE = "text/csv"


class BadRequestBody(Exception):
    """The body is not a request the model server reads; the whole request counts as one invalid record."""


@dataclass(frozen=True)
class RequestRows:
    rows: list[list[object] | None]  # None: a row that does not fit the columns (an invalid record)
    text: bool  # CSV: every cell is a string


@dataclass(frozen=True)
class Answer:
    """What the model answered: its predicted labels, or ``error`` True for an error answer."""

    labels: list[str]
    model_version: str | None
    error: bool


def _json(body: bytes) -> object:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        pass
    try:
        return json.loads(body)  # the few documents only the standard library reads (integers over 64 bits)
    except ValueError:
        raise BadRequestBody("not JSON") from None


def _named(row: dict[str, object], columns: tuple[str, ...]) -> list[object] | None:
    """A row given by column name, in column order; None when it names a column the model does not have. A column
    left out is None here: the model server takes a row without the columns the model does not use (and refuses
    one without a column it uses, which then counts as an error answer)."""
    if not all(name in columns for name in row):
        return None
    return [row.get(name) for name in columns]


def request_rows(payload: Payload, columns: tuple[str, ...]) -> RequestRows:
    if payload.content_type == JSON_TYPE:
        document = _json(payload.body)
        instances = document.get("instances") if isinstance(document, dict) else None
        if not isinstance(instances, list) or not instances:
            raise BadRequestBody('no "instances" list')
        rows: list[list[object] | None] = []
        for row in instances:
            if isinstance(row, dict):
                rows.append(_named(row, columns))
            else:
                rows.append(row if isinstance(row, list) and len(row) == len(columns) else None)
        return RequestRows(rows, text=False)
    if payload.content_type == CSV_TYPE:
        try:
            text = payload.body.decode("utf-8-sig")
            lines = [row for row in csv.reader(io.StringIO(text)) if len(row) > 1 or (row and row[0].strip())]
        except (UnicodeDecodeError, csv.Error):
            raise BadRequestBody("not UTF-8 CSV") from None
        if lines and [cell.strip() for cell in lines[0]] == list(columns):
            lines = lines[1:]
        if not lines:
            raise BadRequestBody("no CSV rows")
        return RequestRows([list(row) if len(row) == len(columns) else None for row in lines], text=True)
    raise BadRequestBody(f"content type {payload.content_type or 'none'!r} is neither {JSON_TYPE} nor {CSV_TYPE}")


def answer(payload: Payload) -> Answer:
    """The response's predicted labels; an unreadable or error response counts as an error answer."""
    try:
        document = _json(payload.body) if payload.content_type == JSON_TYPE else None
    except BadRequestBody:
        document = None
    predictions = document.get("predictions") if isinstance(document, dict) else None
    if not isinstance(predictions, list):
        return Answer([], None, error=True)
    labels = [str(entry["label"]) for entry in predictions if isinstance(entry, dict) and "label" in entry]
    version = document.get("model_version") if isinstance(document, dict) else None
    return Answer(labels, None if version is None else str(version), error=False)
