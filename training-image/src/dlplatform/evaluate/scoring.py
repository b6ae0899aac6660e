"""Scores rows with a model folder on the CPU, as the endpoint does, and times it.

Evaluation loads the exported files (model.pt, metadata.json) rather than the training process's network, so
the figures describe the artifact that gets deployed. Rows given here are model rows (after preprocessing).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..model.artifact import read_model
from ..model.network import Architecture, build_model

LATENCY_SAMPLES = 200
CHUNK_ROWS = 8192
WARMUP_CALLS = 5


@dataclass(frozen=True)
class Scorer:
    network: nn.Module
    mean: np.ndarray
    std: np.ndarray
    labels: tuple[str, ...]
    feature_names: tuple[str, ...]
    metadata: dict[str, Any]

    @classmethod
    def load(cls, model_dir: Path) -> Scorer:
        state, metadata = read_model(model_dir)
        network = build_model(Architecture.from_dict(metadata["architecture"]))
        network.load_state_dict(state)
        network.eval()
        return cls(
            network,
            np.asarray(metadata["normalization"]["mean"], dtype=np.float64),
            np.asarray(metadata["normalization"]["std"], dtype=np.float64),
            tuple(str(label) for label in metadata["labels"]),
            tuple(str(name) for name in metadata["feature_names"]),
            metadata,
        )

    def probabilities(self, rows: np.ndarray) -> np.ndarray:
        """Class probabilities (rows, classes), in chunks so a large test set needs little memory."""
        x = ((rows - self.mean) / self.std).astype(np.float32)
        parts = []
        with torch.inference_mode():
            for start in range(0, len(x), CHUNK_ROWS):
                parts.append(
                    torch.softmax(self.network(torch.from_numpy(x[start : start + CHUNK_ROWS])), dim=1).numpy()
                )
        return np.concatenate(parts) if parts else np.zeros((0, len(self.labels)), dtype=np.float32)

    def latency(self, rows: np.ndarray) -> dict[str, Any]:
        """Milliseconds for one row per call (p50, p99, mean over up to 200 rows) and per row in one batch."""
        for row in rows[:WARMUP_CALLS]:
            self.probabilities(row[None, :])
        single = []
        for row in rows[:LATENCY_SAMPLES]:
            started = time.perf_counter()
            self.probabilities(row[None, :])
            single.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        self.probabilities(rows)
        batch_ms = (time.perf_counter() - started) * 1000
        return {
            "device": "cpu",
            "torch_threads": torch.get_num_threads(),
            "single_row_calls": len(single),
            "single_row_ms": {
                "p50": float(np.percentile(single, 50)),
                "p99": float(np.percentile(single, 99)),
                "mean": float(np.mean(single)),
            },
            "batch_rows": len(rows),
            "batch_ms_per_row": batch_ms / len(rows),
        }
