# Insights Collector. `make run` starts the collector on its embedded default; `make test` runs every test.
SHELL := /bin/bash
GO ?= go
# cgo on everywhere, the same for build and test: the embedded store (DuckDB) and the race detector need it,
# and mixed settings would compile everything twice.
export CGO_ENABLED := 1
BUILDFLAGS := -trimpath
LDFLAGS := -s -w
BIN := bin/otelcol-insights
CONFIG ?= config/insights.yaml
# Sources that gofmt checks: everything but the code ocb generates.
GOFMT_DIRS := internal receiver processor exporter extension bench test cmd/backstage-sim cmd/insights-pseudonym

.PHONY: run demo build test test-datasource dashboards screenshots editor-screenshots datasource-fixtures plugin plugin-backend plugin-frontend deps lint generate bench bench-store bench-go fuzz sim clean

## run: build the collector and start it on $(CONFIG)
run: build
	./$(BIN) --config $(CONFIG)

## demo: start the collector, backfill 90 days of simulated history, then stream live traffic
demo: build
	BIN=$(BIN) ./scripts/demo.sh

## build: compile bin/otelcol-insights
build:
	$(GO) build $(BUILDFLAGS) -ldflags="$(LDFLAGS)" -o $(BIN) ./cmd/otelcol-insights

## test: lint, then every test with the race detector (generated-code drift, fuzz seed corpora and the
## end-to-end test of the built binary included)
test: deps lint test-datasource
	$(GO) test $(BUILDFLAGS) -race -timeout 25m ./...

# The Grafana data source's backend: its own module, pure Go (the plugin SDK builds without cgo, as Grafana runs it).
DATASOURCE := grafana-datasource
PLUGIN_BIN := $(DATASOURCE)/dist/gpx_insights_$(shell $(GO) env GOOS)_$(shell $(GO) env GOARCH)

## test-datasource: lint, test and build the Grafana data source: the frontend (typecheck, eslint, jest, bundle)
## and the backend (its end-to-end test starts the built binary as Grafana does, against a collector the
## simulator fills)
test-datasource: plugin-frontend plugin-backend
	@unformatted=$$(gofmt -l $(DATASOURCE)/pkg $(DATASOURCE)/e2e $(DATASOURCE)/dashboards $(DATASOURCE)/internal); if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	cd $(DATASOURCE) && CGO_ENABLED=0 $(GO) vet ./pkg/... ./dashboards/... ./internal/... ./e2e/... && \
		PLUGIN_BIN=$(CURDIR)/$(PLUGIN_BIN) CGO_ENABLED=0 $(GO) test $(BUILDFLAGS) -timeout 10m ./pkg/... ./dashboards/... ./e2e/...

## screenshots: draw every bundled dashboard from the answers of a collector the simulator seeds (the dashboards'
## smoke test) into grafana-datasource/docs/screenshots, for the README
screenshots: plugin-backend
	mkdir -p $(DATASOURCE)/docs/screenshots
	cd $(DATASOURCE) && INSIGHTS_SCREENSHOTS=$(CURDIR)/$(DATASOURCE)/docs/screenshots PLUGIN_BIN=$(CURDIR)/$(PLUGIN_BIN) \
		CGO_ENABLED=0 $(GO) test -count=1 -run TestEveryDashboardPanelAnswers ./e2e/

## editor-screenshots: pictures of the data source's editors (a harness page in headless Chromium, installed from
## Debian when missing) into grafana-datasource/docs/screenshots, for the README
editor-screenshots: $(DATASOURCE)/node_modules/.package-lock.json
	cd $(DATASOURCE) && ./harness/screenshots.sh

## datasource-fixtures: record each metric's query, request and real answer for the data source's unit tests
## (the dashboards' smoke test through a recording proxy), then rewrite their golden frames
datasource-fixtures: plugin-backend
	cd $(DATASOURCE) && INSIGHTS_RECORD=$(CURDIR)/$(DATASOURCE)/pkg/plugin/testdata/metrics PLUGIN_BIN=$(CURDIR)/$(PLUGIN_BIN) \
		CGO_ENABLED=0 $(GO) test -count=1 -run TestEveryDashboardPanelAnswers ./e2e/ && \
		{ CGO_ENABLED=0 $(GO) test -count=1 -run TestEveryMetricAsRecorded ./pkg/plugin -update >/dev/null || true; } && \
		CGO_ENABLED=0 $(GO) test -count=1 -run TestEveryMetricAsRecorded ./pkg/plugin # the golden checker fails as it rewrites

