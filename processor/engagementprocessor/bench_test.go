package engagementprocessor

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/insights-collector/insights-collector/internal/semconv"
	"github.com/insights-collector/insights-collector/processor/engagementprocessor/internal/metadata"
)

const benchUsers = 50_000

// BenchmarkScore measures scoring with 50,000 users tracked: batches of 100 events through processLogs (score,
// tier, stamping), with a daily cap on navigate. "ns/event" is the number to read.
func BenchmarkScore(b *testing.B) {
	cfg := createDefaultConfig().(*Config)
	cfg.DailyCaps = map[string]int{semconv.ActionNavigate: 200}
	p, err := newProcessor(cfg, processortest.NewNopSettings(metadata.Type), consumertest.NewNop())
	require.NoError(b, err)
	start := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	p.now = func() time.Time { return start }
	users := make([]string, benchUsers)
	for i := range users {
		users[i] = fmt.Sprintf("k1.%022d", i)
	}
	actions := []string{"backstage.navigate", "backstage.click", "backstage.search", "backstage.navigate", "backstage.create"}
	makeBatch := func(round int) plog.Logs {
		ld := plog.NewLogs()
		rl := ld.ResourceLogs().AppendEmpty()
		rl.Resource().Attributes().PutStr(semconv.ResourceInstance, "portal-eu")
		records := rl.ScopeLogs().AppendEmpty().LogRecords()
		records.EnsureCapacity(100)
		for i := range 100 {
			lr := records.AppendEmpty()
			lr.SetEventName(actions[i%len(actions)])
			lr.SetTimestamp(pcommon.NewTimestampFromTime(start.Add(time.Duration(round) * time.Second)))
			attrs := lr.Attributes()
			attrs.EnsureCapacity(8)
			attrs.PutStr(semconv.AttrUserHash, users[(round*100+i)%benchUsers])
			attrs.PutStr(semconv.AttrPluginID, "catalog")
			attrs.PutStr(semconv.AttrEventID, "0193a0f0-5b7e-7cde-8f00-0123456789ab")
		}
		return ld
	}
	for round := range benchUsers / 100 { // every user is tracked
		_, err := p.processLogs(context.Background(), makeBatch(round))
		require.NoError(b, err)
	}
	batches := make([]plog.Logs, 64)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i%len(batches) == 0 {
			b.StopTimer()
			for j := range batches {
				batches[j] = makeBatch(benchUsers/100 + i + j)
			}
			b.StartTimer()
		}
		if _, err := p.processLogs(context.Background(), batches[i%len(batches)]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*100), "ns/event")
}
