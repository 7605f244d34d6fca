package dashboards

import (
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

// noCost is what the ROI panels say when the value model has no costs.
const noCost = "set query_api.roi costs"

// executiveOverview answers, on one screen, whether the platform is used, growing and worth its cost.
func executiveOverview() *dashboard.DashboardBuilder {
	return newDashboard("insights-executive", "Insights: executive overview",
		"Is the developer portal used, is use growing, what is it worth, and where should the platform team act?",
		instanceVariable()).Time("now-90d", "now").
		WithRow(row("Do people use the portal, and is use growing?")).
		WithPanel(singleStat("Monthly active users",
			"Distinct users over the trailing 28 days, on the last day of the range (active_users, interval day: mau).",
			unitCount, "lastNotNull", "/^mau$/", inInstance(query("active_users").every("day")))).
		WithPanel(singleStat("MAU growth over 4 weeks",
			"Monthly active users today against 28 days ago: (mau - mau_previous) / mau_previous over the last 28 days "+
				"(active_users with compare previous_period; the panel's own time range).",
			unitPercent, "lastNotNull", "/^mau_change_ratio$/", inInstance(query("active_users").every("day").compare("previous_period"))).
			TimeFrom("28d")).
		WithPanel(singleStat("Adoption among catalog users",
			"Active members / members of the catalog's organization group (the root of its group tree, every group "+
				"below included): the share of everyone in the catalog who used the portal in the range (team_comparison "+
				"of the groups of type organization: adoption).",
			unitPercent, "mean", "/^adoption$/", inInstance(query("team_comparison").where("team_type", "organization")))).
		WithPanel(singleStat("Stickiness (DAU / MAU)",
			"The mean over the range of each day's active users / that day's monthly active users: how many days of a "+
				"month the average user comes (0.2 ≈ one working day a week).",
			unitPercent, "mean", "/^stickiness$/", inInstance(query("active_users").every("day")))).
		WithPanel(timeSeries("Active users",
			"Daily (active_users), weekly (wau, trailing 7 days) and monthly (mau, trailing 28 days) distinct users per day.",
			unitCount, inInstance(query("active_users").every("day"))).
			WithTransformation(onlyFields("time", "active_users", "wau", "mau"))).
		WithPanel(timeSeries("Weekly active users: forecast",
			"Weekly distinct users with a damped-trend Holt–Winters forecast of the next 8 weeks and its 80% and 95% "+
				"prediction intervals (forecast of active_users by week; the backtest error is in the query inspector's meta).",
			unitCount, inInstance(query("forecast").every("week").series(map[string]any{"metric": "active_users", "horizon": 8})))).
		WithRow(row("What is the platform worth?")).
		WithPanel(singleStat("Template runs",
			"Software templates run from the portal in the range: the scaffolder's create events (templates: runs, summed).",
			unitCount, "sum", "/^runs$/", inInstance(query("templates")))).
		WithPanel(singleStat("Hours saved",
			"Hours saved by template runs (each its template's backstage.io/time-saved, or the configured default), "+
				"successful searches and TechDocs views, by the value model of the collector's config (roi: hours_saved).",
			unitHours, "sum", "/^hours_saved$/", inInstance(query("roi").every("month")))).
		WithPanel(singleStat("Return on investment",
			"(value of the hours saved - platform cost) / platform cost over the range, from the value model's hourly "+
				"cost and monthly platform cost (roi: roi).",
			unitPercent, "lastNotNull", "/^roi$/", inInstance(query("roi"))).NoValue(noCost)).
		WithPanel(singleStat("Cost per active user",
			"Platform cost over the range / distinct active users (roi: cost_per_active_user).",
			"currencyUSD", "lastNotNull", "/^cost_per_active_user$/", inInstance(query("roi"))).NoValue(noCost)).
		WithPanel(bars("Hours saved per month",
			"Per month: hours saved by template runs, successful searches and TechDocs views (roi by month: hours_saved).",
			unitHours, inInstance(query("roi").every("month"))).
			WithTransformation(onlyFields("time", "hours_saved")).Span(widthFull)).
		WithRow(row("Where should the platform team act?")).
		WithPanel(ranking("Top plugins",
			"Distinct users of each plugin over the range (plugin_adoption: users), the ten most used.",
			unitCount, "users", inInstance(query("plugin_adoption").top(10))).
			DataLinks(drillDown("The plugin's features and health", "insights-plugins", varPlugin, "plugin"))).
		WithPanel(sorted(gaugeCells(dataTable("Teams at risk",
			"Teams by adoption (active members / catalog members), lowest first, with growth against the previous "+
				"period and the quartile among all teams (team_comparison).",
			unitNone, inInstance(query("team_comparison"))).
			WithTransformation(organize("team", "adoption", "active_members", "members", "growth", "quartile")).
			DataLinks(drillDown("The team's adoption and onboarding", "insights-teams", varTeam, "team")), "adoption"),
			"adoption", false)).
		WithPanel(dataTable("Unusual days",
			"Days of the last two weeks when a plugin's daily users fell outside the 95% interval of a damped "+
				"Holt–Winters forecast fitted on the days before: a plugin breaking or a team leaving shows here first "+
				"(anomalies of active_users by plugin and day; deviation in standard deviations of the one-step error).",
			unitNone, inInstance(query("anomalies").every("day").by("plugin").table().
				series(map[string]any{"metric": "active_users", "recent": 14}))).
			WithTransformation(organize("time", "plugin", "value", "expected", "lower", "upper", "deviation", "direction")).
			Span(widthFull)). // the largest deviations, drops and spikes, first
		WithPanel(dataTable("Recommendations",
			"Rule-based findings with the numbers behind them: underused, declining and unhealthy plugins, lagging "+
				"teams, failing searches and templates, the onboarding drop-off step (recommendations; the query column "+
				"is the request that shows each).",
			unitNone, inInstance(query("recommendations"))).
			WithTransformation(organize("severity", "kind", "subject", "finding", "value", "baseline")).Span(widthFull))
}
