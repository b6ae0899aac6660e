"""The training loop: seeded, resumable at any step, DDP-aware, with AMP on CUDA and early stopping."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..errors import TrainingError
from ..metrics import emit, epoch_line
from . import distributed
from .checkpoint import Position, load_latest_checkpoint, save_checkpoint
from .dataset import Dataset
from .distributed import Placement
from .hyperparameters import Hyperparameters
from .stopping import Interrupted, StopFlag

log = logging.getLogger(__name__)

EVAL_BATCH = 4096
CHECKPOINT_FORMAT = 1


def derived_seed(*parts: int) -> int:
    """A well-mixed seed from several integers, so every (epoch, step, rank) gets its own random stream."""
    return int(np.random.SeedSequence(list(parts)).generate_state(1, dtype=np.uint64)[0] % (2**63))


def cpu_copy(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {name: tensor.detach().to("cpu", copy=True) for name, tensor in state.items()}


@dataclass
class Progress:
    """Everything a checkpoint restores besides weights, optimizer and scaler."""

    epoch: int = 0  # epochs completed
    step: int = 0  # batches completed of the next epoch
    loss_sum: float = 0.0  # training loss summed over the samples of the epoch in progress (all processes)
    samples: int = 0
    best_loss: float = math.inf
    best_epoch: int = 0
    bad_epochs: int = 0
    best_metrics: dict[str, float] = field(default_factory=dict)
    best_model: dict[str, torch.Tensor] | None = None

    def to_state(self) -> dict[str, Any]:
        return {
            "loss_sum": self.loss_sum,
            "samples": self.samples,
            "best_loss": self.best_loss,
            "best_epoch": self.best_epoch,
            "bad_epochs": self.bad_epochs,
            "best_metrics": dict(self.best_metrics),
        }


class Trainer:
    """Trains ``network`` (wrapped as ``model``, e.g. by DDP) on ``dataset``; rank 0 prints and checkpoints."""

    def __init__(
        self,
        *,
        network: nn.Module,
        model: nn.Module,
        dataset: Dataset,
        hyperparameters: Hyperparameters,
        placement: Placement,
        device: torch.device,
        use_amp: bool,
        checkpoint_dir: Path,
        fingerprint: str,
        stop: StopFlag,
    ) -> None:
        self.network = network
        self.model = model
        self.hp = hyperparameters
        self.placement = placement
        self.device = device
        self.use_amp = use_amp
        self.checkpoint_dir = checkpoint_dir
        self.fingerprint = fingerprint
        self.stop = stop
        self.optimizer = torch.optim.Adam(
            model.parameters(), lr=hyperparameters.learning_rate, weight_decay=hyperparameters.weight_decay
        )
        self.scaler = torch.amp.GradScaler(device.type, enabled=use_amp)
        self.train_x = torch.from_numpy(dataset.train_x).to(device)
        self.train_y = torch.from_numpy(dataset.train_y).to(device)
        self.validation = (
            torch.from_numpy(dataset.validation_x).to(device),
            torch.from_numpy(dataset.validation_y).to(device),
        )
        self.test = (torch.from_numpy(dataset.test_x).to(device), torch.from_numpy(dataset.test_y).to(device))

    # --- checkpoints -------------------------------------------------------------------------------------------

    def _checkpoint_state(self, progress: Progress) -> dict[str, Any]:
        return {
            "format": CHECKPOINT_FORMAT,
            "fingerprint": self.fingerprint,
            "model": cpu_copy(self.network.state_dict()),
            "optimizer": self.optimizer.state_dict(),
            "scaler": self.scaler.state_dict(),
            "progress": progress.to_state(),
            "best_model": progress.best_model,
        }

    def _save(self, progress: Progress) -> Path | None:
        if not self.placement.is_main:
            return None
        return save_checkpoint(
            self.checkpoint_dir, Position(progress.epoch, progress.step), self._checkpoint_state(progress)
        )

    def resume(self) -> Progress:
        """Rank 0 loads the newest matching checkpoint and hands it to every other process."""
        payload = None
        if self.placement.is_main:
            found = load_latest_checkpoint(self.checkpoint_dir)
            if found is not None:
                path, checkpoint = found
                if checkpoint.get("format") == CHECKPOINT_FORMAT and checkpoint.get("fingerprint") == self.fingerprint:
                    payload = checkpoint
                    log.info("Resuming from %s (epoch %d, step %d)", path, checkpoint["epoch"], checkpoint["step"])
                else:
                    log.warning("Ignoring %s: it was written for other data or hyperparameters", path)
        payload = distributed.broadcast_from_main(payload)
        if payload is None:
            return Progress()
        self.network.load_state_dict(payload["model"])
        self.optimizer.load_state_dict(payload["optimizer"])
        self.scaler.load_state_dict(payload["scaler"])
        saved = payload["progress"]
        progress = Progress(
            epoch=payload["epoch"],
            step=payload["step"],
            best_loss=saved["best_loss"],
            best_epoch=saved["best_epoch"],
            bad_epochs=saved["bad_epochs"],
            best_metrics=dict(saved["best_metrics"]),
            best_model=payload["best_model"],
        )
        if self.placement.is_main:  # the saved partial-epoch sums are global; count them once
            progress.loss_sum, progress.samples = saved["loss_sum"], saved["samples"]
        return progress

    # --- steps -------------------------------------------------------------------------------------------------

    def _batches(self, epoch: int) -> list[torch.Tensor]:
        """This process's share of the epoch's shuffled rows (the same order on every process), in batches."""
        count, world = len(self.train_y), self.placement.world_size
        order = torch.randperm(count, generator=torch.Generator().manual_seed(derived_seed(self.hp.seed, epoch)))
        per_process = math.ceil(count / world)
        order = order.repeat(math.ceil(per_process * world / count))[: per_process * world]
        mine = order[self.placement.rank :: world].to(self.device)
        return list(mine.split(self.hp.batch_size))

    def _train_step(self, rows: torch.Tensor) -> torch.Tensor:
        with torch.autocast(device_type=self.device.type, dtype=torch.float16, enabled=self.use_amp):
            logits = self.model(self.train_x[rows])
        loss = F.cross_entropy(logits.float(), self.train_y[rows])
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        return loss.detach()

    def evaluate(self, data: tuple[torch.Tensor, torch.Tensor]) -> tuple[float, float]:
        """Mean cross-entropy and accuracy over all of ``data``, each process scoring every world_size-th row."""
        x, y = data
        self.network.eval()
        rows = torch.arange(self.placement.rank, len(y), self.placement.world_size, device=self.device)
        loss_sum = torch.zeros((), dtype=torch.float64, device=self.device)
        correct = torch.zeros((), dtype=torch.int64, device=self.device)
        with torch.inference_mode():
            for chunk in rows.split(EVAL_BATCH):
                with torch.autocast(device_type=self.device.type, dtype=torch.float16, enabled=self.use_amp):
                    logits = self.network(x[chunk]).float()
                loss_sum += F.cross_entropy(logits, y[chunk], reduction="sum").double()
                correct += (logits.argmax(dim=1) == y[chunk]).sum()
        total_loss, total_correct = distributed.all_reduce_sum([loss_sum.item(), float(correct.item())], self.device)
        return total_loss / len(y), total_correct / len(y)

    def _should_stop(self) -> bool:
        return distributed.any_process(self.stop.requested, self.device)

    def _interrupt(self, progress: Progress, epoch_loss: torch.Tensor) -> None:
        progress.loss_sum, samples = distributed.all_reduce_sum(
            [epoch_loss.item(), float(progress.samples)], self.device
        )
        progress.samples = int(samples)
        path = self._save(progress)
        if path is not None:
            log.warning("%s received: saved %s; training resumes from there", self.stop.signal_name, path)
        raise Interrupted(f"stopped by {self.stop.signal_name} at epoch {progress.epoch + 1}, step {progress.step}")

    # --- epochs ------------------------------------------------------------------------------------------------

    def fit(self, progress: Progress) -> Progress:
        """Trains until ``epochs`` or early stopping; raises Interrupted (after a checkpoint) on SIGTERM."""
        hp = self.hp
        if progress.bad_epochs >= hp.patience:
            return progress
        for epoch in range(progress.epoch + 1, hp.epochs + 1):
            batches = self._batches(epoch)
            epoch_loss = torch.tensor(progress.loss_sum, dtype=torch.float64, device=self.device)
            self.network.train()
            for step in range(progress.step, len(batches)):
                if self._should_stop():
                    self._interrupt(progress, epoch_loss)
                torch.manual_seed(derived_seed(hp.seed, epoch, step, self.placement.rank))
                loss = self._train_step(batches[step])
                epoch_loss += loss.double() * len(batches[step])
                progress.samples += len(batches[step])
                progress.step = step + 1
            loss_sum, samples = distributed.all_reduce_sum([epoch_loss.item(), float(progress.samples)], self.device)
            train_loss = loss_sum / samples
            validation_loss, validation_accuracy = self.evaluate(self.validation)
            if not (math.isfinite(train_loss) and math.isfinite(validation_loss)):
                raise TrainingError(
                    f"Training diverged at epoch {epoch} (train_loss={train_loss}, validation_loss="
                    f"{validation_loss}); try a lower learning_rate than {hp.learning_rate:g}"
                )
            progress.epoch, progress.step, progress.loss_sum, progress.samples = epoch, 0, 0.0, 0
            if validation_loss < progress.best_loss:
                progress.best_loss, progress.best_epoch, progress.bad_epochs = validation_loss, epoch, 0
                progress.best_model = cpu_copy(self.network.state_dict())
                progress.best_metrics = {
                    "train_loss": train_loss,
                    "validation_loss": validation_loss,
                    "validation_accuracy": validation_accuracy,
                }
            else:
                progress.bad_epochs += 1
            self._save(progress)  # before the metric line: a printed epoch is a saved epoch
            if self.placement.is_main:
                emit(epoch_line(epoch, train_loss, validation_loss, validation_accuracy))
            if progress.bad_epochs >= hp.patience:
                log.info("Early stopping after epoch %d: best validation loss at epoch %d", epoch, progress.best_epoch)
                break
        return progress
