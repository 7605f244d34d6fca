package queryapi

import (
	"strings"
	"time"

	"github.com/insights-collector/insights-collector/internal/analyticsdb"
	"github.com/insights-collector/insights-collector/internal/semconv"
)

// sqlb builds one SQL statement and its arguments; every value the caller sends becomes a bound argument, and
// only names from fixed lists (intervals, columns) are written into the text.
type sqlb struct {
	strings.Builder
	args []any
	// fromRollups: some of the statement reads the daily rollups (reported in meta).
	fromRollups bool
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

// local returns a TIMESTAMPTZ expression as the wall-clock TIMESTAMP of the caller's time zone. Converting
// costs a time-zone lookup per row: the relations of from() carry it precomputed (lt) and the rollups need none.
func (b *sqlb) local(q *query, expr string) string {
	return "timezone(" + b.arg(q.Timezone) + ", " + expr + ")"
}

// localTime binds an instant as the wall-clock TIMESTAMP of the caller's time zone.
func (b *sqlb) localTime(q *query, t time.Time) string {
	tz := b.arg(q.Timezone) // placeholders bind in the text's order
	return "timezone(" + tz + ", CAST(" + b.arg(t) + " AS TIMESTAMPTZ))"
}

// localBucket returns the start of the bucket of a wall-clock TIMESTAMP (a plain truncation).
func (b *sqlb) localBucket(q *query, expr string) string {
	return "date_trunc('" + q.Interval + "', " + expr + ")"
}

// instant returns a wall-clock TIMESTAMP of the caller's time zone as a TIMESTAMPTZ; apply it to buckets after
// grouping, not to every row.
func (b *sqlb) instant(q *query, expr string) string {
	return "timezone(" + b.arg(q.Timezone) + ", " + expr + ")"
}

// buckets returns a relation `buckets(t, lt)` of every bucket start in [from, to), so that empty buckets appear:
// t as a TIMESTAMPTZ, lt as the wall-clock TIMESTAMP of the caller's time zone.
func (b *sqlb) buckets(q *query) string {
	tz := q.Timezone
	return "(SELECT timezone(" + b.arg(tz) + ", range) AS t, range AS lt FROM range(date_trunc('" + q.Interval + "', timezone(" + b.arg(tz) + ", " +
		b.arg(q.from) + "::TIMESTAMPTZ)), timezone(" + b.arg(tz) + ", " + b.arg(q.to) + "::TIMESTAMPTZ), INTERVAL 1 " + q.Interval + ")) buckets"
}

// quarterHour is the quarter hour an event (alias e) falls in. Every time zone's offset is a whole number of
// quarter hours, so counts per quarter hour add up exactly to any bucket of any zone — and converting a few
// thousand quarter hours to the caller's zone costs far less than converting every event.
const quarterHour = "time_bucket(INTERVAL 15 MINUTE, e.ts)"

// date binds the calendar date of t (in t's location) as a DATE.
func (b *sqlb) date(t time.Time) string {
	return "CAST(" + b.arg(t.Format(time.DateOnly)) + " AS DATE)"
}

// timeRange returns the condition of a timestamp column within [from - lookback, to).
func (b *sqlb) timeRange(column string, q *query, lookback time.Duration) string {
	return column + " >= " + b.arg(q.from.Add(-lookback)) + " AND " + column + " < " + b.arg(q.to)
}

// eventFilters returns the common filters on the events table (alias e), after a time range condition.
func (b *sqlb) eventFilters(q *query, lookback time.Duration) string {
	return b.timeRange("e.ts", q, lookback) + b.eventFilterValues(q)
}

// source is a relation the metrics read: a daily rollup, and the events it is computed from. Both sides give
// the same columns, after the first, lt: the wall-clock time in the caller's time zone (a day's start in the
// rollup, the event's time in the events). Users are counted by number (user_no).
type source struct {
	rollup      string
	rollupCols  string
	eventCols   string // over one event e
	eventJoin   string // joined to the events for the numbers the rollup holds
	eventFilter string // which events the rollup counts
	// hasKind: the rollup has entity_kind, so a filter on it can be answered from the rollup; noPlugin: the
	// rollup has no plugin_id, so a filter on it cannot.
	hasKind, noPlugin bool
	// sets, when set, is the table of the rollup's users as bitmaps (see userSets), with the sums of setSums.
	sets    string
	setSums []string
}

var (
	userActivity = source{
		rollup: "user_daily", rollupCols: "instance, user_no, NULL AS plugin_id, events",
		eventCols:   "coalesce(e.instance, '') AS instance, e.user_no, e.plugin_id, 1 AS events",
		eventFilter: "e.user_no IS NOT NULL AND " + analyticsdb.ActivitySQL("e."),
	}
	pluginActivity = source{
		rollup: "plugin_daily", rollupCols: "instance, user_no, plugin_id, events",
		eventCols:   userActivity.eventCols,
		eventFilter: "e.user_no IS NOT NULL AND e.plugin_id IS NOT NULL AND " + analyticsdb.ActivitySQL("e."),
		sets:        "plugin_users", setSums: []string{"events"},
	}
	entityActivity = source{
		rollup: "entity_daily", rollupCols: "instance, plugin_id, entity_kind, entity_no, user_no, views, events, creates, create_value",
		eventCols: "coalesce(e.instance, '') AS instance, e.plugin_id, e.entity_kind, en.entity_no, e.user_no, " +
			"CASE WHEN e.action = '" + semconv.ActionNavigate + "' THEN 1 ELSE 0 END AS views, 1 AS events, " +
			"CASE WHEN e.action = '" + semconv.ActionCreate + "' THEN 1 ELSE 0 END AS creates, " +
			"CASE WHEN e.action = '" + semconv.ActionCreate + "' THEN e.value END AS create_value",
		eventJoin:   " JOIN entity_numbers en ON en.entity_ref = e.entity_ref", // every stored entity ref has a number
		eventFilter: "e.entity_ref IS NOT NULL", hasKind: true,
	}
	featureActivity = source{
		rollup: "feature_daily", rollupCols: "instance, plugin_id, feature_no, user_no, events",
		eventCols:   "coalesce(e.instance, '') AS instance, e.plugin_id, fn.feature_no, e.user_no, 1 AS events",
		eventJoin:   " JOIN feature_numbers fn ON " + analyticsdb.FeatureJoinSQL("e", "fn"),
		eventFilter: analyticsdb.ActivitySQL("e."),
	}
	// teamActivity is the users' activity per teams list, with the uses the team metrics count.
	teamActivity = source{
		rollup: "team_daily", rollupCols: "instance, user_no, teams, events, runs, run_value, runs_valued, searches, finds, docs",
		eventCols: "coalesce(e.instance, '') AS instance, e.user_no, e.teams, 1 AS events, " +
			"CASE WHEN " + analyticsdb.TemplateRunSQL("e.") + " THEN 1 ELSE 0 END AS runs, CASE WHEN " + analyticsdb.TemplateRunSQL("e.") + " THEN e.value END AS run_value, " +
			"CASE WHEN " + analyticsdb.TemplateRunSQL("e.") + " AND e.value IS NOT NULL THEN 1 ELSE 0 END AS runs_valued, " +
			"CASE WHEN e.action = '" + semconv.ActionSearch + "' THEN 1 ELSE 0 END AS searches, " +
			"CASE WHEN " + analyticsdb.FoundSearchSQL("e.") + " THEN 1 ELSE 0 END AS finds, CASE WHEN " + analyticsdb.DocsViewSQL("e.") + " THEN 1 ELSE 0 END AS docs",
		eventFilter: "e.user_no IS NOT NULL AND len(e.teams) > 0 AND " + analyticsdb.ActivitySQL("e."), noPlugin: true,
	}
	searchActivity = source{
		rollup: "search_daily", rollupCols: "instance, plugin_id, entity_kind, term, user_no, searches, zero_results, clicks, rank_sum, ranked",
		eventCols: "coalesce(e.instance, '') AS instance, e.plugin_id, e.entity_kind, " + analyticsdb.SearchTermSQL("e.") + " AS term, e.user_no, " +
			"CASE WHEN e.action = '" + semconv.ActionSearch + "' THEN 1 ELSE 0 END AS searches, " +
			"CASE WHEN e.action = '" + semconv.ActionSearch + "' AND e.value = 0 THEN 1 ELSE 0 END AS zero_results, " +
			"CASE WHEN e.action = '" + semconv.ActionDiscover + "' THEN 1 ELSE 0 END AS clicks, " +
			"CASE WHEN e.action = '" + semconv.ActionDiscover + "' THEN e.value END AS rank_sum, " +
			"CASE WHEN e.action = '" + semconv.ActionDiscover + "' AND e.value IS NOT NULL THEN 1 ELSE 0 END AS ranked",
		eventFilter: "e.action IN ('" + semconv.ActionSearch + "', '" + semconv.ActionDiscover + "')", hasKind: true,
	}
)

// from returns src as a relation `alias` over [from - lookback, to) that honours the filters. The whole days of
// the rollup time zone inside the range come from the rollup; the partial days at its ends, and everything when
// the rollup cannot answer (hourly buckets, buckets in another time zone, a filter the rollup lacks), come from
// the events.
func (b *sqlb) from(q *query, src source, lookback time.Duration, alias string) string {
	return b.fromDays(q, src, lookback, alias, "")
}

// fromDays is from with a further condition on the days read from the rollup (" AND …").
func (b *sqlb) fromDays(q *query, src source, lookback time.Duration, alias, days string) string {
	// Placeholders are positional: every part is written in the order its arguments are bound.
	from, to := q.from.Add(-lookback), q.to
	events := func() string {
		return "SELECT " + b.local(q, "e.ts") + " AS lt, " + src.eventCols + " FROM events e" + src.eventJoin + " WHERE " + src.eventFilter +
			b.eventFilterValues(q) + " AND "
	}
	lo, hi, ok := rollupDays(q, src, from, to)
	if !ok {
		return "(" + events() + "e.ts >= " + b.arg(from) + " AND e.ts < " + b.arg(to) + ") " + alias
	}
	b.fromRollups = true
	// The rollup's days are the caller's when lt matters (an interval): see rollupDays.
	rollup := "SELECT CAST(day AS TIMESTAMP) AS lt, " + src.rollupCols + " FROM " + src.rollup + " WHERE " + b.rollupFilters(q, src, lo, hi) + days
	// One part per partial day, and none for an empty one: DuckDB skips row groups by their time range only for
	// a plain range, not for an OR of two (which scanned every event, 120 ms at 10 million).
	for _, edge := range [][2]time.Time{{from, lo}, {hi, to}} {
		if edge[0].Before(edge[1]) {
			rollup += " UNION ALL " + events() + "e.ts >= " + b.arg(edge[0]) + " AND e.ts < " + b.arg(edge[1])
		}
	}
	return "(" + rollup + ") " + alias
}

// rollupFilters is the condition on a rollup's rows (or its user sets') of the days [lo, hi) and the filters.
func (b *sqlb) rollupFilters(q *query, src source, lo, hi time.Time) string {
	cond := "day >= " + b.date(lo) + " AND day < " + b.date(hi) + b.in("plugin_id", q.filter(FilterPlugin)) + b.in("instance", q.filter(FilterInstance))
	if src.hasKind {
		cond += b.in("entity_kind", q.filter(FilterEntityKind))
	}
	return cond
}

// userSets returns a relation `alias(<keys>, block, users, <src.setSums>)` of src's users over [from, to) as
// bitmaps, one per block of user numbers (see analyticsdb.UserBitsSQL), keys being columns of src. The whole days
// come from src.sets, but for the days the compaction has yet to build there (marked in rollup_days for the
// rollup), which are aggregated from the rollup, as the partial days at the ends are from the events. A key and
// block may have several rows: OR them (bit_or) and add their bit counts over the blocks.
func (b *sqlb) userSets(q *query, src source, keys, alias string) string {
	pending := "SELECT day FROM rollup_days WHERE rollup = '" + src.rollup + "'"
	var built string
	if lo, hi, ok := rollupDays(q, src, q.from, q.to); ok {
		built = "SELECT " + keys + ", block, users, " + strings.Join(src.setSums, ", ") + " FROM " + src.sets + " WHERE " + b.rollupFilters(q, src, lo, hi) +
			" AND day NOT IN (" + pending + ") UNION ALL "
	}
	sums := make([]string, len(src.setSums))
	for i, c := range src.setSums {
		sums[i] = "sum(" + c + ") AS " + c
	}
	return "(" + built + "SELECT " + keys + ", " + analyticsdb.UserBlockSQL("user_no") + " AS block, " + analyticsdb.UserBitsSQL("user_no") + " AS users, " +
		strings.Join(sums, ", ") + " FROM " + b.fromDays(q, src, 0, "r", " AND day IN ("+pending+")") + " GROUP BY ALL) " + alias
}

// rollupDays returns the whole rollup days [lo, hi) within [from, to), and whether the rollup can answer q.
func rollupDays(q *query, src source, from, to time.Time) (lo, hi time.Time, ok bool) {
	tz := q.rollupTZ
	switch {
	case tz == nil, q.Interval == "hour":
		return lo, hi, false
	case q.Interval != "" && q.Timezone != tz.String():
		return lo, hi, false // a day of the caller's calendar is not a day of the rollup
	case !src.hasKind && len(q.filter(FilterEntityKind)) > 0, src.noPlugin && len(q.filter(FilterPlugin)) > 0:
		return lo, hi, false
	}
	lo = startOfDay(from, tz)
	if lo.Before(from) {
		lo = startOfDay(lo.Add(36*time.Hour), tz) // the next day, whatever its length
	}
	hi = startOfDay(to, tz)
	return lo, hi, lo.Before(hi)
}

func startOfDay(t time.Time, tz *time.Location) time.Time {
	y, m, d := t.In(tz).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, tz)
}

// eventFilterValues returns the common filters on the events table (alias e) other than time: " AND …".
func (b *sqlb) eventFilterValues(q *query) string {
	return b.in("e.plugin_id", q.filter(FilterPlugin)) +
		b.in("e.entity_kind", q.filter(FilterEntityKind)) +
		b.in("coalesce(e.instance, '')", q.filter(FilterInstance))
}

// activity returns a relation `act(lt, instance, user_no, plugin_id, events)` of user activity that honours the
// filters, from the user or the plugin rollup.
func (b *sqlb) activity(q *query, lookback time.Duration, needPlugin bool) string {
	if needPlugin || len(q.filter(FilterPlugin)) > 0 {
		return b.from(q, pluginActivity, lookback, "act")
	}
	return b.from(q, userActivity, lookback, "act")
}
