"""DistributedDataParallel process placement and the few collectives training needs.

One container runs per host. With several GPUs on a host the `train` process starts one worker per GPU (see
launcher.py). Rank = host index * processes per host + local rank; the master is hosts[0]; NCCL on GPU, gloo
on CPU.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist

from .cluster import PROCESSES_PER_HOST_ENV, ResourceConfig, master_address, positive_int_env

INIT_TIMEOUT = timedelta(minutes=10)


@dataclass(frozen=True)
class Placement:
    """Where this process sits in the job."""

    rank: int
    world_size: int
    local_rank: int
    local_world_size: int
    master_addr: str
    master_port: int
    backend: str

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def processes_per_host(use_cuda: bool, env: Mapping[str, str]) -> int:
    """One per GPU; one on CPU. ``SM_PROCESSES_PER_HOST`` overrides (e.g. several CPU processes in tests)."""
    default = torch.cuda.device_count() if use_cuda else 1
    return positive_int_env(env, PROCESSES_PER_HOST_ENV, max(default, 1))


def place(
    resources: ResourceConfig, local_rank: int, local_world_size: int, use_cuda: bool, env: Mapping[str, str]
) -> Placement:
    addr, port = master_address(resources, env)
    return Placement(
        rank=resources.host_index * local_world_size + local_rank,
        world_size=len(resources.hosts) * local_world_size,
        local_rank=local_rank,
        local_world_size=local_world_size,
        master_addr=addr,
        master_port=port,
        backend="nccl" if use_cuda else "gloo",
    )


def init(placement: Placement, network_interface: str | None) -> None:
    """Joins the process group (no-op for a single process)."""
    if not placement.distributed:
        return
    if network_interface and Path("/sys/class/net", network_interface).exists():
        os.environ.setdefault("NCCL_SOCKET_IFNAME", network_interface)
        os.environ.setdefault("GLOO_SOCKET_IFNAME", network_interface)
    dist.init_process_group(
        backend=placement.backend,
        init_method=f"tcp://{placement.master_addr}:{placement.master_port}",
        rank=placement.rank,
        world_size=placement.world_size,
        timeout=INIT_TIMEOUT,
    )


def shutdown() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def barrier() -> None:
    """Waits for every process (no-op for a single process)."""
    if _active():
        dist.barrier()


def _active() -> bool:
    return dist.is_available() and dist.is_initialized()


def all_reduce_sum(values: list[float], device: torch.device) -> list[float]:
    """Sums ``values`` over all processes (identity for a single process)."""
    if not _active():
        return values
    tensor = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor.tolist()


def any_process(flag: bool, device: torch.device) -> bool:
    """True on every process when ``flag`` is true on any of them, so all stop at the same step."""
    if not _active():
        return flag
    tensor = torch.tensor([1 if flag else 0], dtype=torch.int32, device=device)
    dist.all_reduce(tensor, op=dist.ReduceOp.MAX)
    return bool(tensor.item())


def broadcast_from_main(value: Any) -> Any:
    """Rank 0's ``value`` on every process (between the job's own processes only: this pickles)."""
    if not _active():
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]
