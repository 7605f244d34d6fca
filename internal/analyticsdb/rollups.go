package analyticsdb

import (
	"context"
	"database/sql/driver"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/insights-collector/insights-collector/internal/semconv"
)

// The daily rollups: what the dashboards read instead of the events. A row holds one day (in the store's
// rollup time zone), one key and its counts; rows of one day and key repeat, one per write, until compaction
// merges them, and queries sum them. They are fed in Go at each write (dailyAggregates) and can be rebuilt
// from the events in SQL (rebuildSQL); a test checks that both give the same rows.
var dailyRollups = []rollup{
	{
		table:  "user_daily",
		period: "day",
		merged: "day, instance, user_no, sum(events)::BIGINT",
		rebuildSQL: "SELECT %[1]s, coalesce(instance, ''), user_no, count(*) FROM events " +
			"WHERE user_no IS NOT NULL AND " + ActivitySQL("") + " GROUP BY ALL",
	},
	{
		table:  "plugin_daily",
		period: "day",
		merged: "day, instance, plugin_id, user_no, sum(events)::BIGINT",
		rebuildSQL: "SELECT %[1]s, coalesce(instance, ''), plugin_id, user_no, count(*) FROM events " +
			"WHERE user_no IS NOT NULL AND plugin_id IS NOT NULL AND " + ActivitySQL("") + " GROUP BY ALL",
		sets: &userSets{table: "plugin_users", keys: "instance, plugin_id", sums: "sum(events)::BIGINT"},
	},
	{
		table:  "entity_daily",
		period: "day",
		merged: "day, instance, plugin_id, entity_kind, entity_no, user_no, sum(views)::BIGINT, sum(events)::BIGINT, " +
			"sum(creates)::BIGINT, sum(create_value)",
		rebuildSQL: "SELECT %[1]s, coalesce(instance, ''), plugin_id, entity_kind, entity_no, user_no, " +
			"count(*) FILTER (WHERE action = '" + semconv.ActionNavigate + "'), count(*), count(*) FILTER (WHERE action = '" + semconv.ActionCreate + "'), " +
			"sum(value) FILTER (WHERE action = '" + semconv.ActionCreate + "') FROM events JOIN entity_numbers USING (entity_ref) GROUP BY ALL",
	},
	{
		table:  "feature_daily",
		period: "day",
		merged: "day, instance, plugin_id, feature_no, user_no, sum(events)::BIGINT",
		rebuildSQL: "SELECT %[1]s, coalesce(e.instance, ''), e.plugin_id, f.feature_no, e.user_no, count(*) " +
			"FROM events e JOIN feature_numbers f ON " + FeatureJoinSQL("e", "f") + " WHERE " + ActivitySQL("e.") + " GROUP BY ALL",
	},
	{
		// Searches and the clicks on their results (discovers, counted for the search they are attributed to):
		// the search metric reads a row per term, user and day instead of every search and click.
		table:  "search_daily",
		period: "day",
		merged: "day, instance, plugin_id, entity_kind, term, user_no, sum(searches)::BIGINT, sum(zero_results)::BIGINT, " +
			"sum(clicks)::BIGINT, sum(rank_sum), sum(ranked)::BIGINT",
		rebuildSQL: "SELECT %[1]s, coalesce(instance, ''), plugin_id, entity_kind, term, user_no, " +
			"count(*) FILTER (WHERE action = '" + semconv.ActionSearch + "'), " +
			"count(*) FILTER (WHERE action = '" + semconv.ActionSearch + "' AND value = 0), " +
			"count(*) FILTER (WHERE action = '" + semconv.ActionDiscover + "'), " +
			"sum(value) FILTER (WHERE action = '" + semconv.ActionDiscover + "'), " +
			"count(value) FILTER (WHERE action = '" + semconv.ActionDiscover + "') " +
			"FROM (SELECT *, " + SearchTermSQL("") + " AS term FROM events WHERE action IN ('" + semconv.ActionSearch + "', '" +
			semconv.ActionDiscover + "')) WHERE term IS NOT NULL GROUP BY ALL",
	},
	{
		// The users' activity per teams list: the team metrics' input.
		table:  "team_daily",
		period: "day",
		merged: "day, instance, user_no, teams, sum(events)::BIGINT, sum(runs)::BIGINT, sum(run_value), sum(runs_valued)::BIGINT, " +
			"sum(searches)::BIGINT, sum(finds)::BIGINT, sum(docs)::BIGINT",
		rebuildSQL: "SELECT %[1]s, coalesce(instance, ''), user_no, teams, count(*), count(*) FILTER (WHERE " + TemplateRunSQL("") + "), " +
			"sum(value) FILTER (WHERE " + TemplateRunSQL("") + "), count(value) FILTER (WHERE " + TemplateRunSQL("") + "), " +
			"count(*) FILTER (WHERE action = '" + semconv.ActionSearch + "'), count(*) FILTER (WHERE " + FoundSearchSQL("") + "), " +
			"count(*) FILTER (WHERE " + DocsViewSQL("") + ") FROM events WHERE user_no IS NOT NULL AND len(teams) > 0 AND " + ActivitySQL("") + " GROUP BY ALL",
	},
}

