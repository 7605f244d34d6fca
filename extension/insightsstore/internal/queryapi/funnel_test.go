package queryapi

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/insights-collector/insights-collector/internal/semconv"
)

// funnelEvents: template page → template run, by hand.
//   - conv0..conv4 (sre): the page, a "Next" click, the run a day later; conv0..conv2 in one session.
//   - late0..late2 (payments): the page, the run 10 days later (outside a week).
//   - rev0, rev1 (payments): the run first, then the page: no run after the page.
//   - mixed0..mixed2 (sre): the page, the run an hour later, the click after the run (in order only for "any").
func funnelEvents(t *testing.T) *fixture {
	te := newTeamEvents()
	event := func(user, team, action, subject string, at time.Time, session string) {
		te.add(user, team, action, at, "")
		a := te.records.At(te.records.Len() - 1).Attributes()
		if subject != "" {
			a.PutStr(semconv.AttrSubject, subject)
		}
		// The cohort processor's tags: conv* in the tour experiment's treatment, late* in its control.
		for prefix, variant := range map[string]string{"k1.conv": "treatment", "k1.late": "control"} {
			if strings.HasPrefix(user, prefix) {
				a.PutEmptyMap(semconv.AttrFeatureFlagVariant).PutStr("tour", variant)
			}
		}
		if session != "" {
			a.PutStr(semconv.AttrSessionID, session)
		}
	}
	start := queryFrom.Add(time.Hour)
	for i := range 5 {
		user, session := fmt.Sprintf("k1.conv%d", i), fmt.Sprintf("s-conv%d", i)
		at := start.Add(time.Duration(i) * time.Minute)
		event(user, "group:default/sre", semconv.ActionNavigate, "/create/templates/default/go-service", at, session)
		event(user, "group:default/sre", semconv.ActionClick, "Next", at.Add(time.Minute), session)
		if i >= 3 {
			session = "s-later" + user
		}
		event(user, "group:default/sre", semconv.ActionCreate, "Task has been created", at.Add(24*time.Hour), session)
	}
	for i := range 3 {
		user := fmt.Sprintf("k1.late%d", i)
		event(user, "group:default/payments", semconv.ActionNavigate, "/create", start, "")
		event(user, "group:default/payments", semconv.ActionCreate, "Task has been created", start.Add(10*24*time.Hour), "")
	}
	for i := range 2 {
		user := fmt.Sprintf("k1.rev%d", i)
		event(user, "group:default/payments", semconv.ActionCreate, "Task has been created", start, "")
		event(user, "group:default/payments", semconv.ActionNavigate, "/create", start.Add(time.Hour), "")
	}
	for i := range 3 {
		user := fmt.Sprintf("k1.mixed%d", i)
		event(user, "group:default/sre", semconv.ActionNavigate, "/create", start, "")
		event(user, "group:default/sre", semconv.ActionCreate, "Task has been created", start.Add(time.Hour), "")
		event(user, "group:default/sre", semconv.ActionClick, "Next", start.Add(2*time.Hour), "")
	}
	return te.serve(t, testTeams)
}

func funnelRequest(f *Funnel) Request {
	req := baseRequest("funnel")
	req.Funnel = f
	return req
}

var (
	stepPage = Step{Name: "template page", Event: "backstage.navigate", SubjectPrefix: "/create"}
	stepNext = Step{Event: "backstage.click", Subject: "Next"}
	stepRun  = Step{Name: "template run", Event: "backstage.create"}
)

