"""The model shared by `train`, `evaluate` and `serve`: the network (network.py) and the artifact format
(artifact.py: model.pt and metadata.json). Imports no stage."""
