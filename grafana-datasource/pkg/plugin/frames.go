package plugin

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"
)

// apiResult is the query API's answer: a table.
type apiResult struct {
	Columns []apiColumn     `json:"columns"`
	Rows    [][]any         `json:"rows"`
	Meta    json.RawMessage `json:"meta"`
}

type apiColumn struct {
	Name        string `json:"name"`
	Type        string `json:"type"` // time, string, number
	Unit        string `json:"unit"`
	Description string `json:"description"`
}

// resultMeta is what the frames show of the answer's meta.
type resultMeta struct {
	SuppressedRows int     `json:"suppressed_rows"`
	KAnonymity     int     `json:"k_anonymity"`
	QueryMillis    float64 `json:"query_ms"`
	// An experiment's sample-ratio check (experiment_results).
	SampleRatioPValue   *float64 `json:"sample_ratio_p_value"`
	SampleRatioMismatch bool     `json:"sample_ratio_mismatch"`
}

// grafanaUnits maps the query API's units onto Grafana's unit ids; the counting nouns (users, events, runs, …)
// are plain numbers.
var grafanaUnits = map[string]string{
	"ratio": "percentunit", "ms": "ms", "s": "s", "h": "h", "minutes": "m", "req/s": "reqps", "σ": "none",
	"rank": "none", "quartile": "none", "buckets": "none", "days": "none",
}

func grafanaUnit(unit string) string {
	if u, ok := grafanaUnits[unit]; ok {
		return u
	}
	if strings.HasPrefix(unit, "currency") {
		return unit // currencyEUR: already Grafana's
	}
	if unit == "" {
		return ""
	}
	return "short"
}

// toFrame turns an answer into a data frame: a time series when it has a time column and the format allows
// (wide: one value field per group, the groups as labels, as the time series panel and alerting want), else a
// table.
func toFrame(name string, res apiResult, format, executed string) (*data.Frame, error) {
	timeAt := -1
	for i, c := range res.Columns {
		if c.Type == "time" && timeAt < 0 {
			timeAt = i
		}
	}
	series := timeAt >= 0 && format != FormatTable
	if format == FormatTimeSeries && timeAt < 0 {
		return nil, fmt.Errorf("%s has no time column: choose the table format", name)
	}
	rows := res.Rows
	if series { // a time series is ordered by time
		rows = append([][]any(nil), rows...)
		sort.SliceStable(rows, func(i, j int) bool { return fmt.Sprint(rows[i][timeAt]) < fmt.Sprint(rows[j][timeAt]) })
	}
	frame := data.NewFrame(name)
	dimensions := 0
	for i, c := range res.Columns {
		field, err := column(c, rows, i)
		if err != nil {
			return nil, err
		}
		if c.Type == "string" {
			dimensions++
		}
		frame.Fields = append(frame.Fields, field)
	}
	var meta resultMeta
	_ = json.Unmarshal(res.Meta, &meta) // best effort: the frame does without
	frame.Meta = &data.FrameMeta{ExecutedQueryString: executed, Type: data.FrameTypeTable}
	if meta.SuppressedRows > 0 {
		frame.Meta.Notices = append(frame.Meta.Notices, data.Notice{Severity: data.NoticeSeverityInfo,
			Text: fmt.Sprintf("%d rows withheld: each covered fewer than %d users", meta.SuppressedRows, meta.KAnonymity)})
	}
	if meta.SampleRatioMismatch && meta.SampleRatioPValue != nil {
		frame.Meta.Notices = append(frame.Meta.Notices, data.Notice{Severity: data.NoticeSeverityWarning,
			Text: fmt.Sprintf("Sample ratio mismatch (p = %.2g): the variants' users are not split as their weights say, so "+
				"the assignment or the exposure logging is broken; do not trust these results", *meta.SampleRatioPValue)})
	}
	if !series {
		return frame, nil
	}
	frame.Meta.Type, frame.Meta.TypeVersion = data.FrameTypeTimeSeriesLong, data.FrameTypeVersion{0, 1}
	if dimensions == 0 {
		frame.Meta.Type = data.FrameTypeTimeSeriesWide
		return frame, nil
	}
	if n, _ := frame.RowLen(); n == 0 {
		return frame, nil // nothing to pivot
	}
	wide, err := data.LongToWide(frame, nil)
	if err != nil {
		return nil, fmt.Errorf("%s as a time series: %w", name, err)
	}
	wide.Meta = frame.Meta
	wide.Meta.Type = data.FrameTypeTimeSeriesWide
	for _, f := range wide.Fields { // LongToWide keeps names and labels, not units
		if long, _ := frame.FieldByName(f.Name); long != nil {
			f.Config = long.Config
		}
	}
	return wide, nil
}

// column builds the field of column i: times and numbers nullable (a bucket may have no value).
func column(c apiColumn, rows [][]any, i int) (*data.Field, error) {
	var field *data.Field
	switch c.Type {
	case "time": // never null in the query API's answers: not nullable, as the data plane's time series want
		values := make([]time.Time, len(rows))
		for r, row := range rows {
			s, _ := row[i].(string)
			t, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				return nil, fmt.Errorf("column %s, row %d: %w", c.Name, r, err)
			}
			values[r] = t
		}
		field = data.NewField(c.Name, nil, values)
	case "number":
		values := make([]*float64, len(rows))
		for r, row := range rows {
			if v, ok := row[i].(float64); ok {
				values[r] = &v
			}
		}
		field = data.NewField(c.Name, nil, values)
	default:
		values := make([]*string, len(rows))
		for r, row := range rows {
			if row[i] != nil {
				s := fmt.Sprint(row[i])
				values[r] = &s
			}
		}
		field = data.NewField(c.Name, nil, values)
	}
	field.Config = &data.FieldConfig{Unit: grafanaUnit(c.Unit), Description: c.Description}
	return field, nil
}
