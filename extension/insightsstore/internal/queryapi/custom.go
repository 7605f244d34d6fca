package queryapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/insights-collector/insights-collector/internal/semconv"
)

// CustomMetric is a metric defined in the collector's config (query_api.custom_metrics): events matching a
// filter, aggregated; or the ratio of two other custom metrics.
type CustomMetric struct {
	Name        string `mapstructure:"name"`
	Description string `mapstructure:"description"`
	// Filter selects the events (ratio: unused).
	Filter Step `mapstructure:"filter"`
	// Aggregation is count, distinct_users, sum, avg or ratio.
	Aggregation string `mapstructure:"aggregation"`
	// Field is what sum and avg add up: value (the event's value) or an attribute's name as the event
	// carries it (backstage.attributes.templateSteps).
	Field string `mapstructure:"field"`
	// Numerator and Denominator name the custom metrics of a ratio.
	Numerator   string `mapstructure:"numerator"`
	Denominator string `mapstructure:"denominator"`
	// Unit is how the value displays (a Grafana unit id: short, percentunit, m, h, currencyEUR, …).
	Unit string `mapstructure:"unit"`
}

// Aggregations of custom metrics.
const (
	AggregationCount         = "count"
	AggregationDistinctUsers = "distinct_users"
	AggregationSum           = "sum"
	AggregationAvg           = "avg"
	AggregationRatio         = "ratio"
)

var (
	aggregations     = []string{AggregationCount, AggregationDistinctUsers, AggregationSum, AggregationAvg, AggregationRatio}
	customMetricName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)
)

// ValidateCustomMetrics checks the definitions against each other and the built-in metrics; each error names the
// definition and its field.
func ValidateCustomMetrics(defs []CustomMetric) error {
	builtIn := Catalog()
	byName := map[string]CustomMetric{}
	for _, d := range defs {
		byName[d.Name] = d
	}
	var errs []error
	seen := map[string]bool{}
	for i, d := range defs {
		at := fmt.Sprintf("custom_metrics[%d] (%s)", i, d.Name)
		fail := func(field, format string, args ...any) {
			errs = append(errs, fmt.Errorf("%s: %s: %s", at, field, fmt.Sprintf(format, args...)))
		}
		switch {
		case !customMetricName.MatchString(d.Name):
			fail("name", "%q must be lower case letters, digits and _ (a letter first)", d.Name)
		case builtIn[d.Name] != nil:
			fail("name", "%q is a built-in metric", d.Name)
		case seen[d.Name]:
			fail("name", "%q is defined twice", d.Name)
		}
		seen[d.Name] = true
		if !slices.Contains(aggregations, d.Aggregation) {
			fail("aggregation", "unknown aggregation %q: one of %s", d.Aggregation, strings.Join(aggregations, ", "))
			continue
		}
		if d.Aggregation == AggregationRatio {
			for field, ref := range map[string]string{"numerator": d.Numerator, "denominator": d.Denominator} {
				other, ok := byName[ref]
				switch {
				case ref == "":
					fail(field, "a ratio names two custom metrics")
				case !ok:
					fail(field, "no custom metric %q", ref)
				case other.Aggregation == AggregationRatio:
					fail(field, "%q is a ratio itself", ref)
				}
			}
			continue
		}
		if d.Filter.Event == "" {
			fail("filter.event", "names the events counted (backstage.<action>)")
		}
		switch {
		case (d.Aggregation == AggregationSum || d.Aggregation == AggregationAvg) && d.Field == "":
			fail("field", "%s needs a field: value or an attribute (backstage.attributes.<name>)", d.Aggregation)
		case d.Aggregation != AggregationSum && d.Aggregation != AggregationAvg && d.Field != "":
			fail("field", "only sum and avg take a field")
		}
	}
	return errors.Join(errs...)
}

