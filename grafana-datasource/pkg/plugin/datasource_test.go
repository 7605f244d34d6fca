package plugin

import (
	"context"
	"encoding/json"
	"flag"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/grafana/grafana-plugin-sdk-go/experimental"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden files")

const testToken = "grafana-token-0123456789"

// collector is a stand-in for the query API that enforces its contract (the bearer token, the body's fields)
// and answers as the real one does for a few metrics; the end-to-end test runs the real collector.
type collector struct {
	*httptest.Server
	queries atomic.Int64
	last    atomic.Value // the last query body
}

func newCollector(t *testing.T) *collector {
	c := &collector{}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/metrics", func(w http.ResponseWriter, r *http.Request) {
		if !c.authorized(w, r) {
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"metrics": []map[string]any{
			{"name": "active_users", "interval": "required"}, {"name": "plugin_adoption", "interval": "none"}}})
	})
	mux.HandleFunc("POST /api/v1/query", func(w http.ResponseWriter, r *http.Request) {
		if !c.authorized(w, r) {
			return
		}
		c.queries.Add(1)
		var req apiRequest
		dec := json.NewDecoder(r.Body)
		dec.DisallowUnknownFields() // as the query API does
		if err := dec.Decode(&req); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]any{"error": map[string]any{"code": 400, "message": err.Error()}})
			return
		}
		for name, v := range map[string]string{"from": req.From, "to": req.To} { // the API reads each as RFC 3339 when present
			if _, err := time.Parse(time.RFC3339, v); err != nil && (v != "" || req.Metric != "live") {
				writeJSON(w, http.StatusBadRequest, map[string]any{"error": map[string]any{"code": 400, "field": name, "message": "is not RFC 3339"}})
				return
			}
		}
		c.last.Store(req)
		switch {
		case req.Metric == "active_users" && len(req.GroupBy) == 0:
			writeJSON(w, http.StatusOK, map[string]any{
				"columns": []map[string]any{{"name": "time", "type": "time"}, {"name": "active_users", "type": "number", "unit": "users"},
					{"name": "stickiness", "type": "number", "unit": "ratio"}},
				"rows": [][]any{{"2026-11-02T00:00:00Z", 12, 0.4}, {"2026-11-01T00:00:00Z", 10, nil}},
				"meta": map[string]any{"metric": "active_users", "suppressed_rows": 0, "k_anonymity": 5}})
		case req.Metric == "active_users":
			writeJSON(w, http.StatusOK, map[string]any{
				"columns": []map[string]any{{"name": "time", "type": "time"}, {"name": "plugin", "type": "string"},
					{"name": "active_users", "type": "number", "unit": "users"}},
				"rows": [][]any{{"2026-11-01T00:00:00Z", "catalog", 9}, {"2026-11-01T00:00:00Z", "techdocs", 4},
					{"2026-11-02T00:00:00Z", "catalog", 11}, {"2026-11-02T00:00:00Z", "techdocs", 6}},
				"meta": map[string]any{"metric": "active_users", "suppressed_rows": 2, "k_anonymity": 5}})
		case req.Metric == "live":
			writeJSON(w, http.StatusOK, map[string]any{
				"columns": []map[string]any{{"name": "active_users", "type": "number", "unit": "users"}, {"name": "events", "type": "number", "unit": "events"},
					{"name": "events_per_minute", "type": "number", "unit": "events/min"}},
				"rows": [][]any{{7, 42, 8.4}}, "meta": map[string]any{"metric": "live"}})
		case req.Metric == "plugin_adoption":
			writeJSON(w, http.StatusOK, map[string]any{
				"columns": []map[string]any{{"name": "plugin", "type": "string"}, {"name": "users", "type": "number", "unit": "users"},
					{"name": "share", "type": "number", "unit": "ratio", "description": "users / all active users"}},
				"rows": [][]any{{"catalog", 40, 0.8}, {"techdocs", 20, 0.4}},
				"meta": map[string]any{"metric": "plugin_adoption", "suppressed_rows": 0, "k_anonymity": 5}})
		case req.Metric == "experiment_results":
			writeJSON(w, http.StatusOK, map[string]any{
				"columns": []map[string]any{{"name": "variant", "type": "string"}, {"name": "users", "type": "number", "unit": "users"}},
				"rows":    [][]any{{"control", 400}, {"cards", 310}},
				"meta":    map[string]any{"metric": "experiment_results", "sample_ratio_p_value": 0.00087, "sample_ratio_mismatch": true}})
		default:
			writeJSON(w, http.StatusBadRequest, map[string]any{"error": map[string]any{"code": 400, "field": "metric",
				"message": "unknown metric \"" + req.Metric + "\"; GET /api/v1/metrics lists them"}})
		}
	})
	c.Server = httptest.NewServer(mux)
	t.Cleanup(c.Close)
	return c
}

