package anonymizationprocessor

import (
	"context"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/processor/redactionprocessor"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/insights-collector/insights-collector/internal/normalize"
	"github.com/insights-collector/insights-collector/internal/simulator"
	"github.com/insights-collector/insights-collector/internal/wireformat"
)

// BenchmarkAnonymization compares the processor with the contrib redaction processor configured to HMAC the
// same user field, on the same records (a simulated organisation's normalised events, 1,000 per batch), in one
// run: "ns/record" is the number to compare (bench/README.md records the ratios).
func BenchmarkAnonymization(b *testing.B) {
	batch := simulatedBatch(b, 1000)
	redaction := redactionprocessor.NewFactory()
	redactionCfg := redaction.CreateDefaultConfig().(*redactionprocessor.Config)
	redactionCfg.AllowAllKeys = true
	redactionCfg.BlockedKeyPatterns = []string{`^user\.id$`}
	redactionCfg.HashFunction = redactionprocessor.HMACSHA256
	redactionCfg.HMACKey = testSecret
	redactionCfg.Summary = "silent"

	hashOnly := testConfig(func(c *Config) {
		c.Mode, c.ClientAddress, c.UserAgent, c.SearchTerms, c.FreeText = ModePermissive, ActionKeep, ActionKeep, ActionKeep, ActionKeep
	})
	for _, tc := range []struct {
		name string
		f    processor.Factory
		cfg  any
	}{
		{"redaction-hmac-user-id", redaction, redactionCfg},
		{"anonymization-hash-only", NewFactory(), hashOnly},
		{"anonymization-full", NewFactory(), testConfig()},
	} {
		b.Run(tc.name, func(b *testing.B) {
			p, err := tc.f.CreateLogs(context.Background(), processortest.NewNopSettings(tc.f.Type()), tc.cfg, consumertest.NewNop())
			require.NoError(b, err)
			require.NoError(b, p.Start(context.Background(), nil))
			defer func() { require.NoError(b, p.Shutdown(context.Background())) }()
			copies := make([]plog.Logs, 64)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if i%len(copies) == 0 { // copies of the batch, made outside the timer: each is changed in place
					b.StopTimer()
					for j := range copies {
						copies[j] = plog.NewLogs()
						batch.CopyTo(copies[j])
					}
					b.StartTimer()
				}
				require.NoError(b, p.ConsumeLogs(context.Background(), copies[i%len(copies)]))
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch.LogRecordCount()), "ns/record")
		})
	}
}

func simulatedBatch(b *testing.B, n int) plog.Logs {
	cfg := simulator.DefaultConfig()
	cfg.Users, cfg.Days = 500, 1
	cfg.Start = time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	world, err := simulator.NewWorld(cfg)
	require.NoError(b, err)
	occs := world.Day(0)
	require.GreaterOrEqual(b, len(occs), n)
	ld := wireformat.OTLP(occs[:n])
	normalize.OTLP(ld, &normalize.Options{MaxEventAge: 30 * 24 * time.Hour}, &normalize.Request{Received: cfg.Start.Add(24 * time.Hour)})
	return ld
}
