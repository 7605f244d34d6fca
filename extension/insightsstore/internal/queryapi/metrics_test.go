package queryapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor/processortest"
	"go.uber.org/zap"

	"github.com/insights-collector/insights-collector/internal/analyticsdb"
	"github.com/insights-collector/insights-collector/internal/normalize"
	"github.com/insights-collector/insights-collector/internal/semconv"
	"github.com/insights-collector/insights-collector/internal/simulator"
	"github.com/insights-collector/insights-collector/internal/wireformat"
	"github.com/insights-collector/insights-collector/processor/engagementprocessor"
	"github.com/insights-collector/insights-collector/processor/sessionizationprocessor"
)

// The metrics are checked against an independent computation: the simulator's events are aggregated here in
// plain Go, and the API's numbers must match exactly.

const (
	viewerToken  = "viewer-token"
	analystToken = "analyst-token"
	adminToken   = "admin-token"
	testK        = 3
)

var (
	berlin, _ = time.LoadLocation("Europe/Berlin")
	// The simulated period: five weeks ending on a Wednesday, in Berlin's calendar.
	simStart = time.Date(2026, 10, 19, 0, 0, 0, 0, berlin)
	simDays  = 35
	// The query range: the last three weeks (so that the trailing windows reach back into data).
	queryFrom = simStart.AddDate(0, 0, 14)
	queryTo   = simStart.AddDate(0, 0, simDays)
)

type fixture struct {
	rollupTZ string
	world    *simulator.World
	server   *httptest.Server
	store    *analyticsdb.Store
	events   []wireformat.Occurrence
	scored   []scored // the events as the engagement processor stamped them
	spans    []span
}

// scored is an event's user, time, plugin, teams and engagement stamps.
type scored struct {
	user, plugin, tier string
	teams              []string
	ts                 time.Time
	score              float64
}

func scoredEvents(ld plog.Logs) []scored {
	var out []scored
	for _, rl := range ld.ResourceLogs().All() {
		for _, sl := range rl.ScopeLogs().All() {
			for _, lr := range sl.LogRecords().All() {
				a := lr.Attributes().AsRaw()
				tier, ok := a[semconv.AttrEngagementTier].(string)
				if !ok || !strings.HasPrefix(lr.EventName(), semconv.EventNamePrefix) {
					continue
				}
				s := scored{tier: tier, ts: lr.Timestamp().AsTime(), score: a[semconv.AttrEngagementScore].(float64)}
				s.user, _ = semconv.UserKey(lr.Attributes())
				s.plugin, _ = a[semconv.AttrPluginID].(string)
				teams, _ := a[semconv.AttrUserTeams].([]any)
				for _, team := range teams {
					s.teams = append(s.teams, team.(string))
				}
				out = append(out, s)
			}
		}
	}
	return out
}

type span struct {
	plugin   string
	route    string
	ts       time.Time
	duration float64
	status   int
}

var (
	shared    = map[string]*fixture{} // by rollup time zone
	sharedDir string
)

func TestMain(m *testing.M) {
	code := m.Run()
	for _, f := range shared {
		f.close()
	}
	_ = os.RemoveAll(sharedDir)
	os.Exit(code)
}

// setup returns the fixture the read-only tests share (building it takes a few seconds): a store whose rollups
// are cut in UTC days.
func setup(t *testing.T) *fixture {
	t.Helper()
	return fixtureIn(t, "UTC")
}

func fixtureIn(t *testing.T, rollupTZ string) *fixture {
	t.Helper()
	if shared[rollupTZ] == nil {
		if sharedDir == "" {
			dir, err := os.MkdirTemp("", "queryapi-")
			require.NoError(t, err)
			sharedDir = dir
		}
		shared[rollupTZ] = newFixture(t, sharedDir, rollupTZ, nil)
	}
	return shared[rollupTZ]
}

// scenarioFixture is a store of a simulation with the behaviours the advanced analytics must detect:
// search collapses on day 28 (a Monday) to a tenth, the second team grows from nobody, and 40% of new users
// leave during onboarding.
func scenarioFixture(t *testing.T) *fixture {
	t.Helper()
	const key = "scenarios"
	if shared[key] == nil {
		fixtureIn(t, "UTC") // makes the directory
		shared[key] = newFixture(t, sharedDir, "UTC", func(c *simulator.Config) {
			c.Users, c.Intensity = 120, 3
			c.Scenarios = simulator.Scenarios{Collapse: &simulator.Collapse{Plugin: "search", Day: 28, Share: 0.1}, GrowingTeam: 2, OnboardingDropOff: 0.4}
		})
	}
	return shared[key]
}

// forEachStore runs a metric's test on two stores of the same events: one whose rollups are cut in the
// queries' time zone (Berlin), so that whole days come from the rollups, and one in UTC, where day buckets come
// from the events and totals from the rollups plus the events of the partial days at the range's ends.
func forEachStore(t *testing.T, test func(t *testing.T, f *fixture)) {
	for _, tz := range []string{"Europe/Berlin", "UTC"} {
		t.Run("rollups in "+tz, func(t *testing.T) { test(t, fixtureIn(t, tz)) })
	}
}

func (f *fixture) close() {
	f.server.Close()
	_ = f.store.Close(context.Background())
}

