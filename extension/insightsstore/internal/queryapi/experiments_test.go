package queryapi

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor/processortest"
	"go.uber.org/zap"

	"github.com/insights-collector/insights-collector/internal/abstats"
	"github.com/insights-collector/insights-collector/internal/analyticsdb"
	"github.com/insights-collector/insights-collector/internal/normalize"
	"github.com/insights-collector/insights-collector/internal/semconv"
	"github.com/insights-collector/insights-collector/internal/simulator"
	"github.com/insights-collector/insights-collector/internal/wireformat"
	"github.com/insights-collector/insights-collector/processor/cohortprocessor"
)

// experimentStore holds an experiment with known outcomes: 1,000 users per variant exposed on day 1; in the
// control 100 create within a week (and one more after it, which does not count), in the treatment 150; the
// treatment's users send more events.
func experimentStore(t *testing.T) *fixture {
	store, err := analyticsdb.Open(context.Background(), analyticsdb.Options{Path: filepath.Join(t.TempDir(), "x.duckdb"), MemoryLimit: "256MB"})
	require.NoError(t, err)
	t.Cleanup(func() { _ = store.Close(context.Background()) })
	ld := plog.NewLogs()
	records := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	n := 0
	add := func(name, user string, at time.Time, attrs map[string]any) {
		lr := records.AppendEmpty()
		lr.SetEventName(name)
		lr.SetTimestamp(pcommon.NewTimestampFromTime(at))
		require.NoError(t, lr.Attributes().FromRaw(attrs))
		lr.Attributes().PutStr(semconv.AttrUserHash, user)
		lr.Attributes().PutStr(semconv.AttrEventID, fmt.Sprintf("00000000-0000-4000-8000-%012d", n))
		n++
	}
	exposed := queryFrom.Add(24 * time.Hour)
	for v, variant := range []string{"control", "treatment"} {
		converts := []int{100, 150}[v]
		for i := range 1000 {
			user := fmt.Sprintf("k1.%s-%04d", variant, i)
			add(semconv.EventFeatureFlagEvaluation, user, exposed, map[string]any{semconv.AttrFeatureFlagKey: "home",
				semconv.AttrFeatureFlagVariant: variant, semconv.AttrFeatureFlagWeight: 0.5})
			for e := range i%3 + v { // events per user: 0, 1, 2 (control); 1, 2, 3 (treatment)
				add("backstage.navigate", user, exposed.Add(time.Duration(e+1)*time.Hour), nil)
			}
			if i < converts {
				add("backstage.create", user, exposed.Add(48*time.Hour), nil)
			}
			if i == converts {
				add("backstage.create", user, exposed.Add(9*24*time.Hour), nil) // too late
			}
		}
	}
	_, err = store.WriteLogs(context.Background(), ld, queryTo)
	require.NoError(t, err)
	server := NewServer(store, []Token{{Secret: viewerToken, Principal: Principal{Name: "grafana", Role: RoleViewer}}}, testK, zap.NewNop())
	f := &fixture{store: store, server: httptest.NewServer(server.Handler())}
	t.Cleanup(f.server.Close)
	return f
}

func TestExperiments(t *testing.T) {
	f := experimentStore(t)
	res := f.query(t, baseRequest("experiments"))
	require.Len(t, res.Rows, 1)
	assert.Equal(t, []any{"home", 2.0, 2000.0}, res.Rows[0][:3], "two variants, a thousand users each")
}

func TestExperimentResults(t *testing.T) {
	f := experimentStore(t)
	req := baseRequest("experiment_results")
	req.Filters = map[string][]string{FilterExperiment: {"home"}}
	req.Goal = &Goal{Type: GoalConversion, Event: "backstage.create", WithinDays: 7}
	res := f.query(t, req)
	require.Len(t, res.Rows, 2)
	want := abstats.Proportions(100, 1000, 150, 1000)
	assert.Equal(t, []any{"control", 1000.0, 0.1, nil, nil, nil, nil, nil, nil}, res.Rows[0])
	assert.Equal(t, []any{"treatment", 1000.0, 0.15, want.AbsoluteLift, want.RelativeLift, want.CILow, want.CIHigh, want.PValue, want.ChanceToBeat},
		res.Rows[1])
	require.NotNil(t, res.Meta.SampleRatioPValue)
	assert.InDelta(t, 1, *res.Meta.SampleRatioPValue, 1e-9, "1,000 and 1,000 for 50/50")
	assert.False(t, res.Meta.SampleRatioMismatch)

	// Events per user within a day of exposure: Welch's t-test on the users' counts.
	req.Goal = &Goal{Type: GoalEventsPerUser, WithinDays: 1}
	res = f.query(t, req)
	counts := func(extra int) (mean, variance float64) {
		var sum, sumsq float64
		for i := range 1000 {
			c := float64(i%3 + extra)
			sum, sumsq = sum+c, sumsq+c*c
		}
		return sum / 1000, (sumsq - sum*sum/1000) / 999
	}
	mc, vc := counts(0)
	mt, vt := counts(1)
	means := abstats.Means(mc, vc, 1000, mt, vt, 1000)
	assert.InDelta(t, means.PValue, res.Rows[1][7], 1e-12)
	assert.InDelta(t, 1.0, res.Rows[1][3], 1e-12, "one event more per user")
	assert.Nil(t, res.Rows[1][8], "no chance to beat for means")

	for _, bad := range []struct {
		mutate func(*Request)
		field  string
	}{
		{func(r *Request) { r.Goal = nil }, "goal"},
		{func(r *Request) { r.Goal = &Goal{Type: "revenue"} }, "goal.type"},
		{func(r *Request) { r.Goal = &Goal{Type: GoalConversion, Event: "create", WithinDays: 7} }, "goal.event"},
		{func(r *Request) { r.Goal = &Goal{Type: GoalEventsPerUser} }, "goal.within_days"},
		{func(r *Request) { r.Filters = nil }, "filters.experiment"},
	} {
		r := req
		r.Goal = &Goal{Type: GoalRetentionD7}
		bad.mutate(&r)
		a := f.do(t, http.MethodPost, "/api/v1/query", viewerToken, r)
		assert.Equal(t, http.StatusBadRequest, a.status)
		assert.Equal(t, bad.field, a.apiError(t).Field)
	}
}

