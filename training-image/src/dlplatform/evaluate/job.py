"""`evaluate`: the standalone evaluation, run by SageMaker as a Processing job (`<image> evaluate`).

Under ``$SM_ROOT`` (default /opt/ml; see dlplatform/paths.py) it reads the model from ``processing/input/model/``
(model.tar.gz as training uploads it, or its unpacked files) and test rows with the label column from
``processing/input/test/`` (prepare's test/ channel, or raw rows the model's preprocessing.json transforms),
and writes evaluation.json and evaluation.html to ``processing/output/evaluation/``. Bad input: the reason in
output/message (the job's ExitMessage) and output/failure, exit 1.

With an approved model in ``processing/input/approved-model/`` (the model the quality gate compares with), it also
writes comparison.json: whether both models solve the same problem (comparison.py) and, when they do, the approved
model's evaluation on the same test rows in ``approved/evaluation.json``, so the gate compares like with like.
Give raw test rows (prepare's report/test-rows.csv) for that: each model's own preprocessing reads them.
"""

from __future__ import annotations

import json
import logging
import os
import tarfile
import tempfile
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataError, ModelArtifactError
from ..failure import run_processing_step
from ..model.artifact import METADATA_FILE
from ..paths import SageMakerPaths
from ..tabular.files import data_files
from ..tabular.preprocessing import OTHER, PreprocessingError, apply, code_table, load
from ..tabular.raw_csv import RawTable, combine, read_csv_file

log = logging.getLogger(__name__)


def find_model(model_input: Path, scratch: Path) -> Path:
    """The folder holding metadata.json: the input itself, or model.tar.gz unpacked into ``scratch``."""
    if (model_input / METADATA_FILE).is_file():
        return model_input
    archives = sorted(model_input.glob("*.tar.gz")) if model_input.is_dir() else []
    if not archives:
        raise ModelArtifactError(
            f"No model under {model_input}: expected model.tar.gz or {METADATA_FILE} with model.pt"
        )
    with tarfile.open(archives[0]) as archive:
        archive.extractall(scratch, filter="data")  # refuses absolute paths, links out of the folder, devices
    if not (scratch / METADATA_FILE).is_file():
        raise ModelArtifactError(f"{archives[0].name} holds no {METADATA_FILE}; is it a model.tar.gz from `train`?")
    return scratch


def _select(table: RawTable, names: tuple[str, ...]) -> np.ndarray | None:
    if not set(names) <= set(table.feature_names):
        return None
    return table.features[:, [table.feature_names.index(name) for name in names]]


def model_rows(table: RawTable, model_dir: Path, feature_names: tuple[str, ...]) -> np.ndarray:
    """The test rows as the model takes them: already prepared, or raw rows through the model's preprocessing."""
    prepared = _select(table, feature_names)
    if prepared is not None and not np.isnan(prepared).any():
        return prepared
    preprocessing = load(model_dir)
    if preprocessing is not None and set(preprocessing.used_columns) <= set(table.feature_names):
        try:
            # Text columns as the model's category codes; a test category training never saw is "other".
            raw = code_table(preprocessing, table.features, table.feature_names, table.vocabularies)
            return apply(replace(preprocessing, unseen_categories=OTHER), raw)
        except PreprocessingError as error:
            raise DataError(f"The test data cannot be transformed: {error}") from None
    wanted = preprocessing.used_columns if preprocessing is not None else feature_names
    missing = [name for name in wanted if name not in table.feature_names]
    if not missing:
        raise DataError("The test data has missing values and the model has no imputation for them")
    raise DataError(
        f"The test data lacks columns the model needs: {', '.join(missing[:8])}"
        + (f" ... ({len(missing)} in all)" if len(missing) > 8 else "")
    )


def run_evaluate(paths: SageMakerPaths, scratch: Path) -> None:
    from .evaluation import encode_labels, evaluate_and_write  # torch loads once the inputs exist
    from .scoring import Scorer

    model_dir = find_model(paths.evaluate_model_dir, scratch / "candidate")
    scorer = Scorer.load(model_dir)
    label_column = str(scorer.metadata.get("label_column", "label"))
    files = data_files(paths.evaluate_test_dir) if paths.evaluate_test_dir.is_dir() else []
    if not files:
        raise DataError(f"No test data: {paths.evaluate_test_dir} holds no CSV files")
    base = paths.evaluate_test_dir
    table = combine([read_csv_file(path, str(path.relative_to(base)), label_column) for path in files], "test data")
    unlabelled = [origin for origin, label in zip(table.origins, table.labels, strict=True) if not label]
    if unlabelled:
        raise DataError(f'{unlabelled[0]} has no value in the label column "{label_column}"')
    rows = model_rows(table, model_dir, scorer.feature_names)
    y_true = encode_labels(table.labels, scorer.labels, "The test data")
    source = ", ".join(table.files[:3]) + (" ..." if len(table.files) > 3 else "")
    evaluate_and_write(scorer, rows, y_true, source, paths.evaluation_dir)
    if paths.evaluate_approved_model_dir.is_dir():
        compare_with_approved(paths, scratch / "approved", model_dir, scorer, table=table, source=source)


def compare_with_approved(
    paths: SageMakerPaths, scratch: Path, model_dir: Path, scorer: Any, *, table: RawTable, source: str
) -> dict[str, Any]:
    """comparison.json, and the approved model's evaluation on the same rows when it solves the same problem."""
    from .comparison import APPROVED_DIR, COMPARISON_JSON, ProblemSchema, differences
    from .evaluation import encode_labels, evaluate, write_evaluation
    from .scoring import Scorer

    approved_dir = find_model(paths.evaluate_approved_model_dir, scratch)
    approved = Scorer.load(approved_dir)
    found = differences(
        ProblemSchema.of(model_dir, scorer.metadata, scorer.labels),
        ProblemSchema.of(approved_dir, approved.metadata, approved.labels),
    )
    comparison: dict[str, Any] = {
        "candidate_model_version": scorer.metadata.get("model_version"),
        "approved_model_version": approved.metadata.get("model_version"),
        "same_problem": not found,
        "differences": found,
        "approved_evaluation": None,
    }
    if not found:
        rows = model_rows(table, approved_dir, approved.feature_names)
        y_true = encode_labels(table.labels, approved.labels, "The test data")
        write_evaluation(evaluate(approved, rows, y_true, source), paths.evaluation_dir / APPROVED_DIR)
        comparison["approved_evaluation"] = f"{APPROVED_DIR}/evaluation.json"
    paths.evaluation_dir.mkdir(parents=True, exist_ok=True)
    (paths.evaluation_dir / COMPARISON_JSON).write_text(json.dumps(comparison, indent=2) + "\n", encoding="utf-8")
    return comparison


def main(env: Mapping[str, str] | None = None) -> int:
    env = os.environ if env is None else env
    paths = SageMakerPaths.from_env(env)

    def step() -> None:
        with tempfile.TemporaryDirectory(prefix="model-") as scratch:
            run_evaluate(paths, Path(scratch))
        print(f"evaluation written to {paths.evaluation_dir}", flush=True)

    return run_processing_step("evaluate", paths, step)
