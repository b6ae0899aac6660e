"""CUDA forward compatibility, switched on at container start when the host's NVIDIA driver is older than the
image's CUDA needs: the approach of AWS's own SageMaker PyTorch images.

The image's PyTorch is CUDA 12.8, which runs natively from driver 570.26 (gpu-architectures.json, cudaDriver).
AWS publishes no driver for training hosts, and real-time hosting runs driver 535 or 550 on the AMIs this
platform picks. So the image ships NVIDIA's forward-compatibility package (cuda-compat-12-8: the user-mode
driver libraries of driver 570, Dockerfile) and, before anything loads libcuda, puts its folder first on
LD_LIBRARY_PATH when the host driver is older than the package's and is on a branch the package supports.
The dynamic loader reads LD_LIBRARY_PATH only when a process starts, so the entry point starts itself again
with the new value; gunicorn's workers and the training processes inherit it.

AWS's Deep Learning Containers do the same in their start script (aws/deep-learning-containers,
pytorch/training/docker/build_artifacts/start_cuda_compat.sh, and SageMaker's page
https://docs.aws.amazon.com/sagemaker/latest/dg/inference-gpu-drivers.html, "If you use a CUDA compatibility
layer"): the compat package's driver version is the version in the name of the file libcuda.so.1 links to,
the host's is in /proc/driver/nvidia/version (nvidia-smi where that file is missing), and the package is used
only when the host driver is older ("The CUDA Compatibility Package is not backwards compatible").
NVIDIA: https://docs.nvidia.com/deploy/cuda-compatibility/forward-compatibility.html

Imports nothing heavy (no torch): it runs before the training or serving code is loaded.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from .paths import GPU_MATRIX_FILE as MATRIX_FILE

DRIVER_VERSION_FILE = Path("/proc/driver/nvidia/version")
# Where tests point the driver file and the compat folder instead (as SM_ROOT points /opt/ml elsewhere).
DRIVER_VERSION_FILE_ENV = "DLPLATFORM_NVIDIA_VERSION_FILE"
COMPAT_DIR_ENV = "DLPLATFORM_CUDA_COMPAT_DIR"
# Set on the process started again with the compat folder on LD_LIBRARY_PATH: it must not start itself again.
COMPAT_ON_ENV = "DLPLATFORM_CUDA_COMPAT"

# "NVRM version: NVIDIA UNIX x86_64 Kernel Module  535.54.03  ..." or "... Open Kernel Module for x86_64  550.54.15 ..."
_NVRM = re.compile(r"^NVRM version:.*?\s(\d+\.\d+(?:\.\d+)?)\s", re.MULTILINE)
_VERSION = re.compile(r"\d+(?:\.\d+)*")

Version = tuple[int, ...]


def parse_version(text: str) -> Version:
    """ "535.54.03" -> (535, 54, 3)."""
    if not _VERSION.fullmatch(text):
        raise ValueError(f"not a driver version: {text!r}")
    return tuple(int(part) for part in text.split("."))


@dataclass(frozen=True)
class DriverNeed:
    """What the image's CUDA needs of the host driver (gpu-architectures.json: torchBuild.cuda, cudaDriver)."""

    cuda: str
    native_minimum: str  # the driver from which this CUDA runs without help
    compat_package: str
    compat_dir: Path
    compat_branches: tuple[int, ...]  # host driver branches the forward-compat package supports

    @classmethod
    def load(cls, path: Path = MATRIX_FILE, env: Mapping[str, str] | None = None) -> DriverNeed:
        env = os.environ if env is None else env
        raw = json.loads(path.read_text(encoding="utf-8"))
        compat = raw["cudaDriver"]["forwardCompat"]
        return cls(
            cuda=raw["torchBuild"]["cuda"],
            native_minimum=raw["cudaDriver"]["nativeMinimumDriver"],
            compat_package=compat["package"],
            compat_dir=Path(env.get(COMPAT_DIR_ENV) or compat["libraryDir"]),
            compat_branches=tuple(compat["hostDriverBranches"]),
        )


