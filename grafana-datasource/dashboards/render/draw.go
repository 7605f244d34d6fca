package render

import (
	"fmt"
	"image/color"
	"image/png"
	"io"
	"math"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// The picture's geometry: Grafana's grid of 24 columns, a grid unit 30 pixels high (1 pt = 1 px).
const (
	width     = 1560
	gridUnit  = 30
	margin    = 8
	titleSize = 13
)

// Grafana's dark theme and its classic palette.
var (
	background = rgb(0x111217)
	panelFill  = rgb(0x181b1f)
	panelEdge  = rgb(0x2c3235)
	textColor  = rgb(0xccccdc)
	dimText    = rgb(0x8e8e8e)
	palette    = []color.Color{rgb(0x73bf69), rgb(0xf2cc0c), rgb(0x8ab8ff), rgb(0xff780a), rgb(0xf2495c),
		rgb(0x5794f2), rgb(0xb877d9), rgb(0x705da0), rgb(0x37872d), rgb(0xfade2a)}
)

func rgb(v uint32) color.Color { return color.RGBA{uint8(v >> 16), uint8(v >> 8), uint8(v), 0xff} }

// PNG draws the dashboard's panels (with their Frames set) into a PNG.
func PNG(b Board, w io.Writer) error {
	rows := 0
	for _, p := range b.Panels {
		rows = max(rows, p.GridPos.Y+p.GridPos.H)
	}
	height := vg.Length(rows*gridUnit + 2*margin + 40)
	img := vgimg.NewWith(vgimg.UseWH(width, height), vgimg.UseDPI(72), vgimg.UseBackgroundColor(background))
	c := draw.New(img)
	c.FillText(textStyle(18, textColor, draw.XLeft, draw.YTop), vg.Point{X: margin, Y: height - margin}, b.Title)
	top := height - 40
	column := vg.Length(width-2*margin) / 24
	for _, p := range b.Panels {
		min := vg.Point{X: margin + vg.Length(p.GridPos.X)*column, Y: top - vg.Length((p.GridPos.Y+p.GridPos.H)*gridUnit)}
		max := vg.Point{X: min.X + vg.Length(p.GridPos.W)*column - 4, Y: top - vg.Length(p.GridPos.Y*gridUnit) - 4}
		cell := draw.Canvas{Canvas: img, Rectangle: vg.Rectangle{Min: min, Max: max}}
		drawPanel(cell, p)
	}
	if err := png.Encode(w, img.Image()); err != nil {
		return fmt.Errorf("encode %s: %w", b.Title, err)
	}
	return nil
}

func textStyle(size vg.Length, c color.Color, x text.XAlignment, y text.YAlignment) draw.TextStyle {
	return draw.TextStyle{Color: c, Font: font.From(plot.DefaultFont, size), XAlign: x, YAlign: y, Handler: plot.DefaultTextHandler}
}

func drawPanel(c draw.Canvas, p Panel) {
	r := c.Rectangle
	if p.Type == "row" {
		c.FillText(textStyle(15, textColor, draw.XLeft, draw.YCenter), vg.Point{X: r.Min.X, Y: (r.Min.Y + r.Max.Y) / 2}, p.Title)
		return
	}
	c.FillPolygon(panelFill, corners(r))
	c.StrokeLines(draw.LineStyle{Color: panelEdge, Width: 1}, append(corners(r), r.Min))
	c.FillText(textStyle(titleSize, textColor, draw.XLeft, draw.YTop), vg.Point{X: r.Min.X + 8, Y: r.Max.Y - 6}, p.Title)
	body := draw.Canvas{Canvas: c.Canvas, Rectangle: vg.Rectangle{Min: vg.Point{X: r.Min.X + 8, Y: r.Min.Y + 6}, Max: vg.Point{X: r.Max.X - 8, Y: r.Max.Y - 26}}}
	frames := transform(p.Frames, p.Transformations)
	switch p.Type {
	case "stat":
		drawStat(body, p, frames)
	case "timeseries":
		drawSeries(body, p, frames)
	case "bargauge":
		drawBarGauge(body, p, frames)
	case "barchart":
		drawBarChart(body, p, frames)
	case "table":
		drawTable(body, p, frames)
	}
}

func corners(r vg.Rectangle) []vg.Point {
	return []vg.Point{r.Min, {X: r.Max.X, Y: r.Min.Y}, r.Max, {X: r.Min.X, Y: r.Max.Y}}
}

// unitOf is a field's unit: the data source's, else the panel's.
func unitOf(f *data.Field, p Panel) string {
	if f.Config != nil && f.Config.Unit != "" {
		return f.Config.Unit
	}
	return p.FieldConfig.Defaults.Unit
}

// reduceFields are the number fields a stat or bar gauge reduces (its reduceOptions.fields).
func reduceFields(p Panel, frames []*data.Frame) []*data.Field {
	pattern, _ := p.Options["reduceOptions"].(map[string]any)["fields"].(string)
	re, err := regexp.Compile(strings.Trim(pattern, "/"))
	if err != nil {
		return nil
	}
	var out []*data.Field
	for _, f := range frames {
		for _, field := range f.Fields {
			if isNumber(field) && re.MatchString(field.Name) {
				out = append(out, field)
			}
		}
	}
	return out
}

// reduce is a stat's calc over a field: lastNotNull, mean, sum or count.
func reduce(f *data.Field, calc string) (float64, bool) {
	var values []float64
	for i := 0; i < f.Len(); i++ {
		if v, ok := number(f, i); ok {
			values = append(values, v)
		}
	}
	if len(values) == 0 {
		return 0, false
	}
	sum := 0.0
	for _, v := range values {
		sum += v
	}
	switch calc {
	case "mean":
		return sum / float64(len(values)), true
	case "sum":
		return sum, true
	case "count":
		return float64(len(values)), true
	}
	return values[len(values)-1], true
}

func drawStat(c draw.Canvas, p Panel, frames []*data.Frame) {
	fields := reduceFields(p, frames)
	calc := "lastNotNull"
	if calcs, ok := p.Options["reduceOptions"].(map[string]any)["calcs"].([]any); ok && len(calcs) > 0 {
		calc = calcs[0].(string)
	}
	value := p.FieldConfig.Defaults.NoValue
	if value == "" {
		value = "No data"
	}
	if len(fields) > 0 {
		if v, ok := reduce(fields[0], calc); ok {
			value = format(v, unitOf(fields[0], p))
		}
		if times := timeField(frames); times != nil && fields[0].Len() > 1 { // the sparkline of a time series
			spark := c
			spark.Max.Y = c.Min.Y + (c.Max.Y-c.Min.Y)*0.45
			drawLine(spark, times, fields[0], withAlpha(palette[0], 0x80))
		}
	}
	center := vg.Point{X: (c.Min.X + c.Max.X) / 2, Y: c.Min.Y + (c.Max.Y-c.Min.Y)*0.6}
	size := vg.Length(34)
	if len(value) > 12 {
		size = 18
	}
	c.FillText(textStyle(size, palette[0], draw.XCenter, draw.YCenter), center, value)
}

func withAlpha(c color.Color, a uint8) color.Color {
	r, g, b, _ := c.RGBA()
	return color.NRGBA{uint8(r >> 8), uint8(g >> 8), uint8(b >> 8), a}
}

func timeField(frames []*data.Frame) *data.Field {
	for _, f := range frames {
		for _, field := range f.Fields {
			if field.Type() == data.FieldTypeTime || field.Type() == data.FieldTypeNullableTime {
				return field
			}
		}
	}
	return nil
}

// drawLine draws a field over time, scaled to the canvas, without axes (a sparkline).
func drawLine(c draw.Canvas, times, values *data.Field, col color.Color) {
	lo, hi := math.Inf(1), math.Inf(-1)
	for i := 0; i < values.Len(); i++ {
		if v, ok := number(values, i); ok {
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
	}
	if hi <= lo {
		hi = lo + 1
	}
	var pts []vg.Point
	n := values.Len()
	for i := 0; i < n; i++ {
		if v, ok := number(values, i); ok {
			x := c.Min.X + (c.Max.X-c.Min.X)*vg.Length(float64(i)/float64(max(n-1, 1)))
			y := c.Min.Y + (c.Max.Y-c.Min.Y)*vg.Length((v-lo)/(hi-lo))
			pts = append(pts, vg.Point{X: x, Y: y})
		}
	}
	if len(pts) > 1 {
		c.StrokeLines(draw.LineStyle{Color: col, Width: 1.5}, pts)
	}
}

// seriesName is a field's name in a legend: its labels' values, else its name.
func seriesName(f *data.Field) string {
	if len(f.Labels) == 0 {
		return f.Name
	}
	var values []string
	for _, k := range sortedKeys(f.Labels) {
		values = append(values, f.Labels[k])
	}
	name := strings.Join(values, " ")
	if len(name) > 40 {
		name = name[:37] + "…"
	}
	return name
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// darkPlot is a gonum plot in Grafana's dark colours.
func darkPlot() *plot.Plot {
	p := plot.New()
	p.BackgroundColor = panelFill
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Color, a.Tick.Color, a.Tick.Label.Color = panelEdge, panelEdge, dimText
		a.Tick.Label.Font.Size = 10
	}
	return p
}

func drawSeries(c draw.Canvas, p Panel, frames []*data.Frame) {
	pl := darkPlot()
	pl.X.Tick.Marker = plot.TimeTicks{Format: "Jan 2"}
	if spansHours(frames) {
		pl.X.Tick.Marker = plot.TimeTicks{Format: "Jan 2 15:04"}
	}
	unit := p.FieldConfig.Defaults.Unit
	pl.Y.Tick.Marker = unitTicks{unit}
	stacked := p.FieldConfig.Defaults.Custom["drawStyle"] == "bars"
	n := 0
	var bars []*barSeries
	var legend []legendEntry
	for _, f := range frames {
		times := timeField([]*data.Frame{f})
		if times == nil {
			continue
		}
		for _, field := range f.Fields {
			if !isNumber(field) {
				continue
			}
			col := palette[n%len(palette)]
			n++
			xys := plotter.XYs{}
			for i := 0; i < field.Len(); i++ {
				if v, ok := number(field, i); ok {
					xys = append(xys, plotter.XY{X: float64(timeAt(times, i).Unix()), Y: v})
				}
			}
			legend = append(legend, legendEntry{seriesName(field), col})
			if stacked {
				bars = append(bars, &barSeries{xys: xys, color: col})
				continue
			}
			line, err := plotter.NewLine(xys)
			if err != nil {
				continue
			}
			line.Color, line.Width = col, 1.5
			pl.Add(line)
			if len(xys) == 1 { // a stream's first point: a line of one point draws nothing
				if points, err := plotter.NewScatter(xys); err == nil {
					points.Color, points.Shape, points.Radius = col, draw.CircleGlyph{}, 4
					pl.Add(points)
				}
			}
		}
	}
	if len(bars) > 0 {
		pl.Add(stackBars(bars))
	}
	if n == 0 {
		c.FillText(textStyle(14, dimText, draw.XCenter, draw.YCenter), c.Center(), "No data")
		return
	}
	chart := c
	chart.Min.Y += legendHeight
	pl.Draw(chart)
	drawLegend(c, legend)
}

// legendEntry is a series in a legend: Grafana's list legend below the chart.
type legendEntry struct {
	name  string
	color color.Color
}

const legendHeight = 16

// drawLegend writes the entries in a row along the canvas's bottom, as many as fit.
func drawLegend(c draw.Canvas, entries []legendEntry) {
	style := textStyle(10, textColor, draw.XLeft, draw.YCenter)
	x, y := c.Min.X+4, c.Min.Y+legendHeight/2
	for _, e := range entries {
		w := style.Width(e.name) + 24
		if x+w > c.Max.X {
			c.FillText(style, vg.Point{X: x, Y: y}, "…")
			return
		}
		c.FillPolygon(e.color, corners(vg.Rectangle{Min: vg.Point{X: x, Y: y - 1.5}, Max: vg.Point{X: x + 12, Y: y + 1.5}}))
		c.FillText(style, vg.Point{X: x + 16, Y: y}, e.name)
		x += w
	}
}

func timeAt(f *data.Field, i int) time.Time {
	switch v := f.At(i).(type) {
	case time.Time:
		return v
	case *time.Time:
		if v != nil {
			return *v
		}
	}
	return time.Time{}
}

func spansHours(frames []*data.Frame) bool {
	t := timeField(frames)
	return t != nil && t.Len() > 1 && timeAt(t, t.Len()-1).Sub(timeAt(t, 0)) < 72*time.Hour
}

// unitTicks labels an axis in a Grafana unit.
type unitTicks struct{ unit string }

func (u unitTicks) Ticks(min, max float64) []plot.Tick {
	ticks := plot.DefaultTicks{}.Ticks(min, max)
	for i := range ticks {
		if ticks[i].Label != "" {
			ticks[i].Label = format(ticks[i].Value, u.unit)
		}
	}
	return ticks
}

// barSeries is one series of stacked bars over time.
type barSeries struct {
	xys   plotter.XYs
	color color.Color
}

// stackedBars draws series as bars stacked per time bucket (Grafana's bars draw style with normal stacking).
type stackedBars struct {
	series []*barSeries
	width  float64 // in seconds
}

func stackBars(series []*barSeries) *stackedBars {
	s := &stackedBars{series: series, width: 86400}
	for _, b := range series {
		for i := 1; i < len(b.xys); i++ {
			if d := b.xys[i].X - b.xys[i-1].X; d > 0 && d < s.width {
				s.width = d
			}
		}
	}
	s.width *= 0.8
	return s
}

func (s *stackedBars) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	base := map[float64]float64{}
	for _, b := range s.series {
		for _, xy := range b.xys {
			lo := base[xy.X]
			hi := lo + xy.Y
			base[xy.X] = hi
			rect := []vg.Point{{X: trX(xy.X - s.width/2), Y: trY(lo)}, {X: trX(xy.X + s.width/2), Y: trY(lo)},
				{X: trX(xy.X + s.width/2), Y: trY(hi)}, {X: trX(xy.X - s.width/2), Y: trY(hi)}}
			c.FillPolygon(b.color, c.ClipPolygonXY(rect))
		}
	}
}

func (s *stackedBars) DataRange() (xmin, xmax, ymin, ymax float64) {
	xmin, xmax = math.Inf(1), math.Inf(-1)
	totals := map[float64]float64{}
	for _, b := range s.series {
		for _, xy := range b.xys {
			xmin, xmax = math.Min(xmin, xy.X-s.width), math.Max(xmax, xy.X+s.width)
			totals[xy.X] += xy.Y
		}
	}
	for _, t := range totals {
		ymax = math.Max(ymax, t)
	}
	return xmin, xmax, 0, ymax
}

// drawBarGauge draws a horizontal bar per row: its name and value.
func drawBarGauge(c draw.Canvas, p Panel, frames []*data.Frame) {
	fields := reduceFields(p, frames)
	if len(fields) == 0 {
		return
	}
	field := fields[0]
	var names *data.Field
	for _, f := range frames {
		for _, candidate := range f.Fields {
			if !isNumber(candidate) && candidate.Type() != data.FieldTypeTime && candidate.Len() == field.Len() {
				names = candidate
				break
			}
		}
	}
	rows := min(field.Len(), int((c.Max.Y-c.Min.Y)/20))
	if rows == 0 {
		return
	}
	hi := 0.0
	for i := 0; i < field.Len(); i++ {
		if v, ok := number(field, i); ok {
			hi = math.Max(hi, v)
		}
	}
	if p.FieldConfig.Defaults.Max != nil {
		hi = *p.FieldConfig.Defaults.Max
	}
	rowHeight := (c.Max.Y - c.Min.Y) / vg.Length(rows)
	labelWidth := (c.Max.X - c.Min.X) * 0.3
	for i := 0; i < rows; i++ {
		y := c.Max.Y - vg.Length(i)*rowHeight - rowHeight/2
		label := seriesName(field)
		if names != nil {
			label = cellText(names, i)
		}
		c.FillText(textStyle(11, textColor, draw.XLeft, draw.YCenter), vg.Point{X: c.Min.X, Y: y}, clip(label, 34))
		v, _ := number(field, i)
		barMax := c.Max.X - 70
		x0 := c.Min.X + labelWidth
		x1 := x0 + (barMax-x0)*vg.Length(v/math.Max(hi, 1e-12))
		bar := vg.Rectangle{Min: vg.Point{X: x0, Y: y - rowHeight*0.3}, Max: vg.Point{X: x1, Y: y + rowHeight*0.3}}
		c.FillPolygon(panelEdge, corners(vg.Rectangle{Min: bar.Min, Max: vg.Point{X: barMax, Y: bar.Max.Y}})) // the unfilled rest
		c.FillPolygon(palette[0], corners(bar))
		c.FillText(textStyle(11, palette[0], draw.XRight, draw.YCenter), vg.Point{X: c.Max.X, Y: y}, format(v, unitOf(field, p)))
	}
}

func clip(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// drawBarChart draws a bar per row of a table, at its x field's value.
func drawBarChart(c draw.Canvas, p Panel, frames []*data.Frame) {
	xName, _ := p.Options["xField"].(string)
	if len(frames) == 0 {
		return
	}
	f := frames[0]
	x, _ := f.FieldByName(xName)
	if x == nil {
		return
	}
	pl := darkPlot()
	pl.Y.Tick.Marker = unitTicks{p.FieldConfig.Defaults.Unit}
	var labels []string
	for i := 0; i < x.Len(); i++ {
		labels = append(labels, cellText(x, i))
	}
	n := 0
	for _, field := range f.Fields {
		if field == x || !isNumber(field) {
			continue
		}
		values := plotter.Values{}
		for i := 0; i < field.Len(); i++ {
			v, _ := number(field, i)
			values = append(values, v)
		}
		bars, err := plotter.NewBarChart(values, vg.Length(500/max(len(values), 1)))
		if err != nil {
			continue
		}
		bars.Color, bars.LineStyle.Width = palette[n%len(palette)], 0
		pl.Add(bars)
		n++
	}
	pl.NominalX(labels...)
	pl.Draw(c)
}

// drawTable draws the rows that fit: a header, numbers right-aligned in their units, gauge cells as bars and
// colour-background cells shaded by value.
func drawTable(c draw.Canvas, p Panel, frames []*data.Frame) {
	if len(frames) == 0 {
		return
	}
	f := frames[0]
	for _, candidate := range frames { // a table shows its first table, not a time series beside it
		if candidate.Meta == nil || candidate.Meta.Type == data.FrameTypeTable {
			f = candidate
			break
		}
	}
	if len(f.Fields) == 0 {
		return
	}
	order := sortRows(f, p)
	byName, byNumber := p.cellTypes()
	columns := min(len(f.Fields), 10)
	colWidth := (c.Max.X - c.Min.X) / vg.Length(columns)
	const rowHeight = 18
	header := textStyle(11, dimText, draw.XLeft, draw.YCenter)
	for j := 0; j < columns; j++ {
		c.FillText(header, vg.Point{X: c.Min.X + vg.Length(j)*colWidth + 2, Y: c.Max.Y - rowHeight/2}, clip(f.Fields[j].Name, int(colWidth/6.5)))
	}
	lo, hi := numberRange(f)
	rows := min(len(order), int((c.Max.Y-c.Min.Y)/rowHeight)-1)
	for r := 0; r < rows; r++ {
		i := order[r]
		y := c.Max.Y - vg.Length(r+1)*rowHeight - rowHeight/2
		for j := 0; j < columns; j++ {
			field := f.Fields[j]
			x0 := c.Min.X + vg.Length(j)*colWidth
			v, isNum := number(field, i)
			if !isNum {
				c.FillText(textStyle(11, textColor, draw.XLeft, draw.YCenter), vg.Point{X: x0 + 2, Y: y}, clip(cellText(field, i), int(colWidth/6.5)))
				continue
			}
			kind := byName[field.Name]
			if kind == "" {
				kind = byNumber
			}
			cell := vg.Rectangle{Min: vg.Point{X: x0 + 1, Y: y - rowHeight/2 + 1}, Max: vg.Point{X: x0 + colWidth - 1, Y: y + rowHeight/2 - 1}}
			switch kind {
			case "color-background":
				c.FillPolygon(heat((v-lo)/math.Max(hi-lo, 1e-12)), corners(cell))
			case "gauge":
				bar := cell
				bar.Max.X = bar.Min.X + (cell.Max.X-cell.Min.X)*vg.Length(math.Max(0, math.Min(1, v)))
				c.FillPolygon(withAlpha(palette[0], 0x60), corners(bar))
			}
			c.FillText(textStyle(11, textColor, draw.XRight, draw.YCenter), vg.Point{X: x0 + colWidth - 4, Y: y}, format(v, unitOf(field, p)))
		}
	}
}

// sortRows orders a table's rows by its sortBy option.
func sortRows(f *data.Frame, p Panel) []int {
	order := make([]int, f.Rows())
	for i := range order {
		order[i] = i
	}
	sortBy, _ := p.Options["sortBy"].([]any)
	if len(sortBy) == 0 {
		return order
	}
	s := sortBy[0].(map[string]any)
	field, _ := f.FieldByName(s["displayName"].(string))
	if field == nil {
		return order
	}
	desc, _ := s["desc"].(bool)
	sort.SliceStable(order, func(a, b int) bool {
		x, okX := number(field, order[a])
		y, okY := number(field, order[b])
		if okX != okY {
			return okX // nulls last
		}
		if desc {
			return x > y
		}
		return x < y
	})
	return order
}

// numberRange is the smallest and largest number of a table, for its colour scale.
func numberRange(f *data.Frame) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1) // a heat matrix shares one scale
	for _, field := range f.Fields {
		for i := 0; i < field.Len(); i++ {
			if v, ok := number(field, i); ok {
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			}
		}
	}
	return lo, hi
}

// heat is Grafana's continuous yellow-to-blue scheme at t in [0, 1].
func heat(t float64) color.Color {
	t = math.Max(0, math.Min(1, t))
	from, to := [3]float64{0x1f, 0x3a, 0x6e}, [3]float64{0xf2, 0xcc, 0x0c}
	var c [3]uint8
	for i := range c {
		c[i] = uint8(from[i] + (to[i]-from[i])*t)
	}
	return color.RGBA{c[0], c[1], c[2], 0xff}
}