// customMetric turns a definition into a catalogue entry.
func customMetric(d CustomMetric, byName map[string]CustomMetric) *Metric {
	description := d.Description
	if description == "" {
		description = "Custom metric (the collector's config): " + d.Aggregation
	}
	unit := d.Unit
	return &Metric{
		Name: d.Name, Description: description, Interval: intervalOptional, Filters: []string{FilterPlugin, FilterEntityKind, FilterInstance, FilterTeam},
		GroupBy:     []string{"plugin", "instance"},
		Columns:     []Column{colTime, dimension("plugin|instance (with group_by)"), number("value", unit, d.Name), colUsers},
		UsersColumn: "users", Role: RoleViewer,
		build: func(q *query, b *sqlb) []Column { return customSQL(q, b, d, byName, unit) },
	}
}

// customSQL aggregates the events of a custom metric (a ratio: of both of its parts) per bucket and group:
// first per quarter hour and user (see quarterHour), then per bucket. Placeholders bind in the text's order:
// every part is built in the order it is written.
func customSQL(q *query, b *sqlb, d CustomMetric, byName map[string]CustomMetric, unit string) []Column {
	parts := []CustomMetric{d}
	if d.Aggregation == AggregationRatio {
		parts = []CustomMetric{byName[d.Numerator], byName[d.Denominator]}
	}
	if fromFeatureRollup(q, parts) {
		return customRollupSQL(q, b, parts, unit)
	}
	dim := ""
	if g := q.groupBy(); g != "" {
		dim = map[string]string{"plugin": "e.plugin_id", "instance": "coalesce(e.instance, '')"}[g] + " AS " + g + ", "
	}
	partials, finals := make([]string, len(parts)), make([]string, len(parts))
	for i, p := range parts {
		partials[i], finals[i] = partialSQL(b, p, "p"+strconv.Itoa(i))
	}
	where := b.eventFilters(q, 0)
	if teams := q.filter(FilterTeam); len(teams) > 0 {
		where += " AND list_has_any(e.teams, (SELECT list(team) FROM (" + b.teamsBelow(teams) + ")))"
	}
	matches := make([]string, len(parts))
	for i, p := range parts {
		matches[i] = stepSQL(b, p.Filter)
	}
	b.WriteString("WITH x AS (SELECT " + quarterHour + " AS qh, " + dim + "e.user_no, " + strings.Join(partials, ", ") + " FROM events e WHERE " + where +
		" AND (" + strings.Join(matches, " OR ") + ") GROUP BY ALL) ")
	value := finals[0]
	if len(finals) == 2 {
		value = "(" + finals[0] + ")::DOUBLE / nullif(" + finals[1] + ", 0)"
	}
	var selects []string
	var columns []Column
	if q.Interval != "" {
		selects, columns = append(selects, b.bucket(q, "qh")+" AS time"), append(columns, colTime)
	}
	if g := q.groupBy(); g != "" {
		selects, columns = append(selects, g), append(columns, dimension(g))
	}
	selects = append(selects, value+" AS value", "count(DISTINCT user_no) AS users")
	b.WriteString("SELECT " + strings.Join(selects, ", ") + " FROM x GROUP BY ALL ORDER BY ALL")
	return append(columns, number("value", unit, ""), colUsers)
}

// fromFeatureRollup says whether the feature rollup (per day, user and feature: a plugin, an action and a
// click's item) answers a custom metric: counts of events or of users of an action (of a plugin, of a clicked
// item), by day or longer in the rollup's days, without team or entity kind filters.
func fromFeatureRollup(q *query, parts []CustomMetric) bool {
	if _, _, ok := rollupDays(q, featureActivity, q.from, q.to); !ok || len(q.filter(FilterTeam)) > 0 || len(q.filter(FilterEntityKind)) > 0 {
		return false
	}
	for _, p := range parts {
		f := p.Filter
		action, isActivity := strings.CutPrefix(f.Event, semconv.EventNamePrefix)
		switch {
		case p.Aggregation != AggregationCount && p.Aggregation != AggregationDistinctUsers, !isActivity,
			f.SubjectPrefix != "", f.EntityKind != "", len(f.Attributes) > 0, f.Subject != "" && action != semconv.ActionClick:
			return false
		}
	}
	return true
}

