package analyticsdb

import (
	"context"
	"encoding/json"
	"fmt"
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

// CompactRollups merges the rollup rows of each hour and key (and the first/last-seen rows of each user) that
// separate writes left behind.
func (s *Store) CompactRollups(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inTx(ctx, func() error {
		for _, q := range []string{
			`CREATE OR REPLACE TEMP TABLE compacted AS SELECT hour, instance, user_key, sum(events)::BIGINT AS events FROM user_hourly GROUP BY ALL`,
			`DELETE FROM user_hourly`,
			`INSERT INTO user_hourly SELECT * FROM compacted`,
			`CREATE OR REPLACE TEMP TABLE compacted AS SELECT hour, instance, plugin_id, user_key, sum(events)::BIGINT AS events FROM plugin_hourly GROUP BY ALL`,
			`DELETE FROM plugin_hourly`,
			`INSERT INTO plugin_hourly SELECT * FROM compacted`,
			`CREATE OR REPLACE TEMP TABLE compacted AS SELECT instance, user_key, min(first_seen) AS first_seen, max(last_seen) AS last_seen FROM users GROUP BY ALL`,
			`DELETE FROM users`,
			`INSERT INTO users SELECT * FROM compacted`,
			`DROP TABLE compacted`,
		} {
			if _, err := s.writeConn.ExecContext(ctx, q); err != nil {
				return fmt.Errorf("compact rollups: %w", err)
			}
		}
		return nil
	})
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
