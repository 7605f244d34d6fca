package analyticsdb

import (
	"database/sql/driver"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestUserNumbers(t *testing.T) {
	row := func(key any) []driver.Value {
		r := make([]driver.Value, len(eventColumns))
		r[userKeyAt] = key
		return r
	}
	u := userNumbers{byKey: map[string]uint32{"ana": 1}, next: 2}
	rows := [][]driver.Value{row("ana"), row("bo"), row(nil), row("bo"), row("cy")}
	added := u.number(rows)
	assert.Equal(t, [][]driver.Value{{uint32(2), "bo"}, {uint32(3), "cy"}}, added, "each new key once, numbered in order")
	assert.Equal(t, []driver.Value{uint32(1), uint32(2), nil, uint32(2), uint32(3)},
		[]driver.Value{rows[0][userNoAt], rows[1][userNoAt], rows[2][userNoAt], rows[3][userNoAt], rows[4][userNoAt]})

	// A failed write forgets the new numbers: the next write numbers the keys again from the same point.
	u.forget(added)
	assert.Equal(t, map[string]uint32{"ana": 1}, u.byKey)
	again := u.number([][]driver.Value{row("cy")})
	assert.Equal(t, [][]driver.Value{{uint32(2), "cy"}}, again)
}
