"""metric-definitions.json (the one metric contract: the CDK training job, the quality gate and local mode read it, and
the evaluation prints by it) matches the real training log lines and the evaluation report."""

from __future__ import annotations

import json
import re

import pytest

from dlplatform.metric_definitions import DEFINITIONS_FILE, metric_definitions

from .conftest import TrainedModel
from .support import EPOCH_LINE, TRAINING_IMAGE

DEFINITIONS = json.loads((TRAINING_IMAGE / "metric-definitions.json").read_text())
EVALUATION_METRICS = [item["Name"] for item in DEFINITIONS if item["LogLine"] == "evaluation"]


def test_defines_the_training_and_evaluation_metrics_in_sagemaker_shape_with_their_direction() -> None:
    assert [set(item) - {"Evaluation"} for item in DEFINITIONS] == [{"Name", "Regex", "Direction", "LogLine"}] * 11
    assert [item["Name"] for item in DEFINITIONS] == [
        "train_loss",
        "validation_loss",
        "validation_accuracy",
        "test_accuracy",
        "test_macro_precision",
        "test_macro_recall",
        "test_macro_f1",
        "test_weighted_f1",
        "test_log_loss",
        "test_ece",
        "test_latency_p50_ms",
    ]
    minimized = [item["Name"] for item in DEFINITIONS if item["Direction"] == "Minimize"]
    assert minimized == ["train_loss", "validation_loss", "test_log_loss", "test_ece", "test_latency_p50_ms"]
    assert {item["Direction"] for item in DEFINITIONS} == {"Maximize", "Minimize"}
    # Every metric of the test split is in the evaluation report; the training curves are not.
    names = [item["Name"] for item in DEFINITIONS]
    assert [item["Name"] for item in DEFINITIONS if "Evaluation" in item] == [n for n in names if n.startswith("test_")]


def test_the_image_reads_the_file_beside_src() -> None:
    assert DEFINITIONS_FILE == TRAINING_IMAGE / "metric-definitions.json"
    assert [d.name for d in metric_definitions()] == [item["Name"] for item in DEFINITIONS]
    assert re.search(r"^COPY metric-definitions\.json \.$", (TRAINING_IMAGE / "Dockerfile").read_text(), re.MULTILINE)
    assert "!metric-definitions.json" in (TRAINING_IMAGE / ".dockerignore").read_text().splitlines()


def test_regexes_use_only_syntax_every_engine_shares() -> None:
    # SageMaker applies each Regex to every log line and takes the first capture group as the value; plain
    # literals, a character class and one group behave the same in its engine and in Python's `re`.
    for item in DEFINITIONS:
        pattern = re.compile(item["Regex"])
        assert pattern.groups == 1
        assert not re.search(r"\(\?|\\[bBdDsSwW]|\\\d", item["Regex"]), item["Regex"]


def test_each_regex_captures_its_value_from_the_real_training_output(trained: TrainedModel) -> None:
    stdout = trained.result.stdout
    patterns = {item["Name"]: re.compile(item["Regex"]) for item in DEFINITIONS}
    epoch_lines = list(EPOCH_LINE.finditer(stdout))
    for column, name in enumerate(("train_loss", "validation_loss", "validation_accuracy"), start=2):
        captured = [float(match[1]) for line in stdout.splitlines() if (match := patterns[name].search(line))]
        assert captured == [float(line[column]) for line in epoch_lines], name
    test_values = [float(match[1]) for match in patterns["test_accuracy"].finditer(stdout)]
    assert test_values == [trained.result.test_accuracy]
    evaluation = json.loads((trained.root / "model" / "evaluation.json").read_text())
    expected = {d.name: d.value_in(evaluation) for d in metric_definitions() if d.evaluation}
    assert expected["test_accuracy"] == pytest.approx(trained.result.test_accuracy, abs=5e-7)
    for name in EVALUATION_METRICS:
        captured = [float(match[1]) for match in patterns[name].finditer(stdout)]
        assert captured == [pytest.approx(expected[name], abs=5e-7)], name


def test_no_regex_matches_another_metrics_text() -> None:
    samples = {
        "train_loss": "train_loss=0.5;",
        "validation_loss": "validation_loss=0.25;",
        "validation_accuracy": "validation_accuracy=0.75;",
        "test_accuracy": "test_accuracy=0.125;",
        **{name: f"{name}=0.5;" for name in EVALUATION_METRICS},
    }
    for item in DEFINITIONS:
        for name, text in samples.items():
            assert bool(re.search(item["Regex"], text)) == (name == item["Name"]), (item["Name"], text)
