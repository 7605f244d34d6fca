package analyticsdb

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Deleted counts the rows a retention run or an erasure removed, per table.
type Deleted map[string]int64

// Total is the number of rows removed.
func (d Deleted) Total() int64 {
	var n int64
	for _, v := range d {
		n += v
	}
	return n
}

// DeleteOlderThan removes everything that happened before cutoff (retention).
func (s *Store) DeleteOlderThan(ctx context.Context, cutoff time.Time) (Deleted, error) {
	// A rollup day goes once all of it is past the cutoff: when it is before the cutoff's date.
	pastDay := "day < " + localDate(s.loc.String(), "?::TIMESTAMPTZ")
	s.mu.Lock()
	defer s.mu.Unlock()
	filters := []tableFilter{
		{"events", "ts < ?"},
		{"event_details", "ts < ?"},
		{"sessions", "end_ts < ?"},
		{"backend_requests", "ts < ?"},
		{"backend_metrics", "ts < ?"},
		{"users", "last_seen < ?"},
		{"audit_log", "ts < ?"},
		{"page_views", "ts < ?"},
		{sessionSteps, "session_start_ms < epoch_ms(?::TIMESTAMPTZ)"},
	}
	for _, r := range dailyRollups {
		filters = append(filters, tableFilter{r.table, pastDay})
		if r.sets != nil {
			filters = append(filters, tableFilter{r.sets.table, pastDay})
		}
	}
	return s.deleteWhere(ctx, nil, filters, cutoff)
}

// EraseUser removes every row of one user (GDPR erasure), by the key the store counts them by: the pseudonym
// (user.hash), or the plain id / anonymous id of events stored before anonymization.
func (s *Store) EraseUser(ctx context.Context, key string) (Deleted, error) {
	const number = "user_no = (SELECT user_no FROM user_numbers WHERE user_key = $1)"
	const events = "user_key = $1 OR user_hash = $1 OR user_id = $1 OR anonymous_id = $1"
	s.mu.Lock()
	defer s.mu.Unlock()
	filters := []tableFilter{
		{"event_details", "event_id IN (SELECT event_id FROM events WHERE " + events + ")"}, // before the events
		{"events", events},
		{"sessions", "user_key = $1"},
		{"users", number},
		{"page_views", number},
		{sessionSteps, number},
	}
	var before []string
	for _, r := range dailyRollups {
		filters = append(filters, tableFilter{r.table, number})
		if r.sets != nil {
			before = append(before, r.sets.eraseSQL(r.table, number)...)
		}
	}
	filters = append(filters, tableFilter{"user_numbers", "user_key = $1"}) // last: the filters above look the number up here
	deleted, err := s.deleteWhere(ctx, before, filters, key)
	if err == nil {
		s.users.drop(key)            // a user who comes back gets a new number
		delete(s.searches.last, key) // the user's latest search, when it has no session id
	}
	return deleted, err
}

type tableFilter struct{ table, where string }