// newFixture stores five weeks of a simulated 80-person organisation (changed by mutate, when not nil) and
// serves the API over it.
func newFixture(t *testing.T, dir, rollupTZ string, mutate func(*simulator.Config)) *fixture {
	cfg := simulator.DefaultConfig()
	cfg.Users, cfg.Teams, cfg.Start, cfg.Days, cfg.Location = 80, 6, simStart, simDays, berlin
	name := strings.ReplaceAll(rollupTZ, "/", "-")
	if mutate != nil {
		mutate(&cfg)
		name += "-changed"
	}
	store, err := analyticsdb.Open(context.Background(), analyticsdb.Options{Path: filepath.Join(dir, name+".duckdb"),
		MemoryLimit: "512MB", Timezone: rollupTZ})
	require.NoError(t, err)
	world, err := simulator.NewWorld(cfg)
	require.NoError(t, err)
	f := &fixture{store: store, rollupTZ: rollupTZ, world: world}
	var teams []analyticsdb.Team // as the catalog sync copies them
	for _, g := range world.GroupSizes() {
		teams = append(teams, analyticsdb.Team{Team: g.Ref, Parent: g.Parent, Ancestors: g.Ancestors, Type: g.Type, Members: g.Direct, TotalMembers: g.Total})
	}
	require.NoError(t, store.ReplaceTeams(context.Background(), teams, simStart))
	// As the pipeline stores them: normalised to the contract by the receiver, then sessionized (the simulated
	// browsers' session ids trusted, so that the sessions are the simulator's).
	sessions := sessionizationprocessor.NewFactory()
	sessionsCfg := sessions.CreateDefaultConfig().(*sessionizationprocessor.Config)
	sessionsCfg.TrustClientSessions = true
	processed := new(consumertest.LogsSink)
	scores := engagementprocessor.NewFactory()
	scorer, err := scores.CreateLogs(context.Background(), processortest.NewNopSettings(scores.Type()), scores.CreateDefaultConfig(), processed)
	require.NoError(t, err)
	sessionizer, err := sessions.CreateLogs(context.Background(), processortest.NewNopSettings(sessions.Type()), sessionsCfg, scorer)
	require.NoError(t, err)
	for _, p := range []component.Component{scorer, sessionizer} {
		require.NoError(t, p.Start(context.Background(), componenttest.NewNopHost()))
	}
	flush := func() {
		for _, ld := range processed.AllLogs() {
			f.scored = append(f.scored, scoredEvents(ld)...)
			_, err := f.store.WriteLogs(context.Background(), ld, queryTo)
			require.NoError(t, err)
		}
		processed.Reset()
	}
	for d := range simDays {
		day := world.Day(d)
		f.events = append(f.events, day...)
		ld := wireformat.OTLP(day)
		normalize.OTLP(ld, &normalize.Options{MaxEventAge: 72 * time.Hour}, &normalize.Request{Received: simStart.AddDate(0, 0, d+2), Instance: "portal-eu"})
		require.NoError(t, sessionizer.ConsumeLogs(context.Background(), ld))
		flush()
		if d == simDays-8 {
			// As the maintenance would: the days before are compacted (their user sets built), the later pending.
			require.NoError(t, store.CompactRollups(context.Background()))
		}
	}
	require.NoError(t, sessionizer.Shutdown(context.Background())) // the open sessions end
	require.NoError(t, scorer.Shutdown(context.Background()))
	flush()
	f.spans = writeSpans(t, f.store)

	server := NewServer(store, []Token{
		{Secret: viewerToken, Principal: Principal{Name: "grafana", Role: RoleViewer}},
		{Secret: analystToken, Principal: Principal{Name: "ana", Role: RoleAnalyst}},
		{Secret: adminToken, Principal: Principal{Name: "root", Role: RoleAdmin}},
	}, testK, zap.NewNop())
	server.now = func() time.Time { return f.events[len(f.events)-1].Time.Add(time.Minute) }
	f.server = httptest.NewServer(server.Handler())
	return f
}

// writeSpans stores deterministic backend requests: plugin, latency and status vary.
func writeSpans(t *testing.T, store *analyticsdb.Store) []span {
	td := ptrace.NewTraces()
	spans := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
	var out []span
	plugins := []string{"catalog", "scaffolder", "search", "techdocs"}
	for i := range 2000 {
		s := span{plugin: plugins[i%len(plugins)], ts: queryFrom.Add(time.Duration(i) * 15 * time.Minute),
			duration: float64(5 + (i*37)%400), status: 200}
		s.route = "/api/" + s.plugin + []string{"/things/:id", "/things"}[(i/len(plugins))%2]
		if i%23 == 0 {
			s.status = 503
		}
		if s.ts.After(queryTo) {
			break
		}
		out = append(out, s)
		sp := spans.AppendEmpty()
		sp.SetKind(ptrace.SpanKindServer)
		sp.SetTraceID([16]byte{byte(i), byte(i >> 8), 1})
		sp.SetSpanID([8]byte{byte(i), byte(i >> 8), 2})
		sp.SetStartTimestamp(pcommon.NewTimestampFromTime(s.ts))
		sp.SetEndTimestamp(pcommon.NewTimestampFromTime(s.ts.Add(time.Duration(s.duration * float64(time.Millisecond)))))
		sp.Attributes().PutStr("http.request.method", "GET")
		sp.Attributes().PutStr("http.route", s.route)
		sp.Attributes().PutInt("http.response.status_code", int64(s.status))
	}
	_, err := store.WriteTraces(context.Background(), td)
	require.NoError(t, err)
	return out
}

type answer struct {
	status int
	body   []byte
	header http.Header
}

func (a answer) result(t *testing.T) Result {
	t.Helper()
	require.Equal(t, http.StatusOK, a.status, string(a.body))
	var r Result
	require.NoError(t, json.Unmarshal(a.body, &r))
	return r
}

func (a answer) apiError(t *testing.T) errorBody {
	t.Helper()
	var e apiError
	require.NoError(t, json.Unmarshal(a.body, &e), string(a.body))
	return e.Error
}

