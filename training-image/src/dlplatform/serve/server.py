"""`serve`: gunicorn's master with asyncio workers (worker.py); the model is loaded once in the master
and shared with the forked workers.

Environment:
- SAGEMAKER_BIND_TO_PORT (default 8080): the port SageMaker asks for.
- MODEL_SERVER_HOST (default 0.0.0.0): the address to bind; tests use 127.0.0.1.
- MODEL_SERVER_WORKERS (default: one per GPU on CUDA, each on its own GPU; else the CPUs this process may use):
  worker processes (worker_devices.py).
- MODEL_SERVER_TIMEOUT (default 60): seconds before a stuck worker is killed and replaced.
- MODEL_SERVER_GRACEFUL_TIMEOUT (default 10): seconds in-flight requests get to finish after SIGTERM.
- MODEL_SERVER_READ_TIMEOUT (default 30): seconds a client has to send a whole request from its first byte (then
  408 and close), and that an idle keep-alive connection stays open.
- MODEL_SERVER_USER (default unset; the image sets "model"): when started as root, workers switch to this user.
- MODEL_SERVER_ACCESS_LOG (default false): log one line per request to stdout.
- MODEL_SERVER_DEVICE (default auto): auto, cpu, cuda or cuda:N (device.py).
- MODEL_SERVER_MAX_BATCH_ROWS (default 64): most rows one model call gets from requests batched together.
- MODEL_SERVER_MAX_BATCH_DELAY_US (default 0): microseconds a request may wait for others to batch with.
- DLPLATFORM_REQUEST_LIMITS (default: training-image/request-limits.json): the request limits (limits.py).
"""

from __future__ import annotations

import logging
import os
import pwd
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from gunicorn.app.base import BaseApplication

from ..paths import SageMakerPaths
from .batching import BatchSettings
from .device import DEVICE_ENV, cuda_device_count
from .limits import LimitsError, RequestLimits
from .predictor import ModelLoadError, Predictor
from .worker import AsyncModelWorker
from .worker_devices import DevicePlan, least_used_gpu

log = logging.getLogger(__name__)


