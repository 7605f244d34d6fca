package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/insights-collector/insights-collector/internal/analyticsdb"
	"github.com/insights-collector/insights-collector/internal/simulator"
	"github.com/insights-collector/insights-collector/internal/wireformat"
)

// TestKillDuringIngestLosesNoAcknowledgedEvent sends events while the collector is killed with SIGKILL, restarts
// it on the same data directory, and then finds every event that was acknowledged with a 2xx in the store,
// each exactly once: the exporter's queue is on disk, and the store is idempotent on the event id.
func TestKillDuringIngestLosesNoAcknowledgedEvent(t *testing.T) {
	dataDir := t.TempDir()
	first := startCollector(t, dataDir)

	cfg := simulator.DefaultConfig()
	cfg.Users, cfg.Days, cfg.Intensity = 300, 2, 4
	cfg.Start = time.Now().AddDate(0, 0, -2)
	world, err := simulator.NewWorld(cfg)
	require.NoError(t, err)
	events := append(world.Day(0), world.Day(1)...)
	require.Greater(t, len(events), 5000)

	acked := map[string]bool{}
	var mu sync.Mutex
	send := func(target string, batch []wireformat.Occurrence) int {
		body, err := wireformat.Encode(wireformat.FormatOTLP, batch)
		require.NoError(t, err)
		req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, "http://"+target+"/v1/logs", bytes.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", wireformat.FormatOTLP.ContentType())
		req.Header.Set("Authorization", "Bearer dev-insights-token")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0 // the collector is gone: not acknowledged
		}
		resp.Body.Close()
		if resp.StatusCode/100 == 2 {
			mu.Lock()
			for _, e := range batch {
				acked[e.ID] = true
			}
			mu.Unlock()
		}
		return resp.StatusCode
	}

	// Two senders keep requests in flight; the collector dies under them.
	const batchSize = 50
	var wg sync.WaitGroup
	killed := make(chan struct{})
	next := 0
	var nextMu sync.Mutex
	for range 2 {
		wg.Go(func() {
			for {
				nextMu.Lock()
				start := next
				next += batchSize
				nextMu.Unlock()
				if start >= len(events)/2 {
					return
				}
				select {
				case <-killed:
					return
				default:
				}
				send(first.receiver, events[start:min(start+batchSize, len(events))])
			}
		})
	}
	require.Eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(acked) >= 1500 }, 60*time.Second, 10*time.Millisecond)
	require.NoError(t, first.cmd.Process.Kill())
	<-first.exited
	close(killed)
	wg.Wait()
	beforeKill := len(acked)

	// Restart on the same data: the queue on disk is replayed into the store. Send the rest too.
	second := startCollector(t, dataDir)
	for start := len(events) / 2; start < len(events); start += batchSize {
		require.Equal(t, http.StatusOK, send(second.receiver, events[start:min(start+batchSize, len(events))]))
	}
	// Wait until the store has taken everything acknowledged (the count holds still), then stop cleanly and read
	// the file directly.
	count := func() int {
		res := second.query(t, fmt.Sprintf(`{"metric":"events","from":%q,"to":%q,"limit":10000}`,
			cfg.Start.AddDate(0, 0, -1).Format(time.RFC3339), time.Now().Add(time.Hour).Format(time.RFC3339)))
		return len(res["rows"].([]any))
	}
	last := -1
	assert.Eventually(t, func() bool {
		n := count()
		settled := n >= len(acked) && n == last
		last = n
		return settled
	}, 60*time.Second, 1500*time.Millisecond, "the store did not reach the acknowledged count; the comparison below says what is missing")
	second.stop(t)

	store, err := analyticsdb.Open(context.Background(), analyticsdb.Options{Path: dataDir + "/insights.duckdb"})
	require.NoError(t, err)
	defer store.Close(context.Background())
	rows, err := store.DB().Query(`SELECT event_id::VARCHAR, count(*) FROM events GROUP BY 1`)
	require.NoError(t, err)
	stored := map[string]int{}
	for rows.Next() {
		var id string
		var n int
		require.NoError(t, rows.Scan(&id, &n))
		stored[id] = n
	}
	require.NoError(t, rows.Err())
	missing := 0
	for id := range acked {
		if stored[id] == 0 {
			missing++
		}
		assert.LessOrEqual(t, stored[id], 1, "event %s stored more than once", id)
	}
	assert.Zero(t, missing, "%d of %d acknowledged events are missing (%d acknowledged before the kill)", missing, len(acked), beforeKill)
	t.Logf("%d events acknowledged (%d before the kill), %d stored", len(acked), beforeKill, len(stored))
}
