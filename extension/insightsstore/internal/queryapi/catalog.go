package queryapi

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/insights-collector/insights-collector/internal/analyticsdb"
)

// Column describes one column of a result; Type is time, string or number (a Grafana field type each).
type Column struct {
	Name        string `json:"name"`
	Type        string `json:"type"`
	Unit        string `json:"unit,omitempty"`
	Description string `json:"description,omitempty"`
	// ordinal: a number that identifies a row (a funnel's step, a cohort's period) rather than measures it.
	ordinal bool
}

const (
	typeTime   = "time"
	typeString = "string"
	typeNumber = "number"
)

type intervalUse int

const (
	intervalNone intervalUse = iota
	intervalOptional
	intervalRequired
)

// Metric is one entry of the catalogue.
type Metric struct {
	Name        string
	Description string
	Interval    intervalUse
	// Intervals restricts the intervals a metric buckets by (nil: all of them).
	Intervals []string
	// Lenses are the ways a metric can look at its data, the first the default (Request.Lens).
	Lenses []string
	// NoTimeRange: the metric looks at a fixed recent window (live) and ignores from/to.
	NoTimeRange bool
	Filters     []string
	GroupBy     []string
	// Columns documents the result; a metric may return fewer (see the descriptions).
	Columns []Column
	// UsersColumn holds the distinct users of a breakdown row: rows below the k-anonymity floor are withheld.
	UsersColumn string
	// CohortRows: each row is a group of users (a cohort) even without a string column; the floor applies.
	CohortRows bool
	// Role is the least role that may query the metric.
	Role Role
	// RequiredFilters must be given, with one value each; NeedsGoal: the request names a goal.
	RequiredFilters []string
	NeedsGoal       bool
	// NeedsFunnel: the request describes a funnel (Request.Funnel); FunnelOptional: it may.
	NeedsFunnel, FunnelOptional bool
	// NeedsSeries: the request names a series of another metric (Request.Series).
	NeedsSeries bool
	// build writes the statement and returns the result's columns.
	build func(q *query, b *sqlb) []Column
	// prepare, when set, runs before build, in the statement's transaction, and reads what the statement's shape
	// depends on (how many groups, which days session_steps holds).
	prepare func(ctx context.Context, db queryer, q *query) error
	// post, when set, turns the statement's rows into the result (statistics computed in Go).
	post func(q *query, res *Result)
	// derive, instead of build, computes the result from other metrics' (q.inner).
	derive func(ctx context.Context, db *sql.DB, q *query, k int) (*Result, error)
}

// Trailing windows of the active-user counts (4 whole weeks, so that every weekday counts equally).
const (
	wauDays = 7
	mauDays = 28
)

var (
	colTime   = Column{Name: "time", Type: typeTime, Description: "start of the bucket, in the requested time zone's calendar"}
	colUsers  = Column{Name: "users", Type: typeNumber, Unit: "users", Description: "distinct users"}
	colEvents = Column{Name: "events", Type: typeNumber, Unit: "events"}
	// colEventsPerMinute is live's rate: events of its window per minute.
	colEventsPerMinute = Column{Name: "events_per_minute", Type: typeNumber, Unit: "events/min", Description: "events / the window's minutes"}
)

func dimension(name string) Column { return Column{Name: name, Type: typeString} }

func number(name, unit, description string) Column {
	return Column{Name: name, Type: typeNumber, Unit: unit, Description: description}
}

func ordinal(name, unit, description string) Column {
	c := number(name, unit, description)
	c.ordinal = true
	return c
}

// Catalog returns the metrics by name.
func Catalog() map[string]*Metric {
	out := map[string]*Metric{}
	for _, m := range metrics() {
		out[m.Name] = m
	}
	return out
}

