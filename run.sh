#!/usr/bin/env bash
# Runs WorkOrders locally: ./run.sh   (Ctrl-C stops the app)   ./run.sh stop   (stops PostgreSQL too)
set -euo pipefail
cd "$(dirname "$0")"
source scripts/lib.sh

PG_DIR="$PWD/.data/pg"
PG_PORT="${WORKORDERS_PG_PORT:-55432}"
MQTT_DIR="$PWD/.data/mqtt"
MQTT_PORT="${WORKORDERS_MQTT_PORT:-18830}"
URL="${WORKORDERS_URL:-http://127.0.0.1:5080}"

if [ "${1:-}" = "stop" ]; then
  pg_down "$PG_DIR"
  mosquitto_down "$MQTT_DIR"
  log "PostgreSQL stopped"
  exit 0
fi

ensure_dotnet
ensure_packages postgresql libgdiplus mosquitto

pg_up "$PG_DIR" "$PG_PORT"
mosquitto_up "$MQTT_DIR" "$MQTT_PORT"
if [ "$(psql_admin "$PG_PORT" "SELECT count(*) FROM pg_roles WHERE rolname = 'workorders'")" = 0 ]; then
  psql_admin "$PG_PORT" "CREATE ROLE workorders LOGIN PASSWORD 'workorders'"
  psql_admin "$PG_PORT" "CREATE DATABASE workorders OWNER workorders"
fi

log "building"
dotnet build src/Dashboard -c Release -v quiet -nologo -clp:ErrorsOnly
# The field app as a phone should get it: a Release publish, trimmed and precompressed (brotli, gzip), which the
# dashboard serves under /field/ instead of the build output. Published again only when one of its sources is newer.
FIELD_DIR="$PWD/.data/field-app"
if [ ! -f "$FIELD_DIR/wwwroot/field/index.html" ] || [ -n "$(find src/FieldApp src/Field.Contracts Directory.Build.props Directory.Packages.props \
     global.json -newer "$FIELD_DIR/wwwroot/field/index.html" -type f -not -path '*/bin/*' -not -path '*/obj/*' -print -quit)" ]; then
  log "publishing the field app"
  rm -rf "$FIELD_DIR"
  dotnet publish src/FieldApp -c Release -o "$FIELD_DIR" -v quiet -nologo -clp:ErrorsOnly
  touch "$FIELD_DIR/wwwroot/field/index.html"
fi
export FieldApp__PublishedPath="$FIELD_DIR"

export ConnectionStrings__WorkOrders="Host=127.0.0.1;Port=$PG_PORT;Database=workorders;Username=workorders;Password=workorders"

# Three years of generated maintenance history, once, so the analytics and the forecast have something to learn from.
generated=0
if [ "$(psql_admin "$PG_PORT" "SELECT to_regclass('generator.runs') IS NOT NULL" workorders)" = t ]; then
  generated=$(psql_admin "$PG_PORT" "SELECT count(*) FROM generator.runs" workorders)
fi
if [ "$generated" = 0 ]; then
  log "generating three years of demo maintenance history"
  dotnet run --project src/Ingest -c Release --no-build -- generate --work-orders "${WORKORDERS_DEMO_WORK_ORDERS:-30000}" --months 36 --seed 7 --migrate
fi
export Ticketing__SeedDemo=true
# The alarm bridge listens to the local broker: publish to workorders/alarms/<source>/asset/<code>.
export Alarms__Mqtt__Host=127.0.0.1
export Alarms__Mqtt__Port="$MQTT_PORT"
export Warehouse__Path="$PWD/.data/warehouse.duckdb"
export ASPNETCORE_ENVIRONMENT="${ASPNETCORE_ENVIRONMENT:-Production}"

cat <<MSG

  WorkOrders is starting on $URL
  Demo users (password "demo" for each): admin, executive, engineer, manager, planner, technician, requester
  Ctrl-C stops the app; ./run.sh stop also stops PostgreSQL. Data stays in .data/.

MSG
exec dotnet run --project src/Dashboard -c Release --no-build -- --urls "$URL"
