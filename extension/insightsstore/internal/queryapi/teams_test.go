package queryapi

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.uber.org/zap"

	"github.com/insights-collector/insights-collector/internal/analyticsdb"
	"github.com/insights-collector/insights-collector/internal/semconv"
)

// teamEvents builds a store of hand-made events and teams.
type teamEvents struct {
	ld      plog.Logs
	records plog.LogRecordSlice
	n       int
}

func newTeamEvents() *teamEvents {
	ld := plog.NewLogs()
	return &teamEvents{ld: ld, records: ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()}
}

// add appends an event of a user (of a team, when not "") at a time; owner, when not "", is the owner of the
// entity it concerns.
func (te *teamEvents) add(user, team, action string, at time.Time, owner string) {
	lr := te.records.AppendEmpty()
	lr.SetEventName("backstage." + action)
	lr.SetTimestamp(pcommon.NewTimestampFromTime(at))
	a := lr.Attributes()
	a.PutStr(semconv.AttrAction, action)
	a.PutStr(semconv.AttrPluginID, testPlugins[action])
	a.PutStr(semconv.AttrUserHash, user)
	a.PutStr(semconv.AttrEventID, fmt.Sprintf("00000000-0000-4000-8000-%012d", te.n))
	if team != "" {
		a.PutEmptySlice(semconv.AttrUserTeams).AppendEmpty().SetStr(team)
	}
	if owner != "" {
		a.PutStr(semconv.AttrEntityRef, "component:default/checkout")
		a.PutStr(semconv.AttrEntityOwner, owner)
	}
	te.n++
}

// testPlugins is the plugin of each action in the hand-made events.
var testPlugins = map[string]string{semconv.ActionNavigate: "catalog", semconv.ActionSearch: "search", semconv.ActionCreate: "scaffolder"}

// serve stores the events and the teams, and serves the API over them (now is the end of the query range).
func (te *teamEvents) serve(t *testing.T, teams []analyticsdb.Team, tokens ...Token) *fixture {
	store, err := analyticsdb.Open(context.Background(), analyticsdb.Options{Path: filepath.Join(t.TempDir(), "teams.duckdb"), MemoryLimit: "256MB"})
	require.NoError(t, err)
	t.Cleanup(func() { _ = store.Close(context.Background()) })
	if teams != nil {
		require.NoError(t, store.ReplaceTeams(context.Background(), teams, queryTo))
	}
	_, err = store.WriteLogs(context.Background(), te.ld, queryTo)
	require.NoError(t, err)
	server := NewServer(store, append(tokens, Token{Secret: viewerToken, Principal: Principal{Name: "grafana", Role: RoleViewer}}), testK, zap.NewNop())
	server.now = func() time.Time { return queryTo }
	f := &fixture{store: store, server: httptest.NewServer(server.Handler())}
	t.Cleanup(f.server.Close)
	return f
}

// platform (2 direct members) has sre (8) below it; payments (20) and a tiny team (2) stand alone.
var testTeams = []analyticsdb.Team{
	{Team: "group:default/platform", Type: "team", Members: 2, TotalMembers: 10},
	{Team: "group:default/sre", Parent: "group:default/platform", Ancestors: []string{"group:default/platform"}, Type: "team", Members: 8, TotalMembers: 8},
	{Team: "group:default/payments", Type: "team", Members: 20, TotalMembers: 20},
	{Team: "group:default/tiny", Type: "team", Members: 2, TotalMembers: 2},
	{Team: "group:default/engineering", Type: "department", Members: 0, TotalMembers: 30},
}

// team_adoption against a hand-made catalog and events: sub-teams' members count for their parent.
func TestTeamAdoption(t *testing.T) {
	te := newTeamEvents()
	add := func(user, team string, events int) {
		for range events {
			te.add(user, team, semconv.ActionNavigate, queryFrom.Add(time.Duration(te.n)*time.Minute), "")
		}
	}
	for i := range 6 {
		add(fmt.Sprintf("k1.sre%d", i), "group:default/sre", 2) // 6 of sre's 8, 12 events
	}
	add("k1.lead", "group:default/platform", 3) // 1 direct member of platform
	for i := range 5 {
		add(fmt.Sprintf("k1.pay%d", i), "group:default/payments", 1) // 5 of 20
	}
	add("k1.tiny", "group:default/tiny", 1) // a team below the floor
	f := te.serve(t, testTeams)

	res := f.query(t, baseRequest("team_adoption"))
	assert.Equal(t, [][]any{
		{"group:default/sre", 6.0, 8.0, 0.75, 2.0},
		{"group:default/platform", 7.0, 10.0, 0.7, 15.0 / 7},
		{"group:default/payments", 5.0, 20.0, 0.25, 1.0},
	}, res.Rows)
	assert.Equal(t, 1, res.Meta.SuppressedRows, "tiny has fewer than k members")

	req := baseRequest("team_adoption")
	req.Filters = map[string][]string{FilterTeam: {"Group:Default/Platform"}}
	assert.Equal(t, []any{"group:default/sre", "group:default/platform"}, column(t, f.query(t, req), "team"), "a team and the teams below it")
}

