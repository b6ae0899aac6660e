"""`prepare`: raw CSV in, clean train, validation and test channels, the fitted preprocessing and a data report out.

SageMaker runs `<image> prepare` as a Processing job. Under ``$SM_ROOT`` (default /opt/ml; see dlplatform/paths.py):

- reads ``processing/input/data/``: one CSV file, a folder of CSV files, or train/, validation/ and test/
  folders (the user's own split, kept as given);
- writes ``processing/output/data/{train,validation,test}/<split>.csv`` (the CSV layout `train` reads),
  ``processing/output/data/preprocessing/preprocessing.json`` and, beside it, baseline.json (the training split's
  distribution per feature, which `monitor` compares served traffic with), and ``processing/output/report/`` with
  data-report.json, data-report.html, data.sha256 (the content hash of the prepared data) and
  sample-requests.json (a few raw test rows with their labels, for smoke tests);
- on bad input writes the reason to output/message (the job's ExitMessage) and output/failure, and exits 1.

Settings come from PREPARE_* environment variables (config.py).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import math
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataError
from ..failure import run_processing_step
from ..paths import SageMakerPaths
from ..tabular.baseline import BASELINE_FILE
from ..tabular.baseline import to_json as baseline_json
from ..tabular.files import data_files
from ..tabular.preprocessing import (
    OTHER,
    PREPROCESSING_CHANNEL,
    PREPROCESSING_FILE,
    Preprocessing,
    apply,
    code_table,
    fit,
)
from ..tabular.raw_csv import RawTable, combine, read_csv_file
from . import data_report
from .baseline import training_baseline
from .cleaning import REASONS, Cleaned, clean_rows
from .config import PrepareConfig, load_prepare_config
from .splitting import SPLITS, check_classes, required_rows_per_class, row_digests, stratified_split

log = logging.getLogger(__name__)

REPORT_JSON = "data-report.json"
REPORT_HTML = "data-report.html"
HASH_FILE = "data.sha256"
SAMPLE_FILE = "sample-requests.json"
SAMPLE_ROWS = 10
# The test split's raw rows (text as text, gaps empty): what `evaluate` scores two models on, so the quality gate
# compares a candidate and the approved model on the same held-out data whatever each one's preprocessing.
TEST_ROWS_FILE = "test-rows.csv"


@dataclass(frozen=True)
class Source:
    table: RawTable
    groups: list[str] | None  # the user's split per row, or None for one data set to split
    description: dict[str, Any]


def _read_files(files: list[Path], base: Path, label_column: str, what: str) -> RawTable:
    tables = [read_csv_file(path, str(path.relative_to(base)), label_column) for path in files]
    return combine(tables, what)


def read_source(input_dir: Path, label_column: str) -> Source:
    """One CSV file or folder of them, or the user's train/, validation/ and test/ folders."""
    if not input_dir.is_dir():
        raise DataError(f"No input data: {input_dir} does not exist (expected one CSV file or a folder of them)")
    present = [name for name in SPLITS if (input_dir / name).is_dir()]
    if present:
        absent = [name for name in SPLITS if name not in present]
        if absent:
            raise DataError(
                f"The input has {', '.join(f'{name}/' for name in present)} but not "
                f"{', '.join(f'{name}/' for name in absent)}: give all three folders to keep your own split, or "
                "one CSV file (or a folder of them) to split"
            )
        tables, groups = [], []
        for name in SPLITS:
            files = data_files(input_dir / name)
            if not files:
                raise DataError(f"The input folder {name}/ holds no CSV files")
            tables.append(_read_files(files, input_dir, label_column, f"{name}/"))
            groups += [name] * len(tables[-1].labels)
        table = combine(tables, "the three split folders")
        return Source(table, groups, {"kind": "user split", "files": table.files})
    files = data_files(input_dir)
    if not files:
        raise DataError(f"No input data: {input_dir} holds no CSV files (expected one CSV file or a folder of them)")
    table = _read_files(files, input_dir, label_column, "one data set")
    return Source(table, None, {"kind": "split by prepare", "files": table.files})


