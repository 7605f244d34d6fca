package dashboards

import (
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

// platformHealth answers whether Backstage's backend serves its plugins well: load, errors, latency, slow routes.
func platformHealth() *dashboard.DashboardBuilder {
	chosen := func(q *Query) *Query { return inInstance(q).where("plugin", "$"+varPlugin) }
	return newDashboard("insights-health", "Insights: platform health",
		"Backstage's backend from its OpenTelemetry HTTP server spans: request rate, error rate and latency per plugin, and the slowest routes.",
		instanceVariable(), dimensionVariable(varPlugin, "Plugin", true)).Time("now-7d", "now").
		WithRow(row("How much load, and how many errors?")).
		WithPanel(timeSeries("Request rate per plugin",
			"Requests per second to each plugin's backend routes (/api/<plugin>/…) per hour (platform_health: rate).",
			unitReqPS, chosen(query("platform_health").every("hour"))).
			WithTransformation(onlyFields("time", "rate"))).
		WithPanel(timeSeries("Error rate per plugin",
			"Responses with a 5xx status / requests per plugin and hour (platform_health: error_rate).",
			unitPercent, chosen(query("platform_health").every("hour"))).
			WithTransformation(onlyFields("time", "error_rate"))).
		WithRow(row("How fast does the backend answer?")).
		WithPanel(timeSeries("Latency (p95) per plugin",
			"95th-percentile request duration per plugin and hour (platform_health: p95_ms).",
			unitMS, chosen(query("platform_health").every("hour"))).
			WithTransformation(onlyFields("time", "p95_ms"))).
		WithPanel(gaugeCells(sorted(dataTable("Plugins",
			"Per plugin over the range: requests, rate, error rate, median and 95th-percentile latency (platform_health).",
			unitNone, chosen(query("platform_health"))), "requests", true), "error_rate")).
		WithPanel(sorted(dataTable("Slowest routes",
			"Backend routes (the spans' http.route) by 95th-percentile latency over the range, with their requests and "+
				"error rate (platform_health by route).",
			unitNone, chosen(query("platform_health").by("route").top(50))).
			WithTransformation(organize("plugin", "route", "requests", "p50_ms", "p95_ms", "error_rate")), "p95_ms", true).Span(widthFull))
}
