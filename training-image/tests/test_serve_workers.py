"""Model-server workers on GPUs (defect 7): on CUDA one worker per GPU by default, each pinned to its own GPU,
instead of one worker per vCPU all on GPU 0 (48 CUDA contexts on one GPU of an ml.g5.12xlarge, three GPUs idle).
The GPU count is faked: the master's assignment and each worker's device are plain functions of it."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import torch

from dlplatform.serve.limits import RequestLimits
from dlplatform.serve.server import ModelServer, ServerSettings
from dlplatform.serve.worker_devices import DevicePlan, least_used_gpu

G5_12XLARGE_VCPUS = 48


@pytest.mark.parametrize(
    ("setting", "gpus", "device", "spread"),
    [
        ("", 4, "cuda:0", 4),
        ("auto", 4, "cuda:0", 4),
        ("cuda", 4, "cuda:0", 4),
        ("cuda:2", 4, "cuda:2", 0),  # asked for one GPU: every worker there
        ("cpu", 4, "cpu", 0),
        ("", 0, "cpu", 0),
    ],
)
def test_auto_and_cuda_spread_the_workers_over_every_gpu(setting: str, gpus: int, device: str, spread: int) -> None:
    plan = DevicePlan.from_setting(setting, gpus)
    assert plan == DevicePlan(torch.device(device), spread)


def test_on_an_ml_g5_12xlarge_the_default_is_one_worker_per_gpu_not_per_vcpu() -> None:
    env = {"MODEL_SERVER_DEVICE": "auto"}
    settings = ServerSettings.from_env(env, cuda_devices=4)
    assert settings.workers == 4
    assert settings.devices == DevicePlan(torch.device("cuda:0"), 4)
    assert DevicePlan.from_setting("auto", 4).default_workers(G5_12XLARGE_VCPUS) == 4
    assert DevicePlan.from_setting("cpu", 4).default_workers(G5_12XLARGE_VCPUS) == G5_12XLARGE_VCPUS
    assert DevicePlan.from_setting("cuda:1", 4).default_workers(G5_12XLARGE_VCPUS) == 1


def test_the_worker_count_setting_wins_and_the_workers_share_the_gpus() -> None:
    settings = ServerSettings.from_env({"MODEL_SERVER_WORKERS": "8"}, cuda_devices=4)
    assert settings.workers == 8
    assert settings.devices.gpus == 4


def _master(settings: ServerSettings, tmp_path: Path) -> ModelServer:
    return ModelServer(settings, tmp_path, RequestLimits.load({}))


def _spawn(master: ModelServer, server: Any, pid: int) -> SimpleNamespace:
    """What gunicorn's Arbiter.spawn_worker does around the fork: pre_fork, then the worker joins WORKERS."""
    worker = SimpleNamespace(pid=pid)
    master.cfg.pre_fork(server, worker)
    server.WORKERS[pid] = worker
    return worker


def test_the_master_gives_each_worker_its_own_gpu_and_a_replacement_the_gpu_left_free(tmp_path: Path) -> None:
    master = _master(ServerSettings.from_env({}, cuda_devices=4), tmp_path)
    server = SimpleNamespace(WORKERS={})
    workers = [_spawn(master, server, pid) for pid in range(100, 104)]
    assert [w.gpu_index for w in workers] == [0, 1, 2, 3]

    del server.WORKERS[102]  # the worker on GPU 2 dies; gunicorn reaps it and starts another
    assert _spawn(master, server, 200).gpu_index == 2
    assert sorted(w.gpu_index for w in server.WORKERS.values()) == [0, 1, 2, 3]


def test_more_workers_than_gpus_are_spread_evenly(tmp_path: Path) -> None:
    master = _master(ServerSettings.from_env({"MODEL_SERVER_WORKERS": "8"}, cuda_devices=4), tmp_path)
    server = SimpleNamespace(WORKERS={})
    for pid in range(8):
        _spawn(master, server, pid)
    assert Counter(w.gpu_index for w in server.WORKERS.values()) == {0: 2, 1: 2, 2: 2, 3: 2}


def test_without_gpus_or_on_a_fixed_device_the_master_assigns_none(tmp_path: Path) -> None:
    for settings in (
        ServerSettings.from_env({}, cuda_devices=0),
        ServerSettings.from_env({"MODEL_SERVER_DEVICE": "cuda:1"}, cuda_devices=4),
    ):
        worker = _spawn(_master(settings, tmp_path), SimpleNamespace(WORKERS={}), 1)
        assert not hasattr(worker, "gpu_index")


def test_each_worker_runs_the_model_on_the_gpu_it_was_given() -> None:
    spread = DevicePlan.from_setting("auto", 4)
    assert [spread.worker_device(i) for i in range(4)] == [torch.device("cuda", i) for i in range(4)]
    assert DevicePlan.from_setting("cuda:3", 4).worker_device(None) == torch.device("cuda:3")
    assert DevicePlan.from_setting("auto", 0).worker_device(None) == torch.device("cpu")
    with pytest.raises(ValueError, match="a worker needs a GPU index from 0 to 3, got 4"):
        spread.worker_device(4)


@pytest.mark.parametrize(
    ("taken", "gpus", "expected"),
    [([], 4, 0), ([0, 1], 4, 2), ([0, 1, 2, 3], 4, 0), ([0, 0, 1, 2, 3, 3], 4, 1), ([0], 1, 0)],
)
def test_least_used_gpu(taken: list[int], gpus: int, expected: int) -> None:
    assert least_used_gpu(taken, gpus) == expected
