package render

import (
	"bytes"
	"image/png"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func ptr(v float64) *float64 { return &v }

func TestFormat(t *testing.T) {
	for _, tc := range []struct {
		v    float64
		unit string
		want string
	}{
		{0.1234, "percentunit", "12.3%"},
		{1, "percentunit", "100%"},
		{12, "short", "12"},
		{1234.6, "short", "1235"},
		{12345, "short", "12.3k"},
		{2_500_000, "", "2.5M"},
		{0.25, "none", "0.25"},
		{850, "ms", "850 ms"},
		{1500, "ms", "1.5 s"},
		{90, "s", "90 s"},
		{600, "s", "10 min"},
		{45, "m", "45 min"},
		{6000, "m", "100 h"},
		{0.0012, "reqps", "0.0012 req/s"},
		{9.76e-05, "reqps", "0.0000976 req/s"},
		{12.345, "reqps", "12.3 req/s"},
		{296.4, "currencyUSD", "$296"},
		{10, "currencyCHF", "CHF 10"},
	} {
		assert.Equal(t, tc.want, format(tc.v, tc.unit), "%v %s", tc.v, tc.unit)
	}
}

func TestTransformations(t *testing.T) {
	long := data.NewFrame("A",
		data.NewField("time", nil, []time.Time{time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 9, 0, 0, 0, 0, time.UTC)}),
		data.NewField("period", nil, []*float64{ptr(0), ptr(10), ptr(0)}),
		data.NewField("retention", nil, []*float64{ptr(1), ptr(0.4), ptr(1)}))

	t.Run("groupingToMatrix", func(t *testing.T) {
		m := transform([]*data.Frame{long}, []Transformation{{ID: "groupingToMatrix", Options: map[string]any{
			"rowField": "time", "columnField": "period", "valueField": "retention"}}})[0]
		require.Len(t, m.Fields, 3)
		assert.Equal(t, []string{`time\period`, "0", "10"}, []string{m.Fields[0].Name, m.Fields[1].Name, m.Fields[2].Name}, "numeric columns in numeric order")
		assert.Equal(t, "2026-11-09", cellText(m.Fields[0], 1))
		v, ok := number(m.Fields[2], 1)
		assert.False(t, ok, "the second cohort has no period 10: %v", v)
	})

	t.Run("organize and filterFieldsByName", func(t *testing.T) {
		kept := transform([]*data.Frame{long}, []Transformation{{ID: "organize", Options: map[string]any{
			"includeByName": map[string]any{"retention": true, "time": true}, "indexByName": map[string]any{"retention": 0.0, "time": 1.0}}}})[0]
		assert.Equal(t, "retention", kept.Fields[0].Name)
		assert.Equal(t, "time", kept.Fields[1].Name)
		only := transform([]*data.Frame{long}, []Transformation{{ID: "filterFieldsByName", Options: map[string]any{
			"include": map[string]any{"names": []any{"period"}}}}})[0]
		require.Len(t, only.Fields, 1)
		assert.Equal(t, "period", only.Fields[0].Name)
	})

	t.Run("joinByField", func(t *testing.T) {
		usage := data.NewFrame("A", data.NewField("plugin", nil, []*string{strPtr("catalog"), strPtr("search")}),
			data.NewField("users", nil, []*float64{ptr(40), ptr(20)}))
		health := data.NewFrame("B", data.NewField("plugin", nil, []*string{strPtr("search"), strPtr("kubernetes")}),
			data.NewField("p95_ms", nil, []*float64{ptr(350), ptr(900)}))
		series := data.NewFrame("C", data.NewField("time", nil, []time.Time{time.Now()}), data.NewField("users", nil, []float64{1}))
		joined := transform([]*data.Frame{usage, health, series}, []Transformation{{ID: "joinByField", Options: map[string]any{"byField": "plugin"}}})[0]
		require.Len(t, joined.Fields, 3, "plugin, users, p95_ms; the time series is left out")
		assert.Equal(t, 3, joined.Rows(), "outer: every plugin of either side")
		p95, _ := joined.FieldByName("p95_ms")
		_, ok := number(p95, 0)
		assert.False(t, ok, "catalog has no latency")
		v, _ := number(p95, 1)
		assert.Equal(t, 350.0, v)
	})
}

func strPtr(s string) *string { return &s }

// A board of every panel type draws into a PNG of the grid's size.
func TestPNG(t *testing.T) {
	series := data.NewFrame("A", data.NewField("time", nil, []time.Time{time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)}),
		data.NewField("active_users", nil, []*float64{ptr(10), ptr(12)}))
	series.Meta = &data.FrameMeta{Type: data.FrameTypeTimeSeriesWide}
	table := data.NewFrame("A", data.NewField("plugin", nil, []*string{strPtr("catalog"), strPtr("search")}),
		data.NewField("users", nil, []*float64{ptr(40), ptr(20)}))
	table.Meta = &data.FrameMeta{Type: data.FrameTypeTable}
	reduce := map[string]any{"reduceOptions": map[string]any{"fields": "/^(active_users|users)$/", "calcs": []any{"lastNotNull"}}}
	var b Board
	b.Title = "test"
	for i, kind := range []string{"row", "stat", "timeseries", "bargauge", "barchart", "table"} {
		p := Panel{Type: kind, Title: kind, Options: reduce, Frames: []*data.Frame{series}}
		p.GridPos.Y, p.GridPos.W, p.GridPos.H = i*5, 24, 5
		if kind == "bargauge" || kind == "barchart" || kind == "table" {
			p.Frames = []*data.Frame{table}
			p.Options = map[string]any{"reduceOptions": reduce["reduceOptions"], "xField": "plugin"}
		}
		b.Panels = append(b.Panels, p)
	}
	var out bytes.Buffer
	require.NoError(t, PNG(b, &out))
	img, err := png.Decode(&out)
	require.NoError(t, err)
	assert.Equal(t, width, img.Bounds().Dx())
	assert.Equal(t, 30*gridUnit+2*margin+40, img.Bounds().Dy())
	assert.NotEqual(t, img.At(5, 5), img.At(width/4, 40+5*gridUnit+40), "the stat panel's fill differs from the background")
}
