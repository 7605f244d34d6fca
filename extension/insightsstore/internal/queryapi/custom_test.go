package queryapi

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/insights-collector/insights-collector/internal/semconv"
)

var testCustomMetrics = []CustomMetric{
	{Name: "docs_readers", Filter: Step{Event: "backstage.navigate", Plugin: "techdocs"}, Aggregation: AggregationDistinctUsers, Unit: "short"},
	{Name: "template_minutes", Filter: Step{Event: "backstage.create"}, Aggregation: AggregationSum, Field: "value", Unit: "m"},
	{Name: "template_steps", Filter: Step{Event: "backstage.create"}, Aggregation: AggregationAvg, Field: semconv.AttrAttributesPrefix + "templateSteps"},
	{Name: "searches", Filter: Step{Event: "backstage.search"}, Aggregation: AggregationCount},
	{Name: "result_clicks", Filter: Step{Event: "backstage.discover"}, Aggregation: AggregationCount},
	{Name: "click_through", Aggregation: AggregationRatio, Numerator: "result_clicks", Denominator: "searches", Unit: "percentunit"},
}

func TestCustomMetrics(t *testing.T) {
	require.NoError(t, ValidateCustomMetrics(testCustomMetrics))
	forEachStore(t, testCustomMetricsOn)
}

// rollupCustomMetrics are the custom metrics the feature rollup answers (counts of an action's events or users).
var rollupCustomMetrics = []string{"docs_readers", "searches", "result_clicks", "click_through"}

func testCustomMetricsOn(t *testing.T, f *fixture) {
	f = withOptions(t, f, WithCustomMetrics(testCustomMetrics))
	weekly := f.store.Timezone().String() == berlin.String() // the requests' weeks are Berlin's: the rollup's days
	type week struct {
		readers                 map[string]bool
		minutes, steps, creates float64
		searches, clicks        float64
	}
	weeks := map[string]*week{}
	for _, e := range f.events {
		if !inRange(e.Time) {
			continue
		}
		key := localDay(e.Time).AddDate(0, 0, -(int(e.Time.In(berlin).Weekday())+6)%7).UTC().Format(time.RFC3339)
		w := weeks[key]
		if w == nil {
			w = &week{readers: map[string]bool{}}
			weeks[key] = w
		}
		switch {
		case e.Action == semconv.ActionNavigate && e.Context["pluginId"] == "techdocs":
			w.readers[e.User] = true
		case e.Action == semconv.ActionCreate:
			w.minutes += *e.Value
			w.steps += float64(e.Attributes["templateSteps"].(int))
			w.creates++
		case e.Action == semconv.ActionSearch:
			w.searches++
		case e.Action == semconv.ActionDiscover:
			w.clicks++
		}
	}
	want := map[string]func(w *week) float64{
		"docs_readers":     func(w *week) float64 { return float64(len(w.readers)) },
		"template_minutes": func(w *week) float64 { return w.minutes },
		"template_steps":   func(w *week) float64 { return w.steps / w.creates },
		"searches":         func(w *week) float64 { return w.searches },
		"click_through":    func(w *week) float64 { return w.clicks / w.searches },
	}
	for name, value := range want {
		t.Run(name, func(t *testing.T) {
			req := baseRequest(name)
			req.Interval = "week"
			res := f.query(t, req)
			assert.Equal(t, weekly && slices.Contains(rollupCustomMetrics, name), res.Meta.FromRollups, "read from the feature rollup")
			require.Len(t, res.Rows, 3)
			for _, row := range res.Rows {
				w := weeks[row[0].(string)]
				require.NotNil(t, w, "%v", row)
				assert.InDelta(t, value(w), row[1], 1e-9, "%v", row[0])
			}
		})
	}

	// Listed like the built-in ones, with their unit; usable as a forecast's series.
	var listing MetricListing
	a := f.do(t, http.MethodGet, "/api/v1/metrics", viewerToken, nil)
	require.NoError(t, json.Unmarshal(a.body, &listing))
	var found bool
	for _, m := range listing.Metrics {
		if m.Name == "click_through" {
			found = true
			assert.Equal(t, "percentunit", m.Columns[2].Unit)
		}
	}
	assert.True(t, found)
	res := f.query(t, seriesRequest("forecast", Series{Metric: "docs_readers", Horizon: 7}))
	assert.Len(t, res.Rows, simDays+7)
}

func TestCustomMetricErrors(t *testing.T) {
	for name, tc := range map[string]struct {
		defs []CustomMetric
		want string
	}{
		"bad name":          {[]CustomMetric{{Name: "Docs Readers", Filter: Step{Event: "backstage.navigate"}, Aggregation: AggregationCount}}, "custom_metrics[0] (Docs Readers): name"},
		"built-in":          {[]CustomMetric{{Name: "active_users", Filter: Step{Event: "backstage.navigate"}, Aggregation: AggregationCount}}, "is a built-in metric"},
		"twice":             {[]CustomMetric{{Name: "a", Filter: Step{Event: "x"}, Aggregation: AggregationCount}, {Name: "a", Filter: Step{Event: "x"}, Aggregation: AggregationCount}}, "custom_metrics[1] (a): name: \"a\" is defined twice"},
		"typo":              {[]CustomMetric{{Name: "a", Filter: Step{Event: "x"}, Aggregation: "cuont"}}, `aggregation: unknown aggregation "cuont"`},
		"no event":          {[]CustomMetric{{Name: "a", Aggregation: AggregationCount}}, "filter.event"},
		"sum without field": {[]CustomMetric{{Name: "a", Filter: Step{Event: "x"}, Aggregation: AggregationSum}}, "field: sum needs a field"},
		"field on count":    {[]CustomMetric{{Name: "a", Filter: Step{Event: "x"}, Aggregation: AggregationCount, Field: "value"}}, "only sum and avg"},
		"ratio of nothing":  {[]CustomMetric{{Name: "r", Aggregation: AggregationRatio, Numerator: "x"}}, `numerator: no custom metric "x"`},
		"ratio of a ratio": {[]CustomMetric{{Name: "a", Filter: Step{Event: "x"}, Aggregation: AggregationCount}, {Name: "r", Aggregation: AggregationRatio, Numerator: "a", Denominator: "a"},
			{Name: "rr", Aggregation: AggregationRatio, Numerator: "r", Denominator: "a"}}, `custom_metrics[2] (rr): numerator: "r" is a ratio itself`},
	} {
		t.Run(name, func(t *testing.T) {
			assert.ErrorContains(t, ValidateCustomMetrics(tc.defs), tc.want)
		})
	}
}
