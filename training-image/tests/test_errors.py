"""The errors a job fails with are named by what is at fault, and every kind reaches the failure file verbatim."""

from __future__ import annotations

from pathlib import Path

import pytest

from dlplatform.errors import ConfigurationError, DataError, JobError, ModelArtifactError, TrainingError
from dlplatform.evaluate.job import find_model
from dlplatform.failure import run_processing_step
from dlplatform.paths import SageMakerPaths
from dlplatform.prepare.config import load_prepare_config
from dlplatform.tabular.raw_csv import read_csv_file
from dlplatform.train.cluster import ResourceConfig


@pytest.mark.parametrize("kind", [ConfigurationError, DataError, ModelArtifactError, TrainingError])
def test_every_kind_of_job_error_is_written_verbatim_to_the_failure_and_message_files(
    tmp_path: Path, kind: type[JobError]
) -> None:
    paths = SageMakerPaths(tmp_path)

    def step() -> None:
        raise kind("the reason, in the user's words")

    assert run_processing_step("step", paths, step) == 1
    assert paths.failure_file.read_text(encoding="utf-8") == "the reason, in the user's words\n"
    assert paths.message_file.read_text(encoding="utf-8") == "the reason, in the user's words\n"


def test_a_bad_prepare_setting_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match='Invalid setting "PREPARE_SEED": "many"'):
        load_prepare_config({"PREPARE_SEED": "many"})


def test_an_unreadable_resource_config_is_a_configuration_error(tmp_path: Path) -> None:
    path = tmp_path / "resourceconfig.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(ConfigurationError, match="Cannot read"):
        ResourceConfig.load(path)


def test_a_csv_file_without_the_label_column_is_a_data_error(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    path.write_text("x1,x2\n1,2\n", encoding="utf-8")
    with pytest.raises(DataError, match='no label column "label"'):
        read_csv_file(path, "data.csv", "label")


def test_a_folder_without_a_model_is_a_model_artifact_error(tmp_path: Path) -> None:
    (tmp_path / "model").mkdir()
    with pytest.raises(ModelArtifactError, match="No model under"):
        find_model(tmp_path / "model", tmp_path / "scratch")
