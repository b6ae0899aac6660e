#!/usr/bin/env bash
# Load benchmark of the model server (not a test): one-row POST /invocations at concurrency 10 with wrk.
#
#   training-image/bench/serve_bench.sh [SM_ROOT_WITH_MODEL]
#
# Without an argument it trains the digits model first (the real `train`, default hyperparameters) in a
# temporary /opt/ml tree. Then it starts the real `serve` on 127.0.0.1 and runs wrk for DURATION seconds.
# Needs wrk (Debian: apt-get install -y wrk). Settings: CONNECTIONS (10), DURATION (20), THREADS (2),
# MODEL_SERVER_WORKERS (default: the CPUs available), PYTHON (.venv/bin/python).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
image="$(dirname "$here")"
repo="$(dirname "$image")"
python="${PYTHON:-$repo/.venv/bin/python}"
connections="${CONNECTIONS:-10}"
duration="${DURATION:-20}"
threads="${THREADS:-2}"
port="${PORT:-18080}"

command -v wrk >/dev/null || { echo "wrk not found: apt-get install -y wrk" >&2; exit 1; }

work="$(mktemp -d)"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid"
    wait "$server_pid" || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

root="${1:-}"
if [ -z "$root" ]; then
  root="$work/opt-ml"
  for channel in train validation test; do
    mkdir -p "$root/input/data/$channel"
    cp "$image/sample-data/$channel.csv" "$root/input/data/$channel/"
  done
  mkdir -p "$root/input/config"
  echo '{}' > "$root/input/config/hyperparameters.json"
  echo "Training the digits model in $root ..." >&2
  start=$(date +%s.%N)
  SM_ROOT="$root" "$python" "$image/entrypoint.py" train > "$work/train.log" 2>&1
  echo "trained in $(echo "$(date +%s.%N) - $start" | bc | xargs printf '%.1f') s: $(grep test_accuracy "$work/train.log")" >&2
fi

SM_ROOT="$root" MODEL_SERVER_HOST=127.0.0.1 SAGEMAKER_BIND_TO_PORT="$port" \
  "$python" "$image/entrypoint.py" serve > "$work/serve.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 300); do
  curl -sf "http://127.0.0.1:$port/ping" >/dev/null 2>&1 && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/serve.log" >&2; exit 1; }
  sleep 0.2
done
workers=$(sed -n "s/.* with \([0-9]*\) workers$/\1/p" "$work/serve.log" | head -1)

# Warm-up, then the measured run.
wrk -t "$threads" -c "$connections" -d 3s -s "$here/post-one-row.lua" "http://127.0.0.1:$port" > /dev/null
wrk -t "$threads" -c "$connections" -d "${duration}s" --latency -s "$here/post-one-row.lua" \
  "http://127.0.0.1:$port" | tee "$work/wrk.txt"

echo
echo "== one-row POST /invocations, concurrency $connections, $workers workers, $(nproc) CPUs, ${duration}s"
awk '/^Requests\/sec/ {print "requests/s: " $2}
     /^ +50%/ {print "p50 latency: " $2}
     /^ +99%/ {print "p99 latency: " $2}' "$work/wrk.txt"
