// Command store benchmarks the embedded analytics store on a large simulated history (by default 2,000 users
// over 90 days, about 10 million events): how fast it takes events (CPU per event), and the latency of every
// dashboard metric through the collector's query API — side by side with the same questions asked of
// PostgreSQL holding the same events in Red Hat's Adoption Insights schema (`events` with JSONB attributes and
// context, monthly partitions, their BRIN, B-tree and GIN indexes).
//
//	go run ./bench/store -binary bin/otelcol-insights      (make bench-store)
//
// The data set is built once into -dir and reused by later runs (delete the directory to rebuild it).
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/insights-collector/insights-collector/bench/internal/hostinfo"
	"github.com/insights-collector/insights-collector/internal/analyticsdb"
	"github.com/insights-collector/insights-collector/internal/cputime"
	"github.com/insights-collector/insights-collector/internal/loopback"
	"github.com/insights-collector/insights-collector/internal/normalize"
	"github.com/insights-collector/insights-collector/internal/simulator"
	"github.com/insights-collector/insights-collector/internal/wireformat"
	"github.com/insights-collector/insights-collector/processor/sessionizationprocessor"
)

// The simulated period (fixed, so that a built data set can be reused) and the windows the dashboards ask for.
var (
	periodStart = time.Date(2026, 8, 3, 0, 0, 0, 0, time.UTC)
	periodDays  = 90
	periodEnd   = periodStart.AddDate(0, 0, periodDays)
	last28      = periodEnd.AddDate(0, 0, -28)
)

type options struct {
	binary, dir  string
	users, runs  int
	pause        time.Duration // between two runs of a question
	memoryLimit  string        // the store's memory_limit ("": the collector's default)
	intensity    float64
	postgres     bool
	postgresPort int
	writeBatch   int
	match        *regexp.Regexp // the questions asked
}

