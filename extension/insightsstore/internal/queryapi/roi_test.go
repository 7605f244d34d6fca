package queryapi

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/insights-collector/insights-collector/internal/semconv"
	"github.com/insights-collector/insights-collector/internal/wireformat"
)

var testValueModel = ValueModel{TemplateRunMinutes: 30, TemplateTimeSaved: true, SearchSuccessMinutes: 3, TechDocsViewMinutes: 5,
	HourlyCost: 80, PlatformCostPerMonth: 10_000, Currency: "EUR"}

// withOptions serves the fixture's store with server options (a value model, custom metrics).
func withOptions(t *testing.T, f *fixture, options ...Option) *fixture {
	server := NewServer(f.store, []Token{{Secret: viewerToken, Principal: Principal{Name: "grafana", Role: RoleViewer}}}, testK, zap.NewNop(), options...)
	server.now = func() time.Time { return queryTo }
	g := *f
	g.server = httptest.NewServer(server.Handler())
	t.Cleanup(g.server.Close)
	return &g
}

// worth is what the raw events of a group of users are worth by testValueModel.
type worth struct {
	runs, finds, docs float64
	minutes           float64
	users             map[string]bool
}

func (w *worth) add(e wireformat.Occurrence) {
	action, plugin, user, value := e.Action, e.Context["pluginId"].(string), e.User, e.Value
	if w.users == nil {
		w.users = map[string]bool{}
	}
	w.users[user] = true
	switch {
	case action == semconv.ActionCreate:
		w.runs++
		if value != nil {
			w.minutes += *value
		} else {
			w.minutes += testValueModel.TemplateRunMinutes
		}
	case action == semconv.ActionDiscover:
		w.finds++
		w.minutes += testValueModel.SearchSuccessMinutes
	case action == semconv.ActionNavigate && plugin == "techdocs" && e.Attributes["name"] != nil: // a page of an entity's docs
		w.docs++
		w.minutes += testValueModel.TechDocsViewMinutes
	}
}

func TestROI(t *testing.T) {
	f := withOptions(t, setup(t), WithValueModel(testValueModel))
	// Weekly, in Berlin: the three whole weeks of the query range (no daylight saving change in them).
	weeks := map[string]*worth{}
	for _, e := range f.events {
		if !inRange(e.Time) {
			continue
		}
		week := localDay(e.Time).AddDate(0, 0, -(int(e.Time.In(berlin).Weekday())+6)%7).UTC().Format(time.RFC3339)
		if weeks[week] == nil {
			weeks[week] = &worth{}
		}
		weeks[week].add(e)
	}
	req := baseRequest("roi")
	req.Interval = "week"
	res := f.query(t, req)
	require.Len(t, res.Rows, 3)
	weekCost := 10_000 * 7 / averageMonthDays
	for _, row := range res.Rows {
		w := weeks[row[0].(string)]
		require.NotNil(t, w, "%v", row)
		hours := w.minutes / 60
		assert.Equal(t, []any{w.runs, w.finds, w.docs}, row[1:4])
		assert.InDelta(t, hours, row[4], 1e-9)
		assert.InDelta(t, hours*80, row[5], 1e-6)
		assert.InDelta(t, weekCost, row[6], 1e-6)
		assert.InDelta(t, (hours*80-weekCost)/weekCost, row[7], 1e-9)
		assert.Equal(t, float64(len(w.users)), row[8])
		assert.InDelta(t, weekCost/float64(len(w.users)), row[9], 1e-6)
	}
	assert.Equal(t, "currencyEUR", res.Columns[5].Unit)

	// Per team over the range: sub-teams' members count for their parents; the cost is shared by active users.
	teams, all := map[string]*worth{}, &worth{}
	for _, e := range f.events {
		if !inRange(e.Time) {
			continue
		}
		all.add(e)
		credited := map[string]bool{}
		for _, team := range e.Teams {
			for _, g := range f.world.Above(team) {
				credited[g] = true
			}
		}
		for g := range credited {
			if teams[g] == nil {
				teams[g] = &worth{}
			}
			teams[g].add(e)
		}
	}
	req = baseRequest("roi")
	req.GroupBy = []string{"team"}
	res = f.query(t, req)
	rangeCost := 10_000 * 21 / averageMonthDays
	require.NotEmpty(t, res.Rows)
	for _, row := range res.Rows {
		w := teams[row[0].(string)]
		require.NotNil(t, w, "%v", row)
		share := rangeCost * float64(len(w.users)) / float64(len(all.users))
		assert.Equal(t, []any{w.runs, w.finds, w.docs}, row[1:4], "%v", row[0])
		assert.InDelta(t, w.minutes/60, row[4], 1e-9)
		assert.InDelta(t, share, row[6], 1e-6)
		assert.InDelta(t, rangeCost/float64(len(all.users)), row[9], 1e-6)
	}
	assert.Contains(t, column(t, res, "team"), f.world.Groups[0].Ref, "the organisation, through its teams")

	// Without costs, hours only.
	res = withOptions(t, setup(t)).query(t, baseRequest("roi"))
	require.Len(t, res.Rows, 1)
	assert.Nil(t, res.Rows[0][4], "value")
	assert.Nil(t, res.Rows[0][6], "roi")
	assert.Positive(t, res.Rows[0][3], "hours saved by the templates' own time-saved")
}

func TestQuarterAndYearBuckets(t *testing.T) {
	f := setup(t)
	req := baseRequest("active_users")
	for _, interval := range []string{"quarter", "year"} {
		req.Interval = interval
		res := f.query(t, req)
		require.Len(t, res.Rows, 1, interval)
		want := time.Date(2026, 10, 1, 0, 0, 0, 0, berlin)
		if interval == "year" {
			want = time.Date(2026, 1, 1, 0, 0, 0, 0, berlin)
		}
		assert.Equal(t, want.UTC().Format(time.RFC3339), res.Rows[0][0])
	}
}
