#!/usr/bin/env bash
# Benchmarks that print figures (`npm run bench`); never part of `npm test`.
#  1. The inference proxy: its Lambda bundle size and added latency per request (bench/proxy-latency.ts).
#  2. The model server under load: one-row requests at concurrency 10 with wrk (training-image/bench/serve_bench.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-node.sh
bash scripts/ensure-python.sh

echo "== Inference proxy: bundle size and added latency"
npx tsx bench/proxy-latency.ts "${PROXY_REQUESTS:-500}"

echo "== Model server under load (wrk, concurrency ${CONNECTIONS:-10})"
if command -v wrk >/dev/null 2>&1; then
  bash training-image/bench/serve_bench.sh
else
  echo "skipped: wrk is not installed (Debian/Ubuntu: apt-get install -y wrk)"
fi
