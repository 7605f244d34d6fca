#!/usr/bin/env bash
# make demo: start the collector on the default configuration, backfill 90 days of a simulated organisation,
# print where to look, then stream live traffic until interrupted.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${BIN:-bin/otelcol-insights}
DAYS=${DEMO_DAYS:-90}
export INSIGHTS_DATA_DIR=${INSIGHTS_DATA_DIR:-./data/demo}
export INSIGHTS_MAX_EVENT_AGE=$(( (DAYS + 1) * 24 ))h  # keep the backfilled events' own times

"$BIN" --config config/insights.yaml &
collector=$!
trap 'kill $collector 2>/dev/null; wait $collector 2>/dev/null' EXIT

for _ in $(seq 1 120); do
  curl -fsS -o /dev/null "http://${INSIGHTS_HEALTH_ENDPOINT:-localhost:13133}/" 2>/dev/null && break
  sleep 0.5
done

go run ./cmd/backstage-sim -days "$DAYS" -users "${DEMO_USERS:-300}" -teams 20 -format otlp -concurrency 2

query=${INSIGHTS_QUERY_ENDPOINT:-localhost:4321}
cat <<MSG

Backfilled $DAYS days. The query API: http://$query/api/v1/metrics (token: \$INSIGHTS_GRAFANA_TOKEN, by default
dev-grafana-token-0123456789). For example:
  curl -s http://$query/api/v1/query -H 'Authorization: Bearer dev-grafana-token-0123456789' \\
    -H 'Content-Type: application/json' \\
    -d '{"metric":"plugin_adoption","from":"$(date -u -d "-30 days" +%Y-%m-%dT00:00:00Z)","to":"$(date -u -d tomorrow +%Y-%m-%dT00:00:00Z)"}'
Streaming live traffic now (Ctrl-C stops it and the collector).
MSG
go run ./cmd/backstage-sim -mode live -rate "${DEMO_RATE:-20}" -progress 10s
