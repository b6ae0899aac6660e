"""metric-definitions.json (imported by the CDK training job) matches the real training log lines."""

from __future__ import annotations

import json
import re

from .conftest import TrainedModel
from .support import EPOCH_LINE, TRAINING_IMAGE

DEFINITIONS = json.loads((TRAINING_IMAGE / "metric-definitions.json").read_text())


def test_defines_exactly_the_four_metrics_in_sagemaker_shape() -> None:
    assert [set(item) for item in DEFINITIONS] == [{"Name", "Regex"}] * 4
    assert [item["Name"] for item in DEFINITIONS] == [
        "train_loss",
        "validation_loss",
        "validation_accuracy",
        "test_accuracy",
    ]


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


def test_no_regex_matches_another_metrics_text() -> None:
    samples = {
        "train_loss": "train_loss=0.5;",
        "validation_loss": "validation_loss=0.25;",
        "validation_accuracy": "validation_accuracy=0.75;",
        "test_accuracy": "test_accuracy=0.125;",
    }
    for item in DEFINITIONS:
        for name, text in samples.items():
            assert bool(re.search(item["Regex"], text)) == (name == item["Name"]), (item["Name"], text)
