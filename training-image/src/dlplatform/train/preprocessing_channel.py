"""`prepare`'s fitted preprocessing as `train` receives it: checked against the training data before training,
copied into the model folder after it (serving applies it to every request).

The preprocessing arrives as an optional input channel named ``preprocessing`` holding preprocessing.json
(prepare's processing/output/data/preprocessing/); serving applies it to every request.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from ..errors import DataError
from ..paths import SageMakerPaths
from ..tabular.preprocessing import PREPROCESSING_CHANNEL, PREPROCESSING_FILE, Preprocessing, read
from .dataset import Dataset


def channel_preprocessing(paths: SageMakerPaths) -> Path | None:
    """The preprocessing.json of the ``preprocessing`` channel, or None when training runs without one."""
    directory = paths.channel_dir(PREPROCESSING_CHANNEL)
    if not directory.is_dir():
        return None
    path = directory / PREPROCESSING_FILE
    if not path.is_file():
        raise DataError(f"Channel '{PREPROCESSING_CHANNEL}' has no {PREPROCESSING_FILE} (prepare writes it)")
    return path


def check_preprocessing(paths: SageMakerPaths, dataset: Dataset, label_column: str) -> Preprocessing | None:
    """Fails before training when the preprocessing does not describe the training data's columns."""
    path = channel_preprocessing(paths)
    if path is None:
        return None
    try:
        preprocessing = read(path)
    except (OSError, ValueError) as error:
        raise DataError(f"Channel '{PREPROCESSING_CHANNEL}': {error}") from None
    if preprocessing.output_features != dataset.feature_names or preprocessing.label_column != label_column:
        raise DataError(
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
