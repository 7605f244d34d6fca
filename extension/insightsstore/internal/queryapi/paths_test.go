package queryapi

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/insights-collector/insights-collector/internal/analyticsdb"
	"github.com/insights-collector/insights-collector/internal/semconv"
	"github.com/insights-collector/insights-collector/internal/wireformat"
)

// pathSessions returns the simulated sessions that began (first page view) in the query range, as their users
// and their page views' nodes — with dedup, a node repeated in a row once (hit if the anchor matched in the run).
func pathSessions(f *fixture, node func(wireformat.Occurrence) string, anchor func(wireformat.Occurrence) bool, dedup bool) (users []string, walks [][]pathView) {
	bySession := map[string][]wireformat.Occurrence{}
	var order []string
	for _, e := range f.events {
		if e.Action != semconv.ActionNavigate {
			continue
		}
		if bySession[e.SessionID] == nil {
			order = append(order, e.SessionID)
		}
		bySession[e.SessionID] = append(bySession[e.SessionID], e)
	}
	for _, id := range order {
		views := bySession[id]
		sort.SliceStable(views, func(i, j int) bool { return views[i].Time.Before(views[j].Time) })
		if !inRange(views[0].Time) {
			continue
		}
		var walk []pathView
		for _, v := range views {
			n := node(v)
			if dedup && len(walk) > 0 && walk[len(walk)-1].node == n {
				walk[len(walk)-1].hit = walk[len(walk)-1].hit || anchor(v)
				continue
			}
			walk = append(walk, pathView{node: n, hit: anchor(v)})
		}
		users, walks = append(users, views[0].User), append(walks, walk)
	}
	return users, walks
}

type pathView struct {
	node string
	hit  bool
}

type edge struct {
	step           int
	source, target string
}

// expectedEdges walks each session from its anchor (first hit; without one, the first view) forward, or back to
// its last hit (the last view), and counts the edges' sessions and users; edges of fewer than k users are dropped.
func expectedEdges(users []string, walks [][]pathView, depth int, previous, anchored bool) map[edge][2]int {
	sessions, people := map[edge]int{}, map[edge]map[string]bool{}
	add := func(e edge, user string) {
		sessions[e]++
		if people[e] == nil {
			people[e] = map[string]bool{}
		}
		people[e][user] = true
	}
	for s, walk := range walks {
		a := -1
		switch {
		case !anchored && !previous:
			a = 0
		case !anchored:
			a = len(walk) - 1
		default:
			for i, v := range walk {
				if v.hit && (a < 0 || previous) {
					a = i
				}
			}
		}
		if a < 0 {
			continue
		}
		for step := 1; step <= depth; step++ {
			if previous {
				i := a - step + 1
				if i < 0 {
					break
				}
				source := pathStart
				if i > 0 {
					source = walk[i-1].node
				}
				add(edge{step, source, walk[i].node}, users[s])
				continue
			}
			i := a + step - 1
			if i >= len(walk) {
				break
			}
			target := pathEnd
			if i+1 < len(walk) {
				target = walk[i+1].node
			}
			add(edge{step, walk[i].node, target}, users[s])
		}
	}
	out := map[edge][2]int{}
	for e, n := range sessions {
		if len(people[e]) >= testK {
			out[e] = [2]int{n, len(people[e])}
		}
	}
	return out
}

func gotEdges(t *testing.T, res Result) map[edge][2]int {
	t.Helper()
	out := map[edge][2]int{}
	for _, row := range res.Rows {
		e := edge{int(row[0].(float64)), row[1].(string), row[2].(string)}
		require.Equal(t, fmt.Sprintf("%d:%s", e.step-1, e.source), row[3])
		require.Equal(t, fmt.Sprintf("%d:%s", e.step, e.target), row[4])
		out[e] = [2]int{int(row[5].(float64)), int(row[6].(float64))}
	}
	return out
}

var (
	entityPage   = regexp.MustCompile(`^/(catalog|docs)/[^/]+/([^/]+)/[^/]+`)
	templatePage = regexp.MustCompile(`^/create/templates/[^/]+/[^/]+`)
	taskPage     = regexp.MustCompile(`^/create/tasks/[^/]+`)
)

func pluginNode(e wireformat.Occurrence) string { return e.Context["pluginId"].(string) }

func routeNode(e wireformat.Occurrence) string {
	path, _, _ := strings.Cut(e.Subject, "?")
	path, _, _ = strings.Cut(path, "#")
	path = entityPage.ReplaceAllString(path, "/$1/:namespace/$2/:name")
	path = templatePage.ReplaceAllString(path, "/create/templates/:namespace/:name")
	return taskPage.ReplaceAllString(path, "/create/tasks/:taskId")
}

