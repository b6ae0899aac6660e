#!/usr/bin/env bash
# Creates the project's Python environment (.venv) for training-image/ and the CloudFormation linter,
# or brings it up to date when a requirements file changed. Safe to run again: it does nothing when current.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
REQS=(training-image/requirements.txt training-image/requirements-dev.txt)
CHECKOV_REQS=scripts/requirements-checkov.txt
STAMP=.venv/.requirements.sha256

if ! command -v "$PYTHON" >/dev/null 2>&1; then
  echo "error: $PYTHON not found. Install Python 3.10 or newer (e.g. apt-get install python3 python3-venv) and run again." >&2
  exit 1
fi
if ! "$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)'; then
  echo "error: $PYTHON is $("$PYTHON" --version 2>&1); this project needs Python 3.10 or newer." >&2
  exit 1
fi

want=$(cat "${REQS[@]}" "$CHECKOV_REQS" | sha256sum | cut -d' ' -f1)
if [ -x .venv/bin/python ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
  exit 0
fi

echo "Setting up the Python environment in .venv (torch is large: the first time takes a few minutes)..." >&2
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check --no-input "${REQS[@]/#/-r}"
# checkov in an environment of its own inside .venv (its pins conflict with the test tools').
[ -x .venv/checkov/bin/python ] || "$PYTHON" -m venv .venv/checkov
.venv/checkov/bin/python -m pip install --quiet --disable-pip-version-check --no-input -r "$CHECKOV_REQS"
echo "$want" > "$STAMP"
echo "Python environment ready." >&2
