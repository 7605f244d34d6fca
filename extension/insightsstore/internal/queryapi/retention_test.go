package queryapi

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Berlin buckets of the simulated events, computed in plain Go.

func localWeek(t time.Time) time.Time {
	d := localDay(t)
	return d.AddDate(0, 0, -(int(d.Weekday())+6)%7)
}

// activeIn returns the users active in each bucket of [from, to).
func activeIn(f *fixture, bucket func(time.Time) time.Time, from, to time.Time) map[time.Time]map[string]bool {
	out := map[time.Time]map[string]bool{}
	for _, e := range f.events {
		if e.Time.Before(from) || !e.Time.Before(to) {
			continue
		}
		b := bucket(e.Time)
		if out[b] == nil {
			out[b] = map[string]bool{}
		}
		out[b][e.User] = true
	}
	return out
}

func firstSeen(f *fixture) map[string]time.Time {
	out := map[string]time.Time{}
	for _, e := range f.events {
		if fs, ok := out[e.User]; !ok || e.Time.Before(fs) {
			out[e.User] = e.Time
		}
	}
	return out
}

type cohortCell struct {
	cohort time.Time
	period int
}

func TestRetention(t *testing.T) {
	forEachStore(t, func(t *testing.T, f *fixture) {
		weekly := activeIn(f, localWeek, queryFrom, queryTo)
		// First-time lens, weekly: the cohorts of the users first seen in the range.
		sizes, want := map[time.Time]int{}, map[cohortCell]int{}
		for user, first := range firstSeen(f) {
			if !inRange(first) {
				continue
			}
			c := localWeek(first)
			sizes[c]++
			for w := c; w.Before(queryTo); w = w.AddDate(0, 0, 7) {
				if weekly[w][user] {
					want[cohortCell{c, int(w.Sub(c).Hours()/24) / 7}]++
				}
			}
		}
		require.NotEmpty(t, sizes, "the simulation onboards users during the range")
		req := baseRequest("retention")
		req.Interval = "week"
		res := f.query(t, req)
		got := map[cohortCell]int{}
		for _, row := range res.Rows {
			c := parseTime(t, row[0]).In(berlin)
			assert.EqualValues(t, sizes[c], row[1], "cohort %s", c)
			assert.GreaterOrEqual(t, row[1], float64(testK), "small cohorts are withheld")
			got[cohortCell{c, int(row[2].(float64))}] = int(row[3].(float64))
			assert.InDelta(t, row[3].(float64)/row[1].(float64), row[4], 1e-12)
		}
		for cell, n := range want {
			if sizes[cell.cohort] >= testK {
				assert.Equal(t, n, got[cell], "cohort %s, period %d", cell.cohort, cell.period)
			}
		}
		assert.Equal(t, len(want)-withheld(sizes, want), len(got))

		// Recurring lens, daily: every day's active users, and how many came back n days later.
		daily := activeIn(f, localDay, queryFrom, queryTo)
		wantDaily := map[cohortCell]int{}
		for c, users := range daily {
			for user := range users {
				for d := c; d.Before(queryTo); d = d.AddDate(0, 0, 1) {
					if daily[d][user] {
						wantDaily[cohortCell{c, int(d.Sub(c).Hours()/24 + 0.5)}]++
					}
				}
			}
		}
		req.Interval, req.Lens = "day", LensRecurring
		req.Limit = maxLimit
		res = f.query(t, req)
		require.NotEmpty(t, res.Rows)
		for _, row := range res.Rows {
			c := parseTime(t, row[0]).In(berlin)
			assert.EqualValues(t, len(daily[c]), row[1], "cohort %s", c)
			assert.EqualValues(t, wantDaily[cohortCell{c, int(row[2].(float64))}], row[3], "cohort %s, period %v", c, row[2])
		}
	})
}

// withheld counts the cells of cohorts below the floor.
func withheld(sizes map[time.Time]int, cells map[cohortCell]int) int {
	n := 0
	for cell := range cells {
		if sizes[cell.cohort] < testK {
			n++
		}
	}
	return n
}

func parseTime(t *testing.T, v any) time.Time {
	t.Helper()
	ts, err := time.Parse(time.RFC3339, v.(string))
	require.NoError(t, err)
	return ts
}

// lifecycle and churn per day: new, returning, resurrecting and dormant users, from the events.
func TestLifecycleAndChurn(t *testing.T) {
	forEachStore(t, func(t *testing.T, f *fixture) {
		daily := activeIn(f, localDay, queryFrom.AddDate(0, 0, -1), queryTo)
		first := firstSeen(f)
		req := baseRequest("lifecycle")
		req.Interval = "day"
		lifecycle := f.query(t, req)
		req.Metric = "churn"
		churn := f.query(t, req)
		require.Len(t, lifecycle.Rows, simDays-14)
		require.Len(t, churn.Rows, simDays-14)
		totals := map[string]float64{}
		for i, row := range lifecycle.Rows {
			day := queryFrom.AddDate(0, 0, i)
			prev := day.AddDate(0, 0, -1)
			var isNew, returning, resurrecting, dormant int
			for user := range daily[day] {
				switch {
				case localDay(first[user]).Equal(day):
					isNew++
				case daily[prev][user]:
					returning++
				default:
					resurrecting++
				}
			}
			for user := range daily[prev] {
				if !daily[day][user] {
					dormant++
				}
			}
			assert.Equal(t, []any{float64(isNew), float64(returning), float64(resurrecting), float64(dormant)}, row[1:], "%s", day)
			assert.Equal(t, []any{float64(len(daily[prev])), float64(dormant), nilIfNaN(float64(dormant) / float64(len(daily[prev]))),
				float64(resurrecting)}, churn.Rows[i][1:], "%s", day)
			totals["new"] += float64(isNew)
			totals["resurrecting"] += float64(resurrecting)
		}
		assert.Positive(t, totals["new"])
		assert.Positive(t, totals["resurrecting"], "weekends make users come back")
	})
}

