"""evaluation.html: the evaluation as a page a person reads, with the confusion matrix and the reliability
diagram drawn as inline SVG (no plotting library, no external files)."""

from __future__ import annotations

from typing import Any

from .. import report_html as h

CELL = 34  # px per confusion-matrix cell
MARGIN = 70
PLOT = 320  # px side of the reliability diagram


def confusion_svg(labels: list[str], matrix: list[list[int]]) -> str:
    """Rows = true class, columns = predicted; a cell's shade is its share of the true class's rows."""
    n = len(labels)
    side = MARGIN + n * CELL + 10
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{side}" height="{side}" role="img" '
        'aria-label="Confusion matrix">',
        f'<text x="{MARGIN + n * CELL / 2}" y="14" text-anchor="middle">predicted class</text>',
        f'<text x="14" y="{MARGIN + n * CELL / 2}" text-anchor="middle" '
        f'transform="rotate(-90 14 {MARGIN + n * CELL / 2})">true class</text>',
    ]
    for i, label in enumerate(labels):
        x = MARGIN + i * CELL + CELL / 2
        parts.append(f'<text x="{x}" y="{MARGIN - 8}" text-anchor="middle">{h.esc(label)}</text>')
        parts.append(
            f'<text x="{MARGIN - 8}" y="{MARGIN + i * CELL + CELL / 2 + 4}" text-anchor="end">{h.esc(label)}</text>'
        )
    for i, row in enumerate(matrix):
        total = sum(row) or 1
        for j, count in enumerate(row):
            share = count / total
            fill = f"rgb({int(255 - 200 * share)},{int(255 - 130 * share)},255)"
            colour = "#fff" if share > 0.6 else "#222"
            x, y = MARGIN + j * CELL, MARGIN + i * CELL
            parts.append(
                f'<rect x="{x}" y="{y}" width="{CELL}" height="{CELL}" fill="{fill}" stroke="#ccc">'
                f"<title>true {h.esc(labels[i])}, predicted {h.esc(labels[j])}: {count}</title></rect>"
            )
            if count:
                parts.append(
                    f'<text x="{x + CELL / 2}" y="{y + CELL / 2 + 4}" text-anchor="middle" '
                    f'fill="{colour}">{count}</text>'
                )
    parts.append("</svg>")
    return "".join(parts)


def reliability_svg(table: list[dict[str, Any]]) -> str:
    """Bars: accuracy per confidence bin; the diagonal is perfect calibration; dots: mean confidence."""
    left, top = 50, 20
    size = PLOT

    def px(value: float) -> float:
        return size * value

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{size + left + 20}" height="{size + top + 45}" role="img" '
        'aria-label="Reliability diagram">',
        f'<rect x="{left}" y="{top}" width="{size}" height="{size}" fill="none" stroke="#999"/>',
    ]
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        parts.append(f'<text x="{left + px(tick)}" y="{top + size + 15}" text-anchor="middle">{tick:g}</text>')
        parts.append(f'<text x="{left - 6}" y="{top + size - px(tick) + 4}" text-anchor="end">{tick:g}</text>')
    for entry in table:
        if not entry["count"]:
            continue
        x = left + px(entry["lower"])
        width = px(entry["upper"] - entry["lower"])
        height = px(entry["accuracy"])
        parts.append(
            f'<rect x="{x + 1}" y="{top + size - height}" width="{width - 2}" height="{height}" fill="#5b8def">'
            f"<title>confidence {entry['lower']:.1f}-{entry['upper']:.1f}: {entry['count']} rows, accuracy "
            f"{entry['accuracy']:.3f}, mean confidence {entry['mean_confidence']:.3f}</title></rect>"
        )
        parts.append(
            f'<circle cx="{left + px(entry["mean_confidence"])}" cy="{top + size - height}" r="3" fill="#d33"/>'
        )
    parts += [
        f'<line x1="{left}" y1="{top + size}" x2="{left + size}" y2="{top}" stroke="#888" stroke-dasharray="4 3"/>',
        f'<text x="{left + size / 2}" y="{top + size + 35}" text-anchor="middle">'
        "confidence (highest probability)</text>",
        "</svg>",
    ]
    return "".join(parts)


def render_html(evaluation: dict[str, Any]) -> str:
    per_class = [
        [entry["label"], entry["precision"], entry["recall"], entry["f1"], entry["support"]]
        for entry in evaluation["per_class"]
    ]
    averages = [
        [name.replace("_avg", " avg"), values["precision"], values["recall"], values["f1"], values["support"]]
        for name, values in (("macro_avg", evaluation["macro_avg"]), ("weighted_avg", evaluation["weighted_avg"]))
    ]
    calibration = evaluation["calibration"]
    reliability = [
        [
            f"{entry['lower']:.1f}-{entry['upper']:.1f}",
            entry["count"],
            "" if entry["accuracy"] is None else entry["accuracy"],
            "" if entry["mean_confidence"] is None else entry["mean_confidence"],
        ]
        for entry in calibration["reliability"]
    ]
    latency = evaluation["latency"]
    matrix = evaluation["confusion_matrix"]
    return h.page(
        f"Evaluation of model {evaluation.get('model_version') or ''}".strip(),
        [
            h.paragraph(
                f"{evaluation['rows']} test rows ({evaluation['test_data']}); accuracy {evaluation['accuracy']:.4f}, "
                f"macro F1 {evaluation['macro_avg']['f1']:.4f}, log loss {evaluation['log_loss']:.4f}, "
                f"expected calibration error {calibration['expected_calibration_error']:.4f}."
            ),
            h.section("Per class", h.table(["class", "precision", "recall", "F1", "support"], per_class + averages)),
            h.section(
                "Confusion matrix",
                h.paragraph("Rows: true class; columns: predicted class; shade: share of the true class's rows."),
                confusion_svg(matrix["labels"], matrix["matrix"]),
            ),
            h.section(
                "Calibration",
                h.paragraph(
                    f"Expected calibration error {calibration['expected_calibration_error']:.4f} over "
                    f"{calibration['bins']} equal-width confidence bins. Bars: accuracy per bin; dots: mean "
                    "confidence; dashed: perfect calibration."
                ),
                reliability_svg(calibration["reliability"]),
                h.table(["confidence", "rows", "accuracy", "mean confidence"], reliability),
            ),
            h.section(
                "Inference latency (CPU)",
                h.table(
                    ["measure", "ms"],
                    [
                        ["one row per call, p50", latency["single_row_ms"]["p50"]],
                        ["one row per call, p99", latency["single_row_ms"]["p99"]],
                        [f"per row in one batch of {latency['batch_rows']}", latency["batch_ms_per_row"]],
                    ],
                ),
                h.paragraph(
                    f"{latency['torch_threads']} torch thread(s), {latency['single_row_calls']} single-row calls."
                ),
            ),
        ],
    )
