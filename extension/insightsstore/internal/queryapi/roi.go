package queryapi

import (
	"strconv"
	"strings"
)

// ValueModel is what the platform's uses are worth, for the roi metric (config query_api.roi).
type ValueModel struct {
	// TemplateRunMinutes is saved by a template run whose template names no time saved.
	TemplateRunMinutes float64
	// TemplateTimeSaved takes a run's minutes from its template's backstage.io/time-saved annotation (the
	// create event's value) where the template has one.
	TemplateTimeSaved bool
	// SearchSuccessMinutes is saved by a successful search: a click on a result (a discover event).
	SearchSuccessMinutes float64
	// TechDocsViewMinutes is saved by a TechDocs page view.
	TechDocsViewMinutes float64
	// HourlyCost is what an hour of an engineer costs; PlatformCostPerMonth what the platform costs. Without
	// them the metric gives hours only.
	HourlyCost           float64
	PlatformCostPerMonth float64
	// Currency is the ISO 4217 code of the costs (a Grafana unit: currencyUSD).
	Currency string
}

// DefaultValueModel counts what the templates say they save, and nothing else.
func DefaultValueModel() ValueModel { return ValueModel{TemplateTimeSaved: true, Currency: "USD"} }

// averageMonthDays prorates the monthly platform cost (365.2425 / 12).
const averageMonthDays = 30.436875

func roiMetric() *Metric {
	return &Metric{
		Name: "roi",
		Description: "What the platform is worth, by the value model of the collector's config (query_api.roi): minutes " +
			"saved per template run (the template's backstage.io/time-saved, the create event's value, where it has one, " +
			"else template_run_minutes), per successful search (a click on a result attributed to a search) and per view of an entity's " +
			"TechDocs; hours " +
			"saved, their value at hourly_cost, the platform's cost (platform_cost_per_month prorated to the days of " +
			"the range in each bucket), ROI = (value - cost) / cost, and cost per active user. With group_by team, per " +
			"team (sub-teams' members included) with the cost allocated by the team's share of the active users. " +
			"Money columns are null without hourly_cost or platform_cost_per_month.",
		Interval: intervalOptional, Intervals: []string{"week", "month", "quarter", "year"}, Filters: []string{FilterInstance, FilterTeam},
		GroupBy: []string{"team"},
		Columns: []Column{colTime, dimension("team (with group_by)"), number("template_runs", "runs", ""), number("search_successes", "searches", ""),
			number("techdocs_views", "views", ""), number("hours_saved", "h", ""), number("value", "currency", "hours_saved * hourly_cost"),
			number("platform_cost", "currency", ""), number("roi", "ratio", "(value - platform_cost) / platform_cost"),
			number("active_users", "users", ""), number("cost_per_active_user", "currency", "")},
		UsersColumn: "active_users", Role: RoleTeamLead, build: roi,
	}
}

