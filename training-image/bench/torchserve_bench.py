"""Serving bench, TorchServe part (prints figures; not a test): the project's `serve` against TorchServe 0.12.

    .venv/bin/python training-image/bench/torchserve_bench.py [SM_ROOT_WITH_A_TRAINED_MODEL]

Issue 21: the model server must stay ahead of TorchServe 0.12 with its dynamic batching on. Both servers run at
the same time on 127.0.0.1 with the same model artifact, the same torch and the same number of worker processes
with one torch thread each:
- ours: training-image/entrypoint.py serve (as serve_bench.py starts it: micro-batching of at most
  MODEL_SERVER_MAX_BATCH_ROWS rows, default 64, waiting MODEL_SERVER_MAX_BATCH_DELAY_US, default 0);
- TorchServe 0.12.0 (Java frontend, Python workers) from its own venv (TORCHSERVE_VENV, default
  .venv-torchserve at the repository root: training-image/bench/requirements-torchserve.txt, torch reused from
  .venv), serving a model archive of the same model folder with torchserve/handler.py, which runs the image's
  own Predictor and payload code; configured by torchserve/config.properties.template (batchSize
  BENCH_TS_BATCH_SIZE requests, default 8; maxBatchDelay BENCH_TS_MAX_BATCH_DELAY_MS, default 1; the same
  worker count) and torchserve/log4j2.xml (warnings and errors only).
wrk loads each with one-row and with eight-row JSON POSTs (post-one-row.lua, post-eight-rows.lua; ours at
/invocations, TorchServe at its inference API /predictions/digits) at each concurrency, in rounds that
alternate which server goes first. Prints requests/s, p50, p99 and errors per server and the ratios.

Without an argument it first trains the digits model (the real `train`, default hyperparameters).
Settings (environment): BENCH_DURATION (seconds per round, 5), BENCH_ROUNDS (3), BENCH_CONCURRENCY
("1,10,50"), BENCH_WORKERS (2), and the three above. Needs wrk and Java 11 or newer (TorchServe's frontend).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from string import Template

from serve_bench import (
    CONCURRENCY,
    DURATION,
    HERE,
    IMAGE,
    ROUNDS,
    WORKERS,
    Result,
    Round,
    Server,
    child_env,
    combine,
    free_port,
    load,
    model_root,
    start_ours,
    wait_for_ping,
)

REPO = IMAGE.parent
TORCHSERVE = HERE / "torchserve"
MODEL_NAME = "digits"
TS_BATCH_SIZE = int(os.environ.get("BENCH_TS_BATCH_SIZE") or 8)
TS_MAX_BATCH_DELAY_MS = int(os.environ.get("BENCH_TS_MAX_BATCH_DELAY_MS") or 1)
SHAPES = {1: "post-one-row.lua", 8: "post-eight-rows.lua"}  # rows per request -> wrk script
OURS, THEIRS = "serve", "TorchServe"


def need_tools() -> tuple[str, Path]:
    """wrk and the TorchServe venv's bin folder, or the reason the bench cannot run (exit code 2)."""
    wrk = shutil.which("wrk")
    java = Path(os.environ["JAVA_HOME"]) / "bin" / "java" if os.environ.get("JAVA_HOME") else shutil.which("java")
    venv = Path(os.environ.get("TORCHSERVE_VENV") or REPO / ".venv-torchserve")
    problems = []
    if wrk is None:
        problems.append("wrk not installed (Debian/Ubuntu: apt-get install -y wrk)")
    if java is None or not Path(java).exists():
        problems.append("java not found (TorchServe's frontend needs Java 11 or newer; set JAVA_HOME or PATH)")
    if not (venv / "bin" / "torchserve").exists() or not (venv / "bin" / "torch-model-archiver").exists():
        problems.append(f"no torchserve in {venv} (pip install -r {HERE / 'requirements-torchserve.txt'})")
    if problems:
        print(f"torchserve bench: {'; '.join(problems)}", file=sys.stderr)
        sys.exit(2)
    return str(wrk), venv / "bin"


