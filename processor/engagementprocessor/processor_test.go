package engagementprocessor

import (
	"context"
	"math"
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
	"github.com/insights-collector/insights-collector/processor/engagementprocessor/internal/metadata"
)

var t0 = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

const day = 24 * time.Hour

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

type harness struct {
	p     *scorer
	sink  *consumertest.LogsSink
	clock *clock
}

func newHarness(t *testing.T, cfg *Config) *harness {
	t.Helper()
	require.NoError(t, cfg.Validate())
	h := &harness{sink: new(consumertest.LogsSink), clock: &clock{t: t0}}
	p, err := newProcessor(cfg, processortest.NewNopSettings(metadata.Type), h.sink)
	require.NoError(t, err)
	p.now = h.clock.now
	h.p = p
	return h
}

type ev struct {
	user, name, plugin string
	at                 time.Duration
}

func batch(events ...ev) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr(semconv.ResourceInstance, "portal-eu")
	records := rl.ScopeLogs().AppendEmpty().LogRecords()
	for _, e := range events {
		lr := records.AppendEmpty()
		lr.SetEventName(e.name)
		lr.SetTimestamp(pcommon.NewTimestampFromTime(t0.Add(e.at)))
		lr.Attributes().PutStr(semconv.AttrUserHash, e.user)
		if e.plugin != "" {
			lr.Attributes().PutStr(semconv.AttrPluginID, e.plugin)
		}
	}
	return ld
}

// scored sends events and returns each input record's score and tier, and the tier changes that came out.
func (h *harness) scored(t *testing.T, events ...ev) (scores []float64, tiers []string, changes []map[string]any) {
	t.Helper()
	out, err := h.p.processLogs(context.Background(), batch(events...))
	require.NoError(t, err)
	for _, rl := range out.ResourceLogs().All() {
		for _, sl := range rl.ScopeLogs().All() {
			for _, lr := range sl.LogRecords().All() {
				a := lr.Attributes().AsRaw()
				if lr.EventName() == semconv.EventEngagementTierChange {
					changes = append(changes, a)
					continue
				}
				scores = append(scores, a[semconv.AttrEngagementScore].(float64))
				tiers = append(tiers, a[semconv.AttrEngagementTier].(string))
			}
		}
	}
	return scores, tiers, changes
}

// score is the README's formula, for the hand computations.
func score(points, scale float64) float64 { return math.Round(1000*(1-math.Exp(-points/scale))) / 10 }

func TestHandComputedScores(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.PluginMultipliers = map[string]float64{"scaffolder": 2}
	cfg.Weights["deploy"] = 4 // a custom event: backstage.deploy
	cfg.DailyCaps = map[string]int{semconv.ActionNavigate: 2}
	h := newHarness(t, cfg)
	scores, _, _ := h.scored(t,
		ev{"k1.ana", "backstage.navigate", "catalog", 0},                    // 1
		ev{"k1.ana", "backstage.navigate", "catalog", time.Minute},          // 2
		ev{"k1.ana", "backstage.navigate", "catalog", 2 * time.Minute},      // capped: still 2
		ev{"k1.ana", "backstage.create", "scaffolder", 14 * day},            // 2 halved over 14 days, + 10 × 2
		ev{"k1.ana", "backstage.navigate", "catalog", 14*day + time.Minute}, // a new day: counts again
		ev{"k1.ana", "backstage.deploy", "", 28 * day},                      // (1 + 20 + ~1) halved, + 4
		ev{"k1.ana", "session.start", "", 28 * day},                         // + 2
		ev{"k1.ana", "session.end", "", 28 * day},                           // unlisted: default weight 0
	)
	halfMinute := math.Exp(-math.Ln2 * float64(time.Minute) / float64(14*day))
	p14 := 2*math.Exp(-math.Ln2*float64(14*day-2*time.Minute)/float64(14*day)) + 20
	p14b := p14*halfMinute + 1
	p28 := p14b*math.Exp(-math.Ln2*float64(14*day-time.Minute)/float64(14*day)) + 4
	assert.Equal(t, []float64{score(1, 200), score(1*halfMinute+1, 200), score((1*halfMinute+1)*halfMinute, 200), score(p14, 200),
		score(p14b, 200), score(p28, 200), score(p28+2, 200), score(p28+2, 200)}, scores)
	assert.Equal(t, 0.5, scores[0], "1 point: 100 × (1 − e^(−1/200))")
}

