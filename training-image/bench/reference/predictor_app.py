"""The reference for the serving bench: AWS's classic bring-your-own-container model server.

The pattern of AWS's scikit_bring_your_own sample (container/decision_trees/predictor.py): a Flask app with
/ping and /invocations, run by gunicorn with gevent workers behind nginx (nginx.conf.template). Here it serves
the same digits model with the same torch: the state_dict from model.pt, rebuilt with dlplatform.model.network, and
the normalization from metadata.json. https://github.com/aws/amazon-sagemaker-examples/tree/main/
advanced_functionality/scikit_bring_your_own/container

Not part of the image; the bench (serve_bench.py) starts it with `gunicorn -k gevent`.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sys
from pathlib import Path

import flask
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))

from dlplatform.model.artifact import read_model
from dlplatform.model.network import Architecture, build_model

torch.set_num_threads(1)  # as the project's server: one core per worker, no oversubscription

model_dir = Path(os.environ.get("SM_ROOT", "/opt/ml")) / "model"
state_dict, metadata = read_model(model_dir)
network = build_model(Architecture.from_dict(metadata["architecture"]))
network.load_state_dict(state_dict)
network.eval()
mean = np.asarray(metadata["normalization"]["mean"], dtype=np.float32)
std = np.asarray(metadata["normalization"]["std"], dtype=np.float32)
labels = [str(label) for label in metadata["labels"]]

app = flask.Flask(__name__)


@app.route("/ping", methods=["GET"])
def ping() -> flask.Response:
    return flask.Response(response="\n", status=200, mimetype="application/json")


@app.route("/invocations", methods=["POST"])
def transformation() -> flask.Response:
    if flask.request.content_type == "text/csv":
        rows = [[float(v) for v in row] for row in csv.reader(io.StringIO(flask.request.data.decode("utf-8")))]
    elif flask.request.content_type == "application/json":
        rows = json.loads(flask.request.data)["instances"]
    else:
        return flask.Response(response="This predictor only supports CSV or JSON data", status=415)
    x = torch.from_numpy((np.asarray(rows, dtype=np.float32) - mean) / std)
    with torch.inference_mode():
        probabilities = torch.softmax(network(x), dim=1).numpy()
    predictions = [
        {"label": labels[int(row.argmax())], "probabilities": dict(zip(labels, np.round(row, 6).tolist(), strict=True))}
        for row in probabilities.astype(float)
    ]
    body = json.dumps({"predictions": predictions, "model_version": metadata["model_version"]})
    return flask.Response(response=body, status=200, mimetype="application/json")