func (f *fixture) do(t *testing.T, method, path, token string, body any, headers ...string) answer {
	t.Helper()
	var raw []byte
	switch b := body.(type) {
	case nil:
	case string:
		raw = []byte(b)
	default:
		var err error
		raw, err = json.Marshal(b)
		require.NoError(t, err)
	}
	req, err := http.NewRequest(method, f.server.URL+path, bytes.NewReader(raw))
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, err = buf.ReadFrom(resp.Body)
	require.NoError(t, err)
	return answer{status: resp.StatusCode, body: buf.Bytes(), header: resp.Header}
}

func (f *fixture) query(t *testing.T, req Request) Result {
	t.Helper()
	return f.do(t, http.MethodPost, "/api/v1/query", viewerToken, req).result(t)
}

func baseRequest(metric string) Request {
	return Request{Metric: metric, From: at(queryFrom), To: at(queryTo), Timezone: "Europe/Berlin"}
}

// column returns a column of a result by name.
func column(t *testing.T, r Result, name string) []any {
	t.Helper()
	i := slices.IndexFunc(r.Columns, func(c Column) bool { return c.Name == name })
	require.GreaterOrEqual(t, i, 0, "no column %s in %v", name, r.Columns)
	out := make([]any, len(r.Rows))
	for j, row := range r.Rows {
		out[j] = row[i]
	}
	return out
}

func localDay(t time.Time) time.Time {
	y, m, d := t.In(berlin).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, berlin)
}

func inRange(t time.Time) bool { return !t.Before(queryFrom) && t.Before(queryTo) }

func TestActiveUsersDAUWAUMAU(t *testing.T) {
	forEachStore(t, func(t *testing.T, f *fixture) {
		usersOn := map[time.Time]map[string]bool{}
		for _, e := range f.events {
			d := localDay(e.Time)
			if usersOn[d] == nil {
				usersOn[d] = map[string]bool{}
			}
			usersOn[d][e.User] = true
		}
		window := func(day time.Time, days int) int {
			users := map[string]bool{}
			for i := range days {
				for u := range usersOn[day.AddDate(0, 0, -i)] {
					users[u] = true
				}
			}
			return len(users)
		}
		req := baseRequest("active_users")
		req.Interval = "day"
		res := f.query(t, req)
		require.Len(t, res.Rows, simDays-14, "one row per day, empty days included")
		times, dau, wau, mau := column(t, res, "time"), column(t, res, "active_users"), column(t, res, "wau"), column(t, res, "mau")
		for i := range res.Rows {
			day := queryFrom.AddDate(0, 0, i)
			ts, err := time.Parse(time.RFC3339Nano, times[i].(string))
			require.NoError(t, err)
			assert.True(t, ts.Equal(day), "bucket %d starts at Berlin midnight: %s", i, ts)
			assert.Equal(t, float64(len(usersOn[day])), dau[i], "DAU %s", day)
			assert.Equal(t, float64(window(day, wauDays)), wau[i], "WAU %s", day)
			assert.Equal(t, float64(window(day, mauDays)), mau[i], "MAU %s", day)
		}
		assert.Zero(t, res.Meta.SuppressedRows, "totals over time are not breakdowns")
		assert.Equal(t, f.rollupTZ == req.Timezone, res.Meta.FromRollups, "days of the rollups' time zone come from them")
	})
}

func TestActiveUsersWeeklyByPlugin(t *testing.T) {
	forEachStore(t, func(t *testing.T, f *fixture) {
		type key struct {
			week   time.Time
			plugin string
		}
		want := map[key]map[string]bool{}
		for _, e := range f.events {
			if !inRange(e.Time) {
				continue
			}
			d := localDay(e.Time)
			week := d.AddDate(0, 0, -((int(d.Weekday()) + 6) % 7)) // Monday
			k := key{week, e.Context["pluginId"].(string)}
			if want[k] == nil {
				want[k] = map[string]bool{}
			}
			want[k][e.User] = true
		}
		req := baseRequest("active_users")
		req.Interval, req.GroupBy = "week", []string{"plugin"}
		res := f.query(t, req)
		suppressed := 0
		for _, users := range want {
			if len(users) < testK {
				suppressed++
			}
		}
		assert.Equal(t, suppressed, res.Meta.SuppressedRows)
		assert.Len(t, res.Rows, len(want)-suppressed)
		for _, row := range res.Rows {
			ts, _ := time.Parse(time.RFC3339Nano, row[0].(string))
			k := key{ts.In(berlin), row[1].(string)}
			assert.Equal(t, float64(len(want[k])), row[2], "%v", k)
		}
	})
}

// TestActiveUsersBitmaps: a breakdown of active users counted as bitmaps (what sizeUserBitmaps picks while
// they fit) gives the rows count(DISTINCT) gives, whatever the interval, breakdown and rollup time zone, and
// over a range that begins before the data at an odd hour (no data in its first partial day: DuckDB then has no
// statistics of the user numbers to range a bitmap by, which once failed the query).
func TestActiveUsersBitmaps(t *testing.T) {
	forEachStore(t, func(t *testing.T, f *fixture) {
		early := baseRequest("active_users")
		early.From = at(simStart.Add(-7*24*time.Hour + 5*time.Hour))
		for _, base := range []Request{baseRequest("active_users"), early} {
			for _, interval := range []string{"hour", "day", "week"} {
				for _, dim := range []string{"plugin", "instance"} {
					req := base
					req.Interval, req.GroupBy = interval, []string{dim}
					q, err := validate(req, Catalog(), queryTo)
					require.NoError(t, err)
					q.rollupTZ, _ = time.LoadLocation(f.rollupTZ)
					require.NoError(t, sizeUserBitmaps(context.Background(), f.store.DB(), q))
					require.Positive(t, q.userNumbers, "80 users' bitmaps fit")
					byBitmaps := rowsOf(t, f.store.DB(), q)
					q.userNumbers = 0
					byDistinct := rowsOf(t, f.store.DB(), q)
					require.NotEmpty(t, byDistinct)
					assert.ElementsMatch(t, byDistinct, byBitmaps, "%s by %s from %s (ties in any order)", interval, dim, req.From)
				}
			}
		}
		// And through the API, as the Grafana data source asks.
		early.Interval, early.GroupBy = "day", []string{"plugin"}
		assert.NotEmpty(t, f.query(t, early).Rows)
	})
}

