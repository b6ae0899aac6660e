"""The model server's processes: a killed worker is replaced, and SIGTERM lets requests in flight finish."""

from __future__ import annotations

import json
import os
import re
import signal
import time
from pathlib import Path

from dlplatform.model.artifact import FORMAT_VERSION, write_model
from dlplatform.model.network import Architecture, build_model

from .raw_http import RawConnection, post
from .support import free_port, request, start_server, stop, wait_until_serving
from .test_serve import LABELS, ROWS

BOOTED = re.compile(r"Booting worker with pid: (\d+)")
JSON = {"Content-Type": "application/json"}


def _booted(log: Path) -> list[int]:
    return [int(pid) for pid in BOOTED.findall(log.read_text())]


def _wait_for(condition, timeout: float = 120) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.1)


def test_a_killed_worker_is_replaced_and_serving_goes_on(serving_root: Path, tmp_path: Path) -> None:
    port, log = free_port(), tmp_path / "server.log"
    process = start_server(serving_root, port, log, {"MODEL_SERVER_WORKERS": "2"})
    try:
        wait_until_serving(port, process)
        _wait_for(lambda: len(_booted(log)) == 2)
        os.kill(_booted(log)[0], signal.SIGKILL)
        _wait_for(lambda: len(_booted(log)) == 3)
        body = json.dumps({"instances": ROWS[:2]}).encode()
        answers = [request(port, "POST", "/invocations", body, JSON) for _ in range(20)]
        assert [a.status for a in answers] == [200] * 20
        assert process.poll() is None
    finally:
        stop(process)


def test_sigterm_finishes_the_request_in_flight_closes_idle_connections_and_exits_0(
    serving_root: Path, tmp_path: Path
) -> None:
    port, log = free_port(), tmp_path / "server.log"
    # A graceful timeout far beyond this test's wait, so that the exit below comes from the drain, not from the
    # master killing the worker when the graceful timeout ends.
    settings = {"MODEL_SERVER_WORKERS": "1", "MODEL_SERVER_GRACEFUL_TIMEOUT": "3600"}
    process = start_server(serving_root, port, log, settings)
    try:
        wait_until_serving(port, process)
        message = post("/invocations", json.dumps({"instances": [ROWS[7]]}).encode())
        with RawConnection(port) as busy, RawConnection(port) as idle:
            busy.send(message[:-20])  # the head and most of the body: a request in flight
            idle.send(b"GET /ping HTTP/1.1\r\nHost: x\r\n\r\n")
            assert idle.read_response().status == 200
            time.sleep(0.5)
            process.send_signal(signal.SIGTERM)
            assert idle.closed_by_server()
            busy.send(message[-20:])
            answer = busy.read_response()
            assert busy.closed_by_server()
        assert answer.status == 200
        assert answer.headers["connection"] == "close"
        assert answer.json()["predictions"][0]["label"] == LABELS[7]
        assert process.wait(timeout=60) == 0
    finally:
        stop(process)


def _slow_to_warm_up(root: Path) -> Path:
    """A model folder whose warm-up takes a worker tens of seconds: a CNN on 64x64 images (about 150 MFLOP a row),
    and a worker warms up every batch size from 1 to 128 rows once."""
    side = 64
    arch = Architecture("cnn", side * side, 2, (4,), 0.0, image_side=side)
    metadata = {
        "format_version": FORMAT_VERSION,
        "model_version": "slow-to-warm-up",
        "architecture": arch.to_dict(),
        "feature_names": [f"p{i}" for i in range(side * side)],
        "labels": ["a", "b"],
        "normalization": {"mean": [0.0] * side * side, "std": [1.0] * side * side},
    }
    write_model(root / "model", build_model(arch).state_dict(), metadata)
    return root


def test_a_worker_still_warming_up_stops_at_once_on_sigterm(tmp_path: Path) -> None:
    root = _slow_to_warm_up(tmp_path / "opt-ml")
    port, log = free_port(), tmp_path / "server.log"
    # The master would wait an hour for the worker: the exit below can only come from the worker stopping itself.
    settings = {"MODEL_SERVER_WORKERS": "1", "MODEL_SERVER_GRACEFUL_TIMEOUT": "3600"}
    process = start_server(root, port, log, settings)
    try:
        _wait_for(lambda: "warming up the model" in log.read_text())
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
    finally:
        stop(process)
    text = log.read_text()
    assert "Worker exiting" in text
    assert "runs the model on" not in text, "the worker finished its warm-up before stopping"
    assert "Shutting down: Master" in text
