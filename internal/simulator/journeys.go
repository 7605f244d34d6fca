package simulator

import (
	"math"
	"math/rand/v2"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/insights-collector/insights-collector/internal/semconv"
	"github.com/insights-collector/insights-collector/internal/wireformat"
)

// What a user does in one step of a session; users favour some of them (User.affinity).
const (
	actCatalog = iota
	actSearch
	actTemplate
	actDocs
	actAPIDocs
	actKubernetes
	actSettings
	numActivities
)

// activityPlugins are the plugins of the activities.
var activityPlugins = [numActivities]string{"catalog", "search", "scaffolder", "techdocs", "api-docs", "kubernetes", "user-settings"}

// activityWeights are the organisation-wide shares of the activities.
var activityWeights = [numActivities]float64{0.34, 0.2, 0.08, 0.2, 0.08, 0.07, 0.03}

// Day returns the events of simulated day `day` (0 is Config.Start's date), sorted by time. The events of a
// user and day depend only on the seed, the user and the day, so days can be generated in any order.
func (w *World) Day(day int) []wireformat.Occurrence {
	date := w.start.AddDate(0, 0, day)
	var out []wireformat.Occurrence
	for i := range w.Users {
		out = append(out, w.userDay(i, day, date)...)
	}
	slices.SortStableFunc(out, func(a, b wireformat.Occurrence) int { return a.Time.Compare(b.Time) })
	return out
}

// DayStart returns midnight (in the configured time zone) of a simulated day.
func (w *World) DayStart(day int) time.Time { return w.start.AddDate(0, 0, day) }

func (w *World) userDay(i, day int, date time.Time) []wireformat.Occurrence {
	u := &w.Users[i]
	if day < u.JoinDay || (u.dropsOut && day > u.JoinDay) {
		return nil
	}
	rng := rand.New(rand.NewPCG(w.cfg.Seed^(uint64(i+1)*0x9E3779B97F4A7C15), uint64(day)+1))
	intensity := w.cfg.Intensity
	p := math.Min(0.98, u.activity*intensity)
	if wd := date.Weekday(); wd == time.Saturday || wd == time.Sunday {
		p *= 0.08
	}
	firstDay := day == u.JoinDay && u.JoinDay > 0
	if firstDay {
		p = 1 // a new user shows up on the day they join
	}
	if rng.Float64() >= p {
		return nil
	}
	starts := sessionStarts(rng, date, 1+poisson(rng, u.activity*1.5*intensity))
	var out []wireformat.Occurrence
	var end time.Time
	for n, start := range starts {
		// Sessions are separated by more than the 30-minute inactivity gap product analytics tools use.
		if earliest := end.Add(40 * time.Minute); start.Before(earliest) {
			start = earliest.Add(time.Duration(rng.IntN(3600)) * time.Second)
		}
		s := &session{w: w, u: u, rng: rng, t: start, id: newUUID(rng), day: day}
		if !s.run(firstDay && n == 0) {
			return append(out, s.events...) // the user left
		}
		out = append(out, s.events...)
		end = s.t
	}
	return out
}

// sessionStarts draws session start times in working hours: peaks mid-morning and mid-afternoon.
func sessionStarts(rng *rand.Rand, date time.Time, n int) []time.Time {
	starts := make([]time.Time, n)
	for i := range starts {
		peak := 10.0
		if rng.Float64() < 0.45 {
			peak = 14.5
		}
		hour := math.Min(19.5, math.Max(7, peak+rng.NormFloat64()*1.4))
		starts[i] = date.Add(time.Duration(hour * float64(time.Hour)))
	}
	slices.SortFunc(starts, func(a, b time.Time) int { return a.Compare(b) })
	return starts
}

func poisson(rng *rand.Rand, lambda float64) int {
	limit, k, p := math.Exp(-lambda), 0, 1.0
	for {
		p *= rng.Float64()
		if p <= limit {
			return k
		}
		k++
	}
}

func newUUID(rng *rand.Rand) string {
	var u uuid.UUID
	for i := range u {
		u[i] = byte(rng.IntN(256))
	}
	u[6] = (u[6] & 0x0f) | 0x40
	u[8] = (u[8] & 0x3f) | 0x80
	return u.String()
}

// session builds one visit: a page load, then steps of the user's favourite activities.
type session struct {
	w      *World
	u      *User
	rng    *rand.Rand
	t      time.Time
	id     string
	day    int
	events []wireformat.Occurrence
}

