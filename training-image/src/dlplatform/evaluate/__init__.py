"""`evaluate` (a SageMaker Processing job): a model and labelled test rows in; evaluation.json and evaluation.html
out. Entry point: job.main. `train` calls evaluation.evaluate_model_folder on its test split."""
