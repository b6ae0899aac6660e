"""The GPU matrix: the installed torch build (the image's) runs on the GPU of every allowed instance family, the
record the CDK reads at synth equals that build, and a GPU instance whose GPU is unusable fails the job at start."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import torch

from dlplatform.train import gpu

from .support import TRAINING_IMAGE, make_tree, run_train

MATRIX = json.loads((TRAINING_IMAGE / "gpu-architectures.json").read_text())
BUILD = MATRIX["torchBuild"]
FAMILIES = MATRIX["families"]
# What defect 2 shipped: torch 2.15.0+cu132, whose get_arch_list() starts at sm_75 (CUDA 13 dropped Volta).
CUDA_13_BUILD = ("sm_75", "sm_80", "sm_86", "sm_90", "sm_100", "sm_120")


def _installed_arch_list() -> list[str]:
    # torch.cuda.get_arch_list() is [] without a usable GPU; the compiled list is there regardless.
    return (torch._C._cuda_getArchFlags() or "").split()


def test_the_recorded_build_is_the_installed_torch() -> None:
    assert BUILD["torch"] == torch.__version__.split("+")[0]
    assert BUILD["cuda"] == torch.version.cuda
    assert BUILD["archList"] == _installed_arch_list()
    if torch.cuda.is_available():  # on a GPU host, the public API must agree too
        assert BUILD["archList"] == torch.cuda.get_arch_list()


def test_the_recorded_build_is_the_torch_pinned_in_requirements_txt() -> None:
    lines = (TRAINING_IMAGE / "requirements.txt").read_text().splitlines()
    pins = dict(line.split("==") for line in lines if "==" in line)
    assert pins["torch"] == BUILD["torch"]


def test_the_dockerfile_starts_from_the_official_image_of_the_recorded_build() -> None:
    base = re.search(r"^FROM pytorch/pytorch:(\S+)$", (TRAINING_IMAGE / "Dockerfile").read_text(), re.MULTILINE)
    assert base, "FROM pytorch/pytorch:<tag> expected"
    assert base[1] == f"{BUILD['torch']}-cuda{BUILD['cuda']}-cudnn9-runtime"


def test_the_image_carries_the_matrix_where_the_container_reads_it() -> None:
    # paths.PROGRAM_DIR, the folder holding src/: training-image/ here, /opt/program in the image.
    assert gpu.MATRIX_FILE == TRAINING_IMAGE / "gpu-architectures.json"
    assert re.search(r"^COPY gpu-architectures\.json \.$", (TRAINING_IMAGE / "Dockerfile").read_text(), re.MULTILINE)
    assert "!gpu-architectures.json" in (TRAINING_IMAGE / ".dockerignore").read_text().splitlines()


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_the_installed_torch_runs_on_the_gpu_of(family: str) -> None:
    capability = gpu.parse_capability(FAMILIES[family]["computeCapability"])
    assert gpu.build_runs_on(_installed_arch_list(), capability), (
        f"{family} ({FAMILIES[family]['gpu']}, {gpu.sm_name(capability)}) is not in {_installed_arch_list()}"
    )


def test_every_family_names_its_gpu_and_cites_the_aws_page_it_comes_from() -> None:
    assert {"p3", "p3dn", "p4d", "p4de", "p5", "g4dn", "g5", "g6"} <= set(FAMILIES)
    for family, row in FAMILIES.items():
        assert row["gpu"].startswith("NVIDIA "), family
        assert re.fullmatch(r"\d+\.\d", row["computeCapability"]), family
        assert re.fullmatch(r"https://aws\.amazon\.com/ec2/instance-types/[a-z0-9]+/", row["source"]), family
    assert gpu.load_matrix()["p3"] == gpu.GpuFamily("p3", "NVIDIA V100", (7, 0))


@pytest.mark.parametrize(
    ("arch", "capability", "runs"),
    [
        ("sm_70", (7, 0), True),
        ("sm_70", (7, 5), True),  # same major, higher minor
        ("sm_75", (7, 0), False),  # a cubin never runs on a lower minor
        ("sm_86", (8, 9), True),  # the L4 of g6 runs the A10G's kernels
        ("sm_86", (9, 0), False),  # nor on another major
        ("sm_120", (12, 0), True),
        ("compute_80", (9, 0), True),  # PTX is compiled by the driver for newer GPUs
        ("compute_80", (7, 5), False),
        ("sm_90a", (9, 0), True),  # architecture-specific: that GPU only
        ("sm_90a", (9, 1), False),
        ("sm_100f", (10, 3), True),  # family-specific: within the major version
        ("sm_100f", (12, 0), False),
        ("not-an-arch", (7, 0), False),
    ],
)
def test_cuda_compatibility_rule(arch: str, capability: tuple[int, int], runs: bool) -> None:
    assert gpu.arch_runs_on(arch, capability) is runs


def test_the_cuda_13_build_of_defect_2_cannot_run_the_v100_of_the_default_ml_p3() -> None:
    v100 = gpu.load_matrix()["p3"].capability
    assert not gpu.build_runs_on(CUDA_13_BUILD, v100)
    assert gpu.build_runs_on(BUILD["archList"], v100)


def _state(arch_list: tuple[str, ...], *devices: tuple[str, tuple[int, int]]) -> gpu.CudaState:
    return gpu.CudaState("2.15.0+cu132", bool(devices), arch_list, tuple(devices))


def test_a_gpu_the_build_has_no_kernels_for_is_named_with_the_build_s_architectures() -> None:
    reason = gpu.unusable_gpu_reason("ml.p3.2xlarge", _state(CUDA_13_BUILD, ("Tesla V100-SXM2-16GB", (7, 0))))
    assert reason == (
        "Instance type ml.p3.2xlarge has GPU 0 Tesla V100-SXM2-16GB (sm_70), but this image's PyTorch 2.15.0+cu132 "
        "is built for sm_75, sm_80, sm_86, sm_90, sm_100, sm_120 only, so its CUDA kernels cannot run there. "
        "Use an instance type whose GPU the image supports (training-image/gpu-architectures.json), "
        "or an image with a PyTorch build for sm_70."
    )


@pytest.mark.parametrize(
    ("instance_type", "state"),
    [
        ("ml.p3.2xlarge", _state(("sm_70",), ("Tesla V100-SXM2-16GB", (7, 0)))),
        ("ml.g6.xlarge", _state(("sm_86",), ("NVIDIA L4", (8, 9)))),
        ("ml.m5.xlarge", _state(CUDA_13_BUILD)),  # a CPU instance trains on its CPU
        (None, _state(CUDA_13_BUILD)),  # a local run without resourceconfig.json
    ],
    ids=["V100 with sm_70", "L4 with sm_86", "CPU instance", "no resourceconfig"],
)
def test_a_usable_gpu_or_a_cpu_instance_is_no_problem(instance_type: str | None, state: gpu.CudaState) -> None:
    assert gpu.unusable_gpu_reason(instance_type, state) is None


def test_a_gpu_instance_without_cuda_is_a_problem_even_outside_the_matrix() -> None:
    assert "has NVIDIA V100 GPUs (sm_70), but PyTorch" in (gpu.unusable_gpu_reason("ml.p3.2xlarge", _state(())) or "")
    assert "ml.g6e.xlarge has NVIDIA GPUs, but" in (gpu.unusable_gpu_reason("ml.g6e.xlarge", _state(())) or "")


def _gpu_instance_tree(tmp_path: Path, hyperparameters: dict[str, str]) -> Path:
    resources = {"current_host": "algo-1", "hosts": ["algo-1"], "current_instance_type": "ml.p3.2xlarge"}
    return make_tree(tmp_path / "opt-ml", hyperparameters, resources=resources)


@pytest.mark.parametrize("device", ["auto", "cuda"])
def test_a_gpu_instance_without_a_usable_gpu_fails_the_job_at_start(tmp_path: Path, device: str) -> None:
    root = _gpu_instance_tree(tmp_path, {"device": device, "epochs": "1"})
    # No GPU visible, as on a host whose driver the container cannot reach (and on a GPU test machine too).
    result = run_train(root, {"CUDA_VISIBLE_DEVICES": ""})

    assert result.returncode == 1
    assert (root / "output" / "failure").read_text() == (
        f"Instance type ml.p3.2xlarge has NVIDIA V100 GPUs (sm_70), but PyTorch {torch.__version__} finds no usable "
        "CUDA device, and training on the CPU of a GPU instance is refused. Check that the NVIDIA driver is visible "
        "in the container, or set the hyperparameter device to cpu to train on the CPU anyway.\n"
    )
    assert "epoch=" not in result.stdout
    assert not (root / "model" / "model.pt").exists()


def test_device_cpu_still_trains_on_the_cpu_of_a_gpu_instance_with_a_warning(tmp_path: Path) -> None:
    root = _gpu_instance_tree(tmp_path, {"device": "cpu", "epochs": "1"})
    result = run_train(root, {"CUDA_VISIBLE_DEVICES": ""})

    assert result.returncode == 0, result.stderr
    assert "Training on the CPU of GPU instance ml.p3.2xlarge: the hyperparameter device is cpu" in result.stderr
    assert (root / "model" / "model.pt").exists()
