"""The model server's request limits come from training-image/request-limits.json, the project's one table."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dlplatform.serve.limits import DEFAULT_LIMITS_FILE, LimitsError, RequestLimits

from .conftest import Server
from .support import TRAINING_IMAGE, free_port, request, start_server, stop, wait_until_serving
from .test_serve import ROWS, _csv_body

TABLE = json.loads((TRAINING_IMAGE / "request-limits.json").read_text())
MAX_ROWS = {kind: spec["maxRows"] for kind, spec in TABLE["contentTypes"].items()}


def _body(kind: str, rows: int) -> bytes:
    picked = [ROWS[i % len(ROWS)] for i in range(rows)]
    return json.dumps({"instances": picked}).encode() if kind == "application/json" else _csv_body(picked)


def test_the_image_carries_the_table_where_the_server_looks_for_it() -> None:
    dockerfile = (TRAINING_IMAGE / "Dockerfile").read_text()
    assert "WORKDIR /opt/program" in dockerfile
    assert "COPY request-limits.json ." in dockerfile  # /opt/program/request-limits.json
    assert "COPY src/ src/" in dockerfile  # /opt/program/src/dlplatform/serve/limits.py
    assert "!request-limits.json" in (TRAINING_IMAGE / ".dockerignore").read_text().splitlines()
    assert DEFAULT_LIMITS_FILE == TRAINING_IMAGE / "request-limits.json"


def test_the_server_reads_the_repository_table() -> None:
    limits = RequestLimits.load({})
    assert limits.endpoint_max_bytes == TABLE["endpointMaxBytes"] == 6 * 1024 * 1024
    assert dict(limits.max_rows) == MAX_ROWS


@pytest.mark.parametrize("kind", sorted(MAX_ROWS))
def test_accepts_the_most_rows_the_table_allows(server: Server, kind: str) -> None:
    response = request(server.port, "POST", "/invocations", _body(kind, MAX_ROWS[kind]), {"Content-Type": kind})
    assert response.status == 200
    assert len(response.json()["predictions"]) == MAX_ROWS[kind]


@pytest.mark.parametrize("kind", sorted(MAX_ROWS))
def test_rejects_one_row_more_than_the_table_allows_with_413(server: Server, kind: str) -> None:
    rows = MAX_ROWS[kind] + 1
    response = request(server.port, "POST", "/invocations", _body(kind, rows), {"Content-Type": kind})
    assert response.status == 413
    assert (
        f"The request has {rows} rows; {kind} requests may have at most {MAX_ROWS[kind]} rows"
        in (response.json()["error"])
    )


def test_dlplatform_request_limits_points_the_server_at_another_table(serving_root: Path, tmp_path: Path) -> None:
    table = tmp_path / "limits.json"
    table.write_text(
        json.dumps({"endpointMaxBytes": 1000, "contentTypes": {"text/csv": {"maxBytes": 1000, "maxRows": 2}}})
    )
    port = free_port()
    process = start_server(serving_root, port, tmp_path / "server.log", {"DLPLATFORM_REQUEST_LIMITS": str(table)})
    try:
        wait_until_serving(port, process)
        csv = {"Content-Type": "text/csv"}
        assert request(port, "POST", "/invocations", _csv_body(ROWS[:2]), csv).status == 200
        assert request(port, "POST", "/invocations", _csv_body(ROWS[:3]), csv).status == 413
        assert request(port, "POST", "/invocations", b"1" * 1001, csv).status == 413
        json_only = request(port, "POST", "/invocations", b'{"instances": [[1]]}', {"Content-Type": "application/json"})
        assert json_only.status == 415
        assert "use text/csv" in json_only.json()["error"]
        assert request(port, "GET", "/execution-parameters").json()["MaxPayloadInMB"] == 0
    finally:
        stop(process)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{", "Cannot read the request limits from"),
        ('{"contentTypes": {}}', "need endpointMaxBytes and contentTypes.*.maxRows"),
        ('{"endpointMaxBytes": "6MB", "contentTypes": {}}', "endpointMaxBytes must be a positive whole number"),
        ('{"endpointMaxBytes": 5, "contentTypes": {"text/csv": {"maxRows": 0}}}', "text/csv must be a positive"),
    ],
)
def test_a_broken_limits_table_is_a_clear_error(tmp_path: Path, content: str, message: str) -> None:
    table = tmp_path / "limits.json"
    table.write_text(content)
    with pytest.raises(LimitsError, match=message.replace("*", r"\*")):
        RequestLimits.load({"DLPLATFORM_REQUEST_LIMITS": str(table)})


def test_the_server_refuses_to_start_without_its_limits_table(serving_root: Path, tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    env = {"DLPLATFORM_REQUEST_LIMITS": str(tmp_path / "missing.json")}
    process = start_server(serving_root, free_port(), log, env)
    try:
        assert process.wait(timeout=60) == 2
    finally:
        stop(process)
    assert "Cannot read the request limits from" in log.read_text()
