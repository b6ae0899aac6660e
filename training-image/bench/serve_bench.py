"""Serving bench (prints figures; not a test): the project's `serve` against AWS's classic BYOC stack.

    .venv/bin/python training-image/bench/serve_bench.py [SM_ROOT_WITH_A_TRAINED_MODEL]

Both servers run at the same time on 127.0.0.1 with the same model weights, the same torch, the same number
of worker processes and one torch thread each:
- ours: training-image/entrypoint.py serve (gunicorn master, asyncio workers, micro-batching);
- the reference: nginx -> gunicorn (gevent workers) -> Flask -> torch (reference/).
wrk loads each with one-row JSON POST /invocations at each concurrency, in rounds that alternate which server
goes first, so both see the same machine. Prints the bare forward-pass time, then one table with requests/s,
p50, p99 and errors per server and the ratios against the goal of issue 12.

Without an argument it first trains the digits model (the real `train`, default hyperparameters).
Settings (environment): BENCH_DURATION (seconds per round, 5), BENCH_ROUNDS (3), BENCH_CONCURRENCY
("1,10,50"), BENCH_WORKERS (2), and the server's own MODEL_SERVER_MAX_BATCH_ROWS / _MAX_BATCH_DELAY_US.
Needs wrk and nginx (Debian: apt-get install -y wrk nginx) and Flask + gevent (requirements-bench.txt).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
IMAGE = HERE.parent
sys.path.insert(0, str(IMAGE / "src"))

SUMMARY = re.compile(r"BENCH requests=(\d+) seconds=([\d.]+) p50_ms=([\d.]+) p99_ms=([\d.]+) errors=(\d+)")
GOALS = {1: ("p50", 0.5), 10: ("rps", 4.0), 50: ("rps", 6.0)}  # issue 12; p99 at most half at 10 and 50


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


DURATION = _env_int("BENCH_DURATION", 5)
ROUNDS = _env_int("BENCH_ROUNDS", 3)
WORKERS = _env_int("BENCH_WORKERS", 2)
CONCURRENCY = [int(c) for c in (os.environ.get("BENCH_CONCURRENCY") or "1,10,50").split(",")]


def need_tools() -> tuple[str, str]:
    wrk = shutil.which("wrk")
    nginx = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if Path(p).exists()), None)
    missing = [name for name, path in (("wrk", wrk), ("nginx", nginx)) if path is None]
    if missing:
        sys.exit(f"serve bench: {' and '.join(missing)} not installed; on Debian/Ubuntu: apt-get install -y wrk nginx")
    try:
        import flask  # noqa: F401
        import gevent  # noqa: F401
    except ImportError as error:
        sys.exit(f"serve bench: {error.name} missing; pip install -r {HERE / 'requirements-bench.txt'}")
    return str(wrk), str(nginx)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def child_env(root: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SM_", "SAGEMAKER_", "MODEL_SERVER_WORKERS"))}
    env.update({"SM_ROOT": str(root), "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}, **extra)
    return env


def train(work: Path) -> Path:
    root = work / "opt-ml"
    for channel in ("train", "validation", "test"):
        (root / "input" / "data" / channel).mkdir(parents=True)
        shutil.copy(IMAGE / "sample-data" / f"{channel}.csv", root / "input" / "data" / channel)
    (root / "input" / "config").mkdir(parents=True)
    (root / "input" / "config" / "hyperparameters.json").write_text("{}")
    print(f"Training the digits model in {root} ...", flush=True)
    started = time.monotonic()
    command = [sys.executable, str(IMAGE / "entrypoint.py"), "train"]
    result = subprocess.run(command, env=child_env(root), capture_output=True, text=True, check=False)
    if result.returncode != 0:
        sys.exit(f"training failed:\n{result.stderr[-3000:]}")
    accuracy = re.search(r"test_accuracy=[\d.]+", result.stdout)
    print(f"trained in {time.monotonic() - started:.1f} s: {accuracy[0] if accuracy else '?'}", flush=True)
    return root


def forward_pass_table(root: Path) -> None:
    """The bare model: eager PyTorch (what the reference runs) and the server's compiled predictor."""
    import numpy as np
    import torch

    from dlplatform.serve.predictor import Predictor

    torch.set_num_threads(1)
    predictor = Predictor.load(root / "model")

    def per_row_us(call, rows: int) -> float:  # type: ignore[no-untyped-def]
        x = np.random.default_rng(0).uniform(0, 16, (rows, predictor.input_width)).astype(np.float32)
        for _ in range(20):
            call(x)
        best = float("inf")
        for _ in range(5):
            n = max(20, 2000 // rows)
            started = time.perf_counter()
            for _ in range(n):
                call(x)
            best = min(best, (time.perf_counter() - started) / n / rows * 1e6)
        return best

    def eager(x: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return torch.softmax(predictor.network(torch.from_numpy(x)), dim=1).numpy()

    print("\nBare forward pass, one CPU thread, microseconds per row (best of 5):\n")
    print("| Rows per call | eager PyTorch (the reference) | the server's predictor (TorchScript) |")
    print("| --- | --- | --- |")
    for rows in (1, 8, 32, 64):
        print(f"| {rows} | {per_row_us(eager, rows):.0f} | {per_row_us(predictor.predict_proba, rows):.0f} |")


@dataclass
class Server:
    name: str
    port: int
    processes: list[subprocess.Popen[bytes]]

    def stop(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in reversed(self.processes):
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def wait_for_ping(server: Server, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for process in server.processes:
            if process.poll() is not None:
                sys.exit(f"{server.name} exited with code {process.returncode} before answering /ping")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/ping", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    sys.exit(f"{server.name} did not answer /ping within {timeout} s")


def start_ours(root: Path, work: Path) -> Server:
    port = free_port()
    env = child_env(root, MODEL_SERVER_HOST="127.0.0.1", SAGEMAKER_BIND_TO_PORT=str(port))
    env["MODEL_SERVER_WORKERS"] = str(WORKERS)
    log = (work / "ours.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, str(IMAGE / "entrypoint.py"), "serve"], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    return Server("serve", port, [process])


def start_reference(root: Path, work: Path, nginx: str) -> Server:
    port = free_port()
    ref = work / "reference"
    for folder in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (ref / folder).mkdir(parents=True, exist_ok=True)
    conf = (HERE / "reference" / "nginx.conf.template").read_text().format(work=ref, port=port)
    if os.geteuid() == 0:  # nginx's workers would run as nobody, who cannot open the socket in our 0700 folder
        conf = "user root;\n" + conf
    (ref / "nginx.conf").write_text(conf)
    gunicorn_log = (work / "reference-gunicorn.log").open("wb")
    gunicorn = subprocess.Popen(
        [
            sys.executable, "-m", "gunicorn", "--timeout", "60", "--no-control-socket",
            "-k", "gevent", "-w", str(WORKERS),
            "-b", f"unix:{ref / 'gunicorn.sock'}", "--chdir", str(HERE / "reference"), "predictor_app:app",
        ],
        env=child_env(root),
        stdout=gunicorn_log,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    nginx_log = (work / "reference-nginx.log").open("wb")
    proxy = subprocess.Popen(
        [nginx, "-c", str(ref / "nginx.conf"), "-p", str(ref), "-e", str(ref / "nginx-error.log")],
        stdout=nginx_log,
        stderr=subprocess.STDOUT,
    )
    return Server("reference", port, [gunicorn, proxy])


def same_answers(ours: Server, reference: Server) -> None:
    body = (HERE / "post-one-row.lua").read_text().split("wrk.body =", 1)[1]  # not the comments above it
    row = json.loads("[" + "".join(re.findall(r"'([^']*)'", body)).split("[[", 1)[1].split("]]", 1)[0] + "]")
    answers = []
    for server in (ours, reference):
        request = urllib.request.Request(
            f"http://127.0.0.1:{server.port}/invocations",
            data=json.dumps({"instances": [row]}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            answers.append(json.loads(response.read())["predictions"][0])
    if answers[0]["label"] != answers[1]["label"]:
        sys.exit(f"the servers disagree: {answers}")


@dataclass
class Round:
    requests: int
    seconds: float
    p50: float
    p99: float
    errors: int


def load(
    wrk: str,
    server: Server,
    connections: int,
    seconds: int,
    *,
    script: str = "post-one-row.lua",
    path: str = "/invocations",
) -> Round:
    """One wrk run of ``script`` (a wrk Lua file here) against ``path`` on ``server``."""
    threads = min(2, connections)
    command = [
        wrk, "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s", "-s", str(HERE / script),
        f"http://127.0.0.1:{server.port}{path}",
    ]  # fmt: skip
    output = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=False).stdout
    match = SUMMARY.search(output)
    if match is None:
        sys.exit(f"wrk printed no summary for {server.name}:\n{output}")
    return Round(int(match[1]), float(match[2]), float(match[3]), float(match[4]), int(match[5]))


@dataclass
class Result:
    rps: float
    p50: float
    p99: float
    errors: int


def combine(rounds: list[Round]) -> Result:
    return Result(
        rps=sum(r.requests for r in rounds) / sum(r.seconds for r in rounds),
        p50=statistics.median(r.p50 for r in rounds),
        p99=statistics.median(r.p99 for r in rounds),
        errors=sum(r.errors for r in rounds),
    )


def model_root(work: Path) -> Path:
    """The SM_ROOT the command line names (its model/ must hold a trained model), or a freshly trained one."""
    if len(sys.argv) > 2 or (len(sys.argv) == 2 and sys.argv[1].startswith("-")):
        sys.exit(f"usage: {Path(sys.argv[0]).name} [SM_ROOT_WITH_A_TRAINED_MODEL] (settings are environment variables)")
    if len(sys.argv) == 1:
        return train(work)
    root = Path(sys.argv[1])
    if not (root / "model" / "metadata.json").is_file():
        sys.exit(f"{root} holds no trained model: expected {root / 'model' / 'metadata.json'} (an /opt/ml-like folder)")
    return root


def main() -> int:
    wrk, nginx = need_tools()
    work = Path(tempfile.mkdtemp(prefix="serve-bench-"))
    servers: list[Server] = []
    try:
        root = model_root(work)
        forward_pass_table(root)
        ours, reference = start_ours(root, work), start_reference(root, work, nginx)
        servers = [ours, reference]
        for server in servers:
            wait_for_ping(server)
        same_answers(ours, reference)
        batch_rows = os.environ.get("MODEL_SERVER_MAX_BATCH_ROWS") or "64"
        batch_delay = os.environ.get("MODEL_SERVER_MAX_BATCH_DELAY_US") or "0"
        print(
            f"\nOne-row JSON POST /invocations, wrk, {ROUNDS} alternating rounds of {DURATION} s per server and "
            f"concurrency, {WORKERS} workers each, {os.cpu_count()} CPUs (load average "
            f"{os.getloadavg()[0]:.1f} at the start); serve's batching: at most {batch_rows} rows per batch, "
            f"at most {batch_delay} us wait\n",
            flush=True,
        )
        results: dict[tuple[str, int], Result] = {}
        for connections in CONCURRENCY:
            rounds: dict[str, list[Round]] = {s.name: [] for s in servers}
            for server in servers:
                load(wrk, server, connections, 1)  # warm-up
            for index in range(ROUNDS):
                for server in servers if index % 2 == 0 else servers[::-1]:
                    rounds[server.name].append(load(wrk, server, connections, DURATION))
            for name, measured in rounds.items():
                results[name, connections] = combine(measured)
        print_table(results)
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)
    return 0


def print_table(results: dict[tuple[str, int], Result]) -> None:
    print("| Concurrency | Server | Requests/s | p50 ms | p99 ms | Errors |")
    print("| --- | --- | --- | --- | --- | --- |")
    for connections in CONCURRENCY:
        for name in ("serve", "reference"):
            r = results[name, connections]
            print(f"| {connections} | {name} | {r.rps:,.0f} | {r.p50:.2f} | {r.p99:.2f} | {r.errors} |")
    print("\n| Concurrency | Requests/s ratio | p50 ratio | p99 ratio | Goal (issue 12) | Met |")
    print("| --- | --- | --- | --- | --- | --- |")
    for connections in CONCURRENCY:
        ours, ref = results["serve", connections], results["reference", connections]
        rps, p50, p99 = ours.rps / ref.rps, ours.p50 / ref.p50, ours.p99 / ref.p99
        if connections == 1:
            goal, met = "p50 <= 0.5x", p50 <= 0.5
        elif connections in GOALS:
            need = GOALS[connections][1]
            goal, met = f">= {need:g}x requests/s, p99 <= 0.5x", rps >= need and p99 <= 0.5
        else:
            goal, met = "-", True
        verdict = "yes" if met and ours.errors == 0 else "NO"
        print(f"| {connections} | {rps:.2f}x | {p50:.2f}x | {p99:.2f}x | {goal} | {verdict} |")


if __name__ == "__main__":
    sys.exit(main())