// TemplateRunSQL, FoundSearchSQL and DocsViewSQL are the conditions on an event (of the events table, or of its
// alias given as "e.") that it is a template run (a create of an entity: the template), a search that found
// something (a click on a result, attributed to a search) and a view of an entity's TechDocs.
func TemplateRunSQL(alias string) string {
	return alias + "action = '" + semconv.ActionCreate + "' AND " + alias + "entity_ref IS NOT NULL"
}

func FoundSearchSQL(alias string) string {
	return alias + "action = '" + semconv.ActionDiscover + "' AND " + alias + "search_term IS NOT NULL"
}

func DocsViewSQL(alias string) string {
	return alias + "action = '" + semconv.ActionNavigate + "' AND " + alias + "plugin_id = 'techdocs' AND " + alias + "entity_ref IS NOT NULL"
}

// ActivitySQL is the condition on an event (of the events table, or of its alias given as "e.") that it is
// something a user did — a Backstage event — rather than an event the pipeline derived (an engagement tier
// change, an experiment exposure), which must not make its user count as active.
func ActivitySQL(alias string) string {
	return "starts_with(" + alias + "event_name, '" + semconv.EventNamePrefix + "')"
}

// isActivity is ActivitySQL in Go.
func isActivity(eventName string) bool { return strings.HasPrefix(eventName, semconv.EventNamePrefix) }

// FeatureJoinSQL is the condition joining an event (alias e) to its feature's number (alias f): the plugin, the
// action and, for a click, the clicked item.
func FeatureJoinSQL(e, f string) string {
	return f + ".plugin_id IS NOT DISTINCT FROM " + e + ".plugin_id AND " + f + ".action IS NOT DISTINCT FROM " + e + ".action AND " +
		f + ".subject IS NOT DISTINCT FROM (CASE WHEN " + e + ".action = '" + semconv.ActionClick + "' THEN " + e + ".subject END)"
}

// SearchTermSQL is the SQL of the search term of a search or discover event (of the events table, or of its
// alias given as "e."): a search's subject, or the term of the search a discover is attributed to.
func SearchTermSQL(alias string) string {
	return "CASE WHEN " + alias + "action = '" + semconv.ActionSearch + "' THEN " + alias + "subject ELSE " + alias + "search_term END"
}

// localDate is the SQL of the date of a TIMESTAMPTZ expression in a time zone, as dayCutter computes it in Go.
func localDate(tz, expr string) string {
	return "CAST(timezone('" + strings.ReplaceAll(tz, "'", "''") + "', " + expr + ") AS DATE)"
}

// dayCutter finds the date of an instant in a time zone; it remembers the last day's bounds, since the events
// of one write mostly share a few days.
type dayCutter struct {
	loc        *time.Location
	start, end int64 // the last day's bounds, in Unix seconds
	date       int64 // the last day's date, as the Unix seconds of its midnight in UTC (what the appender stores for a DATE)
	valid      bool
}

func (c *dayCutter) dayOf(ts time.Time) int64 {
	if u := ts.Unix(); c.valid && u >= c.start && u < c.end {
		return c.date
	}
	y, m, d := ts.In(c.loc).Date()
	c.start = time.Date(y, m, d, 0, 0, 0, 0, c.loc).Unix()
	c.end = time.Date(y, m, d+1, 0, 0, 0, 0, c.loc).Unix()
	c.date = time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix()
	c.valid = true
	return c.date
}

// nullString is a comparable nullable string, for the keys of columns that may be NULL.
type nullString struct {
	s     string
	valid bool
}

func nullStringOf(v driver.Value) nullString {
	s, ok := v.(string)
	return nullString{s, ok}
}

