"""Tabular data shared by the stages: raw CSV reading, the preprocessing `prepare` fits and `serve` and `evaluate`
apply, which files hold data and the order of class labels. Imports no stage."""
