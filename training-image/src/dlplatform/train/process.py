"""The PyTorch side of `train`: one training process (of possibly several), from placement to the model files."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time

import torch
from torch.nn.parallel import DistributedDataParallel

from ..errors import ConfigurationError
from ..metrics import emit, test_line
from ..model.artifact import weights_digest
from ..model.network import build_model, choose_architecture
from ..paths import SageMakerPaths
from . import distributed, gpu
from .cluster import ResourceConfig
from .dataset import Dataset
from .distributed import Placement
from .export import evaluate_test_split, export_model
from .hyperparameters import Hyperparameters
from .stopping import StopFlag
from .trainer import Progress, Trainer

log = logging.getLogger(__name__)

# Hyperparameters that only decide when to stop: changing them keeps the checkpoints usable.
NOT_FINGERPRINTED = ("epochs", "patience")


def fingerprint(hp: Hyperparameters, dataset: Dataset, world_size: int) -> str:
    """Identifies what a checkpoint is valid for: data, labels, world size and the hyperparameters that matter."""
    digest = hashlib.sha256()
    settings = {k: v for k, v in hp.to_dict().items() if k not in NOT_FINGERPRINTED}
    digest.update(json.dumps([settings, dataset.label_names, dataset.feature_names, world_size]).encode())
    for array in (dataset.train_x, dataset.train_y, dataset.validation_y, dataset.test_y):
        digest.update(array.tobytes())
    return digest.hexdigest()


def resolve_cuda(device: str, instance_type: str | None = None) -> bool:
    """Whether to train on CUDA. Unless ``device`` is cpu, a GPU the image's PyTorch cannot use fails the job,
    even with auto: on a GPU instance (resourceconfig.json's current_instance_type) training on its CPU instead
    would be slow and paid for at GPU prices."""
    if device != "cpu":
        problem = gpu.unusable_gpu_reason(instance_type, gpu.CudaState.probe())
        if problem:
            raise ConfigurationError(problem)
    elif instance_type and gpu.GPU_INSTANCE_TYPE.match(instance_type):
        log.warning("Training on the CPU of GPU instance %s: the hyperparameter device is cpu", instance_type)
    if device == "cuda" and not torch.cuda.is_available():
        raise ConfigurationError('Hyperparameter device is "cuda" but no CUDA device is available; use auto or cpu')
    return device != "cpu" and torch.cuda.is_available()


def configure_torch(use_cuda: bool, local_world_size: int) -> None:
    """Determinism, and this process's share of the CPUs. Call before the first CUDA operation.

    Results are reproducible for the same hardware, thread count and world size (summation order differs
    between thread counts).
    """
    if use_cuda:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # needed for deterministic cuBLAS
        torch.backends.cudnn.benchmark = False
    if not os.environ.get("OMP_NUM_THREADS"):  # an explicit OMP_NUM_THREADS wins
        torch.set_num_threads(max(1, len(os.sched_getaffinity(0)) // local_world_size))
    torch.use_deterministic_algorithms(True, warn_only=True)


def run_training_process(
    *,
    paths: SageMakerPaths,
    hp: Hyperparameters,
    dataset: Dataset,
    resources: ResourceConfig,
    placement: Placement,
    use_cuda: bool,
    stop: StopFlag,
) -> None:
    started = time.monotonic()
    device = torch.device("cuda", placement.local_rank) if use_cuda else torch.device("cpu")
    configure_torch(use_cuda, placement.local_world_size)
    if use_cuda:
        torch.cuda.set_device(device)
    try:
        arch = choose_architecture(
            hp.model_type, len(dataset.feature_names), len(dataset.label_names), hp.hidden_units, hp.dropout
        )
    except ValueError as error:
        raise ConfigurationError(str(error)) from None
    log.info(
        "Training a %s on %s (rank %d of %d, %s): %d train, %d validation, %d test rows, %d classes; %s",
        arch.kind,
        device,
        placement.rank,
        placement.world_size,
        placement.backend,
        len(dataset.train_y),
        len(dataset.validation_y),
        len(dataset.test_y),
        len(dataset.label_names),
        ", ".join(f"{name} from {dataset.sources[name]}" for name in ("validation", "test")),
    )
    torch.manual_seed(hp.seed)
    network = build_model(arch).to(device)
    use_amp = use_cuda and hp.mixed_precision
    distributed.init(placement, resources.network_interface)
    try:
        model = (
            DistributedDataParallel(network, device_ids=[device.index] if use_cuda else None)
            if placement.distributed
            else network
        )
        trainer = Trainer(
            network=network,
            model=model,
            dataset=dataset,
            hyperparameters=hp,
            placement=placement,
            device=device,
            use_amp=use_amp,
            checkpoint_dir=paths.checkpoint_dir,
            fingerprint=fingerprint(hp, dataset, placement.world_size),
            stop=stop,
        )
        progress: Progress = trainer.fit(trainer.resume())
        assert progress.best_model is not None
        network.load_state_dict(progress.best_model)
        _, test_accuracy = trainer.evaluate(trainer.test)
        log.info("Final weights sha256=%s (rank %d)", weights_digest(network.state_dict()), placement.rank)
        if placement.is_main:
            emit(test_line(test_accuracy))
            metrics = {
                "test_accuracy": test_accuracy,
                **progress.best_metrics,
                "best_epoch": progress.best_epoch,
                "epochs_run": progress.epoch,
            }
            training = {
                "device": device.type,
                "world_size": placement.world_size,
                "mixed_precision": use_amp,
                "data_sources": dataset.sources,
                "rows": {
                    "train": len(dataset.train_y),
                    "validation": len(dataset.validation_y),
                    "test": len(dataset.test_y),
                },
            }
            version = export_model(
                paths=paths, network=network, arch=arch, dataset=dataset, hp=hp, metrics=metrics, training=training
            )
            log.info("Wrote model %s to %s in %.1f s", version, paths.model_dir, time.monotonic() - started)
            evaluate_test_split(paths, dataset, hp.label_column)
        # Every rank leaves together: a rank that tears the process group down while the main one still exports the
        # model can wait forever in gloo's shutdown once the main one (which hosts the store) has exited.
        distributed.barrier()
    finally:
        distributed.shutdown()