func TestUserBitmapsFit(t *testing.T) {
	tests := []struct {
		name          string
		groups, users int64
		want          bool
	}{
		{"90 days of 10 plugins, 2,000 users", 90 * 11, 2000, true},
		{"a year of 50 plugins, 100,000 users", 365 * 51, 100_000, false},
		{"a year of days, 10,000 users", 365 * 11, 10_000, true},
		{"hours of a quarter, 20 plugins, 50,000 users", 90 * 24 * 21, 50_000, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { assert.Equal(t, tt.want, userBitmapsFit(tt.groups, tt.users)) })
	}
}

// rowsOf runs a metric's statement as built, without the API's conversions.
func rowsOf(t *testing.T, db queryer, q *query) [][]any {
	t.Helper()
	var b sqlb
	columns := q.metric.build(q, &b)
	rows, err := db.QueryContext(context.Background(), b.String(), b.args...)
	require.NoError(t, err)
	defer rows.Close()
	var out [][]any
	for rows.Next() {
		row := make([]any, len(columns))
		ptrs := make([]any, len(row))
		for i := range row {
			ptrs[i] = &row[i]
		}
		require.NoError(t, rows.Scan(ptrs...))
		out = append(out, row)
	}
	require.NoError(t, rows.Err())
	return out
}

func TestNewVsReturning(t *testing.T) {
	forEachStore(t, func(t *testing.T, f *fixture) {
		firstSeen := map[string]time.Time{}
		for _, e := range f.events {
			if fs, ok := firstSeen[e.User]; !ok || e.Time.Before(fs) {
				firstSeen[e.User] = e.Time
			}
		}
		newUsers, returning := map[time.Time]map[string]bool{}, map[time.Time]map[string]bool{}
		for _, e := range f.events {
			if !inRange(e.Time) {
				continue
			}
			d := localDay(e.Time)
			target := returning
			if !localDay(firstSeen[e.User]).Before(d) {
				target = newUsers
			}
			if target[d] == nil {
				target[d] = map[string]bool{}
			}
			target[d][e.User] = true
		}
		req := baseRequest("new_vs_returning")
		req.Interval = "day"
		res := f.query(t, req)
		require.Len(t, res.Rows, simDays-14)
		totalNew := 0.0
		for i, row := range res.Rows {
			day := queryFrom.AddDate(0, 0, i)
			assert.Equal(t, float64(len(newUsers[day])), row[1], "new on %s", day)
			assert.Equal(t, float64(len(returning[day])), row[2], "returning on %s", day)
			totalNew += row[1].(float64)
		}
		assert.Positive(t, totalNew, "the simulation onboards users during the range")
	})
}

func TestPluginAdoption(t *testing.T) {
	forEachStore(t, func(t *testing.T, f *fixture) {
		span := queryTo.Sub(queryFrom)
		cur, prev, all := map[string]map[string]bool{}, map[string]map[string]bool{}, map[string]bool{}
		events := map[string]int{}
		for _, e := range f.events {
			p := e.Context["pluginId"].(string)
			switch {
			case inRange(e.Time):
				if cur[p] == nil {
					cur[p] = map[string]bool{}
				}
				cur[p][e.User], all[e.User] = true, true
				events[p]++
			case !e.Time.Before(queryFrom.Add(-span)) && e.Time.Before(queryFrom):
				if prev[p] == nil {
					prev[p] = map[string]bool{}
				}
				prev[p][e.User] = true
			}
		}
		res := f.query(t, baseRequest("plugin_adoption"))
		require.NotEmpty(t, res.Rows)
		seen := 0
		for _, row := range res.Rows {
			p := row[0].(string)
			seen++
			assert.Equal(t, float64(len(cur[p])), row[1], p)
			assert.Equal(t, float64(events[p]), row[2], p)
			assert.InDelta(t, float64(len(cur[p]))/float64(len(all)), row[3], 1e-9, p)
			if len(prev[p]) > 0 {
				retained := 0
				for u := range cur[p] {
					if prev[p][u] {
						retained++
					}
				}
				assert.Equal(t, float64(len(prev[p])), row[4], p)
				assert.InDelta(t, float64(len(cur[p])-len(prev[p]))/float64(len(prev[p])), row[5], 1e-9, p)
				assert.Equal(t, float64(retained), row[6], p)
				assert.InDelta(t, float64(retained)/float64(len(prev[p])), row[7], 1e-9, p)
			}
		}
		assert.Equal(t, len(cur), seen+res.Meta.SuppressedRows)
		assert.True(t, slices.IsSortedFunc(column(t, res, "users"), func(a, b any) int { return int(b.(float64) - a.(float64)) }))
	})
}

