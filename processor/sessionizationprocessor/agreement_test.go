package sessionizationprocessor

import (
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	_ "github.com/duckdb/duckdb-go/v2" // the independent computation runs in DuckDB
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/insights-collector/insights-collector/internal/semconv"
	"github.com/insights-collector/insights-collector/internal/simulator"
	"github.com/insights-collector/insights-collector/internal/wireformat"
)

// The simulator's 90-day history, sessionized by the processor and independently in SQL (gaps and islands
// over each user's events in DuckDB): the same sessions, with the same first and last event and the same
// number of events, for every user; at the default gap, and at short ones that cut through the simulated
// visits (where most boundary cases are).
func TestAgreesWithGapsAndIslandsInSQL(t *testing.T) {
	for _, gap := range []time.Duration{30 * time.Minute, 2 * time.Minute, 20 * time.Second} {
		t.Run(gap.String(), func(t *testing.T) { testAgreement(t, gap) })
	}
}

func testAgreement(t *testing.T, gap time.Duration) {
	cfg := simulator.DefaultConfig()
	cfg.Users, cfg.Teams, cfg.Days = 60, 4, 90
	cfg.Start = time.Date(2026, 8, 1, 0, 0, 0, 0, time.UTC)
	world, err := simulator.NewWorld(cfg)
	require.NoError(t, err)

	pcfg := createDefaultConfig().(*Config)
	pcfg.InactivityGap = gap
	h := newHarness(t, pcfg)
	var csv strings.Builder
	csv.WriteString("user_key,ts\n")
	var ends []string
	collectEnds := func(ld plog.Logs) {
		for _, rl := range ld.ResourceLogs().All() {
			for _, sl := range rl.ScopeLogs().All() {
				for _, lr := range sl.LogRecords().All() {
					if lr.EventName() != semconv.EventSessionEnd {
						continue
					}
					a := lr.Attributes().AsRaw()
					last := lr.Timestamp().AsTime().UnixMilli()
					ends = append(ends, fmt.Sprintf("%s %d %d %d", a[semconv.AttrUserID], last-a[semconv.AttrSessionDurationMs].(int64),
						last, a[semconv.AttrSessionEventCount]))
				}
			}
		}
	}
	events := 0
	for d := range cfg.Days {
		day := world.Day(d)
		for _, o := range day {
			fmt.Fprintf(&csv, "%s,%d\n", o.User, o.Time.UnixMilli())
		}
		events += len(day)
		h.clock.set(cfg.Start.AddDate(0, 0, d+1)) // the day streams in as it happens
		collectEnds(h.process(t, wireformat.OTLP(day)))
	}
	c := &changes{}
	h.p.tracker.expire(cfg.Start.AddDate(0, 0, cfg.Days+2).UnixMilli(), c)
	ld := plog.NewLogs()
	h.p.appendSessionEvents(ld, c)
	collectEnds(ld)
	require.Greater(t, events, 10_000)

	path := filepath.Join(t.TempDir(), "events.csv")
	require.NoError(t, os.WriteFile(path, []byte(csv.String()), 0o600))
	db, err := sql.Open("duckdb", "")
	require.NoError(t, err)
	defer db.Close()
	rows, err := db.Query(`WITH e AS (SELECT * FROM read_csv(?, header = true, columns = {'user_key': 'VARCHAR', 'ts': 'BIGINT'})),
		g AS (SELECT user_key, ts, CASE WHEN ts - lag(ts) OVER w <= ? THEN 0 ELSE 1 END AS new FROM e
		      WINDOW w AS (PARTITION BY user_key ORDER BY ts)),
		s AS (SELECT user_key, ts, sum(new) OVER (PARTITION BY user_key ORDER BY ts ROWS UNBOUNDED PRECEDING) AS island FROM g)
		SELECT user_key, min(ts), max(ts), count(*) FROM s GROUP BY user_key, island`, path, gap.Milliseconds())
	require.NoError(t, err)
	defer rows.Close()
	var want []string
	for rows.Next() {
		var user string
		var first, last, n int64
		require.NoError(t, rows.Scan(&user, &first, &last, &n))
		require.Less(t, last-first, (24 * time.Hour).Milliseconds(), "no island reaches the maximum duration, which SQL does not split")
		want = append(want, fmt.Sprintf("%s %d %d %d", user, first, last, n))
	}
	require.NoError(t, rows.Err())
	slices.Sort(want)
	slices.Sort(ends)
	assert.Greater(t, len(want), 1000)
	assert.Equal(t, want, ends)
}
