package queryapi

import (
	"math"
	"strconv"

	"github.com/insights-collector/insights-collector/internal/abstats"
	"github.com/insights-collector/insights-collector/internal/analyticsdb"
	"github.com/insights-collector/insights-collector/internal/semconv"
)

// srmAlpha is the p-value below which the sample ratio is flagged (GrowthBook's threshold).
const srmAlpha = 0.001

// experimentResultColumns are experiment_results' columns (the statement's are the sums they come from).
var experimentResultColumns = []Column{dimension("variant"), colUsers, number("value", "", "conversion rate, events per user or retention"),
	number("absolute_lift", "", "value − control's"), number("relative_lift", "ratio", "absolute lift / control's value"),
	number("ci_low", "", "95% interval of the absolute lift"), number("ci_high", "", ""), number("p_value", "", "two-sided"),
	number("chance_to_beat", "ratio", "posterior probability that the variant beats the control (conversions)")}

func experimentResultsMetric() *Metric {
	return &Metric{
		Name: "experiment_results",
		Description: "An experiment's variants compared on a goal, for the users exposed in the range (each from their " +
			"first exposure): users, the goal's value (conversion rate, events per user or day-7 retention), absolute and " +
			"relative lift against the control with a 95% interval, the p-value (two-proportion z-test; Welch's t-test " +
			"for events per user) and the chance to beat the control (Beta-Binomial, conversions). meta flags a sample " +
			"ratio mismatch (chi-square against the variants' weights, p < 0.001).",
		Filters: []string{FilterExperiment, FilterPlugin, FilterInstance}, RequiredFilters: []string{FilterExperiment}, NeedsGoal: true,
		Columns: experimentResultColumns, UsersColumn: "users", Role: RoleViewer, build: experimentResults, post: compareVariants,
	}
}

func experimentsMetric() *Metric {
	return &Metric{
		Name: "experiments",
		Description: "The experiments whose exposures (the cohort processor's feature_flag.evaluation events) fall in the " +
			"range: per experiment, its variants, the exposed users and the first and last exposure. Experiments with " +
			"fewer than k exposed users are withheld. Lists the values of an experiment variable.",
		Filters: []string{FilterInstance},
		Columns: []Column{dimension("experiment"), number("variants", "", ""), colUsers,
			{Name: "first_exposure", Type: typeTime}, {Name: "last_exposure", Type: typeTime}},
		UsersColumn: "users", Role: RoleViewer, build: experiments,
	}
}

func experiments(q *query, b *sqlb) []Column {
	b.WriteString("SELECT json_extract_string(e.feature_flag_key, '$') AS experiment, count(DISTINCT json_extract_string(e.feature_flag_variant, '$')) AS variants, " +
		"count(DISTINCT e.user_no) AS users, min(e.ts) AS first_exposure, max(e.ts) AS last_exposure FROM events e WHERE e.event_name = " +
		b.arg(semconv.EventFeatureFlagEvaluation) + " AND e.feature_flag_key IS NOT NULL AND " + b.timeRange("e.ts", q, 0) +
		b.in("coalesce(e.instance, '')", q.filter(FilterInstance)) + " GROUP BY 1 ORDER BY users DESC, experiment LIMIT " + b.arg(q.Limit))
	return []Column{dimension("experiment"), number("variants", "", ""), colUsers, {Name: "first_exposure", Type: typeTime},
		{Name: "last_exposure", Type: typeTime}}
}

