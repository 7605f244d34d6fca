#!/usr/bin/env bash
# make demo: serve a simulated organisation's Backstage catalog (users in nested groups), start the collector on
# the default configuration plus the catalog's (config/catalog.yaml), backfill 90 days of the organisation's
# traffic, print where to look, then stream live traffic until interrupted.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${BIN:-bin/otelcol-insights}
DAYS=${DEMO_DAYS:-90}
export INSIGHTS_DATA_DIR=${INSIGHTS_DATA_DIR:-./data/demo}
export INSIGHTS_MAX_EVENT_AGE=$(( (DAYS + 1) * 24 ))h  # keep the backfilled events' own times

USERS=${DEMO_USERS:-300}
TEAMS=20
SIM=bin/backstage-sim
OTLP=http://${INSIGHTS_OTLP_ENDPOINT:-localhost:4318}  # the backend's traces and metrics
go build -o "$SIM" ./cmd/backstage-sim
export INSIGHTS_CATALOG_ENDPOINT=http://${DEMO_CATALOG_ADDR:-localhost:7007}
"$SIM" -mode catalog -catalog-addr "${DEMO_CATALOG_ADDR:-localhost:7007}" -users "$USERS" -teams "$TEAMS" &
catalog=$!
"$BIN" --config config/insights.yaml --config config/catalog.yaml &
collector=$!
trap 'kill $collector $catalog 2>/dev/null; wait $collector $catalog 2>/dev/null' EXIT

for _ in $(seq 1 120); do
  curl -fsS -o /dev/null "http://${INSIGHTS_HEALTH_ENDPOINT:-localhost:13133}/" 2>/dev/null && break
  sleep 0.5
done

"$SIM" -days "$DAYS" -users "$USERS" -teams "$TEAMS" -format otlp -concurrency 2 -otlp-endpoint "$OTLP"

query=${INSIGHTS_QUERY_ENDPOINT:-localhost:4321}
cat <<MSG

Backfilled $DAYS days. The query API: http://$query/api/v1/metrics (token: \$INSIGHTS_GRAFANA_TOKEN, by default
dev-grafana-token-0123456789). For example:
  curl -s http://$query/api/v1/query -H 'Authorization: Bearer dev-grafana-token-0123456789' \\
    -H 'Content-Type: application/json' \\
    -d '{"metric":"plugin_adoption","from":"$(date -u -d "-30 days" +%Y-%m-%dT00:00:00Z)","to":"$(date -u -d tomorrow +%Y-%m-%dT00:00:00Z)"}'
Teams come from the simulated catalog: try "team_adoption", "team_comparison", "onboarding" and "cross_team".
Streaming live traffic now (Ctrl-C stops it and the collector).
MSG
"$SIM" -mode live -otlp-endpoint "$OTLP" -users "$USERS" -teams "$TEAMS" -rate "${DEMO_RATE:-20}" -progress 10s
