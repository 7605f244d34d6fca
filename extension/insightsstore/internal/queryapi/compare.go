package queryapi

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// Comparisons a request can ask for (Request.Compare): every metric over a time range answers for its range and
// for an earlier one, row by row.
const (
	ComparePreviousPeriod = "previous_period" // the same length, just before
	ComparePreviousYear   = "previous_year"   // the same dates a year earlier
)

// Compares lists the comparisons.
var Compares = []string{ComparePreviousPeriod, ComparePreviousYear}

// earlier returns the query's range shifted to the compared period, and how a time of the earlier answer maps
// onto the time it is compared with. Shifts are in the caller's calendar (a range of whole days moves by days,
// whatever daylight saving did in between), so that buckets pair up.
func (q *query) earlier() (from, to time.Time, forward func(time.Time) time.Time) {
	loc, _ := time.LoadLocation(q.Timezone) // validated
	if q.Compare == ComparePreviousYear {
		return q.from.In(loc).AddDate(-1, 0, 0), q.to.In(loc).AddDate(-1, 0, 0), func(t time.Time) time.Time { return t.In(loc).AddDate(1, 0, 0) }
	}
	if midnight(q.from.In(loc)) && midnight(q.to.In(loc)) {
		days := int(q.to.Sub(q.from).Hours()/24 + 0.5)
		return q.from.In(loc).AddDate(0, 0, -days), q.from, func(t time.Time) time.Time { return t.In(loc).AddDate(0, 0, days) }
	}
	span := q.to.Sub(q.from)
	return q.from.Add(-span), q.from, func(t time.Time) time.Time { return t.Add(span) }
}

func midnight(t time.Time) bool {
	return t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0 && t.Nanosecond() == 0
}

// comparePeriods runs the query over the earlier period and adds, after the result's columns, each number column's
// earlier value, its change and its relative change. Rows pair up by their dimensions (string columns) and
// their time shifted forward by the comparison's offset; a row without a partner has nulls there.
func comparePeriods(ctx context.Context, db *sql.DB, q *query, k int, res *Result) error {
	earlierQ := *q
	var forward func(time.Time) time.Time
	earlierQ.from, earlierQ.to, forward = q.earlier()
	earlierQ.Limit = maxLimit // every row that could pair with one of the result's
	prev, err := run(ctx, db, &earlierQ, k)
	if err != nil {
		return fmt.Errorf("the earlier period: %w", err)
	}
	byKey := map[string][]any{}
	for _, row := range prev.Rows {
		byKey[rowKey(prev.Columns, row, forward)] = row
	}
	var numbers []int
	for i, c := range res.Columns {
		if c.Type == typeNumber && !c.ordinal {
			numbers = append(numbers, i)
			res.Columns = append(res.Columns, number(c.Name+"_previous", c.Unit, "in the earlier period"),
				number(c.Name+"_change", c.Unit, c.Name+" - "+c.Name+"_previous"),
				number(c.Name+"_change_ratio", "ratio", "("+c.Name+" - "+c.Name+"_previous) / "+c.Name+"_previous"))
		}
	}
	for r, row := range res.Rows {
		earlierRow := byKey[rowKey(res.Columns, row, nil)]
		for _, i := range numbers {
			var before any
			if earlierRow != nil {
				before = earlierRow[i]
			}
			change, ratio := changes(row[i], before)
			row = append(row, before, change, ratio)
		}
		res.Rows[r] = row
	}
	res.Meta.CompareFrom, res.Meta.CompareTo = earlierQ.from, earlierQ.to
	return nil
}

// rowKey identifies a row by its string, ordinal and time columns (times moved forward first, when forward is set).
func rowKey(columns []Column, row []any, forward func(time.Time) time.Time) string {
	var key strings.Builder
	for i, c := range columns {
		if i >= len(row) {
			break
		}
		switch {
		case c.Type == typeString, c.ordinal:
			fmt.Fprintf(&key, "%v\x00", row[i])
		case c.Type == typeTime:
			s, _ := row[i].(string)
			if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
				if forward != nil {
					t = forward(t)
				}
				s = t.UTC().Format(time.RFC3339Nano)
			}
			key.WriteString(s + "\x00")
		}
	}
	return key.String()
}

func changes(now, before any) (change, ratio any) {
	n, ok1 := now.(float64)
	p, ok2 := before.(float64)
	if !ok1 || !ok2 {
		return nil, nil
	}
	if p == 0 {
		return n - p, nil
	}
	return n - p, (n - p) / p
}