// run simulates the session; false: the user left for good.
func (s *session) run(firstEver bool) bool {
	s.emit(semconv.ActionNavigate, "/", nil, nil, "app", "app/root")
	s.pause(150 * time.Millisecond)
	s.emit(semconv.ActionSignIn, "success", nil, nil, "app", "sign-in-page:app")
	s.pause(200 * time.Millisecond)
	s.navigate("/", "home", "page:home", nil)
	if firstEver {
		// Onboarding: new users read the getting-started docs and look around the catalog.
		s.step(actDocs)
		if s.u.dropsOut {
			return false
		}
		s.step(actCatalog)
	}
	steps := 1 + min(geometric(s.rng, 0.25), 14)
	for range steps {
		s.pause(25 * time.Second)
		s.step(s.pickActivity())
	}
	if s.u.effect > 0 && s.rng.Float64() < s.u.effect { // an experiment's effect (no draw without one)
		s.pause(25 * time.Second)
		s.step(actTemplate)
	}
	return true
}

// gone says whether a use of a plugin does not happen: it collapsed (Scenarios.Collapse). It draws only for
// the collapsed plugin after the collapse, so that the other sessions are as without the scenario.
func (s *session) gone(plugin string) bool {
	c := s.w.cfg.Scenarios.Collapse
	return c != nil && plugin == c.Plugin && s.day >= c.Day && s.rng.Float64() >= c.Share
}

func (s *session) pickActivity() int {
	total := 0.0
	for _, w := range s.u.affinity {
		total += w
	}
	r := s.rng.Float64() * total
	for a, w := range s.u.affinity {
		if r < w {
			return a
		}
		r -= w
	}
	return actCatalog
}

func (s *session) step(activity int) {
	if s.gone(activityPlugins[activity]) {
		return
	}
	switch activity {
	case actCatalog:
		s.navigate("/catalog", "catalog", "page:catalog", nil)
		s.pause(8 * time.Second)
		s.openEntity(s.w.Entities[s.w.entityPick.pick(s.rng)], "page:catalog")
	case actSearch:
		s.search()
	case actTemplate:
		s.createFromTemplate()
	case actDocs:
		s.readDocs()
	case actAPIDocs:
		s.navigate("/api-docs", "api-docs", "page:api-docs", nil)
		s.pause(6 * time.Second)
		for range 8 {
			if e := s.w.Entities[s.w.entityPick.pick(s.rng)]; e.Kind == "api" {
				s.openEntity(e, "page:api-docs")
				return
			}
		}
	case actKubernetes:
		e := s.w.Entities[s.w.entityPick.pick(s.rng)]
		s.openEntity(e, "page:catalog")
		s.pause(5 * time.Second)
		s.tab(e, "Kubernetes", "kubernetes", "kubernetes", "entity-content:kubernetes/kubernetes")
	case actSettings:
		s.navigate("/settings", "user-settings", "page:user-settings", nil)
		s.pause(300 * time.Millisecond)
		s.navigate("/settings/general", "user-settings", "sub-page:user-settings/general", nil)
	}
}

func (s *session) openEntity(e Entity, from string) {
	path := entityPath(e)
	s.emit(semconv.ActionClick, path, nil, map[string]any{"to": path}, pluginOf(from), from)
	s.pause(60 * time.Millisecond)
	s.navigate(path, "catalog", "entity-content:catalog/overview", routeParams(e))
	if s.rng.Float64() < 0.3 {
		s.pause(10 * time.Second)
		if e.HasDocs && s.rng.Float64() < 0.5 {
			s.tab(e, "Docs", "docs", "techdocs", "entity-content:techdocs/docs")
		} else {
			s.tab(e, "APIs", "apis", "api-docs", "entity-content:api-docs/apis")
		}
	}
}

// tab clicks an entity page tab and lands on it.
func (s *session) tab(e Entity, label, sub, pluginID, extensionID string) {
	if s.gone(pluginID) {
		return
	}
	path := entityPath(e) + "/" + sub
	s.emitWithEntity(semconv.ActionClick, label, nil, map[string]any{"to": path}, "catalog", "page:catalog/entity", e.Ref())
	s.pause(50 * time.Millisecond)
	s.navigate(path, pluginID, extensionID, routeParams(e))
}

func (s *session) search() {
	term := s.w.Terms[s.w.termPick.pick(s.rng)]
	s.navigate("/search?query="+url.QueryEscape(term.Term), "search", "page:search", nil)
	s.pause(900 * time.Millisecond)
	results := 0.0
	if !term.ZeroResults {
		results = float64(1 + s.rng.IntN(25))
	}
	s.emit(semconv.ActionSearch, term.Term, &results, nil, "search", "page:search")
	if results == 0 || s.rng.Float64() > 0.6 {
		return // no click-through
	}
	s.pause(6 * time.Second)
	rank := float64(1 + min(geometric(s.rng, 0.5), int(results)-1))
	e := s.w.Entities[s.w.entityPick.pick(s.rng)]
	path := entityPath(e)
	s.events = append(s.events, s.occurrence(semconv.ActionDiscover, e.Name, &rank, map[string]any{"to": path},
		map[string]any{"pluginId": "catalog", "extensionId": "search-result-list-item:catalog", "searchTypes": "", "extension": "SearchResult"}))
	s.pause(70 * time.Millisecond)
	s.navigate(path, "catalog", "entity-content:catalog/overview", routeParams(e))
}

