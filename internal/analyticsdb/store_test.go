package analyticsdb

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/insights-collector/insights-collector/internal/backstagesamples"
	"github.com/insights-collector/insights-collector/internal/semconv"
	"github.com/insights-collector/insights-collector/internal/simulator"
	"github.com/insights-collector/insights-collector/internal/wireformat"
)

var now = time.Date(2026, 11, 25, 20, 0, 0, 0, time.UTC)

func openStore(t testing.TB) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "data", "insights.duckdb")
	s, err := Open(context.Background(), Options{Path: path, MemoryLimit: "256MB", Threads: 2})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	return s, path
}

// simulatedLogs is a day of simulated traffic as contract records (as the receiver would pass them on).
func simulatedLogs(t testing.TB, users int) (plog.Logs, []wireformat.Occurrence) {
	cfg := simulator.DefaultConfig()
	cfg.Start, cfg.Days, cfg.Users, cfg.Teams = now.Add(-24*time.Hour), 1, users, 3
	w, err := simulator.NewWorld(cfg)
	require.NoError(t, err)
	occs := w.Day(0)
	require.NotEmpty(t, occs)
	ld := wireformat.OTLP(occs)
	ld.ResourceLogs().At(0).Resource().Attributes().PutStr(semconv.ResourceInstance, "portal-eu")
	return ld, occs
}

func count(t testing.TB, s *Store, query string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, s.DB().QueryRow(query, args...).Scan(&n))
	return n
}

// rowsOf returns a query's rows, each printed.
func rowsOf(t *testing.T, s *Store, query string) []string {
	t.Helper()
	rows, err := s.DB().Query(query)
	require.NoError(t, err)
	defer rows.Close()
	cols, err := rows.Columns()
	require.NoError(t, err)
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		require.NoError(t, rows.Scan(ptrs...))
		out = append(out, fmt.Sprint(vals...))
	}
	require.NoError(t, rows.Err())
	return out
}

func TestWriteLogsIsIdempotent(t *testing.T) {
	s, _ := openStore(t)
	ld, occs := simulatedLogs(t, 30)
	res, err := s.WriteLogs(context.Background(), ld, now)
	require.NoError(t, err)
	assert.Equal(t, len(occs), res.Stored)
	assert.Zero(t, res.Duplicates)

	again, err := s.WriteLogs(context.Background(), ld, now)
	require.NoError(t, err)
	assert.Zero(t, again.Stored, "a batch delivered twice is stored once")
	assert.Equal(t, len(occs), again.Duplicates)
	assert.Equal(t, len(occs), count(t, s, `SELECT count(*) FROM events`))

	// The rollups count each event once too.
	assert.Equal(t, len(occs), count(t, s, `SELECT sum(events)::INTEGER FROM user_daily`))
	users := map[string]bool{}
	for _, o := range occs {
		users[o.User] = true
	}
	assert.Equal(t, len(users), count(t, s, `SELECT count(*) FROM users WHERE instance = 'portal-eu'`))
}

func TestEventColumns(t *testing.T) {
	s, _ := openStore(t)
	occs, err := backstagesamples.AnalyticsEvents()
	require.NoError(t, err)
	for i := range occs {
		occs[i].ID = fmt.Sprintf("00000000-0000-8000-8000-%012d", i)
		occs[i].SessionID = "s1"
		occs[i].Teams = []string{"group:default/guests"}
	}
	_, err = s.WriteLogs(context.Background(), wireformat.OTLP(occs), now)
	require.NoError(t, err)

	var action, plugin, entity, userKey, attrs, service string
	var teams []any
	require.NoError(t, s.DB().QueryRow(`SELECT action, plugin_id, entity_ref, user_key, attributes::VARCHAR, service_name, teams
		FROM events WHERE action = 'create'`).Scan(&action, &plugin, &entity, &userKey, &attrs, &service, &teams))
	assert.Equal(t, "create", action)
	assert.Equal(t, "scaffolder", plugin)
	assert.Equal(t, "template:default/local-debug-template", entity)
	assert.Equal(t, "user:development/guest", userKey)
	assert.JSONEq(t, `{"backstage.attributes.templateSteps":1}`, attrs, "the rest of the attributes as JSON")
	assert.Equal(t, "backstage", service)
	assert.Equal(t, []any{"group:default/guests"}, teams)
	var searchValue float64
	require.NoError(t, s.DB().QueryRow(`SELECT value FROM events WHERE action = 'search' AND subject = 'example'`).Scan(&searchValue))
	assert.Equal(t, 4.0, searchValue)
}

