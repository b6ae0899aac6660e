"""The metric contract with the app, read from training-image/metric-definitions.json, its one source.

Each entry is a SageMaker MetricDefinition (``Name``, ``Regex``) plus ``Direction`` (Maximize or Minimize),
``LogLine`` (which log line prints it: epoch, test or evaluation) and, for the metrics the evaluation reports,
``Evaluation``: where evaluation.json holds the value, as a dotted path. The app reads the same file
(constructs/training/runtime/metric-definitions.ts).

The file sits next to ``src/`` in the image (/opt/program/metric-definitions.json) and in the repository.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from .paths import PROGRAM_DIR

DEFINITIONS_FILE = PROGRAM_DIR / "metric-definitions.json"


@dataclass(frozen=True)
class MetricDefinition:
    name: str
    regex: str
    direction: str
    log_line: str
    evaluation: str | None

    def value_in(self, evaluation: Mapping[str, Any]) -> float:
        """This metric's value in an evaluation report (evaluation.json as a dict)."""
        node: Any = evaluation
        for key in (self.evaluation or "").split("."):
            node = node[key]
        return float(node)


@cache
def metric_definitions(path: Path = DEFINITIONS_FILE) -> tuple[MetricDefinition, ...]:
    entries = json.loads(path.read_text(encoding="utf-8"))
    return tuple(
        MetricDefinition(e["Name"], e["Regex"], e["Direction"], e["LogLine"], e.get("Evaluation")) for e in entries
    )


def log_line_metrics(evaluation: Mapping[str, Any], log_line: str) -> dict[str, float]:
    """The values of the metrics that ``log_line`` prints, by name, read from an evaluation report."""
    return {d.name: d.value_in(evaluation) for d in metric_definitions() if d.log_line == log_line}
