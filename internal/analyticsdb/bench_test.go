package analyticsdb

import (
	"context"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"

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
	cpuStart := cpuTime()
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
	b.ReportMetric(float64((cpuTime()-cpuStart).Nanoseconds())/float64(b.N*batch), "cpu-ns/event")
}

// cpuTime is the process's user+system CPU time: DuckDB works on several threads, so wall time alone hides cost.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkAppendOnly is the floor under BenchmarkWriteLogs: the same event rows (built once, outside the
// timer) appended to the events table and committed, with no deduplication, numbering, rollups or checkpoint
// of ours. What it costs is DuckDB's append, WAL and commit alone.
func BenchmarkAppendOnly(b *testing.B) {
	cfg := simulator.DefaultConfig()
	cfg.Users, cfg.Days, cfg.Intensity = 2000, 1, 8
	cfg.Start = now.AddDate(0, 0, -1)
	world, err := simulator.NewWorld(cfg)
	require.NoError(b, err)
	const batch = 5000
	occs := world.Day(0)[:batch]
	ld := wireformat.OTLP(occs)
	normalize.OTLP(ld, &normalize.Options{MaxEventAge: 10 * 24 * time.Hour}, &normalize.Request{Received: now})
	s, err := Open(context.Background(), Options{Path: filepath.Join(b.TempDir(), "bench.duckdb"), MemoryLimit: "512MB"})
	require.NoError(b, err)
	defer s.Close(context.Background())
	_, rows, _, _ := s.eventRows(ld, now)
	for _, row := range rows {
		row[ingestBatchAt] = int64(1)
	}
	b.ReportAllocs()
	cpuStart := cpuTime()
	for b.Loop() {
		require.NoError(b, s.inTx(context.Background(), func() error { return s.appendRows("events", rows) }))
	}
	b.ReportMetric(float64((cpuTime()-cpuStart).Nanoseconds())/float64(b.N*batch), "cpu-ns/event")
}
