"""The model artifact: model.pt (a plain state_dict) and metadata.json (everything else serving needs)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import torch

MODEL_FILE = "model.pt"
METADATA_FILE = "metadata.json"
FORMAT_VERSION = 1


def weights_digest(state_dict: dict[str, torch.Tensor]) -> str:
    """SHA-256 of parameter names, dtypes, shapes and bytes: equal weights give equal digests."""
    digest = hashlib.sha256()
    for name, tensor in state_dict.items():
        value = tensor.detach().to("cpu").contiguous()
        digest.update(f"{name}|{value.dtype}|{tuple(value.shape)}|".encode())
        digest.update(value.numpy().tobytes())
    return digest.hexdigest()


def model_version(state_dict: dict[str, torch.Tensor], predictive_metadata: dict[str, Any]) -> str:
    """A content hash of what determines predictions (weights, architecture, labels, preprocessing); no time."""
    digest = hashlib.sha256(weights_digest(state_dict).encode())
    digest.update(json.dumps(predictive_metadata, sort_keys=True, separators=(",", ":")).encode())
    return digest.hexdigest()[:16]


def write_model(model_dir: Path, state_dict: dict[str, torch.Tensor], metadata: dict[str, Any]) -> None:
    """Writes model.pt, then metadata.json last: a folder with metadata.json holds a complete model."""
    model_dir.mkdir(parents=True, exist_ok=True)
    torch.save({name: tensor.detach().to("cpu") for name, tensor in state_dict.items()}, model_dir / MODEL_FILE)
    (model_dir / METADATA_FILE).write_text(json.dumps(metadata, indent=2) + "\n", encoding="utf-8")


def read_model(model_dir: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    metadata = json.loads((model_dir / METADATA_FILE).read_text(encoding="utf-8"))
    if metadata.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"unsupported model format_version {metadata.get('format_version')!r}")
    state_dict = torch.load(model_dir / MODEL_FILE, map_location="cpu", weights_only=True)
    return state_dict, metadata
