"""Which device each model-server worker runs on.

On CUDA (MODEL_SERVER_DEVICE auto or cuda, with GPUs present) the workers are spread over every GPU, each worker
on one GPU: by default one worker per GPU, as TorchServe does, since a worker is one process with its own CUDA
context and one micro-batcher that keeps its GPU busy. gunicorn's master gives each new worker the GPU with the
fewest workers (a replaced worker takes the GPU its predecessor left) before it forks; the worker then moves the
model there. A fixed ``cuda:N`` puts every worker on that GPU, and ``cpu`` (or no GPU) on the CPU, where the
default is one worker per CPU.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

import torch

from .device import select_device

SPREAD_SETTINGS = ("", "auto", "cuda")


@dataclass(frozen=True)
class DevicePlan:
    """Where the workers run: spread over ``gpus`` GPUs when it is above 0, else all on ``device``."""

    device: torch.device
    gpus: int

    @classmethod
    def from_setting(cls, setting: str, cuda_devices: int) -> DevicePlan:
        """The plan for a MODEL_SERVER_DEVICE value on a machine with ``cuda_devices`` GPUs."""
        device = select_device(setting, cuda_devices)
        spread = device.type == "cuda" and setting.strip().lower() in SPREAD_SETTINGS
        return cls(device, cuda_devices if spread else 0)

    def default_workers(self, cpus: int) -> int:
        """One worker per GPU on CUDA (one in all on a fixed GPU), one per CPU on the CPU."""
        if self.gpus:
            return self.gpus
        return 1 if self.device.type == "cuda" else cpus

    def worker_device(self, gpu_index: int | None) -> torch.device:
        """The device of the worker the master gave ``gpu_index`` (None when the plan spreads nothing)."""
        if not self.gpus:
            return self.device
        if gpu_index is None or not 0 <= gpu_index < self.gpus:
            raise ValueError(f"a worker needs a GPU index from 0 to {self.gpus - 1}, got {gpu_index}")
        return torch.device("cuda", gpu_index)


def least_used_gpu(taken: Iterable[int], gpus: int) -> int:
    """The GPU with the fewest of the running workers' ``taken`` GPUs on it, the lowest index on a tie."""
    load = Counter(taken)
    return min(range(gpus), key=lambda index: (load[index], index))
