"""The one exception type whose message is meant for the person who started the job."""


class TrainingError(Exception):
    """A problem with the job's inputs or settings.

    The message is written verbatim to the failure file (SageMaker's FailureReason), so it names the setting,
    file or value at fault and what would be accepted instead.
    """
