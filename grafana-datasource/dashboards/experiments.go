package dashboards

import (
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/table"
)

// experimentGoals are the goals an experiment is judged on: a panel each.
var experimentGoals = []struct {
	title, description string
	goal               map[string]any
}{
	{"Conversion to a template run within 7 days",
		"The share of each variant's users who ran a template (a create event) within 7 days of their first exposure",
		map[string]any{"type": "conversion", "event": "backstage.create", "within_days": 7}},
	{"Events per user within 7 days", "Each variant's mean events per user in the 7 days after their first exposure (Welch's t-test)",
		map[string]any{"type": "events_per_user", "within_days": 7}},
	{"Day-7 retention", "The share of each variant's users active again 7 days after their first exposure",
		map[string]any{"type": "retention_d7"}},
}

// experiments answers which experiments run and whether each variant does better than the control.
func experiments() *dashboard.DashboardBuilder {
	chosen := func(q *Query) *Query { return inInstance(q).where("experiment", "$"+varExperiment) }
	b := newDashboard("insights-experiments", "Insights: experiments",
		"A/B experiments of the cohort processor: exposure, the variants' results on each goal with 95% intervals, and the sample-ratio check.",
		instanceVariable(), dimensionVariable(varExperiment, "Experiment", false)).
		Time("now-90d", "now"). // users count from their first exposure: the range covers the experiment
		WithRow(row("Which experiments run?")).
		WithPanel(dataTable("Experiments",
			"Experiments with exposures in the range (the cohort processor's feature_flag.evaluation events): variants, "+
				"exposed users, first and last exposure (experiments).",
			unitCount, inInstance(query("experiments").table())).Span(widthFull).Height(6)).
		WithRow(row("Is the assignment sound?")).
		WithPanel(ranking("Exposed users per variant",
			"Users first exposed in the range, per variant of the chosen experiment. The sample-ratio check (chi-square "+
				"against the variants' weights) shows as a warning on the panel when p < 0.001: then the assignment is "+
				"broken and the results below cannot be trusted (experiment_results).",
			unitCount, "users", chosen(query("experiment_results").goal(experimentGoals[0].goal)))).
		WithPanel(funnelByVariant(chosen)).
		WithRow(row("Does a variant beat the control?"))
	for _, g := range experimentGoals {
		b = b.WithPanel(dataTable(g.title,
			g.description+": the value, absolute and relative lift against the control with a 95% interval, the "+
				"p-value and the chance to beat the control (experiment_results).",
			unitNone, chosen(query("experiment_results").goal(g.goal))).
			WithTransformation(organize("variant", "users", "value", "absolute_lift", "relative_lift", "ci_low", "ci_high",
				"p_value", "chance_to_beat")).Span(widthFull).Height(6))
	}
	return b
}

// funnelByVariant is the path from the catalog to a template run, per variant of the chosen experiment.
func funnelByVariant(chosen func(*Query) *Query) *table.PanelBuilder {
	return gaugeCells(dataTable("From catalog to template run, by variant",
		"Per variant: users who viewed the catalog, then opened the scaffolder, then ran a template within 7 days "+
			"(funnel by variant), with the conversion from the first step.",
		unitNone, chosen(query("funnel").by("variant").funnel(map[string]any{
			"steps": []map[string]any{
				{"name": "catalog", "event": "backstage.navigate", "plugin": "catalog"},
				{"name": "scaffolder", "event": "backstage.navigate", "plugin": "scaffolder"},
				{"name": "template run", "event": "backstage.create"},
			},
			"within_hours": 7 * 24,
		}))).
		WithTransformation(organize("variant", "step", "name", "users", "conversion", "step_conversion", "median_seconds")),
		"conversion", "step_conversion")
}
