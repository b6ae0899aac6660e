"""Loads the model artifact once and turns rows of features into class probabilities.

The seam is :meth:`Predictor.predict_proba`: raw rows (float32, shape (n, input_width); NaN for a missing value
when the model imputes) in, probabilities
(float32, shape (n, classes)) out. It is :meth:`Predictor.transform` (what the training run fitted:
`prepare`'s preprocessing.json when model.tar.gz carries one, then the per-feature normalization in
metadata.json) then :meth:`Predictor.forward` (the network). The server transforms each request on its own
and batches only the forward pass.

On the CPU the network runs as frozen TorchScript graphs built at load time from the state_dict that
model.tar.gz carries (nothing new for the trainer to write). Measured on this model (bench/serve_bench.py
prints the forward-pass table): the plain frozen graph is fastest for one or two rows, and the graph with
oneDNN (MKL-DNN) convolutions from ``torch.jit.optimize_for_inference`` is 2-3x faster than eager PyTorch from
four rows up, which is what micro-batching feeds it. On a GPU the eager module runs on the device.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cached_property, partial
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..model.artifact import read_model
from ..model.network import Architecture, build_model
from ..tabular.preprocessing import Preprocessing, apply
from ..tabular.preprocessing import load as load_preprocessing
from .payload import RowSchema

CHUNK_ROWS = 8192
WARM_UP_ROWS = 128
SMALL_BATCH_ROWS = 2  # at most this many rows run on the plain frozen graph (see the module docstring)

CPU = torch.device("cpu")

Forward = Callable[[torch.Tensor], torch.Tensor]


class ModelLoadError(Exception):
    """The model folder does not hold a model this server can load."""


def _probabilities(network: nn.Module) -> nn.Module:
    return nn.Sequential(network, nn.Softmax(dim=1)).eval()


def _frozen(module: nn.Module, *, onednn: bool) -> Forward:
    # The default (profiling) TorchScript executor re-profiles and re-optimizes the graph for each new batch
    # size it meets: a first call of 30-140 ms per size, a tail-latency spike under micro-batching. The simple
    # executor runs the already frozen and optimized graph as it is: measured no slower, and no first calls.
    torch._C._jit_set_profiling_executor(False)
    with warnings.catch_warnings():
        # torch 2.10 marks torch.jit deprecated; nothing replaces its CPU freezing without a C++ compiler at
        # run time (torch.compile) or an extra runtime (ONNX). Revisit with the next torch pin.
        warnings.simplefilter("ignore", DeprecationWarning)
        frozen = torch.jit.freeze(torch.jit.script(module))
        if onednn:
            frozen = torch.jit.optimize_for_inference(frozen)
    return frozen  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Predictor:
    network: nn.Module  # the trained classifier (eager, CPU), as rebuilt from the artifact
    labels: tuple[str, ...]
    feature_names: tuple[str, ...]  # a request's columns: preprocessing's input features, else the model's
    input_width: int  # values per request row: len(feature_names)
    version: str
    mean: np.ndarray  # float32, shape (the network's input width,)
    scale: np.ndarray  # float32, 1 / std
    preprocessing: Preprocessing | None  # prepare's fitted transform; None for a model folder without one
    device: torch.device = CPU
    small: Forward | None = None  # batches of up to SMALL_BATCH_ROWS rows
    large: Forward | None = None  # larger batches

    @classmethod
    def load(cls, model_dir: Path) -> Predictor:
        """The model in ``model_dir``, ready on the CPU; :meth:`to` moves it to another device."""
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
            preprocessing = load_preprocessing(model_dir)
        except (OSError, ValueError, KeyError, TypeError, RuntimeError) as error:
            raise ModelLoadError(f"Cannot load the model from {model_dir}: {error}") from error
        if not (len(mean) == len(std) == len(feature_names) == arch.input_width and len(labels) == arch.num_classes):
            raise ModelLoadError(f"Inconsistent metadata.json in {model_dir}: widths or label count do not match")
        if preprocessing is not None and preprocessing.output_features != feature_names:
            raise ModelLoadError(
                f"Inconsistent preprocessing.json in {model_dir}: its output features are not the model's features"
            )
        request_names = preprocessing.input_features if preprocessing is not None else feature_names
        network.eval()
        predictor = cls(
            network, labels, request_names, len(request_names), version,
            mean.astype(np.float32), (1.0 / std).astype(np.float32), preprocessing,
        )  # fmt: skip
        return predictor.to(CPU)

    @property
    def imputes(self) -> bool:
        """Whether a request row may leave values out (NaN): the fitted preprocessing has a value for each."""
        return self.preprocessing is not None and self.preprocessing.fill_values is not None

    @cached_property
    def schema(self) -> RowSchema:
        """A request row's columns: names for named-feature rows, and the text columns' codes."""
        preprocessing = self.preprocessing
        if preprocessing is None:
            return RowSchema.numeric(self.feature_names)
        return RowSchema(
            self.feature_names,
            frozenset(preprocessing.used_columns),
            {
                self.feature_names.index(name): partial(preprocessing.code, name)
                for name in preprocessing.text_columns
                if name in preprocessing.used_columns
            },
        )

    def to(self, device: torch.device) -> Predictor:
        """This model compiled for ``device``: frozen TorchScript graphs on the CPU, the eager module on a GPU."""
        model = _probabilities(self.network)
        if device.type == "cpu":
            with torch.inference_mode():
                small, large = _frozen(model, onednn=False), _frozen(model, onednn=True)
            compiled = replace(self, device=device, small=small, large=large)
        else:
            on_device = model.to(device)
            compiled = replace(self, device=device, small=on_device, large=on_device)
        compiled.warm_up(SMALL_BATCH_ROWS + 1)
        return compiled

    def warm_up(self, max_rows: int) -> None:
        """Runs every batch size up to ``max_rows`` (at most WARM_UP_ROWS) once, before the first request.

        oneDNN builds its convolution kernels for each new input shape on first use (a few milliseconds each);
        a worker does that at start instead of inside a client's request.
        """
        for rows in range(1, min(max_rows, WARM_UP_ROWS) + 1):
            self.forward(np.zeros((rows, len(self.mean)), dtype=np.float32))  # the mean row, normalized

    def transform(self, rows: np.ndarray) -> np.ndarray:
        """The preprocessing fitted on the training split, applied to raw rows: float32 model input.

        prepare's column selection and imputation (:func:`preprocessing.apply`, the code prepare itself ran
        on the training rows), then training's normalization. The server runs it per request, before
        batching; a ValueError it raises for a row it cannot take is the client's 400.
        """
        model_rows = apply(self.preprocessing, rows)
        return ((model_rows - self.mean) * self.scale).astype(np.float32, copy=False)

    def predict_proba(self, rows: np.ndarray) -> np.ndarray:
        """Probabilities, shape (rows, classes), for raw features of shape (rows, input_width)."""
        return self.forward(self.transform(np.asarray(rows, dtype=np.float32)))

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Probabilities for rows already through :meth:`transform` (what a batch of requests runs)."""
        outputs = []
        with torch.inference_mode():
            for start in range(0, len(x), CHUNK_ROWS):
                chunk = torch.from_numpy(np.ascontiguousarray(x[start : start + CHUNK_ROWS]))
                forward = self.small if len(chunk) <= SMALL_BATCH_ROWS else self.large
                assert forward is not None, "Predictor.load returns a compiled predictor"
                outputs.append(forward(chunk.to(self.device)).float().cpu().numpy())
        return np.concatenate(outputs) if outputs else np.zeros((0, len(self.labels)), dtype=np.float32)
