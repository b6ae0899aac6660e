"""Whether a candidate and the approved model solve the same problem (the same input columns, read the same way, and
the same label set), for the quality gate: two models of different problems are never compared, so a new table is
never judged a "regression" of another. When they are the same problem, `evaluate` scores both on the candidate's
test rows (job.py), and the gate compares those two figures.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..tabular.preprocessing import load

COMPARISON_JSON = "comparison.json"
APPROVED_DIR = "approved"  # the approved model's evaluation.json, on the same rows, under the evaluation folder
NUMERIC = "numeric"
TEXT = "text"
MAX_NAMED = 8


@dataclass(frozen=True)
class ProblemSchema:
    """What a model takes and answers: its raw input columns (the kind of each one it uses), label column and labels."""

    inputs: tuple[str, ...]
    kinds: dict[str, str]  # used column -> numeric | text
    label_column: str
    labels: tuple[str, ...]

    @classmethod
    def of(cls, model_dir: Path, metadata: dict[str, Any], labels: tuple[str, ...]) -> ProblemSchema:
        preprocessing = load(model_dir)
        label_column = str(metadata.get("label_column", "label"))
        if preprocessing is None:  # a model trained on numeric rows without `prepare`
            names = tuple(str(name) for name in metadata["feature_names"])
            return cls(names, dict.fromkeys(names, NUMERIC), label_column, labels)
        kinds = {name: TEXT if name in preprocessing.text_columns else NUMERIC for name in preprocessing.used_columns}
        return cls(preprocessing.input_features, kinds, label_column, labels)


def _named(names: list[str]) -> str:
    shown = ", ".join(f'"{name}"' for name in names[:MAX_NAMED])
    return shown + (f" ... ({len(names)} in all)" if len(names) > MAX_NAMED else "")


def differences(candidate: ProblemSchema, approved: ProblemSchema) -> list[str]:
    """Each way the candidate's problem differs from the approved model's, in words; empty: the same problem."""
    found = []
    added = [name for name in candidate.inputs if name not in approved.inputs]
    removed = [name for name in approved.inputs if name not in candidate.inputs]
    if added or removed:
        parts = ([f"adds {_named(added)}"] if added else []) + ([f"lacks {_named(removed)}"] if removed else [])
        found.append(f"input columns: the candidate {' and '.join(parts)}")
    kinds = [
        f'"{name}" is {kind} for the candidate, {approved.kinds[name]} for the approved model'
        for name, kind in candidate.kinds.items()
        if name in approved.kinds and approved.kinds[name] != kind
    ]
    found += [f"column kind: {kind}" for kind in kinds[:MAX_NAMED]]
    if candidate.label_column != approved.label_column:
        found.append(f'label column: "{candidate.label_column}" against "{approved.label_column}"')
    if set(candidate.labels) != set(approved.labels):
        found.append(
            f"labels: {_named(sorted(candidate.labels))} against the approved model's {_named(sorted(approved.labels))}"
        )
    return found
