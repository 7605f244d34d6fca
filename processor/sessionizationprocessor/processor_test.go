package sessionizationprocessor

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor/processortest"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/insights-collector/insights-collector/internal/componentstate/componentstatetest"
	"github.com/insights-collector/insights-collector/internal/semconv"
	"github.com/insights-collector/insights-collector/processor/sessionizationprocessor/internal/metadata"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

type harness struct {
	p     *sessionizer
	sink  *consumertest.LogsSink
	clock *clock
}

// newHarness makes a processor with deterministic session ids and a settable clock.
func newHarness(t *testing.T, cfg *Config) *harness {
	t.Helper()
	require.NoError(t, cfg.Validate())
	h := &harness{sink: new(consumertest.LogsSink), clock: &clock{t: t0}}
	set := processortest.NewNopSettings(metadata.Type)
	p, err := newProcessor(cfg, set, h.sink)
	require.NoError(t, err)
	n := 0
	p.tracker.newID = func(int64) string { n++; return fmt.Sprintf("00000000-0000-7000-8000-%012d", n) }
	p.now = h.clock.now
	h.p = p
	return h
}

type ev struct {
	user, action, plugin, subject string
	at                            time.Duration
}

func batch(events ...ev) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr(semconv.ResourceInstance, "portal-eu")
	records := rl.ScopeLogs().AppendEmpty().LogRecords()
	for _, e := range events {
		lr := records.AppendEmpty()
		lr.SetEventName(semconv.EventName(e.action))
		lr.SetTimestamp(pcommon.NewTimestampFromTime(t0.Add(e.at)))
		attrs := lr.Attributes()
		attrs.PutStr(semconv.AttrUserHash, e.user)
		attrs.PutStr(semconv.AttrAction, e.action)
		if e.plugin != "" {
			attrs.PutStr(semconv.AttrPluginID, e.plugin)
		}
		if e.subject != "" {
			attrs.PutStr(semconv.AttrSubject, e.subject)
		}
	}
	return ld
}

func (h *harness) process(t *testing.T, ld plog.Logs) plog.Logs {
	t.Helper()
	out, err := h.p.processLogs(context.Background(), ld)
	require.NoError(t, err)
	return out
}

// A hand-written timeline of two users through two batches and a timer run, compared with a golden file of
// everything that came out (run with -update to rewrite it after a deliberate change).
func TestGoldenTimeline(t *testing.T) {
	h := newHarness(t, createDefaultConfig().(*Config))
	min := time.Minute
	var outputs []plog.Logs
	h.clock.set(t0.Add(3 * min))
	outputs = append(outputs, h.process(t, batch(
		ev{"k1.ana", "navigate", "catalog", "/catalog", 0},
		ev{"k1.bo", "navigate", "techdocs", "/docs/default/component/a", 1 * min},
		ev{"k1.ana", "search", "search", "kafka", 2 * min},
		ev{"k1.ana", "click", "catalog", "APIs", 1 * min}, // out of order within the batch
	)))
	h.clock.set(t0.Add(50 * min))
	outputs = append(outputs, h.process(t, batch(
		ev{"k1.ana", "navigate", "scaffolder", "/create", 45 * min}, // after the gap: a new session
		ev{"k1.bo", "navigate", "techdocs", "/docs/default/component/b", 20 * min},
	)))
	h.clock.set(t0.Add(2 * time.Hour))
	require.NoError(t, h.p.start(context.Background(), componenttest.NewNopHost()))
	h.p.mu.Lock()
	c := &changes{}
	h.p.tracker.expire(h.clock.now().UnixMilli(), c)
	h.p.mu.Unlock()
	require.NoError(t, h.p.emit(context.Background(), c))
	require.NoError(t, h.p.shutdown(context.Background()))
	outputs = append(outputs, h.sink.AllLogs()...)

	var got []byte
	for i, ld := range outputs {
		b, err := (&plog.JSONMarshaler{}).MarshalLogs(ld)
		require.NoError(t, err)
		var indented bytes.Buffer
		require.NoError(t, json.Indent(&indented, b, "", " "))
		got = append(got, fmt.Sprintf("# output %d\n%s\n", i, indented.Bytes())...)
	}
	golden := filepath.Join("testdata", "timeline.golden")
	if *update {
		require.NoError(t, os.WriteFile(golden, got, 0o600))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err, "run go test -update to write it")
	assert.Equal(t, string(want), string(got))
}

