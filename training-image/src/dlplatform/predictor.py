"""Loads the model artifact once and turns rows of features into class probabilities (CPU inference)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .artifacts import read_model
from .model import Architecture, build_model

CHUNK_ROWS = 8192


class ModelLoadError(Exception):
    """The model folder does not hold a model this server can load."""


@dataclass(frozen=True)
class Predictor:
    network: nn.Module
    labels: tuple[str, ...]
    feature_names: tuple[str, ...]
    input_width: int
    version: str
    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def load(cls, model_dir: Path) -> Predictor:
        try:
            state_dict, metadata = read_model(model_dir)
            arch = Architecture.from_dict(metadata["architecture"])
            network = build_model(arch)
            network.load_state_dict(state_dict)
            mean = np.asarray(metadata["normalization"]["mean"], dtype=np.float64)
            std = np.asarray(metadata["normalization"]["std"], dtype=np.float64)
            labels = tuple(str(label) for label in metadata["labels"])
            feature_names = tuple(str(name) for name in metadata["feature_names"])
            version = str(metadata["model_version"])
        except (OSError, ValueError, KeyError, TypeError, RuntimeError) as error:
            raise ModelLoadError(f"Cannot load the model from {model_dir}: {error}") from error
        if not (len(mean) == len(std) == len(feature_names) == arch.input_width and len(labels) == arch.num_classes):
            raise ModelLoadError(f"Inconsistent metadata.json in {model_dir}: widths or label count do not match")
        network.eval()
        return cls(network, labels, feature_names, arch.input_width, version, mean, std)

    def predict_proba(self, rows: np.ndarray) -> np.ndarray:
        """Probabilities, shape (rows, classes), for raw (unnormalised) features of shape (rows, input_width)."""
        x = ((rows - self.mean) / self.std).astype(np.float32)
        outputs = []
        with torch.inference_mode():
            for start in range(0, len(x), CHUNK_ROWS):
                logits = self.network(torch.from_numpy(x[start : start + CHUNK_ROWS]))
                outputs.append(torch.softmax(logits, dim=1).numpy())
        return np.concatenate(outputs) if outputs else np.zeros((0, len(self.labels)), dtype=np.float32)
