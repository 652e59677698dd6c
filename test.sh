#!/usr/bin/env bash
# Runs every test against a throwaway PostgreSQL cluster and headless Chromium; exits with the tests' status.
set -euo pipefail
cd "$(dirname "$0")"
source scripts/lib.sh

ensure_dotnet
ensure_packages postgresql libgdiplus chromium

PG_DIR=$(mktemp -d /tmp/workorders-test-pg.XXXXXX)
PG_PORT="${WORKORDERS_TEST_PG_PORT:-55433}"
RESULTS=$(mktemp -d /tmp/workorders-test-results.XXXXXX)
chmod 755 "$RESULTS"
cleanup() { pg_down "$PG_DIR"; rm -rf "$PG_DIR"; }
trap cleanup EXIT

pg_up "$PG_DIR" "$PG_PORT" fsync=off synchronous_commit=off full_page_writes=off max_connections=300
export WORKORDERS_TEST_PG="Host=127.0.0.1;Port=$PG_PORT;Username=postgres;Database=postgres"
export WORKORDERS_CHROMIUM="${WORKORDERS_CHROMIUM:-/usr/bin/chromium}"

log "building"
dotnet build WorkOrders.sln -c Debug -v quiet -nologo -clp:ErrorsOnly

log "testing"
status=0
dotnet test WorkOrders.sln -c Debug --no-build -v quiet -nologo --logger "console;verbosity=normal" --results-directory "$RESULTS" \
  2>&1 | tee "$RESULTS/output.txt" || status=$?

# One line of totals over every test project.
read -r passed failed skipped < <(grep -E '^(Passed|Failed)!' "$RESULTS/output.txt" | awk -F'[:,]' '
  { for (i = 1; i <= NF; i++) { gsub(/ /, "", $i); if ($i ~ /^Failed$/ || $i ~ /!-Failed$/) f += $(i+1); if ($i == "Passed") p += $(i+1); if ($i == "Skipped") s += $(i+1) } }
  END { printf "%d %d %d\n", p, f, s }')
projects=$(grep -cE '^(Passed|Failed)!' "$RESULTS/output.txt" || true)
echo
echo "Test projects: $projects"
echo "Totals: $passed passed, $failed failed, $skipped skipped"
if [ "$status" -eq 0 ] && [ "$passed" -eq 0 ]; then
  echo "no test ran" >&2
  status=1
fi
exit "$status"
