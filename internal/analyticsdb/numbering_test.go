package analyticsdb

import (
	"database/sql/driver"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestNumbering(t *testing.T) {
	row := func(key any) []driver.Value {
		r := make([]driver.Value, len(eventColumns))
		r[userKeyAt] = key
		return r
	}
	s := &Store{users: numbering[string]{table: "user_numbers", row: func(k string) []driver.Value { return []driver.Value{k} },
		byKey: map[string]uint32{"ana": 1}, next: 2}}
	rows := [][]driver.Value{row("ana"), row("bo"), row(nil), row("bo"), row("cy")}
	s.numberUsers(rows)
	table, pending := s.users.pendingRows()
	assert.Equal(t, "user_numbers", table)
	assert.Equal(t, [][]driver.Value{{uint32(2), "bo"}, {uint32(3), "cy"}}, pending, "each new key once, numbered in order")
	assert.Equal(t, []driver.Value{uint32(1), uint32(2), nil, uint32(2), uint32(3)},
		[]driver.Value{rows[0][userNoAt], rows[1][userNoAt], rows[2][userNoAt], rows[3][userNoAt], rows[4][userNoAt]})

	// A failed write forgets the new numbers: the next write numbers the keys again from the same point.
	s.users.rollback()
	assert.Equal(t, map[string]uint32{"ana": 1}, s.users.byKey)
	assert.Equal(t, uint32(2), s.users.of("cy"))
	s.users.commit()
	_, pending = s.users.pendingRows()
	assert.Empty(t, pending)
	assert.Equal(t, uint32(3), s.users.of("dee"))
	s.users.rollback()
	assert.Equal(t, uint32(2), s.users.of("cy"), "a committed number stays")
	assert.Equal(t, uint32(3), s.users.of("dee"))
}
