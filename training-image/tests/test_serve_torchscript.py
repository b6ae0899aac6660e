"""The server's TorchScript path on the CPU: torch 2.10 deprecates ``torch.jit.script`` and the predictor silences
only that warning (README: "TorchScript: why it stays, and the plan"). These fail when a torch pin deprecates
more of the path, or when the frozen graphs stop matching the eager network the artifact rebuilds."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from dlplatform.model.artifact import FORMAT_VERSION, write_model
from dlplatform.model.network import Architecture, build_model
from dlplatform.serve.predictor import SMALL_BATCH_ROWS, Predictor

ARCHITECTURES = {
    "cnn": Architecture("cnn", 64, 3, (16,), 0.0, image_side=8),
    "mlp": Architecture("mlp", 5, 3, (8, 8), 0.0),
}


def _model_dir(root: Path, arch: Architecture) -> Path:
    torch.manual_seed(0)
    metadata = {
        "format_version": FORMAT_VERSION,
        "model_version": f"torchscript-{arch.kind}",
        "architecture": arch.to_dict(),
        "feature_names": [f"f{i}" for i in range(arch.input_width)],
        "labels": ["a", "b", "c"],
        "normalization": {"mean": [0.0] * arch.input_width, "std": [1.0] * arch.input_width},
    }
    write_model(root / "model", build_model(arch).state_dict(), metadata)
    return root / "model"


@pytest.mark.parametrize("kind", sorted(ARCHITECTURES))
def test_building_the_cpu_predictor_raises_no_warning_but_the_known_deprecation(tmp_path: Path, kind: str) -> None:
    model_dir = _model_dir(tmp_path, ARCHITECTURES[kind])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any other warning, DeprecationWarning included, fails the load
        predictor = Predictor.load(model_dir)
    assert predictor.small is not None
    assert predictor.large is not None


@pytest.mark.parametrize("kind", sorted(ARCHITECTURES))
@pytest.mark.parametrize("rows", [1, SMALL_BATCH_ROWS, SMALL_BATCH_ROWS + 1, 64])
def test_the_frozen_graphs_match_the_eager_network(tmp_path: Path, kind: str, rows: int) -> None:
    predictor = Predictor.load(_model_dir(tmp_path, ARCHITECTURES[kind]))
    x = np.random.default_rng(rows).normal(size=(rows, predictor.input_width)).astype(np.float32)
    with torch.inference_mode():
        eager = torch.softmax(predictor.network(torch.from_numpy(x)), dim=1).numpy()
    np.testing.assert_allclose(predictor.forward(x), eager, atol=1e-5)