// Promotions and demotions come out as tier_change events; dormancy is found by the timer.
func TestTierChanges(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.Scale = 10
	h := newHarness(t, cfg)
	_, tiers, changes := h.scored(t, ev{"k1.ana", "backstage.navigate", "", 0})
	assert.Equal(t, []string{"dormant"}, tiers) // 1 point: 100 × (1 − e^(−1/10)) = 9.5
	assert.Empty(t, changes, "a user's first tier is no change")
	scores, tiers, changes := h.scored(t, ev{"k1.ana", "backstage.create", "", time.Hour}, ev{"k1.ana", "backstage.create", "", 2 * time.Hour})
	assert.Equal(t, []float64{66.7, 87.7}, scores) // ~11 and ~21 points
	assert.Equal(t, []string{"core", "power"}, tiers)
	require.Len(t, changes, 2)
	assert.Equal(t, []any{"dormant", "core"}, []any{changes[0][semconv.AttrEngagementPreviousTier], changes[0][semconv.AttrEngagementTier]})
	assert.Equal(t, []any{"core", "power"}, []any{changes[1][semconv.AttrEngagementPreviousTier], changes[1][semconv.AttrEngagementTier]})
	assert.Equal(t, "k1.ana", changes[0][semconv.AttrUserHash])

	// Four weeks of silence: the timer demotes her, event time = the evaluation.
	h.clock.set(t0.Add(2*time.Hour + 10*14*day))
	require.NoError(t, h.p.evaluate(context.Background()))
	require.Equal(t, 1, h.sink.LogRecordCount())
	lr := h.sink.AllLogs()[0].ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
	assert.Equal(t, semconv.EventEngagementTierChange, lr.EventName())
	assert.Equal(t, map[string]any{semconv.AttrEventID: lr.Attributes().AsRaw()[semconv.AttrEventID], semconv.AttrUserHash: "k1.ana",
		semconv.AttrEngagementTier: "dormant", semconv.AttrEngagementPreviousTier: "power", semconv.AttrEngagementScore: score(21*math.Pow(2, -10), 10)},
		lr.Attributes().AsRaw())
	assert.Equal(t, "portal-eu", h.sink.AllLogs()[0].ResourceLogs().At(0).Resource().Attributes().AsRaw()[semconv.ResourceInstance])

	h.clock.set(t0.Add(100 * day))
	require.NoError(t, h.p.evaluate(context.Background()))
	assert.Empty(t, h.p.users, "idle beyond max_idle: forgotten")
}

// While history is fed in, the timer values users at the history's time, not the clock's: no user flaps to
// dormant and back during a backfill.
func TestBackfillDoesNotFlap(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.Scale = 10
	h := newHarness(t, cfg)
	h.clock.set(t0.Add(365 * day)) // the events are a year old
	h.scored(t, ev{"k1.ana", "backstage.create", "", 0}, ev{"k1.ana", "backstage.create", "", time.Hour})
	require.NoError(t, h.p.evaluate(context.Background()))
	assert.Zero(t, h.sink.LogRecordCount())
}

// A restart with a file-backed storage goes on from the same points, tier and daily counts.
func TestRestartKeepsScores(t *testing.T) {
	hst, id := componentstatetest.FileStorage(t)
	cfg := createDefaultConfig().(*Config)
	cfg.Storage = &id
	cfg.DailyCaps = map[string]int{semconv.ActionCreate: 1}

	first := newHarness(t, cfg)
	require.NoError(t, first.p.start(context.Background(), hst))
	before, _, _ := first.scored(t, ev{"k1.ana", "backstage.create", "", 0})
	require.NoError(t, first.p.shutdown(context.Background()))

	second := newHarness(t, cfg)
	require.NoError(t, second.p.start(context.Background(), hst))
	defer func() { require.NoError(t, second.p.shutdown(context.Background())) }()
	after, _, _ := second.scored(t, ev{"k1.ana", "backstage.create", "", time.Minute}, ev{"k1.ana", "backstage.navigate", "", 2 * time.Minute})
	decay := math.Exp(-math.Ln2 * float64(time.Minute) / float64(14*day))
	assert.Equal(t, []float64{score(10*decay, 200), score(10*decay*decay+1, 200)}, after, "the day's create cap was kept")
	assert.Equal(t, score(10, 200), before[0])
}

