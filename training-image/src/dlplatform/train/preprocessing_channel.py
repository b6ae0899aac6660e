"""What `train` adds to the model folder besides the network: `prepare`'s fitted preprocessing and the
evaluation of the exported model on the test split (evaluation.json, evaluation.html).

The preprocessing arrives as an optional input channel named ``preprocessing`` holding preprocessing.json
(prepare's processing/output/data/preprocessing/); serving applies it to every request.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import numpy as np

from ..errors import TrainingError
from ..paths import SageMakerPaths
from ..tabular.preprocessing import PREPROCESSING_FILE, Preprocessing, read
from .dataset import Dataset

log = logging.getLogger(__name__)

PREPROCESSING_CHANNEL = "preprocessing"


def channel_preprocessing(paths: SageMakerPaths) -> Path | None:
    """The preprocessing.json of the ``preprocessing`` channel, or None when training runs without one."""
    directory = paths.channel_dir(PREPROCESSING_CHANNEL)
    if not directory.is_dir():
        return None
    path = directory / PREPROCESSING_FILE
    if not path.is_file():
        raise TrainingError(f"Channel '{PREPROCESSING_CHANNEL}' has no {PREPROCESSING_FILE} (prepare writes it)")
    return path


def check_preprocessing(paths: SageMakerPaths, dataset: Dataset, label_column: str) -> Preprocessing | None:
    """Fails before training when the preprocessing does not describe the training data's columns."""
    path = channel_preprocessing(paths)
    if path is None:
        return None
    try:
        preprocessing = read(path)
    except (OSError, ValueError) as error:
        raise TrainingError(f"Channel '{PREPROCESSING_CHANNEL}': {error}") from None
    if preprocessing.output_features != dataset.feature_names or preprocessing.label_column != label_column:
        raise TrainingError(
            f"Channel '{PREPROCESSING_CHANNEL}': {PREPROCESSING_FILE} was fitted for other data (its columns or label "
            "column differ from the train channel's); use the train, validation, test and preprocessing outputs of "
            "the same prepare run"
        )
    return preprocessing


def copy_preprocessing(paths: SageMakerPaths) -> str | None:
    """Copies preprocessing.json into the model folder; returns its SHA-256 (part of the model version)."""
    path = channel_preprocessing(paths)
    if path is None:
        return None
    content = path.read_bytes()
    paths.model_dir.mkdir(parents=True, exist_ok=True)
    (paths.model_dir / PREPROCESSING_FILE).write_bytes(content)
    return hashlib.sha256(content).hexdigest()


def evaluate_test_split(paths: SageMakerPaths, dataset: Dataset) -> None:
    """Evaluates the exported model on the test split; the report goes into the model folder."""
    from ..evaluate.evaluation import evaluate_and_write  # imports torch: `train` checks its inputs before that
    from ..evaluate.scoring import Scorer

    scorer = Scorer.load(paths.model_dir)
    rows = dataset.test_x.astype(np.float64) * dataset.std + dataset.mean  # back to model rows, as served
    evaluation = evaluate_and_write(scorer, rows, dataset.test_y, dataset.sources["test"], paths.model_dir)
    log.info(
        "Evaluated on %d test rows: accuracy %.4f, macro F1 %.4f, ECE %.4f; report in %s",
        evaluation["rows"],
        evaluation["accuracy"],
        evaluation["macro_avg"]["f1"],
        evaluation["calibration"]["expected_calibration_error"],
        paths.model_dir,
    )