def _split(cleaned: Cleaned, config: PrepareConfig, where: str) -> dict[str, np.ndarray]:
    if cleaned.groups is not None:
        groups = np.asarray(cleaned.groups)
        indices = {name: np.flatnonzero(groups == name) for name in SPLITS}
        train_labels = [cleaned.labels[i] for i in indices["train"]]
        check_classes(train_labels, config.label_column, "train/")
        unseen = sorted({cleaned.labels[i] for name in SPLITS[1:] for i in indices[name]} - set(train_labels))
        if unseen:
            raise DataError(
                f"validation/ or test/ has labels that train/ lacks after cleaning: {', '.join(unseen[:10])}; "
                "every class needs training rows"
            )
        for name in SPLITS[1:]:
            if len(indices[name]) == 0:
                raise DataError(f"No rows left in {name}/ after cleaning")
        return indices
    need = required_rows_per_class(config.validation_fraction, config.test_fraction)
    check_classes(cleaned.labels, config.label_column, where, need=need)
    text_columns = {
        i: cleaned.vocabularies[name] for i, name in enumerate(cleaned.feature_names) if name in cleaned.vocabularies
    }
    digests = row_digests(cleaned.features, cleaned.labels, text_columns)
    return stratified_split(cleaned.labels, digests, config.validation_fraction, config.test_fraction, config.seed)


def _format(value: float) -> str:
    """The shortest text that reads back as the same float; whole numbers without ".0"."""
    return str(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(value)


def split_csv(features: np.ndarray, labels: list[str], names: tuple[str, ...], label_column: str) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([*names, label_column])
    for row, label in zip(features.tolist(), labels, strict=True):
        writer.writerow([*map(_format, row), label])
    return buffer.getvalue().encode("utf-8")


def content_hash(files: dict[str, bytes]) -> str:
    """SHA-256 over the prepared files, in a fixed order: the same prepared data gives the same hash."""
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + hashlib.sha256(files[name]).digest())
    return digest.hexdigest()


def sample_requests(
    raw: np.ndarray, labels: list[str], origins: list[str], test: np.ndarray, preprocessing: Preprocessing
) -> dict[str, Any]:
    """The first complete test rows as a client sends them (raw columns, before preprocessing; text columns as their
    text), with their labels: a smoke test for a deployed model that no training row can pass by memory."""
    complete = [int(i) for i in test if not np.isnan(raw[i]).any()][:SAMPLE_ROWS]
    names = preprocessing.input_features
    instances: list[list[Any]] = raw[complete].tolist()
    for column, name in enumerate(names):
        text = preprocessing.text_columns.get(name)
        if text is not None:
            for row in instances:
                row[column] = text.categories[int(row[column])] if row[column] < len(text.categories) else None
    # A test row whose category training never saw has no text to send back: leave it out of the smoke test.
    keep = [i for i, row in enumerate(instances) if None not in row]
    return {
        "columns": list(names),
        "instances": [instances[i] for i in keep],
        "instances_by_name": [dict(zip(names, instances[i], strict=True)) for i in keep],
        "labels": [labels[complete[i]] for i in keep],
        "origins": [origins[complete[i]] for i in keep],
    }


def raw_test_csv(cleaned: Cleaned, test: np.ndarray, raw_features: tuple[str, ...], label_column: str) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([*raw_features, label_column])
    columns = [cleaned.feature_names.index(name) if name in cleaned.feature_names else -1 for name in raw_features]
    for i in test:
        row = []
        for name, column in zip(raw_features, columns, strict=True):
            value = math.nan if column < 0 else float(cleaned.features[i, column])
            if math.isnan(value):
                row.append("")
            elif name in cleaned.vocabularies:
                row.append(cleaned.vocabularies[name][int(value)])
            else:
                row.append(_format(value))
        writer.writerow([*row, cleaned.labels[i]])
    return buffer.getvalue()


def _reset(directory: Path) -> None:
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)