func metrics() []*Metric {
	return []*Metric{
		{
			Name: "active_users",
			Description: "Distinct active users per bucket. With interval=day and no group_by: daily, weekly (trailing " +
				"7 days) and monthly (trailing 28 days) active users and stickiness (DAU/MAU).",
			Interval: intervalRequired, Filters: CommonFilters, GroupBy: []string{"plugin", "instance"},
			Columns: []Column{colTime, dimension("plugin|instance (with group_by)"), number("active_users", "users", "distinct users in the bucket"),
				number("wau", "users", "interval=day: distinct users over the trailing 7 days"),
				number("mau", "users", "interval=day: distinct users over the trailing 28 days"),
				number("stickiness", "ratio", "interval=day: active_users / mau")},
			UsersColumn: "active_users", Role: RoleViewer, build: activeUsers, prepare: sizeUserBitmaps,
		},
		{
			Name:        "new_vs_returning",
			Description: "Per bucket, active users seen for the first time in that bucket and those seen before.",
			Interval:    intervalRequired, Filters: CommonFilters,
			Columns: []Column{colTime, number("new_users", "users", ""), number("returning_users", "users", "")},
			Role:    RoleViewer, build: newVsReturning,
		},
		{
			Name: "plugin_adoption",
			Description: "Per plugin over the range: distinct users, events, share of all active users, the " +
				"change in users against the previous period of the same length, and how many of that period's users came back.",
			Filters: CommonFilters,
			Columns: []Column{dimension("plugin"), colUsers, colEvents, number("share", "ratio", "users / all active users"),
				number("previous_users", "users", "users in the previous period"), number("trend", "ratio", "(users - previous_users) / previous_users"),
				number("retained_users", "users", "users of both periods"), number("retention", "ratio", "retained_users / previous_users: do people come back?")},
			UsersColumn: "users", Role: RoleViewer, build: pluginAdoption, prepare: sizePluginAdoption,
		},
		{
			Name:        "feature_adoption",
			Description: "Per plugin and action (and, for clicks, the clicked item): distinct users and events.",
			Filters:     CommonFilters,
			Columns:     []Column{dimension("plugin"), dimension("action"), dimension("subject"), colUsers, colEvents},
			UsersColumn: "users", Role: RoleViewer, build: featureAdoption,
		},
		{
			Name:        "top_entities",
			Description: "Catalog entities by page views (navigate events), with distinct users and all events concerning them.",
			Filters:     CommonFilters,
			Columns:     []Column{dimension("entity_ref"), dimension("entity_kind"), number("views", "views", ""), colUsers, colEvents},
			UsersColumn: "users", Role: RoleViewer, build: topEntities, prepare: sizeTopEntities,
		},
		{
			Name: "templates",
			Description: "Per scaffolder template: runs from the frontend's create events (users, minutes saved from " +
				"their value) and from the backend's scaffolder.task.count (runs, succeeded, failed, success rate).",
			Filters: []string{FilterInstance},
			Columns: []Column{dimension("template"), number("runs", "runs", "create events"), colUsers,
				number("minutes_saved", "minutes", "sum of the create events' value"), number("backend_runs", "runs", "scaffolder.task.count increase"),
				number("succeeded", "runs", "result=ok"), number("failed", "runs", "result=failed"), number("success_rate", "ratio", "succeeded / backend_runs")},
			UsersColumn: "users", Role: RoleViewer, build: templates, prepare: sizeTemplates,
		},
		{
			Name: "search",
			Description: "Search terms with searches, users, zero-result rate, click-through (discover events attributed to " +
				"the latest search within 24 hours before them in the same session) and mean clicked rank; with an interval, the same per bucket over all terms.",
			Interval: intervalOptional, Filters: CommonFilters,
			Columns: []Column{colTime, dimension("term"), number("searches", "searches", ""), colUsers,
				number("zero_result_rate", "ratio", "searches with no result / searches"),
				number("click_through_rate", "ratio", "discover clicks / searches"), number("mean_rank", "rank", "mean rank of clicked results")},
			UsersColumn: "users", Role: RoleViewer, build: search, prepare: sizeSearch,
		},
		{
			Name: "sessions",
			Description: "Sessions (from the sessionization processor's session.end events) that began in the range: sessions, users, " +
				"median and 95th-percentile duration, events per session and bounce rate (sessions of a single event); the plugin " +
				"filter keeps sessions that used one of the plugins; with an interval, per bucket of the sessions' start.",
			Interval: intervalOptional, Filters: []string{FilterPlugin, FilterInstance},
			Columns: []Column{colTime, number("sessions", "sessions", ""), colUsers, number("duration_p50_s", "s", "median duration"),
				number("duration_p95_s", "s", "95th-percentile duration"), number("events_per_session", "events", "mean events per session"),
				number("bounce_rate", "ratio", "sessions of a single event / sessions")},
			Role: RoleViewer, build: sessions,
		},
		{
			Name: "engagement",
			Description: "Engagement tiers (from the engagement processor): users per tier, each counted in the tier of their " +
				"last event in the range (with an interval, in each bucket), and their share; group_by plugin counts the " +
				"users active in each plugin, team the members of each team (sub-teams' included: a team's tier mix); " +
				"filters.team keeps the members of those teams.",
			Interval: intervalOptional, Filters: []string{FilterPlugin, FilterInstance, FilterTeam}, GroupBy: []string{"plugin", "team"},
			Columns: []Column{colTime, dimension("plugin or team (with group_by)"), dimension("tier"), colUsers,
				number("share", "ratio", "users of the tier / users")},
			UsersColumn: "users", Role: RoleTeamLead, build: engagement,
		},
		{
			Name:        "engagement_scores",
			Description: "A histogram of engagement scores (0–100, bins of 10): users by the score of their last event in the range.",
			Filters:     []string{FilterPlugin, FilterInstance},
			Columns:     []Column{number("bin_from", "score", ""), number("bin_to", "score", ""), colUsers},
			Role:        RoleViewer, build: engagementScores,
		},
		experimentResultsMetric(),
		teamAdoptionMetric(),
		teamComparisonMetric(),
		onboardingMetric(),
		crossTeamMetric(),
		retentionMetric(),
		lifecycleMetric(),
		churnMetric(),
		stickinessMetric(),
		funnelMetric(),
		pathsMetric(),
		forecastMetric(),
		anomaliesMetric(),
		roiMetric(),
		recommendationsMetric(),
		experimentsMetric(),
		{
			Name: "techdocs",
			Description: "TechDocs: views and users per documentation site (entity), and its pages not found (a not-found " +
				"page counts for the site its path names); with an interval, views, users and not-found per bucket.",
			Interval: intervalOptional, Filters: []string{FilterEntityKind, FilterInstance},
			Columns:     []Column{colTime, dimension("doc"), number("views", "views", ""), colUsers, number("not_found", "pages", "")},
			UsersColumn: "users", Role: RoleViewer, build: techdocs,
		},
		{
			Name: "platform_health",
			Description: "The backend per plugin (from its HTTP server spans): requests, rate, error rate (5xx), " +
				"p50 and p95 latency; with an interval, per bucket; group_by route: per plugin and route (the spans' http.route).",
			Interval: intervalOptional, Filters: []string{FilterPlugin, FilterInstance}, GroupBy: []string{"route"},
			Columns: []Column{colTime, dimension("plugin"), dimension("route (with group_by)"), number("requests", "requests", ""), number("rate", "req/s", ""),
				number("error_rate", "ratio", "5xx / requests"), number("p50_ms", "ms", ""), number("p95_ms", "ms", "")},
			Role: RoleViewer, build: platformHealth,
		},
		{
			Name:        "live",
			Description: "Users active in the last 5 minutes, their events and the events' rate (from and to are ignored).",
			NoTimeRange: true, Filters: CommonFilters, GroupBy: []string{"plugin"},
			Columns:     []Column{dimension("plugin (with group_by)"), number("active_users", "users", ""), colEvents, colEventsPerMinute},
			UsersColumn: "active_users", Role: RoleViewer, build: live,
		},
		{
			Name:        "events",
			Description: "Raw events, newest first, for drill-down (paginated with limit and offset).",
			Filters:     CommonFilters,
			Columns: []Column{colTime, dimension("event_name"), dimension("action"), dimension("subject"), number("value", "", ""),
				dimension("plugin"), dimension("extension"), dimension("entity_ref"), dimension("user"), dimension("session"), dimension("instance")},
			Role: RoleAnalyst, build: rawEvents,
		},
	}
}

