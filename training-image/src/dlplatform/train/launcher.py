"""Starts one training process per GPU on this host and supervises them (the multi-GPU path).

SageMaker starts one container per host and sends signals to its first process only; this supervisor
forwards SIGTERM/SIGINT to the workers, and stops the others when one fails so the job does not hang.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType

from ..failure import write_failure
from ..paths import SageMakerPaths
from .cluster import LOCAL_RANK_ENV, PROCESSES_PER_HOST_ENV
from .stopping import EXIT_INTERRUPTED

log = logging.getLogger(__name__)

KILL_AFTER_SECONDS = 60
PR_SET_PDEATHSIG = 1


SUPERVISOR_PID_ENV = "DLPLATFORM_SUPERVISOR_PID"


def follow_supervisor() -> None:
    """Called first in each worker: Linux sends it SIGTERM when the supervisor exits, so none is left behind."""
    with contextlib.suppress(OSError, AttributeError):  # not Linux: nothing to do
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.environ.get(SUPERVISOR_PID_ENV) not in (None, str(os.getppid())):
        os.kill(os.getpid(), signal.SIGTERM)  # the supervisor died before prctl took effect


def supervise(entry_script: Path, count: int, paths: SageMakerPaths) -> int:
    workers: list[subprocess.Popen[bytes]] = []

    def forward(signum: int, _frame: FrameType | None) -> None:
        for worker in workers:
            if worker.poll() is None:
                worker.send_signal(signum)

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, forward)
    log.info("Starting %d training processes on this host", count)
    for local_rank in range(count):
        env = {
            **os.environ,
            LOCAL_RANK_ENV: str(local_rank),
            PROCESSES_PER_HOST_ENV: str(count),
            SUPERVISOR_PID_ENV: str(os.getpid()),
        }
        workers.append(subprocess.Popen([sys.executable, str(entry_script), "train"], env=env))

    first_failure: tuple[int, int] | None = None
    deadline = None
    while any(worker.poll() is None for worker in workers):
        for local_rank, worker in enumerate(workers):
            code = worker.poll()
            if code not in (None, 0, EXIT_INTERRUPTED) and first_failure is None:
                first_failure = (local_rank, code)
                log.error("Training process %d exited with code %d; stopping the others", local_rank, code)
                forward(signal.SIGTERM, None)
                deadline = time.monotonic() + KILL_AFTER_SECONDS
        if deadline is not None and time.monotonic() > deadline:
            for worker in workers:
                if worker.poll() is None:
                    worker.kill()
        time.sleep(0.2)

    codes = [worker.returncode for worker in workers]
    if all(code == 0 for code in codes):
        return 0
    if first_failure is None and all(code in (0, EXIT_INTERRUPTED) for code in codes):
        return EXIT_INTERRUPTED
    local_rank, code = first_failure or next((i, c) for i, c in enumerate(codes) if c not in (0, EXIT_INTERRUPTED))
    write_failure(paths, f"Training process {local_rank} exited with code {code} (see its log for the cause)")
    return 1
