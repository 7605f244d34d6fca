package e2e

import (
	"context"
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/insights-collector/insights-collector/internal/semconv"
	"github.com/insights-collector/insights-collector/internal/simulator"
	"github.com/insights-collector/insights-collector/internal/wireformat"
)

// The team metrics of the built collector, fed by the simulator's organisation: its catalog served over loopback
// (synced by backstage_catalog, as config/catalog.yaml sets it up) and three weeks of its events sent as bare
// AnalyticsEvents, which carry no teams (the receiver adds them from the catalog). Every number is checked
// against a computation in plain Go from the simulator's own users, groups and events.
func TestTeamMetricsOnSimulatedOrganisation(t *testing.T) {
	const days, catalogToken, k = 21, "catalog-token-0123456789", 5 // k: config/insights.yaml's k_anonymity
	cfg := simulator.DefaultConfig()
	cfg.Users, cfg.Teams, cfg.Days, cfg.Seed = 90, 7, days, 11
	cfg.Start = time.Now().UTC().AddDate(0, 0, -days+1)
	world, err := simulator.NewWorld(cfg)
	require.NoError(t, err)
	catalog := httptest.NewServer(&simulator.CatalogServer{Token: catalogToken, Entities: world.CatalogEntities()})
	defer catalog.Close()

	c := startCollectorWith(t, t.TempDir(), []string{"insights.yaml", "catalog.yaml"}, "INSIGHTS_CATALOG_ENDPOINT="+catalog.URL,
		"INSIGHTS_CATALOG_TOKEN="+catalogToken, fmt.Sprintf("INSIGHTS_MAX_EVENT_AGE=%dh", (days+1)*24))
	from := world.DayStart(0)
	to := time.Now().Add(time.Hour)
	query := func(metric, extra string) []map[string]any {
		return rows(c.query(t, fmt.Sprintf(`{"metric":%q,"from":%q,"to":%q,"limit":10000%s}`, metric, from.Format(time.RFC3339), to.Format(time.RFC3339), extra)))
	}
	require.Eventually(t, func() bool { return len(query("team_comparison", `,"filters":{"team_type":["organization"]}`)) == 1 },
		30*time.Second, 100*time.Millisecond, "the store has the catalog's teams:\n%s", c.output.String())

	var events []wireformat.Occurrence
	for d := range days {
		for _, e := range world.Day(d) {
			if e.Time.Before(time.Now()) {
				events = append(events, e)
			}
		}
	}
	sender := &simulator.Sender{Endpoint: "http://" + c.receiver, Format: wireformat.FormatEvents, Authorization: "Bearer dev-insights-token", MaxAttempts: 20}
	for start := 0; start < len(events); start += 500 {
		res, err := sender.Send(context.Background(), events[start:min(start+500, len(events))])
		require.NoError(t, err)
		require.Zero(t, res.Rejected)
	}
	stored := func() (n int) { // the Backstage events among the raw ones (the pipeline adds sessions and tier changes)
		for offset := 0; ; offset += 10000 {
			page := query("events", fmt.Sprintf(`,"offset":%d`, offset))
			for _, row := range page {
				if strings.HasPrefix(row["event_name"].(string), "backstage.") {
					n++
				}
			}
			if len(page) < 10000 {
				return n
			}
		}
	}
	require.Eventually(t, func() bool { return stored() == len(events) }, 60*time.Second, 500*time.Millisecond, "every event stored")

	org := newOrganisation(world)
	t.Run("team_adoption", func(t *testing.T) {
		got := byKey(query("team_adoption", ""), "team")
		assert.Greater(t, len(got), len(world.Teams)/2, "most teams, their departments and the organisation")
		active, credited := org.activity(events, func(wireformat.Occurrence) bool { return true })
		for _, g := range world.Groups {
			row, shown := got[g.Ref]
			if org.members(g.Ref) < k || len(active[g.Ref]) == 0 {
				assert.False(t, shown, "%s: fewer than k members, or none active", g.Ref)
				continue
			}
			require.True(t, shown, g.Ref)
			assert.EqualValues(t, org.members(g.Ref), row["members"], g.Ref)
			assert.EqualValues(t, len(active[g.Ref]), row["active_members"], g.Ref)
			assert.InDelta(t, float64(len(active[g.Ref]))/float64(org.members(g.Ref)), row["adoption"], 1e-9, g.Ref)
			assert.InDelta(t, float64(credited[g.Ref])/float64(len(active[g.Ref])), row["events_per_active_member"], 1e-9, g.Ref)
		}
	})
	t.Run("team_comparison", func(t *testing.T) {
		got := query("team_comparison", "")
		active, _ := org.activity(events, func(wireformat.Occurrence) bool { return true })
		_, runs := org.activity(events, func(e wireformat.Occurrence) bool { return e.Action == semconv.ActionCreate })
		_, searches := org.activity(events, func(e wireformat.Occurrence) bool { return e.Action == semconv.ActionSearch })
		adoption := map[string]float64{}
		for _, team := range world.Teams {
			adoption[team] = float64(len(active[team])) / float64(org.members(team))
		}
		var shown []string
		for _, row := range got {
			team := row["team"].(string)
			shown = append(shown, team)
			assert.InDelta(t, adoption[team], row["adoption"], 1e-9, team)
			assert.EqualValues(t, searches[team], row["searches"], team)
			if len(active[team]) > 0 {
				assert.InDelta(t, float64(runs[team])/float64(len(active[team])), row["template_runs_per_active_member"], 1e-9, team)
			}
			better := 0
			for _, other := range world.Teams {
				if adoption[other] > adoption[team] {
					better++
				}
			}
			assert.EqualValues(t, better+1, row["rank"], team)
			assert.Nil(t, row["growth"], "nobody was active in the previous period")
		}
		var want []string
		for _, team := range world.Teams {
			if org.members(team) >= k {
				want = append(want, team)
			}
		}
		assert.ElementsMatch(t, want, shown, "the teams users are members of, at least k members each")
		assert.Greater(t, len(shown), 2)
	})
	t.Run("onboarding", func(t *testing.T) {
		// Users first seen from the second week on; "now" is when the query runs (within seconds of this).
		since := from.AddDate(0, 0, 7)
		got := rows(c.query(t, fmt.Sprintf(`{"metric":"onboarding","from":%q,"to":%q}`, since.Format(time.RFC3339), to.Format(time.RFC3339))))
		require.Len(t, got, 1)
		first, reached := firstAndKeyAction(events)
		now := time.Now()
		var newUsers, reachedUsers, eligible7, within7 int
		var hours []float64
		for user, seen := range first {
			if seen.Before(since) {
				continue
			}
			newUsers++
			r, ok := reached[user]
			if ok {
				reachedUsers++
				hours = append(hours, r.Sub(seen).Hours())
			}
			if !seen.After(now.AddDate(0, 0, -7)) {
				eligible7++
				if ok && r.Before(seen.AddDate(0, 0, 7)) {
					within7++
				}
			}
		}
		require.Greater(t, newUsers, k, "the simulation has new users")
		assert.EqualValues(t, newUsers, got[0]["new_users"])
		assert.EqualValues(t, reachedUsers, got[0]["reached"])
		assert.InDelta(t, float64(within7)/float64(eligible7), got[0]["reached_7d"], 1e-9)
		assert.Nil(t, got[0]["reached_30d"], "nobody was first seen 30 days ago")
		assert.InDelta(t, median(hours), got[0]["median_hours_to_value"], 1e-5)
	})
	t.Run("cross_team", func(t *testing.T) {
		got := byKey(query("cross_team", ""), "owner")
		require.NotEmpty(t, got)
		views, viewers, fromOthers := map[string]int{}, map[string]map[string]bool{}, map[string]int{}
		for _, e := range events {
			owner := org.owner[entityOf(e)]
			if e.Action != semconv.ActionNavigate || owner == "" {
				continue
			}
			views[owner]++
			if viewers[owner] == nil {
				viewers[owner] = map[string]bool{}
			}
			viewers[owner][e.User] = true
			if !slices.Contains(org.teams[e.User], owner) {
				fromOthers[owner]++
			}
		}
		for owner, n := range views {
			row, shown := got[owner]
			if len(viewers[owner]) < k {
				assert.False(t, shown, owner)
				continue
			}
			require.True(t, shown, owner)
			assert.EqualValues(t, n, row["views"], owner)
			assert.EqualValues(t, len(viewers[owner]), row["users"], owner)
			assert.EqualValues(t, fromOthers[owner], row["views_from_other_teams"], owner)
		}
	})
	c.stop(t)
}

