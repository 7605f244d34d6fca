package sessionizationprocessor

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/insights-collector/insights-collector/internal/semconv"
	"github.com/insights-collector/insights-collector/processor/sessionizationprocessor/internal/metadata"
)

const benchSessions = 100_000

// BenchmarkSessionize measures the steady state with 100,000 active sessions: batches of 100 events of
// users who all have an open session (no session starts or ends), through processLogs. "ns/event",
// "allocs/event" and "bytes/session" (the heap the open sessions take, their route strings included) are the
// numbers to read.
func BenchmarkSessionize(b *testing.B) {
	cfg := createDefaultConfig().(*Config)
	cfg.MaxActiveSessions = 2 * benchSessions
	p, err := newProcessor(cfg, processortest.NewNopSettings(metadata.Type), consumertest.NewNop())
	require.NoError(b, err)
	start := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	p.now = func() time.Time { return start }
	users := make([]string, benchSessions)
	for i := range users {
		users[i] = fmt.Sprintf("k1.%022d", i)
	}
	plugins := []string{"catalog", "search", "techdocs", "scaffolder", "api-docs"}

	makeBatch := func(round int) plog.Logs {
		ld := plog.NewLogs()
		rl := ld.ResourceLogs().AppendEmpty()
		rl.Resource().Attributes().PutStr(semconv.ResourceInstance, "portal-eu")
		records := rl.ScopeLogs().AppendEmpty().LogRecords()
		records.EnsureCapacity(100)
		for i := range 100 {
			lr := records.AppendEmpty()
			lr.SetEventName("backstage.navigate")
			lr.SetTimestamp(pcommon.NewTimestampFromTime(start.Add(time.Duration(round) * time.Millisecond)))
			attrs := lr.Attributes()
			attrs.EnsureCapacity(12)
			attrs.PutStr(semconv.AttrUserHash, users[(round*100+i)%benchSessions])
			attrs.PutStr(semconv.AttrAction, "navigate")
			// A string of its own per event, as a decoded request holds it: the route table keeps one copy.
			attrs.PutStr(semconv.AttrSubject, fmt.Sprintf("/catalog/default/component/service-%d", (round*100+i)%997))
			attrs.PutStr(semconv.AttrPluginID, plugins[i%len(plugins)])
			attrs.PutStr(semconv.AttrEventID, "0193a0f0-5b7e-7cde-8f00-0123456789ab")
		}
		return ld
	}
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for round := range benchSessions / 100 { // every user gets an open session
		_, err := p.processLogs(context.Background(), makeBatch(round))
		require.NoError(b, err)
	}
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	require.Equal(b, benchSessions, p.activeSessions())

	batches := make([]plog.Logs, 64)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i%len(batches) == 0 { // fresh batches (the processor stamps them in place), made outside the timer
			b.StopTimer()
			for j := range batches {
				batches[j] = makeBatch(benchSessions/100 + i + j)
			}
			b.StartTimer()
		}
		if _, err := p.processLogs(context.Background(), batches[i%len(batches)]); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*100), "ns/event")
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/benchSessions, "bytes/session")
}

// BenchmarkObserve is the tracker alone (no pdata): what sessionization itself costs per event, in steady
// state with 100,000 open sessions.
func BenchmarkObserve(b *testing.B) {
	tr := newTracker(createDefaultConfig().(*Config), newSessionID)
	users := make([]string, benchSessions)
	for i := range users {
		users[i] = fmt.Sprintf("k1.%022d", i)
	}
	now := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC).UnixMilli()
	rec := &changes{}
	for _, u := range users {
		ev := event{ts: now, plugin: "catalog"}
		tr.observe(u, &ev, now, rec)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ev := event{ts: now + int64(i/benchSessions), plugin: "catalog", navigate: true, subject: "/catalog"}
		tr.observe(users[i%benchSessions], &ev, now, rec)
	}
}