func TestRejectsEventsWithoutAnID(t *testing.T) {
	s, _ := openStore(t)
	ld := plog.NewLogs()
	lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	good := lrs.AppendEmpty()
	good.SetEventName("backstage.click")
	good.Attributes().PutStr(semconv.AttrEventID, "0193a0f0-5b7e-7cde-8f00-0123456789ab")
	noID := lrs.AppendEmpty()
	noID.SetEventName("backstage.click")
	badID := lrs.AppendEmpty()
	badID.SetEventName("backstage.click")
	badID.Attributes().PutStr(semconv.AttrEventID, "not-a-uuid")
	lrs.AppendEmpty().Body().SetStr("a plain log line")

	res, err := s.WriteLogs(context.Background(), ld, now)
	require.NoError(t, err)
	assert.Equal(t, 1, res.Stored)
	assert.Equal(t, 1, res.Skipped)
	require.Len(t, res.Rejected, 2)
	assert.Equal(t, 1, res.Rejected[0].Index)
	assert.Contains(t, res.Rejected[0].Reason, "has no insights.event.id")
	assert.Contains(t, res.Rejected[1].Reason, "is not a UUID")
}

// closedStore writes a day of simulated traffic into a new store file and closes it.
func closedStore(t *testing.T) (path string, ld plog.Logs, occs []wireformat.Occurrence) {
	path = filepath.Join(t.TempDir(), "insights.duckdb")
	s, err := Open(context.Background(), Options{Path: path})
	require.NoError(t, err)
	ld, occs = simulatedLogs(t, 10)
	_, err = s.WriteLogs(context.Background(), ld, now)
	require.NoError(t, err)
	require.NoError(t, s.Close(context.Background()))
	return path, ld, occs
}

func TestReopenKeepsDataAndBatches(t *testing.T) {
	path, ld, occs := closedStore(t)
	s, err := Open(context.Background(), Options{Path: path})
	require.NoError(t, err)
	defer s.Close(context.Background())
	assert.Equal(t, len(occs), count(t, s, `SELECT count(*) FROM events`))
	assert.Equal(t, int64(2), s.nextBatch, "write numbers continue after the last stored one")
	res, err := s.WriteLogs(context.Background(), ld, now)
	require.NoError(t, err)
	assert.Zero(t, res.Stored, "ids are remembered across restarts")
	assert.Equal(t, len(migrations), count(t, s, `SELECT count(*) FROM schema_migrations`))
}

func TestRetention(t *testing.T) {
	s, _ := openStore(t)
	ld, occs := simulatedLogs(t, 20)
	_, err := s.WriteLogs(context.Background(), ld, now)
	require.NoError(t, err)
	cutoff := occs[len(occs)/2].Time
	want := 0
	for _, o := range occs {
		if o.Time.Before(cutoff) {
			want++
		}
	}
	deleted, err := s.DeleteOlderThan(context.Background(), cutoff)
	require.NoError(t, err)
	assert.Equal(t, int64(want), deleted["events"])
	assert.Equal(t, len(occs)-want, count(t, s, `SELECT count(*) FROM events`))
	assert.Zero(t, count(t, s, `SELECT count(*) FROM events WHERE ts < ?`, cutoff))
	for _, table := range rollupTables(dailyRollups) {
		assert.Zero(t, count(t, s, "SELECT count(*) FROM "+table+" WHERE day + INTERVAL 1 DAY <= ?", cutoff), table)
	}
}