// organisation is the simulated world's catalog, as the simulator knows it (independently of the collector's
// snapshot).
type organisation struct {
	teams     map[string][]string        // user ref → direct teams
	above     map[string][]string        // group ref → itself and its ancestors
	memberSet map[string]map[string]bool // group ref → users, sub-groups' included
	owner     map[string]string          // entity ref → owning group
}

func newOrganisation(w *simulator.World) *organisation {
	o := &organisation{teams: map[string][]string{}, above: map[string][]string{}, memberSet: w.Members(), owner: map[string]string{}}
	for _, g := range w.Groups {
		o.above[g.Ref] = w.Above(g.Ref)
	}
	for _, u := range w.Users {
		o.teams[u.Ref] = u.Teams
	}
	for _, e := range w.Entities {
		o.owner[e.Ref()] = e.Owner
	}
	return o
}

func (o *organisation) members(group string) int { return len(o.memberSet[group]) }

// activity credits the events that pass keep to each group of their user (sub-groups' to their ancestors): the
// distinct users and the events of each group.
func (o *organisation) activity(events []wireformat.Occurrence, keep func(wireformat.Occurrence) bool) (map[string]map[string]bool, map[string]int) {
	users, count := map[string]map[string]bool{}, map[string]int{}
	for _, e := range events {
		if !keep(e) {
			continue
		}
		credited := map[string]bool{}
		for _, team := range o.teams[e.User] {
			for _, g := range o.above[team] {
				credited[g] = true
			}
		}
		for g := range credited {
			if users[g] == nil {
				users[g] = map[string]bool{}
			}
			users[g][e.User] = true
			count[g]++
		}
	}
	return users, count
}

