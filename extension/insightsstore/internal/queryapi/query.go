// Package queryapi is the HTTP query API of the embedded analytics store: a catalogue of metrics, each answered
// as a table (columns and rows) that maps one-to-one onto a Grafana data frame, with access roles, an audit
// log of every query and a k-anonymity floor on breakdowns.
package queryapi

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Request is the body of POST /api/v1/query.
type Request struct {
	Metric   string              `json:"metric"`
	From     Time                `json:"from"`
	To       Time                `json:"to"`
	Interval string              `json:"interval,omitempty"` // hour, day, week, month
	Timezone string              `json:"timezone,omitempty"` // IANA name; buckets follow its days (default UTC)
	Filters  map[string][]string `json:"filters,omitempty"`
	GroupBy  []string            `json:"group_by,omitempty"`
	Limit    int                 `json:"limit,omitempty"`
	Offset   int                 `json:"offset,omitempty"` // the events metric pages with it
	Goal     *Goal               `json:"goal,omitempty"`   // experiment_results measures it
	Lens     string              `json:"lens,omitempty"`   // how the metric looks at its data (retention: first_time, recurring)
	Funnel   *Funnel             `json:"funnel,omitempty"` // the funnel metric's steps
	Paths    *Paths              `json:"paths,omitempty"`  // what the paths metric walks
	Series   *Series             `json:"series,omitempty"` // what forecast and anomalies work on
	// Compare adds, to each number column, its value over an earlier period and the change: previous_period or
	// previous_year.
	Compare string `json:"compare,omitempty"`
}

// Goal is what an experiment's variants are compared on, for each exposed user from their exposure.
type Goal struct {
	// Type is conversion (did the user send Event within WithinDays), events_per_user (Backstage events within
	// WithinDays) or retention_d7 (did the user come back on the 7th day after exposure).
	Type       string `json:"type"`
	Event      string `json:"event,omitempty"`
	WithinDays int    `json:"within_days,omitempty"`
	// Control is the variant the others are compared with (default: "control").
	Control string `json:"control,omitempty"`
}

// Goal types.
const (
	GoalConversion    = "conversion"
	GoalEventsPerUser = "events_per_user"
	GoalRetentionD7   = "retention_d7"
)

// Intervals a metric can bucket by.
var Intervals = []string{"hour", "day", "week", "month", "quarter", "year"}

// Filters every metric understands; their values are OR-ed within a filter and AND-ed across filters.
const (
	FilterPlugin     = "plugin"
	FilterEntityKind = "entity_kind"
	FilterInstance   = "instance"
	// FilterExperiment names the experiment of experiment_results.
	FilterExperiment = "experiment"
	// FilterTeam keeps the rows (or users) of catalog teams and of the teams below them.
	FilterTeam = "team"
	// FilterTeamType chooses the groups team_comparison ranks by their type.
	FilterTeamType = "team_type"
	// FilterKeyAction names onboarding's key actions.
	FilterKeyAction = "key_action"
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

// Time is an instant of a request: RFC 3339, or relative to now as Grafana writes it ("now", "now-7d",
// "now-12h", "now+1d"; units s, m, h, d, w).
type Time struct {
	time.Time
	relative string // the text of a relative time, resolved by resolve
}

var relativeTime = regexp.MustCompile(`^now(([+-])([0-9]+)([smhdw]))?$`)

// UnmarshalJSON reads either form.
func (t *Time) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("a time must be a string: %w", err)
	}
	if relativeTime.MatchString(s) {
		t.relative = s
		return nil
	}
	parsed, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return fmt.Errorf("time %q is neither RFC 3339 nor relative to now (now-7d)", s)
	}
	t.Time = parsed
	return nil
}

// MarshalJSON writes the form it was given (so the audit log shows what was asked).
func (t Time) MarshalJSON() ([]byte, error) {
	if t.relative != "" {
		return json.Marshal(t.relative)
	}
	return json.Marshal(t.Time)
}

// resolve turns a relative time into an instant.
func (t *Time) resolve(now time.Time) {
	m := relativeTime.FindStringSubmatch(t.relative)
	if m == nil {
		return
	}
	t.Time = now
	if m[1] == "" {
		return
	}
	n, _ := strconv.Atoi(m[3])
	unit := map[string]time.Duration{"s": time.Second, "m": time.Minute, "h": time.Hour, "d": 24 * time.Hour, "w": 7 * 24 * time.Hour}[m[4]]
	d := time.Duration(n) * unit
	if m[2] == "-" {
		d = -d
	}
	t.Time = now.Add(d)
}

// query is a validated request.
type query struct {
	Request
	serving
	from, to time.Time // resolved
	metric   *Metric
	now      time.Time
	inner    *query // the metric a derived metric works on
	// userNumbers, when positive, is the highest user number: count distinct users as bitmaps of that many bits
	// (see sizeUserBitmaps).
	userNumbers int64
	// pendingSessionDays are the days paths reads from page_views: session_steps does not hold them yet.
	pendingSessionDays []time.Time
	catalog            map[string]*Metric
}

