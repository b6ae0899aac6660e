"""Chooses where the model runs, once at start: the GPU when there is one, else the CPU.

``MODEL_SERVER_DEVICE`` overrides it: ``auto`` (default), ``cpu``, ``cuda`` or ``cuda:N``. Asking for a GPU
the machine does not have is a start-up error, not a silent fall back to the CPU.
"""

from __future__ import annotations

import re

import torch

DEVICE_ENV = "MODEL_SERVER_DEVICE"
ALLOWED = "auto, cpu, cuda or cuda:N"
_CUDA = re.compile(r"cuda(?::(\d+))?")


def select_device(setting: str, cuda_devices: int) -> torch.device:
    """The device for ``setting`` (a MODEL_SERVER_DEVICE value) on a machine with ``cuda_devices`` GPUs."""
    text = setting.strip().lower() or "auto"
    if text == "auto":
        return torch.device("cuda:0" if cuda_devices > 0 else "cpu")
    if text == "cpu":
        return torch.device("cpu")
    match = _CUDA.fullmatch(text)
    if match is None:
        raise ValueError(f"{DEVICE_ENV}={setting!r} is not one of {ALLOWED}")
    index = int(match[1] or 0)
    if index >= cuda_devices:
        raise ValueError(f"{DEVICE_ENV}={setting!r} asks for GPU {index}, but this machine has {cuda_devices} GPU(s)")
    return torch.device("cuda", index)


def cuda_device_count() -> int:
    """GPUs torch can use; 0 when torch has no CUDA or no driver.

    torch counts them with NVML where it can, which leaves CUDA uninitialized in the gunicorn master, so the
    workers it forks can still start CUDA (torch.cuda.is_available() would not).
    """
    return max(torch.cuda.device_count(), 0)
