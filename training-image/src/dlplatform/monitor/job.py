"""`monitor`: the drift check, run by SageMaker as a Processing job (`<image> monitor`).

Under ``$SM_ROOT`` (default /opt/ml; see dlplatform/paths.py) it reads the window's data-capture files from
``processing/input/capture/`` (recursively) and the served model from ``processing/input/model/`` (model.tar.gz,
which carries baseline.json), and writes drift.json and drift.html to ``processing/output/drift/``. Settings: MONITOR_*
(config.py). A window without enough records is a result (status not_enough_data), not a failure; a model without a
baseline or a bad setting is: the reason goes to output/message (the job's ExitMessage) and output/failure, exit 1.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from ..failure import run_processing_step
from ..paths import SageMakerPaths
from .capture import read_capture
from .config import MonitorConfig, load_monitor_config
from .drift_html import render_html
from .model_files import load_served_model
from .report import build_report
from .window import Window

DRIFT_JSON = "drift.json"
DRIFT_HTML = "drift.html"
TOP_FEATURES = 5


def run_monitor(paths: SageMakerPaths, config: MonitorConfig) -> dict[str, Any]:
    model = load_served_model(paths.monitor_model_dir)
    window = Window(model.baseline, model.columns, model.version, config.window_start, config.window_end)
    for item in read_capture(paths.capture_dir):
        window.add(item)
    report = build_report(window, config)
    paths.drift_dir.mkdir(parents=True, exist_ok=True)
    (paths.drift_dir / DRIFT_JSON).write_text(json.dumps(report, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    (paths.drift_dir / DRIFT_HTML).write_text(render_html(report), encoding="utf-8")
    return report


def summary_lines(report: dict[str, Any]) -> list[str]:
    lines = [
        f"status: {report['status']}; records: {report['records']} valid, {report['invalid_records']} invalid; "
        f"capture lines skipped: {report['skipped_lines']}",
    ]
    worst = [entry for entry in report["features"] if entry["drift"] is not None][:TOP_FEATURES]
    if worst:
        lines.append(
            "most drifted: "
            + ", ".join(f"{entry['name']} {report['statistic']}={entry['drift']:.3f}" for entry in worst)
        )
    if report["prediction"]["drift"] is not None:
        lines.append(f"predicted class: {report['statistic']}={report['prediction']['drift']:.3f}")
    lines.append("metrics: " + ", ".join(f"{name}={value:g}" for name, value in report["metrics"].items()))
    return lines


def main(env: Mapping[str, str] | None = None) -> int:
    env = os.environ if env is None else env
    paths = SageMakerPaths.from_env(env)

    def step() -> None:
        report = run_monitor(paths, load_monitor_config(env))
        for line in summary_lines(report):
            print(line, flush=True)
        print(f"drift report: {paths.drift_dir / DRIFT_HTML}", flush=True)

    return run_processing_step("monitor", paths, step)
