package queryapi

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"
	"gonum.org/v1/gonum/stat/distuv"

	"github.com/insights-collector/insights-collector/internal/forecast"
)

// Series names the time series that forecast and anomalies work on: a number column of another metric, run
// with the request's range, interval, time zone, filters and group-by (each group its own series).
type Series struct {
	Metric string `json:"metric"`
	// Column is the metric's number column (default: its first).
	Column string `json:"column,omitempty"`
	// Horizon is how many buckets forecast projects past the range (default: see defaultHorizon).
	Horizon int `json:"horizon,omitempty"`
	// Recent is how many of the range's last buckets anomalies checks (default: see defaultRecent).
	Recent int `json:"recent,omitempty"`
	// Level is the prediction interval outside which anomalies flags a point (default 0.95).
	Level float64 `json:"level,omitempty"`
}

const maxHorizon = 366

// seasons is the season's length per interval: a week of days or of hours a day; weeks and months are
// fitted without a season (a year of them is rarely in the store: the retention is 400 days).
var seasons = map[string]int{"hour": 24, "day": 7, "week": 0, "month": 0, "quarter": 0, "year": 0}

var (
	defaultHorizon = map[string]int{"hour": 48, "day": 28, "week": 8, "month": 3, "quarter": 2, "year": 1}
	defaultRecent  = map[string]int{"hour": 48, "day": 14, "week": 4, "month": 2, "quarter": 1, "year": 1}
)

// ModelInfo is the model fitted to a series, reported in meta.
type ModelInfo struct {
	Series string  `json:"series,omitempty"` // the group's dimensions, "plugin=catalog"
	Model  string  `json:"model"`            // ETS(A,Ad,A) or ETS(A,Ad,N)
	Period int     `json:"period"`
	Alpha  float64 `json:"alpha"`
	Beta   float64 `json:"beta"`
	Gamma  float64 `json:"gamma"`
	Phi    float64 `json:"phi"`
	Sigma  float64 `json:"sigma"`
	Points int     `json:"points"`
	// Backtest: forecast only, the model refitted without the range's last buckets, scored on them.
	Backtest *forecast.Accuracy `json:"backtest,omitempty"`
}

func forecastMetric() *Metric {
	return &Metric{
		Name: "forecast",
		Description: "A time series projected past the range: series.metric's series.column (default its first number), " +
			"per bucket of the request's interval (one series per group of its group_by; a bucket still under way is not " +
			"history, and the projection starts after the last that has ended), fitted on the range by additive " +
			"Holt–Winters with a damped trend (ETS(A,Ad,A): a season of 7 days or 24 hours; weeks and months without a " +
			"season), smoothing parameters by least squares, and projected series.horizon buckets ahead with 80% and 95% " +
			"prediction intervals (lower bounds floored at 0). History rows have value; future rows forecast and the " +
			"intervals. meta.models gives each series' parameters and a backtest: the model refitted without the last " +
			"min(horizon, a quarter of the history) buckets, its MAE, WAPE (absolute errors over actuals) and interval coverage on them.",
		Interval: intervalRequired, Filters: allFilters(), GroupBy: []string{"plugin", "instance", "team"},
		Columns: []Column{colTime, dimension("the series' group (with group_by)"), number("value", "", "the metric, history rows"),
			number("forecast", "", "the projection, future rows"), number("lower_80", "", ""), number("upper_80", "", ""),
			number("lower_95", "", ""), number("upper_95", "", "")},
		NeedsSeries: true, Role: RoleViewer, derive: forecastSeries,
	}
}

func anomaliesMetric() *Metric {
	return &Metric{
		Name: "anomalies",
		Description: "Points of the range's last series.recent buckets that have ended (today's half day is no drop) outside the series.level (default 95%) prediction " +
			"interval of the one-step-ahead forecast (floored at 0) by a model (as forecast's) fitted on the buckets before them: drops " +
			"in a plugin's users, spikes in its error rate. A row per anomalous point: the value, the expected value and " +
			"interval, the deviation in standard deviations of the one-step error, and the direction; the largest " +
			"deviations first.",
		Interval: intervalRequired, Filters: allFilters(), GroupBy: []string{"plugin", "instance", "team"},
		Columns: []Column{colTime, dimension("the series' group (with group_by)"), number("value", "", ""), number("expected", "", ""),
			number("lower", "", ""), number("upper", "", ""), number("deviation", "σ", "(value - expected) / σ"), dimension("direction")},
		NeedsSeries: true, Role: RoleViewer, derive: anomalies,
	}
}

// allFilters are the filters a series metric passes on (the inner metric says which it takes).
func allFilters() []string {
	return []string{FilterPlugin, FilterEntityKind, FilterInstance, FilterTeam}
}