// serving is what the server gives every query, the metrics a derived metric works on included.
type serving struct {
	rollupTZ *time.Location // the days of the store's daily rollups
	value    ValueModel     // what the roi metric counts
	gate     *gate          // nil: no limit
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
	q := &query{Request: req, metric: m, now: now, catalog: catalog}
	q.From.resolve(now)
	q.To.resolve(now)
	q.from, q.to = q.From.Time, q.To.Time
	if !m.NoTimeRange {
		switch {
		case q.from.IsZero():
			return nil, badRequest("from", "is missing (RFC 3339 such as 2026-11-01T00:00:00Z, or now-30d)")
		case q.to.IsZero():
			return nil, badRequest("to", "is missing (RFC 3339, or now)")
		case !q.from.Before(q.to):
			return nil, badRequest("from", "must be before to (%s is not before %s)", q.from.Format(time.RFC3339), q.to.Format(time.RFC3339))
		case q.to.Sub(q.from) > maxRange:
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
	case req.Interval != "" && m.Intervals != nil && !slices.Contains(m.Intervals, req.Interval):
		return nil, badRequest("interval", "%s buckets by %s, not by %s", m.Name, strings.Join(m.Intervals, " or "), req.Interval)
	}
	switch {
	case req.Lens != "" && !slices.Contains(m.Lenses, req.Lens) && len(m.Lenses) == 0:
		return nil, badRequest("lens", "%s has no lenses", m.Name)
	case req.Lens != "" && !slices.Contains(m.Lenses, req.Lens):
		return nil, badRequest("lens", "unknown lens %q of %s: one of %s", req.Lens, m.Name, strings.Join(m.Lenses, ", "))
	case req.Lens == "" && len(m.Lenses) > 0:
		q.Lens = m.Lenses[0]
	}
	for name, values := range req.Filters {
		if !slices.Contains(m.Filters, name) {
			return nil, badRequest("filters."+name, "%s does not filter by %s (it filters by: %s)", m.Name, name, strings.Join(m.Filters, ", "))
		}
		if len(values) == 0 {
			return nil, badRequest("filters."+name, "needs at least one value")
		}
	}
	for _, name := range m.RequiredFilters {
		if len(req.Filters[name]) != 1 {
			return nil, badRequest("filters."+name, "%s needs exactly one %s", m.Name, name)
		}
	}
	switch {
	case req.Compare != "" && !slices.Contains(Compares, req.Compare):
		return nil, badRequest("compare", "unknown comparison %q: %s", req.Compare, strings.Join(Compares, " or "))
	case req.Compare != "" && (m.NoTimeRange || m.Role > RoleViewer || m.derive != nil):
		return nil, badRequest("compare", "%s cannot be compared with an earlier period", m.Name)
	}
	if err := validateGoal(req.Goal, m); err != nil {
		return nil, err
	}
	if err := validateFunnel(req.Funnel, m); err != nil {
		return nil, err
	}
	if err := validatePaths(req.Paths, m); err != nil {
		return nil, err
	}
	if err := validateSeries(q, catalog); err != nil {
		return nil, err
	}
	for _, g := range req.GroupBy {
		if !slices.Contains(m.GroupBy, g) {
			return nil, badRequest("group_by", "%s cannot group by %q (it can by: %s)", m.Name, g, strings.Join(m.GroupBy, ", "))
		}
	}
	if len(req.GroupBy) > 1 {
		return nil, badRequest("group_by", "at most one dimension")
	}
	if slices.Contains(req.GroupBy, "variant") && len(req.Filters[FilterExperiment]) != 1 {
		return nil, badRequest("filters."+FilterExperiment, "grouping by variant names one experiment")
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

func validateGoal(g *Goal, m *Metric) error {
	switch {
	case !m.NeedsGoal && g != nil:
		return badRequest("goal", "%s takes no goal", m.Name)
	case !m.NeedsGoal:
		return nil
	case g == nil:
		return badRequest("goal", "is required for %s: {type: conversion, event, within_days}, {type: events_per_user, within_days} or {type: retention_d7}", m.Name)
	}
	switch g.Type {
	case GoalConversion:
		if !strings.HasPrefix(g.Event, "backstage.") {
			return badRequest("goal.event", "a conversion goal needs the event name converted to (backstage.<action>)")
		}
		fallthrough
	case GoalEventsPerUser:
		if g.WithinDays < 1 || g.WithinDays > 90 {
			return badRequest("goal.within_days", "must be between 1 and 90")
		}
	case GoalRetentionD7:
	default:
		return badRequest("goal.type", "unknown goal %q: conversion, events_per_user or retention_d7", g.Type)
	}
	if g.Control == "" {
		g.Control = "control"
	}
	return nil
}

func (q *query) filter(name string) []string { return q.Filters[name] }

func (q *query) groupBy() string {
	if len(q.GroupBy) == 0 {
		return ""
	}
	return q.GroupBy[0]
}
