"""Reads SageMaker's data-capture files: JSON Lines, one invocation per line.

The format, from "Capture data from real-time endpoint" (View Captured Data,
https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-data-capture-endpoint.html): files under
``<DestinationS3Uri>/<endpoint-name>/<variant-name>/yyyy/mm/dd/hh/<name>.jsonl``, each line

    {"captureData": {"endpointInput": {"observedContentType": "text/csv", "mode": "INPUT", "data": "...",
                                       "encoding": "CSV"},
                     "endpointOutput": {"observedContentType": "application/json", "mode": "OUTPUT", "data": "...",
                                        "encoding": "JSON"}},
     "eventMetadata": {"eventId": "...", "inferenceTime": "2022-02-14T17:25:49Z"}, "eventVersion": "0"}

``data`` is the body as text for the content types the endpoint config lists as CSV or JSON (CaptureContentTypeHeader),
and base64 for any other: "If no headers are specified SageMaker AI will by default base64 encode"
(https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_DataCaptureConfig.html). Either way the body is the
request (or response) exactly as sent, so one invocation may hold many rows.

A line that is not such a record is skipped and counted with its reason, never an error: the check runs over
whatever a window holds.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from ..settings import timestamp
from ..tabular.files import data_files

ENCODINGS = ("CSV", "JSON", "BASE64")


@dataclass(frozen=True)
class Payload:
    """A captured body: its media type ("text/csv", without parameters) and its bytes."""

    content_type: str
    body: bytes


@dataclass(frozen=True)
class CaptureRecord:
    time: datetime
    request: Payload
    response: Payload | None  # None when only the input is captured
    origin: str  # "<file> line <n>"


@dataclass(frozen=True)
class SkippedLine:
    origin: str
    reason: str


class MalformedLine(Exception):
    """The line is not a capture record; ``str(error)`` is the reason (a short, fixed phrase to count by)."""


def media_type(content_type: object) -> str:
    """'text/csv; charset=utf-8' -> 'text/csv'."""
    return str(content_type or "").split(";", 1)[0].strip().lower()


def _payload(data: Any, mode: str) -> Payload:
    if not isinstance(data, dict):
        raise MalformedLine(f"no captureData.endpoint{mode}")
    encoding, text = data.get("encoding"), data.get("data")
    if encoding not in ENCODINGS:
        raise MalformedLine(f"endpoint{mode} encoding is not one of {', '.join(ENCODINGS)}")
    if not isinstance(text, str):
        raise MalformedLine(f"endpoint{mode} data is not a string")
    if encoding == "BASE64":
        try:
            body = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise MalformedLine(f"endpoint{mode} data is not valid base64") from None
    else:
        body = text.encode("utf-8", errors="surrogatepass")
    return Payload(media_type(data.get("observedContentType")), body)


def parse_line(line: bytes, origin: str) -> CaptureRecord:
    """One line of a capture file; raises MalformedLine with the reason when it is not a capture record."""
    try:
        document = json.loads(line)
    except UnicodeDecodeError:
        raise MalformedLine("not UTF-8 text") from None
    except ValueError:
        raise MalformedLine("not JSON") from None
    if not isinstance(document, dict) or not isinstance(document.get("captureData"), dict):
        raise MalformedLine("no captureData")
    capture = document["captureData"]
    request = _payload(capture.get("endpointInput"), "Input")
    response = _payload(capture["endpointOutput"], "Output") if "endpointOutput" in capture else None
    metadata = document.get("eventMetadata")
    inference_time = metadata.get("inferenceTime") if isinstance(metadata, dict) else None
    if not isinstance(inference_time, str):
        raise MalformedLine("no eventMetadata.inferenceTime")
    try:
        time = timestamp(inference_time)
    except ValueError:
        raise MalformedLine("eventMetadata.inferenceTime is not an ISO-8601 time") from None
    return CaptureRecord(time, request, response, origin)


def read_capture(directory: Path) -> Iterator[CaptureRecord | SkippedLine]:
    """Every line of every file under ``directory`` (recursively, in path order; names starting with '.' or '_' are
    skipped), as a record or as a skipped line. Blank lines are neither. A missing folder holds nothing."""
    files = data_files(directory) if directory.is_dir() else []
    for path in files:
        name = path.relative_to(directory).as_posix()
        with path.open("rb") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                origin = f"{name} line {number}"
                try:
                    yield parse_line(line, origin)
                except MalformedLine as error:
                    yield SkippedLine(origin, str(error))
