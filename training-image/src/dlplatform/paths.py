"""Every SageMaker container path, in one place.

SageMaker mounts everything under /opt/ml. Tests (and local runs) point ``SM_ROOT`` at another folder that has
the same layout. Processing jobs (`prepare`, `evaluate`, `monitor`) choose their own local paths under
/opt/ml/processing (ProcessingInput/ProcessingOutput LocalPath); the ones below are the contract the stacks must use.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

DEFAULT_ROOT = "/opt/ml"
ROOT_ENV = "SM_ROOT"

# The folder holding src/, entrypoint.py and the JSON tables the image reads (gpu-architectures.json,
# request-limits.json): training-image/ in the repository, /opt/program in the image (see the Dockerfile).
PROGRAM_DIR = Path(__file__).resolve().parents[2]

# The GPU matrix: which GPU architectures the image's torch build runs, and what CUDA needs of the host driver.
GPU_MATRIX_FILE = PROGRAM_DIR / "gpu-architectures.json"


@dataclass(frozen=True)
class SageMakerPaths:
    """The /opt/ml tree of a training or serving container, rooted at ``root``."""

    root: Path

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> SageMakerPaths:
        """Paths rooted at ``$SM_ROOT``, or /opt/ml when it is unset or empty."""
        env = os.environ if env is None else env
        return cls(Path(env.get(ROOT_ENV) or DEFAULT_ROOT))

    @property
    def config_dir(self) -> Path:
        return self.root / "input" / "config"

    @property
    def hyperparameters_file(self) -> Path:
        return self.config_dir / "hyperparameters.json"

    @property
    def input_data_config_file(self) -> Path:
        return self.config_dir / "inputdataconfig.json"

    @property
    def resource_config_file(self) -> Path:
        return self.config_dir / "resourceconfig.json"

    @property
    def data_dir(self) -> Path:
        return self.root / "input" / "data"

    def channel_dir(self, channel: str) -> Path:
        """Where SageMaker copies the files of input channel ``channel`` (File and FastFile modes)."""
        return self.data_dir / channel

    @property
    def model_dir(self) -> Path:
        """Training writes the model here; SageMaker tars it to model.tar.gz and serving finds it here again."""
        return self.root / "model"

    @property
    def output_dir(self) -> Path:
        return self.root / "output"

    @property
    def failure_file(self) -> Path:
        """SageMaker reports the first 1024 characters of this file as the job's FailureReason."""
        return self.output_dir / "failure"

    @property
    def output_data_dir(self) -> Path:
        """Extra outputs, uploaded as output.tar.gz."""
        return self.output_dir / "data"

    @property
    def message_file(self) -> Path:
        """Processing jobs report the first 1 KB of this file as ExitMessage (DescribeProcessingJob).

        https://docs.aws.amazon.com/sagemaker/latest/dg/byoc-metadata.html
        """
        return self.output_dir / "message"

    @property
    def processing_dir(self) -> Path:
        return self.root / "processing"

    @property
    def prepare_input_dir(self) -> Path:
        """`prepare` reads one CSV file, a folder of CSV files, or train/, validation/ and test/ folders here."""
        return self.processing_dir / "input" / "data"

    @property
    def prepared_data_dir(self) -> Path:
        """`prepare` writes train/, validation/, test/ (training channels) and preprocessing/ here."""
        return self.processing_dir / "output" / "data"

    @property
    def data_report_dir(self) -> Path:
        """`prepare` writes data-report.json, data-report.html and data.sha256 here."""
        return self.processing_dir / "output" / "report"

    @property
    def evaluate_model_dir(self) -> Path:
        """`evaluate` reads the model here: model.tar.gz as training uploads it, or its unpacked files."""
        return self.processing_dir / "input" / "model"

    @property
    def evaluate_approved_model_dir(self) -> Path:
        """Optional: the approved model `evaluate` also scores on the same test rows, for the quality gate."""
        return self.processing_dir / "input" / "approved-model"

    @property
    def evaluate_test_dir(self) -> Path:
        """`evaluate` reads the test CSV files here (prepare's test/ channel, or raw rows with the label)."""
        return self.processing_dir / "input" / "test"

    @property
    def evaluation_dir(self) -> Path:
        """`evaluate` writes evaluation.json and evaluation.html here."""
        return self.processing_dir / "output" / "evaluation"

    @property
    def capture_dir(self) -> Path:
        """`monitor` reads the window's data-capture files here, recursively (the endpoint's JSON Lines files)."""
        return self.processing_dir / "input" / "capture"

    @property
    def monitor_model_dir(self) -> Path:
        """`monitor` reads the served model here: model.tar.gz (which carries baseline.json), or its files."""
        return self.processing_dir / "input" / "model"

    @property
    def drift_dir(self) -> Path:
        """`monitor` writes drift.json and drift.html here."""
        return self.processing_dir / "output" / "drift"

    @property
    def checkpoint_dir(self) -> Path:
        """CheckpointConfig.LocalPath's default; SageMaker syncs it with the job's checkpoint S3 URI."""
        return self.root / "checkpoints"
