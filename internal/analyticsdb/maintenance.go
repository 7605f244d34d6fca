package analyticsdb

import (
	"context"
	"encoding/json"
	"fmt"
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
	return s.deleteWhere(ctx, []tableFilter{
		{"events", "ts < ?"},
		{"sessions", "end_ts < ?"},
		{"backend_requests", "ts < ?"},
		{"backend_metrics", "ts < ?"},
		{"user_hourly", "hour < date_trunc('hour', ?::TIMESTAMPTZ)"},
		{"plugin_hourly", "hour < date_trunc('hour', ?::TIMESTAMPTZ)"},
		{"users", "last_seen < ?"},
		{"audit_log", "ts < ?"},
	}, cutoff)
}

// EraseUser removes every row of one user (GDPR erasure), by the key the store counts them by: the pseudonym
// (user.hash), or the plain id / anonymous id of events stored before anonymization.
func (s *Store) EraseUser(ctx context.Context, key string) (Deleted, error) {
	return s.deleteWhere(ctx, []tableFilter{
		{"events", "user_key = $1 OR user_hash = $1 OR user_id = $1 OR anonymous_id = $1"},
		{"sessions", "user_key = $1"},
		{"user_hourly", "user_key = $1"},
		{"plugin_hourly", "user_key = $1"},
		{"users", "user_key = $1"},
	}, key)
}

type tableFilter struct{ table, where string }

func (s *Store) deleteWhere(ctx context.Context, filters []tableFilter, arg any) (Deleted, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	deleted := Deleted{}
	err := s.inTx(ctx, func() error {
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
// is the time column that days are cut by, or "" for a table merged whole (users: a row per user).
type rollup struct {
	table, period, merged string
}

var rollups = []rollup{
	{"user_hourly", "hour", "hour, instance, user_key, sum(events)::BIGINT"},
	{"plugin_hourly", "hour", "hour, instance, plugin_id, user_key, sum(events)::BIGINT"},
	{"users", "", "instance, user_key, min(first_seen), max(last_seen)"},
}

// wholeTable is the "day" rollup_days records for a rollup merged whole.
var wholeTable = time.Unix(0, 0).UTC()

// CompactRollups merges the rows of each key that separate writes left behind in the rollups. It works a day at
// a time, and only on the days writes have touched since the last run (rollup_days), so that each transaction
// stays small whatever the size of the store.
func (s *Store) CompactRollups(ctx context.Context) error {
	for _, r := range rollups {
		days, err := s.touchedDays(ctx, r.table)
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

func (s *Store) touchedDays(ctx context.Context, table string) ([]time.Time, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT day FROM rollup_days WHERE rollup = ? ORDER BY day`, table)
	if err != nil {
		return nil, fmt.Errorf("find the days of %s to compact: %w", table, err)
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
	where := " WHERE " + r.period + " >= $1 AND " + r.period + " < $1 + INTERVAL 1 DAY"
	if r.period == "" {
		where = " WHERE $1 IS NOT NULL"
	}
	return s.inTx(ctx, func() error {
		for _, q := range []string{
			"CREATE OR REPLACE TEMP TABLE compacted AS SELECT " + r.merged + " FROM " + r.table + where + " GROUP BY ALL",
			"DELETE FROM " + r.table + where,
			"INSERT INTO " + r.table + " SELECT * FROM compacted",
			"DROP TABLE compacted",
			"DELETE FROM rollup_days WHERE rollup = '" + r.table + "' AND day = $1",
		} {
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

// markDays records the days a write added rollup rows to.
func (s *Store) markDays(ctx context.Context, table string, days map[time.Time]bool) error {
	for day := range days {
		if _, err := s.writeConn.ExecContext(ctx, `INSERT INTO rollup_days VALUES (?, ?) ON CONFLICT DO NOTHING`, table, day); err != nil {
			return fmt.Errorf("mark %s: %w", table, err)
		}
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
