#!/usr/bin/env bash
# The whole test suite (`npm test`): types, lint, jest (CDK assertions, cdk-nag, cfn-lint, handlers against
# local stand-ins) and pytest for training-image/. Installs the Python environment first when it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/ensure-node.sh
bash scripts/ensure-python.sh

echo "== node $(node --version), $(nproc) cores"
echo "== tsc --noEmit"
npx tsc --noEmit
echo "== eslint"
npx eslint .
echo "== ruff"
.venv/bin/ruff check training-image
echo "== jest"
npx jest --ci   # workers: jest.config.js
echo "== pytest (training-image)"
.venv/bin/python -m pytest training-image/tests -q
