package queryapi

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Funnel is what the funnel metric measures (Request.Funnel).
type Funnel struct {
	// Steps are 2 to 10 event filters, in order.
	Steps []Step `json:"steps"`
	// WithinHours is the conversion window from a user's first step (default 168: a week).
	WithinHours int `json:"within_hours,omitempty"`
	// Session keeps every later step in the session of the first.
	Session bool `json:"session,omitempty"`
	// Order is sequential (each step after the one before, other events between them allowed; the default) or
	// any (each step anywhere in the window after the first step).
	Order string `json:"order,omitempty"`
	// NewUsers keeps the users first seen in the range: an onboarding funnel.
	NewUsers bool `json:"new_users,omitempty"`
}

// Step matches events: an event name, and optionally a plugin, a subject (exact or by prefix), an entity kind
// and attributes (by their names on the event, backstage.attributes.<name>) with given values. Custom metrics
// in the collector's config use it too.
type Step struct {
	Name          string            `json:"name,omitempty" mapstructure:"name"` // a label (default: the event name)
	Event         string            `json:"event" mapstructure:"event"`
	Plugin        string            `json:"plugin,omitempty" mapstructure:"plugin"`
	Subject       string            `json:"subject,omitempty" mapstructure:"subject"`
	SubjectPrefix string            `json:"subject_prefix,omitempty" mapstructure:"subject_prefix"`
	EntityKind    string            `json:"entity_kind,omitempty" mapstructure:"entity_kind"`
	Attributes    map[string]string `json:"attributes,omitempty" mapstructure:"attributes"`
}

// Funnel orders.
const (
	OrderSequential = "sequential"
	OrderAny        = "any"
)

const (
	maxFunnelSteps     = 10
	defaultFunnelHours = 7 * 24
	maxFunnelHours     = 90 * 24
)

func validateFunnel(f *Funnel, m *Metric) error {
	switch {
	case !m.NeedsFunnel && f != nil:
		return badRequest("funnel", "%s takes no funnel", m.Name)
	case !m.NeedsFunnel, f == nil && m.FunnelOptional:
		return nil
	case f == nil:
		return badRequest("funnel", "is required: {steps: [{event: backstage.navigate, subject_prefix: /create}, {event: backstage.create}], within_hours: 168}")
	case len(f.Steps) < 2 || len(f.Steps) > maxFunnelSteps:
		return badRequest("funnel.steps", "a funnel has 2 to %d steps, not %d", maxFunnelSteps, len(f.Steps))
	case f.WithinHours < 0 || f.WithinHours > maxFunnelHours:
		return badRequest("funnel.within_hours", "must be between 1 and %d (90 days)", maxFunnelHours)
	}
	switch f.Order {
	case "":
		f.Order = OrderSequential
	case OrderSequential, OrderAny:
	default:
		return badRequest("funnel.order", "unknown order %q: %s or %s", f.Order, OrderSequential, OrderAny)
	}
	if f.WithinHours == 0 {
		f.WithinHours = defaultFunnelHours
	}
	for i, s := range f.Steps {
		if s.Event == "" {
			return badRequest("funnel.steps["+strconv.Itoa(i)+"].event", "names the event of the step (backstage.<action>)")
		}
		if s.Name == "" {
			f.Steps[i].Name = s.Event
		}
	}
	return nil
}

func funnelMetric() *Metric {
	return &Metric{
		Name: "funnel",
		Description: "A funnel of 2 to 10 steps (funnel.steps: event filters): users whose first step falls in the range, and " +
			"of them how many went on to each later step within funnel.within_hours of their first step (default a week), " +
			"in order (funnel.order sequential: each step after the one before; any: anywhere in the window), in the same " +
			"session if funnel.session; only users first seen in the range if funnel.new_users (an onboarding funnel); per step the users, the conversion from the first step and from the one before, " +
			"and the median time from the step before (any order: from the first step); with group_by team, per team of the users' first step (sub-teams' " +
			"members included); with filters.experiment, the users its cohort processor tagged at their first step, and with group_by variant, per variant. The funnel of a team with fewer than k users at its first step is withheld.",
		NeedsFunnel: true, Filters: []string{FilterInstance, FilterTeam, FilterExperiment}, GroupBy: []string{"team", "variant"},
		Columns: []Column{dimension("team|variant (with group_by)"), ordinal("step", "", "1 is the first"), dimension("name"),
			number("started", "users", "users of the first step"), colUsers,
			number("conversion", "ratio", "users / users of the first step"), number("step_conversion", "ratio", "users / users of the step before"),
			number("median_seconds", "s", "median time from the step before (any order: from the first)")},
		UsersColumn: "started", CohortRows: true, Role: RoleTeamLead, build: funnel,
	}
}