func TestEraseUser(t *testing.T) {
	s, _ := openStore(t)
	ld, occs := simulatedLogs(t, 20)
	_, err := s.WriteLogs(context.Background(), ld, now)
	require.NoError(t, err)
	victim := occs[0].User
	own := 0
	for _, o := range occs {
		if o.User == victim {
			own++
		}
	}
	number := count(t, s, `SELECT user_no FROM user_numbers WHERE user_key = ?`, victim)
	require.Positive(t, count(t, s, `SELECT count(*) FROM user_daily WHERE user_no = ?`, number))
	deleted, err := s.EraseUser(context.Background(), victim)
	require.NoError(t, err)
	assert.Equal(t, int64(own), deleted["events"])
	assert.Equal(t, int64(1), deleted["users"])
	assert.Equal(t, int64(1), deleted["user_numbers"])
	assert.Zero(t, count(t, s, "SELECT count(*) FROM events WHERE user_key = ?", victim))
	for _, table := range append(rollupTables(dailyRollups), "users") {
		assert.Zero(t, count(t, s, "SELECT count(*) FROM "+table+" WHERE user_no = ?", number), table)
	}
	assert.Equal(t, len(occs)-own, count(t, s, `SELECT count(*) FROM events`))

	// Back after the erasure (new events), the user is a new user with a new number.
	records := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	for i := range records.Len() {
		records.At(i).Attributes().PutStr(semconv.AttrEventID, uuid.NewString())
	}
	_, err = s.WriteLogs(context.Background(), ld, now)
	require.NoError(t, err)
	assert.Greater(t, count(t, s, `SELECT user_no FROM user_numbers WHERE user_key = ?`, victim), number)
	assert.Equal(t, own, count(t, s, "SELECT sum(events)::INTEGER FROM user_daily JOIN user_numbers USING (user_no) WHERE user_key = ?", victim))
}

func TestCompactRollups(t *testing.T) {
	s, _ := openStore(t)
	ld, occs := simulatedLogs(t, 20)
	// Two writes of the same day leave two rollup rows per key; compaction merges them.
	half := plog.NewLogs()
	ld.ResourceLogs().At(0).CopyTo(half.ResourceLogs().AppendEmpty())
	records := half.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	i := 0
	records.RemoveIf(func(plog.LogRecord) bool { i++; return i%2 == 0 })
	_, err := s.WriteLogs(context.Background(), half, now)
	require.NoError(t, err)
	_, err = s.WriteLogs(context.Background(), ld, now)
	require.NoError(t, err)
	before := count(t, s, `SELECT count(*) FROM feature_daily`)
	require.NoError(t, s.CompactRollups(context.Background()))
	after := count(t, s, `SELECT count(*) FROM feature_daily`)
	assert.Less(t, after, before)
	assert.Equal(t, after, count(t, s, `SELECT count(*) FROM (SELECT DISTINCT day, instance, plugin_id, feature_no, user_no FROM feature_daily)`))
	assert.Equal(t, count(t, s, `SELECT count(*) FROM (SELECT DISTINCT day, instance, user_no FROM user_daily)`), count(t, s, `SELECT count(*) FROM user_daily`))
	assert.Zero(t, count(t, s, `SELECT count(*) FROM rollup_days`), "every touched day was compacted")
	assert.Equal(t, len(occs), count(t, s, `SELECT sum(events)::INTEGER FROM user_daily`))
	assert.Equal(t, len(occs), count(t, s, `SELECT sum(events)::INTEGER FROM plugin_daily`))
	assert.Equal(t, count(t, s, `SELECT count(DISTINCT user_no) FROM users`), count(t, s, `SELECT count(*) FROM users`), "one row per user")
}

// Every attribute of the contract has a typed column, and the writers append the tables' columns in order.
func TestColumnsMatchTheTablesAndTheContract(t *testing.T) {
	s, _ := openStore(t)
	for table, columns := range map[string][]string{"events": eventColumns, "event_details": detailColumns, "backend_requests": requestColumns,
		"backend_metrics": metricColumns} {
		rows, err := s.DB().Query(`SELECT column_name FROM information_schema.columns WHERE table_name = ? ORDER BY ordinal_position`, table)
		require.NoError(t, err)
		var actual []string
		for rows.Next() {
			var c string
			require.NoError(t, rows.Scan(&c))
			actual = append(actual, c)
		}
		require.NoError(t, rows.Err())
		assert.Equal(t, actual, columns, table)
	}
	mapped := map[string]bool{semconv.AttrEventID: true}
	for _, c := range slices.Concat(eventAttrColumns, addedAttrColumns, detailAttrColumns, eventResourceColumns) {
		mapped[c.attr] = true
	}
	for _, a := range sessionEndAttributes {
		mapped[a] = true
	}
	for _, a := range semconv.Registry {
		if strings.HasSuffix(a.Key, "<key>") {
			continue // families of attributes go to the attributes JSON column
		}
		assert.True(t, mapped[a.Key], "contract attribute %s has no column", a.Key)
	}
}

