"""Whether this host's GPUs can run the image's PyTorch build, from the GPU matrix in gpu-architectures.json.

The CDK refuses such instance types at synth from the same file; this is the check inside the container, so a
job on a GPU instance whose GPU PyTorch cannot use fails at start with a readable reason instead of training on
the CPU it was not paid for (or crashing later with "no kernel image is available").
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from ..paths import GPU_MATRIX_FILE

MATRIX_FILE = GPU_MATRIX_FILE

# SageMaker's GPU families are ml.p<n>* and ml.g<n>*; the same test as hasGpu() in constructs/instance-types.ts.
GPU_INSTANCE_TYPE = re.compile(r"^ml\.(p\d|g\d)")
ARCH = re.compile(r"^(sm|compute)_(\d+)(\d)([af]?)$")

Capability = tuple[int, int]


@dataclass(frozen=True)
class GpuFamily:
    """One row of the matrix: the GPU of an instance family and its CUDA compute capability."""

    family: str
    gpu: str
    capability: Capability


@cache
def load_matrix(path: Path = MATRIX_FILE) -> Mapping[str, GpuFamily]:
    raw = json.loads(path.read_text(encoding="utf-8"))
    return {
        family: GpuFamily(family, row["gpu"], parse_capability(row["computeCapability"]))
        for family, row in raw["families"].items()
    }


def parse_capability(text: str) -> Capability:
    """ "8.6" -> (8, 6)."""
    major, minor = text.split(".")
    return int(major), int(minor)


def sm_name(capability: Capability) -> str:
    return f"sm_{capability[0]}{capability[1]}"


def instance_family(instance_type: str) -> str:
    """ "ml.p3.2xlarge" -> "p3"."""
    parts = instance_type.split(".")
    return parts[1] if len(parts) == 3 and parts[0] == "ml" else ""


def arch_runs_on(arch: str, capability: Capability) -> bool:
    """Whether code compiled for ``arch`` (an entry of torch.cuda.get_arch_list()) runs on a GPU of ``capability``.

    NVIDIA's rule (CUDA C++ Programming Guide, "Binary Compatibility" and "PTX Compatibility",
    https://docs.nvidia.com/cuda/cuda-c-programming-guide/index.html#binary-compatibility): a cubin (sm_XY) runs on
    GPUs of the same major version and the same or a higher minor version (sm_86 runs on 8.9, not on 9.0); PTX
    (compute_XY) is compiled by the driver for any GPU of that capability or higher. Architecture-specific
    code (the "a" suffix) runs only on that exact capability, family-specific code ("f") only within its major
    version.
    """
    match = ARCH.match(arch)
    if not match:
        return False
    kind, major, minor, suffix = match[1], int(match[2]), int(match[3]), match[4]
    if suffix == "a":
        return capability == (major, minor)
    if kind == "sm" or suffix == "f":
        return capability[0] == major and capability[1] >= minor
    return capability >= (major, minor)


def build_runs_on(arch_list: Iterable[str], capability: Capability) -> bool:
    return any(arch_runs_on(arch, capability) for arch in arch_list)


@dataclass(frozen=True)
class CudaState:
    """What the installed PyTorch reports about CUDA on this host."""

    torch_version: str
    available: bool
    arch_list: tuple[str, ...]
    devices: tuple[tuple[str, Capability], ...]  # (name, compute capability) per visible GPU

    @classmethod
    def probe(cls) -> CudaState:
        import torch

        available = torch.cuda.is_available()
        # get_arch_list() is empty without a usable GPU; the compiled list is there regardless.
        arch_flags = torch._C._cuda_getArchFlags() if torch.version.cuda else None
        devices = tuple(
            (torch.cuda.get_device_name(index), torch.cuda.get_device_capability(index))
            for index in range(torch.cuda.device_count() if available else 0)
        )
        return cls(torch.__version__, available, tuple((arch_flags or "").split()), devices)


def unusable_gpu_reason(instance_type: str | None, cuda: CudaState) -> str | None:
    """Why this job cannot train on its GPUs, or None when it can (or the instance has no GPU to use).

    ``instance_type`` is resourceconfig.json's current_instance_type (None on a local run without that file).
    """
    arch_list = ", ".join(cuda.arch_list) or "no GPU architecture"
    for index, (name, capability) in enumerate(cuda.devices):
        if not build_runs_on(cuda.arch_list, capability):
            where = f"Instance type {instance_type}" if instance_type else "This host"
            return (
                f"{where} has GPU {index} {name} ({sm_name(capability)}), but this image's PyTorch "
                f"{cuda.torch_version} is built for {arch_list} only, so its CUDA kernels cannot run there. "
                f"Use an instance type whose GPU the image supports (training-image/gpu-architectures.json), "
                f"or an image with a PyTorch build for {sm_name(capability)}."
            )
    if instance_type is None or cuda.devices:
        return None
    family = load_matrix().get(instance_family(instance_type))
    if family is None and not GPU_INSTANCE_TYPE.match(instance_type):
        return None  # a CPU instance: training on its CPU is what was asked for
    gpu = f"{family.gpu} GPUs ({sm_name(family.capability)})" if family else "NVIDIA GPUs"
    return (
        f"Instance type {instance_type} has {gpu}, but PyTorch {cuda.torch_version} finds no usable CUDA device, "
        f"and training on the CPU of a GPU instance is refused. Check that the NVIDIA driver is visible in the "
        f"container, or set the hyperparameter device to cpu to train on the CPU anyway."
    )