// validateSeries checks the series of a series metric and validates the query of its metric (q.inner).
func validateSeries(q *query, catalog map[string]*Metric) error {
	s := q.Series
	switch {
	case !q.metric.NeedsSeries && s != nil:
		return badRequest("series", "%s takes no series", q.Metric)
	case !q.metric.NeedsSeries:
		return nil
	case s == nil:
		return badRequest("series", "is required: {metric: active_users, column: active_users}")
	case s.Horizon < 0 || s.Horizon > maxHorizon:
		return badRequest("series.horizon", "must be between 1 and %d", maxHorizon)
	case s.Recent < 0:
		return badRequest("series.recent", "must be positive")
	case s.Level != 0 && (s.Level < 0.5 || s.Level >= 1):
		return badRequest("series.level", "must be at least 0.5 and below 1, such as 0.95")
	}
	inner, ok := catalog[s.Metric]
	switch {
	case !ok:
		return badRequest("series.metric", "unknown metric %q", s.Metric)
	case inner.derive != nil || inner.Interval == intervalNone || inner.NoTimeRange || inner.Role > RoleViewer:
		return badRequest("series.metric", "%s is not a time series (a viewer's metric that buckets by interval)", s.Metric)
	}
	if s.Column == "" {
		for _, c := range inner.Columns {
			if c.Type == typeNumber {
				s.Column = c.Name
				break
			}
		}
	}
	if !slices.ContainsFunc(inner.Columns, func(c Column) bool { return c.Name == s.Column && c.Type == typeNumber }) {
		return badRequest("series.column", "%s has no number column %q", s.Metric, s.Column)
	}
	if s.Horizon == 0 {
		s.Horizon = defaultHorizon[q.Interval]
	}
	if s.Recent == 0 {
		s.Recent = defaultRecent[q.Interval]
	}
	if s.Level == 0 {
		s.Level = 0.95
	}
	innerReq := q.Request
	innerReq.Metric, innerReq.Series, innerReq.Compare, innerReq.Limit, innerReq.Offset = s.Metric, nil, "", maxLimit, 0
	iq, err := validate(innerReq, catalog, q.now)
	if err != nil {
		var re *RequestError
		if errors.As(err, &re) {
			return badRequest(re.Field, "%s (of series.metric %s)", re.Message, s.Metric)
		}
		return err
	}
	q.inner = iq
	return nil
}

// series is one group's values per bucket.
type series struct {
	key    string // "plugin=catalog", "" for a single series
	dims   []any  // the group's string values, in column order
	values []float64
}

// collectSeries runs the inner metric and arranges its rows as series over every bucket of the range (a
// bucket without a row is 0: the metrics leave out empty groups).
func collectSeries(ctx context.Context, db *sql.DB, q *query, k int) ([]series, []time.Time, []Column, error) {
	q.inner.serving = q.serving
	res, err := run(ctx, db, q.inner, k)
	if err != nil {
		return nil, nil, nil, err
	}
	var buckets []time.Time
	// A bucket still under way is not history: today's half day would read as a drop and bend the trend.
	for t := bucketStart(q, q.from); t.Before(q.to) && !addBuckets(q, t, 1).After(q.now); t = addBuckets(q, t, 1) {
		buckets = append(buckets, t)
	}
	timeAt, valueAt := -1, -1
	var dimAt []int
	var dims []Column
	for i, c := range res.Columns {
		switch {
		case c.Type == typeTime && timeAt < 0:
			timeAt = i
		case c.Type == typeString:
			dimAt, dims = append(dimAt, i), append(dims, c)
		case c.Name == q.Series.Column:
			valueAt = i
		}
	}
	if timeAt < 0 || valueAt < 0 {
		return nil, nil, nil, fmt.Errorf("%s gave no time or %s column", q.inner.Metric, q.Series.Column)
	}
	byKey := map[string]*series{}
	var order []string
	for _, row := range res.Rows {
		var parts []string
		var values []any
		for j, i := range dimAt {
			parts, values = append(parts, dims[j].Name+"="+fmt.Sprint(row[i])), append(values, row[i])
		}
		key := strings.Join(parts, ",")
		s := byKey[key]
		if s == nil {
			s = &series{key: key, dims: values, values: make([]float64, len(buckets))}
			byKey[key], order = s, append(order, key)
		}
		t, err := time.Parse(time.RFC3339Nano, fmt.Sprint(row[timeAt]))
		if err != nil {
			return nil, nil, nil, fmt.Errorf("%s's time %v: %w", q.inner.Metric, row[timeAt], err)
		}
		if b := slices.IndexFunc(buckets, func(bt time.Time) bool { return bt.Equal(t) }); b >= 0 {
			v, _ := row[valueAt].(float64) // null (no data): 0
			s.values[b] = v
		}
	}
	slices.Sort(order)
	out := make([]series, len(order))
	for i, key := range order {
		out[i] = *byKey[key]
	}
	return out, buckets, dims, nil
}

func seriesResult(q *query, dims []Column, columns ...Column) *Result {
	return &Result{Columns: append(append([]Column{colTime}, dims...), columns...), Rows: [][]any{},
		Meta: Meta{Metric: q.Metric, From: q.from, To: q.to, Interval: q.Interval, Timezone: q.Timezone}}
}

