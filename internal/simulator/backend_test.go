package simulator

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/insights-collector/insights-collector/internal/semconv"
)

// The backend's counter counts every template run the frontend started, each template failing at its rate,
// and a span stands for every page and action that calls the backend.
func TestBackendFollowsTheFrontend(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Users, cfg.Days, cfg.Start = 300, 30, time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	w, err := NewWorld(cfg)
	require.NoError(t, err)
	b := w.NewBackend()
	creates, requests, spans := map[string]int64{}, 0, 0
	var last pmetric.Metrics
	for day := range cfg.Days {
		events := w.Day(day)
		for _, o := range events {
			if o.Action == semconv.ActionCreate {
				creates[templateOf(o)]++
			}
			if _, ok := b.requestOf(o); ok {
				requests++
			}
		}
		td, md := b.Record(events)
		spans += td.SpanCount()
		if md.DataPointCount() > 0 {
			last = md
		}
	}
	assert.Equal(t, requests, spans)
	require.NotZero(t, last.DataPointCount())
	runs, failed := map[string]int64{}, map[string]int64{}
	points := last.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(0).Sum().DataPoints()
	for i := 0; i < points.Len(); i++ {
		p := points.At(i)
		template, _ := p.Attributes().Get("template")
		result, _ := p.Attributes().Get("result")
		runs[template.Str()] += p.IntValue()
		if result.Str() == "failed" {
			failed[template.Str()] += p.IntValue()
		}
	}
	assert.Equal(t, creates, runs, "a run per create event, counted cumulatively")
	var all, allFailed, expected float64
	for _, tpl := range w.Templates {
		ref := "template:default/" + tpl.Name
		all += float64(runs[ref])
		allFailed += float64(failed[ref])
		expected += float64(runs[ref]) * (0.02 + 0.025*float64(tpl.Steps-2))
	}
	require.Greater(t, all, 200.0)
	assert.InDelta(t, expected/all, allFailed/all, 0.03, "failures follow the templates' steps")
}