func (n nullString) value() driver.Value {
	if !n.valid {
		return nil
	}
	return n.s
}

// userNo is a user number in a rollup key; 0 is no user (NULL).
type userNo uint32

func userNoOf(v driver.Value) userNo {
	n, _ := v.(uint32)
	return userNo(n)
}

func (u userNo) value() driver.Value {
	if u == 0 {
		return nil
	}
	return uint32(u)
}

type userDay struct {
	day      int64
	instance string
	user     userNo
}

type pluginDay struct {
	userDay
	plugin string
}

type entityDay struct {
	day          int64
	instance     string
	entity       uint32
	plugin, kind nullString
	user         userNo
}

type entityCounts struct {
	views, events, creates int64
	createValue            float64
	hasCreateValue         bool // SQL's sum over no values is NULL
}

type featureDay struct {
	day      int64
	instance string
	plugin   nullString
	feature  uint32
	user     userNo
}

type searchDay struct {
	day          int64
	instance     string
	plugin, kind nullString
	term         string
	user         userNo
}

type searchCounts struct {
	searches, zeroResults, clicks, ranked int64
	rankSum                               float64
}

type teamDay struct {
	userDay
	teams string // the list, joined by teamSep
}

// teamSep joins a teams list into a map key; group refs never hold it.
const teamSep = "\x00"

type teamCounts struct {
	events, runs, runsValued, searches, finds, docs int64
	runValue                                        float64
}

type seen struct{ first, last time.Time }

type instanceUser struct {
	instance string
	user     userNo
}

// dailyAggregates are the rollup rows of one write, aggregated in Go.
type dailyAggregates struct {
	cut         dayCutter
	entityNos   *numbering[string]
	featureNos  *numbering[feature]
	routeNos    *numbering[string]
	users       map[userDay]int64
	plugins     map[pluginDay]int64
	entities    map[entityDay]entityCounts
	features    map[featureDay]int64
	searches    map[searchDay]searchCounts
	teams       map[teamDay]teamCounts
	pageViews   [][]driver.Value      // rows of page_views: the write's numbered page views
	sessionDays []time.Time           // the days of the sessions of pageViews (session_steps)
	firstLast   map[instanceUser]seen // users: first and last time per instance and user
	days        map[int64]bool
}

func newDailyAggregates(loc *time.Location, entities *numbering[string], features *numbering[feature], routes *numbering[string]) *dailyAggregates {
	return &dailyAggregates{
		cut: dayCutter{loc: loc}, entityNos: entities, featureNos: features, routeNos: routes,
		users: map[userDay]int64{}, plugins: map[pluginDay]int64{}, entities: map[entityDay]entityCounts{},
		features: map[featureDay]int64{}, searches: map[searchDay]searchCounts{}, teams: map[teamDay]teamCounts{}, firstLast: map[instanceUser]seen{},
		days: map[int64]bool{},
	}
}

// Positions of the rollups' inputs in an event row.
var (
	tsAt         = slices.Index(eventColumns, "ts")
	eventNameAt  = slices.Index(eventColumns, "event_name")
	userKeyAt    = slices.Index(eventColumns, "user_key")
	sessionIDAt  = slices.Index(eventColumns, "session_id")
	actionAt     = slices.Index(eventColumns, "action")
	subjectAt    = slices.Index(eventColumns, "subject")
	valueAt      = slices.Index(eventColumns, "value")
	pluginAt     = slices.Index(eventColumns, "plugin_id")
	entityRefAt  = slices.Index(eventColumns, "entity_ref")
	entityKindAt = slices.Index(eventColumns, "entity_kind")
	instanceAt   = slices.Index(eventColumns, "instance")
)