def archive(root: Path, work: Path, bin_dir: Path) -> Path:
    """A model store holding digits.mar: the model folder's files the Predictor reads, and handler.py."""
    model = root / "model"
    store = work / "model-store"
    store.mkdir()
    extra = [str(model / name) for name in ("metadata.json", "preprocessing.json") if (model / name).exists()]
    command = [
        str(bin_dir / "torch-model-archiver"), "--model-name", MODEL_NAME, "--version", "1.0",
        "--serialized-file", str(model / "model.pt"), "--extra-files", ",".join(extra),
        "--handler", str(TORCHSERVE / "handler.py"), "--export-path", str(store),
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        sys.exit(f"torch-model-archiver failed:\n{result.stdout}{result.stderr}")
    return store


@dataclass
class TorchServe(Server):
    """TorchServe's launcher (`torchserve --foreground`) and the Java frontend and Python workers it starts.

    The launcher is its own process group; its pid file sits in the bench's temp folder (TMPDIR), so
    `torchserve --stop` stops this instance only.
    """

    env: dict[str, str] = field(default_factory=dict)
    bin_dir: Path = Path()

    def stop(self) -> None:
        launcher = self.processes[0]
        if launcher.poll() is None:
            subprocess.run(
                [str(self.bin_dir / "torchserve"), "--stop"], env=self.env, capture_output=True, timeout=60, check=False
            )
            with contextlib.suppress(subprocess.TimeoutExpired):
                launcher.wait(timeout=30)
        # Whatever of the group is left (its id is the launcher's pid, which Linux does not hand out again while
        # the group has members).
        with contextlib.suppress(ProcessLookupError):
            os.killpg(launcher.pid, signal.SIGKILL)
        launcher.wait()


def start_torchserve(root: Path, work: Path, bin_dir: Path) -> TorchServe:
    store = archive(root, work, bin_dir)
    port = free_port()
    config = Template((TORCHSERVE / "config.properties.template").read_text()).substitute(
        port=port, management_port=free_port(), metrics_port=free_port(), model_store=store,
        workers=WORKERS, batch_size=TS_BATCH_SIZE, max_batch_delay_ms=TS_MAX_BATCH_DELAY_MS,
    )  # fmt: skip
    (work / "config.properties").write_text(config)
    ts_tmp = work / "torchserve-tmp"
    ts_tmp.mkdir()
    env = child_env(
        root, DLPLATFORM_SRC=str(IMAGE / "src"), TMPDIR=str(ts_tmp), TEMP=str(ts_tmp),
        LOG_LOCATION=str(work / "torchserve-logs"), METRICS_LOCATION=str(work / "torchserve-logs"),
    )  # fmt: skip
    log = (work / "torchserve.log").open("wb")
    command = [
        str(bin_dir / "torchserve"), "--start", "--foreground", "--ncs", "--disable-token-auth",
        "--ts-config", str(work / "config.properties"), "--log-config", str(TORCHSERVE / "log4j2.xml"),
    ]  # fmt: skip
    launcher = subprocess.Popen(
        command, env=env, cwd=work, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    return TorchServe(THEIRS, port, [launcher], env, bin_dir)


def body_of(script: str) -> bytes:
    """The JSON body a wrk script posts: its wrk.body, written as concatenated single-quoted Lua strings."""
    lua = (HERE / script).read_text().split("wrk.body =", 1)[1].split("\n\n", 1)[0]
    return "".join(re.findall(r"'([^']*)'", lua)).encode()


def post(server: Server, path: str, body: bytes, timeout: float = 10) -> dict[str, object]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{server.port}{path}", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())  # type: ignore[no-any-return]


def wait_for_model(server: Server, path: str, log: Path, timeout: float = 180) -> None:
    """TorchServe's /ping says Healthy before its workers have loaded the model: wait for a first prediction.

    On failure, exits with the end of TorchServe's log (the temp folder holding it is removed).
    """
    deadline = time.monotonic() + timeout
    body = body_of(SHAPES[1])
    problem = f"did not answer a prediction within {timeout} s"
    while time.monotonic() < deadline:
        if server.processes[0].poll() is not None:
            problem = f"exited with code {server.processes[0].returncode} before loading the model"
            break
        try:
            post(server, path, body, timeout=5)
            return
        except OSError:  # refused, reset, or an HTTPError (503 while no worker is up)
            time.sleep(0.5)
    tail = log.read_text(errors="replace")[-3000:] if log.exists() else "(no log)"
    sys.exit(f"{server.name} {problem}; the end of its log:\n{tail}")


def same_answers(servers: dict[str, tuple[Server, str]]) -> None:
    for script in SHAPES.values():
        answers = {name: post(server, path, body_of(script)) for name, (server, path) in servers.items()}
        ours, theirs = answers[OURS], answers[THEIRS]
        if ours != theirs:
            sys.exit(f"the servers answer {script}'s request differently:\n{ours}\n{theirs}")


def main() -> int:
    wrk, bin_dir = need_tools()
    work = Path(tempfile.mkdtemp(prefix="torchserve-bench-"))
    servers: list[Server] = []
    try:
        root = model_root(work)
        ours = start_ours(root, work)
        servers.append(ours)
        theirs = start_torchserve(root, work, bin_dir)
        servers.append(theirs)
        paths = {OURS: "/invocations", THEIRS: f"/predictions/{MODEL_NAME}"}
        wait_for_ping(ours)
        wait_for_model(theirs, paths[THEIRS], work / "torchserve.log")
        same_answers({OURS: (ours, paths[OURS]), THEIRS: (theirs, paths[THEIRS])})
        batch_rows = os.environ.get("MODEL_SERVER_MAX_BATCH_ROWS") or "64"
        batch_delay = os.environ.get("MODEL_SERVER_MAX_BATCH_DELAY_US") or "0"
        print(
            f"\nserve against TorchServe 0.12, JSON POSTs of 1 and 8 rows, wrk, {ROUNDS} alternating rounds of "
            f"{DURATION} s per server, shape and concurrency, {WORKERS} workers each, {os.cpu_count()} CPUs (load "
            f"average {os.getloadavg()[0]:.1f} at the start). serve's batching: at most {batch_rows} rows, at most "
            f"{batch_delay} us wait; TorchServe's: batchSize {TS_BATCH_SIZE} requests, maxBatchDelay "
            f"{TS_MAX_BATCH_DELAY_MS} ms\n",
            flush=True,
        )
        results: dict[tuple[str, int, int], Result] = {}
        for rows, script in SHAPES.items():
            for connections in CONCURRENCY:
                rounds: dict[str, list[Round]] = {s.name: [] for s in servers}
                for server in servers:
                    load(wrk, server, connections, 1, script=script, path=paths[server.name])  # warm-up
                for index in range(ROUNDS):
                    for server in servers if index % 2 == 0 else servers[::-1]:
                        measured = load(wrk, server, connections, DURATION, script=script, path=paths[server.name])
                        rounds[server.name].append(measured)
                for name, measured_rounds in rounds.items():
                    results[name, rows, connections] = combine(measured_rounds)
                    per_round = ", ".join(f"{r.requests / r.seconds:,.0f}" for r in measured_rounds)
                    print(f"  {rows} row(s), c={connections}, {name}: requests/s per round {per_round}", flush=True)
        print_table(results)
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)
    return 0


def print_table(results: dict[tuple[str, int, int], Result]) -> None:
    print(f"\n| Rows/request | Concurrency | {OURS} req/s | {THEIRS} req/s | Ratio | {OURS} p50 / p99 ms | ", end="")
    print(f"{THEIRS} p50 / p99 ms | Errors | Ahead |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for rows in SHAPES:
        for connections in CONCURRENCY:
            ours, theirs = results[OURS, rows, connections], results[THEIRS, rows, connections]
            ratio = ours.rps / theirs.rps
            ahead = "yes" if ratio > 1 and ours.errors == 0 else "NO"
            print(
                f"| {rows} | {connections} | {ours.rps:,.0f} | {theirs.rps:,.0f} | {ratio:.2f}x | "
                f"{ours.p50:.2f} / {ours.p99:.2f} | {theirs.p50:.2f} / {theirs.p99:.2f} | "
                f"{ours.errors} / {theirs.errors} | {ahead} |"
            )


if __name__ == "__main__":
    sys.exit(main())
