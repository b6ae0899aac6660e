"""`prepare` (a SageMaker Processing job): raw CSV in; clean train, validation and test channels, the fitted
preprocessing and a data report out. Entry point: job.main."""
