package queryapi

import (
	"strconv"
	"time"

	"github.com/insights-collector/insights-collector/internal/semconv"
)

// Paths is what the paths metric walks (Request.Paths).
type Paths struct {
	// Anchor is the page the walk starts from (lens next) or ends at (lens previous): a navigate event's plugin,
	// subject or subject prefix. Without it, the session's first (next) or last (previous) page.
	Anchor *Step `json:"anchor,omitempty"`
	// Depth is how many steps to walk (default 3, at most 8); journeys are cut at it.
	Depth int `json:"depth,omitempty"`
	// Node is what a step is: plugin (default) or route (the page's path, entity names generalised).
	Node string `json:"node,omitempty"`
}

// Lenses of the paths metric, and its node kinds.
const (
	LensNext     = "next"
	LensPrevious = "previous"
	LensJourneys = "journeys"

	NodePlugin = "plugin"
	NodeRoute  = "route"

	defaultPathDepth = 3
	maxPathDepth     = 8
	// pathEnd and pathStart name where a session ends or begins in a walk.
	pathEnd   = "(end of session)"
	pathStart = "(start of session)"
)

func pathsMetric() *Metric {
	return &Metric{
		Name: "paths",
		Description: "How people move through Backstage, within sessions that began in the range, over their page views " +
			"(navigate events; consecutive views of the same node count once). A node is a plugin or, with paths.node route, " +
			"a page path with namespaces and entity names generalised. Lens next: from the anchor page (paths.anchor, " +
			"else the session's first page) the following paths.depth steps, as edges (step, source, target) with the " +
			"sessions and users that took them — target \"" + pathEnd + "\" where the session ended; lens previous: the " +
			"steps that led to the anchor (else the session's last page), step 1 being the one into it; lens journeys: " +
			"the most common whole journeys of sessions, up to paths.depth nodes (longer ones end in \"…\"). source_id and " +
			"target_id are unique per step, for Sankey and node-graph panels. Rows of fewer than k users are withheld.",
		Lenses: []string{LensNext, LensPrevious, LensJourneys}, Filters: []string{FilterInstance},
		Columns: []Column{ordinal("step", "", "next/previous: 1 is the edge out of (into) the anchor"), dimension("source"), dimension("target"),
			dimension("source_id"), dimension("target_id"), dimension("journey (journeys)"), number("sessions", "sessions", ""), colUsers},
		UsersColumn: "users", Role: RoleViewer, build: paths,
	}
}

func validatePaths(p *Paths, m *Metric) error {
	switch {
	case m.Name != "paths" && p != nil:
		return badRequest("paths", "%s takes no paths", m.Name)
	case m.Name != "paths":
		return nil
	}
	if p == nil {
		p = &Paths{}
	}
	switch {
	case p.Depth < 0 || p.Depth > maxPathDepth:
		return badRequest("paths.depth", "must be between 1 and %d", maxPathDepth)
	case p.Node != "" && p.Node != NodePlugin && p.Node != NodeRoute:
		return badRequest("paths.node", "unknown node %q: %s or %s", p.Node, NodePlugin, NodeRoute)
	case p.Anchor != nil && p.Anchor.Event != "" && p.Anchor.Event != semconv.EventName(semconv.ActionNavigate):
		return badRequest("paths.anchor.event", "a path walks page views: the anchor is a %s event", semconv.EventName(semconv.ActionNavigate))
	case p.Anchor != nil && p.Anchor.Plugin == "" && p.Anchor.Subject == "" && p.Anchor.SubjectPrefix == "":
		return badRequest("paths.anchor", "needs a plugin, subject or subject_prefix")
	}
	return nil
}

// normalisedPaths returns the request's paths with defaults filled in.
func (q *query) normalisedPaths() Paths {
	p := Paths{}
	if q.Paths != nil {
		p = *q.Paths
	}
	if p.Depth == 0 {
		p.Depth = defaultPathDepth
	}
	if p.Node == "" {
		p.Node = NodePlugin
	}
	if p.Anchor != nil {
		anchor := *p.Anchor
		anchor.Event = semconv.EventName(semconv.ActionNavigate)
		p.Anchor = &anchor
	}
	return p
}

// routeSQL generalises a page path: no query or fragment, and the namespace and name of catalog, docs and
// template pages replaced, so that a node is a kind of page rather than one entity's.
func routeSQL(subject string) string {
	path := "regexp_replace(" + subject + ", '[?#].*$', '')"
	path = "regexp_replace(" + path + ", '^/(catalog|docs)/[^/]+/([^/]+)/[^/]+', '/\\1/:namespace/\\2/:name')"
	return "regexp_replace(" + path + ", '^/create/templates/[^/]+/[^/]+', '/create/templates/:namespace/:name')"
}