// add counts one event row.
func (a *dailyAggregates) add(row []driver.Value) {
	ts := row[tsAt].(time.Time)
	day := a.cut.dayOf(ts)
	instance, _ := row[instanceAt].(string)
	user := userNoOf(row[userNoAt])
	plugin := nullStringOf(row[pluginAt])
	action := nullStringOf(row[actionAt])
	a.days[day] = true

	if ref, ok := row[entityRefAt].(string); ok {
		key := entityDay{day, instance, a.entityNos.of(ref), plugin, nullStringOf(row[entityKindAt]), user}
		c := a.entities[key]
		c.events++
		switch {
		case action.valid && action.s == semconv.ActionNavigate:
			c.views++
		case action.valid && action.s == semconv.ActionCreate:
			c.creates++
			if v, ok := row[valueAt].(float64); ok {
				c.createValue += v
				c.hasCreateValue = true
			}
		}
		a.entities[key] = c
	}
	activity := isActivity(row[eventNameAt].(string))
	if activity {
		var subject nullString
		if action.valid && action.s == semconv.ActionClick {
			subject = nullStringOf(row[subjectAt])
		}
		a.features[featureDay{day, instance, plugin, a.featureNos.of(feature{plugin, action, subject}), user}]++
	}
	if action.valid && (action.s == semconv.ActionSearch || action.s == semconv.ActionDiscover) {
		a.addSearch(row, day, instance, plugin, action.s, user)
	}
	if user == 0 || !activity {
		return
	}
	key := userDay{day, instance, user}
	a.users[key]++
	if plugin.valid {
		a.plugins[pluginDay{key, plugin.s}]++
	}
	if teams, _ := row[teamsAt].([]string); len(teams) > 0 {
		a.addTeams(row, teamDay{key, strings.Join(teams, teamSep)}, plugin, action)
	}
	if action.valid && action.s == semconv.ActionNavigate {
		a.addPageView(row, instance, user)
	}
	id := instanceUser{instance, user}
	fl, ok := a.firstLast[id]
	if !ok || ts.Before(fl.first) {
		fl.first = ts
	}
	if !ok || ts.After(fl.last) {
		fl.last = ts
	}
	a.firstLast[id] = fl
}

// addPageView keeps a page view that the sessionization processor numbered, for page_views.
func (a *dailyAggregates) addPageView(row []driver.Value, instance string, user userNo) {
	start, ok1 := row[sessionStartAt].(int64)
	page, ok2 := row[sessionPageAt].(int64)
	view, ok3 := row[sessionViewAt].(int64)
	if ok1 && ok2 && ok3 {
		var route, routeNo driver.Value
		if subject, ok := row[subjectAt].(string); ok {
			route = routePattern(subject)
			routeNo = a.routeNos.of(route.(string))
		}
		a.pageViews = append(a.pageViews, []driver.Value{row[tsAt], instance, uint32(user), start, page, view, row[pluginAt], row[subjectAt], route, routeNo})
		if day := SessionDay(start); !slices.Contains(a.sessionDays, day) {
			a.sessionDays = append(a.sessionDays, day)
		}
	}
}

// addTeams counts an event of a user for the teams list it names.
func (a *dailyAggregates) addTeams(row []driver.Value, key teamDay, plugin, action nullString) {
	c := a.teams[key]
	c.events++
	_, hasEntity := row[entityRefAt].(string)
	switch {
	case action.valid && action.s == semconv.ActionCreate && hasEntity:
		c.runs++
		if v, ok := row[valueAt].(float64); ok {
			c.runValue += v
			c.runsValued++
		}
	case action.valid && action.s == semconv.ActionSearch:
		c.searches++
	case action.valid && action.s == semconv.ActionDiscover && row[searchTermAt] != nil:
		c.finds++
	case action.valid && action.s == semconv.ActionNavigate && plugin.valid && plugin.s == "techdocs" && hasEntity:
		c.docs++
	}
	a.teams[key] = c
}

// addSearch counts a search, or a click on a result (a discover) for the term of its search.
func (a *dailyAggregates) addSearch(row []driver.Value, day int64, instance string, plugin nullString, action string, user userNo) {
	term, ok := row[subjectAt].(string)
	if action == semconv.ActionDiscover {
		term, ok = row[searchTermAt].(string)
	}
	if !ok {
		return
	}
	key := searchDay{day, instance, plugin, nullStringOf(row[entityKindAt]), term, user}
	c := a.searches[key]
	value, hasValue := row[valueAt].(float64)
	if action == semconv.ActionSearch {
		c.searches++
		if hasValue && value == 0 {
			c.zeroResults++
		}
	} else {
		c.clicks++
		if hasValue {
			c.rankSum += value
			c.ranked++
		}
	}
	a.searches[key] = c
}