func activeUsers(q *query, b *sqlb) []Column {
	if q.Interval == "day" && q.groupBy() == "" {
		// Each day a user is active opens an interval during which the user counts towards WAU (7 days) and MAU
		// (28 days), closed early by the user's next active day. The intervals of one user never overlap, so a
		// running sum of +1 at their starts and -1 at their ends counts distinct users per day: linear in the
		// active user-days, where joining each day to its trailing window is 28 times that.
		b.WriteString("WITH ud AS (SELECT DISTINCT user_no, date_trunc('day', lt) AS d FROM " +
			b.activity(q, (mauDays-1)*24*time.Hour, false) + "), " +
			"iv AS (SELECT d, lead(d) OVER (PARTITION BY user_no ORDER BY d) AS next FROM ud), " +
			"deltas AS (SELECT d AS day, 1 AS dau, 1 AS wau, 1 AS mau FROM iv " +
			"UNION ALL SELECT d + INTERVAL 1 DAY, -1, 0, 0 FROM iv " +
			"UNION ALL SELECT least(d + INTERVAL " + strconv.Itoa(wauDays) + " DAY, coalesce(next, d + INTERVAL " + strconv.Itoa(wauDays) + " DAY)), 0, -1, 0 FROM iv " +
			"UNION ALL SELECT least(d + INTERVAL " + strconv.Itoa(mauDays) + " DAY, coalesce(next, d + INTERVAL " + strconv.Itoa(mauDays) + " DAY)), 0, 0, -1 FROM iv), " +
			"daily AS (SELECT day, sum(sum(dau)) OVER w AS dau, sum(sum(wau)) OVER w AS wau, sum(sum(mau)) OVER w AS mau " +
			"FROM deltas GROUP BY day WINDOW w AS (ORDER BY day ROWS UNBOUNDED PRECEDING)), " +
			"days AS (SELECT t, lt AS d FROM " + b.buckets(q) + ") " +
			"SELECT days.t AS time, coalesce(last.dau, 0) AS active_users, coalesce(last.wau, 0) AS wau, coalesce(last.mau, 0) AS mau, " +
			"coalesce(last.dau / nullif(last.mau, 0), 0) AS stickiness FROM days " +
			"LEFT JOIN LATERAL (SELECT * FROM daily WHERE daily.day <= days.d ORDER BY daily.day DESC LIMIT 1) last ON true ORDER BY days.t")
		return []Column{colTime, number("active_users", "users", ""), number("wau", "users", ""), number("mau", "users", ""), number("stickiness", "ratio", "")}
	}
	dim := q.groupBy()
	if dim == "" {
		b.WriteString("SELECT buckets.t AS time, count(DISTINCT a.user_no) AS active_users FROM " + b.buckets(q) +
			" LEFT JOIN (SELECT " + b.localBucket(q, "lt") + " AS lt, user_no FROM " + b.activity(q, 0, false) + ") a ON a.lt = buckets.lt GROUP BY 1 ORDER BY 1")
		return []Column{colTime, number("active_users", "users", "")}
	}
	column := map[string]string{"plugin": "plugin_id", "instance": "instance"}[dim]
	b.WriteString("SELECT " + b.instant(q, "lt") + " AS time, " + dim + ", active_users FROM (SELECT " + b.localBucket(q, "lt") + " AS lt, " +
		column + " AS " + dim + ", " + q.distinctUsers("") + " AS active_users FROM " + b.activity(q, 0, dim == "plugin") + " GROUP BY 1, 2) ORDER BY 1, 3 DESC")
	return []Column{colTime, dimension(dim), number("active_users", "users", "")}
}

