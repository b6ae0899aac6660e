"""DistributedDataParallel on CPU (gloo): two hosts from resourceconfig.json, and two processes on one host."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from .support import (
    DIGEST_LINE,
    ENTRYPOINT,
    TrainResult,
    child_env,
    free_port,
    make_tree,
    read_metadata,
    run_train,
)

SHORT = {"epochs": "4", "patience": "50", "batch_size": "128"}
HOSTS = ["algo-1", "algo-2"]


def test_two_hosts_train_one_model_with_gloo_and_only_rank_0_writes_it(tmp_path: Path) -> None:
    overrides = {"SM_MASTER_ADDR": "127.0.0.1", "SM_MASTER_PORT": str(free_port())}
    roots = [make_tree(tmp_path / host, SHORT, resources={"current_host": host, "hosts": HOSTS}) for host in HOSTS]
    processes = [
        subprocess.Popen(
            [sys.executable, str(ENTRYPOINT), "train"],
            env=child_env(root, overrides),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        for root in roots
    ]
    try:
        outputs = [process.communicate(timeout=240) for process in processes]
    finally:
        # A rank that timed out (or a failed assertion in communicate) must not outlive the test: kill both
        # sessions, with the processes each one started.
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.communicate()
    results = [TrainResult(p.returncode, out, err, 0) for p, (out, err) in zip(processes, outputs, strict=True)]

    assert [r.returncode for r in results] == [0, 0], [r.stderr for r in results]
    main, other = results
    assert main.epochs == [1, 2, 3, 4]
    # Metric lines come from rank 0 only. Gloo itself (torch >= 2.10) prints "[Gloo] Rank N is connected to ..."
    # to stdout on every rank; those lines match no metric definition, so they are the only ones allowed here.
    assert [line for line in other.stdout.splitlines() if not line.startswith("[Gloo] ")] == []
    assert len(main.digests) == 1
    assert main.digests == other.digests  # identical weights on both ranks
    metadata = read_metadata(roots[0])
    assert metadata["training"]["world_size"] == 2
    assert metadata["metrics"]["test_accuracy"] >= 0.8  # 4 short epochs; the full-run bar is tested elsewhere
    assert not (roots[1] / "model").exists()


def test_several_processes_per_host_are_launched_and_supervised_like_one_per_gpu(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "opt-ml", SHORT)

    result = run_train(root, {"SM_PROCESSES_PER_HOST": "2"})

    assert result.returncode == 0, result.stderr
    ranks = {match[2]: match[1] for match in DIGEST_LINE.finditer(result.stderr)}
    assert set(ranks) == {"0", "1"}
    assert ranks["0"] == ranks["1"]
    assert read_metadata(root)["training"]["world_size"] == 2