func modelInfo(key string, m *forecast.Model) ModelInfo {
	name := "ETS(A,Ad,N)"
	if m.Period > 0 {
		name = "ETS(A,Ad,A)"
	}
	return ModelInfo{Series: key, Model: name, Period: m.Period, Alpha: m.Alpha, Beta: m.Beta, Gamma: m.Gamma, Phi: m.Phi, Sigma: m.Sigma, Points: m.N}
}

func forecastSeries(ctx context.Context, db *sql.DB, q *query, k int) (*Result, error) {
	start := time.Now()
	all, buckets, dims, err := collectSeries(ctx, db, q, k)
	if err != nil {
		return nil, err
	}
	res := seriesResult(q, dims, number("value", "", ""), number("forecast", "", ""), number("lower_80", "", ""), number("upper_80", "", ""),
		number("lower_95", "", ""), number("upper_95", "", ""))
	h := q.Series.Horizon
	type fitted struct {
		info   ModelInfo
		points []forecast.Point
	}
	fits := make([]fitted, len(all))
	err = fitEach(all, func(i int, s series) error {
		m, err := forecast.Fit(s.values, seasons[q.Interval])
		if errors.Is(err, forecast.ErrTooShort) {
			return badRequest("from", "%v buckets of history: widen the range", err)
		} else if err != nil {
			return fmt.Errorf("forecast %s: %w", s.key, err)
		}
		fits[i] = fitted{info: modelInfo(s.key, m), points: m.Forecast(h)}
		if bt, err := forecast.Backtest(s.values, seasons[q.Interval], min(h, len(s.values)/4)); err == nil {
			fits[i].info.Backtest = &bt
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for i, s := range all {
		res.Meta.Models = append(res.Meta.Models, fits[i].info)
		for b, t := range buckets {
			res.Rows = append(res.Rows, append(append([]any{t.UTC().Format(time.RFC3339)}, s.dims...), s.values[b], nil, nil, nil, nil, nil))
		}
		t := buckets[len(buckets)-1]
		for _, p := range fits[i].points {
			t = addBuckets(q, t, 1)
			res.Rows = append(res.Rows, append(append([]any{t.UTC().Format(time.RFC3339)}, s.dims...), nil,
				p.Mean, floor0(p.Lower80), p.Upper80, floor0(p.Lower95), p.Upper95))
		}
	}
	res.Meta.QueryMillis = float64(time.Since(start).Microseconds()) / 1000
	return res, nil
}

func floor0(v float64) float64 { return math.Max(v, 0) }

// fitEach calls fit for every series, on as many cores as the process has: the fits are independent.
func fitEach(all []series, fit func(i int, s series) error) error {
	var g errgroup.Group
	g.SetLimit(runtime.GOMAXPROCS(0))
	for i, s := range all {
		g.Go(func() error { return fit(i, s) })
	}
	return g.Wait()
}

func anomalies(ctx context.Context, db *sql.DB, q *query, k int) (*Result, error) {
	start := time.Now()
	all, buckets, dims, err := collectSeries(ctx, db, q, k)
	if err != nil {
		return nil, err
	}
	recent := q.Series.Recent
	if recent > len(buckets)-forecast.MinPoints {
		return nil, badRequest("series.recent", "%d of the range's %d buckets leaves too little history before them: widen the range", recent, len(buckets))
	}
	z := distuv.UnitNormal.Quantile(0.5 + q.Series.Level/2)
	res := seriesResult(q, dims, number("value", "", ""), number("expected", "", ""), number("lower", "", ""), number("upper", "", ""),
		number("deviation", "σ", ""), dimension("direction"))
	models := make([]*forecast.Model, len(all))
	err = fitEach(all, func(i int, s series) error {
		m, err := forecast.Fit(s.values[:len(s.values)-recent], seasons[q.Interval])
		if err != nil {
			return fmt.Errorf("anomalies of %s: %w", s.key, err)
		}
		models[i] = m
		return nil
	})
	if err != nil {
		return nil, err
	}
	for i, s := range all {
		m := models[i]
		res.Meta.Models = append(res.Meta.Models, modelInfo(s.key, m))
		if m.Sigma == 0 {
			m.Sigma = math.SmallestNonzeroFloat64 // a flat history: any change stands out
		}
		expected := m.OneStep(s.values)
		for i := len(s.values) - recent; i < len(s.values); i++ {
			expected[i] = floor0(expected[i]) // the series count things: a trend down does not expect fewer than none
			d := (s.values[i] - expected[i]) / m.Sigma
			if math.Abs(d) <= z {
				continue
			}
			direction := "spike"
			if d < 0 {
				direction = "drop"
			}
			row := append(append([]any{buckets[i].UTC().Format(time.RFC3339)}, s.dims...), s.values[i], expected[i],
				floor0(expected[i]-z*m.Sigma), expected[i]+z*m.Sigma, d, direction)
			res.Rows = append(res.Rows, row)
		}
	}
	slices.SortStableFunc(res.Rows, func(a, b []any) int {
		return cmp.Compare(math.Abs(b[len(b)-2].(float64)), math.Abs(a[len(a)-2].(float64)))
	})
	res.Meta.QueryMillis = float64(time.Since(start).Microseconds()) / 1000
	return res, nil
}
