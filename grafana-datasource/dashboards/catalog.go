package dashboards

import (
	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

// entityKinds are the catalog's kinds (Backstage's built-in ones) for the kind variable.
const entityKinds = "component,api,system,domain,resource,group,user,template,location"

// catalogSearch answers what people look at in the catalog and whether they find what they search for.
func catalogSearch() *dashboard.DashboardBuilder {
	return newDashboard("insights-catalog-search", "Insights: catalog & search",
		"The catalog entities people view, knowledge sharing between teams, and search: volume, terms, failed searches, click-through and rank.",
		instanceVariable(),
		dashboard.NewCustomVariableBuilder(varKind).Label("Entity kind").Values(dashboard.StringOrMap{String: cog.ToPtr(entityKinds)}).Multi(true).IncludeAll(true).
			AllValue(AllValue).Current(allOption())).
		WithRow(row("What do people look at in the catalog?")).
		WithPanel(sorted(dataTable("Top entities",
			"Catalog entities of the chosen kinds by page views (navigate events to the entity's page), with distinct "+
				"users and all events concerning them (top_entities).",
			unitCount, inInstance(query("top_entities").where("entity_kind", "$"+varKind).top(50))), "views", true)).
		WithPanel(gaugeCells(sorted(dataTable("Knowledge sharing",
			"Per owning team (the catalog owner of the entities viewed): page views of its entities and the share "+
				"that came from members of other teams (cross_team).",
			unitCount, inInstance(query("cross_team").where("entity_kind", "$"+varKind))).
			WithTransformation(organize("owner", "views", "users", "views_from_other_teams", "share_from_other_teams")),
			"views", true), "share_from_other_teams")).
		WithRow(row("Do people find what they search for?")).
		WithPanel(singleStat("Searches", "Searches in the range (search, by day, summed).",
			unitCount, "sum", "/^searches$/", inInstance(query("search").every("day")))).
		WithPanel(singleStat("Zero-result rate", "The mean over the range of each day's searches with no result / searches.",
			unitPercent, "mean", "/^zero_result_rate$/", inInstance(query("search").every("day")))).
		WithPanel(singleStat("Click-through rate",
			"The mean over the range of each day's result clicks (discover events attributed to the latest search "+
				"within 24 hours in the same session) / searches.",
			unitPercent, "mean", "/^click_through_rate$/", inInstance(query("search").every("day")))).
		WithPanel(singleStat("Mean clicked rank", "The mean over the range of each day's mean rank of the clicked results (1 is the top).",
			unitNone, "mean", "/^mean_rank$/", inInstance(query("search").every("day")))).
		WithPanel(timeSeries("Searches and searchers", "Searches and distinct searching users per bucket (search).",
			unitCount, inInstance(query("search").every("auto"))).
			WithTransformation(onlyFields("time", "searches", "users"))).
		WithPanel(timeSeries("Search quality", "Per bucket: zero-result rate and click-through rate of all searches (search).",
			unitPercent, inInstance(query("search").every("auto"))).
			WithTransformation(onlyFields("time", "zero_result_rate", "click_through_rate"))).
		WithPanel(gaugeCells(sorted(dataTable("Top search terms",
			"Search terms by searches, with users, zero-result rate, click-through rate and mean clicked rank (search).",
			unitCount, inInstance(query("search").top(50))), "searches", true), "click_through_rate")).
		WithPanel(gaugeCells(sorted(dataTable("What people fail to find",
			"Search terms by zero-result rate: the share of their searches that returned nothing (search).",
			unitCount, inInstance(query("search").top(200))).
			WithTransformation(organize("term", "zero_result_rate", "searches", "users")), "zero_result_rate", true), "zero_result_rate"))
}