// What the events of a session carry, and the summary its end event gives.
func TestStampsAndSummaries(t *testing.T) {
	h := newHarness(t, createDefaultConfig().(*Config))
	out := h.process(t, batch(ev{"k1.ana", "navigate", "catalog", "/catalog", 0}, ev{"k1.ana", "click", "catalog", "x", time.Minute},
		ev{"k1.ana", "navigate", "techdocs", "/docs", 2 * time.Minute}))
	records := out.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	for i := range records.Len() {
		attrs := records.At(i).Attributes().AsRaw()
		assert.Equal(t, "00000000-0000-7000-8000-000000000001", attrs[semconv.AttrSessionID])
		assert.Equal(t, t0.UnixMilli(), attrs[semconv.AttrSessionStartMs])
		assert.Equal(t, int64(i+1), attrs[semconv.AttrSessionSequence])
	}
	start := out.ResourceLogs().At(1).ScopeLogs().At(0).LogRecords().At(0)
	assert.Equal(t, semconv.EventSessionStart, start.EventName())
	assert.Equal(t, "portal-eu", out.ResourceLogs().At(1).Resource().Attributes().AsRaw()[semconv.ResourceInstance])

	out = h.process(t, batch(ev{"k1.ana", "navigate", "catalog", "/catalog", 3 * time.Hour}))
	end := out.ResourceLogs().At(1).ScopeLogs().At(0).LogRecords().At(0)
	assert.Equal(t, semconv.EventSessionEnd, end.EventName())
	assert.Equal(t, t0.Add(2*time.Minute), end.Timestamp().AsTime(), "an end is the time of the last event")
	assert.Equal(t, map[string]any{
		semconv.AttrEventID: end.Attributes().AsRaw()[semconv.AttrEventID], semconv.AttrUserHash: "k1.ana",
		semconv.AttrSessionID: "00000000-0000-7000-8000-000000000001", semconv.AttrSessionStartMs: t0.UnixMilli(),
		semconv.AttrSessionDurationMs: int64(120_000), semconv.AttrSessionEventCount: int64(3), semconv.AttrSessionNavigateCount: int64(2),
		semconv.AttrSessionPlugins: []any{"catalog", "techdocs"}, semconv.AttrSessionFirstPlugin: "catalog", semconv.AttrSessionLastPlugin: "techdocs",
		semconv.AttrSessionEntryRoute: "/catalog", semconv.AttrSessionExitRoute: "/docs", semconv.AttrSessionEndReason: semconv.SessionEndInactivity,
	}, end.Attributes().AsRaw())
	next := out.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Attributes().AsRaw()
	assert.Equal(t, "00000000-0000-7000-8000-000000000001", next[semconv.AttrSessionPreviousID])

	// A client's session id is kept aside, not trusted by default.
	ld := batch(ev{"k1.bo", "navigate", "", "/", 3 * time.Hour})
	ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Attributes().PutStr(semconv.AttrSessionID, "lqk2j3m1a8x")
	attrs := h.process(t, ld).ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Attributes().AsRaw()
	assert.Equal(t, "lqk2j3m1a8x", attrs[semconv.AttrSessionClientID])
	assert.NotEqual(t, "lqk2j3m1a8x", attrs[semconv.AttrSessionID])
}

// Page views are numbered in their session: by plugin (a plugin's pages in a row share a number) and each one.
func TestPageNumbers(t *testing.T) {
	h := newHarness(t, createDefaultConfig().(*Config))
	out := h.process(t, batch(
		ev{"k1.ana", "navigate", "catalog", "/catalog", 0},
		ev{"k1.ana", "navigate", "catalog", "/catalog/default/component/a", time.Minute},
		ev{"k1.ana", "click", "catalog", "Docs", 2 * time.Minute},
		ev{"k1.ana", "navigate", "techdocs", "/docs/default/component/a", 3 * time.Minute},
		ev{"k1.ana", "navigate", "", "/unknown", 4 * time.Minute},
		ev{"k1.ana", "navigate", "catalog", "/catalog", 5 * time.Minute},
	))
	records := out.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	var pages, views []any
	for i := range records.Len() {
		attrs := records.At(i).Attributes().AsRaw()
		pages, views = append(pages, attrs[semconv.AttrSessionPage]), append(views, attrs[semconv.AttrSessionView])
	}
	assert.Equal(t, []any{int64(1), int64(1), nil, int64(2), int64(3), int64(4)}, pages)
	assert.Equal(t, []any{int64(1), int64(2), nil, int64(3), int64(4), int64(5)}, views)
}

