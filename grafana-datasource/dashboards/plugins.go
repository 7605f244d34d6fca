package dashboards

import (
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

// pluginsFeatures answers which plugins and features people use, whether that grows, and how healthy they are.
func pluginsFeatures() *dashboard.DashboardBuilder {
	chosen := func(q *Query) *Query { return inInstance(q).where("plugin", "$"+varPlugin) }
	return newDashboard("insights-plugins", "Insights: plugins & features",
		"Plugin adoption with its trend, the features used within the chosen plugins, and each plugin's health beside its usage.",
		instanceVariable(), dimensionVariable(varPlugin, "Plugin", true)).
		WithRow(row("Which plugins do people use, and is that growing?")).
		WithPanel(gaugeCells(dataTable("Plugin adoption",
			"Per plugin over the range: distinct users, their share of all active users, the change in users against "+
				"the previous period (trend), the previous period's users who came back (retention), and daily users as a "+
				"sparkline (plugin_adoption joined with active_users by plugin and day).",
			unitNone, chosen(query("plugin_adoption")), chosen(query("active_users").every("day").by("plugin"))).
			WithTransformation(dashboard.DataTransformerConfig{Id: "timeSeriesTable", Options: map[string]any{}}).
			WithTransformation(join("plugin")).
			DataLinks(drillDown("The plugin's backend health", "insights-health", varPlugin, "plugin")), "share", "retention").Span(widthFull)).
		WithPanel(timeSeries("Daily users per plugin",
			"Distinct users of each plugin per day: users with an event the plugin emitted (active_users by plugin).",
			unitCount, chosen(query("active_users").every("day").by("plugin")))).
		WithPanel(ranking("Share of active users",
			"Users of each plugin / all active users over the range (plugin_adoption: share).",
			unitPercent, "share", chosen(query("plugin_adoption").top(15))).Max(1)).
		WithRow(row("Which features of the chosen plugins are used?")).
		WithPanel(sorted(dataTable("Features",
			"Per plugin, action and clicked item (the subject of click events): distinct users and events over the "+
				"range (feature_adoption).",
			unitCount, chosen(query("feature_adoption").top(100))), "users", true).Span(widthFull)).
		WithRow(row("Are the plugins healthy while people use them?")).
		WithPanel(timeSeries("Latency (p95) per plugin",
			"95th-percentile duration of the plugin's backend requests (its HTTP server spans under /api/<plugin>) per "+
				"bucket (platform_health: p95_ms).",
			unitMS, chosen(query("platform_health").every("auto"))).
			WithTransformation(onlyFields("time", "p95_ms"))).
		WithPanel(timeSeries("Error rate per plugin",
			"5xx responses / requests of the plugin's backend per bucket (platform_health: error_rate).",
			unitPercent, chosen(query("platform_health").every("auto"))).
			WithTransformation(onlyFields("time", "error_rate"))).
		WithPanel(gaugeCells(dataTable("Health beside usage",
			"Per plugin over the range: its users (plugin_adoption) beside its backend's requests, error rate and "+
				"latency (platform_health): a slow or failing plugin that many people use comes first to fix.",
			unitNone, chosen(query("plugin_adoption")), chosen(query("platform_health"))).
			WithTransformation(join("plugin")).
			WithTransformation(organize("plugin", "users", "requests", "error_rate", "p50_ms", "p95_ms")), "error_rate").Span(widthFull))
}
