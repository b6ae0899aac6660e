"""drift.json: the window's figures per feature and for the predicted class, the status, and the flat set of metrics
the platform publishes to CloudWatch as they are (it recomputes nothing).

Every drift figure rests on at least MONITOR_MIN_RECORDS values: a window with fewer valid records is
"not_enough_data" and publishes only ``Records`` (so no drift alarm can fire on it), and a feature with fewer present
values in an otherwise large enough window (mostly missing) gets no drift figure, only its missing rate.
``InvalidInputRate`` is published whenever the window read that many records, valid or not, so a window of nothing but
invalid requests still raises it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np

from ..tabular.baseline import ClassDistribution, Counts, Feature
from .config import MonitorConfig
from .psi import STATISTIC, psi
from .window import Window

SCHEMA_VERSION = 1
OK, DRIFT, NOT_ENOUGH_DATA = "ok", "drift", "not_enough_data"


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _shares(counts: np.ndarray) -> list[float]:
    total = int(counts.sum())
    return [float(count / total) if total else 0.0 for count in counts]


def feature_figures(feature: Feature, counts: Counts, config: MonitorConfig, enough_records: bool) -> dict[str, Any]:
    present = int(counts.bins.sum())
    drift = psi(feature.shares, counts.bins) if enough_records and present >= config.min_records else None
    return {
        "name": feature.name,
        "kind": feature.kind,
        "drift": drift,
        "drifted": drift is not None and drift >= config.drift_threshold,
        "values": present,
        "missing_rate": _share(counts.missing, counts.rows),
        "baseline_missing_rate": feature.missing_rate,
        "out_of_range_rate": _share(counts.outside, counts.rows),
        "bins": {
            "labels": feature.bin_labels(),
            "baseline": list(feature.shares),
            "window": _shares(counts.bins),
        },
    }


def prediction_figures(
    baseline: ClassDistribution | None, counts: np.ndarray, other: int, config: MonitorConfig, enough_records: bool
) -> dict[str, Any]:
    if baseline is None:
        return {"drift": None, "drifted": False, "records": 0, "other_model_records": other, "bins": None}
    total = int(counts.sum())
    drift = psi(baseline.frequencies, counts) if enough_records and total >= config.min_records else None
    return {
        "drift": drift,
        "drifted": drift is not None and drift >= config.drift_threshold,
        "records": total,
        "other_model_records": other,
        "bins": {"labels": list(baseline.labels), "baseline": list(baseline.frequencies), "window": _shares(counts)},
    }


def _worst_first(entry: dict[str, Any]) -> tuple[float, float, str]:
    drift = entry["drift"]
    return (-(drift if drift is not None else -1.0), -(entry["missing_rate"] or 0.0), entry["name"])


def metrics(report: dict[str, Any], config: MonitorConfig) -> dict[str, float]:
    """The CloudWatch metrics, by name: only figures that rest on at least MONITOR_MIN_RECORDS records."""
    values: dict[str, float] = {"Records": report["records"]}
    if report["records"] + report["invalid_records"] >= config.min_records:
        values["InvalidInputRate"] = report["invalid_input_rate"]
    if report["status"] == NOT_ENOUGH_DATA:
        return values
    features = report["features"]
    values["DriftedFeatures"] = report["drifted_features"]
    if report["max_feature_drift"] is not None:
        values["MaxFeatureDrift"] = report["max_feature_drift"]
    if report["prediction"]["drift"] is not None:
        values["PredictionDrift"] = report["prediction"]["drift"]
    if features:
        values["MaxMissingRate"] = max(entry["missing_rate"] for entry in features)
        values["MaxOutOfRangeRate"] = max(entry["out_of_range_rate"] for entry in features)
    return values


def build_report(window: Window, config: MonitorConfig) -> dict[str, Any]:
    """drift.json's content for a window that has read every record."""
    baseline = window.baseline
    enough = window.records >= config.min_records
    features = sorted(
        (
            feature_figures(feature, counts, config, enough)
            for feature, counts in zip(baseline.features, window.feature_counts(), strict=True)
        ),
        key=_worst_first,
    )
    prediction = prediction_figures(
        baseline.prediction, window.prediction_counts(), window.other_model_predictions, config, enough
    )
    drifts = [entry["drift"] for entry in features if entry["drift"] is not None]
    drifted = sum(entry["drifted"] for entry in features)
    status = NOT_ENOUGH_DATA if not enough else DRIFT if drifted or prediction["drifted"] else OK
    report: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "model_version": window.model_version,
        "window": {"start": _iso(config.window_start), "end": _iso(config.window_end)},
        "records": window.records,
        "requests": window.requests,
        "skipped_lines": sum(window.skipped.values()),
        "skipped_reasons": dict(sorted(window.skipped.items())),
        "skipped_examples": list(window.skipped_examples),
        "outside_window_lines": window.outside_window,
        "invalid_records": window.invalid,
        "error_answers": window.error_answers,
        "status": status,
        "statistic": STATISTIC,
        "threshold": config.drift_threshold,
        "min_records": config.min_records,
        "features": features,
        "prediction": prediction,
        "max_feature_drift": max(drifts) if drifts else None,
        "drifted_features": drifted,
        "invalid_input_rate": _share(window.invalid, window.records + window.invalid),
        "baseline_source": baseline.source,
    }
    report["metrics"] = metrics(report, config)
    return report
