#!/usr/bin/env bash
# Benchmarks that print figures (`npm run bench`); never part of `npm test`.
#  1. The proxy Lambda's cold start: its bundle against a naive bundle of the same SDK client (bench/proxy-cold-start.ts).
#  2. The inference proxy's added latency per request (bench/proxy-latency.ts).
#  3. The model server against AWS's classic BYOC stack (nginx -> gunicorn/gevent -> Flask), same model and
#     machine, wrk at concurrency 1, 10 and 50 (training-image/bench/serve_bench.py). Needs the Debian packages
#     wrk and nginx (apt-get install -y wrk nginx); installs Flask and gevent from
#     training-image/bench/requirements-bench.txt into .venv when they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-node.sh
bash scripts/ensure-python.sh

echo "== Proxy Lambda cold start: bundle size and module load time"
npx tsx bench/proxy-cold-start.ts "${COLD_START_RUNS:-30}"

echo
echo "== Inference proxy: added latency"
npx tsx bench/proxy-latency.ts "${PROXY_REQUESTS:-500}"

echo
echo "== Model server against the classic BYOC stack"
missing=()
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx)
if [ ${#missing[@]} -gt 0 ]; then
  echo "skipped: ${missing[*]} not installed (Debian/Ubuntu: apt-get install -y wrk nginx)"
  exit 0
fi
if ! .venv/bin/python -c "import flask, gevent" 2>/dev/null; then
  echo "installing the reference server's Flask and gevent into .venv (training-image/bench/requirements-bench.txt)"
  .venv/bin/pip install --quiet -r training-image/bench/requirements-bench.txt
fi
.venv/bin/python training-image/bench/serve_bench.py
