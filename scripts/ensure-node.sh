#!/usr/bin/env bash
# Installs the npm dependencies when they are missing or older than package-lock.json. They include the
# project's own Node.js (the npm `node` package, pinned in package.json: it installs the node binary of that
# version from the npm registry), which npm scripts and `npx` put first on PATH: tools, tests and `cdk synth`
# run on it whatever Node.js started npm (Node.js 20 is past its end of life).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ] || [ ! -x node_modules/.bin/node ]; then
  if [ -L node_modules ]; then
    # npm ci empties node_modules through the link: it would wipe an install other checkouts share.
    echo "error: node_modules is a link to a shared install that is missing or older than package-lock.json; run \`npm ci\` where it lives ($(readlink node_modules))." >&2
    exit 1
  fi
  echo "Installing npm dependencies (npm ci)..." >&2
  npm ci --no-audit --no-fund
fi
major=$(node_modules/.bin/node -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt 22 ]; then
  echo "error: node_modules/.bin/node is Node.js $(node_modules/.bin/node --version); this project needs 22 or newer (package.json engines)." >&2
  exit 1
fi
