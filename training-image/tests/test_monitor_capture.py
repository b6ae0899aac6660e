"""`monitor` reads SageMaker's capture format: every encoding (CSV, JSON, BASE64), both request content types,
positional and named rows, the window's bounds, and malformed lines skipped and counted, never a crash."""

from __future__ import annotations

import base64
import json
from datetime import timedelta, timezone
from pathlib import Path

import numpy as np
import pytest

from dlplatform.monitor.capture import CaptureRecord, SkippedLine, read_capture
from dlplatform.monitor.config import MonitorConfig
from dlplatform.monitor.report import build_report
from dlplatform.monitor.window import Window, read_category
from dlplatform.serve.payload import BadRequest, RowSchema, _coded
from dlplatform.tabular.baseline import Baseline, ClassDistribution, fit_categorical, fit_numeric

from .capture_support import (
    CSV_TYPE,
    JSON_TYPE,
    WINDOW_START,
    capture_line,
    capture_path,
    csv_body,
    json_body,
    minutes,
    response_body,
    write_lines,
)

COLUMNS = ("a", "unused", "region")  # the request columns; the model does not use "unused"
VERSION = "v1"
BASELINE = Baseline(
    features=(fit_numeric("a", np.arange(1.0, 11.0)), fit_categorical("region", ["n", "s", "s"])),
    label_column="label",
    labels=None,
    source="a test",
    prediction=ClassDistribution(("x", "y"), (1, 1)),
)
ROWS = [[1, 0, "n"], [5.5, 0, "s"], [None, 0, None]]  # the last one: two gaps, a valid row
LABELS = ["x", "y", "x"]


def window(capture: Path, start: object = None, end: object = None) -> Window:
    result = Window(BASELINE, COLUMNS, VERSION, start, end)  # type: ignore[arg-type]
    for item in read_capture(capture):
        result.add(item)
    return result


def line(
    body: bytes, content_type: str, *, at: float = 1, encoding: str | None = None, answer: bytes | None = None
) -> str:
    reply = response_body(LABELS, VERSION) if answer is None else answer
    return capture_line(body, content_type, reply, WINDOW_START + minutes(at), encoding=encoding)


def test_reads_csv_json_and_base64_captures_as_the_same_rows(tmp_path: Path) -> None:
    lines = [
        line(json_body(ROWS), JSON_TYPE),  # encoding JSON
        line(csv_body(ROWS), CSV_TYPE),  # encoding CSV
        line(json_body(ROWS), JSON_TYPE, encoding="BASE64"),  # a content type the capture config does not list
        line(csv_body(ROWS), CSV_TYPE, encoding="BASE64"),
    ]
    write_lines(capture_path(tmp_path, "endpoint", "AllTraffic", WINDOW_START, "00-01-000-a"), lines)
    result = window(tmp_path)
    assert (result.requests, result.records, result.invalid, sum(result.skipped.values())) == (4, 12, 0, 0)
    a, region = result.feature_counts()
    assert BASELINE.features[0].bin_edges == (1, 2, 3, 4, 5, 6, 7, 8, 9)
    assert (a.bins.tolist(), a.missing) == ([4, 0, 0, 0, 0, 4, 0, 0, 0, 0], 4)  # 1 and 5.5, four times each
    assert BASELINE.features[1].bin_labels() == ["s", "n", "other"]
    assert (region.bins.tolist(), region.missing) == ([4, 4, 0], 4)
    assert result.prediction_counts().tolist() == [8, 4]


def test_a_captured_line_keeps_the_body_exactly_as_base64_carried_it(tmp_path: Path) -> None:
    body = b"1,0,n\r\n2,0,s\r\n"
    record = {
        "captureData": {
            "endpointInput": {"observedContentType": "text/csv; charset=utf-8", "mode": "INPUT",
                              "data": base64.b64encode(body).decode(), "encoding": "BASE64"},
        },
        "eventMetadata": {"eventId": "e", "inferenceTime": "2026-03-01T13:00:01.250Z"},
        "eventVersion": "0",
    }  # fmt: skip
    write_lines(tmp_path / "f.jsonl", [json.dumps(record)])
    (item,) = list(read_capture(tmp_path))
    assert isinstance(item, CaptureRecord)
    assert (item.request.content_type, item.request.body, item.response) == ("text/csv", body, None)
    assert item.time.isoformat() == "2026-03-01T13:00:01.250000+00:00"
    assert item.origin == "f.jsonl line 1"


MALFORMED = [
    (b"not json at all", "not JSON"),
    (b"[1, 2]", "no captureData"),
    (b'{"captureData": {}}', "no captureData.endpointInput"),
    (b'{"captureData": {"endpointInput": {"data": "1,2", "encoding": "XML"}}}', "endpointInput encoding is not"),
    (b'{"captureData": {"endpointInput": {"data": "%%%", "encoding": "BASE64"}}}', "not valid base64"),
    (b'{"captureData": {"endpointInput": {"data": 12, "encoding": "CSV"}}}', "endpointInput data is not a string"),
    (b'{"captureData": {"endpointInput": {"data": "1", "encoding": "CSV"}}}', "no eventMetadata.inferenceTime"),
    (
        b'{"captureData": {"endpointInput": {"data": "1", "encoding": "CSV"}}, '
        b'"eventMetadata": {"inferenceTime": "noon"}}',
        "inferenceTime is not an ISO-8601 time",
    ),
    (b'{"captureData": \xff\xfe}', "not UTF-8 text"),
]