// tables returns the rows of each rollup table, in the tables' column order.
func (a *dailyAggregates) tables() map[string][][]driver.Value {
	out := map[string][][]driver.Value{}
	for k, n := range a.users {
		out["user_daily"] = append(out["user_daily"], []driver.Value{unixTime(k.day), k.instance, uint32(k.user), n})
	}
	for k, n := range a.plugins {
		out["plugin_daily"] = append(out["plugin_daily"], []driver.Value{unixTime(k.day), k.instance, k.plugin, uint32(k.user), n})
	}
	for k, c := range a.entities {
		out["entity_daily"] = append(out["entity_daily"], []driver.Value{unixTime(k.day), k.instance, k.plugin.value(),
			k.kind.value(), k.entity, k.user.value(), c.views, c.events, c.creates, c.createValueOrNull()})
	}
	for k, n := range a.features {
		out["feature_daily"] = append(out["feature_daily"], []driver.Value{unixTime(k.day), k.instance, k.plugin.value(),
			k.feature, k.user.value(), n})
	}
	for k, c := range a.searches {
		var rankSum driver.Value
		if c.ranked > 0 {
			rankSum = c.rankSum
		}
		out["search_daily"] = append(out["search_daily"], []driver.Value{unixTime(k.day), k.instance, k.plugin.value(),
			k.kind.value(), k.term, k.user.value(), c.searches, c.zeroResults, c.clicks, rankSum, c.ranked})
	}
	for k, c := range a.teams {
		var runValue driver.Value
		if c.runsValued > 0 {
			runValue = c.runValue
		}
		out["team_daily"] = append(out["team_daily"], []driver.Value{unixTime(k.day), k.instance, uint32(k.user), strings.Split(k.teams, teamSep),
			c.events, c.runs, runValue, c.runsValued, c.searches, c.finds, c.docs})
	}
	out["page_views"] = a.pageViews
	for id, fl := range a.firstLast {
		out["users"] = append(out["users"], []driver.Value{id.instance, uint32(id.user), fl.first, fl.last})
	}
	return out
}

func (c entityCounts) createValueOrNull() driver.Value {
	if !c.hasCreateValue {
		return nil
	}
	return c.createValue
}

func unixTime(sec int64) time.Time { return time.Unix(sec, 0).UTC() }

// appendRollups adds the aggregates of one write to the rollups and marks the days they touched for the
// compaction; the caller holds s.mu inside a transaction.
func (s *Store) appendRollups(ctx context.Context, a *dailyAggregates) error {
	tables := a.tables()
	for _, table := range append(rollupTables(dailyRollups), "users", "page_views") {
		if err := s.appendRows(table, tables[table]); err != nil {
			return err
		}
	}
	days := make([]time.Time, 0, len(a.days))
	for day := range a.days {
		days = append(days, unixTime(day))
	}
	marks := map[string][]time.Time{}
	for _, r := range dailyRollups {
		marks[r.table] = days
	}
	if len(tables["users"]) > 0 {
		marks["users"] = []time.Time{wholeTable}
	}
	marks[sessionSteps] = a.sessionDays
	return s.markDays(ctx, marks)
}

func rollupTables(rs []rollup) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.table
	}
	return out
}

// rollupTimezoneSetting is the store_settings row naming the time zone the daily rollups are cut in.
const rollupTimezoneSetting = "rollup_timezone"

// ensureRollupTimezone rebuilds the daily rollups from the events when they were cut in another time zone than
// the configured one (or never built: a database from before the daily rollups).
func (s *Store) ensureRollupTimezone(ctx context.Context) (rebuilt bool, err error) {
	var current string
	err = s.db.QueryRowContext(ctx, `SELECT coalesce(max(value), '') FROM store_settings WHERE name = ?`, rollupTimezoneSetting).Scan(&current)
	if err != nil {
		return false, fmt.Errorf("read the rollup time zone: %w", err)
	}
	if current == s.loc.String() {
		return false, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return true, s.inTx(ctx, func() error {
		for _, r := range dailyRollups {
			queries := []string{
				"DELETE FROM " + r.table,
				"INSERT INTO " + r.table + " " + fmt.Sprintf(r.rebuildSQL, localDate(s.loc.String(), "ts")),
				"DELETE FROM rollup_days WHERE rollup = '" + r.table + "'",
			}
			if r.sets != nil { // the compaction builds them again
				queries = append(queries, "DELETE FROM "+r.sets.table, markAllSQL(r.table))
			}
			for _, q := range queries {
				if _, err := s.writeConn.ExecContext(ctx, q); err != nil {
					return fmt.Errorf("rebuild %s in time zone %s: %w", r.table, s.loc, err)
				}
			}
		}
		_, err := s.writeConn.ExecContext(ctx, `INSERT OR REPLACE INTO store_settings VALUES (?, ?)`, rollupTimezoneSetting, s.loc.String())
		return err
	})
}
