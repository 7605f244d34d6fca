package plugin

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/experimental"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/insights-collector/insights-collector/grafana-datasource/internal/recording"
)

const recordings = "testdata/metrics"

// Every metric of the query API's catalogue: the request the plugin makes of a real panel's query, and the frames
// it makes of the real answer (golden files beside the recordings; go test ./pkg/plugin -update rewrites them).
func TestEveryMetricAsRecorded(t *testing.T) {
	catalogue, err := os.ReadFile(filepath.Join(recordings, recording.Catalogue))
	require.NoError(t, err)
	var listing struct{ Metrics []struct{ Name string } }
	require.NoError(t, json.Unmarshal(catalogue, &listing))
	require.NotEmpty(t, listing.Metrics)
	for _, m := range listing.Metrics {
		t.Run(m.Name, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join(recordings, m.Name+".json"))
			require.NoError(t, err, "every metric has a recording: make datasource-fixtures")
			var rec recording.Recording
			require.NoError(t, json.Unmarshal(raw, &rec))
			api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				if r.URL.Path == "/api/v1/metrics" {
					_, _ = w.Write(catalogue)
					return
				}
				body, _ := io.ReadAll(r.Body)
				assert.JSONEq(t, string(rec.Request), string(body), "the request made of the query")
				_, _ = w.Write(rec.Answer)
			}))
			defer api.Close()
			d := newTestDatasource(t, api.URL, testToken, `{"cacheSeconds": -1}`)
			q := backend.DataQuery{RefID: rec.Query.RefID, QueryType: rec.Query.QueryType, JSON: rec.Query.JSON,
				TimeRange: backend.TimeRange{From: rec.Query.From, To: rec.Query.To}, Interval: time.Duration(rec.Query.IntervalMS) * time.Millisecond}
			resp, err := d.QueryData(context.Background(), &backend.QueryDataRequest{Queries: []backend.DataQuery{q}})
			require.NoError(t, err)
			dr := resp.Responses[q.RefID]
			require.NoError(t, dr.Error)
			if m.Name == livePath { // the stream's first point is stamped with the time it was asked
				dr.Frames[0].Fields[0].Set(0, time.Unix(0, 0).UTC())
			}
			experimental.CheckGoldenJSONResponse(t, recordings, m.Name, &dr, *update)
		})
	}
}