func TestBadOptionsAreRefused(t *testing.T) {
	dir := t.TempDir()
	_, err := Open(context.Background(), Options{Path: filepath.Join(dir, "a.duckdb"), DedupWindow: -1})
	assert.ErrorContains(t, err, "dedup window must not be negative")
	_, err = Open(context.Background(), Options{Path: filepath.Join(dir, "b.duckdb"), Timezone: "Mars/Olympus_Mons"})
	assert.ErrorContains(t, err, "rollup time zone")
}

func TestNewerSchemaIsRefused(t *testing.T) {
	s, path := openStore(t)
	_, err := s.DB().Exec(`INSERT INTO schema_migrations (version, description) VALUES (99, 'from the future')`)
	require.NoError(t, err)
	require.NoError(t, s.Close(context.Background()))
	_, err = Open(context.Background(), Options{Path: path})
	assert.ErrorContains(t, err, "newer than this collector's")
}

func TestWriteBackendTelemetryFromRealBackstage(t *testing.T) {
	s, _ := openStore(t)
	td, err := backstagesamples.BackendTraces()
	require.NoError(t, err)
	res, err := s.WriteTraces(context.Background(), td)
	require.NoError(t, err)
	assert.Equal(t, 2, res.Stored, "the two HTTP server spans")
	assert.Equal(t, 1, res.Skipped, "the catalog's internal ProcessingRun span")
	var route, plugin, method string
	var status int
	var duration float64
	var isError bool
	require.NoError(t, s.DB().QueryRow(`SELECT route, plugin_id, method, status_code, duration_ms, error FROM backend_requests WHERE plugin_id = 'scaffolder'`).
		Scan(&route, &plugin, &method, &status, &duration, &isError))
	assert.Equal(t, "/api/scaffolder/v2/tasks", route)
	assert.Equal(t, "POST", method)
	assert.Equal(t, 201, status)
	assert.Positive(t, duration)
	assert.False(t, isError)
	assert.Equal(t, 1, count(t, s, `SELECT count(*) FROM backend_requests WHERE plugin_id = 'catalog' AND status_code = 404`))
	again, err := s.WriteTraces(context.Background(), td)
	require.NoError(t, err)
	assert.Equal(t, 2, again.Duplicates)

	md, err := backstagesamples.BackendMetrics()
	require.NoError(t, err)
	res, err = s.WriteMetrics(context.Background(), md)
	require.NoError(t, err)
	assert.Equal(t, 10, res.Stored)
	var value float64
	require.NoError(t, s.DB().QueryRow(`SELECT value FROM backend_metrics WHERE metric = 'scaffolder.task.count'
		AND (attributes->>'template') = 'template:default/local-debug-template' AND (attributes->>'result') = 'ok'`).Scan(&value))
	assert.Positive(t, value)
	assert.Equal(t, 3, count(t, s, `SELECT count(*) FROM backend_metrics WHERE metric = 'catalog_entities_count' AND kind = 'gauge'`))
	var histCount int
	require.NoError(t, s.DB().QueryRow(`SELECT count FROM backend_metrics WHERE metric = 'http.server.request.duration'`).Scan(&histCount))
	assert.Positive(t, histCount)
	again, err = s.WriteMetrics(context.Background(), md)
	require.NoError(t, err)
	assert.Equal(t, 10, again.Duplicates, "a redelivered point is stored once")
}

func TestPluginOfPath(t *testing.T) {
	for path, want := range map[string]string{
		"/api/catalog/entities/by-name/:kind/:namespace/:name": "catalog",
		"/api/scaffolder/v2/tasks":                             "scaffolder",
		"/api/techdocs":                                        "techdocs",
		"/.backstage/health/v1/readiness":                      "",
		"/api/":                                                "",
		"/api/:plugin/x":                                       "",
	} {
		assert.Equal(t, want, pluginOfPath(path), path)
	}
}

