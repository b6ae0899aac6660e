"""The exceptions whose message is meant for the person who started the job, named by what is at fault.

A job (`prepare`, `train`, `evaluate`) that stops on one of them writes its message verbatim to the failure file
(SageMaker's FailureReason; for a Processing job its ExitMessage too, see failure.py), so the message names the
setting, file or value at fault and what would be accepted instead. Anything else is a bug, reported as
"Unexpected error (...)".
"""


class JobError(Exception):
    """The job cannot go on with what it was given; the message says what to change."""


class ConfigurationError(JobError):
    """A setting (hyperparameters, PREPARE_* and other environment variables), one of SageMaker's configuration files
    (inputdataconfig.json, resourceconfig.json) or the machine the job runs on does not allow the job."""


class DataError(JobError):
    """The input data (CSV files, channels, labels, the rows left after cleaning) cannot be used as it is."""


class ModelArtifactError(JobError):
    """The model handed to a job is missing or is not a model folder or model.tar.gz that `train` wrote."""


class TrainingError(JobError):
    """Training ran but failed (for example the loss diverged)."""
