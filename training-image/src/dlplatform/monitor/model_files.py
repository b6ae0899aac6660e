"""What `monitor` needs of the served model: its baseline.json, the request columns (preprocessing.json's raw input
columns, or metadata.json's features for a model without one) and its version. Read from model.tar.gz without
unpacking it (the weights are never needed: the capture holds what the model answered), or from its files."""

from __future__ import annotations

import json
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ModelArtifactError
from ..tabular.baseline import BASELINE_FILE, Baseline
from ..tabular.preprocessing import PREPROCESSING_FILE, Preprocessing

METADATA_FILE = "metadata.json"  # model/artifact.py's, which imports torch
WANTED = (METADATA_FILE, BASELINE_FILE, PREPROCESSING_FILE)


@dataclass(frozen=True)
class ServedModel:
    version: str
    columns: tuple[str, ...]  # a request row's columns, in order
    baseline: Baseline


def _from_archive(archive_path: Path) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    try:
        with tarfile.open(archive_path) as archive:
            for member in archive:
                name = member.name.removeprefix("./")
                if member.isfile() and name in WANTED:
                    handle = archive.extractfile(member)
                    if handle is not None:
                        files[name] = handle.read()
    except (tarfile.TarError, OSError) as error:
        raise ModelArtifactError(f"{archive_path.name} is not a readable model.tar.gz: {error}") from None
    return files


def read_model_files(model_input: Path) -> dict[str, bytes]:
    """metadata.json, baseline.json and preprocessing.json (those present) from the folder or its model.tar.gz."""
    if (model_input / METADATA_FILE).is_file():
        return {name: (model_input / name).read_bytes() for name in WANTED if (model_input / name).is_file()}
    archives = sorted(model_input.glob("*.tar.gz")) if model_input.is_dir() else []
    if not archives:
        raise ModelArtifactError(f"No model under {model_input}: expected model.tar.gz or the model's {METADATA_FILE}")
    files = _from_archive(archives[0])
    if METADATA_FILE not in files:
        raise ModelArtifactError(f"{archives[0].name} holds no {METADATA_FILE}; is it a model.tar.gz from `train`?")
    return files


def _json(files: dict[str, bytes], name: str) -> Any:
    try:
        return json.loads(files[name])
    except (UnicodeDecodeError, ValueError) as error:
        raise ModelArtifactError(f"The model's {name} is not valid JSON: {error}") from None


def load_served_model(model_input: Path) -> ServedModel:
    files = read_model_files(model_input)
    if BASELINE_FILE not in files:
        raise ModelArtifactError(
            f"The model has no {BASELINE_FILE}: it was trained by an image from before drift checks. Train it again "
            "(the same data and settings give the same model, now with the baseline of its training data)"
        )
    metadata = _json(files, METADATA_FILE)
    try:
        baseline = Baseline.from_dict(_json(files, BASELINE_FILE))
        if PREPROCESSING_FILE in files:
            columns = Preprocessing.from_dict(_json(files, PREPROCESSING_FILE)).input_features
        else:
            columns = tuple(str(name) for name in metadata["feature_names"])
        version = str(metadata["model_version"])
    except (KeyError, TypeError, AttributeError, ValueError) as error:
        raise ModelArtifactError(f"The model's {BASELINE_FILE} or {METADATA_FILE} cannot be read: {error}") from None
    unknown = [feature.name for feature in baseline.features if feature.name not in columns]
    if unknown:
        raise ModelArtifactError(
            f"The model's {BASELINE_FILE} describes columns its requests do not have: {', '.join(unknown[:8])}"
        )
    return ServedModel(version, columns, baseline)
