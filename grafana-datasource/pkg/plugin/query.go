package plugin

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
)

// Model is a panel's query as the editor saves it (the target's JSON); QueryType, on the DataQuery, is the metric.
type Model struct {
	// Interval is the metric's bucket: hour, day, week, month, quarter, year, or auto (from the panel's interval).
	Interval string `json:"interval,omitempty"`
	// Timezone is the IANA zone the buckets follow (the dashboard's; default UTC).
	Timezone string              `json:"timezone,omitempty"`
	Filters  map[string][]string `json:"filters,omitempty"`
	GroupBy  []string            `json:"groupBy,omitempty"`
	Lens     string              `json:"lens,omitempty"`
	Limit    int                 `json:"limit,omitempty"`
	Compare  string              `json:"compare,omitempty"`
	// Format is how the answer is framed: auto (a time series when it has a time column and the metric buckets by
	// time), table or timeseries.
	Format string `json:"format,omitempty"`
	// The metric's own parameter objects, passed through as the query API defines them.
	Goal   json.RawMessage `json:"goal,omitempty"`
	Funnel json.RawMessage `json:"funnel,omitempty"`
	Paths  json.RawMessage `json:"paths,omitempty"`
	Series json.RawMessage `json:"series,omitempty"`
}

// AllValue is what a dashboard's multi-value variable sends for "All" (its allValue): a filter that holds it is
// dropped, which means every value, rather than expanded into a list as long as the variable's.
const AllValue = "*"

// Formats of a query's frames.
const (
	FormatAuto       = "auto"
	FormatTable      = "table"
	FormatTimeSeries = "timeseries"
)

// apiRequest is the body of the query API's POST /api/v1/query.
type apiRequest struct {
	Metric   string              `json:"metric"`
	From     string              `json:"from,omitempty"` // none for live, which looks at the last minutes
	To       string              `json:"to,omitempty"`
	Interval string              `json:"interval,omitempty"`
	Timezone string              `json:"timezone,omitempty"`
	Filters  map[string][]string `json:"filters,omitempty"`
	GroupBy  []string            `json:"group_by,omitempty"`
	Lens     string              `json:"lens,omitempty"`
	Limit    int                 `json:"limit,omitempty"`
	Compare  string              `json:"compare,omitempty"`
	Goal     json.RawMessage     `json:"goal,omitempty"`
	Funnel   json.RawMessage     `json:"funnel,omitempty"`
	Paths    json.RawMessage     `json:"paths,omitempty"`
	Series   json.RawMessage     `json:"series,omitempty"`
}

// autoIntervals are the buckets auto picks from, shortest first (a month as its shortest).
var autoIntervals = []struct {
	name   string
	length time.Duration
}{{"hour", time.Hour}, {"day", 24 * time.Hour}, {"week", 7 * 24 * time.Hour}, {"month", 28 * 24 * time.Hour}}

// pixelsPerBucket is how wide a bucket is drawn at least: Grafana's interval is the time a pixel covers (the
// range / the panel's data points), and a bucket of one or two pixels is noise.
const pixelsPerBucket = 5

// autoInterval picks the shortest bucket at least pixelsPerBucket of the panel's interval long, and no longer
// than half the range (a chart of one bucket says nothing).
func autoInterval(panel, span time.Duration) string {
	picked := autoIntervals[0].name
	for _, a := range autoIntervals {
		if a.length > span/2 && a.name != autoIntervals[0].name {
			break
		}
		picked = a.name
		if a.length >= pixelsPerBucket*panel {
			break
		}
	}
	return picked
}

// parseQuery reads a DataQuery into the query API's request. interval says how the metric buckets
// (none, optional, required; "" when the metric is unknown: the collector answers that).
func parseQuery(q backend.DataQuery, interval string) (apiRequest, Model, error) {
	var m Model
	if len(q.JSON) > 0 {
		if err := json.Unmarshal(q.JSON, &m); err != nil {
			return apiRequest{}, m, fmt.Errorf("the query is not valid JSON: %w", err)
		}
	}
	if q.QueryType == "" {
		return apiRequest{}, m, fmt.Errorf("choose a metric")
	}
	switch m.Format {
	case "", FormatAuto, FormatTable, FormatTimeSeries:
	default:
		return apiRequest{}, m, fmt.Errorf("unknown format %q: auto, table or timeseries", m.Format)
	}
	req := apiRequest{
		Metric: q.QueryType, From: q.TimeRange.From.UTC().Format(time.RFC3339), To: q.TimeRange.To.UTC().Format(time.RFC3339),
		Interval: m.Interval, Timezone: m.Timezone, Filters: withoutAll(m.Filters), GroupBy: m.GroupBy, Lens: m.Lens, Limit: m.Limit,
		Compare: m.Compare, Goal: m.Goal, Funnel: m.Funnel, Paths: m.Paths, Series: m.Series,
	}
	switch {
	case req.Interval == "auto" && interval == "none":
		req.Interval = ""
	case req.Interval == "auto", req.Interval == "" && interval == "required":
		req.Interval = autoInterval(q.Interval, q.TimeRange.To.Sub(q.TimeRange.From))
	}
	if req.Timezone == "" || req.Timezone == "browser" {
		req.Timezone = "UTC" // the backend has no browser: the editor sends the dashboard's zone
	}
	return req, m, nil
}

// withoutAll drops the filters that hold AllValue.
func withoutAll(filters map[string][]string) map[string][]string {
	var out map[string][]string
	for name, values := range filters {
		if slices.Contains(values, AllValue) {
			continue
		}
		if out == nil {
			out = map[string][]string{}
		}
		out[name] = values
	}
	return out
}