func (s *session) createFromTemplate() {
	tpl := s.w.Templates[s.w.templatePick.pick(s.rng)]
	ref := "template:default/" + tpl.Name
	s.navigate("/create", "scaffolder", "page:scaffolder", nil)
	s.pause(80 * time.Millisecond)
	s.navigate("/create/templates", "scaffolder", "sub-page:scaffolder/templates", nil)
	s.pause(7 * time.Second)
	s.emitWithEntity(semconv.ActionClick, "Template has been opened", nil, nil, "scaffolder", "sub-page:scaffolder/templates", ref)
	s.pause(40 * time.Millisecond)
	s.navigate("/create/templates/default/"+tpl.Name, "scaffolder", "sub-page:scaffolder/templates", nil)
	for step := 1; step < tpl.Steps; step++ {
		s.pause(30 * time.Second)
		if s.rng.Float64() < 0.06 {
			return // abandoned the form: a funnel drop-off
		}
		s.emitWithEntity(semconv.ActionClick, "Next Step ("+strconv.Itoa(step)+")", nil, nil, "scaffolder", "sub-page:scaffolder/templates", ref)
	}
	s.pause(20 * time.Second)
	s.emitWithEntity(semconv.ActionClick, "Create", nil, nil, "scaffolder", "sub-page:scaffolder/templates", ref)
	s.pause(100 * time.Millisecond)
	s.navigate("/create/tasks/"+newUUID(s.rng), "scaffolder", "sub-page:scaffolder/tasks", nil)
	minutes := tpl.MinutesSaved
	s.emitWithEntity(semconv.ActionCreate, "Task has been created", &minutes, map[string]any{"templateSteps": tpl.Steps},
		"scaffolder", "sub-page:scaffolder/templates", ref)
}

func (s *session) readDocs() {
	s.navigate("/docs", "techdocs", "page:techdocs", nil)
	s.pause(5 * time.Second)
	e := s.w.Entities[s.w.docs[s.w.docPick.pick(s.rng)]]
	base := "/docs/default/" + e.Kind + "/" + e.Name
	s.navigate(base, "techdocs", "page:techdocs/reader", routeParams(e))
	for s.rng.Float64() < 0.45 {
		s.pause(45 * time.Second)
		page := base + "/" + docPages[s.rng.IntN(len(docPages))] + "/"
		if s.rng.Float64() < 0.05 {
			s.emit(semconv.ActionNotFound, page, nil, nil, "techdocs", "page:techdocs/reader")
			return
		}
		s.navigate(page, "techdocs", "page:techdocs/reader", routeParams(e))
	}
}

var docPages = []string{"getting-started", "architecture", "runbook", "api", "faq", "deployment", "oncall"}

func (s *session) navigate(path, pluginID, extensionID string, params map[string]any) {
	if params == nil {
		params = map[string]any{}
	}
	s.emit(semconv.ActionNavigate, path, nil, params, pluginID, extensionID)
}

func (s *session) emit(action, subject string, value *float64, attrs map[string]any, pluginID, extensionID string) {
	s.events = append(s.events, s.occurrence(action, subject, value, attrs, map[string]any{"pluginId": pluginID, "extensionId": extensionID}))
}

func (s *session) emitWithEntity(action, subject string, value *float64, attrs map[string]any, pluginID, extensionID, entityRef string) {
	s.events = append(s.events, s.occurrence(action, subject, value, attrs,
		map[string]any{"pluginId": pluginID, "extensionId": extensionID, "entityRef": entityRef}))
}

func (s *session) occurrence(action, subject string, value *float64, attrs, ctx map[string]any) wireformat.Occurrence {
	return wireformat.Occurrence{
		Event:     wireformat.Event{Action: action, Subject: subject, Value: value, Attributes: attrs, Context: ctx},
		User:      s.u.Ref,
		Time:      s.t,
		SessionID: s.id,
		Teams:     s.u.Teams,
		ID:        newUUID(s.rng), // as our Backstage module stamps each event
	}
}

// pause advances the session's clock by a log-normal think time around median.
func (s *session) pause(median time.Duration) {
	s.t = s.t.Add(time.Duration(float64(median) * math.Exp(0.7*s.rng.NormFloat64())))
}

func geometric(rng *rand.Rand, p float64) int {
	n := 0
	for rng.Float64() > p {
		n++
	}
	return n
}

func entityPath(e Entity) string { return "/catalog/default/" + e.Kind + "/" + e.Name }

func routeParams(e Entity) map[string]any {
	return map[string]any{"namespace": "default", "kind": e.Kind, "name": e.Name}
}

func pluginOf(extensionID string) string {
	if extensionID == "page:api-docs" {
		return "api-docs"
	}
	return "catalog"
}