// A redelivery mixed with new events: only the new events are stored and counted.
func TestWriteMixOfStoredAndNewEvents(t *testing.T) {
	s, _ := openStore(t)
	ld, occs := simulatedLogs(t, 30)
	half := plog.NewLogs()
	ld.CopyTo(half)
	i := 0
	half.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().RemoveIf(func(plog.LogRecord) bool { i++; return i%2 == 0 })
	first, err := s.WriteLogs(context.Background(), half, now)
	require.NoError(t, err)
	res, err := s.WriteLogs(context.Background(), ld, now)
	require.NoError(t, err)
	assert.Equal(t, len(occs)-first.Stored, res.Stored)
	assert.Equal(t, first.Stored, res.Duplicates)
	assert.Equal(t, len(occs), count(t, s, `SELECT count(*) FROM events`))
	assert.Equal(t, len(occs), count(t, s, `SELECT sum(events)::INTEGER FROM user_daily`), "the rollups count each event once")
	assert.Equal(t, len(occs), count(t, s, `SELECT sum(events)::INTEGER FROM plugin_daily`))
}

func TestSameEventTwiceInOneWrite(t *testing.T) {
	s, _ := openStore(t)
	ld, occs := simulatedLogs(t, 10)
	twice := plog.NewLogs()
	ld.CopyTo(twice)
	ld.ResourceLogs().At(0).CopyTo(twice.ResourceLogs().AppendEmpty())
	res, err := s.WriteLogs(context.Background(), twice, now)
	require.NoError(t, err)
	assert.Equal(t, len(occs), res.Stored)
	assert.Equal(t, len(occs), res.Duplicates)
	assert.Equal(t, len(occs), count(t, s, `SELECT sum(events)::INTEGER FROM user_daily`))
}

// The store recognises redeliveries of its most recent events; an event older than the window is stored again.
func TestDedupWindow(t *testing.T) {
	path := filepath.Join(t.TempDir(), "insights.duckdb")
	s, err := Open(context.Background(), Options{Path: path, DedupWindow: 10})
	require.NoError(t, err)
	ld, occs := simulatedLogs(t, 5)
	require.Greater(t, len(occs), 20)
	records := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	single := func(i int) plog.Logs {
		one := plog.NewLogs()
		ld.ResourceLogs().At(0).Resource().CopyTo(one.ResourceLogs().AppendEmpty().Resource())
		records.At(i).CopyTo(one.ResourceLogs().At(0).ScopeLogs().AppendEmpty().LogRecords().AppendEmpty())
		return one
	}
	for i := range 20 {
		_, err := s.WriteLogs(context.Background(), single(i), now)
		require.NoError(t, err)
	}
	res, err := s.WriteLogs(context.Background(), single(19), now)
	require.NoError(t, err)
	assert.Equal(t, 1, res.Duplicates, "a recent event is recognised")
	require.NoError(t, s.Close(context.Background()))

	s, err = Open(context.Background(), Options{Path: path, DedupWindow: 10})
	require.NoError(t, err)
	defer s.Close(context.Background())
	res, err = s.WriteLogs(context.Background(), single(15), now)
	require.NoError(t, err)
	assert.Equal(t, 1, res.Duplicates, "the recent ids are reloaded when the store opens")
	res, err = s.WriteLogs(context.Background(), single(0), now)
	require.NoError(t, err)
	assert.Equal(t, 1, res.Stored, "beyond the window an event is stored again")
}

// The rollups fed in Go at each write are the rollups SQL computes from the events, in a time zone with a
// daylight-saving change inside the data.
func TestRollupsAtIngestMatchARebuild(t *testing.T) {
	path := filepath.Join(t.TempDir(), "insights.duckdb")
	s, err := Open(context.Background(), Options{Path: path, Timezone: "Europe/Berlin"})
	require.NoError(t, err)
	defer s.Close(context.Background())
	cfg := simulator.DefaultConfig()
	cfg.Start, cfg.Days, cfg.Users, cfg.Teams = time.Date(2026, 10, 24, 0, 0, 0, 0, time.UTC), 3, 40, 3 // DST ends on the 25th
	w, err := simulator.NewWorld(cfg)
	require.NoError(t, err)
	var occs []wireformat.Occurrence
	for d := range cfg.Days {
		day := w.Day(d)
		occs = append(occs, day...)
		_, err := s.WriteLogs(context.Background(), wireformat.OTLP(day), cfg.Start.AddDate(0, 0, 4))
		require.NoError(t, err)
	}
	snapshot := func() map[string][]string {
		out := map[string][]string{}
		for _, r := range dailyRollups {
			out[r.table] = rowsOf(t, s, "SELECT "+r.merged+" FROM "+r.table+" GROUP BY ALL ORDER BY ALL")
			require.NotEmpty(t, out[r.table], r.table)
		}
		return out
	}
	atIngest := snapshot()
	_, err = s.DB().Exec(`DELETE FROM store_settings`)
	require.NoError(t, err)
	rebuilt, err := s.ensureRollupTimezone(context.Background())
	require.NoError(t, err)
	require.True(t, rebuilt)
	assert.Equal(t, atIngest, snapshot())
	assert.Equal(t, eventsPerLocalDay(t, occs, "Europe/Berlin"), rollupEventsPerDay(t, s), "the day of the change lasts 25 hours")
}

