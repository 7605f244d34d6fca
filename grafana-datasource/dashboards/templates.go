package dashboards

import (
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

// templates answers how much the software templates are used, what they save and which fail.
func templates() *dashboard.DashboardBuilder {
	return newDashboard("insights-templates", "Insights: software templates",
		"Scaffolder template runs, success rate, time saved, and the templates that fail.",
		instanceVariable()).
		WithRow(row("How much are the templates used, and what do they save?")).
		WithPanel(singleStat("Template runs", "Runs started from the portal: the scaffolder's create events (templates: runs, summed).",
			unitCount, "sum", "/^runs$/", inInstance(query("templates")))).
		WithPanel(singleStat("Failed runs", "Runs the scaffolder backend reported failed: the increase of scaffolder.task.count{result=failed} (templates: failed, summed).",
			unitCount, "sum", "/^failed$/", inInstance(query("templates")))).
		WithPanel(singleStat("Template users", "Distinct users who ran a template, summed over templates (a user of two templates counts twice).",
			unitCount, "sum", "/^users$/", inInstance(query("templates")))).
		WithPanel(singleStat("Time saved by templates",
			"Minutes saved by the runs: each its template's backstage.io/time-saved, the create event's value "+
				"(templates: minutes_saved, summed).",
			"m", "sum", "/^minutes_saved$/", inInstance(query("templates")))).
		WithPanel(bars("Template runs per week",
			"Template runs per week (roi by week: template_runs).",
			unitCount, inInstance(query("roi").every("week"))).
			WithTransformation(onlyFields("time", "template_runs")).Span(widthFull)).
		WithRow(row("Which templates, and which fail?")).
		WithPanel(gaugeCells(sorted(dataTable("Templates",
			"Per template: runs from the frontend's create events, their users and minutes saved; runs, successes "+
				"and failures from the backend's scaffolder.task.count, and success rate = succeeded / backend runs (templates).",
			unitCount, inInstance(query("templates").top(100))), "runs", true), "success_rate").Span(widthFull)).
		WithPanel(ranking("Success rate by template",
			"Succeeded / runs of each template, from the scaffolder backend's scaffolder.task.count (templates: success_rate).",
			unitPercent, "success_rate", inInstance(query("templates").top(20))).Max(1)).
		WithPanel(ranking("Failed runs by template",
			"Runs the scaffolder backend reported failed, per template (templates: failed).",
			unitCount, "failed", inInstance(query("templates").top(20))))
}
