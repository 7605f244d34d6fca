package analyticsdb

import (
	"context"
	"fmt"

	duckdb "github.com/duckdb/duckdb-go/v2"
)

// recentIDs remembers the ids of the newest stored events, oldest forgotten first. Redeliveries come soon after
// the first delivery (the exporter's queue replays what a crash interrupted; Backstage retries within
// seconds), so checking a write against the recent ids makes the store idempotent without an index over every
// event ever stored, which grew with the table and was rewritten at each checkpoint.
type recentIDs struct {
	set      map[duckdb.UUID]struct{}
	ring     []duckdb.UUID // insertion order; once full, next is the oldest
	next     int
	capacity int
}

// newRecentIDs remembers up to capacity ids; memory grows with use, not up front.
func newRecentIDs(capacity int) *recentIDs {
	return &recentIDs{set: map[duckdb.UUID]struct{}{}, capacity: capacity}
}

func (r *recentIDs) has(id duckdb.UUID) bool {
	_, ok := r.set[id]
	return ok
}

func (r *recentIDs) add(id duckdb.UUID) {
	r.set[id] = struct{}{}
	if len(r.ring) < r.capacity {
		r.ring = append(r.ring, id)
		return
	}
	delete(r.set, r.ring[r.next])
	r.ring[r.next] = id
	r.next = (r.next + 1) % r.capacity
}

// loadRecentIDs fills the set with the ids of the newest stored events, so that a redelivery after a restart
// (the queue replaying a write whose acknowledgement the crash lost) is still recognised.
func (s *Store) loadRecentIDs(ctx context.Context) error {
	rows, err := s.db.QueryContext(ctx, `SELECT event_id FROM (SELECT event_id, ingest_batch FROM events ORDER BY ingest_batch DESC LIMIT ?)
		ORDER BY ingest_batch`, s.recent.capacity)
	if err != nil {
		return fmt.Errorf("read the recent event ids: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id duckdb.UUID
		if err := rows.Scan(&id); err != nil {
			return fmt.Errorf("read the recent event ids: %w", err)
		}
		s.recent.add(id)
	}
	return rows.Err()
}
