"""Helpers the tests share: a temporary /opt/ml tree, the real entry point as a process, HTTP calls."""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TRAINING_IMAGE = Path(__file__).resolve().parent.parent
ENTRYPOINT = TRAINING_IMAGE / "entrypoint.py"
SAMPLE_DATA = TRAINING_IMAGE / "sample-data"
CHANNELS = ("train", "validation", "test")
EPOCH_LINE = re.compile(r"epoch=(\d+); train_loss=([0-9.]+); validation_loss=([0-9.]+); validation_accuracy=([0-9.]+);")
TEST_LINE = re.compile(r"test_accuracy=([0-9.]+);")
DIGEST_LINE = re.compile(r"Final weights sha256=([0-9a-f]{64}) \(rank (\d+)\)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def child_env(root: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment without any of the image's settings, plus SM_ROOT and ``extra``.

    One CPU thread per process: the runs here are small, and OpenMP threads that spin while the machine is
    busy (tests in parallel, other builds) make them many times slower.
    """
    prefixes = ("SM_", "MODEL_SERVER_", "SAGEMAKER_", "DLPLATFORM_")
    env = {key: value for key, value in os.environ.items() if not key.startswith(prefixes)}
    env.update({"SM_ROOT": str(root), "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"})
    env.update(extra or {})
    return env


def make_tree(
    root: Path,
    hyperparameters: Mapping[str, str] | None = None,
    channels: Iterable[str] = CHANNELS,
    resources: Mapping[str, Any] | None = None,
) -> Path:
    """A SageMaker /opt/ml tree at ``root`` with the digits sample data in ``channels``."""
    config = root / "input" / "config"
    config.mkdir(parents=True)
    (config / "hyperparameters.json").write_text(json.dumps(dict(hyperparameters or {})))
    data_config = {}
    for channel in channels:
        (root / "input" / "data" / channel).mkdir(parents=True)
        shutil.copy(SAMPLE_DATA / f"{channel}.csv", root / "input" / "data" / channel / f"{channel}.csv")
        data_config[channel] = {
            "ContentType": "text/csv",
            "TrainingInputMode": "File",
            "S3DistributionType": "FullyReplicated",
            "RecordWrapperType": "None",
        }
    (config / "inputdataconfig.json").write_text(json.dumps(data_config))
    if resources is not None:
        (config / "resourceconfig.json").write_text(json.dumps(resources))
    return root


@dataclass
class TrainResult:
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def epochs(self) -> list[int]:
        return [int(match[1]) for match in EPOCH_LINE.finditer(self.stdout)]

    @property
    def test_accuracy(self) -> float:
        match = TEST_LINE.search(self.stdout)
        assert match, f"no test_accuracy line in:\n{self.stdout}\n{self.stderr}"
        return float(match[1])

    @property
    def digests(self) -> list[str]:
        return [match[1] for match in DIGEST_LINE.finditer(self.stderr)]


def train_command() -> list[str]:
    return [sys.executable, str(ENTRYPOINT), "train"]


def run_train(root: Path, env: Mapping[str, str] | None = None, timeout: float = 240) -> TrainResult:
    """Runs `train` to the end; on timeout kills it with every process it started (its own session)."""
    started = time.monotonic()
    process = subprocess.Popen(
        train_command(),
        env=child_env(root, env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
        raise AssertionError(f"train timed out after {timeout} s:\n{stderr}") from None
    return TrainResult(process.returncode, stdout, stderr, time.monotonic() - started)


def start_train(root: Path, log: Path, env: Mapping[str, str] | None = None) -> subprocess.Popen[str]:
    """Training with stdout piped (to watch the epoch lines) and stderr to ``log``."""
    with log.open("w") as stderr:
        return subprocess.Popen(
            train_command(), env=child_env(root, env), stdout=subprocess.PIPE, stderr=stderr, text=True
        )


def wait_for_line(process: subprocess.Popen[str], pattern: str, timeout: float = 120) -> list[str]:
    """Reads stdout until a line matches ``pattern``; returns the lines read."""
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    lines = []
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            raise AssertionError(f"process ended (code {process.wait()}) before {pattern!r}; got {lines}")
        lines.append(line.rstrip("\n"))
        if re.search(pattern, line):
            return lines
    raise AssertionError(f"no line matching {pattern!r} within {timeout} s")


def checkpoint_names(root: Path) -> list[str]:
    folder = root / "checkpoints"
    return sorted(path.name for path in folder.glob("checkpoint-*.pt")) if folder.is_dir() else []


def read_metadata(root: Path) -> dict[str, Any]:
    return json.loads((root / "model" / "metadata.json").read_text())


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def request(
    port: int,
    method: str,
    path: str,
    body: bytes | Iterable[bytes] | None = None,
    headers: Mapping[str, str] | None = None,
    *,
    timeout: float = 30,
) -> Response:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        chunked = body is not None and not isinstance(body, bytes)
        connection.request(method, path, body=body, headers=dict(headers or {}), encode_chunked=chunked)
        response = connection.getresponse()
        return Response(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
    finally:
        connection.close()


def wait_until_serving(port: int, process: subprocess.Popen[bytes], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited with code {process.returncode} before answering /ping")
        try:
            if request(port, "GET", "/ping", timeout=2).status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"server did not answer /ping within {timeout} s")


def start_server(root: Path, port: int, log: Path, env: Mapping[str, str] | None = None) -> subprocess.Popen[bytes]:
    settings = {"MODEL_SERVER_HOST": "127.0.0.1", "SAGEMAKER_BIND_TO_PORT": str(port), **(env or {})}
    with log.open("wb") as output:
        return subprocess.Popen(
            [sys.executable, str(ENTRYPOINT), "serve"],
            env=child_env(root, settings),
            stdout=output,
            stderr=subprocess.STDOUT,
        )


def stop(process: subprocess.Popen[Any]) -> None:
    if process.poll() is None:
        process.kill()
        process.wait()


@contextmanager
def running_server(
    root: Path, port: int, log: Path, env: Mapping[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """`serve` on ``root``, answering /ping; stopped with SIGTERM (killed after 15 s) when the block ends."""
    process = start_server(root, port, log, env)
    try:
        wait_until_serving(port, process)
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                stop(process)
