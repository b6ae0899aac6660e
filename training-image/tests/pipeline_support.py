"""Helpers for the prepare/evaluate tests: Processing-job trees under a temporary SM_ROOT, the entry point run
as a process, and small CSV files made on the spot."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from dlplatform.model.artifact import read_model
from dlplatform.model.network import Architecture, build_model

from .support import ENTRYPOINT, child_env

PREPARE_INPUT = Path("processing/input/data")
PREPARED = Path("processing/output/data")
REPORT = Path("processing/output/report")


@dataclass
class Done:
    returncode: int
    stdout: str
    stderr: str


def run_entry(command: str, root: Path, env: Mapping[str, str] | None = None, timeout: float = 240) -> Done:
    done = subprocess.run(
        [sys.executable, str(ENTRYPOINT), command],
        env=child_env(root, env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return Done(done.returncode, done.stdout, done.stderr)


def csv_text(header: Sequence[object], rows: Sequence[Sequence[object]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def prepare_input(root: Path, files: Mapping[str, str | bytes]) -> Path:
    """Writes ``files`` (path relative to the input folder -> content) as prepare's input."""
    for relative, content in files.items():
        path = root / PREPARE_INPUT / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return root


def reason(root: Path) -> str:
    """The failure reason; output/message (a Processing job's ExitMessage) and output/failure hold the same."""
    message = (root / "output" / "message").read_text(encoding="utf-8")
    assert (root / "output" / "failure").read_text(encoding="utf-8") == message
    return message.strip()


def read_report(root: Path) -> dict[str, Any]:
    return json.loads((root / REPORT / "data-report.json").read_text())


def read_split(root: Path, split: str) -> tuple[list[str], list[list[str]]]:
    with (root / PREPARED / split / f"{split}.csv").open(newline="") as handle:
        rows = list(csv.reader(handle))
    return rows[0], rows[1:]


def training_tree_from_prepared(prepared_root: Path, root: Path, hyperparameters: Mapping[str, str]) -> Path:
    """A training /opt/ml tree whose channels are prepare's outputs, as the stacks wire them."""
    config = root / "input" / "config"
    config.mkdir(parents=True)
    (config / "hyperparameters.json").write_text(json.dumps(dict(hyperparameters)))
    channels = {}
    for channel in ("train", "validation", "test", "preprocessing"):
        shutil.copytree(prepared_root / PREPARED / channel, root / "input" / "data" / channel)
        content_type = "application/json" if channel == "preprocessing" else "text/csv"
        channels[channel] = {
            "ContentType": content_type,
            "TrainingInputMode": "File",
            "S3DistributionType": "FullyReplicated",
        }
    (config / "inputdataconfig.json").write_text(json.dumps(channels))
    return root


def reference_probabilities(model_dir: Path, rows: np.ndarray) -> np.ndarray:
    """Independent of the code under test: the weights and normalisation read from the model folder's files and
    a plain forward pass, for model-width rows."""
    state, metadata = read_model(model_dir)
    network = build_model(Architecture.from_dict(metadata["architecture"]))
    network.load_state_dict(state)
    network.eval()
    mean, std = (np.array(metadata["normalization"][key]) for key in ("mean", "std"))
    with torch.no_grad():
        logits = network(torch.tensor((rows - mean) / std, dtype=torch.float32))
    return torch.softmax(logits.double(), dim=1).numpy()