def read_host_driver(
    version_file: Path = DRIVER_VERSION_FILE,
    run: Callable[[Sequence[str]], str] | None = None,
) -> str | None:
    """The host's NVIDIA kernel driver version, or None where there is no NVIDIA driver (a CPU host).

    ``run`` runs nvidia-smi and returns its output (tests pass a fake); it is asked only when the /proc file is
    missing, and only when nvidia-smi is on PATH.
    """
    try:
        match = _NVRM.search(version_file.read_text(encoding="utf-8", errors="replace"))
        if match:
            return match[1]
    except OSError:
        pass
    if run is None:
        if shutil.which("nvidia-smi") is None:
            return None
        run = _run
    try:
        lines = run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"]).split()
    except (OSError, subprocess.SubprocessError):
        return None
    return lines[0] if lines and _VERSION.fullmatch(lines[0]) else None


def _run(command: Sequence[str]) -> str:
    return subprocess.run(command, capture_output=True, text=True, check=True, timeout=30).stdout


def compat_driver(compat_dir: Path) -> str | None:
    """The driver version of the installed forward-compat package: libcuda.so.1 -> libcuda.so.570.211.01."""
    link = compat_dir / "libcuda.so.1"
    try:
        target = link.readlink()
    except OSError:
        return None
    match = re.fullmatch(r"libcuda\.so\.(\d+(?:\.\d+)+)", target.name)
    return match[1] if match else None


@dataclass(frozen=True)
class Decision:
    """Whether to use the forward-compat package on this host, and the job-log line that says why."""

    use_compat: bool
    message: str


def decide(host_driver: str | None, need: DriverNeed, package_driver: str | None) -> Decision:
    """The rule of AWS's start script (the host driver older than the package's), with two guards: a driver
    that runs the image's CUDA natively never gets the package, and neither does one on a branch the package
    does not support (NVIDIA's forward compatibility is per driver branch)."""
    image = f"image CUDA {need.cuda} (native from driver {need.native_minimum})"
    if host_driver is None:
        return Decision(False, f"CUDA: no NVIDIA driver on this host; {image}")
    host = f"host NVIDIA driver {host_driver}"
    if parse_version(host_driver) >= parse_version(need.native_minimum):
        return Decision(False, f"CUDA: {host}, {image}: runs natively, forward compatibility off")
    if package_driver is None:
        return Decision(False, f"CUDA: {host}, {image}: older, and {need.compat_package} is not installed "
                        f"in {need.compat_dir}; CUDA is likely to fail")  # fmt: skip
    package = f"{need.compat_package} (driver {package_driver})"
    if parse_version(host_driver) >= parse_version(package_driver):
        return Decision(False, f"CUDA: {host}, {image}: not older than {package}, forward compatibility off")
    branch = parse_version(host_driver)[0]
    if branch not in need.compat_branches:
        supported = ", ".join(str(b) for b in need.compat_branches)
        return Decision(False, f"CUDA: {host}, {image}: branch {branch} is older and not one {package} supports "
                        f"({supported}); forward compatibility off, CUDA is likely to fail")  # fmt: skip
    return Decision(True, f"CUDA: {host}, {image}: forward compatibility on with {package} from {need.compat_dir}")


def compat_environment(env: Mapping[str, str], compat_dir: Path) -> dict[str, str]:
    """``env`` with ``compat_dir`` first on LD_LIBRARY_PATH and the marker that it is."""
    paths = [compat_dir.as_posix(), *(p for p in env.get("LD_LIBRARY_PATH", "").split(":") if p)]
    return {**env, "LD_LIBRARY_PATH": ":".join(paths), COMPAT_ON_ENV: compat_dir.as_posix()}


def start(argv: Sequence[str], script: Path, env: Mapping[str, str] | None = None) -> None:
    """Called by the entry point before anything imports torch: prints the driver and CUDA versions and, when
    the compat package is needed, starts the entry point again with it first on LD_LIBRARY_PATH (no return)."""
    env = os.environ if env is None else env
    marker = env.get(COMPAT_ON_ENV)
    if marker:
        first = env.get("LD_LIBRARY_PATH", "").split(":")[0]
        print(f"CUDA: forward compatibility in use, {first} first on LD_LIBRARY_PATH", file=sys.stderr, flush=True)
        return
    need = DriverNeed.load(env=env)
    version_file = Path(env.get(DRIVER_VERSION_FILE_ENV) or DRIVER_VERSION_FILE)
    decision = decide(read_host_driver(version_file), need, compat_driver(need.compat_dir))
    print(decision.message, file=sys.stderr, flush=True)
    if decision.use_compat:
        os.execve(sys.executable, [sys.executable, str(script), *argv], compat_environment(env, need.compat_dir))