// The walks read session_steps where the store's maintenance has built it and page_views for the days still
// pending there: each case is checked as written (every day pending), built, and with a day pending again
// (its session_steps rows out of date must not count), against the same walks in Go.
func TestPaths(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	states := []struct {
		name  string
		apply func(t *testing.T)
	}{
		{"from page views", func(*testing.T) {}},
		{"from session steps", func(t *testing.T) {
			_, err := f.store.BuildSessionSteps(ctx)
			require.NoError(t, err)
		}},
		{"a day pending", func(t *testing.T) {
			day := analyticsdb.SessionDay(queryFrom.Add(36 * time.Hour).UnixMilli())
			_, err := f.store.DB().Exec(`INSERT INTO rollup_days VALUES ('session_steps', ?) ON CONFLICT DO NOTHING`, day)
			require.NoError(t, err)
			days, err := analyticsdb.PendingSessionDays(ctx, f.store.DB())
			require.NoError(t, err)
			require.Equal(t, []time.Time{day}, days)
		}},
	}
	for _, state := range states {
		t.Run(state.name, func(t *testing.T) {
			state.apply(t)
			checkPaths(t, f)
		})
	}
	for name, bad := range map[string]*Paths{
		"depth":         {Depth: maxPathDepth + 1},
		"node":          {Node: "team"},
		"anchor event":  {Anchor: &Step{Event: "backstage.click", Plugin: "catalog"}},
		"empty anchor":  {Anchor: &Step{}},
		"entity anchor": {Anchor: &Step{Plugin: "catalog", EntityKind: "component"}},
	} {
		req := baseRequest("paths")
		req.Paths = bad
		assert.Equal(t, http.StatusBadRequest, f.do(t, http.MethodPost, "/api/v1/query", viewerToken, req).status, name)
	}
}

