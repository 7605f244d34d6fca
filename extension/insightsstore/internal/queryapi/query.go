// Package queryapi is the HTTP query API of the embedded analytics store: a catalogue of metrics, each answered
// as a table (columns and rows) that maps one-to-one onto a Grafana data frame, with access roles, an audit
// log of every query and a k-anonymity floor on breakdowns.
package queryapi

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Request is the body of POST /api/v1/query.
type Request struct {
	Metric   string              `json:"metric"`
	From     time.Time           `json:"from"`
	To       time.Time           `json:"to"`
	Interval string              `json:"interval,omitempty"` // hour, day, week, month
	Timezone string              `json:"timezone,omitempty"` // IANA name; buckets follow its days (default UTC)
	Filters  map[string][]string `json:"filters,omitempty"`
	GroupBy  []string            `json:"group_by,omitempty"`
	Limit    int                 `json:"limit,omitempty"`
	Offset   int                 `json:"offset,omitempty"` // the events metric pages with it
}

// Intervals a metric can bucket by.
var Intervals = []string{"hour", "day", "week", "month"}

// Filters every metric understands; their values are OR-ed within a filter and AND-ed across filters.
const (
	FilterPlugin     = "plugin"
	FilterEntityKind = "entity_kind"
	FilterInstance   = "instance"
)

// CommonFilters are accepted by every metric.
var CommonFilters = []string{FilterPlugin, FilterEntityKind, FilterInstance}

const (
	defaultLimit = 100
	maxLimit     = 10_000
	// maxRange bounds a query's span: beyond it, the caller should aggregate (the retention is 400 days).
	maxRange = 3 * 366 * 24 * time.Hour
)

// RequestError is a bad request; Field names what is wrong.
type RequestError struct {
	Field, Message string
}

func (e *RequestError) Error() string { return e.Field + ": " + e.Message }

func badRequest(field, format string, args ...any) error {
	return &RequestError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// query is a validated request.
type query struct {
	Request
	metric *Metric
	now    time.Time
}

// validate checks a request against the metric catalogue.
func validate(req Request, catalog map[string]*Metric, now time.Time) (*query, error) {
	m, ok := catalog[req.Metric]
	if !ok {
		if req.Metric == "" {
			return nil, badRequest("metric", "is missing; GET /api/v1/metrics lists them")
		}
		return nil, badRequest("metric", "unknown metric %q; GET /api/v1/metrics lists them", req.Metric)
	}
	q := &query{Request: req, metric: m, now: now}
	if !m.NoTimeRange {
		switch {
		case req.From.IsZero():
			return nil, badRequest("from", "is missing (RFC 3339, e.g. 2026-11-01T00:00:00Z)")
		case req.To.IsZero():
			return nil, badRequest("to", "is missing (RFC 3339)")
		case !req.From.Before(req.To):
			return nil, badRequest("from", "must be before to (%s is not before %s)", req.From.Format(time.RFC3339), req.To.Format(time.RFC3339))
		case req.To.Sub(req.From) > maxRange:
			return nil, badRequest("to", "the range may span at most %d days", int(maxRange.Hours()/24))
		}
	}
	tz := req.Timezone
	if tz == "" {
		tz = "UTC"
	}
	if _, err := time.LoadLocation(tz); err != nil {
		return nil, badRequest("timezone", "unknown time zone %q (use an IANA name such as Europe/Berlin)", tz)
	}
	q.Timezone = tz
	switch {
	case req.Interval == "" && m.Interval == intervalRequired:
		return nil, badRequest("interval", "is required for %s: one of %s", m.Name, strings.Join(Intervals, ", "))
	case req.Interval != "" && m.Interval == intervalNone:
		return nil, badRequest("interval", "%s does not bucket by time", m.Name)
	case req.Interval != "" && !slices.Contains(Intervals, req.Interval):
		return nil, badRequest("interval", "unknown interval %q: one of %s", req.Interval, strings.Join(Intervals, ", "))
	}
	for name, values := range req.Filters {
		if !slices.Contains(m.Filters, name) {
			return nil, badRequest("filters."+name, "%s does not filter by %s (it filters by: %s)", m.Name, name, strings.Join(m.Filters, ", "))
		}
		if len(values) == 0 {
			return nil, badRequest("filters."+name, "needs at least one value")
		}
	}
	for _, g := range req.GroupBy {
		if !slices.Contains(m.GroupBy, g) {
			return nil, badRequest("group_by", "%s cannot group by %q (it can by: %s)", m.Name, g, strings.Join(m.GroupBy, ", "))
		}
	}
	if len(req.GroupBy) > 1 {
		return nil, badRequest("group_by", "at most one dimension")
	}
	switch {
	case req.Limit < 0 || req.Limit > maxLimit:
		return nil, badRequest("limit", "must be between 1 and %d", maxLimit)
	case req.Limit == 0:
		q.Limit = defaultLimit
	}
	if req.Offset < 0 {
		return nil, badRequest("offset", "must not be negative")
	}
	return q, nil
}

func (q *query) filter(name string) []string { return q.Filters[name] }

func (q *query) groupBy() string {
	if len(q.GroupBy) == 0 {
		return ""
	}
	return q.GroupBy[0]
}