// experimentResults reads, per variant, the exposed users and the sum and sum of squares of their goal values.
func experimentResults(q *query, b *sqlb) []Column {
	g := q.Goal
	b.WriteString("WITH exposed AS (SELECT e.user_no, arg_min(json_extract_string(e.feature_flag_variant, '$'), e.ts) AS variant, " +
		"min(e.ts) AS at, arg_min(e.feature_flag_weight, e.ts) AS weight FROM events e WHERE e.event_name = " +
		b.arg(semconv.EventFeatureFlagEvaluation) + " AND e.user_no IS NOT NULL AND json_extract_string(e.feature_flag_key, '$') = " +
		b.arg(q.filter(FilterExperiment)[0]) + " AND " + b.timeRange("e.ts", q, 0) + b.in("coalesce(e.instance, '')", q.filter(FilterInstance)) +
		" GROUP BY 1), outcome AS (SELECT x.user_no, ")
	var window string
	switch g.Type {
	case GoalConversion:
		b.WriteString("CASE WHEN count(o.ts) > 0 THEN 1.0 ELSE 0.0 END AS value FROM exposed x LEFT JOIN events o ON o.user_no = x.user_no AND o.event_name = " + b.arg(g.Event))
		window = " AND o.ts >= x.at AND o.ts < x.at + to_days(CAST(" + b.arg(g.WithinDays) + " AS INTEGER))"
	case GoalEventsPerUser:
		b.WriteString("count(o.ts)::DOUBLE AS value FROM exposed x LEFT JOIN events o ON o.user_no = x.user_no AND " + analyticsdb.ActivitySQL("o."))
		window = " AND o.ts >= x.at AND o.ts < x.at + to_days(CAST(" + b.arg(g.WithinDays) + " AS INTEGER))"
	case GoalRetentionD7:
		b.WriteString("CASE WHEN count(o.ts) > 0 THEN 1.0 ELSE 0.0 END AS value FROM exposed x LEFT JOIN events o ON o.user_no = x.user_no AND " +
			analyticsdb.ActivitySQL("o."))
		window = " AND o.ts >= x.at + INTERVAL 7 DAY AND o.ts < x.at + INTERVAL 8 DAY"
	}
	b.WriteString(window + b.in("o.plugin_id", q.filter(FilterPlugin)) + " GROUP BY 1) " +
		"SELECT x.variant, any_value(x.weight) AS weight, count(*) AS users, sum(o.value) AS total, sum(o.value * o.value) AS sumsq " +
		"FROM exposed x JOIN outcome o USING (user_no) GROUP BY 1 ORDER BY 1")
	return []Column{dimension("variant"), number("weight", "", ""), colUsers, number("total", "", ""), number("sumsq", "", "")}
}

// compareVariants turns each variant's sums into its value and its comparison with the control.
func compareVariants(q *query, res *Result) {
	type arm struct {
		variant               string
		weight, n, sum, sumsq float64
	}
	var arms []arm
	control := -1
	for _, row := range res.Rows {
		a := arm{variant: row[0].(string), weight: number0(row[1]), n: number0(row[2]), sum: number0(row[3]), sumsq: number0(row[4])}
		if a.variant == q.Goal.Control {
			control = len(arms)
		}
		arms = append(arms, a)
	}
	counts, weights := make([]int, len(arms)), make([]float64, len(arms))
	totalWeight := 0.0
	for i, a := range arms {
		counts[i], weights[i] = int(a.n), a.weight
		totalWeight += a.weight
	}
	if totalWeight > 0 && len(arms) > 1 {
		for i := range weights {
			weights[i] /= totalWeight
		}
		_, p := abstats.SampleRatioMismatch(counts, weights)
		res.Meta.SampleRatioPValue, res.Meta.SampleRatioMismatch = &p, p < srmAlpha
	}
	res.Columns = experimentResultColumns
	res.Rows = make([][]any, 0, len(arms))
	for i, a := range arms {
		row := []any{a.variant, a.n, a.sum / a.n, nil, nil, nil, nil, nil, nil}
		if control >= 0 && i != control {
			c := compare(q.Goal.Type, arms[control].n, arms[control].sum, arms[control].sumsq, a.n, a.sum, a.sumsq)
			row = []any{a.variant, a.n, c.Variant, c.AbsoluteLift, finite(c.RelativeLift), c.CILow, c.CIHigh, c.PValue, finite(c.ChanceToBeat)}
		}
		res.Rows = append(res.Rows, row)
	}
}

func compare(goal string, nc, sc, qc, nv, sv, qv float64) abstats.Comparison {
	if goal == GoalEventsPerUser {
		return abstats.Means(sc/nc, variance(nc, sc, qc), int(nc), sv/nv, variance(nv, sv, qv), int(nv))
	}
	return abstats.Proportions(int(sc), int(nc), int(sv), int(nv))
}

// variance is the sample variance from a count, a sum and a sum of squares.
func variance(n, sum, sumsq float64) float64 {
	if n < 2 {
		return 0
	}
	return max(0, (sumsq-sum*sum/n)/(n-1))
}

// finite maps NaN (undefined: a control of 0, a chance for means) to null.
func finite(v float64) any {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return v
}

func number0(v any) float64 {
	switch x := v.(type) {
	case float64:
		return x
	case string:
		f, _ := strconv.ParseFloat(x, 64)
		return f
	}
	return 0
}
