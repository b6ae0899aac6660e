"""Writes the failure file SageMaker turns into the job's FailureReason."""

from __future__ import annotations

import logging
from collections.abc import Callable

from .errors import JobError
from .paths import SageMakerPaths

log = logging.getLogger(__name__)

MAX_CHARS = 1024  # SageMaker shows this much of the file


def clear_failure(paths: SageMakerPaths) -> None:
    paths.failure_file.unlink(missing_ok=True)


def write_failure(paths: SageMakerPaths, message: str) -> None:
    """Keeps the first failure written: when one process fails, its peers fail next with less useful errors."""
    log.error("%s", message)
    try:
        paths.output_dir.mkdir(parents=True, exist_ok=True)
        with paths.failure_file.open("x", encoding="utf-8") as handle:
            handle.write(message[:MAX_CHARS] + "\n")
    except FileExistsError:
        pass
    except OSError as error:
        log.error("Could not write %s: %s", paths.failure_file, error)


def write_processing_failure(paths: SageMakerPaths, message: str) -> None:
    """For Processing jobs: output/message becomes the job's ExitMessage, which DescribeProcessingJob returns.

    https://docs.aws.amazon.com/sagemaker/latest/dg/byoc-metadata.html (first 1 KB, UTF-8). output/failure is
    written too, so local runs and callers that read it find the reason in the same place as for `train`.
    """
    write_failure(paths, message)
    try:
        paths.message_file.write_text(message[:MAX_CHARS] + "\n", encoding="utf-8")
    except OSError as error:
        log.error("Could not write %s: %s", paths.message_file, error)


def run_processing_step(name: str, paths: SageMakerPaths, step: Callable[[], None]) -> int:
    """Runs a Processing-job entry point (`prepare`, `evaluate`): 0 when ``step`` returns, else 1 with the reason
    in output/message and output/failure. A JobError's message is the user's; anything else still gets one."""
    clear_failure(paths)
    paths.message_file.unlink(missing_ok=True)
    try:
        step()
    except JobError as error:
        write_processing_failure(paths, str(error))
        return 1
    except Exception as error:
        log.exception("%s failed", name)
        write_processing_failure(paths, f"Unexpected error ({type(error).__name__}): {error}")
        return 1
    return 0