// funnel writes one relation per step, s<i>(user_no, session, t1, t<i>), each from the one before.
func funnel(q *query, b *sqlb) []Column {
	f := q.Funnel
	window := "INTERVAL " + strconv.Itoa(f.WithinHours) + " HOUR"
	// instances binds the filter's values where it is written: placeholders bind in the text's order.
	instances := func() string { return b.in("coalesce(e.instance, '')", q.filter(FilterInstance)) }
	// variant: the user's variant of the experiment filtered by, on the first step's event (the cohort processor
	// tags an assigned user's events with a map from experiment to variant).
	variant := func() string {
		experiments := q.filter(FilterExperiment)
		if len(experiments) == 0 {
			return "NULL"
		}
		path, _ := json.Marshal(experiments[0])
		return "json_extract_string(e.feature_flag_variant, " + b.arg("$."+string(path)) + ")"
	}
	// The first step's session, teams and variant only when the request uses them: reading the wide columns of a
	// month of events was most of an onboarding funnel's time (113 of 127 ms at 10 million events).
	atFirst := func(expr string, needed bool) string {
		if !needed {
			return "NULL"
		}
		return "arg_min(" + expr + ", e.ts)"
	}
	byTeam := q.groupBy() == "team" || len(q.filter(FilterTeam)) > 0
	b.WriteString("WITH s1 AS (SELECT e.user_no, " + atFirst("e.session_id", f.Session) + " AS session, " + atFirst("e.teams", byTeam) + " AS teams, " +
		atFirst(variant(), len(q.filter(FilterExperiment)) > 0) + " AS variant, " +
		"min(e.ts) AS t1, min(e.ts) AS t FROM events e WHERE e.user_no IS NOT NULL AND " + b.timeRange("e.ts", q, 0) + instances() + " AND " + stepSQL(b, f.Steps[0]))
	if f.NewUsers {
		b.WriteString(" AND e.user_no IN (SELECT user_no FROM users GROUP BY 1 HAVING " + b.timeRange("min(first_seen)", q, 0) + ")")
	}
	b.WriteString(" GROUP BY 1)")
	// m: the later steps' candidate events, in one scan: those of the users who started, within the windows of
	// first steps in the range, matching any later step (k<i>: which). The steps join this small relation.
	matches := make([]string, 0, len(f.Steps)-1)
	session := "NULL"
	if f.Session {
		session = "e.session_id"
	}
	b.WriteString(", m AS (SELECT e.user_no, e.ts, " + session + " AS session_id")
	for i := 1; i < len(f.Steps); i++ {
		b.WriteString(", " + stepSQL(b, f.Steps[i]) + " AS k" + strconv.Itoa(i+1))
	}
	b.WriteString(" FROM events e WHERE e.user_no IN (SELECT user_no FROM s1) AND e.ts >= " + b.arg(q.from) + " AND e.ts < " +
		b.arg(q.to.Add(time.Duration(f.WithinHours)*time.Hour)) + instances())
	for i := 1; i < len(f.Steps); i++ {
		matches = append(matches, stepSQL(b, f.Steps[i]))
	}
	b.WriteString(" AND (" + strings.Join(matches, " OR ") + "))")
	for i := 1; i < len(f.Steps); i++ {
		prev := "s" + strconv.Itoa(i) // sequential: after the step before
		if f.Order == OrderAny {
			prev = "s1" // anywhere after the first step
		}
		b.WriteString(", s" + strconv.Itoa(i+1) + " AS (SELECT s.user_no, s.session, s.t1, min(e.ts) AS t FROM " + prev + " s JOIN m e " +
			"ON e.user_no = s.user_no AND e.ts > s.t AND e.ts <= s.t1 + " + window)
		if f.Session {
			b.WriteString(" AND e.session_id = s.session")
		}
		b.WriteString(" WHERE e.k" + strconv.Itoa(i+1) + " GROUP BY ALL)")
	}
	// u: one row per user who started, with the time of each step (NULL: not reached; with any order, a step
	// counts only if every step before it was reached too).
	b.WriteString(", u AS (SELECT s1.user_no, s1.teams, s1.variant, s1.t1 AS t1")
	for i := 2; i <= len(f.Steps); i++ {
		b.WriteString(", s" + strconv.Itoa(i) + ".t AS t" + strconv.Itoa(i))
	}
	b.WriteString(" FROM s1")
	for i := 2; i <= len(f.Steps); i++ {
		b.WriteString(" LEFT JOIN s" + strconv.Itoa(i) + " USING (user_no)")
	}
	b.WriteString(")")
	group, dim := "", "" // the group_by dimension: "team, " or "variant, "
	source := "u"
	if len(q.filter(FilterExperiment)) > 0 {
		source = "(SELECT * FROM u WHERE variant IS NOT NULL)"
	}
	if byTeam {
		b.WriteString(", ut AS (SELECT * FROM (" + credited("(SELECT * FROM "+source+" WHERE teams IS NOT NULL)", "x.*") + ") WHERE true" + b.inTeams(q, "team") + ")")
		source = "(SELECT DISTINCT ON (user_no) * FROM ut)"
		if q.groupBy() == "team" {
			source = "ut"
		}
	}
	if g := q.groupBy(); g != "" {
		group, dim = g+", ", g+", "
	}
	// steps: a row per (team,) step with its users and the median time from the step before.
	var parts []string
	for i := 1; i <= len(f.Steps); i++ {
		reached := make([]string, i)
		for j := range reached {
			reached[j] = "t" + strconv.Itoa(j+1) + " IS NOT NULL"
		}
		median := "NULL"
		if i > 1 {
			median = "quantile_cont(epoch(t" + strconv.Itoa(i) + ") - epoch(t" + strconv.Itoa(i-1) + "), 0.5) FILTER (WHERE " + strings.Join(reached, " AND ") + ")"
			if f.Order == OrderAny {
				median = "quantile_cont(epoch(t" + strconv.Itoa(i) + ") - epoch(t1), 0.5) FILTER (WHERE " + strings.Join(reached, " AND ") + ")"
			}
		}
		parts = append(parts, "SELECT "+group+strconv.Itoa(i)+" AS step, "+b.arg(f.Steps[i-1].Name)+" AS name, count(*) FILTER (WHERE "+
			strings.Join(reached, " AND ")+") AS users, "+median+" AS median_seconds FROM "+source+" GROUP BY ALL")
	}
	partition := ""
	if g := q.groupBy(); g != "" {
		partition = "PARTITION BY " + g + " "
	}
	b.WriteString(", steps AS (" + strings.Join(parts, " UNION ALL ") + ") SELECT " + dim + "step, name, first_value(users) OVER w AS started, users, " +
		"users / nullif(first_value(users) OVER w, 0) AS conversion, users / nullif(lag(users) OVER w, 0) AS step_conversion, median_seconds " +
		"FROM steps WINDOW w AS (" + partition + "ORDER BY step) ORDER BY " + group + "step")
	columns := []Column{}
	if g := q.groupBy(); g != "" {
		columns = append(columns, dimension(g))
	}
	return append(columns, ordinal("step", "", ""), dimension("name"), number("started", "users", ""), colUsers, number("conversion", "ratio", ""),
		number("step_conversion", "ratio", ""), number("median_seconds", "s", ""))
}

