"""`serve` (a SageMaker endpoint): the model server on port 8080 (/ping, /invocations). Entry point: server.main;
gunicorn's master forks asyncio workers (worker.py) that batch requests into the model (predictor.py)."""