func (c *collector) authorized(w http.ResponseWriter, r *http.Request) bool {
	if r.Header.Get("Authorization") != "Bearer "+testToken {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"error": map[string]any{"code": 401, "message": "no or an unknown bearer token"}})
		return false
	}
	return true
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

func newTestDatasource(t *testing.T, url, token string, jsonData string) *Datasource {
	t.Helper()
	inst, err := NewDatasource(context.Background(), backend.DataSourceInstanceSettings{URL: url, JSONData: []byte(jsonData),
		DecryptedSecureJSONData: map[string]string{"token": token}})
	require.NoError(t, err)
	return inst.(*Datasource)
}

var (
	rangeFrom = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	rangeTo   = time.Date(2026, 11, 3, 0, 0, 0, 0, time.UTC)
)

func dataQuery(refID, metric, model string, interval time.Duration) backend.DataQuery {
	return backend.DataQuery{RefID: refID, QueryType: metric, JSON: []byte(model), Interval: interval,
		TimeRange: backend.TimeRange{From: rangeFrom, To: rangeTo}}
}

func TestQueryData(t *testing.T) {
	c := newCollector(t)
	d := newTestDatasource(t, c.URL, testToken, `{"cacheSeconds": -1}`)
	for _, tc := range []struct {
		name  string
		query backend.DataQuery
		sent  apiRequest
	}{
		{"timeseries", dataQuery("A", "active_users", `{"timezone": "Europe/Berlin"}`, 6*time.Hour),
			apiRequest{Metric: "active_users", From: "2026-11-01T00:00:00Z", To: "2026-11-03T00:00:00Z", Interval: "day", Timezone: "Europe/Berlin"}},
		{"timeseries_by_plugin", dataQuery("B", "active_users", `{"interval": "day", "groupBy": ["plugin"], "filters": {"instance": ["portal-eu"]}}`, time.Hour),
			apiRequest{Metric: "active_users", From: "2026-11-01T00:00:00Z", To: "2026-11-03T00:00:00Z", Interval: "day", Timezone: "UTC",
				GroupBy: []string{"plugin"}, Filters: map[string][]string{"instance": {"portal-eu"}}}},
		{"all_values", dataQuery("D", "active_users", `{"interval": "day", "groupBy": ["plugin"], "filters": {"instance": ["*"], "plugin": ["catalog"]}}`, time.Hour),
			apiRequest{Metric: "active_users", From: "2026-11-01T00:00:00Z", To: "2026-11-03T00:00:00Z", Interval: "day", Timezone: "UTC",
				GroupBy: []string{"plugin"}, Filters: map[string][]string{"plugin": {"catalog"}}}}, // All: no instance filter
		{"sample_ratio_mismatch", dataQuery("E", "experiment_results", `{"filters": {"experiment": ["new-home"]}, "goal": {"type": "retention_d7"}}`, time.Hour),
			apiRequest{Metric: "experiment_results", From: "2026-11-01T00:00:00Z", To: "2026-11-03T00:00:00Z", Timezone: "UTC",
				Filters: map[string][]string{"experiment": {"new-home"}}, Goal: json.RawMessage(`{"type":"retention_d7"}`)}},
		{"table", dataQuery("C", "plugin_adoption", `{"interval": "auto", "limit": 10}`, time.Hour),
			apiRequest{Metric: "plugin_adoption", From: "2026-11-01T00:00:00Z", To: "2026-11-03T00:00:00Z", Timezone: "UTC", Limit: 10}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := d.QueryData(context.Background(), &backend.QueryDataRequest{Queries: []backend.DataQuery{tc.query}})
			require.NoError(t, err)
			dr := resp.Responses[tc.query.RefID]
			require.NoError(t, dr.Error)
			assert.Equal(t, tc.sent, c.last.Load(), "the query API's request")
			experimental.CheckGoldenJSONResponse(t, "testdata", tc.name, &dr, *update)
		})
	}
}

func TestAQueryFailsAlone(t *testing.T) {
	c := newCollector(t)
	d := newTestDatasource(t, c.URL, testToken, "")
	resp, err := d.QueryData(context.Background(), &backend.QueryDataRequest{Queries: []backend.DataQuery{
		dataQuery("good", "plugin_adoption", `{}`, time.Hour),
		dataQuery("bad", "revenue", `{}`, time.Hour),
		dataQuery("empty", "", `{}`, time.Hour),
		dataQuery("format", "plugin_adoption", `{"format": "timeseries"}`, time.Hour),
	}})
	require.NoError(t, err)
	assert.NoError(t, resp.Responses["good"].Error)
	assert.EqualError(t, resp.Responses["bad"].Error, `metric: unknown metric "revenue"; GET /api/v1/metrics lists them`)
	assert.Equal(t, backend.StatusBadRequest, resp.Responses["bad"].Status)
	assert.EqualError(t, resp.Responses["empty"].Error, "choose a metric")
	assert.ErrorContains(t, resp.Responses["format"].Error, "has no time column: choose the table format")
}