func roi(q *query, b *sqlb) []Column {
	v := q.value
	// p: the value model, bound once.
	b.WriteString("WITH p AS (SELECT " + b.arg(v.TemplateRunMinutes) + "::DOUBLE AS per_run, " + b.arg(v.SearchSuccessMinutes) + "::DOUBLE AS per_find, " +
		b.arg(v.TechDocsViewMinutes) + "::DOUBLE AS per_doc, " + b.arg(nullIfZero(v.HourlyCost)) + "::DOUBLE AS hourly, " +
		b.arg(nullIfZero(v.PlatformCostPerMonth)) + "::DOUBLE AS monthly), ")
	// A run's minutes: its template's time saved (the create events' value) where it names one, else the default.
	// The entity rollup sums a day's runs of a template by a user: their values are all there or all missing.
	runMinutes := func(runs, value string) string {
		if v.TemplateTimeSaved {
			return "coalesce(" + value + ", " + runs + " * p.per_run)"
		}
		return runs + " * p.per_run"
	}
	// t buckets the rollups' rows (lt: their wall-clock day, or an edge event's time) in the caller's wall-clock
	// time: the buckets become instants once grouped (cost.instant), not on each of two million rows (150 ms).
	t := func() string {
		if q.Interval == "" {
			return "0"
		}
		return b.localBucket(q, "lt")
	}
	// The uses: template runs (creates of a template), found searches (clicks on a result attributed to a search)
	// and views of an entity's TechDocs, as the templates, search and techdocs metrics count them.
	byTeam := q.groupBy() == "team" || len(q.filter(FilterTeam)) > 0
	if byTeam {
		// u: per bucket, user and teams list, from the team rollup.
		valued := "coalesce(sum(run_value), 0) + (sum(runs) - sum(runs_valued)) * any_value(p.per_run)"
		if !v.TemplateTimeSaved {
			valued = "sum(runs) * any_value(p.per_run)"
		}
		b.WriteString("u AS (SELECT " + t() + " AS t, user_no, " + teamsKey + ", sum(runs) AS runs, sum(finds) AS finds, " +
			"sum(docs) AS docs, " + valued + " AS run_minutes FROM " + b.from(q, teamActivity, 0, "x") + ", p GROUP BY 1, user_no, th), ")
	} else {
		// u: per bucket, the uses from the daily entity and search rollups (and the events of partial days).
		b.WriteString("ue AS (SELECT " + t() + " AS t, sum(creates) AS runs, coalesce(sum(" + runMinutes("creates", "create_value") + ") FILTER (WHERE creates > 0), 0) AS run_minutes, " +
			"coalesce(sum(views) FILTER (WHERE plugin_id = 'techdocs'), 0) AS docs FROM " + b.from(q, entityActivity, 0, "x") + ", p WHERE user_no IS NOT NULL GROUP BY 1), " +
			"us AS (SELECT " + t() + " AS t, sum(clicks) AS finds FROM " + b.from(q, searchActivity, 0, "y") + " WHERE user_no IS NOT NULL GROUP BY 1), " +
			"u AS (SELECT t, coalesce(runs, 0) AS runs, coalesce(finds, 0) AS finds, coalesce(docs, 0) AS docs, coalesce(run_minutes, 0) AS run_minutes " +
			"FROM ue FULL JOIN us USING (t)), ")
	}
	// cost: per bucket, the platform's cost over the part of the bucket inside the range.
	month := strconv.FormatFloat(averageMonthDays*86400, 'f', -1, 64)
	if q.Interval != "" {
		end := "timezone(" + b.arg(q.Timezone) + ", buckets.lt + INTERVAL 1 " + q.Interval + ")"
		b.WriteString("cost AS (SELECT buckets.lt AS t, buckets.t AS instant, p.monthly * (epoch(least(" + end + ", " + b.arg(q.to) + "::TIMESTAMPTZ)) - epoch(greatest(buckets.t, " +
			b.arg(q.from) + "::TIMESTAMPTZ))) / " + month + " AS cost FROM p, " + b.buckets(q) + "), ")
	} else {
		b.WriteString("cost AS (SELECT 0 AS t, p.monthly * (epoch(" + b.arg(q.to) + "::TIMESTAMPTZ) - epoch(" + b.arg(q.from) + "::TIMESTAMPTZ)) / " +
			month + " AS cost FROM p), ")
	}
	group, team, columns := "", "", []Column{}
	order := []string{"hours_saved DESC"}
	// total: the active users of each bucket, from the activity rollup (a team's share of the cost is its share).
	b.WriteString("total AS (SELECT " + t() + " AS t, count(DISTINCT user_no) AS users FROM " + b.activity(q, 0, false) + " GROUP BY 1), ")
	if byTeam {
		b.WriteString("c AS (SELECT * FROM (" + credited("u", "x.t, x.user_no, x.th, x.runs, x.finds, x.docs, x.run_minutes") + ") WHERE true" + b.inTeams(q, "team") + "), ")
		source := "(SELECT DISTINCT ON (t, user_no, th) * FROM c)" // a user's uses once in the teams' total
		if q.groupBy() == "team" {
			source, group, team, columns = "c", ", team", "s.team, ", []Column{dimension("team")}
			order = append(order, "s.team")
		}
		b.WriteString("s AS (SELECT t" + group + ", sum(runs) AS runs, sum(finds) AS finds, sum(docs) AS docs, sum(run_minutes) + sum(finds) * any_value(p.per_find) + " +
			"sum(docs) * any_value(p.per_doc) AS minutes, count(DISTINCT user_no) AS users FROM " + source + ", p GROUP BY ALL) ")
	} else {
		b.WriteString("s AS (SELECT t, coalesce(runs, 0) AS runs, coalesce(finds, 0) AS finds, coalesce(docs, 0) AS docs, " +
			"coalesce(run_minutes + finds * p.per_find + docs * p.per_doc, 0) AS minutes, users FROM total LEFT JOIN u USING (t), p) ")
	}
	timeColumn := ""
	if q.Interval != "" {
		timeColumn, order, columns = "cost.instant AS time, ", append([]string{"cost.instant"}, order...), append([]Column{colTime}, columns...)
	}
	// A team's share of the cost is its share of the active users.
	share := "cost.cost * s.users / total.users"
	b.WriteString("SELECT " + timeColumn + team + "s.runs AS template_runs, s.finds AS search_successes, s.docs AS techdocs_views, s.minutes / 60 AS hours_saved, " +
		"s.minutes / 60 * p.hourly AS value, " + share + " AS platform_cost, (s.minutes / 60 * p.hourly - " + share + ") / nullif(" + share + ", 0) AS roi, " +
		"s.users AS active_users, cost.cost / nullif(total.users, 0) AS cost_per_active_user " +
		"FROM s JOIN total USING (t) JOIN cost USING (t), p ORDER BY " + strings.Join(order, ", "))
	money := "currency" + v.Currency
	return append(columns, number("template_runs", "runs", ""), number("search_successes", "searches", ""), number("techdocs_views", "views", ""),
		number("hours_saved", "h", ""), number("value", money, ""), number("platform_cost", money, ""), number("roi", "ratio", ""),
		number("active_users", "users", ""), number("cost_per_active_user", money, ""))
}

// nullIfZero binds an unset cost as NULL, so that the money columns are null rather than zero.
func nullIfZero(v float64) any {
	if v == 0 {
		return nil
	}
	return v
}