func TestSearchMetric(t *testing.T) {
	forEachStore(t, func(t *testing.T, f *fixture) {
		type stats struct {
			searches, zero, clicks int
			users                  map[string]bool
			ranks                  []float64
		}
		terms := map[string]*stats{}
		type search struct {
			term string
			at   time.Time
		}
		last := map[string]search{}  // the latest search per session, from before the range too
		for _, e := range f.events { // time-ordered within each session
			if e.Action == semconv.ActionSearch {
				last[e.SessionID] = search{e.Subject, e.Time}
			}
			if !inRange(e.Time) {
				continue
			}
			switch e.Action {
			case semconv.ActionSearch:
				s := terms[e.Subject]
				if s == nil {
					s = &stats{users: map[string]bool{}}
					terms[e.Subject] = s
				}
				s.searches++
				s.users[e.User] = true
				if *e.Value == 0 {
					s.zero++
				}
			case semconv.ActionDiscover:
				if s, ok := last[e.SessionID]; ok && e.Time.Sub(s.at) <= 24*time.Hour && terms[s.term] != nil {
					terms[s.term].clicks++
					terms[s.term].ranks = append(terms[s.term].ranks, *e.Value)
				}
			}
		}
		req := baseRequest("search")
		req.Limit = 1000
		res := f.query(t, req)
		require.NotEmpty(t, res.Rows)
		assert.True(t, res.Meta.FromRollups)
		for _, row := range res.Rows {
			s := terms[row[0].(string)]
			require.NotNil(t, s, row[0])
			assert.Equal(t, float64(s.searches), row[1])
			assert.Equal(t, float64(len(s.users)), row[2])
			assert.InDelta(t, float64(s.zero)/float64(s.searches), row[3], 1e-9, "zero-result rate of %s", row[0])
			assert.InDelta(t, float64(s.clicks)/float64(s.searches), row[4], 1e-9, "click-through of %s", row[0])
			if len(s.ranks) > 0 {
				sum := 0.0
				for _, r := range s.ranks {
					sum += r
				}
				assert.InDelta(t, sum/float64(len(s.ranks)), row[5], 1e-9)
			} else {
				assert.Nil(t, row[5])
			}
		}
		suppressed := 0
		for _, s := range terms {
			if len(s.users) < testK {
				suppressed++
			}
		}
		assert.Equal(t, suppressed, res.Meta.SuppressedRows)

		// Over all terms, per week.
		req.Interval = "week"
		weekly := f.query(t, req)
		searches, zero := 0, 0
		for _, s := range terms {
			searches += s.searches
			zero += s.zero
		}
		total, zeroRate := 0.0, 0.0
		for _, row := range weekly.Rows {
			total += row[1].(float64)
			zeroRate += row[1].(float64) * row[3].(float64)
		}
		assert.Equal(t, float64(searches), total)
		assert.InDelta(t, float64(zero), zeroRate, 1e-6)
	})
}

func TestTemplatesMetric(t *testing.T) {
	forEachStore(t, func(t *testing.T, f *fixture) {
		runs, minutes := map[string]int{}, map[string]float64{}
		for _, e := range f.events {
			if inRange(e.Time) && e.Action == semconv.ActionCreate {
				ref := e.Context["entityRef"].(string)
				runs[ref]++
				minutes[ref] += *e.Value
			}
		}
		req := baseRequest("templates")
		req.Limit = 1000
		res := f.query(t, req)
		got := map[string]bool{}
		for _, row := range res.Rows {
			ref := row[0].(string)
			got[ref] = true
			assert.Equal(t, float64(runs[ref]), row[1], ref)
			assert.Equal(t, minutes[ref], row[3], ref)
		}
		assert.Equal(t, len(runs), len(got)+res.Meta.SuppressedRows)
	})
}

func TestTopEntitiesAndTechDocs(t *testing.T) {
	forEachStore(t, func(t *testing.T, f *fixture) {
		views, docViews, notFound := map[string]int{}, map[string]int{}, map[string]int{}
		for _, e := range f.events {
			if !inRange(e.Time) {
				continue
			}
			if e.Action == semconv.ActionNavigate && e.Attributes["kind"] != nil {
				ref := fmt.Sprintf("%s:%s/%s", e.Attributes["kind"], e.Attributes["namespace"], e.Attributes["name"])
				views[ref]++
				if e.Context["pluginId"] == "techdocs" {
					docViews[ref]++
				}
			}
			if e.Action == semconv.ActionNotFound { // /docs/<namespace>/<kind>/<name>/<page>
				parts := strings.Split(e.Subject, "/")
				require.GreaterOrEqual(t, len(parts), 5, e.Subject)
				notFound[strings.ToLower(parts[3]+":"+parts[2]+"/"+parts[4])]++
			}
		}
		req := baseRequest("top_entities")
		req.Limit = 5
		res := f.query(t, req)
		type kv struct {
			ref string
			n   int
		}
		var ranked []kv
		for ref, n := range views {
			ranked = append(ranked, kv{ref, n})
		}
		sort.Slice(ranked, func(i, j int) bool { return ranked[i].n > ranked[j].n })
		require.NotEmpty(t, res.Rows)
		assert.Equal(t, float64(ranked[0].n), res.Rows[0][2], "the most viewed entity")
		for _, row := range res.Rows {
			assert.Equal(t, float64(views[row[0].(string)]), row[2], row[0])
		}

		req = baseRequest("techdocs")
		req.Limit = 1000
		docs := f.query(t, req)
		found := 0.0
		for _, row := range docs.Rows {
			assert.Equal(t, float64(notFound[row[0].(string)]), row[3], "pages not found of %s", row[0])
			assert.Equal(t, float64(docViews[row[0].(string)]), row[1], row[0])
			found += row[3].(float64)
		}
		assert.Positive(t, found, "not-found pages count for their site")
	})
}