func TestTheCacheSparesTheCollector(t *testing.T) {
	c := newCollector(t)
	d := newTestDatasource(t, c.URL, testToken, "")
	now := time.Now()
	d.cache.now = func() time.Time { return now }
	panel := dataQuery("A", "plugin_adoption", `{}`, time.Hour)
	for range 3 { // three panels, one query
		resp, err := d.QueryData(context.Background(), &backend.QueryDataRequest{Queries: []backend.DataQuery{panel}})
		require.NoError(t, err)
		require.NoError(t, resp.Responses["A"].Error)
	}
	assert.Equal(t, int64(1), c.queries.Load())
	now = now.Add(defaultCacheTTL)
	_, err := d.QueryData(context.Background(), &backend.QueryDataRequest{Queries: []backend.DataQuery{panel}})
	require.NoError(t, err)
	assert.Equal(t, int64(2), c.queries.Load(), "asked again once the answer expired")
}

func TestCheckHealth(t *testing.T) {
	c := newCollector(t)
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()
	for _, tc := range []struct {
		name, url, token string
		status           backend.HealthStatus
		message          string
	}{
		{"ok", c.URL, testToken, backend.HealthStatusOk, "Connected to the collector's query API: 2 metrics"},
		{"bad token", c.URL, "wrong-token-0123456789", backend.HealthStatusError, "the collector refused the token"},
		{"wrong URL", c.URL + "/grafana", testToken, backend.HealthStatusError, "no query API at " + c.URL + "/grafana"},
		{"unreachable", deadURL, testToken, backend.HealthStatusError, "cannot reach the collector at " + deadURL},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := newTestDatasource(t, tc.url, tc.token, "").CheckHealth(context.Background(), &backend.CheckHealthRequest{})
			require.NoError(t, err)
			assert.Equal(t, tc.status, res.Status)
			assert.Contains(t, res.Message, tc.message)
		})
	}
	_, err := NewDatasource(context.Background(), backend.DataSourceInstanceSettings{})
	assert.ErrorContains(t, err, "set the URL")
}

// resource calls a resource path and returns its status and body.
func resource(t *testing.T, d *Datasource, path string) (int, []byte) {
	t.Helper()
	var got *backend.CallResourceResponse
	err := d.CallResource(context.Background(), &backend.CallResourceRequest{Method: http.MethodGet, Path: path, URL: path},
		backend.CallResourceResponseSenderFunc(func(r *backend.CallResourceResponse) error { got = r; return nil }))
	require.NoError(t, err)
	require.NotNil(t, got)
	return got.Status, got.Body
}

func TestResources(t *testing.T) {
	c := newCollector(t)
	d := newTestDatasource(t, c.URL, testToken, "")
	status, body := resource(t, d, "metrics")
	assert.Equal(t, http.StatusOK, status)
	assert.Contains(t, string(body), `"plugin_adoption"`)

	status, body = resource(t, d, "values/plugin")
	assert.Equal(t, http.StatusOK, status)
	assert.JSONEq(t, `[{"text":"catalog","value":"catalog"},{"text":"techdocs","value":"techdocs"}]`, string(body))
	assert.Equal(t, "plugin_adoption", c.last.Load().(apiRequest).Metric)

	status, body = resource(t, d, "values/colour")
	assert.Equal(t, http.StatusNotFound, status)
	assert.Contains(t, string(body), "unknown dimension colour")
}

func TestAutoInterval(t *testing.T) {
	const day = 24 * time.Hour
	for _, tc := range []struct {
		panel, span time.Duration
		want        string
	}{
		{time.Minute, 6 * time.Hour, "hour"},         // 6 hours over 360 px
		{12 * time.Minute, 5 * day, "hour"},          // 5 px an hour
		{43 * time.Minute, 30 * day, "day"},          // 30 days over 1000 px: not 720 bars of an hour
		{4 * time.Hour, 90 * day, "day"},             // 90 days over 540 px
		{6 * time.Hour, 365 * day, "week"},           // a year over 1460 px
		{2 * day, 730 * day, "month"},                // two years over 365 px
		{6 * time.Hour, 2 * day, "day"},              // a small panel of two days: days, not a week
		{30 * time.Minute, 90 * time.Minute, "hour"}, // shorter than two hours: hours all the same
	} {
		assert.Equal(t, tc.want, autoInterval(tc.panel, tc.span), "%s over %s", tc.panel, tc.span)
	}
}

// packets collects what a stream sends.
type packets struct {
	mu     sync.Mutex
	frames []*data.Frame
}

