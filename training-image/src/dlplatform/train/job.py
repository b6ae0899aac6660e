"""`train`: reads the SageMaker inputs, trains, writes the model, or writes the failure reason and exits non-zero.

Inputs (hyperparameters, channels, CSV data) are checked before PyTorch loads, so bad input fails in a second.

Exit codes: 0 trained; 1 failed (reason in output/failure); 143 stopped by SIGTERM/SIGINT after saving a
checkpoint. 143 is not a failure: SageMaker decides the status of a stopped or spot-interrupted job itself and
the next start resumes from the checkpoint, while a non-zero code keeps scripts (`train && deploy`) from
treating an unfinished model as done.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path

from ..errors import JobError
from ..failure import clear_failure, write_failure
from ..paths import SageMakerPaths
from .baseline import check_channel_baseline
from .channels import discover_channels
from .cluster import LOCAL_RANK_ENV, ResourceConfig
from .dataset import Dataset, prepare_dataset, read_channel
from .hyperparameters import Hyperparameters, load_hyperparameters
from .launcher import follow_supervisor, supervise
from .preprocessing_channel import check_preprocessing
from .stopping import EXIT_INTERRUPTED, Interrupted, StopFlag

log = logging.getLogger(__name__)


def load_dataset(paths: SageMakerPaths, hp: Hyperparameters) -> Dataset:
    channels = discover_channels(paths)
    tables = {name: read_channel(directory, name, hp.label_column) for name, directory in channels.items()}
    dataset = prepare_dataset(
        tables["train"],
        tables.get("validation"),
        tables.get("test"),
        validation_fraction=hp.validation_fraction,
        test_fraction=hp.test_fraction,
        seed=hp.seed,
    )
    check_channel_baseline(paths, check_preprocessing(paths, dataset, hp.label_column))
    return dataset


def main(entry_script: Path, env: Mapping[str, str] | None = None) -> int:
    env = os.environ if env is None else env
    paths = SageMakerPaths.from_env(env)
    local_rank_text = env.get(LOCAL_RANK_ENV)
    stop = StopFlag().install()
    if local_rank_text is not None:
        follow_supervisor()
    try:
        if local_rank_text is None:
            clear_failure(paths)
        hp = load_hyperparameters(paths.hyperparameters_file)
        resources = ResourceConfig.load(paths.resource_config_file)
        dataset = load_dataset(paths, hp)

        from . import distributed, process  # PyTorch loads only once the inputs are known to be good

        use_cuda = process.resolve_cuda(hp.device, resources.current_instance_type)
        per_host = distributed.processes_per_host(use_cuda, env)
        if local_rank_text is None and per_host > 1:
            del dataset  # the supervisor only checked it; each worker reads its own copy
            return supervise(entry_script, per_host, paths)
        placement = distributed.place(resources, int(local_rank_text or 0), per_host, use_cuda, env)
        process.run_training_process(
            paths=paths,
            hp=hp,
            dataset=dataset,
            resources=resources,
            placement=placement,
            use_cuda=use_cuda,
            stop=stop,
        )
        return 0
    except Interrupted as interruption:
        log.warning("Training %s; start it again to resume", interruption)
        return EXIT_INTERRUPTED
    except JobError as error:
        write_failure(paths, str(error))
        return 1
    except Exception as error:  # anything else still gets a readable failure reason
        log.exception("Training failed")
        write_failure(paths, f"Unexpected error ({type(error).__name__}): {error}")
        return 1
