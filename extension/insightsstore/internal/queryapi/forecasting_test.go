package queryapi

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/insights-collector/insights-collector/internal/forecast"
)

// wholeSimulation asks a metric over every simulated day.
func wholeSimulation(metric string) Request {
	return Request{Metric: metric, From: at(simStart), To: at(queryTo), Interval: "day", Timezone: "Europe/Berlin"}
}

func seriesRequest(metric string, s Series) Request {
	req := wholeSimulation(metric)
	req.Series = &s
	return req
}

func TestForecast(t *testing.T) {
	f := setup(t)
	// The history is the daily active users (checked against the raw events by TestActiveUsersDAUWAUMAU);
	// the forecast must be the model's on exactly that series.
	history := column(t, f.query(t, wholeSimulation("active_users")), "active_users")
	// The last day is under way at the fixture's now (its last event and a minute): not history yet.
	history = history[:len(history)-1]
	days := simDays - 1
	y := make([]float64, len(history))
	for i, v := range history {
		y[i] = v.(float64)
	}
	model, err := forecast.Fit(y, 7)
	require.NoError(t, err)
	want := model.Forecast(14)

	res := f.query(t, seriesRequest("forecast", Series{Metric: "active_users", Horizon: 14}))
	require.Len(t, res.Rows, days+14)
	values, means := column(t, res, "value"), column(t, res, "forecast")
	lower95, upper80 := column(t, res, "lower_95"), column(t, res, "upper_80")
	for i := range days {
		assert.Equal(t, y[i], values[i])
		assert.Nil(t, means[i])
	}
	for h := range 14 {
		i := days + h
		assert.Nil(t, values[i])
		assert.InDelta(t, want[h].Mean, means[i], 1e-9)
		assert.InDelta(t, max(want[h].Lower95, 0), lower95[i], 1e-9)
		assert.InDelta(t, want[h].Upper80, upper80[i], 1e-9)
	}
	// The future rows continue the days in the caller's calendar.
	assert.Equal(t, at(queryTo.AddDate(0, 0, 12)).Time.UTC().Format(time.RFC3339), res.Rows[len(res.Rows)-1][0])

	require.Len(t, res.Meta.Models, 1)
	m := res.Meta.Models[0]
	assert.Equal(t, "ETS(A,Ad,A)", m.Model)
	assert.Equal(t, 7, m.Period)
	require.NotNil(t, m.Backtest)
	assert.Equal(t, 8, m.Backtest.Holdout, "a quarter of 35 days, under the horizon")
	require.NotNil(t, m.Backtest.WAPE)
	assert.Less(t, *m.Backtest.WAPE, 0.35, "the simulated organisation is small and noisy, but weekly")
}

func TestForecastFollowsAGrowingTeam(t *testing.T) {
	f := scenarioFixture(t)
	team := f.world.Teams[1]
	req := seriesRequest("forecast", Series{Metric: "team_adoption", Column: "active_members", Horizon: 14})
	req.Filters = map[string][]string{FilterTeam: {team}}
	res := f.query(t, req)
	values, means := column(t, res, "value"), column(t, res, "forecast")
	firstWeek, nextWeeks := 0.0, 0.0
	for i := range 7 {
		firstWeek += values[i].(float64)
	}
	for h := range 14 {
		nextWeeks += means[simDays-1+h].(float64) // from the last day that has ended
	}
	assert.Greater(t, nextWeeks/2, 2*firstWeek, "the team's members joined over the period: the forecast keeps growing")
	assert.Equal(t, "team="+team, res.Meta.Models[0].Series)
}

func TestAnomaliesFindACollapse(t *testing.T) {
	f := scenarioFixture(t)
	req := seriesRequest("anomalies", Series{Metric: "active_users", Recent: 7})
	req.GroupBy = []string{"plugin"}
	res := f.query(t, req)
	require.NotEmpty(t, res.Rows)
	collapse := at(simStart.AddDate(0, 0, 28)).Time.UTC().Format(time.RFC3339)
	top := res.Rows[0] // the largest deviation first
	assert.Equal(t, "search", top[1], "%v", res.Rows)
	assert.Equal(t, "drop", top[len(top)-1])
	assert.GreaterOrEqual(t, top[0], collapse)
	assert.Less(t, top[2].(float64), top[4].(float64), "below the interval's lower bound")
	drops := map[any]bool{}
	for _, row := range res.Rows {
		if row[1] == "search" && row[len(row)-1] == "drop" {
			drops[row[0]] = true
		}
	}
	assert.True(t, drops[collapse], "the day of the collapse is flagged")
	assert.GreaterOrEqual(t, len(drops), 4, "the collapsed weekdays stand out")

	// The same query on the organisation without the collapse: search is not flagged on that day.
	res = setup(t).query(t, req)
	for _, row := range res.Rows {
		assert.False(t, row[0] == collapse && row[1] == "search", "%v", row)
	}
}

func TestSeriesErrors(t *testing.T) {
	f := setup(t)
	for name, tc := range map[string]struct {
		req   Request
		field string
	}{
		"no series":         {wholeSimulation("forecast"), "series"},
		"not a time series": {seriesRequest("forecast", Series{Metric: "plugin_adoption"}), "series.metric"},
		"derived":           {seriesRequest("forecast", Series{Metric: "anomalies"}), "series.metric"},
		"unknown metric":    {seriesRequest("forecast", Series{Metric: "revenue"}), "series.metric"},
		"unknown column":    {seriesRequest("forecast", Series{Metric: "active_users", Column: "time"}), "series.column"},
		"horizon":           {seriesRequest("forecast", Series{Metric: "active_users", Horizon: 1000}), "series.horizon"},
		"level":             {seriesRequest("anomalies", Series{Metric: "active_users", Level: 1}), "series.level"},
		"inner group_by": {func() Request {
			r := seriesRequest("forecast", Series{Metric: "new_vs_returning"})
			r.GroupBy = []string{"plugin"}
			return r
		}(), "group_by"},
		"too short": {func() Request {
			r := seriesRequest("forecast", Series{Metric: "active_users"})
			r.From = at(queryTo.AddDate(0, 0, -3))
			return r
		}(), "from"},
		"recent too long":    {seriesRequest("anomalies", Series{Metric: "active_users", Recent: simDays}), "series.recent"},
		"series on a metric": {func() Request { r := baseRequest("templates"); r.Series = &Series{Metric: "active_users"}; return r }(), "series"},
	} {
		t.Run(name, func(t *testing.T) {
			a := f.do(t, http.MethodPost, "/api/v1/query", viewerToken, tc.req)
			require.Equal(t, http.StatusBadRequest, a.status, string(a.body))
			assert.Equal(t, tc.field, a.apiError(t).Field)
		})
	}
}