func (p *packets) Send(packet *backend.StreamPacket) error {
	var frame data.Frame // SendFrame sends the frame as JSON
	if err := json.Unmarshal(packet.Data, &frame); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.frames = append(p.frames, &frame)
	return nil
}

func (p *packets) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.frames)
}

func TestLiveStream(t *testing.T) {
	c := newCollector(t)
	d := newTestDatasource(t, c.URL, testToken, "")
	d.liveEvery, d.uid = 10*time.Millisecond, "insights"
	sub, err := d.SubscribeStream(context.Background(), &backend.SubscribeStreamRequest{Path: livePath})
	require.NoError(t, err)
	assert.Equal(t, backend.SubscribeStreamStatusOK, sub.Status)
	sub, err = d.SubscribeStream(context.Background(), &backend.SubscribeStreamRequest{Path: "other"})
	require.NoError(t, err)
	assert.Equal(t, backend.SubscribeStreamStatusNotFound, sub.Status)

	ctx, cancel := context.WithCancel(context.Background())
	got := &packets{}
	done := make(chan error, 1)
	go func() {
		done <- d.RunStream(ctx, &backend.RunStreamRequest{Path: livePath}, backend.NewStreamSender(got))
	}()
	require.Eventually(t, func() bool { return got.count() >= 3 }, 5*time.Second, 5*time.Millisecond, "a row every tick")
	cancel()
	require.NoError(t, <-done, "the stream ends when its subscribers leave")
	got.mu.Lock()
	frame := got.frames[0]
	got.mu.Unlock()
	users, _ := frame.FieldByName("active_users")
	require.NotNil(t, users)
	assert.Equal(t, 7.0, users.At(0))
	rate, _ := frame.FieldByName("events_per_minute")
	require.NotNil(t, rate)
	assert.Equal(t, 8.4, rate.At(0))

	// A live panel's query names the channel it then follows.
	resp, err := d.QueryData(context.Background(), &backend.QueryDataRequest{Queries: []backend.DataQuery{dataQuery("L", "live", `{}`, time.Minute)}})
	require.NoError(t, err)
	require.NoError(t, resp.Responses["L"].Error)
	first := resp.Responses["L"].Frames[0]
	assert.Equal(t, "ds/insights/live", first.Meta.Channel)
	assert.Equal(t, data.FrameTypeTimeSeriesWide, first.Meta.Type, "the stream's first point, as a time series panel draws it")
	assert.Equal(t, []string{"time", "active_users", "events", "events_per_minute"}, fieldNames(first))
	// With filters, the channel's path carries them, and the stream asks for that instance's activity only.
	resp, err = d.QueryData(context.Background(), &backend.QueryDataRequest{Queries: []backend.DataQuery{
		dataQuery("F", "live", `{"filters": {"instance": ["portal-eu"], "plugin": ["*"]}}`, time.Minute)}})
	require.NoError(t, err)
	channel := resp.Responses["F"].Frames[0].Meta.Channel
	path, found := strings.CutPrefix(channel, "ds/insights/")
	require.True(t, found, channel)
	assert.Regexp(t, `^live/[A-Za-z0-9_-]+$`, path, "the characters a Grafana Live path may hold")
	sub, err = d.SubscribeStream(context.Background(), &backend.SubscribeStreamRequest{Path: path})
	require.NoError(t, err)
	assert.Equal(t, backend.SubscribeStreamStatusOK, sub.Status)
	ctx, cancel = context.WithCancel(context.Background())
	filtered := &packets{}
	go func() {
		done <- d.RunStream(ctx, &backend.RunStreamRequest{Path: path}, backend.NewStreamSender(filtered))
	}()
	require.Eventually(t, func() bool { return filtered.count() >= 1 }, 5*time.Second, 5*time.Millisecond)
	cancel()
	require.NoError(t, <-done)
	assert.Equal(t, map[string][]string{"instance": {"portal-eu"}}, c.last.Load().(apiRequest).Filters, "All (*) is no filter")
	sub, err = d.SubscribeStream(context.Background(), &backend.SubscribeStreamRequest{Path: "live/not base64!"})
	require.NoError(t, err)
	assert.Equal(t, backend.SubscribeStreamStatusNotFound, sub.Status)

	byPlugin, err := d.QueryData(context.Background(), &backend.QueryDataRequest{Queries: []backend.DataQuery{dataQuery("P", "live", `{"groupBy": ["plugin"]}`, time.Minute)}})
	require.NoError(t, err)
	assert.Empty(t, byPlugin.Responses["P"].Frames[0].Meta.Channel, "the stream carries the totals, not a row per plugin")
}

func fieldNames(f *data.Frame) []string {
	var out []string
	for _, field := range f.Fields {
		out = append(out, field.Name)
	}
	return out
}