func TestFunnel(t *testing.T) {
	f := funnelEvents(t)
	res := f.query(t, funnelRequest(&Funnel{Steps: []Step{stepPage, stepRun}}))
	assert.Equal(t, [][]any{
		{1.0, "template page", 13.0, 13.0, 1.0, nil, nil},
		{2.0, "template run", 13.0, 8.0, 8.0 / 13, 8.0 / 13, 86400.0}, // the median of conv's 5 days and mixed's 3 hours
	}, res.Rows)

	res = f.query(t, funnelRequest(&Funnel{Steps: []Step{stepPage, stepRun}, WithinHours: 12 * 24}))
	assert.Equal(t, 11.0, res.Rows[1][3], "a 12-day window lets the late ones in")

	res = f.query(t, funnelRequest(&Funnel{Steps: []Step{stepPage, stepRun}, Session: true}))
	assert.Equal(t, 3.0, res.Rows[1][3], "conv0..conv2 ran the template in the page's session")

	res = f.query(t, funnelRequest(&Funnel{Steps: []Step{stepPage, stepNext, stepRun}}))
	assert.Equal(t, []any{13.0, 8.0, 5.0}, column(t, res, "users"), "mixed clicked Next after the run")
	res = f.query(t, funnelRequest(&Funnel{Steps: []Step{stepPage, stepNext, stepRun}, Order: OrderAny}))
	assert.Equal(t, []any{13.0, 8.0, 8.0}, column(t, res, "users"), "in any order, mixed went through all three")

	req := funnelRequest(&Funnel{Steps: []Step{stepPage, stepRun}})
	req.GroupBy = []string{"team"}
	res = f.query(t, req)
	assert.Equal(t, [][]any{
		{"group:default/payments", 1.0, "template page", 5.0, 5.0, 1.0, nil, nil},
		{"group:default/payments", 2.0, "template run", 5.0, 0.0, 0.0, 0.0, nil},
		{"group:default/platform", 1.0, "template page", 8.0, 8.0, 1.0, nil, nil},
		{"group:default/platform", 2.0, "template run", 8.0, 8.0, 1.0, 1.0, 86400.0},
		{"group:default/sre", 1.0, "template page", 8.0, 8.0, 1.0, nil, nil},
		{"group:default/sre", 2.0, "template run", 8.0, 8.0, 1.0, 1.0, 86400.0},
	}, res.Rows, "sre's members count for platform too")

	req = funnelRequest(&Funnel{Steps: []Step{stepPage, stepRun}})
	req.GroupBy, req.Filters = []string{"variant"}, map[string][]string{FilterExperiment: {"tour"}}
	assert.Equal(t, [][]any{
		{"control", 1.0, "template page", 3.0, 3.0, 1.0, nil, nil},
		{"control", 2.0, "template run", 3.0, 0.0, 0.0, 0.0, nil},
		{"treatment", 1.0, "template page", 5.0, 5.0, 1.0, nil, nil},
		{"treatment", 2.0, "template run", 5.0, 5.0, 1.0, 1.0, 86400.0},
	}, f.query(t, req).Rows, "per variant of the tour experiment; the untagged users are left out")
	req.Filters = nil
	assert.Equal(t, http.StatusBadRequest, f.do(t, http.MethodPost, "/api/v1/query", viewerToken, req).status, "a variant of which experiment?")

	for name, bad := range map[string]*Funnel{
		"one step":  {Steps: []Step{stepPage}},
		"no event":  {Steps: []Step{stepPage, {Plugin: "scaffolder"}}},
		"order":     {Steps: []Step{stepPage, stepRun}, Order: "sideways"},
		"too long":  {Steps: []Step{stepPage, stepRun}, WithinHours: 100 * 24},
		"no funnel": nil,
	} {
		assert.Equal(t, http.StatusBadRequest, f.do(t, http.MethodPost, "/api/v1/query", viewerToken, funnelRequest(bad)).status, name)
	}
}

// The funnel on the simulated organisation against plain Go over its events: the template page, then a run
// within a week (and within the page's session).
func TestFunnelOnSimulatedData(t *testing.T) {
	f := setup(t)
	type start struct {
		at      time.Time
		session string
	}
	first := map[string]start{}
	for _, e := range f.events {
		if inRange(e.Time) && e.Action == semconv.ActionNavigate && strings.HasPrefix(e.Subject, "/create") {
			if s, ok := first[e.User]; !ok || e.Time.Before(s.at) {
				first[e.User] = start{e.Time, e.SessionID}
			}
		}
	}
	for _, session := range []bool{false, true} {
		reached := map[string]time.Time{}
		for _, e := range f.events {
			s, ok := first[e.User]
			if !ok || e.Action != semconv.ActionCreate || !e.Time.After(s.at) || e.Time.After(s.at.Add(7*24*time.Hour)) || (session && e.SessionID != s.session) {
				continue
			}
			if r, ok := reached[e.User]; !ok || e.Time.Before(r) {
				reached[e.User] = e.Time
			}
		}
		var seconds []float64
		for user, r := range reached {
			seconds = append(seconds, r.Sub(first[user].at).Seconds())
		}
		slices.Sort(seconds)
		median := seconds[len(seconds)/2]
		if len(seconds)%2 == 0 {
			median = (seconds[len(seconds)/2-1] + seconds[len(seconds)/2]) / 2
		}
		res := f.query(t, funnelRequest(&Funnel{Steps: []Step{stepPage, stepRun}, Session: session}))
		require.Len(t, res.Rows, 2)
		assert.Equal(t, float64(len(first)), res.Rows[0][3], "started (session %v)", session)
		assert.Equal(t, float64(len(reached)), res.Rows[1][3], "ran a template (session %v)", session)
		assert.InDelta(t, median, res.Rows[1][6], 1e-3, "median seconds (session %v)", session)
	}
}