func main() {
	var o options
	flag.StringVar(&o.binary, "binary", "bin/otelcol-insights", "the collector binary that serves the query API")
	flag.StringVar(&o.dir, "dir", filepath.Join("bench", "results", "store"), "where the data set is built (and reused)")
	flag.IntVar(&o.users, "users", 2000, "simulated users")
	flag.Float64Var(&o.intensity, "intensity", 34, "simulator intensity (34: about 10 million events over 90 days for 2,000 users)")
	flag.IntVar(&o.runs, "runs", 5, "runs per query (the median is reported)")
	flag.StringVar(&o.memoryLimit, "memory-limit", "", "the store's memory_limit (default: the collector's)")
	flag.DurationVar(&o.pause, "pause", 0, "wait this long before each run, as between a dashboard's refreshes (e.g. -pause 2s)")
	flag.BoolVar(&o.postgres, "postgres", true, "also load and query PostgreSQL (installed from Debian when missing)")
	flag.IntVar(&o.postgresPort, "postgres-port", 55432, "port of the benchmark's PostgreSQL on 127.0.0.1")
	flag.IntVar(&o.writeBatch, "write-batch", 20000, "events per store write while building")
	match := flag.String("match", "", "ask only the questions whose name matches this regular expression (e.g. -match recommendations -runs 25)")
	flag.Parse()
	var err error
	if o.match, err = regexp.Compile(*match); err != nil {
		fmt.Fprintln(os.Stderr, "bench/store: -match:", err)
		os.Exit(2)
	}
	if err := run(context.Background(), o); err != nil {
		fmt.Fprintln(os.Stderr, "bench/store:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options) error {
	if err := os.MkdirAll(o.dir, 0o755); err != nil { // PostgreSQL runs as its own user beneath it
		return err
	}
	dbPath := filepath.Join(o.dir, "insights.duckdb")
	var pg *pgx.Conn
	if o.postgres {
		pgDir, err := filepath.Abs(filepath.Join(o.dir, "postgres"))
		if err != nil {
			return err
		}
		if out, err := exec.Command("bench/store/postgres.sh", "start", pgDir, strconv.Itoa(o.postgresPort)).CombinedOutput(); err != nil {
			return fmt.Errorf("start PostgreSQL: %w: %s", err, out)
		}
		defer exec.Command("bench/store/postgres.sh", "stop", pgDir).Run() //nolint:errcheck // best effort at exit
		if pg, err = pgx.Connect(ctx, fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres", o.postgresPort)); err != nil {
			return fmt.Errorf("connect to PostgreSQL: %w", err)
		}
		defer pg.Close(ctx)
	}
	if _, err := os.Stat(dbPath); errors.Is(err, os.ErrNotExist) {
		load := pg
		if loaded, err := postgresLoaded(ctx, pg); err != nil {
			return err
		} else if loaded {
			fmt.Fprintln(os.Stderr, "PostgreSQL already holds the data set: building the store only")
			load = nil
		}
		if err := build(ctx, o, dbPath, load); err != nil {
			for _, suffix := range []string{"", ".wal", ".tmp"} { // a half-built data set is not reused
				_ = os.RemoveAll(dbPath + suffix)
			}
			return err
		}
	} else {
		fmt.Fprintf(os.Stderr, "reusing the data set in %s\n", o.dir)
	}
	if err := storeTeams(ctx, o, dbPath); err != nil {
		return err
	}
	return measureQueries(ctx, o, dbPath, pg)
}

// world is the simulated organisation of the data set.
func world(o options) (*simulator.World, error) {
	cfg := simulator.DefaultConfig()
	cfg.Users, cfg.Teams, cfg.Days, cfg.Intensity, cfg.Start, cfg.Entities = o.users, 60, periodDays, o.intensity, periodStart, 3000
	return simulator.NewWorld(cfg)
}

// storeTeams fills the store's teams table with the organisation's groups, as the backstage_catalog extension
// would (the team metrics' dimension and denominators).
func storeTeams(ctx context.Context, o options, dbPath string) error {
	w, err := world(o)
	if err != nil {
		return err
	}
	var teams []analyticsdb.Team
	for _, g := range w.GroupSizes() {
		teams = append(teams, analyticsdb.Team{Team: g.Ref, Parent: g.Parent, Ancestors: g.Ancestors, Type: g.Type, Members: g.Direct, TotalMembers: g.Total})
	}
	store, err := analyticsdb.Open(ctx, analyticsdb.Options{Path: dbPath, MemoryLimit: "512MB"})
	if err != nil {
		return err
	}
	if err := store.ReplaceTeams(ctx, teams, periodEnd); err != nil {
		_ = store.Close(ctx)
		return err
	}
	return store.Close(ctx)
}

// build generates the history day by day, stores it through analyticsdb (as the exporter does) and loads the
// same events into PostgreSQL.
func build(ctx context.Context, o options, dbPath string, pg *pgx.Conn) error {
	w, err := world(o)
	if err != nil {
		return err
	}
	store, err := analyticsdb.Open(ctx, analyticsdb.Options{Path: dbPath, MemoryLimit: "512MB"})
	if err != nil {
		return err
	}
	var storeCPU time.Duration
	if pg != nil {
		if err := createRHDHSchema(ctx, pg); err != nil {
			return err
		}
	}
	// The events go through the sessionization processor, as in the pipeline (the simulated browsers' session
	// ids trusted): it numbers the page views that paths walk. Its CPU time is not the store's.
	sessioned := new(consumertest.LogsSink)
	sessionizer, err := newSessionizer(ctx, sessioned)
	if err != nil {
		return err
	}
	write := func() error {
		for _, ld := range sessioned.AllLogs() {
			c0 := cputime.Process()
			if _, err := store.WriteLogs(ctx, ld, periodEnd); err != nil {
				return err
			}
			storeCPU += cputime.Process() - c0
		}
		sessioned.Reset()
		return nil
	}
	var events int
	var pgWall time.Duration
	start := time.Now()
	for day := range periodDays {
		occs := w.Day(day)
		for from := 0; from < len(occs); from += o.writeBatch {
			batch := occs[from:min(from+o.writeBatch, len(occs))]
			c0 := cputime.Process()
			ld := wireformat.OTLP(batch)
			normalize.OTLP(ld, &normalize.Options{MaxEventAge: 24 * time.Hour * time.Duration(periodDays+1)},
				&normalize.Request{Received: periodEnd, Instance: "portal"})
			storeCPU += cputime.Process() - c0
			if err := sessionizer.ConsumeLogs(ctx, ld); err != nil {
				return err
			}
			if err := write(); err != nil {
				return err
			}
		}
		if pg != nil {
			t0 := time.Now()
			if err := copyRHDH(ctx, pg, occs); err != nil {
				return err
			}
			pgWall += time.Since(t0)
		}
		events += len(occs)
		fmt.Fprintf(os.Stderr, "day %d/%d · %d events · store %.1f µs CPU/event · %s\n", day+1, periodDays, events,
			float64(storeCPU.Microseconds())/float64(events), time.Since(start).Round(time.Second))
	}
	if err := sessionizer.Shutdown(ctx); err != nil { // the open sessions end
		return err
	}
	if err := write(); err != nil {
		return err
	}
	c0 := cputime.Process()
	if err := store.CompactRollups(ctx); err != nil {
		return err
	}
	if _, err := store.BuildSessionSteps(ctx); err != nil {
		return err
	}
	if err := store.Close(ctx); err != nil { // checkpoints
		return err
	}
	storeCPU += cputime.Process() - c0
	summary := fmt.Sprintf("store: %d events, %.0f events per CPU-second (normalise + write + rollups + checkpoint, %d per write)",
		events, float64(events)/storeCPU.Seconds(), o.writeBatch)
	if pg != nil {
		t0 := time.Now()
		if err := indexRHDH(ctx, pg); err != nil {
			return err
		}
		summary += fmt.Sprintf("; PostgreSQL: COPY %s, indexes and ANALYZE %s", pgWall.Round(time.Second), time.Since(t0).Round(time.Second))
	}
	fmt.Fprintln(os.Stderr, summary)
	return os.WriteFile(filepath.Join(o.dir, "build.txt"), []byte(summary+"\n"), 0o600)
}

// newSessionizer starts a sessionization processor that trusts the client's session ids.
func newSessionizer(ctx context.Context, next *consumertest.LogsSink) (processor.Logs, error) {
	factory := sessionizationprocessor.NewFactory()
	cfg := factory.CreateDefaultConfig().(*sessionizationprocessor.Config)
	cfg.TrustClientSessions = true
	p, err := factory.CreateLogs(ctx, processortest.NewNopSettings(factory.Type()), cfg, next)
	if err != nil {
		return nil, err
	}
	return p, p.Start(ctx, componenttest.NewNopHost())
}

// postgresLoaded says whether PostgreSQL holds the data set of an earlier run (the simulation is deterministic,
// so it is the same), so that rebuilding the store alone does not reload it.
func postgresLoaded(ctx context.Context, pg *pgx.Conn) (bool, error) {
	if pg == nil {
		return false, nil
	}
	var n int64
	if err := pg.QueryRow(ctx, `SELECT CASE WHEN to_regclass('events') IS NULL THEN 0 ELSE (SELECT count(*) FROM events) END`).Scan(&n); err != nil {
		return false, fmt.Errorf("look for the PostgreSQL data set: %w", err)
	}
	return n > 0, nil
}

func createRHDHSchema(ctx context.Context, pg *pgx.Conn) error {
	stmts := []string{
		`DROP TABLE IF EXISTS events`,
		`CREATE TABLE events (id UUID DEFAULT gen_random_uuid(), action TEXT NOT NULL, subject TEXT NOT NULL, value TEXT,
			plugin_id TEXT NOT NULL, user_ref TEXT NOT NULL, attributes JSONB NOT NULL, context JSONB NOT NULL,
			created_at TIMESTAMPTZ DEFAULT now(), PRIMARY KEY (id, created_at)) PARTITION BY RANGE (created_at)`,
	}
	for m := periodStart; m.Before(periodEnd.AddDate(0, 1, 0)); m = m.AddDate(0, 1, 0) { // sessions may run past the end
		first := time.Date(m.Year(), m.Month(), 1, 0, 0, 0, 0, time.UTC)
		stmts = append(stmts, fmt.Sprintf(`CREATE TABLE events_%s PARTITION OF events FOR VALUES FROM ('%s') TO ('%s')`,
			first.Format("2006_01"), first.Format(time.DateOnly), first.AddDate(0, 1, 0).Format(time.DateOnly)))
	}
	for _, s := range stmts {
		if _, err := pg.Exec(ctx, s); err != nil {
			return fmt.Errorf("PostgreSQL schema: %w", err)
		}
	}
	return nil
}

// indexRHDH builds Adoption Insights' indexes after the load (faster than maintaining them during it).
func indexRHDH(ctx context.Context, pg *pgx.Conn) error {
	for _, s := range []string{
		`CREATE INDEX ON events USING BRIN (created_at)`,
		`CREATE INDEX ON events (created_at, user_ref)`,
		`CREATE INDEX ON events (created_at, plugin_id)`,
		`CREATE INDEX ON events (action)`,
		`CREATE INDEX ON events USING GIN (attributes)`,
		`CREATE INDEX ON events USING GIN (context)`,
		`VACUUM ANALYZE events`,
	} {
		if _, err := pg.Exec(ctx, s); err != nil {
			return fmt.Errorf("PostgreSQL %q: %w", s, err)
		}
	}
	return nil
}

// copyRHDH loads events as the adoption-insights backend stores them (user_ref = context.userName).
func copyRHDH(ctx context.Context, pg *pgx.Conn, occs []wireformat.Occurrence) error {
	rows := make([][]any, 0, len(occs))
	for _, o := range occs {
		attrs, _ := json.Marshal(orEmpty(o.Attributes))
		ctxMap := map[string]any{"userName": o.User, "timestamp": wireformat.ISOTime(o.Time)}
		for k, v := range o.Context {
			ctxMap[k] = v
		}
		contextJSON, _ := json.Marshal(ctxMap)
		var value any
		if o.Value != nil {
			value = strconv.FormatFloat(*o.Value, 'f', -1, 64)
		}
		plugin, _ := o.Context["pluginId"].(string)
		rows = append(rows, []any{o.Action, o.Subject, value, plugin, o.User, string(attrs), string(contextJSON), o.Time})
	}
	_, err := pg.CopyFrom(ctx, pgx.Identifier{"events"},
		[]string{"action", "subject", "value", "plugin_id", "user_ref", "attributes", "context", "created_at"}, pgx.CopyFromRows(rows))
	if err != nil {
		return fmt.Errorf("PostgreSQL COPY: %w", err)
	}
	return nil
}

func orEmpty(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

// question is one dashboard question: the query API's request and the same question in SQL on Red Hat's schema.
type question struct {
	name     string
	request  string
	postgres string
	args     []any
}

func questions() []question {
	iso := func(t time.Time) string { return t.Format(time.RFC3339) }
	span := fmt.Sprintf(`"from":%q,"to":%q`, iso(periodStart), iso(periodEnd))
	recent := fmt.Sprintf(`"from":%q,"to":%q`, iso(last28), iso(periodEnd))
	whole, month := []any{periodStart, periodEnd}, []any{last28, periodEnd}
	return []question{
		{"DAU, WAU, MAU per day (90 days)", `{"metric":"active_users","interval":"day",` + span + `}`, `
WITH ud AS (SELECT DISTINCT user_ref, (created_at AT TIME ZONE 'UTC')::date AS d FROM events
            WHERE created_at >= $1::timestamptz - interval '27 days' AND created_at < $2),
days AS (SELECT generate_series($1::timestamptz, $2::timestamptz - interval '1 day', interval '1 day')::date AS d)
SELECT days.d, count(DISTINCT ud.user_ref) FILTER (WHERE ud.d = days.d), count(DISTINCT ud.user_ref) FILTER (WHERE ud.d > days.d - 7),
       count(DISTINCT ud.user_ref)
FROM days LEFT JOIN ud ON ud.d > days.d - 28 AND ud.d <= days.d GROUP BY 1 ORDER BY 1`, whole},
		{"active users per week and plugin (90 days)", `{"metric":"active_users","interval":"week","group_by":["plugin"],` + span + `}`, `
SELECT date_trunc('week', created_at), plugin_id, count(DISTINCT user_ref) FROM events
WHERE created_at >= $1 AND created_at < $2 GROUP BY 1, 2 ORDER BY 1, 3 DESC`, whole},
		{"new vs returning per day (90 days)", `{"metric":"new_vs_returning","interval":"day",` + span + `}`, `
WITH f AS (SELECT user_ref, min(created_at) AS first_seen FROM events GROUP BY 1),
a AS (SELECT DISTINCT user_ref, date_trunc('day', created_at) AS d FROM events WHERE created_at >= $1 AND created_at < $2)
SELECT a.d, count(*) FILTER (WHERE f.first_seen >= a.d), count(*) FILTER (WHERE f.first_seen < a.d)
FROM a JOIN f USING (user_ref) GROUP BY 1 ORDER BY 1`, whole},
		{"plugin adoption with trend (28 days)", `{"metric":"plugin_adoption",` + recent + `}`, `
WITH cur AS (SELECT plugin_id, count(DISTINCT user_ref) AS users, count(*) AS events FROM events WHERE created_at >= $1 AND created_at < $2 GROUP BY 1),
prev AS (SELECT plugin_id, count(DISTINCT user_ref) AS users FROM events WHERE created_at >= $1::timestamptz - ($2::timestamptz - $1::timestamptz) AND created_at < $1 GROUP BY 1),
total AS (SELECT count(DISTINCT user_ref) AS n FROM events WHERE created_at >= $1 AND created_at < $2)
SELECT cur.plugin_id, cur.users, cur.events, cur.users::float / total.n, prev.users
FROM cur CROSS JOIN total LEFT JOIN prev USING (plugin_id) ORDER BY cur.users DESC`, month},
		{"feature adoption in the catalog (28 days)", `{"metric":"feature_adoption","filters":{"plugin":["catalog"]},` + recent + `}`, `
SELECT plugin_id, action, CASE WHEN action = 'click' THEN subject END, count(DISTINCT user_ref) AS users, count(*)
FROM events WHERE created_at >= $1 AND created_at < $2 AND plugin_id = 'catalog' GROUP BY 1, 2, 3 ORDER BY users DESC LIMIT 100`, month},
		{"top catalog entities (28 days)", `{"metric":"top_entities",` + recent + `}`, `
SELECT attributes->>'kind', attributes->>'namespace', attributes->>'name', count(*) AS views, count(DISTINCT user_ref)
FROM events WHERE created_at >= $1 AND created_at < $2 AND action = 'navigate' AND attributes->>'kind' IS NOT NULL
GROUP BY 1, 2, 3 ORDER BY views DESC LIMIT 100`, month},
		{"templates: runs, users, minutes saved (28 days)", `{"metric":"templates",` + recent + `}`, `
SELECT context->>'entityRef', count(*), count(DISTINCT user_ref), sum(value::float)
FROM events WHERE created_at >= $1 AND created_at < $2 AND action = 'create' GROUP BY 1 ORDER BY 2 DESC LIMIT 100`, month},
		{"search terms with zero-result and click-through rates (28 days)", `{"metric":"search",` + recent + `}`, `
WITH g AS (SELECT action, subject, value, user_ref, created_at,
             count(*) FILTER (WHERE action = 'search') OVER (PARTITION BY user_ref ORDER BY created_at ROWS UNBOUNDED PRECEDING) AS grp
           FROM events WHERE created_at >= $1 AND created_at < $2 AND action IN ('search', 'discover')),
s AS (SELECT *, first_value(subject) OVER (PARTITION BY user_ref, grp ORDER BY created_at) AS term FROM g WHERE grp > 0)
SELECT term, count(*) FILTER (WHERE action = 'search') AS searches, count(DISTINCT user_ref),
       avg((value = '0')::int) FILTER (WHERE action = 'search'), count(*) FILTER (WHERE action = 'discover')
FROM s GROUP BY 1 ORDER BY searches DESC LIMIT 100`, month},
		{"TechDocs: top docs and not-found (28 days)", `{"metric":"techdocs",` + recent + `}`, `
SELECT CASE WHEN action = 'not-found' THEN subject ELSE concat(attributes->>'kind', ':', attributes->>'namespace', '/', attributes->>'name') END AS doc,
       count(*) FILTER (WHERE action = 'navigate') AS views, count(DISTINCT user_ref), count(*) FILTER (WHERE action = 'not-found')
FROM events WHERE created_at >= $1 AND created_at < $2 AND plugin_id = 'techdocs' AND (action = 'not-found' OR attributes->>'kind' IS NOT NULL)
GROUP BY 1 ORDER BY views DESC LIMIT 100`, month},
		{"retention: weekly cohorts of new users (90 days)", `{"metric":"retention","interval":"week",` + span + `}`, `
WITH f AS (SELECT user_ref, date_trunc('week', min(created_at)) AS c FROM events GROUP BY 1 HAVING min(created_at) >= $1 AND min(created_at) < $2),
a AS (SELECT DISTINCT user_ref, date_trunc('week', created_at) AS w FROM events WHERE created_at >= $1 AND created_at < $2)
SELECT f.c, a.w - f.c AS period, count(*) FROM f JOIN a USING (user_ref) WHERE a.w >= f.c GROUP BY 1, 2 ORDER BY 1, 2`, whole},
		{"lifecycle: new, returning, resurrecting, dormant per day (28 days)", `{"metric":"lifecycle","interval":"day",` + recent + `}`, `
WITH a AS (SELECT DISTINCT user_ref, date_trunc('day', created_at) AS d FROM events WHERE created_at >= $1::timestamptz - interval '1 day' AND created_at < $2),
f AS (SELECT user_ref, date_trunc('day', min(created_at)) AS f FROM events GROUP BY 1),
s AS (SELECT a.d, CASE WHEN f.f = a.d THEN 'new' WHEN p.user_ref IS NOT NULL THEN 'returning' ELSE 'resurrecting' END AS s
      FROM a JOIN f USING (user_ref) LEFT JOIN a p ON p.user_ref = a.user_ref AND p.d = a.d - interval '1 day'
      UNION ALL SELECT p.d + interval '1 day', 'dormant' FROM a p LEFT JOIN a n ON n.user_ref = p.user_ref AND n.d = p.d + interval '1 day' WHERE n.user_ref IS NULL)
SELECT d, count(*) FILTER (WHERE s = 'new'), count(*) FILTER (WHERE s = 'returning'), count(*) FILTER (WHERE s = 'resurrecting'),
       count(*) FILTER (WHERE s = 'dormant') FROM s WHERE d >= $1 AND d < $2 GROUP BY 1 ORDER BY 1`, month},
		{"stickiness: days active per week (28 days)", `{"metric":"stickiness",` + recent + `}`, `
WITH d AS (SELECT DISTINCT user_ref, date_trunc('day', created_at) AS d FROM events WHERE created_at >= $1 AND created_at < $2),
uw AS (SELECT user_ref, date_trunc('week', d) AS w, count(*) AS days FROM d GROUP BY 1, 2)
SELECT days, count(*) FROM uw WHERE w >= $1 AND w + interval '7 days' <= $2 GROUP BY 1 ORDER BY 1`, month},
		{"funnel: template page, then a run within a week (28 days)", `{"metric":"funnel","funnel":{"steps":[{"event":"backstage.navigate","subject_prefix":"/create"},{"event":"backstage.create"}]},` + recent + `}`, `
WITH s1 AS (SELECT user_ref, min(created_at) AS t FROM events WHERE created_at >= $1 AND created_at < $2 AND action = 'navigate' AND subject LIKE '/create%' GROUP BY 1),
s2 AS (SELECT s1.user_ref, min(e.created_at) AS t FROM s1 JOIN events e ON e.user_ref = s1.user_ref AND e.action = 'create'
       AND e.created_at > s1.t AND e.created_at <= s1.t + interval '7 days' GROUP BY 1)
SELECT count(*), count(s2.t), percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM s2.t - s1.t)) FROM s1 LEFT JOIN s2 USING (user_ref)`, month},
		{"paths: 3 steps on from TechDocs, by route (28 days)", `{"metric":"paths","paths":{"anchor":{"plugin":"techdocs"},"node":"route"},` + recent + `}`, "", nil},
		{"paths: 3 steps on from TechDocs, by plugin (28 days)", `{"metric":"paths","paths":{"anchor":{"plugin":"techdocs"}},` + recent + `}`, "", nil},
		{"paths: top journeys of sessions (28 days)", `{"metric":"paths","lens":"journeys",` + recent + `}`, "", nil},
		{"DAU against the 28 days before", `{"metric":"active_users","interval":"day","compare":"previous_period",` + recent + `}`, "", nil},
		{"forecast: DAU 28 days ahead, fitted on 90 days", `{"metric":"forecast","interval":"day","series":{"metric":"active_users"},` + span + `}`, "", nil},
		{"anomalies: DAU per plugin, the last 14 of 90 days", `{"metric":"anomalies","interval":"day","group_by":["plugin"],"series":{"metric":"active_users"},` + span + `}`, "", nil},
		{"roi per month (90 days)", `{"metric":"roi","interval":"month",` + span + `}`, "", nil},
		{"roi per team (28 days)", `{"metric":"roi","group_by":["team"],` + recent + `}`, "", nil},
		{"recommendations (28 days)", `{"metric":"recommendations",` + recent + `}`, "", nil},
		{"custom metric: TechDocs readers per week (90 days)", `{"metric":"docs_readers","interval":"week",` + span + `}`, "", nil},
		{"team adoption (28 days)", `{"metric":"team_adoption",` + recent + `}`, "", nil},
		{"team comparison with growth (28 days)", `{"metric":"team_comparison",` + recent + `}`, "", nil},
		{"onboarding by team (28 days)", `{"metric":"onboarding","group_by":["team"],` + recent + `}`, "", nil},
		{"raw events, newest 100 (28 days)", `{"metric":"events","limit":100,` + recent + `}`, `
SELECT created_at, action, subject, plugin_id, user_ref FROM events WHERE created_at >= $1 AND created_at < $2 ORDER BY created_at DESC LIMIT 100`, month},
	}
}

const benchToken = "bench-admin-token-0123456789"

// measureQueries starts the collector on the built file and asks every question through its query API, then
// asks PostgreSQL the same.
func measureQueries(ctx context.Context, o options, dbPath string, pg *pgx.Conn) error {
	api, stop, err := startCollector(o.binary, dbPath, o.memoryLimit)
	if err != nil {
		return err
	}
	defer stop()
	build, _ := os.ReadFile(filepath.Join(o.dir, "build.txt"))
	pause := ""
	if o.pause > 0 {
		pause = fmt.Sprintf(", %s apart", o.pause)
	}
	fmt.Printf("\n%s%d runs per query (median%s), %s\n\n", build, o.runs, pause, hostinfo.Describe())
	fmt.Println("| question | store (query API) | store, DB time | PostgreSQL (RHDH schema) | PostgreSQL / store |")
	fmt.Println("|---|---|---|---|---|")
	for _, q := range questions() {
		if !o.match.MatchString(q.name) {
			continue
		}
		wall, db, err := medianAPI(api, q.request, o.runs, o.pause)
		if err != nil {
			return fmt.Errorf("%s: %w", q.name, err)
		}
		pgCell, ratio := "–", "–"
		if pg != nil && q.postgres != "" { // Red Hat's schema has no teams
			pgTime, err := medianPostgres(ctx, pg, q, o.runs)
			if err != nil {
				return fmt.Errorf("%s on PostgreSQL: %w", q.name, err)
			}
			pgCell, ratio = ms(pgTime), fmt.Sprintf("%.0f×", float64(pgTime)/float64(db))
		}
		fmt.Printf("| %s | %s | %s | %s | %s |\n", q.name, ms(wall), ms(db), pgCell, ratio)
	}
	return nil
}

func ms(d time.Duration) string { return fmt.Sprintf("%.0f ms", float64(d.Microseconds())/1000) }

func startCollector(binary, dbPath, memoryLimit string) (string, func(), error) {
	apiAddr, err1 := loopback.FreeAddress()
	receiverAddr, err2 := loopback.FreeAddress()
	if err := errors.Join(err1, err2); err != nil {
		return "", nil, err
	}
	abs, err := filepath.Abs(dbPath)
	if err != nil {
		return "", nil, err
	}
	cfg := filepath.Join(filepath.Dir(abs), "collector.yaml")
	store := "path: " + abs
	if memoryLimit != "" {
		store += "\n    memory_limit: " + memoryLimit
	}
	config := fmt.Sprintf(`extensions:
  insights_store:
    %s
    query_api:
      endpoint: %s
      tokens: [{name: bench, token: %s, role: admin}]
      roi: {template_run_minutes: 30, search_success_minutes: 3, techdocs_view_minutes: 5, hourly_cost: 95, platform_cost_per_month: 40000, currency: EUR}
      custom_metrics:
        - {name: docs_readers, filter: {event: backstage.navigate, plugin: techdocs}, aggregation: distinct_users}
receivers:
  backstage:
    endpoint: %s
    credentials: [{bearer_token: %s}]
exporters:
  insights_store:
service:
  telemetry: {metrics: {level: none}, logs: {level: warn}}
  extensions: [insights_store]
  pipelines:
    logs: {receivers: [backstage], exporters: [insights_store]}
`, store, apiAddr, benchToken, receiverAddr, benchToken)
	if err := os.WriteFile(cfg, []byte(config), 0o600); err != nil {
		return "", nil, err
	}
	var stderr bytes.Buffer
	cmd := exec.Command(binary, "--config", cfg)
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return "", nil, fmt.Errorf("start %s: %w (run make build)", binary, err)
	}
	stop := func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	}
	deadline := time.Now().Add(120 * time.Second)
	for time.Now().Before(deadline) {
		if _, _, err := askAPI(apiAddr, `{"metric":"live"}`); err == nil {
			return apiAddr, stop, nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	stop()
	return "", nil, fmt.Errorf("the collector's query API did not answer within 120s:\n%s", stderr.String())
}

// askAPI runs one query and returns the client's wall time and the database time the API reports.
func askAPI(addr, body string) (time.Duration, time.Duration, error) {
	req, err := http.NewRequest(http.MethodPost, "http://"+addr+"/api/v1/query", strings.NewReader(body))
	if err != nil {
		return 0, 0, err
	}
	req.Header.Set("Authorization", "Bearer "+benchToken)
	req.Header.Set("Content-Type", "application/json")
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	wall := time.Since(start)
	if err != nil {
		return 0, 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return 0, 0, fmt.Errorf("status %d: %s", resp.StatusCode, raw)
	}
	var res struct {
		Meta struct {
			QueryMillis float64 `json:"query_ms"`
		} `json:"meta"`
	}
	if err := json.Unmarshal(raw, &res); err != nil {
		return 0, 0, err
	}
	return wall, time.Duration(res.Meta.QueryMillis * float64(time.Millisecond)), nil
}

func medianAPI(addr, body string, runs int, pause time.Duration) (time.Duration, time.Duration, error) {
	if _, _, err := askAPI(addr, body); err != nil { // warm-up
		return 0, 0, err
	}
	var walls, dbs []time.Duration
	for range runs {
		time.Sleep(pause)
		wall, db, err := askAPI(addr, body)
		if err != nil {
			return 0, 0, err
		}
		walls, dbs = append(walls, wall), append(dbs, db)
	}
	return median(walls), median(dbs), nil
}

func medianPostgres(ctx context.Context, pg *pgx.Conn, q question, runs int) (time.Duration, error) {
	var times []time.Duration
	for i := range runs + 1 {
		start := time.Now()
		rows, err := pg.Query(ctx, q.postgres, q.args...)
		if err != nil {
			return 0, err
		}
		for rows.Next() {
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return 0, err
		}
		if i > 0 { // the first run warms the cache
			times = append(times, time.Since(start))
		}
	}
	return median(times), nil
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}