// firstAndKeyAction returns each user's first event time and first create at or after it (times to the
// millisecond, as the wire format carries them).
func firstAndKeyAction(events []wireformat.Occurrence) (first, reached map[string]time.Time) {
	first, reached = map[string]time.Time{}, map[string]time.Time{}
	for _, e := range events {
		at := e.Time.Truncate(time.Millisecond)
		if f, ok := first[e.User]; !ok || at.Before(f) {
			first[e.User] = at
		}
	}
	for _, e := range events {
		at := e.Time.Truncate(time.Millisecond)
		if r, ok := reached[e.User]; e.Action == semconv.ActionCreate && (!ok || at.Before(r)) {
			reached[e.User] = at
		}
	}
	return first, reached
}

// entityOf is the entity a navigate event shows: its route parameters (Backstage's entity pages carry them).
func entityOf(e wireformat.Occurrence) string {
	kind, _ := e.Attributes["kind"].(string)
	name, _ := e.Attributes["name"].(string)
	if kind == "" || name == "" {
		return ""
	}
	return strings.ToLower(kind) + ":default/" + strings.ToLower(name)
}

func median(values []float64) float64 {
	slices.Sort(values)
	n := len(values)
	if n%2 == 1 {
		return values[n/2]
	}
	return (values[n/2-1] + values[n/2]) / 2
}

// rows turns a query answer into one map per row, by column name.
func rows(answer map[string]any) []map[string]any {
	var names []string
	for _, c := range answer["columns"].([]any) {
		names = append(names, c.(map[string]any)["name"].(string))
	}
	var out []map[string]any
	for _, r := range answer["rows"].([]any) {
		row := map[string]any{}
		for i, v := range r.([]any) {
			row[names[i]] = v
		}
		out = append(out, row)
	}
	return out
}

func byKey(rows []map[string]any, column string) map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, r := range rows {
		out[r[column].(string)] = r
	}
	return out
}
