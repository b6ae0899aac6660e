"""The real `serve` entry point: SageMaker's /ping and /invocations contract, errors, limits and shutdown."""

from __future__ import annotations

import csv
import json
import math
import signal
import time
from pathlib import Path

import pytest

from .conftest import Server, TrainedModel
from .support import (
    SAMPLE_DATA,
    free_port,
    read_metadata,
    request,
    start_server,
    stop,
    wait_until_serving,
)

SIX_MB = 6 * 1024 * 1024
JSON = {"Content-Type": "application/json"}
CSV = {"Content-Type": "text/csv"}


def _test_rows() -> tuple[list[list[int]], list[str]]:
    with (SAMPLE_DATA / "test.csv").open() as handle:
        rows = list(csv.reader(handle))[1:]
    return [[int(v) for v in row[:-1]] for row in rows], [row[-1] for row in rows]


ROWS, LABELS = _test_rows()


def _csv_body(rows: list[list[int]]) -> bytes:
    return "".join(",".join(map(str, row)) + "\n" for row in rows).encode()


def test_ping_answers_200_within_2_seconds(server: Server) -> None:
    started = time.monotonic()
    response = request(server.port, "GET", "/ping", timeout=2)
    assert response.status == 200
    assert time.monotonic() - started < 2


def test_json_prediction_has_the_contract_shape(server: Server, trained: TrainedModel) -> None:
    response = request(server.port, "POST", "/invocations", json.dumps({"instances": ROWS[:1]}).encode(), JSON)

    assert response.status == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"predictions", "model_version"}
    assert body["model_version"] == read_metadata(trained.root)["model_version"]
    [prediction] = body["predictions"]
    assert set(prediction) == {"label", "probabilities"}
    probabilities = prediction["probabilities"]
    assert list(probabilities) == [str(d) for d in range(10)]
    assert all(isinstance(p, float) and 0 <= p <= 1 for p in probabilities.values())
    assert math.isclose(sum(probabilities.values()), 1, abs_tol=1e-4)
    assert prediction["label"] == max(probabilities, key=probabilities.__getitem__)
    assert prediction["label"] == LABELS[0]


def test_csv_batch_of_the_whole_test_set_scores_at_least_97_percent(server: Server) -> None:
    response = request(
        server.port, "POST", "/invocations", _csv_body(ROWS), {"Content-Type": "text/csv; charset=utf-8"}
    )

    assert response.status == 200
    predicted = [p["label"] for p in response.json()["predictions"]]
    assert len(predicted) == len(LABELS)
    assert sum(p == t for p, t in zip(predicted, LABELS, strict=True)) / len(LABELS) >= 0.97


def test_csv_and_json_give_the_same_answer_and_a_feature_name_header_is_skipped(server: Server) -> None:
    header = ",".join(f"p{i}" for i in range(64)) + "\n"
    with_header = request(server.port, "POST", "/invocations", header.encode() + _csv_body(ROWS[:3]), CSV)
    as_json = request(server.port, "POST", "/invocations", json.dumps({"instances": ROWS[:3]}).encode(), JSON)
    assert with_header.status == as_json.status == 200
    assert with_header.json() == as_json.json()


WIDE = [0] * 64


