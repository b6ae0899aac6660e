#!/usr/bin/env bash
# The whole test suite (`npm test`): types, lint (eslint, ruff, the image's import contract), jest (CDK assertions,
# cdk-nag, checkov, cfn-lint, handlers against local stand-ins) and pytest for training-image/. Installs the
# environments first when they are missing.
#
# pytest runs beside the rest: most of its time is spent waiting on the processes it starts (train, serve, HTTP
# clients), which leaves the cores to tsc, eslint and jest. Its output is printed, whole, after jest's.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/ensure-node.sh
bash scripts/ensure-python.sh

echo "== node $(node --version), $(nproc) cores"
pytest_log=$(mktemp)
trap 'rm -f "$pytest_log"' EXIT
.venv/bin/python -m pytest training-image/tests -q -p no:cacheprovider >"$pytest_log" 2>&1 &
pytest_pid=$!

status=0
echo "== tsc --noEmit"
npx tsc --noEmit || status=1
echo "== eslint (with import order and line length)"
npx eslint . || status=1
echo "== prettier --check (the TypeScript layout; npm run format rewrites it)"
npx prettier --check "**/*.ts" --log-level warn || status=1
echo "== ruff"
.venv/bin/ruff check training-image || status=1
echo "== lint-imports (the stage packages' import contract, training-image/pyproject.toml)"
(cd training-image && PYTHONPATH=src ../.venv/bin/lint-imports --no-logo --no-cache pyproject.toml) || status=1
echo "== jest"
npx jest --ci || status=1   # workers: jest.config.js
echo "== pytest (training-image)"
wait "$pytest_pid" || status=1
cat "$pytest_log"
exit "$status"