def test_skips_and_counts_malformed_lines_and_keeps_reading(tmp_path: Path) -> None:
    good = line(json_body(ROWS), JSON_TYPE)
    lines: list[str | bytes] = [good, b"   "]
    for text, _ in MALFORMED:
        lines += [text, good]
    write_lines(tmp_path / "endpoint" / "v" / "2026" / "03" / "01" / "13" / "x.jsonl", lines)
    items = list(read_capture(tmp_path))
    skipped = [item for item in items if isinstance(item, SkippedLine)]
    assert [item.origin for item in skipped][:2] == ["endpoint/v/2026/03/01/13/x.jsonl line 3",
                                                     "endpoint/v/2026/03/01/13/x.jsonl line 5"]  # fmt: skip
    for item, (_, reason) in zip(skipped, MALFORMED, strict=True):
        assert reason in item.reason
    result = window(tmp_path)
    assert result.requests == len(MALFORMED) + 1
    assert result.records == 3 * (len(MALFORMED) + 1)
    assert sum(result.skipped.values()) == len(MALFORMED)
    report = build_report(result, MonitorConfig(min_records=1))
    assert report["skipped_lines"] == len(MALFORMED)
    assert report["skipped_examples"][0] == "endpoint/v/2026/03/01/13/x.jsonl line 3: not JSON"


def test_leaves_out_records_outside_the_window_start_inclusive_end_exclusive(tmp_path: Path) -> None:
    lines = [line(json_body(ROWS), JSON_TYPE, at=at) for at in (-0.5, 0, 30, 59.9, 60, 61)]
    write_lines(tmp_path / "f.jsonl", lines)
    result = window(tmp_path, WINDOW_START, WINDOW_START + minutes(60))
    assert (result.requests, result.outside_window, result.records) == (3, 3, 9)
    config = MonitorConfig(window_start=WINDOW_START.astimezone(timezone(timedelta(hours=2))))
    assert build_report(result, config)["window"] == {"start": "2026-03-01T13:00:00Z", "end": None}


def test_counts_rows_the_model_cannot_take_as_invalid_and_keeps_the_valid_rows_of_the_same_request(
    tmp_path: Path,
) -> None:
    mixed = [[1, 0, "n"], [1, 0], ["seven", 0, "n"], [True, 0, "n"], [2, 0, {"x": 1}], [3, 0, "s"]]
    lines = [
        line(json_body(mixed), JSON_TYPE),  # 2 valid, 4 invalid
        line(b"1,0,n\n1,abc,n\nabc,0,n\n", CSV_TYPE),  # the unused column is not read: 2 valid, 1 invalid
        line(b'{"instances": [[1, 0, "n"]', JSON_TYPE),  # not JSON: 1 invalid
        line(b"<rows/>", "application/xml"),  # a content type the server refuses: 1 invalid
        line(json_body(ROWS), JSON_TYPE, answer=b'{"error": "instances[0] has 2 values"}'),  # an error answer
    ]
    write_lines(tmp_path / "f.jsonl", lines)
    result = window(tmp_path)
    assert (result.records, result.invalid, result.error_answers) == (4, 4 + 1 + 1 + 1 + 3, 1)
    report = build_report(result, MonitorConfig(min_records=1))
    assert report["invalid_input_rate"] == pytest.approx(10 / 14)
    assert report["metrics"]["InvalidInputRate"] == pytest.approx(10 / 14)


def test_reads_rows_named_by_column_and_skips_a_csv_header_of_the_column_names(tmp_path: Path) -> None:
    named = [
        {"region": "s", "a": 2, "unused": 0},
        {"a": 2, "region": "s"},
        {"a": 2, "unused": 0, "region": "s", "z": 1},
    ]
    lines = [
        # 2 valid (the server takes a row without the columns the model does not use); an unknown name is invalid
        line(json_body(named), JSON_TYPE),
        line(b"a,unused,region\n2,0,s\n", CSV_TYPE),  # 1 valid row after the header
    ]
    write_lines(tmp_path / "f.jsonl", lines)
    result = window(tmp_path)
    assert (result.records, result.invalid) == (3, 1)
    assert result.feature_counts()[1].bins.tolist() == [3, 0, 0]  # "s" three times


def test_leaves_out_predictions_of_another_model_version(tmp_path: Path) -> None:
    lines = [
        line(json_body(ROWS), JSON_TYPE, answer=response_body(LABELS, "v0")),
        line(json_body(ROWS), JSON_TYPE),
        line(json_body(ROWS), JSON_TYPE, answer=response_body(["x", "z", "y"], VERSION)),  # a class it never had
    ]
    write_lines(tmp_path / "f.jsonl", lines)
    result = window(tmp_path)
    assert result.records == 9
    assert result.prediction_counts().tolist() == [3, 2]
    assert result.other_model_predictions == 4


@pytest.mark.parametrize("cell", ["NA", "null", " n/a ", "", "?", None, "north", "NAN", "0", True, 3])
def test_a_text_column_gap_is_a_gap_for_the_monitor_exactly_when_the_model_server_codes_it_as_one(cell: object) -> None:
    # JSON and CSV alike: the server codes a gap as NaN (payload._coded), so the window must count it as missing, not
    # as a category "NA" the training split never had.
    schema = RowSchema(("region",), frozenset({"region"}), {0: lambda text: 1.0})
    try:
        server_gap = bool(np.isnan(_coded([[cell]], "row {row}", schema, allow_missing=True)[0][0]))
    except BadRequest:  # the server refuses a non-text value in a text column: not a gap either
        server_gap = False
    readable, category = read_category(cell)
    assert readable
    assert (category is None) == server_gap
