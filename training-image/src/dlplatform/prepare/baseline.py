"""The training split's baseline (tabular/baseline.py), fitted where the raw training rows still have their gaps."""

from __future__ import annotations

import numpy as np

from ..tabular.baseline import CATEGORICAL, NUMERIC, Baseline, Feature, class_distribution, fit_feature
from ..tabular.labels import sort_labels
from ..tabular.preprocessing import Preprocessing
from .cleaning import Cleaned

SOURCE = "prepare: the training split"


def _fit(cleaned: Cleaned, train: np.ndarray, name: str) -> Feature:
    """A numeric column's quantile bins, or a text column's category frequencies (drift compares served text)."""
    values = cleaned.features[train, cleaned.feature_names.index(name)]
    if name in cleaned.vocabularies:
        vocabulary = cleaned.vocabularies[name]
        return fit_feature(name, CATEGORICAL, [None if np.isnan(v) else vocabulary[int(v)] for v in values])
    return fit_feature(name, NUMERIC, values)


def training_baseline(cleaned: Cleaned, train: np.ndarray, preprocessing: Preprocessing) -> Baseline:
    """Each raw column the model uses, over the training split's rows before imputation (a gap counts as missing),
    and the split's labels in training's class order."""
    used = [name for name in preprocessing.input_features if name not in preprocessing.dropped_columns]
    features = tuple(_fit(cleaned, train, name) for name in used)
    labels = [cleaned.labels[i] for i in train]
    return Baseline(
        features=features,
        label_column=preprocessing.label_column,
        labels=class_distribution(labels, sort_labels(set(labels))),
        source=SOURCE,
    )