@pytest.mark.parametrize(
    ("content_type", "body", "message"),
    [
        ("application/json", b"{not json", "Invalid JSON"),
        ("application/json", b'{"rows": [[1]]}', 'must be an object with "instances"'),
        ("application/json", b'{"instances": []}', "non-empty list"),
        ("application/json", json.dumps({"instances": [[1, 2, 3]]}).encode(), "instances[0] has 3 values"),
        ("application/json", json.dumps({"instances": [[*WIDE[:-1], "7"]]}).encode(), 'instances[0][63] is "7"'),
        ("application/json", json.dumps({"instances": [[*WIDE[:-1], True]]}).encode(), "instances[0][63] is true"),
        ("application/json", ('{"instances": [[NaN' + ",0" * 63 + "]]}").encode(), "NaN is not a valid number"),
        ("application/json", ('{"instances": [[0' + ",0" * 62 + ",-Infinity]]}").encode(), "-Infinity is not"),
        ("application/json", ('{"instances": [[1e999' + ",0" * 63 + "]]}").encode(), "not a finite number"),
        ("application/json", json.dumps({"instances": [WIDE, 5]}).encode(), "instances[1] must be a list"),
        ("application/json", b"", "The request body is empty"),
        ("text/csv", b"  \n\n", "The request body is empty"),
        ("text/csv", ("1" + ",x" * 63).encode(), 'CSV row 1, column 2 is "x", not a number'),
        ("text/csv", ("0," * 63 + "nan").encode(), "CSV row 1, column 64 is not a finite number"),
        ("text/csv", b"1,2,3\n", "CSV row 1 has 3 values; the model expects 64"),
        ("text/csv", b"\xff\xfe", "not UTF-8"),
        ("text/csv", b"1" * 200_000, "Invalid CSV: field larger than field limit"),
        ("application/json", b"[" * 100_000 + b"]" * 100_000, "Invalid JSON: depth limit exceeded"),
        ("application/json", b'{"instances": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "Invalid JSON"),
        ("application/json", json.dumps({"instances": [[*WIDE[:-1], 1e39]]}).encode(), "beyond float32's range"),
    ],
    ids=[
        "invalid json",
        "missing instances",
        "empty instances",
        "wrong width",
        "string value",
        "boolean value",
        "NaN",
        "Infinity",
        "overflow to infinity",
        "row not a list",
        "empty body",
        "blank csv",
        "csv non-number",
        "csv nan",
        "csv wrong width",
        "not utf-8",
        "csv field over the csv module's limit",
        "100,000-deep nested arrays",
        "100,000-deep nested instances",
        "beyond float32",
    ],
)
def test_bad_input_gets_400_with_a_json_error(server: Server, content_type: str, body: bytes, message: str) -> None:
    response = request(server.port, "POST", "/invocations", body, {"Content-Type": content_type})
    assert response.status == 400
    assert response.headers["content-type"] == "application/json"
    assert message in response.json()["error"]


@pytest.mark.parametrize("content_type", ["application/x-npy", "text/plain", None])
def test_an_unsupported_content_type_gets_415(server: Server, content_type: str | None) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    response = request(server.port, "POST", "/invocations", b"1,2", headers)
    assert response.status == 415
    assert "use application/json or text/csv" in response.json()["error"]


@pytest.mark.parametrize(("method", "path"), [("GET", "/invocations"), ("PUT", "/invocations"), ("POST", "/ping")])
def test_a_wrong_method_gets_405_with_allow(server: Server, method: str, path: str) -> None:
    response = request(server.port, method, path, b"" if method != "GET" else None)
    assert response.status == 405
    assert response.headers["allow"] in ("POST", "GET, HEAD")
    assert "error" in response.json()


def test_an_unknown_path_gets_404(server: Server) -> None:
    response = request(server.port, "GET", "/predict")
    assert response.status == 404
    assert "No such path" in response.json()["error"]


def test_accepts_a_payload_of_exactly_6_mb(server: Server) -> None:
    rows = _csv_body(ROWS[:5])
    body = rows + b"\n" * (SIX_MB - len(rows))
    response = request(server.port, "POST", "/invocations", body, CSV)
    assert response.status == 200
    assert len(response.json()["predictions"]) == 5


def test_rejects_a_payload_over_6_mb_with_413(server: Server) -> None:
    response = request(server.port, "POST", "/invocations", b"0" * (SIX_MB + 1), CSV)
    assert response.status == 413
    assert "over the limit of 6291456 bytes" in response.json()["error"]


def test_rejects_a_chunked_payload_over_6_mb_with_413(server: Server) -> None:
    chunks = (b"0" * (1024 * 1024) for _ in range(7))
    response = request(server.port, "POST", "/invocations", chunks, CSV)
    assert response.status == 413


def test_keeps_answering_after_bad_requests(server: Server) -> None:
    for _ in range(5):
        assert request(server.port, "POST", "/invocations", b"{", JSON).status == 400
        assert request(server.port, "POST", "/invocations", b"0" * (SIX_MB + 1), CSV).status == 413
    assert request(server.port, "GET", "/ping").status == 200
    ok = request(server.port, "POST", "/invocations", json.dumps({"instances": ROWS[:2]}).encode(), JSON)
    assert ok.status == 200
    assert server.process.poll() is None
    assert b"Traceback" not in server.log.read_bytes()


def test_execution_parameters_describe_batch_transform_limits(server: Server) -> None:
    response = request(server.port, "GET", "/execution-parameters")
    assert response.status == 200
    assert response.json() == {"MaxConcurrentTransforms": 2, "BatchStrategy": "MULTI_RECORD", "MaxPayloadInMB": 6}


def test_starts_the_configured_workers_and_shuts_down_cleanly_on_sigterm(serving_root: Path, tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "server.log"
    # A graceful timeout far beyond this test's wait: the server exits in time only if every worker stops by itself
    # (one still warming up included), never because the master kills them when the graceful timeout ends.
    settings = {"MODEL_SERVER_WORKERS": "3", "MODEL_SERVER_GRACEFUL_TIMEOUT": "3600"}
    process = start_server(serving_root, port, log, settings)
    try:
        wait_until_serving(port, process)
        assert request(port, "POST", "/invocations", json.dumps({"instances": ROWS[:1]}).encode(), JSON).status == 200
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
    finally:
        stop(process)
    text = log.read_text()
    assert text.count("Booting worker") == 3
    assert "Shutting down: Master" in text
    with pytest.raises(ConnectionRefusedError):
        request(port, "GET", "/ping", timeout=2)


def test_refuses_to_start_without_a_model_or_with_bad_settings(tmp_path: Path) -> None:
    empty = tmp_path / "opt-ml"
    (empty / "model").mkdir(parents=True)
    port = free_port()
    no_model = start_server(empty, port, tmp_path / "no-model.log")
    bad_workers = start_server(empty, port, tmp_path / "bad.log", {"MODEL_SERVER_WORKERS": "lots"})
    try:
        assert no_model.wait(timeout=60) == 1
        assert bad_workers.wait(timeout=60) == 2
    finally:
        stop(no_model)
        stop(bad_workers)
    assert "Cannot load the model from" in (tmp_path / "no-model.log").read_text()
    assert "MODEL_SERVER_WORKERS='lots' must be a whole number" in (tmp_path / "bad.log").read_text()