// stepSQL is the condition on an event (alias e) of a funnel step.
func stepSQL(b *sqlb, s Step) string {
	return "(e.event_name = " + b.arg(s.Event) + matchSQL(b, "e.", s) + ")"
}

// matchSQL is " AND …" for the step's optional fields, on a relation (alias, given as "e.") with the events'
// plugin_id, subject, entity_kind and attributes columns (as far as the step names them).
func matchSQL(b *sqlb, alias string, s Step) string {
	var sql strings.Builder
	if s.Plugin != "" {
		sql.WriteString(" AND " + alias + "plugin_id = " + b.arg(s.Plugin))
	}
	if s.Subject != "" {
		sql.WriteString(" AND " + alias + "subject = " + b.arg(s.Subject))
	}
	if s.SubjectPrefix != "" {
		sql.WriteString(" AND starts_with(" + alias + "subject, " + b.arg(s.SubjectPrefix) + ")")
	}
	if s.EntityKind != "" {
		sql.WriteString(" AND " + alias + "entity_kind = " + b.arg(s.EntityKind))
	}
	for _, k := range sortedKeys(s.Attributes) {
		path, _ := json.Marshal(k) // a quoted JSON path member: any key is safe
		sql.WriteString(" AND json_extract_string(" + alias + "attributes, " + b.arg("$."+string(path)) + ") = " + b.arg(s.Attributes[k]))
	}
	return sql.String()
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