func TestPlatformHealthP95(t *testing.T) {
	forEachStore(t, func(t *testing.T, f *fixture) {
		durations := map[string][]float64{}
		errors := map[string]int{}
		for _, s := range f.spans {
			durations[s.plugin] = append(durations[s.plugin], s.duration)
			if s.status >= 500 {
				errors[s.plugin]++
			}
		}
		res := f.query(t, baseRequest("platform_health"))
		require.Len(t, res.Rows, len(durations))
		for _, row := range res.Rows {
			p := row[0].(string)
			d := durations[p]
			assert.Equal(t, float64(len(d)), row[1], p)
			assert.InDelta(t, float64(len(d))/queryTo.Sub(queryFrom).Seconds(), row[2], 1e-9)
			assert.InDelta(t, float64(errors[p])/float64(len(d)), row[3], 1e-9)
			assert.InDelta(t, quantile(d, 0.5), row[4], 0.01, "p50 of %s", p)
			assert.InDelta(t, quantile(d, 0.95), row[5], 0.01, "p95 of %s", p)
		}
	})
}

func TestPlatformHealthByRoute(t *testing.T) {
	forEachStore(t, func(t *testing.T, f *fixture) {
		durations := map[[2]string][]float64{}
		for _, s := range f.spans {
			durations[[2]string{s.plugin, s.route}] = append(durations[[2]string{s.plugin, s.route}], s.duration)
		}
		req := baseRequest("platform_health")
		req.GroupBy = []string{"route"}
		req.Limit = 5
		res := f.query(t, req)
		assert.Equal(t, []string{"plugin", "route", "requests", "rate", "error_rate", "p50_ms", "p95_ms"}, columnNames(res))
		require.Len(t, res.Rows, 5, "the busiest 5 of %d routes", len(durations))
		for i, row := range res.Rows {
			d := durations[[2]string{row[0].(string), row[1].(string)}]
			require.NotEmpty(t, d, "%v is a route of the spans", row[:2])
			assert.Equal(t, float64(len(d)), row[2])
			assert.InDelta(t, quantile(d, 0.95), row[6], 0.01, "p95 of %v", row[:2])
			if i > 0 {
				assert.LessOrEqual(t, row[2], res.Rows[i-1][2], "busiest first")
			}
		}
	})
}

// quantile interpolates linearly between order statistics, as DuckDB's quantile_cont does.
func quantile(values []float64, q float64) float64 {
	s := slices.Clone(values)
	slices.Sort(s)
	pos := q * float64(len(s)-1)
	lo := math.Floor(pos)
	return s[int(lo)] + (pos-lo)*(s[int(math.Ceil(pos))]-s[int(lo)])
}

func TestLiveAndEvents(t *testing.T) {
	forEachStore(t, func(t *testing.T, f *fixture) {
		last := f.events[len(f.events)-1].Time
		users, events := map[string]bool{}, 0
		for _, e := range f.events {
			if e.Time.After(last.Add(time.Minute).Add(-liveWindow)) {
				users[e.User] = true
				events++
			}
		}
		res := f.query(t, Request{Metric: "live"})
		require.Len(t, res.Rows, 1)
		assert.Equal(t, float64(len(users)), res.Rows[0][0])
		assert.Equal(t, float64(events), res.Rows[0][1])
		assert.InDelta(t, float64(events)/liveWindow.Minutes(), res.Rows[0][2], 1e-9, "events per minute")

		req := baseRequest("events")
		req.Limit = 10
		first := f.do(t, http.MethodPost, "/api/v1/query", analystToken, req).result(t)
		require.Len(t, first.Rows, 10)
		req.Offset = 10
		second := f.do(t, http.MethodPost, "/api/v1/query", analystToken, req).result(t)
		require.Len(t, second.Rows, 10)
		assert.NotEqual(t, first.Rows[9], second.Rows[0], "pages follow each other")
		assert.GreaterOrEqual(t, first.Rows[9][0].(string), second.Rows[0][0].(string), "newest first")
	})
}

func at(t time.Time) Time { return Time{Time: t} }

// The backend's scaffolder.task.count is a cumulative counter per template and result: the runs in a range are
// its increase there.
func TestTemplatesBackendRuns(t *testing.T) {
	f := newFixture(t, t.TempDir(), "UTC", nil)
	defer f.close()
	md := pmetric.NewMetrics()
	sum := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	sum.SetName("scaffolder.task.count")
	sum.SetEmptySum().SetIsMonotonic(true)
	sum.Sum().SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
	seriesStart := queryFrom.Add(-48 * time.Hour) // the backend started before the range
	type series struct {
		template, result string
		values           []float64 // one point a day from seriesStart
	}
	all := []series{
		{"template:default/go-service", "ok", []float64{3, 5, 9, 12, 12, 20}},
		{"template:default/go-service", "failed", []float64{0, 1, 1, 2, 4, 4}},
		{"template:default/react-app", "ok", []float64{7, 7, 8, 8, 8, 10}},
	}
	for _, s := range all {
		for i, v := range s.values {
			dp := sum.Sum().DataPoints().AppendEmpty()
			dp.SetStartTimestamp(pcommon.NewTimestampFromTime(seriesStart))
			dp.SetTimestamp(pcommon.NewTimestampFromTime(seriesStart.Add(time.Duration(i) * 24 * time.Hour)))
			dp.SetDoubleValue(v)
			dp.Attributes().PutStr("template", s.template)
			dp.Attributes().PutStr("result", s.result)
		}
	}
	_, err := f.store.WriteMetrics(context.Background(), md)
	require.NoError(t, err)
	// The range starts at point 2: the increase is the last value minus the last one before the range.
	req := baseRequest("templates")
	req.Limit = 1000
	res := f.query(t, req)
	want := map[string][3]float64{ // backend runs, succeeded, failed
		"template:default/go-service": {(20 - 5) + (4 - 1), 20 - 5, 4 - 1},
		"template:default/react-app":  {10 - 7, 10 - 7, 0},
	}
	found := 0
	for _, row := range res.Rows {
		w, ok := want[row[0].(string)]
		if !ok {
			continue
		}
		found++
		assert.Equal(t, w[0], row[4], "backend runs of %s", row[0])
		assert.Equal(t, w[1], row[5], "succeeded of %s", row[0])
		if w[2] > 0 {
			assert.Equal(t, w[2], row[6])
		}
		assert.InDelta(t, w[1]/w[0], row[7], 1e-9, "success rate of %s", row[0])
	}
	assert.Equal(t, 2, found)
}