def available_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _int_env(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    text = env.get(name, "").strip()
    if not text:
        return default
    if not text.isdigit() or not low <= int(text) <= high:
        raise ValueError(f"Environment variable {name}={text!r} must be a whole number from {low} to {high}")
    return int(text)


@dataclass(frozen=True)
class ServerSettings:
    host: str
    port: int
    workers: int
    timeout: int
    graceful_timeout: int
    read_timeout: int
    user: str | None
    access_log: bool
    device: torch.device
    batch: BatchSettings
    devices: DevicePlan

    @classmethod
    def from_env(cls, env: Mapping[str, str], cuda_devices: int | None = None) -> ServerSettings:
        """The settings from ``env`` on a machine with ``cuda_devices`` GPUs (default: those torch sees)."""
        gpus = cuda_device_count() if cuda_devices is None else cuda_devices
        devices = DevicePlan.from_setting(env.get(DEVICE_ENV, ""), gpus)
        return cls(
            host=env.get("MODEL_SERVER_HOST", "").strip() or "0.0.0.0",
            port=_int_env(env, "SAGEMAKER_BIND_TO_PORT", 8080, 1, 65535),
            workers=_int_env(env, "MODEL_SERVER_WORKERS", devices.default_workers(available_cpus()), 1, 256),
            timeout=_int_env(env, "MODEL_SERVER_TIMEOUT", 60, 1, 3600),
            graceful_timeout=_int_env(env, "MODEL_SERVER_GRACEFUL_TIMEOUT", 10, 0, 3600),
            read_timeout=_int_env(env, "MODEL_SERVER_READ_TIMEOUT", 30, 1, 3600),
            user=env.get("MODEL_SERVER_USER", "").strip() or None,
            access_log=env.get("MODEL_SERVER_ACCESS_LOG", "").strip().lower() in ("1", "true", "yes"),
            device=devices.device,
            batch=BatchSettings(
                max_rows=_int_env(env, "MODEL_SERVER_MAX_BATCH_ROWS", BatchSettings.max_rows, 1, 65536),
                max_delay=_int_env(env, "MODEL_SERVER_MAX_BATCH_DELAY_US", 0, 0, 1_000_000) / 1e6,
            ),
            devices=devices,
        )

    @property
    def bind(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def _post_fork(_server: Any, _worker: Any) -> None:
    torch.set_num_threads(1)  # one core per worker process: more threads only fight over the same cores


def _worker_exit(_server: Any, worker: Any) -> None:
    """Ends a worker at once with its own exit code, skipping interpreter teardown.

    Tearing down an interpreter that loaded torch takes about a second of CPU per worker; skipping it makes
    SIGTERM shutdown quick. Workers hold nothing that needs cleaning up. The master calls this hook too, when
    it reaps a worker; there it does nothing.
    """
    if os.getpid() != worker.pid:
        return
    error = sys.exc_info()[1]
    code = error.code if isinstance(error, SystemExit) else (0 if error is None else 1)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code if isinstance(code, int) else int(code is not None))


class ModelServer(BaseApplication):  # type: ignore[misc]
    def __init__(self, settings: ServerSettings, model_dir: Path, limits: RequestLimits) -> None:
        self.settings = settings
        self.model_dir = model_dir
        self.limits = limits
        super().__init__()

    def load_config(self) -> None:
        s = self.settings
        options: dict[str, Any] = {
            "bind": s.bind,
            "workers": s.workers,
            "worker_class": AsyncModelWorker,
            "keepalive": s.read_timeout,  # worker.py: the idle and the request read timeout
            "timeout": s.timeout,
            "graceful_timeout": s.graceful_timeout,
            "preload_app": True,  # load once, fail fast, share the weights copy-on-write
            "proc_name": "dlplatform-serve",
            "errorlog": "-",
            "loglevel": "info",
            "control_socket_disable": True,
            "pre_fork": self._pre_fork,
            "post_fork": _post_fork,
            "worker_exit": _worker_exit,
        }
        if Path("/dev/shm").is_dir():
            options["worker_tmp_dir"] = "/dev/shm"  # heartbeat files off the container's overlay filesystem
        if s.user and os.geteuid() == 0:
            record = pwd.getpwnam(s.user)
            options["user"], options["group"] = record.pw_uid, record.pw_gid
        for key, value in options.items():
            self.cfg.set(key, value)

    def _pre_fork(self, server: Any, worker: Any) -> None:
        """In the master, before a worker forks: its GPU, the one the running workers use least."""
        if self.settings.devices.gpus:
            taken = [w.gpu_index for w in server.WORKERS.values() if getattr(w, "gpu_index", None) is not None]
            worker.gpu_index = least_used_gpu(taken, self.settings.devices.gpus)

    def load(self) -> tuple[Predictor, ServerSettings, RequestLimits]:
        """What each worker starts from (worker.py): the model on the CPU, the settings, the limits."""
        predictor = Predictor.load(self.model_dir)
        log.info(
            "Loaded model %s (%d features, %d classes)", predictor.version, predictor.input_width, len(predictor.labels)
        )
        if predictor.preprocessing is not None:
            log.info(
                "Requests go through preprocessing.json: %d of %d columns used, missing values %s",
                len(predictor.preprocessing.output_features),
                predictor.input_width,
                "filled (" + predictor.preprocessing.missing_values + ")" if predictor.imputes else "rejected",
            )
        return predictor, self.settings, self.limits


def main(env: Mapping[str, str] | None = None) -> int:
    env = os.environ if env is None else env
    paths = SageMakerPaths.from_env(env)
    try:
        settings = ServerSettings.from_env(env)
        if settings.user and os.geteuid() == 0:
            pwd.getpwnam(settings.user)
        limits = RequestLimits.load(env)
    except (ValueError, KeyError, LimitsError) as error:
        log.error("Bad server setting: %s", error)
        return 2
    torch.set_num_threads(1)
    log.info(
        "Serving %s on %s with %d workers (device %s, batches of up to %d rows, up to %d us wait)",
        paths.model_dir, settings.bind, settings.workers,
        f"cuda, spread over {settings.devices.gpus} GPUs" if settings.devices.gpus else settings.device,
        settings.batch.max_rows, round(settings.batch.max_delay * 1e6),
    )  # fmt: skip
    try:
        ModelServer(settings, paths.model_dir, limits).run()
    except ModelLoadError as error:
        log.error("%s", error)
        return 1
    return 0
