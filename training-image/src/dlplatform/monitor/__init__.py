"""`monitor`: compares a window of the endpoint's captured traffic with the baseline the served model carries, and
writes drift.json (the figures, and the metrics the platform publishes) and drift.html. Imports no other stage, and
no torch: it reads what the model answered from the capture instead of running the model."""
