"""drift.html: the drift check as a page a person reads. A table of every feature, worst first, then per feature the
share of each bin in the baseline (grey) and in the window (blue), drawn as inline SVG like evaluation.html."""

from __future__ import annotations

from typing import Any

from .. import report_html as h
from .psi import level

BAR = 11  # px per bar; a bin is two bars and a gap
GAP = 8
HEIGHT = 120
LEFT, TOP, BOTTOM = 40, 10, 70
BASELINE_FILL, WINDOW_FILL = "#b8b8b8", "#5b8def"
FEATURE_COLUMNS = ("feature", "kind", "drift (PSI)", "drifted", "values", "missing", "missing in training",
                   "outside training range")  # fmt: skip


def _percent(share: float) -> str:
    return f"{100 * share:.1f}%"


def bars_svg(title: str, bins: dict[str, Any]) -> str:
    """One bar pair per bin: baseline share, window share, on a scale up to the largest share."""
    labels, baseline, window = bins["labels"], bins["baseline"], bins["window"]
    top = max([*baseline, *window, 0.01])
    width = LEFT + len(labels) * (2 * BAR + GAP) + 10
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{TOP + HEIGHT + BOTTOM}" role="img" '
        f'aria-label="{h.esc(title)}">',
        f'<line x1="{LEFT}" y1="{TOP + HEIGHT}" x2="{width - 5}" y2="{TOP + HEIGHT}" stroke="#999"/>',
        f'<text x="{LEFT - 4}" y="{TOP + 8}" text-anchor="end">{_percent(top)}</text>',
        f'<text x="{LEFT - 4}" y="{TOP + HEIGHT}" text-anchor="end">0</text>',
    ]
    for i, label in enumerate(labels):
        x = LEFT + i * (2 * BAR + GAP) + GAP / 2
        for j, (share, fill, what) in enumerate(
            ((baseline[i], BASELINE_FILL, "baseline"), (window[i], WINDOW_FILL, "window"))
        ):
            height = HEIGHT * share / top
            parts.append(
                f'<rect x="{x + j * BAR}" y="{TOP + HEIGHT - height:.1f}" width="{BAR - 1}" height="{height:.1f}" '
                f'fill="{fill}"><title>{h.esc(label)}: {what} {_percent(share)}</title></rect>'
            )
        centre = x + BAR
        parts.append(
            f'<text x="{centre}" y="{TOP + HEIGHT + 12}" text-anchor="end" '
            f'transform="rotate(-40 {centre} {TOP + HEIGHT + 12})">{h.esc(label)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _rate(value: float | None) -> str:
    return "" if value is None else _percent(value)


def _drift(value: float | None) -> str:
    return "not computed" if value is None else f"{value:.4f} ({level(value)})"


def render_html(report: dict[str, Any]) -> str:
    window = report["window"]
    features = report["features"]
    prediction = report["prediction"]
    summary = (
        f"Status {report['status']}: {report['records']} valid records from {report['requests']} requests "
        f"(window {window['start'] or 'open'} to {window['end'] or 'open'}); "
        f"{report['drifted_features']} of {len(features)} features drifted; statistic {report['statistic'].upper()}, "
        f"threshold {report['threshold']:g}; drift needs at least {report['min_records']} values. "
        f"{report['invalid_records']} invalid records, {report['skipped_lines']} capture lines skipped."
    )
    rows = [
        [
            entry["name"],
            entry["kind"],
            _drift(entry["drift"]),
            "yes" if entry["drifted"] else "",
            entry["values"],
            _rate(entry["missing_rate"]),
            _rate(entry["baseline_missing_rate"]),
            _rate(entry["out_of_range_rate"]),
        ]
        for entry in features
    ]
    sections = [
        h.paragraph(summary),
        h.section(
            "Features, worst first",
            h.table(FEATURE_COLUMNS, rows),
        ),
    ]
    if prediction["bins"] is not None:
        sections.append(
            h.section(
                "Predicted class",
                h.paragraph(
                    f"Drift {_drift(prediction['drift'])} over {prediction['records']} predictions; baseline: the "
                    f"model's predictions on its test split. {prediction['other_model_records']} predictions by "
                    "another model version were left out."
                ),
                bars_svg("Predicted class: baseline and window", prediction["bins"]),
            )
        )
    charts = [
        f"<h3>{h.esc(entry['name'])}</h3>"
        + h.paragraph(
            f"Drift {_drift(entry['drift'])}; missing {_rate(entry['missing_rate'])} "
            f"(training {_rate(entry['baseline_missing_rate'])}); outside the training range "
            f"{_rate(entry['out_of_range_rate'])}."
        )
        + bars_svg(f"{entry['name']}: baseline and window", entry["bins"])
        for entry in features
    ]
    sections.append(
        h.section(
            "Each feature, worst first",
            h.paragraph("Share of the values in each training bin: grey the baseline, blue this window."),
            *charts,
        )
    )
    return h.page(f"Drift check of model {report.get('model_version') or ''}".strip(), sections)
