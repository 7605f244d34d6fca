package dashboards

import (
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

// techdocs answers whether people read the documentation and where it lets them down.
func techdocs() *dashboard.DashboardBuilder {
	return newDashboard("insights-techdocs", "Insights: TechDocs",
		"Documentation views and readers, the most read sites, and pages people could not find.",
		instanceVariable()).
		WithRow(row("Do people read the docs?")).
		WithPanel(singleStat("Page views", "TechDocs page views in the range (techdocs by day: views, summed).",
			unitCount, "sum", "/^views$/", inInstance(query("techdocs").every("day")))).
		WithPanel(singleStat("Daily readers", "The mean over the range of each day's distinct TechDocs readers.",
			unitCount, "mean", "/^users$/", inInstance(query("techdocs").every("day")))).
		WithPanel(singleStat("Pages not found", "Views of TechDocs pages that do not exist (techdocs by day: not_found, summed).",
			unitCount, "sum", "/^not_found$/", inInstance(query("techdocs").every("day")))).
		WithPanel(singleStat("Documentation sites read", "Distinct documentation sites (entities) viewed in the range.",
			unitCount, "count", "/^views$/", inInstance(query("techdocs").top(1000)))).
		WithPanel(timeSeries("Views, readers and pages not found", "Per bucket: page views, distinct readers and not-found pages (techdocs).",
			unitCount, inInstance(query("techdocs").every("auto"))).Span(widthFull)).
		WithRow(row("Which docs are read, and which let people down?")).
		WithPanel(sorted(dataTable("Most read documentation",
			"Documentation sites (the entity whose docs were viewed) by page views, with distinct readers and not-found "+
				"pages (techdocs).",
			unitCount, inInstance(query("techdocs").top(50))), "views", true)).
		WithPanel(sorted(dataTable("Pages not found",
			"Documentation sites by the views of their pages that do not exist: broken links and moved pages (techdocs).",
			unitCount, inInstance(query("techdocs").top(200))).
			WithTransformation(organize("doc", "not_found", "views")), "not_found", true))
}
