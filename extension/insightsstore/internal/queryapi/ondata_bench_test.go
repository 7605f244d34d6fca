package queryapi

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/insights-collector/insights-collector/internal/analyticsdb"
	"github.com/insights-collector/insights-collector/internal/cputime"
)

// BenchmarkOnBenchDataSet asks the recommendations and the metrics of their rules of the data set `make
// bench-store` builds (10 million events; skipped without it), in process, with the collector's default memory
// limit. It reports the CPU a query took besides its wall time: on this noisy machine, compare builds with
// alternated runs, e.g. -count 20 into two files and benchstat.
func BenchmarkOnBenchDataSet(b *testing.B) {
	path := filepath.Join("..", "..", "..", "..", "bench", "results", "store", "insights.duckdb")
	if _, err := os.Stat(path); err != nil {
		b.Skip("no bench data set: make bench-store builds it")
	}
	ctx := context.Background()
	store, err := analyticsdb.Open(ctx, analyticsdb.Options{Path: path, MemoryLimit: "512MB"})
	require.NoError(b, err)
	b.Cleanup(func() { _ = store.Close(ctx) })
	require.NoError(b, store.CompactRollups(ctx)) // as the collector's maintenance does at start: builds what a migration left pending
	// The last 28 days of the data set, as bench/store asks them.
	end := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	period := `"from":"` + end.AddDate(0, 0, -28).Format(time.RFC3339) + `","to":"` + end.Format(time.RFC3339) + `"`
	for _, tc := range []struct{ name, request string }{
		{"recommendations", `{"metric":"recommendations",` + period + `}`},
		{"plugin_adoption", `{"metric":"plugin_adoption",` + period + `}`},
		{"platform_health", `{"metric":"platform_health",` + period + `}`},
		{"team_comparison", `{"metric":"team_comparison","filters":{"team_type":["team"]},` + period + `}`},
		{"search", `{"metric":"search",` + period + `}`},
		{"templates", `{"metric":"templates",` + period + `}`},
		{"onboarding_funnel", `{"metric":"funnel","funnel":{"steps":[{"event":"backstage.navigate"},{"event":"backstage.navigate","plugin":"catalog"},` +
			`{"event":"backstage.create"}],"within_hours":720,"new_users":true},` + period + `}`},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var req Request
			require.NoError(b, json.Unmarshal([]byte(tc.request), &req))
			cpu := cputime.Process()
			for b.Loop() {
				q, err := validate(req, Catalog(), end)
				require.NoError(b, err)
				q.rollupTZ = store.Timezone()
				_, err = run(ctx, store.DB(), q, 5)
				require.NoError(b, err)
			}
			b.ReportMetric(float64((cputime.Process()-cpu).Microseconds())/1000/float64(b.N), "cpu-ms/op")
		})
	}
}