// cross_team: views of a team's entities, and those by people of other teams.
func TestCrossTeam(t *testing.T) {
	te := newTeamEvents()
	view := func(user, team string) {
		te.add(user, team, semconv.ActionNavigate, queryFrom.Add(time.Duration(te.n)*time.Minute), "group:default/payments")
	}
	for i := range 6 {
		view(fmt.Sprintf("k1.pay%d", i), "group:default/payments") // the owners themselves
	}
	for i := range 4 {
		view(fmt.Sprintf("k1.sre%d", i), "group:default/sre")
		view(fmt.Sprintf("k1.sre%d", i), "group:default/sre")
	}
	view("k1.nobody", "") // teams unknown: not counted as another team
	f := te.serve(t, testTeams)
	res := f.query(t, baseRequest("cross_team"))
	assert.Equal(t, [][]any{{"group:default/payments", 15.0, 11.0, 8.0, 4.0, 8.0 / 15}}, res.Rows)
}

// team_comparison: every team ranked, zero adoption included; growth against the previous period; the plugin
// mix of the top quartile.
func TestTeamComparison(t *testing.T) {
	te := newTeamEvents()
	previous := queryFrom.Add(-24 * time.Hour)
	for i := range 8 { // sre: all 8 active, 4 of them before too; each searches twice and clicks once, runs a template
		user := fmt.Sprintf("k1.sre%d", i)
		at := queryFrom.Add(time.Duration(i) * time.Hour)
		te.add(user, "group:default/sre", semconv.ActionSearch, at, "")
		te.add(user, "group:default/sre", semconv.ActionSearch, at.Add(time.Minute), "")
		te.add(user, "group:default/sre", semconv.ActionCreate, at.Add(2*time.Minute), "")
		te.records.At(te.records.Len()-1).Attributes().PutStr(semconv.AttrEntityRef, "template:default/go-service") // a run of a template
		if i < 4 {
			te.add(user, "group:default/sre", semconv.ActionNavigate, previous, "")
		}
	}
	for i := range 4 { // payments: 4 of 20, no one before
		te.add(fmt.Sprintf("k1.pay%d", i), "group:default/payments", semconv.ActionNavigate, queryFrom.Add(time.Duration(i)*time.Minute), "")
	}
	f := te.serve(t, testTeams)

	res := f.query(t, baseRequest("team_comparison"))
	assert.Equal(t, []any{"group:default/sre", "group:default/platform", "group:default/payments"}, column(t, res, "team"))
	assert.Equal(t, []any{1.0, 0.8, 0.2}, column(t, res, "adoption"), "platform: sre's 8 of its 10")
	assert.Equal(t, []any{1.0, 1.0, nil}, column(t, res, "growth"), "8 against 4; payments had nobody before")
	assert.Equal(t, []any{1.0, 1.0, 0.0}, column(t, res, "template_runs_per_active_member"))
	assert.Equal(t, []any{16.0, 16.0, 0.0}, column(t, res, "searches"))
	assert.Equal(t, []any{1.0, 2.0, 3.0}, column(t, res, "rank"))
	assert.Equal(t, 1, res.Meta.SuppressedRows, "tiny, at zero, has fewer than k members")

	req := baseRequest("team_comparison")
	req.GroupBy = []string{"plugin"}
	assert.Equal(t, [][]any{{"scaffolder", 1.0, 8.0 / 12, 1.5}, {"search", 1.0, 8.0 / 12, 1.5}, {"catalog", 0.0, 4.0 / 12, 0.0}},
		f.query(t, req).Rows, "sre is the top quartile of four teams; platform (sre's members included) and payments the others")

	req = baseRequest("team_comparison")
	req.Filters = map[string][]string{FilterTeamType: {"department"}}
	res = f.query(t, req)
	assert.Equal(t, [][]any{{"group:default/engineering", 30.0, 0.0, 0.0, 0.0, nil, nil, 0.0, nil, 1.0, 1.0}}, res.Rows,
		"the department's events name its teams, not it: only groups users are members of are credited")
}

