#!/usr/bin/env bash
# Benchmarks that print figures (`npm run bench`); never part of `npm test`.
#  1. The proxy Lambda's cold start: its bundle against a naive bundle of the same SDK client (bench/proxy-cold-start.ts).
#  2. The inference proxy's added latency per request (bench/proxy-latency.ts).
#  3. The model server against AWS's classic BYOC stack (nginx -> gunicorn/gevent -> Flask), same model and
#     machine, wrk at concurrency 1, 10 and 50 (training-image/bench/serve_bench.py). Needs the Debian packages
#     wrk and nginx (apt-get install -y wrk nginx); installs Flask and gevent from
#     training-image/bench/requirements-bench.txt into .venv when they are missing.
#  4. The model server against TorchServe 0.12 with its batching on, same model artifact and machine, one-row and
#     eight-row requests, wrk at concurrency 1, 10 and 50 (training-image/bench/torchserve_bench.py). Needs wrk and
#     Java 11 or newer; installs training-image/bench/requirements-torchserve.txt into .venv-torchserve (torch
#     reused from .venv through a .pth file) when missing or changed.
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
else
  if ! .venv/bin/python -c "import flask, gevent" 2>/dev/null; then
    echo "installing the reference server's Flask and gevent into .venv (training-image/bench/requirements-bench.txt)"
    .venv/bin/pip install --quiet -r training-image/bench/requirements-bench.txt
  fi
  .venv/bin/python training-image/bench/serve_bench.py
fi

echo
echo "== Model server against TorchServe 0.12 (batching on)"
TS_VENV=.venv-torchserve
TS_REQS=training-image/bench/requirements-torchserve.txt

# Creates or updates .venv-torchserve: its own TorchServe packages, everything else (torch, numpy, the image's
# requirements) from .venv through a .pth file, so nothing in .venv changes. Returns non-zero when it cannot.
ensure_torchserve_venv() {
  local want stamp="$TS_VENV/.requirements.sha256" site
  want=$(sha256sum "$TS_REQS" | cut -d' ' -f1)
  if [ -x "$TS_VENV/bin/torchserve" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    return 0
  fi
  echo "installing TorchServe 0.12 into $TS_VENV ($TS_REQS; torch reused from .venv)"
  [ -x "$TS_VENV/bin/python" ] || .venv/bin/python -m venv "$TS_VENV" || return 1
  site=$("$TS_VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_path("purelib"))') || return 1
  .venv/bin/python -c 'import sysconfig; print(sysconfig.get_path("purelib"))' > "$site/dlplatform-venv.pth" || return 1
  "$TS_VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-input -r "$TS_REQS" || return 1
  echo "$want" > "$stamp"
}

if ! command -v wrk >/dev/null 2>&1; then
  echo "skipped: wrk not installed (Debian/Ubuntu: apt-get install -y wrk)"
elif ! { [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/java" ]; } && ! command -v java >/dev/null 2>&1; then
  echo "skipped: java not found (TorchServe's frontend needs Java 11 or newer; Debian: apt-get install -y openjdk-17-jre-headless)"
elif ! ensure_torchserve_venv; then
  echo "skipped: could not install $TS_REQS into $TS_VENV (see pip's message above)"
else
  .venv/bin/python training-image/bench/torchserve_bench.py
fi
