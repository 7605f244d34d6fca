package dashboards

import (
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

// teams answers which teams use the platform, how fast their new members get value and what the best do.
func teams() *dashboard.DashboardBuilder {
	chosen := func(q *Query) *Query { return inInstance(q).where("team", "$"+varTeam) }
	return newDashboard("insights-teams", "Insights: teams",
		"Adoption by team (from the catalog's groups), the comparison table, onboarding time to value and engagement per team.",
		instanceVariable(), dimensionVariable(varTeam, "Team", true)).
		WithRow(row("Which teams use the platform?")).
		WithPanel(gaugeCells(sorted(dataTable("Team comparison",
			"Teams ranked by adoption over the range: catalog members (sub-teams included), active members, adoption "+
				"= active / members, growth against the previous period, template runs per active member, search "+
				"click-through, rank and quartile among all teams (team_comparison).",
			unitNone, chosen(query("team_comparison"))).
			WithTransformation(organize("rank", "team", "members", "active_members", "adoption", "growth",
				"template_runs_per_active_member", "searches", "search_click_through", "quartile")), "rank", false),
			"adoption", "search_click_through").Span(widthFull)).
		WithPanel(timeSeries("Adoption over time",
			"Per week and team: active members / catalog members (team_adoption: adoption).",
			unitPercent, chosen(query("team_adoption").every("week"))).
			WithTransformation(onlyFields("time", "adoption"))).
		WithPanel(ranking("Active members",
			"Members of each team with an event in the range (team_adoption: active_members).",
			unitCount, "active_members", chosen(query("team_adoption")))).
		WithRow(row("How fast do new members get value?")).
		WithPanel(gaugeCells(dataTable("Onboarding by team",
			"Users first seen in the range, per team: how many reached a key action (a template run, a TechDocs view, "+
				"a search click), the share within 7 and 30 days, and the median hours from first visit to it (onboarding).",
			unitNone, chosen(query("onboarding").by("team"))).
			WithTransformation(organize("team", "new_users", "reached", "reached_7d", "reached_30d", "median_hours_to_value")),
			"reached_7d", "reached_30d")).
		WithPanel(ranking("Median time to value",
			"Median hours from a new user's first visit to their first key action, per team (onboarding: median_hours_to_value).",
			unitHours, "median_hours_to_value", chosen(query("onboarding").by("team")))).
		WithRow(row("How engaged are the teams, and what do the best do differently?")).
		WithPanel(heatCells(dataTable("Engagement tiers by team",
			"The share of each team's active members in each engagement tier, by the tier of their last event in the "+
				"range (engagement by team).",
			unitPercent, chosen(query("engagement").by("team"))).
			WithTransformation(matrix("team", "tier", "share")))).
		WithPanel(ranking("Hours saved by team",
			"Hours saved by each team's members: template runs, successful searches and TechDocs views valued by the "+
				"collector's value model (roi by team: hours_saved).",
			unitHours, "hours_saved", chosen(query("roi").by("team")))).
		WithPanel(sorted(dataTable("What the top quartile uses",
			"Per plugin: the share of the top-quartile teams' active members who used it, against that of the other "+
				"teams, and the lift (team_comparison by plugin).",
			unitPercent, chosen(query("team_comparison").by("plugin"))).
			WithTransformation(organize("plugin", "top_quartile_share", "others_share", "lift")), "lift", true).Span(widthFull))
}