// A restart in the middle of a session continues it (same id, the sequence goes on, no second start); a
// session whose gap elapsed while the collector was down is ended at start, at its real end time.
func TestRestartContinuesTheSession(t *testing.T) {
	h, storageID := componentstatetest.FileStorage(t)
	cfg := createDefaultConfig().(*Config)
	cfg.Storage = &storageID

	first := newHarness(t, cfg)
	require.NoError(t, first.p.start(context.Background(), h))
	first.clock.set(t0.Add(time.Minute))
	first.process(t, batch(ev{"k1.ana", "navigate", "catalog", "/catalog", 0}, ev{"k1.bo", "navigate", "catalog", "/", time.Minute}))
	first.clock.set(t0.Add(5 * time.Minute))
	first.process(t, batch(ev{"k1.ana", "click", "catalog", "x", 5 * time.Minute}))
	require.NoError(t, first.p.shutdown(context.Background()))
	assert.Zero(t, first.sink.LogRecordCount(), "no session ends at a shutdown with storage")

	second := newHarness(t, cfg)
	second.p.tracker.newID = func(int64) string { return "must-not-be-used" }
	second.clock.set(t0.Add(33 * time.Minute)) // bo was last seen at 1m, ana at 5m
	require.NoError(t, second.p.start(context.Background(), h))
	require.Equal(t, 1, second.sink.LogRecordCount(), "bo's session ended while the collector was down")
	end := second.sink.AllLogs()[0].ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
	assert.Equal(t, "k1.bo", end.Attributes().AsRaw()[semconv.AttrUserHash])
	assert.Equal(t, t0.Add(time.Minute), end.Timestamp().AsTime())
	assert.Equal(t, "/", end.Attributes().AsRaw()[semconv.AttrSessionEntryRoute], "the route restored")
	assert.Equal(t, "portal-eu", second.sink.AllLogs()[0].ResourceLogs().At(0).Resource().Attributes().AsRaw()[semconv.ResourceInstance])

	out := second.process(t, batch(ev{"k1.ana", "navigate", "search", "/search", 30 * time.Minute}))
	require.Equal(t, 1, out.LogRecordCount(), "no new session.start")
	attrs := out.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Attributes().AsRaw()
	assert.Equal(t, "00000000-0000-7000-8000-000000000001", attrs[semconv.AttrSessionID])
	assert.Equal(t, int64(3), attrs[semconv.AttrSessionSequence])
	assert.Equal(t, int64(2), attrs[semconv.AttrSessionPage], "the pages go on after the restart")
	assert.Equal(t, int64(2), attrs[semconv.AttrSessionView])
	require.NoError(t, second.p.shutdown(context.Background()))
}

// Without storage, the open sessions end when the collector stops, with their summaries.
func TestShutdownWithoutStorageEndsSessions(t *testing.T) {
	h := newHarness(t, createDefaultConfig().(*Config))
	require.NoError(t, h.p.start(context.Background(), componenttest.NewNopHost()))
	h.process(t, batch(ev{"k1.ana", "navigate", "catalog", "/catalog", 0}))
	require.NoError(t, h.p.shutdown(context.Background()))
	require.Equal(t, 1, h.sink.LogRecordCount())
	end := h.sink.AllLogs()[0].ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
	assert.Equal(t, semconv.SessionEndShutdown, end.Attributes().AsRaw()[semconv.AttrSessionEndReason])
}

// The timer ends a session whose user never comes back.
func TestTimerEndsIdleSessions(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.CheckInterval = 10 * time.Millisecond
	h := newHarness(t, cfg)
	require.NoError(t, h.p.start(context.Background(), componenttest.NewNopHost()))
	defer func() { require.NoError(t, h.p.shutdown(context.Background())) }()
	h.process(t, batch(ev{"k1.ana", "navigate", "catalog", "/catalog", 0}))
	h.clock.set(t0.Add(31 * time.Minute))
	assert.Eventually(t, func() bool { return h.sink.LogRecordCount() == 1 }, 5*time.Second, 10*time.Millisecond)
	assert.Zero(t, h.p.activeSessions())
}

func TestSelfMetrics(t *testing.T) {
	tel := componenttest.NewTelemetry()
	defer func() { require.NoError(t, tel.Shutdown(context.Background())) }()
	set := processortest.NewNopSettings(metadata.Type)
	set.TelemetrySettings = tel.NewTelemetrySettings()
	p, err := newProcessor(createDefaultConfig().(*Config), set, consumertest.NewNop())
	require.NoError(t, err)
	p.now = func() time.Time { return t0.Add(2 * time.Hour) }
	_, err = p.processLogs(context.Background(), batch(ev{"k1.ana", "navigate", "", "/", 0}, ev{"k1.ana", "navigate", "", "/", time.Hour},
		ev{"k1.bo", "navigate", "", "/", time.Hour}))
	require.NoError(t, err)
	_, err = p.processLogs(context.Background(), batch(ev{"k1.bo", "navigate", "", "/", 0})) // late, nothing covers it
	require.NoError(t, err)

	sessions, err := tel.GetMetric("otelcol_processor_sessionization_sessions")
	require.NoError(t, err)
	got := map[string]int64{}
	for _, dp := range sessions.Data.(metricdata.Sum[int64]).DataPoints {
		event, _ := dp.Attributes.Value("event")
		reason, _ := dp.Attributes.Value("reason")
		got[event.AsString()+"/"+reason.AsString()] += dp.Value
	}
	assert.Equal(t, map[string]int64{"start/": 3, "end/" + semconv.SessionEndInactivity: 1}, got)
	late, err := tel.GetMetric("otelcol_processor_sessionization_late_events")
	require.NoError(t, err)
	assert.Equal(t, int64(1), late.Data.(metricdata.Sum[int64]).DataPoints[0].Value)
	active, err := tel.GetMetric("otelcol_processor_sessionization_active_sessions")
	require.NoError(t, err)
	assert.Equal(t, int64(2), active.Data.(metricdata.Gauge[int64]).DataPoints[0].Value)
}