// maxUserBitmapBytes bounds the memory of the bitmaps sizeUserBitmaps allows.
const maxUserBitmapBytes = 64 << 20

// sizeUserBitmaps decides whether active users per bucket and plugin (or instance) are counted as bitmaps
// (see fitUserBitmaps): that counts the 90 days of daily users per plugin that anomalies read in 13–18 ms against
// 50–56 ms for count(DISTINCT). The groups are bounded by the buckets times the plugins (every plugin of an
// activity event has a feature number) or the instances, and the group without one.
func sizeUserBitmaps(ctx context.Context, db queryer, q *query) error {
	values := map[string]string{
		"plugin":   "SELECT count(DISTINCT plugin_id) FROM feature_numbers",
		"instance": "SELECT count(DISTINCT instance) FROM users",
	}[q.groupBy()]
	if values == "" {
		return nil
	}
	var buckets int64
	for t := bucketStart(q, q.from); t.Before(q.to); t = addBuckets(q, t, 1) {
		buckets++
	}
	return fitUserBitmaps(ctx, db, q, "("+values+") + 1", buckets)
}

// fitUserBitmaps lets a statement count distinct users as bitmaps, a bit per user number (DuckDB's
// bitstring_agg over 1 to the highest number, read in the statement's transaction: the column's statistics are
// lost where a part of the range holds no data), when they fit: groups (SQL: at most how many bitmaps the
// statement builds, times factor) × user numbers / 8 under maxUserBitmapBytes. It sets q.userNumbers, which
// distinctUsers reads.
func fitUserBitmaps(ctx context.Context, db queryer, q *query, groups string, factor int64) error {
	var users, n int64
	if err := db.QueryRowContext(ctx, "SELECT (SELECT coalesce(max(user_no), 0) FROM user_numbers), ("+groups+")").Scan(&users, &n); err != nil {
		return fmt.Errorf("count the groups of %s: %w", q.Metric, err)
	}
	if userBitmapsFit(n*factor, users) {
		q.userNumbers = users
	}
	return nil
}

// distinctUsers counts the distinct user_no of a group's rows that pass filter ("": all): as a bitmap when
// fitUserBitmaps allowed it, else count(DISTINCT).
func (q *query) distinctUsers(filter string) string {
	if filter != "" {
		filter = " FILTER (WHERE " + filter + ")"
	}
	if q.userNumbers > 0 {
		return "coalesce(bit_count(" + q.userBitmap() + filter + "), 0)"
	}
	return "count(DISTINCT user_no)" + filter
}

// userBitmap is the aggregate of a group's user numbers as a bitmap (q.userNumbers > 0).
func (q *query) userBitmap() string {
	return "bitstring_agg(user_no, 1, " + strconv.FormatInt(q.userNumbers, 10) + ")"
}

// userBitmapsFit says whether a bitmap of users bits (and its state's overhead) per group stays under
// maxUserBitmapBytes.
func userBitmapsFit(groups, users int64) bool { return groups*(users/8+64) <= maxUserBitmapBytes }

func newVsReturning(q *query, b *sqlb) []Column {
	// First sightings in wall-clock time too: one conversion per user rather than per active user and bucket.
	b.WriteString("WITH act AS (SELECT DISTINCT user_no, " + b.localBucket(q, "lt") + " AS lt FROM " + b.activity(q, 0, false) + "), " +
		"first AS (SELECT user_no, " + b.local(q, "min(first_seen)") + " AS first_seen FROM users WHERE true" + b.in("instance", q.filter(FilterInstance)) + " GROUP BY 1) " +
		"SELECT buckets.t AS time, count(act.user_no) FILTER (WHERE first.first_seen >= act.lt) AS new_users, " +
		"count(act.user_no) FILTER (WHERE first.first_seen < act.lt) AS returning_users " +
		"FROM " + b.buckets(q) + " LEFT JOIN act ON act.lt = buckets.lt LEFT JOIN first ON first.user_no = act.user_no GROUP BY 1 ORDER BY 1")
	return []Column{colTime, number("new_users", "users", ""), number("returning_users", "users", "")}
}

