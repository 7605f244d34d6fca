package analyticsdb

import (
	"context"
	"database/sql/driver"
	"fmt"
)

// userNumbers gives every user key (pseudonym) a small number, the identity the rollups and the metrics count
// by: distinct counts over integers are much cheaper than over strings. The numbers live in the user_numbers
// table; the store keeps them in memory (one entry per user the store has seen, a few MB for 100,000 users).
type userNumbers struct {
	byKey map[string]uint32
	next  uint32 // 0 is never a number: it stands for "no user" in the rollups' Go keys
}

func (s *Store) loadUserNumbers(ctx context.Context) error {
	s.users = userNumbers{byKey: map[string]uint32{}, next: 1}
	rows, err := s.db.QueryContext(ctx, `SELECT user_no, user_key FROM user_numbers`)
	if err != nil {
		return fmt.Errorf("load the user numbers: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var no uint32
		var key string
		if err := rows.Scan(&no, &key); err != nil {
			return fmt.Errorf("load the user numbers: %w", err)
		}
		s.users.byKey[key] = no
		s.users.next = max(s.users.next, no+1)
	}
	return rows.Err()
}

// number fills in the user number of each event row, numbering the keys not seen before; it returns their
// user_numbers rows, which the caller stores in the same transaction as the events, or forgets if that fails.
func (u *userNumbers) number(rows [][]driver.Value) (added [][]driver.Value) {
	for _, row := range rows {
		key, ok := row[userKeyAt].(string)
		if !ok {
			continue
		}
		no, known := u.byKey[key]
		if !known {
			no = u.next
			u.next++
			u.byKey[key] = no
			added = append(added, []driver.Value{no, key})
		}
		row[userNoAt] = no
	}
	return added
}

// forget undoes number's additions after a failed write.
func (u *userNumbers) forget(added [][]driver.Value) {
	for _, row := range added {
		delete(u.byKey, row[1].(string))
	}
	if len(added) > 0 {
		u.next = added[0][0].(uint32)
	}
}