// A simulated experiment with a true effect (the treatment's people run a template at the end of 30% more of
// their sessions), assigned by the cohort processor and stored: experiment_results finds it, and an A/A split
// of the same people finds nothing.
func TestExperimentResultsFindATrueEffect(t *testing.T) {
	exp := &simulator.Experiment{Seed: "guided-templates", Variants: []string{"control", "guided"}, Weights: []float64{0.5, 0.5},
		Effects: map[string]float64{"guided": 0.3}}
	cfg := simulator.DefaultConfig()
	cfg.Users, cfg.Teams, cfg.Start, cfg.Days, cfg.Location, cfg.Experiment = 600, 10, simStart, 28, berlin, exp
	world, err := simulator.NewWorld(cfg)
	require.NoError(t, err)

	cohorts := cohortprocessor.NewFactory()
	cohortCfg := cohorts.CreateDefaultConfig().(*cohortprocessor.Config)
	for _, key := range []string{"guided-templates", "aa-split"} {
		cohortCfg.Experiments = append(cohortCfg.Experiments, cohortprocessor.Experiment{Key: key,
			Variants: []cohortprocessor.Variant{{Key: "control", Weight: 0.5}, {Key: "guided", Weight: 0.5}}})
	}
	tagged := new(consumertest.LogsSink)
	tagger, err := cohorts.CreateLogs(context.Background(), processortest.NewNopSettings(cohorts.Type()), cohortCfg, tagged)
	require.NoError(t, err)
	require.NoError(t, tagger.Start(context.Background(), componenttest.NewNopHost()))
	defer func() { require.NoError(t, tagger.Shutdown(context.Background())) }()
	store, err := analyticsdb.Open(context.Background(), analyticsdb.Options{Path: filepath.Join(t.TempDir(), "x.duckdb"), MemoryLimit: "256MB"})
	require.NoError(t, err)
	defer store.Close(context.Background())
	for d := range cfg.Days {
		ld := wireformat.OTLP(world.Day(d))
		normalize.OTLP(ld, &normalize.Options{MaxEventAge: 72 * time.Hour}, &normalize.Request{Received: simStart.AddDate(0, 0, d+1)})
		require.NoError(t, tagger.ConsumeLogs(context.Background(), ld))
	}
	for _, ld := range tagged.AllLogs() {
		_, err := store.WriteLogs(context.Background(), ld, simStart.AddDate(0, 0, cfg.Days+1))
		require.NoError(t, err)
	}
	server := NewServer(store, []Token{{Secret: viewerToken, Principal: Principal{Name: "grafana", Role: RoleViewer}}}, testK, zap.NewNop())
	f := &fixture{store: store, server: httptest.NewServer(server.Handler())}
	defer f.server.Close()

	results := func(experiment string) Result {
		req := Request{Metric: "experiment_results", From: at(simStart), To: at(simStart.AddDate(0, 0, cfg.Days)),
			Filters: map[string][]string{FilterExperiment: {experiment}}, Goal: &Goal{Type: GoalConversion, Event: "backstage.create", WithinDays: 14}}
		return f.query(t, req)
	}
	res := results("guided-templates")
	require.Len(t, res.Rows, 2)
	t.Logf("control %v, guided %v", res.Rows[0][2], res.Rows[1][2])
	assert.Greater(t, res.Rows[1][3].(float64), 0.0, "the guided variant converts more")
	assert.Less(t, res.Rows[1][7].(float64), 0.01, "significantly")
	assert.Greater(t, res.Rows[1][8].(float64), 0.99, "and is almost surely better")
	assert.False(t, res.Meta.SampleRatioMismatch)

	aa := results("aa-split") // another seed: a split unrelated to the effect
	require.Len(t, aa.Rows, 2)
	assert.Greater(t, aa.Rows[1][7].(float64), 0.01, "no effect where there is none")
}
