"""Where the model runs: chosen once at start from MODEL_SERVER_DEVICE and the GPUs torch can see."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from dlplatform.serve.device import cuda_device_count, select_device

from .support import free_port, start_server, stop, wait_until_serving


@pytest.mark.parametrize(
    ("setting", "gpus", "expected"),
    [
        ("", 0, "cpu"),
        ("auto", 0, "cpu"),
        ("auto", 1, "cuda:0"),
        (" AUTO ", 8, "cuda:0"),
        ("cpu", 4, "cpu"),
        ("cuda", 1, "cuda:0"),
        ("cuda:3", 4, "cuda:3"),
    ],
)
def test_selects_the_gpu_when_there_is_one_unless_told_otherwise(setting: str, gpus: int, expected: str) -> None:
    assert select_device(setting, gpus) == torch.device(expected)


@pytest.mark.parametrize(
    ("setting", "gpus", "message"),
    [
        ("cuda", 0, "asks for GPU 0, but this machine has 0 GPU(s)"),
        ("cuda:2", 2, "asks for GPU 2, but this machine has 2 GPU(s)"),
        ("gpu", 1, "MODEL_SERVER_DEVICE='gpu' is not one of auto, cpu, cuda or cuda:N"),
        ("cuda:x", 1, "is not one of auto, cpu, cuda or cuda:N"),
    ],
)
def test_a_device_that_is_not_there_or_misspelt_is_an_error(setting: str, gpus: int, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        select_device(setting, gpus)


def test_the_server_runs_the_model_where_auto_points(serving_root: Path, tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "server.log"
    process = start_server(serving_root, port, log, {"MODEL_SERVER_WORKERS": "1"})
    try:
        wait_until_serving(port, process)
    finally:
        stop(process)
    expected = "cuda:0" if cuda_device_count() else "cpu"
    assert f"runs the model on {expected}" in log.read_text()


def test_the_server_refuses_to_start_on_a_gpu_it_does_not_have(serving_root: Path, tmp_path: Path) -> None:
    missing = f"cuda:{cuda_device_count()}"
    log = tmp_path / "server.log"
    process = start_server(serving_root, free_port(), log, {"MODEL_SERVER_DEVICE": missing})
    try:
        assert process.wait(timeout=60) == 2
    finally:
        stop(process)
    assert f"MODEL_SERVER_DEVICE='{missing}' asks for GPU" in log.read_text()