func pluginAdoption(q *query, b *sqlb) []Column {
	span := q.to.Sub(q.from)
	prev := *q
	prev.from, prev.to = q.from.Add(-span), q.from
	// Both periods in one aggregation: per plugin and block of users, the users of each period as bitmaps, whose
	// AND are the retained. From the daily user sets, a few hundred bitmaps a period rather than a row per user
	// and day: the two periods' aggregation took 2.3 ms against 7.0 over plugin_daily at 10 million events.
	b.WriteString("WITH pb AS (SELECT plugin_id, block, bit_or(users) FILTER (WHERE now) AS cur, bit_or(users) FILTER (WHERE NOT now) AS prev, " +
		"sum(events) FILTER (WHERE now) AS events FROM (SELECT true AS now, * FROM " + b.userSets(q, pluginActivity, "plugin_id", "c") + " UNION ALL " +
		"SELECT false, * FROM " + b.userSets(&prev, pluginActivity, "plugin_id", "p") + ") GROUP BY plugin_id, block), " +
		"per AS (SELECT plugin_id, " + setCount("cur") + " AS users, sum(events) AS events, " + setCount("cur & prev") + " AS retained, " +
		setCount("prev") + " AS previous FROM pb GROUP BY 1), " +
		"total AS (SELECT " + q.distinctUsers("") + " AS n FROM " + b.activity(q, 0, false) + ") " +
		"SELECT plugin_id AS plugin, users, events, users / nullif(total.n, 0) AS share, nullif(previous, 0) AS previous_users, " +
		"(users - previous) / nullif(previous, 0) AS trend, retained AS retained_users, retained / nullif(previous, 0) AS retention " +
		"FROM per CROSS JOIN total WHERE users > 0 ORDER BY users DESC, plugin LIMIT " + b.arg(q.Limit))
	return []Column{dimension("plugin"), colUsers, colEvents, number("share", "ratio", ""), number("previous_users", "users", ""), number("trend", "ratio", ""),
		number("retained_users", "users", ""), number("retention", "ratio", "")}
}

// setCount counts the users of a group's rows of user set bitmaps (one block each, or NULL): its bits.
func setCount(bitmap string) string {
	return "coalesce(sum(bit_count(" + bitmap + ")), 0)::BIGINT"
}

// sizePluginAdoption: the total of active users as a bitmap (the plugins' are user sets).
func sizePluginAdoption(ctx context.Context, db queryer, q *query) error {
	return fitUserBitmaps(ctx, db, q, "SELECT 1", 1)
}

func featureAdoption(q *query, b *sqlb) []Column {
	// Grouped by feature number, then named: grouping by three strings took three times as long.
	b.WriteString("SELECT fn.plugin_id AS plugin, fn.action, fn.subject, users, events FROM (SELECT feature_no, count(DISTINCT user_no) AS users, " +
		"sum(events) AS events FROM " + b.from(q, featureActivity, 0, "f") + " GROUP BY ALL) JOIN feature_numbers fn USING (feature_no) " +
		"ORDER BY users DESC, events DESC, plugin, action, subject LIMIT " + b.arg(q.Limit))
	return []Column{dimension("plugin"), dimension("action"), dimension("subject"), colUsers, colEvents}
}

func topEntities(q *query, b *sqlb) []Column {
	// Grouped by entity number, then named: grouping by the refs' strings took twice as long.
	b.WriteString("SELECT en.entity_ref, entity_kind, views, users, events FROM (SELECT entity_no, entity_kind, sum(views) AS views, " +
		q.distinctUsers("") + " AS users, sum(events) AS events FROM " + b.from(q, entityActivity, 0, "x") + " GROUP BY ALL) " +
		"JOIN entity_numbers en USING (entity_no) ORDER BY views DESC, events DESC, entity_ref LIMIT " + b.arg(q.Limit))
	return []Column{dimension("entity_ref"), dimension("entity_kind"), number("views", "views", ""), colUsers, colEvents}
}

// sizeTopEntities: a bitmap per entity and kind (43-47 against 21-26 ms at 10 million events).
func sizeTopEntities(ctx context.Context, db queryer, q *query) error {
	return fitUserBitmaps(ctx, db, q, "SELECT count(*) FROM entity_numbers", 2)
}

// sizeSearch: a bitmap per term (or bucket), at most one per search_daily row of the range's days (12 against 6 ms).
func sizeSearch(ctx context.Context, db queryer, q *query) error {
	days := "day >= DATE '" + q.from.AddDate(0, 0, -1).Format(time.DateOnly) + "' AND day <= DATE '" + q.to.AddDate(0, 0, 1).Format(time.DateOnly) + "'"
	return fitUserBitmaps(ctx, db, q, "SELECT count(*) FROM search_daily WHERE "+days, 1)
}

// sizeTemplates: a bitmap per template, at most one per entity.
func sizeTemplates(ctx context.Context, db queryer, q *query) error {
	return fitUserBitmaps(ctx, db, q, "SELECT count(*) FROM entity_numbers", 1)
}

