package queryapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/insights-collector/insights-collector/internal/semconv"
)

// findings returns the recommendations' rows by kind and subject.
func findings(t *testing.T, res Result) map[string]map[string][]any {
	t.Helper()
	out := map[string]map[string][]any{}
	for _, row := range res.Rows {
		kind, subject := row[1].(string), row[2].(string)
		if out[kind] == nil {
			out[kind] = map[string][]any{}
		}
		out[kind][subject] = row
		var req Request
		require.NoError(t, json.Unmarshal([]byte(row[6].(string)), &req), "the query of %v", row)
		assert.NotEmpty(t, req.Metric)
	}
	return out
}

func TestRecommendationsFindThePlantedProblems(t *testing.T) {
	f := scenarioFixture(t)
	// The week after search collapsed, against the week before.
	req := baseRequest("recommendations")
	req.From = at(simStart.AddDate(0, 0, 28))
	got := findings(t, f.query(t, req))
	require.Contains(t, got["declining_plugin"], "search", "%v", got)
	row := got["declining_plugin"]["search"]
	assert.Equal(t, SeverityHigh, row[0])
	assert.Less(t, row[4], -0.6, "search lost most of its users")
	var shown Request
	require.NoError(t, json.Unmarshal([]byte(row[6].(string)), &shown))
	assert.Equal(t, "plugin_adoption", shown.Metric, "the query that shows it")

	// The onboarding drop-off: new users of the last three weeks stop after the docs.
	got = findings(t, f.query(t, baseRequest("recommendations")))
	require.Contains(t, got["onboarding_drop_off"], "software catalog", "%v", got)
	assert.Equal(t, SeverityHigh, got["onboarding_drop_off"]["software catalog"][0])
	plain := findings(t, setup(t).query(t, baseRequest("recommendations")))
	assert.NotContains(t, plain["onboarding_drop_off"], "software catalog", "no drop-off planted, none found")
	assert.NotContains(t, plain["declining_plugin"], "search")
}

func TestRecommendationsOnFailingSearches(t *testing.T) {
	f := setup(t)
	// Independently: the terms searched at least 5 times that found nothing at least half of the time, the most
	// searched first.
	type stats struct{ searches, zero int }
	terms := map[string]*stats{}
	for _, e := range f.events {
		if !inRange(e.Time) || e.Action != semconv.ActionSearch {
			continue
		}
		if terms[e.Subject] == nil {
			terms[e.Subject] = &stats{}
		}
		terms[e.Subject].searches++
		if *e.Value == 0 {
			terms[e.Subject].zero++
		}
	}
	var failing []string
	for term, s := range terms {
		if s.searches >= failingSearches && float64(s.zero) >= failingZeroResult*float64(s.searches) {
			failing = append(failing, term)
		}
	}
	require.NotEmpty(t, failing, "the simulated terms include some that find nothing")
	sort.Slice(failing, func(i, j int) bool {
		a, b := terms[failing[i]], terms[failing[j]]
		return a.searches > b.searches || (a.searches == b.searches && failing[i] < failing[j])
	})
	failing = failing[:min(len(failing), maxFindingsPerKind)]
	got := findings(t, f.query(t, baseRequest("recommendations")))
	var subjects []string
	for term := range got["failing_search"] {
		subjects = append(subjects, term)
	}
	assert.ElementsMatch(t, failing, subjects)
	row := got["failing_search"][failing[0]]
	assert.Equal(t, float64(terms[failing[0]].searches), row[5])
	assert.Contains(t, row[3], fmt.Sprintf("searched %d times", terms[failing[0]].searches))
}

func TestRecommendationsOnAnUnhealthyPlugin(t *testing.T) {
	// Five people use the catalog and the scaffolder; the catalog's backend fails a fifth of its requests.
	te := newTeamEvents()
	for i := range 5 {
		user := fmt.Sprintf("h1.user%d", i)
		te.add(user, "", semconv.ActionNavigate, queryFrom.Add(time.Duration(i)*time.Hour), "")
		te.add(user, "", semconv.ActionCreate, queryFrom.Add(time.Duration(i)*time.Hour+time.Minute), "")
	}
	f := te.serve(t, nil)
	td := ptrace.NewTraces()
	spans := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
	for i := range 200 {
		plugin, status := "catalog", 200
		if i%2 == 1 {
			plugin = "scaffolder"
		} else if i%10 == 0 {
			status = 503
		}
		sp := spans.AppendEmpty()
		sp.SetKind(ptrace.SpanKindServer)
		sp.SetTraceID([16]byte{byte(i), 7})
		sp.SetSpanID([8]byte{byte(i), 7})
		at := queryFrom.Add(time.Duration(i) * time.Minute)
		sp.SetStartTimestamp(pcommon.NewTimestampFromTime(at))
		sp.SetEndTimestamp(pcommon.NewTimestampFromTime(at.Add(20 * time.Millisecond)))
		sp.Attributes().PutStr("http.request.method", "GET")
		sp.Attributes().PutStr("http.route", "/api/"+plugin+"/entities")
		sp.Attributes().PutInt("http.response.status_code", int64(status))
	}
	_, err := f.store.WriteTraces(context.Background(), td)
	require.NoError(t, err)

	got := findings(t, f.query(t, baseRequest("recommendations")))
	require.Contains(t, got["unhealthy_plugin"], "catalog", "%v", got)
	assert.NotContains(t, got["unhealthy_plugin"], "scaffolder")
	row := got["unhealthy_plugin"]["catalog"]
	assert.Equal(t, SeverityHigh, row[0])
	assert.InDelta(t, 0.2, row[4], 1e-9, "a fifth of the catalog's requests")
}

func TestRecommendationsTakeAnOnboardingFunnel(t *testing.T) {
	f := setup(t)
	req := baseRequest("recommendations")
	req.Funnel = &Funnel{NewUsers: true, Steps: []Step{{Name: "arrived", Event: "backstage.navigate"}, {Name: "never done", Event: "backstage.nothing"}}}
	got := findings(t, f.query(t, req))
	require.Contains(t, got["onboarding_drop_off"], "never done")
	req.Funnel = &Funnel{Steps: []Step{{Event: "backstage.navigate"}}}
	assert.Equal(t, http.StatusBadRequest, f.do(t, http.MethodPost, "/api/v1/query", viewerToken, req).status)
}
