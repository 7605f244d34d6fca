package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/insights-collector/insights-collector/internal/loopback"
)

func TestDryRun(t *testing.T) {
	var out, errOut bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"-dry-run", "-days", "3", "-users", "20", "-teams", "3", "-progress", "0"}, &out, &errOut))
	assert.Contains(t, out.String(), "dry run:")
	assert.Contains(t, out.String(), "over 3 days")
}

func TestScenarioFlags(t *testing.T) {
	o, err := parseFlags([]string{"-collapse", "techdocs@5:0.2", "-growing-team", "2", "-onboarding-drop-off", "0.3"}, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, "techdocs", o.sim.Scenarios.Collapse.Plugin)
	assert.Equal(t, 5, o.sim.Scenarios.Collapse.Day)
	assert.InDelta(t, 0.2, o.sim.Scenarios.Collapse.Share, 1e-12)
	assert.Equal(t, 2, o.sim.Scenarios.GrowingTeam)
	assert.InDelta(t, 0.3, o.sim.Scenarios.OnboardingDropOff, 1e-12)
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"-dry-run", "-days", "10", "-users", "30", "-teams", "3", "-collapse", "search@4", "-progress", "0"}, &out, io.Discard))
}

func TestBackfillSendsEveryEvent(t *testing.T) {
	var received atomic.Int64
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, "/v1/events", r.URL.Path)
		assert.Equal(t, "Bearer s3cret-token", r.Header.Get("Authorization"))
		body, _ := io.ReadAll(r.Body)
		var events []json.RawMessage
		assert.NoError(t, json.Unmarshal(body, &events))
		received.Add(int64(len(events)))
		_, _ = w.Write([]byte(`{"accepted":1}`))
	}))
	defer server.Close()

	var dry, out bytes.Buffer
	args := []string{"-days", "2", "-users", "30", "-teams", "3", "-progress", "0", "-otlp-endpoint", ""}
	require.NoError(t, run(context.Background(), append(args, "-dry-run"), &dry, io.Discard))
	require.NoError(t, run(context.Background(), append(args, "-endpoint", server.URL, "-token", "s3cret-token", "-batch", "7"), &out, io.Discard))
	assert.Positive(t, received.Load())
	assert.Contains(t, dry.String(), "dry run: "+itoa(received.Load())+" events", "the same seed generates the same events")
	assert.Contains(t, out.String(), itoa(received.Load())+" accepted")
}

// The backend's telemetry goes to the OTLP/HTTP receiver as protobuf: server spans of the plugins' routes and
// the scaffolder's task counter.
func TestBackfillSendsTheBackendsTelemetry(t *testing.T) {
	var spans, points atomic.Int64
	var routes sync.Map
	events := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"accepted":1}`))
	}))
	defer events.Close()
	otlp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, "application/x-protobuf", r.Header.Get("Content-Type"))
		body, _ := io.ReadAll(r.Body)
		switch r.URL.Path {
		case "/v1/traces":
			req := ptraceotlp.NewExportRequest()
			require.NoError(t, req.UnmarshalProto(body))
			spans.Add(int64(req.Traces().SpanCount()))
			rs := req.Traces().ResourceSpans().At(0)
			for i := 0; i < rs.ScopeSpans().At(0).Spans().Len(); i++ {
				sp := rs.ScopeSpans().At(0).Spans().At(i)
				assert.Equal(t, ptrace.SpanKindServer, sp.Kind())
				route, _ := sp.Attributes().Get("http.route")
				routes.Store(route.Str(), true)
			}
		case "/v1/metrics":
			req := pmetricotlp.NewExportRequest()
			require.NoError(t, req.UnmarshalProto(body))
			m := req.Metrics().ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(0)
			assert.Equal(t, "scaffolder.task.count", m.Name())
			assert.True(t, m.Sum().IsMonotonic())
			points.Add(int64(m.Sum().DataPoints().Len()))
		default:
			t.Errorf("unexpected path %s", r.URL.Path)
		}
		_, _ = w.Write(nil)
	}))
	defer otlp.Close()
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"-days", "3", "-users", "40", "-teams", "3", "-progress", "0",
		"-endpoint", events.URL, "-otlp-endpoint", otlp.URL}, &out, io.Discard))
	assert.Positive(t, spans.Load())
	assert.Positive(t, points.Load(), "templates ran")
	assert.Contains(t, out.String(), itoa(spans.Load())+" backend spans")
	for _, route := range []string{"/api/catalog/entities/by-name/:kind/:namespace/:name", "/api/search/query", "/api/scaffolder/v2/tasks"} {
		_, ok := routes.Load(route)
		assert.True(t, ok, route)
	}
}

func TestLiveModeStopsAfterDuration(t *testing.T) {
	var received atomic.Int64
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, "/v1/batch", r.URL.Path)
		assert.Contains(t, r.Header.Get("Authorization"), "Basic ")
		received.Add(1)
		_, _ = w.Write([]byte(`{"success":true}`))
	}))
	defer server.Close()
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"-mode", "live", "-rate", "100", "-batch", "10", "-duration", "500ms",
		"-format", "segment", "-endpoint", server.URL, "-progress", "0", "-otlp-endpoint", ""}, &out, io.Discard))
	assert.GreaterOrEqual(t, received.Load(), int64(2))
	assert.LessOrEqual(t, received.Load(), int64(8), "paced at about 100 events/s, not as fast as possible")
}

func TestBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-format", "xml"},
		{"-mode", "replay"},
		{"-batch", "0"},
		{"-basic", "no-colon"},
		{"-users", "0", "-dry-run"},
		{"-collapse", "search", "-dry-run"},
		{"-collapse", "search@x", "-dry-run"},
		{"-collapse", "jenkins@2", "-dry-run"},
		{"-growing-team", "99", "-dry-run"},
	} {
		assert.Error(t, run(context.Background(), args, io.Discard, io.Discard), "%v", args)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestCatalogMode(t *testing.T) {
	addr, err := loopback.FreeAddress()
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	var out bytes.Buffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-mode", "catalog", "-catalog-addr", addr, "-catalog-token", "cat-token", "-users", "40", "-teams", "5"}, &out, io.Discard)
	}()
	var resp *http.Response
	require.Eventually(t, func() bool {
		req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/api/catalog/entities/by-query?filter=kind=user", nil)
		req.Header.Set("Authorization", "Bearer cat-token")
		resp, err = http.DefaultClient.Do(req)
		return err == nil
	}, 5*time.Second, 20*time.Millisecond)
	var page struct{ TotalItems int }
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&page))
	resp.Body.Close()
	assert.Equal(t, 40, page.TotalItems)
	cancel()
	require.NoError(t, <-done)
}
