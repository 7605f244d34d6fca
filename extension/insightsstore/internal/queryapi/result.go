package queryapi

import (
	"context"
	"database/sql"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"math/big"
	"strconv"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/insights-collector/insights-collector/internal/analyticsdb"
)

// Result is a metric's answer: a table that maps one-to-one onto a Grafana data frame.
type Result struct {
	Columns []Column `json:"columns"`
	Rows    [][]any  `json:"rows"`
	Meta    Meta     `json:"meta"`
}

// Meta says how the result was made.
type Meta struct {
	Metric   string    `json:"metric"`
	From     time.Time `json:"from,omitzero"`
	To       time.Time `json:"to,omitzero"`
	Interval string    `json:"interval,omitempty"`
	Timezone string    `json:"timezone"`
	// SuppressedRows counts the breakdown rows withheld because they cover fewer than KAnonymity users.
	SuppressedRows int `json:"suppressed_rows"`
	KAnonymity     int `json:"k_anonymity"`
	// QueryMillis is how long the database took.
	QueryMillis float64 `json:"query_ms"`
	// FromRollups: the answer read the daily rollups (for days of the store's rollup time zone) rather than only
	// the events.
	FromRollups bool `json:"from_rollups"`
	// SampleRatioPValue is experiment_results' chi-square test of the exposed users against the variants'
	// weights; SampleRatioMismatch flags p < 0.001: the assignment or the data is broken, do not trust the lifts.
	SampleRatioPValue   *float64 `json:"sample_ratio_p_value,omitempty"`
	SampleRatioMismatch bool     `json:"sample_ratio_mismatch,omitempty"`
	// CompareFrom and CompareTo are the earlier period a comparison (Request.Compare) was made with.
	CompareFrom time.Time `json:"compare_from,omitzero"`
	CompareTo   time.Time `json:"compare_to,omitzero"`
	// Models are the models forecast and anomalies fitted, a series each.
	Models []ModelInfo `json:"models,omitempty"`
}

// queryer is the connection pool, or a transaction: what reads the store (analyticsdb.Queryer), one row too.
type queryer interface {
	analyticsdb.Queryer
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// run executes a validated query.
func run(ctx context.Context, db *sql.DB, q *query, k int) (*Result, error) {
	if q.metric.derive != nil {
		return q.metric.derive(ctx, db, q, k)
	}
	leave, err := q.gate.enter(ctx) // derived metrics pass through: their statements wait
	if err != nil {
		return nil, err
	}
	defer leave()
	start := time.Now()
	var source queryer = db
	if q.metric.prepare != nil {
		// What prepare reads and the statement in one transaction: they see the same data.
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return nil, fmt.Errorf("query %s: %w", q.Metric, err)
		}
		defer func() { _ = tx.Rollback() }() // it only read
		if err := q.metric.prepare(ctx, tx, q); err != nil {
			return nil, err
		}
		source = tx
	}
	var b sqlb
	columns := q.metric.build(q, &b)
	rows, err := source.QueryContext(ctx, b.String(), b.args...)
	if err != nil {
		return nil, fmt.Errorf("query %s: %w", q.Metric, err)
	}
	defer rows.Close()
	res := &Result{Columns: columns, Rows: [][]any{}, Meta: Meta{Metric: q.Metric, Interval: q.Interval, Timezone: q.Timezone, KAnonymity: k,
		FromRollups: b.fromRollups}}
	if !q.metric.NoTimeRange {
		res.Meta.From, res.Meta.To = q.from, q.to
	}
	usersAt := floorColumn(q.metric, columns)
	values := make([]any, len(columns))
	ptrs := make([]any, len(columns))
	for i := range values {
		ptrs[i] = &values[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return nil, fmt.Errorf("read %s: %w", q.Metric, err)
		}
		row := make([]any, len(columns))
		for i, c := range columns {
			row[i] = convert(c.Type, values[i])
		}
		if usersAt >= 0 && belowFloor(row[usersAt], k) {
			res.Meta.SuppressedRows++
			continue
		}
		res.Rows = append(res.Rows, row)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", q.Metric, err)
	}
	res.Meta.QueryMillis = float64(time.Since(start).Microseconds()) / 1000
	if q.metric.post != nil {
		q.metric.post(q, res)
	}
	return res, nil
}

// floorColumn returns the index of the users column that the k-anonymity floor applies to, or -1: the floor
// applies to breakdowns (a result with a dimension column), not to totals over time.
func floorColumn(m *Metric, columns []Column) int {
	if m.UsersColumn == "" {
		return -1
	}
	breakdown, at := m.CohortRows, -1
	for i, c := range columns {
		if c.Type == typeString {
			breakdown = true
		}
		if c.Name == m.UsersColumn {
			at = i
		}
	}
	if !breakdown {
		return -1
	}
	return at
}

func belowFloor(users any, k int) bool {
	n, ok := users.(float64)
	return ok && n < float64(k)
}

// convert turns a database value into its JSON form: times as RFC 3339 strings, numbers as float64 (NaN and
// infinities as null), strings as strings.
func convert(typ string, v any) any {
	switch x := v.(type) {
	case nil:
		return nil
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil
		}
		return x
	case float32:
		return convert(typ, float64(x))
	case int64:
		return float64(x)
	case int32:
		return float64(x)
	case uint64:
		return float64(x)
	case *big.Int: // HUGEINT: DuckDB's sum of BIGINTs
		f, _ := new(big.Float).SetInt(x).Float64()
		return f
	case string:
		if typ == typeNumber {
			f, err := strconv.ParseFloat(x, 64)
			if err != nil {
				return nil
			}
			return f
		}
		return x
	case []byte:
		return string(x)
	default:
		return fmt.Sprint(x)
	}
}

// writeCSV writes the result as CSV with a header row.
func (r *Result) writeCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	header := make([]string, len(r.Columns))
	for i, c := range r.Columns {
		header[i] = c.Name
	}
	if err := cw.Write(header); err != nil {
		return err
	}
	record := make([]string, len(r.Columns))
	for _, row := range r.Rows {
		for i, v := range row {
			record[i] = cell(v)
		}
		if err := cw.Write(record); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

func cell(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	default:
		return fmt.Sprint(x)
	}
}

// writeXLSX writes the result as an Excel workbook: one sheet named after the metric, typed cells.
func (r *Result) writeXLSX(w io.Writer) error {
	f := excelize.NewFile()
	defer f.Close()
	sheet := r.Meta.Metric
	if len(sheet) > 31 {
		sheet = sheet[:31]
	}
	if err := f.SetSheetName("Sheet1", sheet); err != nil {
		return err
	}
	for i, c := range r.Columns {
		if err := setCell(f, sheet, i, 0, c.Name); err != nil {
			return err
		}
	}
	for y, row := range r.Rows {
		for x, v := range row {
			if r.Columns[x].Type == typeTime && v != nil {
				t, err := time.Parse(time.RFC3339Nano, v.(string))
				if err == nil {
					v = t
				}
			}
			if err := setCell(f, sheet, x, y+1, v); err != nil {
				return err
			}
		}
	}
	return f.Write(w)
}

func setCell(f *excelize.File, sheet string, x, y int, v any) error {
	name, err := excelize.CoordinatesToCellName(x+1, y+1)
	if err != nil {
		return err
	}
	return f.SetCellValue(sheet, name, v)
}
