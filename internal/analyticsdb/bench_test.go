package analyticsdb

import (
	"context"
	"database/sql/driver"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/insights-collector/insights-collector/internal/cputime"
	"github.com/insights-collector/insights-collector/internal/normalize"
	"github.com/insights-collector/insights-collector/internal/simulator"
	"github.com/insights-collector/insights-collector/internal/wireformat"
)

// BenchmarkWriteLogs measures storing normalised events in writes of 5,000 (the exporter's default batch):
// the Appender, the deduplication and the rollups. "ns/event" is the number to read.
func BenchmarkWriteLogs(b *testing.B) {
	cfg := simulator.DefaultConfig()
	cfg.Users, cfg.Days, cfg.Intensity = 2000, 3, 8
	cfg.Start = now.AddDate(0, 0, -3)
	world, err := simulator.NewWorld(cfg)
	require.NoError(b, err)
	var occs []wireformat.Occurrence
	for d := range cfg.Days {
		occs = append(occs, world.Day(d)...)
	}
	const batch = 5000
	var batches []plog.Logs
	for start := 0; start+batch <= len(occs); start += batch {
		ld := wireformat.OTLP(occs[start : start+batch])
		normalize.OTLP(ld, &normalize.Options{MaxEventAge: 10 * 24 * time.Hour}, &normalize.Request{Received: now})
		batches = append(batches, ld)
	}
	require.NotEmpty(b, batches)
	s, err := Open(context.Background(), Options{Path: filepath.Join(b.TempDir(), "bench.duckdb"), MemoryLimit: "512MB"})
	require.NoError(b, err)
	defer s.Close(context.Background())
	b.ReportAllocs()
	cpuStart := cputime.Process()
	i := 0
	for b.Loop() {
		if i == len(batches) { // every event stored once: start over on a fresh table
			b.StopTimer()
			for _, table := range append(rollupTables(dailyRollups), "events", "users") {
				_, err := s.DB().Exec("DELETE FROM " + table)
				require.NoError(b, err)
			}
			s.recent = newRecentIDs(DefaultDedupWindow)
			s.searches = searchTerms{last: map[string]search{}}
			i = 0
			b.StartTimer()
		}
		res, err := s.WriteLogs(context.Background(), batches[i], now)
		require.NoError(b, err)
		require.Equal(b, batch, res.Stored)
		i++
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/event")
	b.ReportMetric(float64((cputime.Process()-cpuStart).Nanoseconds())/float64(b.N*batch), "cpu-ns/event")
}

// BenchmarkAppendOnly is the floor under BenchmarkWriteLogs: the same event rows (built once, outside the
// timer) appended to the events table and committed, with no deduplication, numbering, rollups or checkpoint
// of ours. What it costs is DuckDB's append, WAL and commit alone.
func BenchmarkAppendOnly(b *testing.B) {
	s, rows := benchEventRows(b)
	b.ReportAllocs()
	cpuStart := cputime.Process()
	for b.Loop() {
		require.NoError(b, s.inTx(context.Background(), func() error { return s.appendRows("events", rows) }))
	}
	b.ReportMetric(float64((cputime.Process()-cpuStart).Nanoseconds())/float64(b.N*len(rows)), "cpu-ns/event")
}

// BenchmarkInsertSelect is the floor under BenchmarkAppendOnly: DuckDB alone, with no Go in the loop. The same
// event rows are staged once in a temporary table; each iteration inserts them (5,000 rows, or 32 copies of
// them: more than one row group) into a table of the events' columns, or of a group of them, in a
// transaction, and the checkpoint that writes them out is counted.
func BenchmarkInsertSelect(b *testing.B) {
	ctx := context.Background()
	s, rows := benchEventRows(b)
	_, err := s.writeConn.ExecContext(ctx, "CREATE TEMP TABLE staged AS FROM events LIMIT 0")
	require.NoError(b, err)
	require.NoError(b, s.appendRows("staged", rows))
	groups := []struct{ name, columns string }{
		{"every column", "*"},
		{"id and time", "event_id, ts"},
		{"11 filled strings", "event_name, user_key, action, subject, plugin_id, extension_id, entity_ref, entity_kind, user_id, source_format, service_name"},
		{"18 empty columns", "route_ref, user_hash, anonymous_id, session_previous_id, engagement_score, engagement_tier, feature_flag_key, " +
			"feature_flag_variant, environment, instance, user_no, search_term, session_start_ms, session_sequence, feature_flag_weight, " +
			"entity_owner, session_page, session_view"},
	}
	for _, copies := range []int{1, 32} {
		for i, g := range groups {
			b.Run(fmt.Sprintf("rows=%d/%s", copies*len(rows), g.name), func(b *testing.B) {
				table := fmt.Sprintf("floor_%d_%d", copies, i)
				_, err := s.writeConn.ExecContext(ctx, "CREATE TABLE "+table+" AS SELECT "+g.columns+" FROM events LIMIT 0")
				require.NoError(b, err)
				insert := "INSERT INTO " + table + " SELECT " + g.columns + " FROM staged" + strings.Repeat(" UNION ALL SELECT "+g.columns+" FROM staged", copies-1)
				cpuStart := cputime.Process()
				for b.Loop() {
					require.NoError(b, s.inTx(ctx, func() error {
						_, err := s.writeConn.ExecContext(ctx, insert)
						return err
					}))
				}
				_, err = s.writeConn.ExecContext(ctx, "CHECKPOINT")
				require.NoError(b, err)
				b.ReportMetric(float64((cputime.Process()-cpuStart).Nanoseconds())/float64(b.N*copies*len(rows)), "cpu-ns/event")
				_, err = s.writeConn.ExecContext(ctx, "DROP TABLE "+table)
				require.NoError(b, err)
			})
		}
	}
}

// benchEventRows opens a store in a temporary directory and builds the event rows of 5,000 simulated events.
func benchEventRows(b *testing.B) (*Store, [][]driver.Value) {
	cfg := simulator.DefaultConfig()
	cfg.Users, cfg.Days, cfg.Intensity = 2000, 1, 8
	cfg.Start = now.AddDate(0, 0, -1)
	world, err := simulator.NewWorld(cfg)
	require.NoError(b, err)
	ld := wireformat.OTLP(world.Day(0)[:5000])
	normalize.OTLP(ld, &normalize.Options{MaxEventAge: 10 * 24 * time.Hour}, &normalize.Request{Received: now})
	s, err := Open(context.Background(), Options{Path: filepath.Join(b.TempDir(), "bench.duckdb"), MemoryLimit: "512MB"})
	require.NoError(b, err)
	b.Cleanup(func() { _ = s.Close(context.Background()) })
	_, rows, _, _ := s.eventRows(ld, now)
	for _, row := range rows {
		row[ingestBatchAt] = int64(1)
	}
	return s, rows
}