// onboarding: new users, who reached a key action within 7 and 30 days, and how long it took.
func TestOnboarding(t *testing.T) {
	te := newTeamEvents()
	first := queryTo.AddDate(0, 0, -10) // first seen 10 days before now: judged on 7 days, not on 30
	for i := range 6 {
		user := fmt.Sprintf("k1.new%d", i)
		te.add(user, "group:default/sre", semconv.ActionNavigate, first.Add(time.Duration(i)*time.Minute), "")
		switch {
		case i < 2: // within a day
			te.add(user, "group:default/sre", semconv.ActionCreate, first.Add(time.Duration(i)*time.Minute+24*time.Hour), "")
		case i < 3: // after 8 days
			te.add(user, "group:default/sre", semconv.ActionCreate, first.Add(time.Duration(i)*time.Minute+8*24*time.Hour), "")
		}
	}
	te.add("k1.old", "group:default/sre", semconv.ActionNavigate, queryFrom.Add(-time.Hour), "") // seen before the range
	te.add("k1.old", "group:default/sre", semconv.ActionCreate, first, "")
	f := te.serve(t, testTeams)

	res := f.query(t, baseRequest("onboarding"))
	require.Len(t, res.Rows, 1)
	assert.Equal(t, []any{6.0, 3.0, 2.0 / 6, nil, 24.0}, res.Rows[0], "the median of 24, 24 and 192 hours")

	req := baseRequest("onboarding")
	req.GroupBy = []string{"team"}
	assert.Equal(t, []any{"group:default/platform", "group:default/sre"}, column(t, f.query(t, req), "team"))
	req.Filters = map[string][]string{FilterKeyAction: {semconv.ActionNavigate}}
	assert.Equal(t, []any{6.0, 6.0}, column(t, f.query(t, req), "reached"), "every first event is a navigate")
	req = baseRequest("onboarding")
	req.Filters = map[string][]string{FilterTeam: {"group:default/payments"}}
	assert.Equal(t, []any{0.0}, column(t, f.query(t, req), "new_users"), "no new user in payments")
}

// A team lead sees the team metrics of their teams (and those below them) only.
func TestTeamLead(t *testing.T) {
	te := newTeamEvents()
	for i := range 10 { // payments 10 of 20 active, sre 3 of 8, platform (through sre) 3 of 10
		te.add(fmt.Sprintf("k1.pay%d", i), "group:default/payments", semconv.ActionNavigate, queryFrom.Add(time.Duration(i)*time.Minute), "")
		if i < 3 {
			te.add(fmt.Sprintf("k1.sre%d", i), "group:default/sre", semconv.ActionNavigate, queryFrom.Add(time.Duration(i)*time.Minute), "")
		}
	}
	const leadToken = "platform-lead-token"
	f := te.serve(t, testTeams, Token{Secret: leadToken, Principal: Principal{Name: "pat", Role: RoleTeamLead, Teams: []string{"group:default/platform"}}})
	ask := func(req Request) answer { return f.do(t, http.MethodPost, "/api/v1/query", leadToken, req) }

	res := ask(baseRequest("team_adoption")).result(t)
	assert.Equal(t, []any{"group:default/sre", "group:default/platform"}, column(t, res, "team"), "not payments")
	res = ask(baseRequest("team_comparison")).result(t)
	assert.Equal(t, []any{"group:default/sre", "group:default/platform"}, column(t, res, "team"))
	assert.Equal(t, []any{2.0, 3.0}, column(t, res, "rank"), "ranked among all teams")

	req := baseRequest("team_adoption")
	req.Filters = map[string][]string{FilterTeam: {"group:default/sre"}}
	assert.Equal(t, []any{"group:default/sre"}, column(t, ask(req).result(t), "team"), "a team below theirs")
	req.Filters = map[string][]string{FilterTeam: {"group:default/sre", "group:default/payments"}}
	denied := ask(req)
	assert.Equal(t, http.StatusForbidden, denied.status)
	assert.Equal(t, "filters.team", denied.apiError(t).Field)
	assert.Contains(t, denied.apiError(t).Message, "not group:default/payments")

	assert.Equal(t, http.StatusOK, ask(baseRequest("engagement")).status, "the tier mix of their teams' members")
	denied = ask(baseRequest("plugin_adoption"))
	assert.Equal(t, http.StatusForbidden, denied.status, "only the team metrics")
	assert.Contains(t, denied.apiError(t).Message, "needs the role viewer")
}
