package analyticsdb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
)

// numbering gives each key of a kind (user keys, entity refs, features) a small number, the identity the rollups
// group and count by: distinct counts and groups over integers are much cheaper than over strings (user numbers
// cut distinct counts by 25–70%; entity and feature numbers halved and thirded their metrics). The numbers live
// in a table whose first column is the number and the others the key; the store keeps them in memory, one entry
// per key it has seen (a few MB per 100,000 keys).
type numbering[K comparable] struct {
	table   string
	row     func(K) []driver.Value // the key's columns in the table
	byKey   map[K]uint32
	next    uint32 // 0 is never a number: it stands for "none" in the rollups' Go keys
	pending []K    // numbered since the last commit: stored in the write's transaction
}

// numbers is what a write needs of a numbering, whatever its key.
type numbers interface {
	pendingRows() (table string, rows [][]driver.Value)
	commit()
	rollback()
}

// loadNumbering reads a numbers table; scan reads a key from the columns after the number.
func loadNumbering[K comparable](ctx context.Context, db *sql.DB, table string, row func(K) []driver.Value,
	scan func(no *uint32, rows *sql.Rows) (K, error),
) (numbering[K], error) {
	n := numbering[K]{table: table, row: row, byKey: map[K]uint32{}, next: 1}
	rows, err := db.QueryContext(ctx, "SELECT * FROM "+table)
	if err != nil {
		return n, fmt.Errorf("load %s: %w", table, err)
	}
	defer rows.Close()
	for rows.Next() {
		var no uint32
		key, err := scan(&no, rows)
		if err != nil {
			return n, fmt.Errorf("load %s: %w", table, err)
		}
		n.byKey[key] = no
		n.next = max(n.next, no+1)
	}
	return n, rows.Err()
}

func loadStringNumbering(ctx context.Context, db *sql.DB, table string) (numbering[string], error) {
	return loadNumbering(ctx, db, table, func(k string) []driver.Value { return []driver.Value{k} },
		func(no *uint32, rows *sql.Rows) (key string, err error) { return key, rows.Scan(no, &key) })
}

// of returns the number of a key, numbering it if it is new.
func (n *numbering[K]) of(key K) uint32 {
	no, known := n.byKey[key]
	if !known {
		no = n.next
		n.next++
		n.byKey[key] = no
		n.pending = append(n.pending, key)
	}
	return no
}

func (n *numbering[K]) pendingRows() (string, [][]driver.Value) {
	rows := make([][]driver.Value, len(n.pending))
	for i, key := range n.pending {
		rows[i] = append([]driver.Value{n.byKey[key]}, n.row(key)...)
	}
	return n.table, rows
}

// commit keeps the pending numbers once their rows are stored.
func (n *numbering[K]) commit() { n.pending = nil }

// rollback forgets the pending numbers after a failed write: the next write numbers those keys again from the
// same point.
func (n *numbering[K]) rollback() {
	if len(n.pending) > 0 {
		n.next = n.byKey[n.pending[0]]
	}
	for _, key := range n.pending {
		delete(n.byKey, key)
	}
	n.pending = nil
}

// drop forgets a key whose number was deleted: it gets a new number if it comes back.
func (n *numbering[K]) drop(key K) { delete(n.byKey, key) }

// numberUsers fills in the user number of each event row.
func (s *Store) numberUsers(rows [][]driver.Value) {
	for _, row := range rows {
		if key, ok := row[userKeyAt].(string); ok {
			row[userNoAt] = s.users.of(key)
		}
	}
}

// feature is what the feature adoption metric counts users of: an action in a plugin, and for clicks the
// clicked item.
type feature struct{ plugin, action, subject nullString }

func loadFeatureNumbering(ctx context.Context, db *sql.DB) (numbering[feature], error) {
	return loadNumbering(ctx, db, "feature_numbers",
		func(f feature) []driver.Value {
			return []driver.Value{f.plugin.value(), f.action.value(), f.subject.value()}
		},
		func(no *uint32, rows *sql.Rows) (feature, error) {
			var plugin, action, subject sql.NullString
			err := rows.Scan(no, &plugin, &action, &subject)
			return feature{nullString{plugin.String, plugin.Valid}, nullString{action.String, action.Valid}, nullString{subject.String, subject.Valid}}, err
		})
}