func checkPaths(t *testing.T, f *fixture) {
	noAnchor := func(wireformat.Occurrence) bool { return false }
	techdocs := func(e wireformat.Occurrence) bool { return pluginNode(e) == "techdocs" }
	for _, tc := range []struct {
		name     string
		paths    *Paths
		lens     string
		node     func(wireformat.Occurrence) string
		anchor   func(wireformat.Occurrence) bool
		depth    int
		previous bool
		views    bool // every view a step (route nodes)
	}{
		{name: "from the session's first page", node: pluginNode, anchor: noAnchor, depth: defaultPathDepth},
		{name: "after TechDocs", paths: &Paths{Anchor: &Step{Plugin: "techdocs"}, Depth: 4}, node: pluginNode, anchor: techdocs, depth: 4},
		{name: "into the session's last page", lens: LensPrevious, node: pluginNode, anchor: noAnchor, depth: defaultPathDepth, previous: true},
		{name: "before TechDocs", lens: LensPrevious, paths: &Paths{Anchor: &Step{Plugin: "techdocs"}}, node: pluginNode, anchor: techdocs, depth: defaultPathDepth, previous: true},
		{name: "by route", paths: &Paths{Node: NodeRoute, Depth: 2}, node: routeNode, anchor: noAnchor, depth: 2, views: true},
		{name: "by route from a docs page", paths: &Paths{Node: NodeRoute, Anchor: &Step{SubjectPrefix: "/docs/"}}, node: routeNode,
			anchor: func(e wireformat.Occurrence) bool { return strings.HasPrefix(e.Subject, "/docs/") }, depth: defaultPathDepth, views: true},
		{name: "by route into the last page", lens: LensPrevious, paths: &Paths{Node: NodeRoute}, node: routeNode, anchor: noAnchor,
			depth: defaultPathDepth, previous: true, views: true},
		{name: "by route into a template run's task page", lens: LensPrevious, paths: &Paths{Node: NodeRoute, Depth: 2, Anchor: &Step{SubjectPrefix: "/create/tasks/"}},
			node: routeNode, anchor: func(e wireformat.Occurrence) bool { return strings.HasPrefix(e.Subject, "/create/tasks/") }, depth: 2,
			previous: true, views: true},
		// Each way of finding the anchor: a plugin's page by plugin or by route, a page's view mapped to its
		// plugin's page, a subject, a subject prefix, and both at once.
		{name: "by route after TechDocs", paths: &Paths{Node: NodeRoute, Anchor: &Step{Plugin: "techdocs"}}, node: routeNode, anchor: techdocs,
			depth: defaultPathDepth, views: true},
		{name: "after a docs page", paths: &Paths{Anchor: &Step{SubjectPrefix: "/docs/"}}, node: pluginNode,
			anchor: func(e wireformat.Occurrence) bool { return strings.HasPrefix(e.Subject, "/docs/") }, depth: defaultPathDepth},
		{name: "before the catalog's home", lens: LensPrevious, paths: &Paths{Anchor: &Step{Subject: "/catalog"}}, node: pluginNode,
			anchor: func(e wireformat.Occurrence) bool { return e.Subject == "/catalog" }, depth: defaultPathDepth, previous: true},
		{name: "by route before an entity page", lens: LensPrevious, paths: &Paths{Node: NodeRoute, Depth: 2, Anchor: &Step{Plugin: "catalog", SubjectPrefix: "/catalog/"}},
			node: routeNode, anchor: func(e wireformat.Occurrence) bool {
				return pluginNode(e) == "catalog" && strings.HasPrefix(e.Subject, "/catalog/")
			},
			depth: 2, previous: true, views: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := baseRequest("paths")
			req.Paths, req.Lens, req.Limit = tc.paths, tc.lens, maxLimit
			res := f.query(t, req)
			users, walks := pathSessions(f, tc.node, tc.anchor, !tc.views)
			want := expectedEdges(users, walks, tc.depth, tc.previous, tc.paths != nil && tc.paths.Anchor != nil)
			require.NotEmpty(t, want)
			assert.Equal(t, want, gotEdges(t, res))
		})
	}

	for _, kind := range []struct {
		node  string
		of    func(wireformat.Occurrence) string
		views bool
	}{{NodePlugin, pluginNode, false}, {NodeRoute, routeNode, true}} {
		t.Run("journeys by "+kind.node, func(t *testing.T) {
			const depth = 5 // longer than some sessions
			req := baseRequest("paths")
			req.Lens, req.Limit, req.Paths = LensJourneys, maxLimit, &Paths{Depth: depth, Node: kind.node}
			res := f.query(t, req)
			users, walks := pathSessions(f, kind.of, noAnchor, !kind.views)
			sessions, people := map[string]int{}, map[string]map[string]bool{}
			for s, walk := range walks {
				var nodes []string
				for _, v := range walk[:min(len(walk), depth)] {
					nodes = append(nodes, v.node)
				}
				j := strings.Join(nodes, " → ")
				if len(walk) > depth {
					j += " → …"
				}
				sessions[j]++
				if people[j] == nil {
					people[j] = map[string]bool{}
				}
				people[j][users[s]] = true
			}
			want := map[string][2]int{}
			for j, n := range sessions {
				if len(people[j]) >= testK {
					want[j] = [2]int{n, len(people[j])}
				}
			}
			got := map[string][2]int{}
			for _, row := range res.Rows {
				got[row[0].(string)] = [2]int{int(row[1].(float64)), int(row[2].(float64))}
			}
			require.NotEmpty(t, want)
			assert.Equal(t, want, got)
			assert.GreaterOrEqual(t, res.Rows[0][1], res.Rows[len(res.Rows)-1][1], "the most common first")
		})
	}
}

func TestSessionSpans(t *testing.T) {
	day := func(d int) time.Time { return time.Date(2026, 11, d, 0, 0, 0, 0, time.UTC) }
	from, to := day(10).Add(6*time.Hour), day(14).Add(6*time.Hour)
	for _, tc := range []struct {
		name    string
		pending []time.Time
		want    []sessionSpan
	}{
		{"none pending", nil, []sessionSpan{{from, to, false}}},
		{"outside the range", []time.Time{day(2), day(20)}, []sessionSpan{{from, to, false}}},
		{"one in the middle", []time.Time{day(12)}, []sessionSpan{{from, day(12), false}, {day(12), day(13), true}, {day(13), to, false}}},
		{"adjacent days merge", []time.Time{day(11), day(12)}, []sessionSpan{{from, day(11), false}, {day(11), day(13), true}, {day(13), to, false}}},
		{"cut at the range's ends", []time.Time{day(10), day(14)}, []sessionSpan{{from, day(11), true}, {day(11), day(14), false}, {day(14), to, true}}},
		{"all pending", []time.Time{day(10), day(11), day(12), day(13), day(14)}, []sessionSpan{{from, to, true}}},
	} {
		t.Run(tc.name, func(t *testing.T) { assert.Equal(t, tc.want, sessionSpans(from, to, tc.pending)) })
	}
}