func TestFeatureAdoption(t *testing.T) {
	forEachStore(t, func(t *testing.T, f *fixture) {
		type feature struct{ action, subject string }
		users, events := map[feature]map[string]bool{}, map[feature]int{}
		for _, e := range f.events {
			if !inRange(e.Time) || e.Context["pluginId"] != "catalog" {
				continue
			}
			k := feature{action: e.Action}
			if e.Action == semconv.ActionClick {
				k.subject = e.Subject
			}
			if users[k] == nil {
				users[k] = map[string]bool{}
			}
			users[k][e.User] = true
			events[k]++
		}
		req := baseRequest("feature_adoption")
		req.Filters = map[string][]string{FilterPlugin: {"catalog"}, FilterInstance: {"portal-eu"}}
		req.Limit = maxLimit
		res := f.query(t, req)
		require.NotEmpty(t, res.Rows)
		for _, row := range res.Rows {
			assert.Equal(t, "catalog", row[0])
			subject, _ := row[2].(string)
			k := feature{row[1].(string), subject}
			assert.Equal(t, float64(len(users[k])), row[3], "%v", k)
			assert.Equal(t, float64(events[k]), row[4], "%v", k)
		}
		suppressed := 0
		for _, u := range users {
			if len(u) < testK {
				suppressed++
			}
		}
		assert.Equal(t, len(users)-suppressed, len(res.Rows))
		assert.Equal(t, suppressed, res.Meta.SuppressedRows)
		assert.True(t, res.Meta.FromRollups)
	})
}

// The sessions metric against the simulator's own sessions (its browsers' session ids, trusted by the
// sessionization processor the fixture runs): count, users, duration percentiles, events per session and bounce
// rate of the sessions that began in the range, and the plugin filter.
func TestSessionsMetric(t *testing.T) {
	f := setup(t)
	type sess struct {
		user        string
		first, last time.Time
		events      int
		plugins     map[string]bool
	}
	byID := map[string]*sess{}
	for _, e := range f.events {
		if e.SessionID == "" {
			continue
		}
		s := byID[e.SessionID]
		if s == nil {
			s = &sess{user: e.User, first: e.Time, last: e.Time, plugins: map[string]bool{}}
			byID[e.SessionID] = s
		}
		s.first, s.last = earlier(s.first, e.Time), later(s.last, e.Time)
		s.events++
		if p, ok := e.Context["pluginId"].(string); ok {
			s.plugins[p] = true
		}
	}
	expect := func(plugin string) []any {
		var durations []float64
		users := map[string]bool{}
		events, bounces := 0, 0
		for _, s := range byID {
			if s.first.Before(queryFrom) || !s.first.Before(queryTo) || plugin != "" && !s.plugins[plugin] {
				continue
			}
			durations = append(durations, s.last.Sub(s.first).Seconds())
			users[s.user] = true
			events += s.events
			if s.events == 1 {
				bounces++
			}
		}
		n := float64(len(durations))
		return []any{n, float64(len(users)), quantile(durations, 0.5), quantile(durations, 0.95), float64(events) / n, float64(bounces) / n}
	}
	req := baseRequest("sessions")
	res := f.query(t, req)
	require.Len(t, res.Rows, 1)
	want := expect("")
	require.Greater(t, want[0], 100.0)
	// Session times are milliseconds (the simulator's are finer): durations agree to the millisecond.
	for i, w := range want {
		assert.InDelta(t, w, res.Rows[0][i], 1e-3, res.Columns[i].Name)
	}

	req.Filters = map[string][]string{FilterPlugin: {"techdocs"}}
	res = f.query(t, req)
	want = expect("techdocs")
	require.Less(t, want[0], expect("")[0])
	for i, w := range want {
		assert.InDelta(t, w, res.Rows[0][i], 1e-3, res.Columns[i].Name)
	}

	req.Filters, req.Interval = nil, "day"
	total := 0.0
	for _, row := range f.query(t, req).Rows {
		total += row[1].(float64)
	}
	assert.Equal(t, expect("")[0], total, "the days' sessions add up")
}