// sessionReach bounds how far a session reaches beyond the range: the sessionization processor's longest session.
const sessionReach = 24 * time.Hour

// paths writes views(s, u, i, n, node, hit): the page views of the sessions that began in the range, in order
// (i of n), a node repeated in a row counting once; then the lens's walk over them.
func paths(q *query, b *sqlb) []Column {
	p := q.normalisedPaths()
	node := "e.plugin_id"
	if p.Node == NodeRoute {
		node = routeSQL("e.subject")
	}
	hit := "false"
	if p.Anchor != nil {
		hit = stepSQL(b, *p.Anchor)
	}
	// Views of one instant keep the order they arrived in (the session sequence). A session's views are read a session's length either side of the range, so that those that began
	// before it are recognised and those still open at its end are whole.
	b.WriteString("WITH v AS (SELECT e.session_id AS s, e.user_no AS u, e.ts, e.session_sequence AS seq, coalesce(" + node + ", '(unknown)') AS node, " + hit + " AS hit " +
		"FROM events e WHERE e.event_name = " + b.arg(semconv.EventName(semconv.ActionNavigate)) + " AND e.session_id IS NOT NULL AND e.user_no IS NOT NULL" +
		b.in("coalesce(e.instance, '')", q.filter(FilterInstance)) + " AND e.ts >= " + b.arg(q.from.Add(-sessionReach)) + " AND e.ts < " + b.arg(q.to.Add(sessionReach)) + "), " +
		"began AS (SELECT s FROM v GROUP BY s HAVING min(ts) >= " + b.arg(q.from) + " AND min(ts) < " + b.arg(q.to) + "), " +
		"runs AS (SELECT *, sum(CASE WHEN prev IS DISTINCT FROM node THEN 1 ELSE 0 END) OVER (PARTITION BY s ORDER BY ts, seq) AS run " +
		"FROM (SELECT v.*, lag(node) OVER (PARTITION BY s ORDER BY ts, seq) AS prev FROM v JOIN began USING (s))), " +
		"d AS (SELECT s, any_value(u) AS u, min(ts) AS ts, min(seq) AS seq, any_value(node) AS node, bool_or(hit) AS hit FROM runs GROUP BY s, run), " +
		"views AS (SELECT s, u, node, hit, row_number() OVER (PARTITION BY s ORDER BY ts, seq) AS i, count(*) OVER (PARTITION BY s) AS n FROM d)")
	depth := strconv.Itoa(p.Depth)
	if q.Lens == LensJourneys {
		b.WriteString(" SELECT journey, count(*) AS sessions, count(DISTINCT u) AS users FROM (SELECT s, any_value(u) AS u, " +
			"string_agg(node, ' → ' ORDER BY i) || CASE WHEN any_value(n) > " + depth + " THEN ' → …' ELSE '' END AS journey " +
			"FROM views WHERE i <= " + depth + " GROUP BY s) GROUP BY 1 ORDER BY 2 DESC, 1")
		return []Column{dimension("journey"), number("sessions", "sessions", ""), colUsers}
	}
	if q.Lens == LensPrevious {
		anchor := "max(i)"
		if p.Anchor != nil {
			anchor = "max(i) FILTER (WHERE hit)"
		}
		b.WriteString(", anchor AS (SELECT s, " + anchor + " AS a FROM views GROUP BY s HAVING " + anchor + " IS NOT NULL), " +
			"walk AS (SELECT views.*, a - i + 1 AS step, lag(node) OVER (PARTITION BY s ORDER BY i) AS other FROM views JOIN anchor USING (s) WHERE i <= a) " +
			"SELECT step, coalesce(other, " + b.arg(pathStart) + ") AS source, node AS target, ")
	} else {
		anchor := "1"
		if p.Anchor != nil {
			anchor = "min(i) FILTER (WHERE hit)"
		}
		b.WriteString(", anchor AS (SELECT s, " + anchor + " AS a FROM views GROUP BY s HAVING " + anchor + " IS NOT NULL), " +
			"walk AS (SELECT views.*, i - a + 1 AS step, lead(node) OVER (PARTITION BY s ORDER BY i) AS other FROM views JOIN anchor USING (s) WHERE i >= a) " +
			"SELECT step, node AS source, coalesce(other, " + b.arg(pathEnd) + ") AS target, ")
	}
	b.WriteString("(step - 1) || ':' || source AS source_id, step || ':' || target AS target_id, count(*) AS sessions, count(DISTINCT u) AS users " +
		"FROM walk WHERE step <= " + depth + " GROUP BY ALL ORDER BY step, sessions DESC, source, target")
	return []Column{ordinal("step", "", ""), dimension("source"), dimension("target"), dimension("source_id"), dimension("target_id"),
		number("sessions", "sessions", ""), colUsers}
}