// templates joins the frontend's create events with the increase of the backend's cumulative counter
// scaffolder.task.count per series (a series that began before the range counts from its first point in it).
func templates(q *query, b *sqlb) []Column {
	instances := q.filter(FilterInstance)
	b.WriteString("WITH fe AS (SELECT en.entity_ref AS template, sum(creates) AS runs, " + q.distinctUsers("") + " AS users, " +
		"sum(create_value) AS minutes_saved FROM " + b.from(q, entityActivity, 0, "x") + " JOIN entity_numbers en USING (entity_no) " +
		"WHERE entity_kind = 'template' AND creates > 0 GROUP BY 1), " +
		"series AS (SELECT lower(attributes->>'template') AS template, attributes->>'result' AS result, start_ts, service_name, instance, " +
		"bool_or(cumulative) AS cumulative, " +
		"max(value) FILTER (WHERE ts >= " + b.arg(q.from) + ") AS last_in, min(value) FILTER (WHERE ts >= " + b.arg(q.from) + ") AS first_in, " +
		"max(value) FILTER (WHERE ts < " + b.arg(q.from) + ") AS before, sum(value) FILTER (WHERE ts >= " + b.arg(q.from) + ") AS delta " +
		"FROM backend_metrics WHERE metric = 'scaffolder.task.count' AND ts < " + b.arg(q.to) + b.in("coalesce(instance, '')", instances) + " GROUP BY ALL), " +
		"be AS (SELECT template, sum(inc) AS runs, sum(inc) FILTER (WHERE result = 'ok') AS succeeded, sum(inc) FILTER (WHERE result = 'failed') AS failed " +
		"FROM (SELECT template, result, CASE WHEN cumulative THEN coalesce(last_in - coalesce(before, CASE WHEN start_ts >= " + b.arg(q.from) +
		" THEN 0 ELSE first_in END), 0) ELSE coalesce(delta, 0) END AS inc FROM series) GROUP BY 1) " +
		"SELECT coalesce(fe.template, be.template) AS template, fe.runs, fe.users, fe.minutes_saved, be.runs AS backend_runs, be.succeeded, be.failed, " +
		"be.succeeded / nullif(be.runs, 0) AS success_rate FROM fe FULL JOIN be ON fe.template = be.template " +
		"ORDER BY coalesce(fe.runs, 0) + coalesce(be.runs, 0) DESC, template LIMIT " + b.arg(q.Limit))
	return []Column{dimension("template"), number("runs", "runs", ""), colUsers, number("minutes_saved", "minutes", ""),
		number("backend_runs", "runs", ""), number("succeeded", "runs", ""), number("failed", "runs", ""), number("success_rate", "ratio", "")}
}

// search counts each discover (a click on a result) for the search it came from: the latest search at or before
// it, within 24 hours, in the same session (or, without a session id, of the same user), which the store
// attributes as it writes (search_term).
func search(q *query, b *sqlb) []Column {
	b.WriteString("WITH s AS (SELECT * FROM " + b.from(q, searchActivity, 0, "x") + " WHERE term IS NOT NULL) ")
	aggregates := "sum(searches) AS searches, " + q.distinctUsers("searches > 0") + " AS users, " +
		"sum(zero_results) / nullif(sum(searches), 0) AS zero_result_rate, sum(clicks) / nullif(sum(searches), 0) AS click_through_rate, " +
		"sum(rank_sum) / nullif(sum(ranked), 0) AS mean_rank"
	measures := []Column{number("searches", "searches", ""), colUsers, number("zero_result_rate", "ratio", ""),
		number("click_through_rate", "ratio", ""), number("mean_rank", "rank", "")}
	if q.Interval != "" {
		b.WriteString("SELECT " + b.instant(q, "lt") + " AS time, searches, users, zero_result_rate, click_through_rate, mean_rank FROM (SELECT " +
			b.localBucket(q, "lt") + " AS lt, " + aggregates + " FROM s GROUP BY 1) ORDER BY 1")
		return append([]Column{colTime}, measures...)
	}
	b.WriteString("SELECT term, " + aggregates + " FROM s GROUP BY 1 HAVING searches > 0 ORDER BY searches DESC, term LIMIT " + b.arg(q.Limit))
	return append([]Column{dimension("term")}, measures...)
}

func sessions(q *query, b *sqlb) []Column {
	timeColumn, group, columns := "", "", []Column{}
	if q.Interval != "" {
		timeColumn, group, columns = b.bucket(q, "s.start_ts")+" AS time, ", " GROUP BY 1 ORDER BY 1", []Column{colTime}
	}
	b.WriteString("SELECT " + timeColumn + "count(*) AS sessions, count(DISTINCT s.user_key) AS users, " +
		"quantile_cont(s.duration_s, 0.5) AS duration_p50_s, quantile_cont(s.duration_s, 0.95) AS duration_p95_s, " +
		"avg(s.event_count) AS events_per_session, avg(CASE WHEN s.event_count = 1 THEN 1 ELSE 0 END) AS bounce_rate " +
		"FROM sessions s WHERE " + b.timeRange("s.start_ts", q, 0) + b.in("coalesce(s.instance, '')", q.filter(FilterInstance)))
	if plugins := q.filter(FilterPlugin); len(plugins) > 0 {
		b.WriteString(" AND list_has_any(s.plugins, [" + b.list(plugins) + "])")
	}
	b.WriteString(group)
	return append(columns, number("sessions", "sessions", ""), colUsers, number("duration_p50_s", "s", ""), number("duration_p95_s", "s", ""),
		number("events_per_session", "events", ""), number("bounce_rate", "ratio", ""))
}