// The README's worked example, step by step.
func TestWorkedExample(t *testing.T) {
	h := newHarness(t, createDefaultConfig().(*Config))
	m := time.Minute
	scores, tiers, _ := h.scored(t, ev{"k1.ana", "session.start", "", 0}, ev{"k1.ana", "backstage.navigate", "", m},
		ev{"k1.ana", "backstage.navigate", "", m}, ev{"k1.ana", "backstage.navigate", "", m}, ev{"k1.ana", "backstage.navigate", "", m},
		ev{"k1.ana", "backstage.navigate", "", m}, ev{"k1.ana", "backstage.search", "", m}, ev{"k1.ana", "backstage.discover", "", m})
	// Within minutes the decay is below the rounding: 12 points.
	assert.Equal(t, 5.8, scores[len(scores)-1])
	assert.Equal(t, "dormant", tiers[len(tiers)-1])
	scores, tiers, _ = h.scored(t, ev{"k1.ana", "backstage.create", "scaffolder", 2 * m})
	assert.Equal(t, []float64{10.4}, scores)
	assert.Equal(t, []string{"casual"}, tiers)

	h.clock.set(t0.Add(2*m + 14*day))
	require.NoError(t, h.p.evaluate(context.Background()))
	require.Equal(t, 1, h.sink.LogRecordCount())
	change := h.sink.AllLogs()[0].ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Attributes().AsRaw()
	assert.Equal(t, 5.4, change[semconv.AttrEngagementScore])
	assert.Equal(t, "dormant", change[semconv.AttrEngagementTier])
}

func TestSelfMetrics(t *testing.T) {
	tel := componenttest.NewTelemetry()
	defer func() { require.NoError(t, tel.Shutdown(context.Background())) }()
	set := processortest.NewNopSettings(metadata.Type)
	set.TelemetrySettings = tel.NewTelemetrySettings()
	cfg := createDefaultConfig().(*Config)
	cfg.Scale = 10
	p, err := newProcessor(cfg, set, consumertest.NewNop())
	require.NoError(t, err)
	clk := &clock{t: t0}
	p.now = clk.now
	_, err = p.processLogs(context.Background(), batch(ev{"k1.ana", "backstage.navigate", "", 0}, ev{"k1.ana", "backstage.create", "", time.Minute},
		ev{"k1.bo", "backstage.navigate", "", 0}))
	require.NoError(t, err)
	require.NoError(t, p.evaluate(context.Background()))

	changes, err := tel.GetMetric("otelcol_processor_engagement_tier_changes")
	require.NoError(t, err)
	dp := changes.Data.(metricdata.Sum[int64]).DataPoints
	require.Len(t, dp, 1)
	from, _ := dp[0].Attributes.Value("from")
	to, _ := dp[0].Attributes.Value("to")
	assert.Equal(t, []any{"dormant", "core", int64(1)}, []any{from.AsString(), to.AsString(), dp[0].Value})

	tiers, err := tel.GetMetric("otelcol_processor_engagement_tier_users")
	require.NoError(t, err)
	perTier := map[string]int64{}
	for _, dp := range tiers.Data.(metricdata.Gauge[int64]).DataPoints {
		tier, _ := dp.Attributes.Value("tier")
		perTier[tier.AsString()] = dp.Value
	}
	assert.Equal(t, map[string]int64{"power": 0, "core": 1, "casual": 0, "dormant": 1}, perTier)
	users, err := tel.GetMetric("otelcol_processor_engagement_users")
	require.NoError(t, err)
	assert.Equal(t, int64(2), users.Data.(metricdata.Gauge[int64]).DataPoints[0].Value)
}