// eventsPerLocalDay counts the occurrences with a user per date in a time zone, in Go.
func eventsPerLocalDay(t *testing.T, occs []wireformat.Occurrence, tz string) map[string]int {
	loc, err := time.LoadLocation(tz)
	require.NoError(t, err)
	out := map[string]int{}
	for _, o := range occs {
		if o.User != "" {
			out[o.Time.In(loc).Format(time.DateOnly)]++
		}
	}
	return out
}

func rollupEventsPerDay(t *testing.T, s *Store) map[string]int {
	rows, err := s.DB().Query(`SELECT strftime(day, '%Y-%m-%d'), sum(events)::INTEGER FROM user_daily GROUP BY 1`)
	require.NoError(t, err)
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var day string
		var n int
		require.NoError(t, rows.Scan(&day, &n))
		out[day] = n
	}
	return out
}

// Opening the store with another rollup time zone rebuilds the rollups in it.
func TestChangingTheTimezoneRebuildsTheRollups(t *testing.T) {
	path, _, occs := closedStore(t)
	s, err := Open(context.Background(), Options{Path: path, Timezone: "Asia/Kolkata"})
	require.NoError(t, err)
	defer s.Close(context.Background())
	assert.Equal(t, eventsPerLocalDay(t, occs, "Asia/Kolkata"), rollupEventsPerDay(t, s), "days start at midnight in Kolkata")
}

