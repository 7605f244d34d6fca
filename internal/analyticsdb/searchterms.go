package analyticsdb

import (
	"cmp"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/insights-collector/insights-collector/internal/semconv"
)

// searchAttribution is how long after a search a click on a result (a discover) is still attributed to it: a
// session's length at most (the sessionization processor's default max_duration).
const searchAttribution = 24 * time.Hour

// searchTerms attributes each discover (a click on a search result) to the latest search before it, within
// searchAttribution, in its session — or, without a session id, of its user — as the discover is stored. The
// search metric then groups plain rows instead of ordering every search and click of its range per session (a
// window whose sort alone took 70 ms over 28 days of a 2,000-person organisation).
//
// It remembers the latest search of each session seen within twice the attribution window of the newest one,
// which answers every discover that is not late; a late one (older than the newest search of its session, or
// older than the window) is looked up in the events.
type searchTerms struct {
	last   map[string]search
	newest time.Time
	swept  time.Time // newest when forgetOld last looked at every session
}

type search struct {
	ts   time.Time
	term string
}

// after orders searches as the search metric's definition does: by time, then by term.
func (s search) after(o search) bool {
	return s.ts.After(o.ts) || s.ts.Equal(o.ts) && s.term > o.term
}

// searchSessionKey is the SQL of a row's session for the attribution.
const searchSessionKey = "coalesce(session_id, user_key)"

func sessionOf(row []driver.Value) string {
	if s, ok := row[sessionIDAt].(string); ok {
		return s
	}
	s, _ := row[userKeyAt].(string)
	return s
}

func (s *Store) loadSearchTerms(ctx context.Context) error {
	s.searches = searchTerms{last: map[string]search{}}
	rows, err := s.db.QueryContext(ctx, `SELECT `+searchSessionKey+`, ts, subject FROM events
		WHERE action = ? AND subject IS NOT NULL AND ts >= (SELECT max(ts) FROM events WHERE action = ?) - ?::INTERVAL`,
		semconv.ActionSearch, semconv.ActionSearch, (2 * searchAttribution).String())
	if err != nil {
		return fmt.Errorf("load the recent searches: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var sess string
		var sr search
		if err := rows.Scan(&sess, &sr.ts, &sr.term); err != nil {
			return fmt.Errorf("load the recent searches: %w", err)
		}
		s.searches.remember(sess, sr)
	}
	return rows.Err()
}

func (t *searchTerms) remember(sess string, sr search) {
	if prev, ok := t.last[sess]; !ok || sr.after(prev) {
		t.last[sess] = sr
	}
	if sr.ts.After(t.newest) {
		t.newest = sr.ts
	}
}

// forgetOld drops the sessions whose latest search is too old to matter for discovers that are not late; it
// looks at them all once per hour of newer searches, not at every write.
func (t *searchTerms) forgetOld() {
	if t.newest.Sub(t.swept) < time.Hour {
		return
	}
	t.swept = t.newest
	horizon := t.newest.Add(-2 * searchAttribution)
	for sess, sr := range t.last {
		if sr.ts.Before(horizon) {
			delete(t.last, sess)
		}
	}
}

// attributeSearches fills in the search term of the write's discovers; it returns the write's latest search per
// session, which the caller remembers once the write is committed.
func (s *Store) attributeSearches(ctx context.Context, rows [][]driver.Value) (map[string]search, error) {
	var hits [][]driver.Value
	for _, row := range rows {
		if a, _ := row[actionAt].(string); (a == semconv.ActionSearch || a == semconv.ActionDiscover) && sessionOf(row) != "" {
			hits = append(hits, row)
		}
	}
	// The metric's order: by session and time, a search before a click at the same instant, then by subject.
	slices.SortFunc(hits, func(a, b []driver.Value) int {
		subject := func(r []driver.Value) string { v, _ := r[subjectAt].(string); return v }
		return cmp.Or(cmp.Compare(sessionOf(a), sessionOf(b)), a[tsAt].(time.Time).Compare(b[tsAt].(time.Time)),
			-cmp.Compare(a[actionAt].(string), b[actionAt].(string)), cmp.Compare(subject(a), subject(b)))
	})
	written := map[string]search{}
	for _, row := range hits {
		sess, ts := sessionOf(row), row[tsAt].(time.Time)
		if row[actionAt] == semconv.ActionSearch {
			if term, ok := row[subjectAt].(string); ok {
				written[sess] = search{ts, term}
			}
			continue
		}
		best, found := written[sess]
		stored, err := s.latestSearchBefore(ctx, sess, ts)
		if err != nil {
			return nil, err
		}
		if stored != nil && (!found || stored.after(best)) {
			best, found = *stored, true
		}
		if found && !best.ts.Before(ts.Add(-searchAttribution)) {
			row[searchTermAt] = best.term
		}
	}
	return written, nil
}

// latestSearchBefore returns the latest stored search of a session at or before ts, from memory when it can.
func (s *Store) latestSearchBefore(ctx context.Context, sess string, ts time.Time) (*search, error) {
	t := &s.searches
	prev, ok := t.last[sess]
	switch {
	case ok && !prev.ts.After(ts):
		return &prev, nil // the session's latest search: no other can be later
	case !ok && !ts.Before(t.newest.Add(-searchAttribution)):
		return nil, nil // memory holds every search that could count
	}
	var sr search
	err := s.writeConn.QueryRowContext(ctx, `SELECT ts, subject FROM events WHERE action = ? AND subject IS NOT NULL
		AND `+searchSessionKey+` = ? AND ts <= ? AND ts >= ? ORDER BY ts DESC, subject DESC LIMIT 1`,
		semconv.ActionSearch, sess, ts, ts.Add(-searchAttribution)).Scan(&sr.ts, &sr.term)
	if err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, nil
		}
		return nil, fmt.Errorf("find the search before a discover: %w", err)
	}
	return &sr, nil
}
