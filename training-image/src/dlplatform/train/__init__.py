"""`train` (a SageMaker training job): channels and hyperparameters in; the model folder (model.tar.gz) out, with
its evaluation on the test split. Entry point: job.main; one process per GPU (launcher.py, process.py)."""