## dashboards: regenerate the bundled Grafana dashboards (grafana-datasource/dashboards, in Go) into
## grafana-datasource/src/dashboards; a test fails when the committed JSON drifts from the code
dashboards:
	cd $(DATASOURCE) && CGO_ENABLED=0 $(GO) run ./dashboards/gen

## plugin: package the data source (bundle and backend binary) as the zip Grafana installs, in grafana-datasource/
PLUGIN_ZIP = $(DATASOURCE)/insights-collector-datasource-$(shell node -p "require('./$(DATASOURCE)/package.json').version").zip
plugin: plugin-frontend plugin-backend
	@command -v zip >/dev/null || { apt-get update -qq && apt-get install -y -qq zip; }
	rm -rf $(DATASOURCE)/package && mkdir -p $(DATASOURCE)/package && cp -r $(DATASOURCE)/dist $(DATASOURCE)/package/insights-collector-datasource
	rm -f $(PLUGIN_ZIP) && cd $(DATASOURCE)/package && zip -qr $(CURDIR)/$(PLUGIN_ZIP) insights-collector-datasource
	rm -rf $(DATASOURCE)/package
	@unzip -l $(PLUGIN_ZIP) | grep -q 'insights-collector-datasource/module.js' && unzip -l $(PLUGIN_ZIP) | grep -q 'gpx_insights_' && echo "packaged $(PLUGIN_ZIP)"

## plugin-frontend: install the frontend's packages (from the lockfile, when it changed), check, test and bundle
## it into grafana-datasource/dist
plugin-frontend: $(DATASOURCE)/node_modules/.package-lock.json
	cd $(DATASOURCE) && npm run typecheck && npm run lint && npm run build && npm run test:ci # the bundle's test reads dist/

$(DATASOURCE)/node_modules/.package-lock.json: $(DATASOURCE)/package-lock.json
	cd $(DATASOURCE) && npm ci --no-audit --no-fund

## plugin-backend: build the data source's backend binary into grafana-datasource/dist
plugin-backend:
	cd $(DATASOURCE) && CGO_ENABLED=0 $(GO) build $(BUILDFLAGS) -ldflags="$(LDFLAGS)" -o $(CURDIR)/$(PLUGIN_BIN) ./pkg

## deps: install what the tests need beyond Go (Debian packages; CI starts from a clean machine)
deps:
	@command -v curl >/dev/null || { apt-get update -qq && apt-get install -y -qq curl; }
	@command -v npm >/dev/null || { apt-get update -qq && apt-get install -y -qq nodejs npm; }

lint:
	@unformatted=$$(gofmt -l $(GOFMT_DIRS)); if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...

## generate: regenerate cmd/otelcol-insights from builder-config.yaml, and docs/ from the event contract and the
## query API's catalogue
generate:
	$(GO) tool builder --config builder-config.yaml --skip-get-modules --skip-compilation
	$(GO) run ./internal/semconv/gendoc
	$(GO) run ./extension/insightsstore/internal/queryapi/genopenapi

## bench: the end-to-end harness: our receiver vs a plain OTLP pipeline on the same binary and load
bench: build
	$(GO) run ./bench/e2e -binary $(BIN)

## bench-store: the store on ~10 million simulated events: ingest CPU, and every dashboard query beside
## PostgreSQL with Red Hat's Adoption Insights schema (the data set is built once into bench/results/store)
bench-store: build
	$(GO) run ./bench/store -binary $(BIN)

## bench-go: the Go micro-benchmarks next to the hot code
bench-go:
	$(GO) test $(BUILDFLAGS) -run '^$$' -bench . -benchmem ./...

## fuzz: explore each decoder's fuzz target for FUZZTIME (the seed corpora run in `make test` anyway)
FUZZTIME ?= 60s
fuzz:
	for target in FuzzAnalyticsEvents FuzzSegment FuzzOTLP; do \
		$(GO) test $(BUILDFLAGS) ./internal/normalize -run '^$$' -fuzz "^$$target$$" -fuzztime $(FUZZTIME) || exit 1; \
	done

## sim: send a week of simulated Backstage traffic to a running collector (SIMFLAGS adds flags)
sim:
	$(GO) run ./cmd/backstage-sim -days 7 $(SIMFLAGS)

clean:
	rm -rf bin data
