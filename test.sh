#!/usr/bin/env bash
# Runs every test against a throwaway PostgreSQL cluster and headless Chromium; exits with the tests' status.
set -euo pipefail
cd "$(dirname "$0")"
source scripts/lib.sh

ensure_dotnet
ensure_packages postgresql libgdiplus chromium mosquitto

PG_DIR=$(mktemp -d /tmp/workorders-test-pg.XXXXXX)
PG_PORT="${WORKORDERS_TEST_PG_PORT:-55433}"
RESULTS=$(mktemp -d /tmp/workorders-test-results.XXXXXX)
chmod 755 "$RESULTS"
MQTT_DIR=$(mktemp -d /tmp/workorders-test-mqtt.XXXXXX)
MQTT_PORT="${WORKORDERS_TEST_MQTT_PORT:-18833}"
cleanup() { pg_down "$PG_DIR"; mosquitto_down "$MQTT_DIR"; rm -rf "$PG_DIR" "$RESULTS" "$MQTT_DIR"; }
trap cleanup EXIT

pg_up "$PG_DIR" "$PG_PORT" fsync=off synchronous_commit=off full_page_writes=off max_connections=300
export WORKORDERS_TEST_PG="Host=127.0.0.1;Port=$PG_PORT;Username=postgres;Database=postgres"
export WORKORDERS_CHROMIUM="${WORKORDERS_CHROMIUM:-/usr/bin/chromium}"
mosquitto_up "$MQTT_DIR" "$MQTT_PORT"
export WORKORDERS_TEST_MQTT="127.0.0.1:$MQTT_PORT"

log "building"
dotnet build WorkOrders.sln -c Debug -v quiet -nologo -clp:ErrorsOnly

# The browser tests run alone after the others: on two cores, Chromium beside the ingest tests' DuckDB work
# made pages miss their waits.
run_tests() {
  dotnet test "$@" -c Debug --no-build -nologo --logger "console;verbosity=minimal" --logger trx --results-directory "$RESULTS" \
    2>&1 | tee -a "$RESULTS/output.txt"
}
log "testing"
status=0
run_tests WorkOrders.sln --filter "FullyQualifiedName!~WorkOrders.EndToEnd.Tests" || status=$?
log "testing in the browser"
run_tests tests/EndToEnd.Tests/EndToEnd.Tests.csproj || status=$?

# One line of totals over every test project, from the counters of their TRX reports.
count() { cat "$RESULTS"/*.trx 2>/dev/null | grep -o "<Counters [^>]*" | grep -o " $1=\"[0-9]*\"" | grep -o "[0-9]*" | awk '{ n += $1 } END { print n + 0 }'; }
passed=$(count passed)
failed=$(count failed)
skipped=$(count notExecuted)
# The first pass leaves an empty report for the browser project; only reports that ran something count.
projects=$(grep -L '<Counters total="0"' "$RESULTS"/*.trx 2>/dev/null | wc -l)
echo
echo "Test projects: $projects"
echo "Totals: $passed passed, $failed failed, $skipped skipped"
if [ "$status" -eq 0 ] && [ "$passed" -eq 0 ]; then
  echo "no test ran" >&2
  status=1
fi
if [ "$status" -eq 0 ] && [ "$failed" -gt 0 ]; then
  status=1
fi
exit "$status"
