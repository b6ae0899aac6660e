"""Classification metrics from true and predicted class indices: per class, averages, confusion matrix.

Conventions follow scikit-learn's classification_report (zero_division=0), so the numbers can be checked
against it: precision of a class never predicted is 0, and so is recall of a class with no true rows.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, classes: int) -> np.ndarray:
    """Counts (classes, classes): row = true class, column = predicted class."""
    matrix = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(matrix, (y_true, y_pred), 1)
    return matrix


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    return np.divide(numerator, denominator, out=np.zeros(len(numerator)), where=denominator > 0)


def classification_metrics(y_true: np.ndarray, y_pred: np.ndarray, labels: tuple[str, ...]) -> dict[str, Any]:
    matrix = confusion_matrix(y_true, y_pred, len(labels))
    true_positive = np.diag(matrix).astype(np.float64)
    support = matrix.sum(axis=1).astype(np.float64)
    predicted = matrix.sum(axis=0).astype(np.float64)
    precision = _ratio(true_positive, predicted)
    recall = _ratio(true_positive, support)
    f1 = _ratio(2 * precision * recall, precision + recall)
    total = float(support.sum())
    weights = support / total if total else np.zeros(len(labels))

    def average(weighting: np.ndarray) -> dict[str, float]:
        return {
            "precision": float(precision @ weighting),
            "recall": float(recall @ weighting),
            "f1": float(f1 @ weighting),
        }

    return {
        "accuracy": float(true_positive.sum() / total) if total else 0.0,
        "per_class": [
            {
                "label": label,
                "precision": float(precision[i]),
                "recall": float(recall[i]),
                "f1": float(f1[i]),
                "support": int(support[i]),
            }
            for i, label in enumerate(labels)
        ],
        "macro_avg": {**average(np.full(len(labels), 1 / len(labels))), "support": int(total)},
        "weighted_avg": {**average(weights), "support": int(total)},
        "confusion_matrix": {
            "labels": list(labels),
            "rows": "true class",
            "columns": "predicted class",
            "matrix": matrix.tolist(),
        },
    }