// A database of schema 3 (user keys in the rollups, days as instants) opens with its users numbered, the
// numbers in its events, its discovers attributed to their searches, and its rollups and users rebuilt.
func TestMigrationNumbersTheUsersOfASchema3Database(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v3.duckdb")
	db, err := sql.Open("duckdb", path)
	require.NoError(t, err)
	_, err = applyMigrations(context.Background(), db, migrations[:3])
	require.NoError(t, err)
	_, err = db.Exec(`INSERT INTO events (event_id, ts, observed_ts, event_name, user_key, plugin_id, ingest_batch) VALUES
		(uuid(), '2026-11-01 10:00:00+00', now(), 'backstage.navigate', 'user:default/ana', 'catalog', 1),
		(uuid(), '2026-11-02 10:00:00+00', now(), 'backstage.navigate', 'user:default/ana', 'catalog', 1),
		(uuid(), '2026-11-02 11:00:00+00', now(), 'backstage.click', 'user:default/bo', 'search', 2),
		(uuid(), '2026-11-02 12:00:00+00', now(), 'backstage.click', NULL, 'search', 2)`)
	require.NoError(t, err)
	_, err = db.Exec(`INSERT INTO events (event_id, ts, observed_ts, event_name, action, subject, session_id, user_key, ingest_batch) VALUES
		('00000000-0000-0000-0000-000000000001', '2026-11-02 10:00:00+00', now(), 'backstage.search', 'search', 'alpha', 's1', 'user:default/ana', 3),
		('00000000-0000-0000-0000-000000000002', '2026-11-02 10:00:00+00', now(), 'backstage.search', 'search', 'beta', 's1', 'user:default/ana', 3),
		('00000000-0000-0000-0000-000000000003', '2026-11-02 10:01:00+00', now(), 'backstage.discover', 'discover', 'component-a', 's1', 'user:default/ana', 3),
		('00000000-0000-0000-0000-000000000004', '2026-11-03 11:00:00+00', now(), 'backstage.discover', 'discover', 'component-b', 's1', 'user:default/ana', 3)`)
	require.NoError(t, err)
	_, err = db.Exec(`INSERT INTO events (event_id, ts, observed_ts, event_name, action, entity_ref, user_key, ingest_batch) VALUES
		(uuid(), '2026-11-03 12:00:00+00', now(), 'backstage.navigate', 'navigate', 'component:default/a', 'user:default/bo', 4),
		(uuid(), '2026-11-03 12:01:00+00', now(), 'backstage.navigate', 'navigate', 'component:default/a', 'user:default/ana', 4)`)
	require.NoError(t, err)
	require.NoError(t, db.Close())

	s, err := Open(context.Background(), Options{Path: path})
	require.NoError(t, err)
	defer s.Close(context.Background())
	assert.True(t, s.RebuiltRollups())
	assert.Equal(t, 2, count(t, s, `SELECT count(*) FROM user_numbers`))
	assert.Zero(t, count(t, s, `SELECT count(*) FROM events e LEFT JOIN user_numbers n USING (user_no) WHERE e.user_key IS DISTINCT FROM n.user_key`),
		"every event has its user's number")
	assert.Equal(t, map[string]int{"2026-11-01": 1, "2026-11-02": 5, "2026-11-03": 3}, rollupEventsPerDay(t, s))
	assert.Equal(t, 1, count(t, s, `SELECT count(*) FROM events WHERE search_term = 'beta'`), "the click after two searches at one instant")
	assert.Equal(t, 1, count(t, s, `SELECT count(*) FROM events WHERE search_term IS NOT NULL`), "not the click 25 hours later")
	assert.Equal(t, 1, count(t, s, `SELECT sum(clicks)::INTEGER FROM search_daily WHERE term = 'beta'`), "the search rollup (schema 6) is built")
	assert.Equal(t, 2, count(t, s, `SELECT sum(searches)::INTEGER FROM search_daily`))
	assert.Equal(t, 2, count(t, s, `SELECT sum(views)::INTEGER FROM entity_daily JOIN entity_numbers USING (entity_no)
		WHERE entity_ref = 'component:default/a'`), "entities are numbered (schema 7)")
	assert.Equal(t, 10, count(t, s, `SELECT sum(events)::INTEGER FROM feature_daily JOIN feature_numbers USING (feature_no)`),
		"features are numbered (schema 7)")
	assert.Equal(t, 2, count(t, s, `SELECT count(*) FROM users`))
	assert.Equal(t, 1, count(t, s, `SELECT count(*) FROM users JOIN user_numbers USING (user_no)
		WHERE user_key = 'user:default/ana' AND first_seen = '2026-11-01 10:00:00+00' AND last_seen = '2026-11-03 12:01:00+00'`))

	// A new user continues the numbering.
	ld, _ := simulatedLogs(t, 5)
	_, err = s.WriteLogs(context.Background(), ld, now)
	require.NoError(t, err)
	assert.Equal(t, count(t, s, `SELECT count(*) FROM user_numbers`), count(t, s, `SELECT max(user_no)::INTEGER FROM user_numbers`))
}

// A failed write gives no numbers away: the next write numbers the same users, entities and features from the
// same point, and every number the rollups hold is in its table.
func TestFailedWriteForgetsItsNumbers(t *testing.T) {
	s, _ := openStore(t)
	ld, _ := simulatedLogs(t, 20)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := s.WriteLogs(ctx, ld, now)
	require.Error(t, err)
	assert.Empty(t, s.users.byKey)
	assert.Empty(t, s.entities.byKey)
	assert.Empty(t, s.features.byKey)

	_, err = s.WriteLogs(context.Background(), ld, now)
	require.NoError(t, err)
	for table, no := range map[string]string{"user_numbers": "user_no", "entity_numbers": "entity_no", "feature_numbers": "feature_no"} {
		assert.Positive(t, count(t, s, "SELECT count(*) FROM "+table), table)
		assert.Equal(t, count(t, s, "SELECT count(*) FROM "+table), count(t, s, "SELECT max("+no+")::INTEGER FROM "+table), table)
	}
	assert.Zero(t, count(t, s, `SELECT count(*) FROM entity_daily LEFT JOIN entity_numbers USING (entity_no) WHERE entity_ref IS NULL`))
	assert.Zero(t, count(t, s, `SELECT count(*) FROM feature_daily d LEFT JOIN feature_numbers f USING (feature_no) WHERE f.feature_no IS NULL`))
}

