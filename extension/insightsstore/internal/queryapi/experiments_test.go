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
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.uber.org/zap"

	"github.com/insights-collector/insights-collector/internal/abstats"
	"github.com/insights-collector/insights-collector/internal/analyticsdb"
	"github.com/insights-collector/insights-collector/internal/semconv"
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
