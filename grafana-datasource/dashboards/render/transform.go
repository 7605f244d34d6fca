package render

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"
)

// transform applies the panel's transformations that change what is drawn, in order. timeSeriesTable (a
// sparkline column) is left out: the picture shows the table without it.
func transform(frames []*data.Frame, transformations []Transformation) []*data.Frame {
	for _, t := range transformations {
		switch t.ID {
		case "filterFieldsByName":
			include, _ := t.Options["include"].(map[string]any)
			frames = keepFields(frames, stringList(include["names"]), nil)
		case "organize":
			order := map[string]int{}
			for name, at := range t.Options["indexByName"].(map[string]any) {
				order[name] = int(at.(float64))
			}
			frames = keepFields(frames, mapKeys(t.Options["includeByName"]), order)
		case "joinByField":
			field, _ := t.Options["byField"].(string)
			frames = []*data.Frame{joinBy(frames, field)}
		case "groupingToMatrix":
			row, _ := t.Options["rowField"].(string)
			column, _ := t.Options["columnField"].(string)
			value, _ := t.Options["valueField"].(string)
			frames = []*data.Frame{matrix(frames[0], row, column, value)}
		}
	}
	return frames
}

func stringList(v any) []string {
	var out []string
	for _, s := range v.([]any) {
		out = append(out, s.(string))
	}
	return out
}

func mapKeys(v any) []string {
	var out []string
	for k := range v.(map[string]any) {
		out = append(out, k)
	}
	return out
}

// keepFields keeps the fields of the given names, in the given order when there is one.
func keepFields(frames []*data.Frame, names []string, order map[string]int) []*data.Frame {
	var out []*data.Frame
	for _, f := range frames {
		kept := data.NewFrame(f.Name)
		kept.Meta = f.Meta
		for _, field := range f.Fields {
			if slices.Contains(names, field.Name) {
				kept.Fields = append(kept.Fields, field)
			}
		}
		if order != nil {
			sort.SliceStable(kept.Fields, func(i, j int) bool { return order[kept.Fields[i].Name] < order[kept.Fields[j].Name] })
		}
		out = append(out, kept)
	}
	return out
}

// joinBy joins the tables that have the field into one, outer: a row per value of the field. Frames without
// it (a time series beside a table) are left out.
func joinBy(frames []*data.Frame, key string) *data.Frame {
	out := data.NewFrame("joined")
	var keys []string
	rowOf := map[string]int{}
	type column struct {
		field  *data.Field
		values map[string]*float64
		text   map[string]string
	}
	var columns []column
	for _, f := range frames {
		k, _ := f.FieldByName(key)
		if k == nil {
			continue
		}
		for i := 0; i < k.Len(); i++ {
			if id := cellText(k, i); rowOf[id] == 0 {
				keys = append(keys, id)
				rowOf[id] = len(keys)
			}
		}
		for _, field := range f.Fields {
			if field.Name == key || slices.ContainsFunc(columns, func(c column) bool { return c.field.Name == field.Name }) {
				continue
			}
			c := column{field: field, values: map[string]*float64{}, text: map[string]string{}}
			for i := 0; i < field.Len(); i++ {
				if v, ok := number(field, i); ok {
					c.values[cellText(k, i)] = &v
				} else {
					c.text[cellText(k, i)] = cellText(field, i)
				}
			}
			columns = append(columns, c)
		}
	}
	out.Fields = append(out.Fields, data.NewField(key, nil, keys))
	for _, c := range columns {
		if isNumber(c.field) {
			values := make([]*float64, len(keys))
			for i, k := range keys {
				values[i] = c.values[k]
			}
			out.Fields = append(out.Fields, data.NewField(c.field.Name, nil, values).SetConfig(c.field.Config))
			continue
		}
		values := make([]string, len(keys))
		for i, k := range keys {
			values[i] = c.text[k]
		}
		out.Fields = append(out.Fields, data.NewField(c.field.Name, nil, values))
	}
	return out
}

// matrix pivots a long table: a row per value of the row field, a column per value of the column field.
func matrix(f *data.Frame, rowName, columnName, valueName string) *data.Frame {
	rowField, _ := f.FieldByName(rowName)
	columnField, _ := f.FieldByName(columnName)
	valueField, _ := f.FieldByName(valueName)
	out := data.NewFrame("matrix")
	if rowField == nil || columnField == nil || valueField == nil {
		return out
	}
	var rows, columns []string
	cells := map[[2]string]*float64{}
	for i := 0; i < f.Rows(); i++ {
		r, c := cellText(rowField, i), cellText(columnField, i)
		if !slices.Contains(rows, r) {
			rows = append(rows, r)
		}
		if !slices.Contains(columns, c) {
			columns = append(columns, c)
		}
		if v, ok := number(valueField, i); ok {
			cells[[2]string{r, c}] = &v
		}
	}
	sort.SliceStable(columns, func(i, j int) bool { return lessNatural(columns[i], columns[j]) })
	out.Fields = append(out.Fields, data.NewField(rowName+`\`+columnName, nil, rows))
	for _, c := range columns {
		values := make([]*float64, len(rows))
		for i, r := range rows {
			values[i] = cells[[2]string{r, c}]
		}
		out.Fields = append(out.Fields, data.NewField(c, nil, values).SetConfig(valueField.Config))
	}
	return out
}

func lessNatural(a, b string) bool {
	x, errA := strconv.ParseFloat(a, 64)
	y, errB := strconv.ParseFloat(b, 64)
	if errA == nil && errB == nil {
		return x < y
	}
	return a < b
}

func isNumber(f *data.Field) bool {
	switch f.Type() {
	case data.FieldTypeFloat64, data.FieldTypeNullableFloat64:
		return true
	}
	return false
}

// number is a field's value as a number, when it is one and not null.
func number(f *data.Field, i int) (float64, bool) {
	switch v := f.At(i).(type) {
	case float64:
		return v, true
	case *float64:
		if v != nil {
			return *v, true
		}
	}
	return 0, false
}

// cellText is a field's value as a table shows it (times as dates).
func cellText(f *data.Field, i int) string {
	switch v := f.At(i).(type) {
	case string:
		return v
	case *string:
		if v != nil {
			return *v
		}
		return ""
	case time.Time:
		return v.UTC().Format("2006-01-02")
	case *time.Time:
		if v != nil {
			return v.UTC().Format("2006-01-02")
		}
		return ""
	}
	if v, ok := number(f, i); ok {
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	if v, ok := f.At(i).(*float64); ok && v == nil {
		return ""
	}
	return fmt.Sprint(f.At(i))
}