// deleteWhere deletes in one transaction, after the statements before (which take the same argument); the
// caller holds s.mu.
func (s *Store) deleteWhere(ctx context.Context, before []string, filters []tableFilter, arg any) (Deleted, error) {
	deleted := Deleted{}
	err := s.inTx(ctx, func() error {
		for _, q := range before {
			if _, err := s.writeConn.ExecContext(ctx, q, arg); err != nil {
				return fmt.Errorf("before deleting: %w", err)
			}
		}
		for _, f := range filters {
			res, err := s.writeConn.ExecContext(ctx, "DELETE FROM "+f.table+" WHERE "+f.where, arg)
			if err != nil {
				return fmt.Errorf("delete from %s: %w", f.table, err)
			}
			n, err := res.RowsAffected()
			if err != nil {
				return err
			}
			deleted[f.table] = n
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return deleted, nil
}

// rollup describes a table whose rows of one key may repeat (a row per write), and how to merge them; period
// is the column holding the day, or "" for a table merged whole (users: a row per user). rebuildSQL computes
// a daily rollup from the events (%[1]s: the day of an event); sets, when set, are its users as bitmaps.
type rollup struct {
	table, period, merged string
	rebuildSQL            string
	sets                  *userSets
}

// compacted are the rollups the compaction merges.
var compacted = append(slices.Clone(dailyRollups), rollup{table: "users", merged: "instance, user_no, min(first_seen), max(last_seen)"})

// wholeTable is the "day" rollup_days records for a rollup merged whole.
var wholeTable = time.Unix(0, 0).UTC()

// CompactRollups merges the rows of each key that separate writes left behind in the rollups. It works a day at
// a time, and only on the days writes have touched since the last run (rollup_days), so that each transaction
// stays small whatever the size of the store.
func (s *Store) CompactRollups(ctx context.Context) error {
	for _, r := range compacted {
		days, err := markedDays(ctx, s.db, r.table)
		if err != nil {
			return err
		}
		for _, day := range days {
			if err := s.compactDay(ctx, r, day); err != nil {
				return err
			}
		}
	}
	return nil
}

// CompactionBacklog is how many days the compaction has to merge (and build the user sets of): one or two
// between maintenances, every day of the store after an upgrade that adds user sets.
func CompactionBacklog(ctx context.Context, q Queryer) (int, error) {
	rows, err := q.QueryContext(ctx, `SELECT count(DISTINCT day) FROM rollup_days WHERE rollup NOT IN ('users', '`+sessionSteps+`')`)
	if err != nil {
		return 0, fmt.Errorf("count the days to compact: %w", err)
	}
	defer rows.Close()
	var n int
	for rows.Next() {
		if err := rows.Scan(&n); err != nil {
			return 0, err
		}
	}
	return n, rows.Err()
}

// markedDays returns the days rollup_days holds for a table: the days to compact, or to build (session_steps).
func markedDays(ctx context.Context, q Queryer, table string) ([]time.Time, error) {
	rows, err := q.QueryContext(ctx, `SELECT day FROM rollup_days WHERE rollup = ? ORDER BY day`, table)
	if err != nil {
		return nil, fmt.Errorf("find the marked days of %s: %w", table, err)
	}
	defer rows.Close()
	var days []time.Time
	for rows.Next() {
		var day time.Time
		if err := rows.Scan(&day); err != nil {
			return nil, err
		}
		days = append(days, day)
	}
	return days, rows.Err()
}

func (s *Store) compactDay(ctx context.Context, r rollup, day time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	where := " WHERE " + r.period + " = $1"
	if r.period == "" {
		where = " WHERE $1 IS NOT NULL"
	}
	queries := []string{
		"CREATE OR REPLACE TEMP TABLE compacted AS SELECT " + r.merged + " FROM " + r.table + where + " GROUP BY ALL",
		"DELETE FROM " + r.table + where,
		"INSERT INTO " + r.table + " SELECT * FROM compacted",
		"DROP TABLE compacted",
	}
	if r.sets != nil {
		queries = append(queries, "DELETE FROM "+r.sets.table+where, r.sets.buildSQL(r.table))
	}
	queries = append(queries, "DELETE FROM rollup_days WHERE rollup = '"+r.table+"' AND day = $1")
	return s.inTx(ctx, func() error {
		for _, q := range queries {
			var args []any
			if strings.Contains(q, "$1") {
				args = []any{day}
			}
			if _, err := s.writeConn.ExecContext(ctx, q, args...); err != nil {
				return fmt.Errorf("compact %s on %s: %w", r.table, day.Format(time.DateOnly), err)
			}
		}
		return nil
	})
}

// markDays records the days a write added rollup rows to, in one statement.
func (s *Store) markDays(ctx context.Context, marks map[string][]time.Time) error {
	var values []string
	var args []any
	for table, days := range marks {
		for _, day := range days {
			values = append(values, "(?, ?)")
			args = append(args, table, day)
		}
	}
	if len(values) == 0 {
		return nil
	}
	if _, err := s.writeConn.ExecContext(ctx, `INSERT INTO rollup_days VALUES `+strings.Join(values, ", ")+` ON CONFLICT DO NOTHING`, args...); err != nil {
		return fmt.Errorf("mark the days to compact: %w", err)
	}
	return nil
}

// AuditEntry is one line of the audit log.
type AuditEntry struct {
	Principal, Role, Action, Target string
	Params                          any
	Rows, Suppressed                int64
	Status                          int
}

// Audit appends to the audit log.
func (s *Store) Audit(ctx context.Context, e AuditEntry) error {
	params, err := json.Marshal(e.Params)
	if err != nil {
		return fmt.Errorf("encode audit params: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_, err = s.writeConn.ExecContext(ctx, `INSERT INTO audit_log (principal, role, action, target, params, row_count, suppressed, status)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, e.Principal, e.Role, e.Action, e.Target, string(params), e.Rows, e.Suppressed, e.Status)
	if err != nil {
		return fmt.Errorf("write audit log: %w", err)
	}
	return nil
}
