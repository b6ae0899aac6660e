"""CUDA forward compatibility at container start (defect 3): the entry point reads the host's NVIDIA driver and
puts the image's cuda-compat libraries first on LD_LIBRARY_PATH only when that driver is older than the image's
CUDA needs, and says so in the job log. The driver is faked: a /proc/driver/nvidia/version file or nvidia-smi
output, and a compat folder whose libcuda.so.1 links to the package's driver version, as in the image."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from dlplatform import cuda_compat
from dlplatform.cuda_compat import Decision, DriverNeed, compat_driver, compat_environment, decide, read_host_driver

from .support import ENTRYPOINT, TRAINING_IMAGE, child_env, make_tree, run_train

MATRIX = json.loads((TRAINING_IMAGE / "gpu-architectures.json").read_text())
COMPAT = MATRIX["cudaDriver"]["forwardCompat"]
DOCKERFILE = (TRAINING_IMAGE / "Dockerfile").read_text()

PROPRIETARY = (
    "NVRM version: NVIDIA UNIX x86_64 Kernel Module  535.54.03  Tue Jun  6 22:20:39 UTC 2023\n"
    "GCC version:  gcc version 10.5.0 20230707 (Red Hat 10.5.0-1) (GCC)\n"
)
OPEN_MODULE = "NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  550.54.15  Release Build  (dvs-builder@U16)\n"


def _version_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "version"
    path.write_text(text)
    return path


def _compat_dir(tmp_path: Path, driver: str = "570.211.01") -> Path:
    """A folder laid out as cuda-compat-12-8 installs it: libcuda.so.1 -> libcuda.so.<driver>."""
    folder = tmp_path / "compat"
    folder.mkdir()
    (folder / f"libcuda.so.{driver}").write_bytes(b"")
    (folder / "libcuda.so.1").symlink_to(f"libcuda.so.{driver}")
    return folder


def _need(compat_dir: Path = Path("/usr/local/cuda-12.8/compat")) -> DriverNeed:
    return DriverNeed("12.8", "570.26", "cuda-compat-12-8", compat_dir, (470, 535, 550))


@pytest.mark.parametrize(("text", "driver"), [(PROPRIETARY, "535.54.03"), (OPEN_MODULE, "550.54.15")])
def test_reads_the_host_driver_from_proc(tmp_path: Path, text: str, driver: str) -> None:
    assert read_host_driver(_version_file(tmp_path, text), run=_no_smi) == driver


def _no_smi(_command: Sequence[str]) -> str:
    raise AssertionError("nvidia-smi asked although /proc had the version")


def test_falls_back_to_nvidia_smi_when_proc_has_no_driver_file(tmp_path: Path) -> None:
    asked: list[Sequence[str]] = []

    def smi(command: Sequence[str]) -> str:
        asked.append(command)
        return "470.57.02\n470.57.02\n"

    assert read_host_driver(tmp_path / "missing", run=smi) == "470.57.02"
    assert asked == [["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"]]


def test_no_driver_file_and_no_nvidia_smi_is_a_host_without_nvidia_driver(tmp_path: Path) -> None:
    def smi(_command: Sequence[str]) -> str:
        raise FileNotFoundError("nvidia-smi")

    assert read_host_driver(tmp_path / "missing", run=smi) is None
    assert read_host_driver(_version_file(tmp_path, "garbage\n"), run=lambda _c: "N/A\n") is None


def test_the_compat_package_driver_is_the_version_libcuda_so_1_links_to(tmp_path: Path) -> None:
    assert compat_driver(_compat_dir(tmp_path)) == "570.211.01"
    assert compat_driver(tmp_path / "absent") is None


@pytest.mark.parametrize(
    ("host", "use"),
    [
        ("470.57.02", True),  # the old default of SageMaker hosting on p3/g4dn/g5
        ("535.54.03", True),  # InferenceAmiVersion al2-ami-sagemaker-inference-gpu-2(-1)
        ("550.54.15", True),  # al2-ami-sagemaker-inference-gpu-3-1
        ("570.26", False),  # CUDA 12.8 natively
        ("570.86.15", False),
        ("580.95.05", False),  # al2023-ami-sagemaker-inference-gpu-4-1
        ("525.60.13", False),  # older, but not a branch the package supports
    ],
)
def test_forward_compatibility_only_for_an_older_driver_on_a_supported_branch(host: str, use: bool) -> None:
    assert decide(host, _need(), "570.211.01").use_compat is use


def test_the_job_log_line_names_the_driver_the_cuda_and_the_package() -> None:
    assert decide("535.54.03", _need(), "570.211.01") == Decision(
        True,
        "CUDA: host NVIDIA driver 535.54.03, image CUDA 12.8 (native from driver 570.26): forward compatibility on "
        "with cuda-compat-12-8 (driver 570.211.01) from /usr/local/cuda-12.8/compat",
    )
    assert decide(None, _need(), "570.211.01") == Decision(
        False, "CUDA: no NVIDIA driver on this host; image CUDA 12.8 (native from driver 570.26)"
    )
    assert decide("580.95.05", _need(), "570.211.01").message.endswith(": runs natively, forward compatibility off")
    assert "branch 525 is older and not one cuda-compat-12-8 (driver 570.211.01) supports (470, 535, 550)" in (
        decide("525.60.13", _need(), "570.211.01").message
    )
    assert "cuda-compat-12-8 is not installed in /usr/local/cuda-12.8/compat; CUDA is likely to fail" in (
        decide("535.54.03", _need(), None).message
    )


def test_a_package_not_newer_than_the_host_driver_is_never_used() -> None:
    # "The CUDA Compatibility Package is not backwards compatible" (SageMaker, inference-gpu-drivers).
    older_package = DriverNeed("12.8", "999.0", "cuda-compat-12-8", Path("/c"), (535,))
    assert decide("535.54.03", older_package, "535.54.03").use_compat is False


def test_the_compat_folder_goes_first_on_ld_library_path() -> None:
    env = compat_environment({"LD_LIBRARY_PATH": "/usr/local/nvidia/lib:/usr/local/nvidia/lib64", "A": "1"}, Path("/c"))
    assert env["LD_LIBRARY_PATH"] == "/c:/usr/local/nvidia/lib:/usr/local/nvidia/lib64"
    assert env["A"] == "1"
    assert env[cuda_compat.COMPAT_ON_ENV] == "/c"
    assert compat_environment({}, Path("/c"))["LD_LIBRARY_PATH"] == "/c"


def _run_entrypoint(argument: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ENTRYPOINT), argument], env=env, capture_output=True, text=True, check=False, timeout=120
    )


def _fake_host(tmp_path: Path, proc_text: str) -> dict[str, str]:
    return {
        cuda_compat.DRIVER_VERSION_FILE_ENV: str(_version_file(tmp_path, proc_text)),
        cuda_compat.COMPAT_DIR_ENV: str(_compat_dir(tmp_path)),
        "LD_LIBRARY_PATH": "/usr/local/nvidia/lib:/usr/local/nvidia/lib64",
    }


def test_the_entry_point_starts_again_with_the_compat_libraries_before_loading_anything(tmp_path: Path) -> None:
    # An unknown argument: the compat switch happens first, then the usage error of the restarted process.
    env = child_env(tmp_path, _fake_host(tmp_path, PROPRIETARY))
    done = _run_entrypoint("nothing", env)
    assert done.returncode == 2
    compat_dir = tmp_path / "compat"
    assert done.stderr.splitlines()[:3] == [
        "CUDA: host NVIDIA driver 535.54.03, image CUDA 12.8 (native from driver 570.26): forward compatibility on "
        f"with cuda-compat-12-8 (driver 570.211.01) from {compat_dir}",
        f"CUDA: forward compatibility in use, {compat_dir} first on LD_LIBRARY_PATH",
        "usage: entrypoint.py {train|serve|prepare|evaluate|monitor}  (SageMaker runs the image with one of these)",
    ]


def test_a_driver_new_enough_gets_no_compat_libraries(tmp_path: Path) -> None:
    env = child_env(tmp_path, _fake_host(tmp_path, PROPRIETARY.replace("535.54.03", "580.95.05")))
    done = _run_entrypoint("nothing", env)
    assert done.stderr.splitlines()[:2] == [
        "CUDA: host NVIDIA driver 580.95.05, image CUDA 12.8 (native from driver 570.26): runs natively, "
        "forward compatibility off",
        "usage: entrypoint.py {train|serve|prepare|evaluate|monitor}  (SageMaker runs the image with one of these)",
    ]


def test_a_training_job_on_an_older_driver_trains_with_the_versions_in_its_log(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "opt-ml", {"epochs": "1"})
    result = run_train(root, _fake_host(tmp_path, OPEN_MODULE))
    assert result.returncode == 0, result.stderr
    started = "CUDA: host NVIDIA driver 550.54.15, image CUDA 12.8 (native from driver 570.26): forward compatibility"
    assert started in result.stderr
    assert f"CUDA: forward compatibility in use, {tmp_path / 'compat'} first on LD_LIBRARY_PATH" in result.stderr
    assert result.epochs == [1]


def test_the_dockerfile_installs_the_recorded_compat_package_for_the_image_s_cuda() -> None:
    cuda = MATRIX["torchBuild"]["cuda"]
    assert COMPAT["package"] == f"cuda-compat-{cuda.replace('.', '-')}"
    assert COMPAT["libraryDir"] == f"/usr/local/cuda-{cuda}/compat"
    assert re.search(rf"^ARG CUDA_COMPAT_PACKAGE={COMPAT['package']}$", DOCKERFILE, re.MULTILINE)
    assert re.search(rf"^ARG CUDA_COMPAT_VERSION={re.escape(COMPAT['packageVersion'])}$", DOCKERFILE, re.MULTILINE)
    assert '"${CUDA_COMPAT_PACKAGE}=${CUDA_COMPAT_VERSION}"' in DOCKERFILE
    assert f"test -L {COMPAT['libraryDir']}/libcuda.so.1" in DOCKERFILE
    assert DriverNeed.load(env={}).compat_dir == Path(COMPAT["libraryDir"])


def test_the_package_runs_the_image_natively_and_is_newer_than_every_branch_it_is_used_on() -> None:
    package_driver = cuda_compat.parse_version(COMPAT["packageVersion"].split("-")[0])
    native = cuda_compat.parse_version(MATRIX["cudaDriver"]["nativeMinimumDriver"])
    assert package_driver >= native
    assert all(branch < native[0] for branch in COMPAT["hostDriverBranches"])