def run_prepare(paths: SageMakerPaths, config: PrepareConfig) -> dict[str, Any]:
    source = read_source(paths.prepare_input_dir, config.label_column)
    raw_features = source.table.feature_names
    cleaned = clean_rows(
        source.table,
        source.groups,
        drop_duplicates=config.drop_duplicates,
        missing_values=config.missing_values,
    )
    where = ", ".join(source.table.files[:3]) + (" ..." if len(source.table.files) > 3 else "")
    if not cleaned.labels:
        dropped = ", ".join(f"{REASONS[reason]}: {count}" for reason, count in cleaned.dropped_rows.items())
        hint = " (set PREPARE_MISSING_VALUES=median to impute gaps instead)" if config.missing_values == "drop" else ""
        raise DataError(
            f"Nothing left after cleaning {where}: {cleaned.rows_in} rows read, all dropped ({dropped}){hint}"
        )
    indices = _split(cleaned, config, where)
    preprocessing: Preprocessing = fit(
        cleaned.features[indices["train"]],
        cleaned.feature_names,
        raw_features=raw_features,
        label_column=config.label_column,
        missing_values=config.missing_values,
        constant_columns=config.constant_columns,
        already_dropped=cleaned.dropped_columns,
        vocabularies=cleaned.vocabularies,
        max_categories=config.max_categories,
        unseen_categories=config.unseen_categories,
    )
    if not preprocessing.output_features:
        raise DataError(
            f"No feature columns left after cleaning {where}: "
            + "; ".join(f'"{name}" {why}' for name, why in list(preprocessing.dropped_columns.items())[:8])
        )
    # Raw rows in input-column order (NaN where a column was dropped as empty; text as the fitted categories'
    # codes): the same path serving takes. A validation or test category that training lacks is "other" here
    # whatever unseen_categories says: that setting is for requests.
    raw = code_table(preprocessing, cleaned.features, cleaned.feature_names, cleaned.vocabularies)
    used = preprocessing.used_columns
    gaps = np.isnan(raw[:, [raw_features.index(name) for name in used]])
    imputed = {name: int(count) for name, count in zip(used, gaps.sum(axis=0), strict=True)}
    model_rows = apply(replace(preprocessing, unseen_categories=OTHER), raw)
    files: dict[str, bytes] = {}
    split_labels: dict[str, list[str]] = {}
    for name in SPLITS:
        split_labels[name] = [cleaned.labels[i] for i in indices[name]]
        files[f"{name}/{name}.csv"] = split_csv(
            model_rows[indices[name]], split_labels[name], preprocessing.output_features, config.label_column
        )
    files[f"{PREPROCESSING_CHANNEL}/{PREPROCESSING_FILE}"] = (
        json.dumps(preprocessing.to_dict(), indent=2) + "\n"
    ).encode()
    baseline = training_baseline(cleaned, indices["train"], preprocessing)
    files[f"{PREPROCESSING_CHANNEL}/{BASELINE_FILE}"] = baseline_json(baseline).encode()
    digest = content_hash(files)
    report = data_report.build_report(
        source=source.description,
        config=config.to_dict(),
        cleaned=cleaned,
        raw_features=raw_features,
        splits=split_labels,
        imputed_cells={name: count for name, count in imputed.items() if count},
        preprocessing=preprocessing,
        content_hash=digest,
    )
    _reset(paths.prepared_data_dir)
    for relative, content in files.items():
        target = paths.prepared_data_dir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    _reset(paths.data_report_dir)
    (paths.data_report_dir / REPORT_JSON).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    (paths.data_report_dir / REPORT_HTML).write_text(data_report.render_html(report), encoding="utf-8")
    (paths.data_report_dir / HASH_FILE).write_text(digest + "\n", encoding="utf-8")
    sample = sample_requests(raw, cleaned.labels, cleaned.origins, indices["test"], preprocessing)
    (paths.data_report_dir / SAMPLE_FILE).write_text(json.dumps(sample) + "\n", encoding="utf-8")
    (paths.data_report_dir / TEST_ROWS_FILE).write_text(
        raw_test_csv(cleaned, indices["test"], raw_features, config.label_column), encoding="utf-8"
    )
    return report


def main(env: Mapping[str, str] | None = None) -> int:
    env = os.environ if env is None else env
    paths = SageMakerPaths.from_env(env)

    def step() -> None:
        report = run_prepare(paths, load_prepare_config(env))
        for line in data_report.summary_lines(report):
            print(line, flush=True)
        print(
            f"prepared data written to {paths.prepared_data_dir}; report: {paths.data_report_dir / REPORT_HTML}",
            flush=True,
        )

    return run_processing_step("prepare", paths, step)
