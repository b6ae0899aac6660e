#!/usr/bin/env bash
# `npm run integ`: the real-account acceptance test (docs/integ-test.md). With AWS credentials and Docker:
#  1. the preflight for the test's settings (test/integ/integ-context.json): stops here, before anything is
#     created, when the account cannot take the deploy;
#  2. `cdk deploy --all` of test/integ/integ.platform.ts: the small platform (the deploy waits for the prepare,
#     training and evaluate jobs), then the assertion stack, whose custom resources invoke the endpoint and the
#     API and fail the deploy when no prediction comes back;
#  3. `cdk destroy --all`, whatever happened (also on Ctrl-C), unless INTEG_KEEP=1.
# The CDK CLI pinned in package.json runs it: integ-runner's newest release in the registry (2.197.10) cannot
# read this aws-cdk-lib's cloud assembly (schema 55; see docs/integ-test.md).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-node.sh

app="npx tsx test/integ/integ.platform.ts"
out="cdk.out.integ"
started=$(date +%s)

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  if [ "${INTEG_KEEP:-0}" = "1" ]; then
    echo "INTEG_KEEP=1: the DlPlatformInteg-* stacks stay deployed (and cost money); remove them with: npx cdk destroy --app \"$app\" --output $out --all --force"
  else
    echo "== destroying the DlPlatformInteg-* stacks"
    npx cdk destroy --app "$app" --output "$out" --all --force || status=1
  fi
  echo "== integ test $([ "$status" = 0 ] && echo passed || echo FAILED) after $(( ($(date +%s) - started) / 60 )) minutes"
  exit "$status"
}

echo "== preflight (read-only) for the integ test's settings"
npx tsx bin/preflight.ts --context-file test/integ/integ-context.json

trap cleanup EXIT
trap 'exit 130' INT TERM
echo "== deploying the integ test (training waits for the jobs; the assertions run last)"
npx cdk deploy --app "$app" --output "$out" --all --require-approval never