// engagement counts users by the tier of their last event in the range or bucket (of events at the same instant,
// the one scored last: scores only grow between two instants).
func engagement(q *query, b *sqlb) []Column {
	bucket, by, columns := "0", "", []Column{} // one bucket: the range
	if q.Interval != "" {
		bucket, columns = b.bucket(q, "e.ts"), []Column{colTime}
	}
	b.WriteString("WITH ev AS (SELECT " + bucket + " AS t, e.user_no, e.plugin_id, e.teams, e.engagement_tier AS tier, e.ts, e.engagement_score AS score FROM events e " +
		"WHERE e.engagement_tier IS NOT NULL AND e.user_no IS NOT NULL AND " + b.eventFilters(q, 0) + "), " +
		"last AS (SELECT t, user_no, arg_max(tier, (ts, score)) AS tier FROM ev GROUP BY ALL), ")
	if q.groupBy() == "team" || len(q.filter(FilterTeam)) > 0 {
		b.WriteString("members AS (SELECT * FROM (" + credited("(SELECT DISTINCT t, user_no, teams FROM ev WHERE teams IS NOT NULL)", "x.t, x.user_no") +
			") WHERE true" + b.inTeams(q, "team") + "), ")
	}
	inTeams := "" // the team filter keeps the members of its teams
	if len(q.filter(FilterTeam)) > 0 {
		inTeams = " JOIN (SELECT DISTINCT t, user_no FROM members) USING (t, user_no)"
	}
	switch q.groupBy() {
	case "plugin":
		b.WriteString("dims AS (SELECT DISTINCT t, user_no, plugin_id AS d FROM ev" + inTeams + " WHERE plugin_id IS NOT NULL) ")
		by, columns = "dims.d AS plugin, ", append(columns, dimension("plugin"))
	case "team":
		b.WriteString("dims AS (SELECT t, user_no, team AS d FROM members) ")
		by, columns = "dims.d AS team, ", append(columns, dimension("team"))
	default:
		b.WriteString("dims AS (SELECT DISTINCT t, user_no, NULL AS d FROM last" + inTeams + ") ")
	}
	timeColumn := ""
	if q.Interval != "" {
		timeColumn = "last.t AS time, "
	}
	b.WriteString("SELECT " + timeColumn + by + "last.tier, count(*) AS users, " +
		"count(*) / sum(count(*)) OVER (PARTITION BY last.t, dims.d) AS share FROM last JOIN dims USING (t, user_no) " +
		"GROUP BY last.t, dims.d, last.tier ORDER BY last.t, dims.d, users DESC, last.tier")
	return append(columns, dimension("tier"), colUsers, number("share", "ratio", ""))
}

// engagementScores is a histogram of each user's last score in the range, with the empty bins.
func engagementScores(q *query, b *sqlb) []Column {
	b.WriteString("WITH last AS (SELECT e.user_no, arg_max(e.engagement_score, (e.ts, e.engagement_score)) AS score FROM events e " +
		"WHERE e.engagement_score IS NOT NULL AND e.user_no IS NOT NULL AND " + b.eventFilters(q, 0) + " GROUP BY 1) " +
		"SELECT bins.range AS bin_from, bins.range + 10 AS bin_to, count(last.user_no) AS users FROM range(0, 100, 10) bins " +
		"LEFT JOIN last ON least(floor(last.score / 10) * 10, 90) = bins.range GROUP BY 1, 2 ORDER BY 1")
	return []Column{number("bin_from", "score", ""), number("bin_to", "score", ""), colUsers}
}

func techdocs(q *query, b *sqlb) []Column {
	// Views of a documentation site are the navigate events of its entity in the techdocs plugin; a page not
	// found counts for the site its path names (/docs/<namespace>/<kind>/<name>/…), else for the path.
	b.WriteString("WITH d AS (SELECT lt, en.entity_ref AS doc, user_no, views, 0 AS not_found FROM " + b.from(q, entityActivity, 0, "x") +
		" JOIN entity_numbers en USING (entity_no) WHERE plugin_id = 'techdocs' AND views > 0 UNION ALL SELECT " + b.local(q, "e.ts") + ", " +
		docOfPath("e.subject") + ", e.user_no, 0, 1 FROM events e " +
		"WHERE e.plugin_id = 'techdocs' AND e.action = 'not-found' AND " + b.eventFilters(q, 0) + ") ")
	aggregates := "sum(views) AS views, count(DISTINCT user_no) AS users, sum(not_found) AS not_found"
	measures := []Column{number("views", "views", ""), colUsers, number("not_found", "pages", "")}
	if q.Interval != "" {
		b.WriteString("SELECT " + b.instant(q, "lt") + " AS time, views, users, not_found FROM (SELECT " + b.localBucket(q, "lt") + " AS lt, " +
			aggregates + " FROM d GROUP BY 1) ORDER BY 1")
		return append([]Column{colTime}, measures...)
	}
	b.WriteString("SELECT doc, " + aggregates + " FROM d GROUP BY 1 ORDER BY views DESC, not_found DESC, doc LIMIT " + b.arg(q.Limit))
	return append([]Column{dimension("doc")}, measures...)
}

