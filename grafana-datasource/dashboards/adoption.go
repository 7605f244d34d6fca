package dashboards

import (
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

// adoptionEngagement answers who uses the portal, how often and how deeply, and whether new users stay.
func adoptionEngagement() *dashboard.DashboardBuilder {
	scoped := func(q *Query) *Query { return inInstance(q).where("plugin", "$"+varPlugin) }
	return newDashboard("insights-adoption", "Insights: adoption & engagement",
		"Active users, new and returning users, sessions, engagement tiers and retention cohorts.",
		instanceVariable(), dimensionVariable(varPlugin, "Plugin", true)).
		WithRow(row("How many people are active?")).
		WithPanel(singleStat("Daily active users", "Distinct users on the last day of the range (active_users, interval day).",
			unitCount, "lastNotNull", "/^active_users$/", scoped(query("active_users").every("day")))).
		WithPanel(singleStat("Weekly active users", "Distinct users over the 7 days up to the last day of the range (wau).",
			unitCount, "lastNotNull", "/^wau$/", scoped(query("active_users").every("day")))).
		WithPanel(singleStat("Monthly active users", "Distinct users over the 28 days up to the last day of the range (mau).",
			unitCount, "lastNotNull", "/^mau$/", scoped(query("active_users").every("day")))).
		WithPanel(singleStat("Stickiness (DAU / MAU)", "The mean over the range of each day's active users / monthly active users.",
			unitPercent, "mean", "/^stickiness$/", scoped(query("active_users").every("day")))).
		WithPanel(timeSeries("Daily, weekly and monthly active users",
			"Per day: distinct users that day (active_users), over the trailing 7 days (wau) and 28 days (mau).",
			unitCount, scoped(query("active_users").every("day"))).
			WithTransformation(onlyFields("time", "active_users", "wau", "mau")).Span(widthFull)).
		WithRow(row("Who is new, who comes back, who leaves?")).
		WithPanel(bars("New and returning users",
			"Per bucket: active users seen for the first time in it (new_users) and those seen before (returning_users) "+
				"(new_vs_returning).",
			unitCount, scoped(query("new_vs_returning").every("auto")))).
		WithPanel(bars("Lifecycle",
			"Per week: new users, returning users (active the week before too), resurrecting users (back after at "+
				"least a week away) and dormant users (active the week before, not this week) (lifecycle).",
			unitCount, scoped(query("lifecycle").every("week")))).
		WithPanel(timeSeries("Churn",
			"Per week: users active the week before and not in this one / users active the week before (churn: churn_rate).",
			unitPercent, scoped(query("churn").every("week"))).
			WithTransformation(onlyFields("time", "churn_rate"))).
		WithPanel(barChart("Days active per week",
			"Of the user-weeks with any activity in the range, the share with 1, 2, … 7 active days (stickiness).",
			unitPercent, "days_active", scoped(query("stickiness").table())).
			WithTransformation(onlyFields("days_active", "share"))).
		WithRow(row("How long and how deep are sessions?")).
		WithPanel(timeSeries("Sessions",
			"Sessions (30 minutes of inactivity end one) that began in each bucket, and their distinct users (sessions).",
			unitCount, scoped(query("sessions").every("auto"))).
			WithTransformation(onlyFields("time", "sessions", "users"))).
		WithPanel(timeSeries("Session duration",
			"Median and 95th-percentile duration of the sessions that began in each bucket (sessions).",
			unitSeconds, scoped(query("sessions").every("auto"))).
			WithTransformation(onlyFields("time", "duration_p50_s", "duration_p95_s"))).
		WithRow(row("Where do people go?")).
		WithPanel(sorted(dataTable("From the home page, the next steps",
			"Within sessions, the pages (by plugin) people open after the home page, step by step up to three steps, with "+
				"the sessions and users that took each step; \"(end)\" is where sessions ended (paths, lens next).",
			unitCount, inInstance(query("paths").lens("next").paths(map[string]any{
				"anchor": map[string]any{"event": "backstage.navigate", "plugin": "home"}, "depth": 3, "node": "plugin"}))).
			WithTransformation(organize("step", "source", "target", "sessions", "users")), "sessions", true)).
		WithPanel(sorted(dataTable("Top journeys",
			"The most common whole sessions, as the sequence of plugins visited (up to five; longer ones end in …), with "+
				"their sessions and users (paths, lens journeys).",
			unitCount, inInstance(query("paths").lens("journeys").paths(map[string]any{"depth": 5, "node": "plugin"}))).
			WithTransformation(organize("journey", "sessions", "users")), "sessions", true)).
		WithRow(row("How engaged are people?")).
		WithPanel(bars("Engagement tiers",
			"Per week, the share of active users in each tier of the engagement processor's score, each user counted "+
				"in the tier of their last event that week (engagement: share by tier).",
			unitPercent, scoped(query("engagement").every("week"))).
			WithTransformation(onlyFields("time", "share")).
			Stacking(common.NewStackingConfigBuilder().Mode(common.StackingModePercent))).
		WithPanel(barChart("Engagement scores",
			"Users by the engagement score (0–100) of their last event in the range, in bins of 10 (engagement_scores).",
			unitCount, "bin_from", scoped(query("engagement_scores"))).
			WithTransformation(onlyFields("bin_from", "users"))).
		WithRow(row("Do new users stay?")).
		WithPanel(heatCells(dataTable("Weekly retention cohorts, last 90 days",
			"Users first seen in each week of the last 90 days (the cohort, a row) who were active again 0, 1, 2, … "+
				"weeks later (the columns), as a share of the cohort (retention, first-time lens). Cohorts of fewer than "+
				"k users are withheld.",
			unitPercent, scoped(query("retention").every("week").table())).
			WithTransformation(matrix("time", "period", "retention")).TimeFrom("90d").Span(widthFull)))
}
