"""Capture files as a SageMaker endpoint writes them (JSON Lines; "Capture data from real-time endpoint", View
Captured Data: https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-data-capture-endpoint.html), made from
request and response bodies, for the `monitor` tests."""

from __future__ import annotations

import base64
import csv
import io
import json
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

JSON_TYPE = "application/json"
CSV_TYPE = "text/csv"
WINDOW_START = datetime(2026, 3, 1, 13, 0, tzinfo=UTC)


def captured(body: bytes, content_type: str, mode: str, encoding: str | None = None) -> dict[str, str]:
    """One side of the capture: the text for the CSV and JSON content types the endpoint config lists (its
    CaptureContentTypeHeader), base64 for any other, or the ``encoding`` given."""
    if encoding is None:
        encoding = {CSV_TYPE: "CSV", JSON_TYPE: "JSON"}.get(content_type, "BASE64")
    data = base64.b64encode(body).decode("ascii") if encoding == "BASE64" else body.decode("utf-8")
    return {"observedContentType": content_type, "mode": mode, "data": data, "encoding": encoding}


def capture_line(
    request: bytes,
    content_type: str,
    response: bytes | None,
    time: datetime,
    *,
    encoding: str | None = None,
) -> str:
    capture = {"endpointInput": captured(request, content_type, "INPUT", encoding)}
    if response is not None:
        capture["endpointOutput"] = captured(response, JSON_TYPE, "OUTPUT", None if encoding is None else encoding)
    return json.dumps(
        {
            "captureData": capture,
            "eventMetadata": {"eventId": str(uuid.uuid4()), "inferenceTime": time.isoformat().replace("+00:00", "Z")},
            "eventVersion": "0",
        }
    )


def json_body(rows: Sequence[Sequence[object] | Mapping[str, object]]) -> bytes:
    """Positional rows (lists) or rows named by column (objects)."""
    return json.dumps({"instances": [row if isinstance(row, Mapping) else list(row) for row in rows]}).encode()


def csv_body(rows: Sequence[Sequence[object]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerows([["" if cell is None else cell for cell in row] for row in rows])
    return buffer.getvalue().encode()


def response_body(labels: Sequence[str], version: str) -> bytes:
    """The model server's answer shape (serve/payload.py), probabilities left out: `monitor` reads the labels."""
    return json.dumps({"predictions": [{"label": label} for label in labels], "model_version": version}).encode()


def capture_path(capture_dir: Path, endpoint: str, variant: str, hour: datetime, name: str) -> Path:
    """``<endpoint-name>/<variant-name>/yyyy/mm/dd/hh/<name>.jsonl``, as the endpoint lays its files out."""
    return capture_dir / endpoint / variant / hour.strftime("%Y/%m/%d/%H") / f"{name}.jsonl"


def write_lines(path: Path, lines: Sequence[str | bytes]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join((line if isinstance(line, bytes) else line.encode()) + b"\n" for line in lines))
    return path


def minutes(count: float) -> timedelta:
    return timedelta(minutes=count)
