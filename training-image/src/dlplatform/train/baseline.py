"""The model folder's baseline.json (tabular/baseline.py): the data this model was trained on and what it predicted on
the test split, so `monitor` compares each served version with its own training data.

The feature and label parts come from the ``preprocessing`` channel (prepare fits them on the raw training split);
a model trained on ready-made channels gets them fitted here on its train channel, the rows it takes as they are.
The prediction part is the model's predicted-class distribution on the test split, counted from the evaluation that
`train` runs on the exported model (evaluation.json's confusion matrix: its columns are the predicted classes).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import DataError
from ..paths import SageMakerPaths
from ..tabular.baseline import BASELINE_FILE, NUMERIC, Baseline, ClassDistribution, class_distribution, fit_feature
from ..tabular.baseline import read as read_baseline
from ..tabular.baseline import save as save_baseline
from ..tabular.labels import sort_labels
from ..tabular.preprocessing import PREPROCESSING_CHANNEL, Preprocessing
from .dataset import read_channel

SOURCE = "train: the train channel"


def channel_baseline(paths: SageMakerPaths) -> Path | None:
    """prepare's baseline.json in the ``preprocessing`` channel, or None (no channel, or one from before baselines)."""
    path = paths.channel_dir(PREPROCESSING_CHANNEL) / BASELINE_FILE
    return path if path.is_file() else None


def check_channel_baseline(paths: SageMakerPaths, preprocessing: Preprocessing | None) -> None:
    """Fails before training when the channel's baseline.json cannot be read or describes columns the preprocessing
    (the channel's preprocessing.json, which a channel with a baseline always has) does not take."""
    path = channel_baseline(paths)
    if path is None or preprocessing is None:
        return
    try:
        baseline = read_baseline(path)
    except (OSError, ValueError) as error:
        raise DataError(f"Channel '{PREPROCESSING_CHANNEL}': {error}") from None
    unknown = [feature.name for feature in baseline.features if feature.name not in preprocessing.input_features]
    if unknown:
        raise DataError(
            f"Channel '{PREPROCESSING_CHANNEL}': {BASELINE_FILE} describes columns the preprocessing does not take "
            f"({', '.join(unknown[:8])}); use the outputs of one prepare run"
        )


def fit_on_train_channel(paths: SageMakerPaths, label_column: str) -> Baseline:
    table = read_channel(paths.channel_dir("train"), "train", label_column)
    features = tuple(
        fit_feature(name, NUMERIC, table.features[:, index]) for index, name in enumerate(table.feature_names)
    )
    return Baseline(
        features=features,
        label_column=label_column,
        labels=class_distribution(table.labels, sort_labels(set(table.labels))),
        source=SOURCE,
    )


def predicted_classes(evaluation: dict[str, Any]) -> ClassDistribution:
    """The test split's predicted classes: the column sums of the evaluation's confusion matrix."""
    matrix = evaluation["confusion_matrix"]
    counts = [sum(row[j] for row in matrix["matrix"]) for j in range(len(matrix["labels"]))]
    return ClassDistribution(tuple(matrix["labels"]), tuple(int(count) for count in counts))


def write_model_baseline(paths: SageMakerPaths, label_column: str, evaluation: dict[str, Any]) -> Baseline:
    path = channel_baseline(paths)
    baseline = read_baseline(path) if path is not None else fit_on_train_channel(paths, label_column)
    baseline = baseline.with_prediction(predicted_classes(evaluation))
    save_baseline(baseline, paths.model_dir / BASELINE_FILE)
    return baseline