// docsPath is a TechDocs page's path: /docs/<namespace>/<kind>/<name>/<page>.
const docsPath = `'^/docs/([^/]+)/([^/]+)/([^/]+)'`

// docOfPath is the entity ref of the documentation site a TechDocs path belongs to (the path when it is not one).
func docOfPath(path string) string {
	part := func(i string) string { return "lower(regexp_extract(" + path + ", " + docsPath + ", " + i + "))" }
	return "CASE WHEN regexp_matches(" + path + ", " + docsPath + ") THEN " + part("2") + " || ':' || " + part("1") + " || '/' || " +
		part("3") + " ELSE " + path + " END"
}

func platformHealth(q *query, b *sqlb) []Column {
	seconds := q.to.Sub(q.from).Seconds()
	dims, columns := "coalesce(r.plugin_id, '') AS plugin", []Column{dimension("plugin")}
	if q.groupBy() == "route" {
		dims, columns = dims+", coalesce(r.route, '') AS route", append(columns, dimension("route"))
	}
	timeColumn, order := "", "plugin"
	if q.Interval != "" {
		timeColumn, order, columns = b.bucket(q, "r.ts")+" AS time, ", "time, plugin", append([]Column{colTime}, columns...)
		seconds = intervalSeconds(q.Interval)
	}
	if q.groupBy() == "route" { // the busiest routes
		order = strings.Replace(order, "plugin", "requests DESC, plugin, route", 1)
	}
	b.WriteString("SELECT " + timeColumn + dims + ", count(*) AS requests, count(*) / " + b.arg(seconds) + " AS rate, " +
		"count(*) FILTER (WHERE r.status_code >= 500) / count(*) AS error_rate, " +
		"quantile_cont(r.duration_ms, 0.5) AS p50_ms, quantile_cont(r.duration_ms, 0.95) AS p95_ms " +
		"FROM backend_requests r WHERE " + b.timeRange("r.ts", q, 0) + b.in("r.plugin_id", q.filter(FilterPlugin)) +
		b.in("coalesce(r.instance, '')", q.filter(FilterInstance)) + " GROUP BY ALL ORDER BY " + order + ", requests DESC")
	if q.groupBy() == "route" {
		b.WriteString(" LIMIT " + b.arg(q.Limit))
	}
	return append(columns, number("requests", "requests", ""), number("rate", "req/s", ""), number("error_rate", "ratio", ""),
		number("p50_ms", "ms", ""), number("p95_ms", "ms", ""))
}

// intervalSeconds is a bucket's length for rates (months as 30 days, quarters as 91, years as 365).
func intervalSeconds(interval string) float64 {
	return map[string]float64{"hour": 3600, "day": 86400, "week": 7 * 86400, "month": 30 * 86400, "quarter": 91 * 86400, "year": 365 * 86400}[interval]
}

// liveWindow is what "live" means.
const liveWindow = 5 * time.Minute

func live(q *query, b *sqlb) []Column {
	recent := &query{Request: q.Request}
	recent.to = q.now
	recent.from = q.now.Add(-liveWindow)
	perMinute := "count(*) / " + strconv.FormatFloat(liveWindow.Minutes(), 'f', -1, 64) + " AS events_per_minute"
	if q.groupBy() == "plugin" {
		b.WriteString("SELECT e.plugin_id AS plugin, count(DISTINCT e.user_no) AS active_users, count(*) AS events, " + perMinute + " FROM events e WHERE " +
			analyticsdb.ActivitySQL("e.") + " AND " + b.eventFilters(recent, 0) + " GROUP BY 1 ORDER BY 2 DESC")
		return []Column{dimension("plugin"), number("active_users", "users", ""), colEvents, colEventsPerMinute}
	}
	b.WriteString("SELECT count(DISTINCT e.user_no) AS active_users, count(*) AS events, " + perMinute + " FROM events e WHERE " +
		analyticsdb.ActivitySQL("e.") + " AND " + b.eventFilters(recent, 0))
	return []Column{number("active_users", "users", ""), colEvents, colEventsPerMinute}
}

func rawEvents(q *query, b *sqlb) []Column {
	b.WriteString("SELECT e.ts AS time, e.event_name, e.action, e.subject, e.value, e.plugin_id, e.extension_id, e.entity_ref, e.user_key, " +
		"e.session_id, e.instance FROM events e WHERE " + b.eventFilters(q, 0) + " ORDER BY e.ts DESC, e.event_id LIMIT " + b.arg(q.Limit) +
		" OFFSET " + b.arg(q.Offset))
	return []Column{colTime, dimension("event_name"), dimension("action"), dimension("subject"), number("value", "", ""),
		dimension("plugin"), dimension("extension"), dimension("entity_ref"), dimension("user"), dimension("session"), dimension("instance")}
}