func nilIfNaN(v float64) any {
	if v != v {
		return nil
	}
	return v
}

// stickiness: user-weeks by days active, over the three whole weeks of the range.
func TestStickiness(t *testing.T) {
	forEachStore(t, func(t *testing.T, f *fixture) {
		days := map[string]map[time.Time]bool{} // user|week → days
		for _, e := range f.events {
			if !inRange(e.Time) {
				continue
			}
			key := e.User + "|" + localWeek(e.Time).String()
			if days[key] == nil {
				days[key] = map[time.Time]bool{}
			}
			days[key][localDay(e.Time)] = true
		}
		want := make([]float64, 8)
		for _, d := range days {
			want[len(d)]++
		}
		res := f.query(t, baseRequest("stickiness"))
		got := make([]float64, 8)
		total := 0.0
		for _, row := range res.Rows {
			got[int(row[0].(float64))] = row[1].(float64)
			total += row[1].(float64)
		}
		assert.Equal(t, want, got)
		assert.InDelta(t, want[1]/total, res.Rows[0][2], 1e-12)

		req := baseRequest("stickiness")
		req.Interval = "day"
		assert.Equal(t, http.StatusBadRequest, f.do(t, http.MethodPost, "/api/v1/query", viewerToken, req).status, "weeks or months only")
		req.Interval = "week"
		res = f.query(t, req)
		assert.Len(t, uniqueTimes(res), 3)
	})
}

func uniqueTimes(r Result) map[any]bool {
	out := map[any]bool{}
	for _, row := range r.Rows {
		out[row[0]] = true
	}
	return out
}

// compare: each number next to its value over the earlier period, paired by dimension and shifted time.
func TestCompareWithTheEarlierPeriod(t *testing.T) {
	f := setup(t)
	span := 7 // days: the last week of the simulation against the one before
	from, to := queryTo.AddDate(0, 0, -span), queryTo
	ask := func(metric, interval, compare string, from, to time.Time) Result {
		return f.query(t, Request{Metric: metric, Interval: interval, From: at(from), To: at(to), Timezone: "Europe/Berlin", Compare: compare})
	}
	// A time series: day i of this week against day i of the week before.
	cur, earlier := ask("active_users", "day", ComparePreviousPeriod, from, to), ask("active_users", "day", "", from.AddDate(0, 0, -span), from)
	require.Len(t, cur.Rows, span)
	users := column(t, cur, "active_users")
	previous, change, ratio := column(t, cur, "active_users_previous"), column(t, cur, "active_users_change"), column(t, cur, "active_users_change_ratio")
	for i := range cur.Rows {
		assert.Equal(t, earlier.Rows[i][1], previous[i], "day %d", i)
		assert.Equal(t, users[i].(float64)-previous[i].(float64), change[i])
		assert.InDelta(t, change[i].(float64)/previous[i].(float64), ratio[i], 1e-12)
	}
	assert.Equal(t, from.AddDate(0, 0, -span).UTC(), cur.Meta.CompareFrom.UTC())

	// A breakdown: plugins pair by name, whatever their order.
	cur, earlier = ask("plugin_adoption", "", ComparePreviousPeriod, from, to), ask("plugin_adoption", "", "", from.AddDate(0, 0, -span), from)
	before := map[any]any{}
	for _, row := range earlier.Rows {
		before[row[0]] = row[1]
	}
	for i, p := range column(t, cur, "plugin") {
		assert.Equal(t, before[p], column(t, cur, "users_previous")[i], "%v", p)
	}
	// Ordinal columns (a funnel's step) identify rows; they are not compared.
	req := Request{Metric: "funnel", From: at(from), To: at(to), Timezone: "Europe/Berlin", Compare: ComparePreviousPeriod,
		Funnel: &Funnel{Steps: []Step{{Event: "backstage.navigate"}, {Event: "backstage.search"}}}, Filters: map[string][]string{FilterInstance: {"portal-eu"}}}
	cur = f.query(t, req)
	req.Compare, req.From, req.To = "", at(from.AddDate(0, 0, -span)), at(from)
	earlier = f.query(t, req)
	assert.NotContains(t, columnNames(cur), "step_previous")
	assert.Equal(t, column(t, earlier, "users"), column(t, cur, "users_previous"))
	assert.Positive(t, column(t, cur, "users")[1], "the instance filter holds at every step")

	// A year back, the store has nothing: nulls, not zeros.
	cur = ask("plugin_adoption", "", ComparePreviousYear, from, to)
	assert.Nil(t, column(t, cur, "users_previous")[0])
}

func columnNames(r Result) []string {
	var out []string
	for _, c := range r.Columns {
		out = append(out, c.Name)
	}
	return out
}