// customRollupSQL is customSQL on the feature rollup (the events of the range's partial days included). Each
// part's filter is a flag of the rows (m0, m1), so that its placeholders bind once, where it is written.
func customRollupSQL(q *query, b *sqlb, parts []CustomMetric, unit string) []Column {
	b.WriteString("WITH f AS (SELECT x.lt, x.instance, fn.plugin_id, x.user_no, x.events")
	flags, finals := make([]string, len(parts)), make([]string, len(parts))
	for i, p := range parts {
		action, _ := strings.CutPrefix(p.Filter.Event, semconv.EventNamePrefix)
		flags[i] = "m" + strconv.Itoa(i)
		b.WriteString(", (fn.action = " + b.arg(action) + b.in("fn.plugin_id", nonEmpty(p.Filter.Plugin)) +
			b.in("fn.subject", nonEmpty(p.Filter.Subject)) + ") AS " + flags[i])
		finals[i] = "sum(events) FILTER (WHERE " + flags[i] + ")"
		if p.Aggregation == AggregationDistinctUsers {
			finals[i] = "count(DISTINCT user_no) FILTER (WHERE " + flags[i] + ")"
		}
	}
	b.WriteString(" FROM " + b.from(q, featureActivity, 0, "x") + " JOIN feature_numbers fn USING (feature_no)) ")
	value := finals[0]
	if len(finals) == 2 {
		value = "(" + finals[0] + ")::DOUBLE / nullif(" + finals[1] + ", 0)"
	}
	var selects, inner []string
	var columns []Column
	if q.Interval != "" {
		selects, inner, columns = append(selects, b.instant(q, "t")+" AS time"), append(inner, b.localBucket(q, "lt")+" AS t"), append(columns, colTime)
	}
	if g := q.groupBy(); g != "" {
		selects, columns = append(selects, g), append(columns, dimension(g))
		inner = append(inner, map[string]string{"plugin": "plugin_id", "instance": "instance"}[g]+" AS "+g)
	}
	inner = append(inner, value+" AS value", "count(DISTINCT user_no) AS users")
	selects = append(selects, "value", "users")
	b.WriteString("SELECT " + strings.Join(selects, ", ") + " FROM (SELECT " + strings.Join(inner, ", ") + " FROM f WHERE " +
		strings.Join(flags, " OR ") + " GROUP BY ALL) ORDER BY ALL")
	return append(columns, number("value", unit, ""), colUsers)
}

func nonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

// partialSQL returns a custom metric's aggregate per quarter hour and user (named name, over the events its
// filter matches) and the aggregate of those that finishes it. Go evaluates the calls of an expression left to
// right, so the placeholders bind in the text's order.
func partialSQL(b *sqlb, d CustomMetric, name string) (partial, final string) {
	switch d.Aggregation {
	case AggregationDistinctUsers:
		return "bool_or(" + stepSQL(b, d.Filter) + ") AS " + name, "count(DISTINCT user_no) FILTER (WHERE " + name + ")"
	case AggregationSum:
		return "sum(" + fieldSQL(b, d) + ") FILTER (WHERE " + stepSQL(b, d.Filter) + ") AS " + name, "sum(" + name + ")"
	case AggregationAvg:
		return "sum(" + fieldSQL(b, d) + ") FILTER (WHERE " + stepSQL(b, d.Filter) + ") AS " + name + ", " +
				"count(" + fieldSQL(b, d) + ") FILTER (WHERE " + stepSQL(b, d.Filter) + ") AS " + name + "n",
			"sum(" + name + ") / nullif(sum(" + name + "n), 0)"
	default:
		return "count(*) FILTER (WHERE " + stepSQL(b, d.Filter) + ") AS " + name, "sum(" + name + ")"
	}
}

// fieldSQL is what a sum or avg adds up: the event's value or an attribute.
func fieldSQL(b *sqlb, d CustomMetric) string {
	if d.Field == "" || d.Field == "value" {
		return "e.value"
	}
	path, _ := json.Marshal(d.Field) // a quoted JSON path member: any name is safe
	return "TRY_CAST(json_extract_string(e.attributes, " + b.arg("$."+string(path)) + ") AS DOUBLE)"
}
