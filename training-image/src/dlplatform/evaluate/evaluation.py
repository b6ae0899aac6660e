"""Evaluates a model folder on test rows: evaluation.json, evaluation.html and the metric log line.

Used at the end of `train` (on the test split, writing into the model folder so model.tar.gz carries the
report) and by the standalone `evaluate` entry point (job.py).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataError
from ..metric_definitions import log_line_metrics
from ..metrics import emit, evaluation_line
from .calibration import calibration
from .classification import classification_metrics
from .evaluation_html import render_html
from .scoring import Scorer

FORMAT_VERSION = 1
EVALUATION_JSON = "evaluation.json"
EVALUATION_HTML = "evaluation.html"
PROBABILITY_FLOOR = 1e-15  # log loss of a confident wrong answer stays finite (scikit-learn clips the same way)


def encode_labels(labels: list[str], known: tuple[str, ...], where: str) -> np.ndarray:
    index = {label: i for i, label in enumerate(known)}
    unknown = sorted(set(labels) - set(index))
    if unknown:
        raise DataError(f"{where} has labels the model does not know: {', '.join(unknown[:10])}")
    return np.array([index[label] for label in labels], dtype=np.int64)


def evaluate(scorer: Scorer, rows: np.ndarray, y_true: np.ndarray, source: str) -> dict[str, Any]:
    """Every figure of the report for model rows ``rows`` (after preprocessing) and class indices ``y_true``."""
    if len(y_true) == 0:
        raise DataError(f"No test rows to evaluate in {source}")
    started = time.monotonic()
    probabilities = scorer.probabilities(rows)
    y_pred = probabilities.argmax(axis=1)
    true_probability = np.clip(probabilities[np.arange(len(y_true)), y_true].astype(np.float64), PROBABILITY_FLOOR, 1)
    latency = scorer.latency(rows)
    return {
        "format_version": FORMAT_VERSION,
        "model_version": scorer.metadata.get("model_version"),
        "test_data": source,
        "rows": len(y_true),
        **classification_metrics(y_true, y_pred, scorer.labels),
        "log_loss": float(-np.log(true_probability).mean()),
        "calibration": calibration(probabilities, y_true),
        "latency": latency,
        "seconds": time.monotonic() - started,
    }


def key_metrics(evaluation: dict[str, Any]) -> dict[str, float]:
    """The figures printed on the evaluation's metric log line, by name (metric-definitions.json)."""
    return log_line_metrics(evaluation, "evaluation")


def write_evaluation(evaluation: dict[str, Any], out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / EVALUATION_JSON).write_text(json.dumps(evaluation, indent=2) + "\n", encoding="utf-8")
    (out_dir / EVALUATION_HTML).write_text(render_html(evaluation), encoding="utf-8")


def evaluate_and_write(
    scorer: Scorer, rows: np.ndarray, y_true: np.ndarray, source: str, out_dir: Path
) -> dict[str, Any]:
    evaluation = evaluate(scorer, rows, y_true, source)
    write_evaluation(evaluation, out_dir)
    emit(evaluation_line(key_metrics(evaluation)))
    return evaluation


def evaluate_model_folder(
    model_dir: Path, rows: np.ndarray, y_true: np.ndarray, source: str, out_dir: Path
) -> dict[str, Any]:
    """Loads the model folder as the endpoint does and evaluates it: what `train` runs on its test split.

    The one function of the `evaluate` stage that another stage calls (the import contract in pyproject.toml).
    """
    return evaluate_and_write(Scorer.load(model_dir), rows, y_true, source, out_dir)
