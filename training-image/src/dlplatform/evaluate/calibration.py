"""Calibration of predicted probabilities: the reliability table and the expected calibration error (ECE).

Top-label calibration with equal-width confidence bins: a row's confidence is its highest probability, and it
falls in bin b when b/B < confidence <= (b+1)/B (the first bin also takes 0). ECE = sum over bins of
(rows in bin / rows) * |accuracy in bin - mean confidence in bin| (Guo et al., 2017).
"""

from __future__ import annotations

from typing import Any

import numpy as np

DEFAULT_BINS = 10


def calibration(probabilities: np.ndarray, y_true: np.ndarray, bins: int = DEFAULT_BINS) -> dict[str, Any]:
    confidence = probabilities.max(axis=1).astype(np.float64)
    correct = (probabilities.argmax(axis=1) == y_true).astype(np.float64)
    edges = np.linspace(0.0, 1.0, bins + 1)
    index = np.searchsorted(edges[1:-1], confidence, side="left")  # inner edges below the confidence
    rows = len(confidence)
    table = []
    ece = 0.0
    for b in range(bins):
        members = index == b
        count = int(members.sum())
        entry: dict[str, Any] = {"lower": float(edges[b]), "upper": float(edges[b + 1]), "count": count}
        if count:
            mean_confidence = float(confidence[members].mean())
            accuracy = float(correct[members].mean())
            entry.update(mean_confidence=mean_confidence, accuracy=accuracy)
            ece += count / rows * abs(accuracy - mean_confidence)
        else:
            entry.update(mean_confidence=None, accuracy=None)
        table.append(entry)
    return {"bins": bins, "expected_calibration_error": ece if rows else 0.0, "reliability": table}