// The contract's rare attributes are stored in event_details, a row for each event that has one, with the
// event's id, time and user number; the store writes them once, and retention and erasure remove them.
func TestEventDetails(t *testing.T) {
	s, _ := openStore(t)
	ld := plog.NewLogs()
	records := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	for i, attrs := range []map[string]any{
		{semconv.AttrUserHash: "k1.ana", semconv.AttrAuditActor: "user:default/ana", semconv.AttrAuditSeverity: "medium",
			semconv.AttrClientAddress: "10.1.2.0", semconv.AttrSessionLate: true},
		{semconv.AttrUserHash: "k1.bo"}, // no details
		{semconv.AttrUserHash: "k1.bo", semconv.AttrEngagementPreviousTier: "casual"},
	} {
		lr := records.AppendEmpty()
		lr.SetEventName("backstage.navigate")
		lr.SetTimestamp(pcommon.NewTimestampFromTime(now.Add(time.Duration(i-3) * time.Hour)))
		attrs[semconv.AttrEventID] = fmt.Sprintf("0193a0f0-5b7e-7cde-8f00-00000000020%d", i)
		require.NoError(t, lr.Attributes().FromRaw(attrs))
	}
	for range 2 { // a redelivery stores nothing again
		_, err := s.WriteLogs(context.Background(), ld, now)
		require.NoError(t, err)
	}
	var actor, severity, address string
	var late bool
	require.NoError(t, s.DB().QueryRow(`SELECT d.audit_actor, d.audit_severity, d.client_address, d.session_late FROM event_details d
		JOIN events e USING (event_id) WHERE e.user_key = 'k1.ana' AND d.ts = e.ts AND d.user_no = e.user_no`).Scan(&actor, &severity, &address, &late))
	assert.Equal(t, []any{"user:default/ana", "medium", "10.1.2.0", true}, []any{actor, severity, address, late})
	assert.Equal(t, 2, count(t, s, `SELECT count(*) FROM event_details`), "a row per event that has details")
	assert.Zero(t, count(t, s, `SELECT count(*) FROM events WHERE attributes IS NOT NULL`), "not in the attributes JSON either")

	deleted, err := s.EraseUser(context.Background(), "k1.ana")
	require.NoError(t, err)
	assert.Equal(t, int64(1), deleted["event_details"])
	deleted, err = s.DeleteOlderThan(context.Background(), now)
	require.NoError(t, err)
	assert.Equal(t, int64(1), deleted["event_details"])
	assert.Zero(t, count(t, s, `SELECT count(*) FROM event_details`))
}

// Migration 17 moves the rare attributes of the events already stored into event_details.
func TestMigrationMovesTheRareAttributes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v16.duckdb")
	db, err := sql.Open("duckdb", path)
	require.NoError(t, err)
	i := slices.IndexFunc(migrations, func(m migration) bool { return m.version == 17 })
	_, err = applyMigrations(context.Background(), db, migrations[:i])
	require.NoError(t, err)
	_, err = db.Exec(`INSERT INTO events (event_id, ts, observed_ts, event_name, user_key, user_no, audit_actor, http_method, session_late, ingest_batch) VALUES
		('00000000-0000-0000-0000-000000000001', '2026-11-01 10:00:00+00', now(), 'backstage.audit', 'k1.ana', 1, 'user:default/ana', 'POST', NULL, 1),
		('00000000-0000-0000-0000-000000000002', '2026-11-01 11:00:00+00', now(), 'backstage.navigate', 'k1.ana', 1, NULL, NULL, NULL, 1)`)
	require.NoError(t, err)
	require.NoError(t, db.Close())

	s, err := Open(context.Background(), Options{Path: path})
	require.NoError(t, err)
	defer s.Close(context.Background())
	var id, actor, method string
	require.NoError(t, s.DB().QueryRow(`SELECT event_id::VARCHAR, audit_actor, http_method FROM event_details`).Scan(&id, &actor, &method))
	assert.Equal(t, []string{"00000000-0000-0000-0000-000000000001", "user:default/ana", "POST"}, []string{id, actor, method})
	assert.Equal(t, 1, count(t, s, `SELECT count(*) FROM event_details`), "only the event that had one")
	assert.Equal(t, 2, count(t, s, `SELECT count(*) FROM events`))
}
