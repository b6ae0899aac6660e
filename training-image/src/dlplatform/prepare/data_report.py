"""The data report `prepare` writes: data-report.json for machines, data-report.html for people."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import report_html as h
from ..tabular.labels import sort_labels
from ..tabular.preprocessing import Preprocessing
from .cleaning import REASONS, Cleaned
from .splitting import SPLITS

FORMAT_VERSION = 1


def _finite(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def text_columns(cleaned: Cleaned, preprocessing: Preprocessing) -> list[dict[str, Any]]:
    """Per text column: its categories with their row counts (all cleaned rows, most frequent first) and how the
    model encodes it."""
    columns = []
    for name, vocabulary in cleaned.vocabularies.items():
        values = (
            cleaned.features[:, cleaned.feature_names.index(name)] if name in cleaned.feature_names else np.array([])
        )
        counts = np.bincount(values[~np.isnan(values)].astype(np.intp), minlength=len(vocabulary))
        order = sorted(range(len(vocabulary)), key=lambda i: (-counts[i], vocabulary[i]))
        text = preprocessing.text_columns.get(name)
        columns.append(
            {
                "name": name,
                "encoding": text.encoding if text else "not used",
                "categories": {vocabulary[i]: int(counts[i]) for i in order if counts[i]},
                "training_categories": len(text.categories) if text else 0,
            }
        )
    return columns


def column_statistics(cleaned: Cleaned, all_names: tuple[str, ...]) -> list[dict[str, Any]]:
    """Per input column: gaps in the raw data, then count/min/max/mean/std/median over the cleaned rows (for a
    text column: count and categories)."""
    stats = []
    for name in all_names:
        entry: dict[str, Any] = {"name": name, "missing_in_input": cleaned.missing_cells_in.get(name, 0)}
        if name in cleaned.feature_names:
            values = cleaned.features[:, cleaned.feature_names.index(name)]
            present = values[~np.isnan(values)]
            entry["missing_after_cleaning"] = int(len(values) - len(present))
            entry["count"] = len(present)
            if name in cleaned.vocabularies:
                entry["categories"] = len(np.unique(present))
            elif len(present):
                entry.update(
                    min=_finite(present.min()),
                    max=_finite(present.max()),
                    mean=_finite(present.mean()),
                    std=_finite(present.std()),
                    median=_finite(np.median(present)),
                )
        stats.append(entry)
    return stats


def build_report(
    *,
    source: dict[str, Any],
    config: dict[str, Any],
    cleaned: Cleaned,
    raw_features: tuple[str, ...],
    splits: dict[str, list[str]],
    imputed_cells: dict[str, int],
    preprocessing: Preprocessing,
    content_hash: str,
) -> dict[str, Any]:
    """``splits`` maps each split to its labels, in row order."""
    labels = sort_labels({label for split in splits.values() for label in split})
    counts = {name: {label: splits[name].count(label) for label in labels} for name in SPLITS}
    fills = dict(zip(preprocessing.output_features, preprocessing.fill_values or (), strict=False))
    statistics = column_statistics(cleaned, raw_features)
    used = preprocessing.used_columns
    for entry in statistics:
        entry["used"] = entry["name"] in used
        text = preprocessing.text_columns.get(entry["name"])
        entry["fill_value"] = text.categories[0] if text and preprocessing.fill_values else fills.get(entry["name"])
        entry["imputed_cells"] = imputed_cells.get(entry["name"], 0)
    rows_out = sum(len(split) for split in splits.values())
    return {
        "format_version": FORMAT_VERSION,
        "content_hash": content_hash,
        "source": source,
        "config": config,
        "rows": {
            "input": cleaned.rows_in,
            "output": rows_out,
            "dropped": dict(cleaned.dropped_rows),
            "dropped_examples": dict(cleaned.examples),
            "per_split": {name: len(splits[name]) for name in SPLITS},
        },
        "columns": {
            "input": list(raw_features),
            "used": list(preprocessing.output_features),
            "dropped": dict(preprocessing.dropped_columns),
        },
        "missing_values": {
            "cells_in_input": int(sum(cleaned.missing_cells_in.values())),
            "cells_imputed": int(sum(imputed_cells.values())),
            "policy": config["missing_values"],
        },
        "classes": {"labels": list(labels), "counts": counts},
        "column_statistics": statistics,
        "text_columns": text_columns(cleaned, preprocessing),
    }


def summary_lines(report: dict[str, Any]) -> list[str]:
    """A few lines for logs and terminals."""
    rows = report["rows"]
    dropped = ", ".join(f"{REASONS[reason]}: {count}" for reason, count in rows["dropped"].items()) or "none"
    columns = report["columns"]
    split = ", ".join(f"{name} {count}" for name, count in rows["per_split"].items())
    gone = ", ".join(f"{name} ({why})" for name, why in columns["dropped"].items()) or "none"
    texts = [
        f"text column {entry['name']} ({entry['encoding']}): "
        + ", ".join(f"{category} {count}" for category, count in list(entry["categories"].items())[:10])
        + (f" ... ({len(entry['categories'])} categories)" if len(entry["categories"]) > 10 else "")
        for entry in report.get("text_columns", [])
    ]
    return [
        f"rows: {rows['input']} in, {rows['output']} out; dropped: {dropped}",
        f"split: {split}; classes: {len(report['classes']['labels'])}",
        f"columns: {len(columns['input'])} in, {len(columns['used'])} used; dropped: {gone}",
        f"missing values: {report['missing_values']['cells_in_input']} cells in the input, "
        f"{report['missing_values']['cells_imputed']} imputed ({report['missing_values']['policy']})",
        *texts,
        f"data sha256: {report['content_hash']}",
    ]


def render_html(report: dict[str, Any]) -> str:
    rows = report["rows"]
    labels = report["classes"]["labels"]
    counts = report["classes"]["counts"]
    dropped_rows = [
        (REASONS[reason], count, ", ".join(rows["dropped_examples"].get(reason, [])))
        for reason, count in rows["dropped"].items()
    ]
    stat_keys = (
        "missing_in_input", "imputed_cells", "count", "categories", "min", "max", "mean", "std", "median", "fill_value",
    )  # fmt: skip
    text_rows = [
        [entry["name"], entry["encoding"], category, count]
        for entry in report.get("text_columns", [])
        for category, count in entry["categories"].items()
    ]
    stat_rows = [
        [entry["name"], "yes" if entry["used"] else "no"]
        + ["" if entry.get(key) is None else entry[key] for key in stat_keys]
        for entry in report["column_statistics"]
    ]
    return h.page(
        "Data report",
        [
            h.paragraph(" · ".join(summary_lines(report)[:2])),
            h.section(
                "Rows",
                h.table(["", "rows"], [["read", rows["input"]], ["written", rows["output"]]]),
                h.table(["dropped because", "rows", "first examples"], dropped_rows or [["nothing dropped", 0, ""]]),
            ),
            h.section(
                "Classes per split",
                h.table(["label", *SPLITS], [[label, *(counts[name][label] for name in SPLITS)] for label in labels]),
            ),
            h.section(
                "Columns",
                h.table(["dropped column", "reason"], list(report["columns"]["dropped"].items()) or [["none", ""]]),
                h.table(["column", "used", *stat_keys], stat_rows),
            ),
            h.section(
                "Text columns: categories and rows",
                h.table(["column", "encoding", "category", "rows"], text_rows or [["no text columns", "", "", ""]]),
            ),
            h.section(
                "Source and settings",
                h.table(["setting", "value"], sorted(report["config"].items())),
                h.paragraph(f"data sha256: {report['content_hash']}"),
            ),
        ],
    )
