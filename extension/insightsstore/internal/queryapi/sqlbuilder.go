package queryapi

import (
	"strings"
	"time"
)

// sqlb builds one SQL statement and its arguments; every value the caller sends becomes a bound argument, and
// only names from fixed lists (intervals, columns) are written into the text.
type sqlb struct {
	strings.Builder
	args []any
}

// arg binds a value and returns its placeholder.
func (b *sqlb) arg(v any) string {
	b.args = append(b.args, v)
	return "?"
}

// list binds values for an IN list: "?, ?, ?".
func (b *sqlb) list(values []string) string {
	marks := make([]string, len(values))
	for i, v := range values {
		marks[i] = b.arg(v)
	}
	return strings.Join(marks, ", ")
}

// in returns "AND column IN (…)" for a filter's values, or "" when the filter is not set.
func (b *sqlb) in(column string, values []string) string {
	if len(values) == 0 {
		return ""
	}
	return " AND " + column + " IN (" + b.list(values) + ")"
}

// bucket returns the start of the caller's time-zone bucket that a TIMESTAMPTZ expression falls in, as a
// TIMESTAMPTZ.
func (b *sqlb) bucket(q *query, expr string) string {
	return "timezone(" + b.arg(q.Timezone) + ", date_trunc('" + q.Interval + "', timezone(" + b.arg(q.Timezone) + ", " + expr + ")))"
}

// buckets returns a relation `buckets(t)` of every bucket start in [from, to), so that empty buckets appear.
func (b *sqlb) buckets(q *query) string {
	tz := q.Timezone
	return "(SELECT timezone(" + b.arg(tz) + ", range) AS t FROM range(date_trunc('" + q.Interval + "', timezone(" + b.arg(tz) + ", " +
		b.arg(q.from) + "::TIMESTAMPTZ)), timezone(" + b.arg(tz) + ", " + b.arg(q.to) + "::TIMESTAMPTZ), INTERVAL 1 " + q.Interval + ")) buckets"
}

// timeRange returns the condition of a timestamp column within [from - lookback, to).
func (b *sqlb) timeRange(column string, q *query, lookback time.Duration) string {
	return column + " >= " + b.arg(q.from.Add(-lookback)) + " AND " + column + " < " + b.arg(q.to)
}

// eventFilters returns the common filters on the events table (alias e), after a time range condition.
func (b *sqlb) eventFilters(q *query, lookback time.Duration) string {
	return b.timeRange("e.ts", q, lookback) +
		b.in("e.plugin_id", q.filter(FilterPlugin)) +
		b.in("e.entity_kind", q.filter(FilterEntityKind)) +
		b.in("coalesce(e.instance, '')", q.filter(FilterInstance))
}

// activity returns a relation `act(hour, instance, user_key, plugin_id, events)` of user activity per hour
// that honours the filters, read from the smallest table that can answer: the user or plugin rollup, or the
// events themselves when the entity kind matters.
func (b *sqlb) activity(q *query, lookback time.Duration, needPlugin bool) string {
	switch {
	case len(q.filter(FilterEntityKind)) > 0:
		return "(SELECT date_trunc('hour', e.ts) AS hour, coalesce(e.instance, '') AS instance, e.user_key, e.plugin_id, count(*) AS events " +
			"FROM events e WHERE e.user_key IS NOT NULL AND " + b.eventFilters(q, lookback) + " GROUP BY ALL) act"
	case needPlugin || len(q.filter(FilterPlugin)) > 0:
		return "(SELECT hour, instance, user_key, plugin_id, events FROM plugin_hourly WHERE " + b.timeRange("hour", q, lookback) +
			b.in("plugin_id", q.filter(FilterPlugin)) + b.in("instance", q.filter(FilterInstance)) + ") act"
	default:
		return "(SELECT hour, instance, user_key, NULL AS plugin_id, events FROM user_hourly WHERE " + b.timeRange("hour", q, lookback) +
			b.in("instance", q.filter(FilterInstance)) + ") act"
	}
}
