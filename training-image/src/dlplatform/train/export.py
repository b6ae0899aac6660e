"""What the main training process writes when training ends: the model folder SageMaker uploads as model.tar.gz
(model.pt, metadata.json, prepare's preprocessing.json, the evaluation of the exported model on the test split and
baseline.json) and output/data/metrics.json.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import numpy as np
import torch

from .. import __version__
from ..evaluate.evaluation import evaluate_model_folder
from ..model.artifact import FORMAT_VERSION, model_version, write_model
from ..model.network import Architecture
from ..paths import SageMakerPaths
from .baseline import write_model_baseline
from .dataset import Dataset
from .hyperparameters import Hyperparameters
from .preprocessing_channel import copy_preprocessing

log = logging.getLogger(__name__)


def export_model(
    *,
    paths: SageMakerPaths,
    network: torch.nn.Module,
    arch: Architecture,
    dataset: Dataset,
    hp: Hyperparameters,
    metrics: dict[str, Any],
    training: dict[str, Any],
) -> str:
    state = network.state_dict()
    predictive = {
        "architecture": arch.to_dict(),
        "feature_names": list(dataset.feature_names),
        "labels": list(dataset.label_names),
        "normalization": {"mean": dataset.mean.tolist(), "std": dataset.std.tolist()},
    }
    preprocessing_sha256 = copy_preprocessing(paths)  # serving transforms requests with it: part of the version
    if preprocessing_sha256 is not None:
        predictive["preprocessing_sha256"] = preprocessing_sha256
    version = model_version(state, predictive)
    metadata = {
        "format_version": FORMAT_VERSION,
        "model_version": version,
        "model_kind": arch.kind,
        "input_width": arch.input_width,
        **predictive,
        "label_column": hp.label_column,
        "hyperparameters": hp.to_dict(),
        "metrics": metrics,
        "training": training,
        "framework": {"torch": torch.__version__.split("+")[0], "dlplatform": __version__},
    }
    write_model(paths.model_dir, state, metadata)
    paths.output_data_dir.mkdir(parents=True, exist_ok=True)
    (paths.output_data_dir / "metrics.json").write_text(
        json.dumps({**metrics, "model_version": version}, indent=2) + "\n", encoding="utf-8"
    )
    return version


def evaluate_test_split(paths: SageMakerPaths, dataset: Dataset, label_column: str) -> None:
    """Evaluates the exported model on the test split; the report goes into the model folder, and so does the
    baseline `monitor` compares traffic with (its prediction part is this evaluation's predicted classes)."""
    rows = dataset.test_x.astype(np.float64) * dataset.std + dataset.mean  # back to model rows, as served
    evaluation = evaluate_model_folder(paths.model_dir, rows, dataset.test_y, dataset.sources["test"], paths.model_dir)
    write_model_baseline(paths, label_column, evaluation)
    log.info(
        "Evaluated on %d test rows: accuracy %.4f, macro F1 %.4f, ECE %.4f; report in %s",
        evaluation["rows"],
        evaluation["accuracy"],
        evaluation["macro_avg"]["f1"],
        evaluation["calibration"]["expected_calibration_error"],
        paths.model_dir,
    )
