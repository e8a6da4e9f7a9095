#!/usr/bin/env bash
# `make compose-test`: build and start docker-compose.yml, wait until every service is healthy,
# run the smoke test (every /health/ready, a loan registered, a day closed, Prometheus targets up),
# then tear everything down, volumes included. Needs a Docker engine with the compose plugin.
#   KEEP=1 make compose-test    leaves the stack running for a look.
set -euo pipefail
cd "$(dirname "$0")/../.."

if docker compose version >/dev/null 2>&1; then
    compose=(docker compose)
elif command -v docker-compose >/dev/null 2>&1; then
    compose=(docker-compose)
else
    echo "compose-test: needs Docker with the compose plugin (docker compose)" >&2
    exit 2
fi
docker info >/dev/null 2>&1 || { echo "compose-test: no Docker engine answers (docker info)" >&2; exit 2; }

env_file=".devstack/compose-test.env"
rm -f "$env_file"
bash deploy/scripts/compose-env.sh "$env_file" >/dev/null
project="postloan-test-$$"
run=("${compose[@]}" --project-name "$project" --env-file "$env_file")

teardown() {
    code=$?
    if [ "$code" != 0 ]; then
        "${run[@]}" ps -a || true
        "${run[@]}" logs --no-color --tail 80 || true
    fi
    if [ "${KEEP:-}" = 1 ]; then
        echo "compose-test: KEEP=1, leaving $project up (${run[*]} down -v to remove it)"
    else
        "${run[@]}" down --volumes --remove-orphans >/dev/null 2>&1 || true
        rm -f "$env_file"
    fi
    exit "$code"
}
trap teardown EXIT

"${run[@]}" build
# --wait: returns once every service is healthy (one-shot steps: exited 0), fails otherwise.
"${run[@]}" up --detach --wait --wait-timeout 600

set -a
# shellcheck disable=SC1090
. "$env_file"
set +a
PYTHON="${PYTHON:-python3.11}"
if command -v uv >/dev/null 2>&1; then
    token="$(uv run --frozen postloan token --role admin --sub compose-test)"
else
    token="$("${run[@]}" exec -T repayment-monitor-api postloan token --role admin --sub compose-test)"
fi
"$PYTHON" deploy/scripts/smoke.py --token "$token" --timeout 180

# Prometheus scrapes every API and worker.
"$PYTHON" - <<'PY'
import json, sys, time, urllib.request
deadline = time.monotonic() + 90
while True:
    with urllib.request.urlopen("http://127.0.0.1:9090/api/v1/targets?state=active", timeout=5) as r:
        targets = json.load(r)["data"]["activeTargets"]
    postloan = [t for t in targets if t["labels"]["job"].startswith("postloan-")]
    down = [t["scrapeUrl"] for t in postloan if t["health"] != "up"]
    if len(postloan) == 8 and not down:
        print(f"prometheus: {len(postloan)} postloan targets up")
        break
    if time.monotonic() > deadline:
        sys.exit(f"prometheus: {len(postloan)} postloan targets, down: {down}")
    time.sleep(5)
PY
echo "compose-test: passed"