// The engagement metrics against the stamps the engagement processor put on the stored events: each user in
// the tier of their last event in the range (and per plugin, team and day), and the histogram of their last
// scores.
func TestEngagementMetrics(t *testing.T) {
	f := setup(t)
	type key struct{ day, dim, tier string }
	last := func(inRange func(scored) bool, bucket func(scored) string) map[string]scored { // user|bucket → last event
		out := map[string]scored{}
		for _, s := range f.scored {
			if !inRange(s) {
				continue
			}
			k := s.user + "|" + bucket(s)
			if prev, ok := out[k]; !ok || s.ts.After(prev.ts) || s.ts.Equal(prev.ts) && s.score > prev.score {
				out[k] = s
			}
		}
		return out
	}
	inRange := func(s scored) bool { return !s.ts.Before(queryFrom) && s.ts.Before(queryTo) }
	whole := func(scored) string { return "" }

	// Tiers over the whole range.
	want := map[string]int{}
	for _, s := range last(inRange, whole) {
		want[s.tier]++
	}
	require.Greater(t, len(want), 1, "the simulation spreads users over tiers")
	req := baseRequest("engagement")
	req.Limit = 1000
	res := f.query(t, req)
	got, total := map[string]int{}, 0.0
	for _, row := range res.Rows {
		got[row[0].(string)] = int(row[1].(float64))
		total += row[2].(float64)
	}
	suppressed := 0
	for tier, n := range want {
		if n < testK {
			delete(want, tier)
			suppressed++
		}
	}
	assert.Equal(t, want, got)
	assert.Equal(t, suppressed, res.Meta.SuppressedRows)
	if suppressed == 0 {
		assert.InDelta(t, 1, total, 1e-9, "the shares add up")
	}

	// Per plugin: the users active in the plugin, in the tier of their last event (in any plugin).
	lastOf := last(inRange, whole)
	perPlugin := map[key]map[string]bool{}
	for _, s := range f.scored {
		if inRange(s) && s.plugin != "" {
			k := key{dim: s.plugin, tier: lastOf[s.user+"|"].tier}
			if perPlugin[k] == nil {
				perPlugin[k] = map[string]bool{}
			}
			perPlugin[k][s.user] = true
		}
	}
	req.GroupBy = []string{"plugin"}
	res = f.query(t, req)
	require.NotEmpty(t, res.Rows)
	for _, row := range res.Rows {
		assert.Equal(t, float64(len(perPlugin[key{dim: row[0].(string), tier: row[1].(string)}])), row[2], "%v", row)
	}

	// Per team (sub-teams' members in their departments and the organisation), per day (Berlin days, as the
	// request asks).
	day := func(s scored) string { return s.ts.In(berlin).Format(time.DateOnly) }
	perTeamDay := map[key]int{}
	for k, s := range last(inRange, day) {
		credited := map[string]bool{}
		for _, team := range s.teams {
			for _, g := range f.world.Above(team) {
				credited[g] = true
			}
		}
		for g := range credited {
			perTeamDay[key{day: strings.SplitN(k, "|", 2)[1], dim: g, tier: s.tier}]++
		}
	}
	req.GroupBy, req.Interval = []string{"team"}, "day"
	res = f.query(t, req)
	require.NotEmpty(t, res.Rows)
	assert.Contains(t, column(t, res, "team"), f.world.Groups[0].Ref, "the organisation, through its teams")
	for _, row := range res.Rows {
		ts, err := time.Parse(time.RFC3339, row[0].(string))
		require.NoError(t, err)
		assert.Equal(t, float64(perTeamDay[key{ts.In(berlin).Format(time.DateOnly), row[1].(string), row[2].(string)}]), row[3], "%v", row)
	}

	// The histogram of the last scores.
	bins := make([]float64, 10)
	for _, s := range last(inRange, whole) {
		bins[min(int(s.score/10), 9)]++
	}
	res = f.query(t, baseRequest("engagement_scores"))
	require.Len(t, res.Rows, 10)
	for i, row := range res.Rows {
		assert.Equal(t, []any{float64(10 * i), float64(10*i + 10), bins[i]}, row)
	}
}

// The metrics that read user sets give the same rows from the days the compaction built as from the rollups'
// rows of the days pending there.
func TestUserSetsMatchTheRollups(t *testing.T) {
	forEachStore(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		for _, req := range []Request{baseRequest("plugin_adoption")} {
			q, err := validate(req, Catalog(), queryTo)
			require.NoError(t, err)
			q.rollupTZ, _ = time.LoadLocation(f.rollupTZ)
			tx, err := f.store.DB().BeginTx(ctx, nil)
			require.NoError(t, err)
			if q.metric.prepare != nil {
				require.NoError(t, q.metric.prepare(ctx, tx, q))
			}
			built := rowsOf(t, tx, q)
			require.NotEmpty(t, built, req.Metric)
			_, err = tx.ExecContext(ctx, "INSERT INTO rollup_days SELECT DISTINCT 'plugin_daily', day FROM plugin_daily ON CONFLICT DO NOTHING")
			require.NoError(t, err)
			pending := rowsOf(t, tx, q)
			require.NoError(t, tx.Rollback())
			assert.Equal(t, pending, built, req.Metric)
		}
	})
}

// Metrics that count distinct users as bitmaps where they fit give the rows count(DISTINCT) gives.
func TestUserBitmapsMatchDistinct(t *testing.T) {
	forEachStore(t, func(t *testing.T, f *fixture) {
		teams := baseRequest("team_comparison")
		teams.Filters = map[string][]string{FilterTeamType: {"team"}}
		searches := baseRequest("search")
		searches.Interval = "day"
		for _, req := range []Request{baseRequest("plugin_adoption"), baseRequest("templates"), teams, baseRequest("top_entities"),
			baseRequest("search"), searches} {
			q, err := validate(req, Catalog(), queryTo)
			require.NoError(t, err)
			q.rollupTZ, _ = time.LoadLocation(f.rollupTZ)
			require.NoError(t, q.metric.prepare(context.Background(), f.store.DB(), q))
			require.Positive(t, q.userNumbers, "%s: 80 users' bitmaps fit", req.Metric)
			byBitmaps := rowsOf(t, f.store.DB(), q)
			q.userNumbers = 0
			byDistinct := rowsOf(t, f.store.DB(), q)
			require.NotEmpty(t, byDistinct, req.Metric)
			assert.Equal(t, byDistinct, byBitmaps, req.Metric)
		}
	})
}
