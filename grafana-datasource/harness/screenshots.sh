#!/usr/bin/env bash
# Pictures of the data source's editors for the README: bundles harness/index.tsx (the editors in Grafana's dark
# theme, the query editor on the real metric catalogue) and takes each view with headless Chromium (Debian's).
# Run from grafana-datasource/ (make editor-screenshots does); writes docs/screenshots/editor-*.png.
set -euo pipefail
command -v chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium; }
npx webpack --config harness/webpack.config.js >/dev/null
mkdir -p docs/screenshots
# view:width,height — each cut to its editor
for shot in query:1060,150 funnel:1060,290 config:620,220 variable:440,80; do
  view=${shot%%:*}
  chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --virtual-time-budget=4000 \
    --window-size="${shot#*:}" --screenshot="docs/screenshots/editor-$view.png" \
    "file://$PWD/harness/index.html?view=$view" 2>/dev/null
  echo "docs/screenshots/editor-$view.png"
done
