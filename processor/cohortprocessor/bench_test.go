package cohortprocessor

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/insights-collector/insights-collector/internal/semconv"
	"github.com/insights-collector/insights-collector/processor/cohortprocessor/internal/metadata"
)

// BenchmarkTag measures tagging in steady state (every user already assigned) with 0, 1 and 5 running
// experiments, 20,000 users, batches of 100 events: "ns/event" with none is the processor's pass over the
// events; the tagging cost per experiment is what the others add to it.
func BenchmarkTag(b *testing.B) {
	for _, n := range []int{0, 1, 5} {
		b.Run(fmt.Sprintf("%d-experiments", n), func(b *testing.B) {
			cfg := createDefaultConfig().(*Config)
			for i := range n {
				cfg.Experiments = append(cfg.Experiments, half(fmt.Sprintf("exp-%d", i)))
			}
			p := newProcessor(cfg, processortest.NewNopSettings(metadata.Type))
			require.NoError(b, p.start(context.Background(), componenttest.NewNopHost()))
			defer func() { require.NoError(b, p.shutdown(context.Background())) }()
			const users = 20_000
			makeBatch := func(round int) plog.Logs {
				ld := plog.NewLogs()
				records := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
				for i := range 100 {
					lr := records.AppendEmpty()
					lr.SetEventName("backstage.navigate")
					lr.SetTimestamp(pcommon.NewTimestampFromTime(time.Date(2026, 11, 10, 9, 0, 0, 0, time.UTC)))
					lr.Attributes().PutStr(semconv.AttrUserHash, fmt.Sprintf("k1.%022d", (round*100+i)%users))
					lr.Attributes().PutStr(semconv.AttrPluginID, "catalog")
				}
				return ld
			}
			for round := range users / 100 {
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
						batches[j] = makeBatch(i + j)
					}
					b.StartTimer()
				}
				if _, err := p.processLogs(context.Background(), batches[i%len(batches)]); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*100), "ns/event")
		})
	}
}
