package queryapi

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/insights-collector/insights-collector/internal/analyticsdb"
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
			"a page path with namespaces, entity names and template run ids generalised. Lens next: from the anchor page (paths.anchor, " +
			"else the session's first page) the following paths.depth steps, as edges (step, source, target) with the " +
			"sessions and users that took them — target \"" + pathEnd + "\" where the session ended; lens previous: the " +
			"steps that led to the anchor (else the session's last page), step 1 being the one into it; lens journeys: " +
			"the most common whole journeys of sessions, up to paths.depth nodes (longer ones end in \"…\"). source_id and " +
			"target_id are unique per step, for Sankey and node-graph panels. Rows of fewer than k users are withheld.",
		Lenses: []string{LensNext, LensPrevious, LensJourneys}, Filters: []string{FilterInstance},
		Columns: []Column{ordinal("step", "", "next/previous: 1 is the edge out of (into) the anchor"), dimension("source"), dimension("target"),
			dimension("source_id"), dimension("target_id"), dimension("journey (journeys)"), number("sessions", "sessions", ""), colUsers},
		UsersColumn: "users", Role: RoleViewer, build: paths, prepare: readPendingSessionDays,
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
	case p.Anchor != nil && (p.Anchor.EntityKind != "" || len(p.Anchor.Attributes) > 0):
		return badRequest("paths.anchor", "a page is matched by its plugin, subject or subject_prefix only")
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

// sessionReach bounds how far a session reaches beyond the range: the sessionization processor's longest session.
const sessionReach = 24 * time.Hour

// readPendingSessionDays reads, in the statement's transaction, the days session_steps does not yet hold as
// they are: paths walks their page views instead.
func readPendingSessionDays(ctx context.Context, db queryer, q *query) error {
	days, err := analyticsdb.PendingSessionDays(ctx, db)
	q.pendingSessionDays = days
	return err
}

// sessionSpan is a part of the range by where its sessions' steps are read: session_steps, or page_views for
// the days pending there.
type sessionSpan struct {
	from, to time.Time
	pending  bool
}

// sessionSpans cuts [from, to) at the pending days (sorted UTC days, see analyticsdb.SessionDay).
func sessionSpans(from, to time.Time, pending []time.Time) []sessionSpan {
	var out []sessionSpan
	add := func(lo, hi time.Time, pending bool) {
		switch n := len(out); {
		case !lo.Before(hi):
		case n > 0 && out[n-1].pending == pending && out[n-1].to.Equal(lo):
			out[n-1].to = hi
		default:
			out = append(out, sessionSpan{lo, hi, pending})
		}
	}
	at := from
	for _, day := range pending {
		lo, hi := later(day, at), earlier(day.Add(24*time.Hour), to)
		if lo.Before(hi) {
			add(at, lo, false)
			add(lo, hi, true)
			at = hi
		}
	}
	add(at, to, false)
	return out
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// paths walks the sessions that began (their first page view) in the range: a row per session from
// session_steps (its steps as lists, built by analyticsdb.BuildSessionSteps), and, for the days still pending there,
// from page_views (walkViews). Each span gives the same rows — (step, source, target, u), or (u, key, more): a
// journey's nodes and whether it goes on — and the counts are taken over their union, then the nodes named.
func paths(q *query, b *sqlb) []Column {
	p := q.normalisedPaths()
	k := nodeKindOf(p)
	var parts []string
	for _, span := range sessionSpans(q.from, q.to, q.pendingSessionDays) {
		if span.pending {
			parts = append(parts, walkViews(q, b, p, k, span))
		} else {
			parts = append(parts, walkSteps(q, b, p, k, span))
		}
	}
	walks := "(" + strings.Join(parts, ") UNION ALL (") + ")"
	if q.Lens == LensJourneys {
		b.WriteString("WITH j AS (SELECT key, more, count(*) AS sessions, count(DISTINCT u) AS users FROM (" + walks + ") GROUP BY key, more) " +
			"SELECT array_to_string(list_transform(key, x -> " + k.name("x") + "), ' → ') || CASE WHEN more THEN ' → …' ELSE '' END AS journey, " +
			"sessions, users FROM j" + k.names("SELECT unnest(key) FROM j") + " ORDER BY 2 DESC, 1")
		return []Column{dimension("journey"), number("sessions", "sessions", ""), colUsers}
	}
	b.WriteString(edges(walks, k))
	return pathColumns()
}

// nodeKind is how the walks write a kind of node: the node of a page view (alias pv) and the session_steps list
// of them, the numbering of the steps in page_views, and the SQL of a node without a value, of a session's end
// and of its start. Routes are walked as their numbers, cheaper to read and to group by than strings, and named
// once counted.
type nodeKind struct {
	view, list, numbering string
	unknown, end, start   string
	numbered              bool
}

func nodeKindOf(p Paths) nodeKind {
	if p.Node == NodeRoute {
		return nodeKind{view: "pv.route_no", list: "view_routes", numbering: "pv.view", unknown: "0", end: "-1", start: "-2", numbered: true}
	}
	return nodeKind{view: "pv.plugin_id", list: "pages", numbering: "pv.page", unknown: unknownNode, end: "'" + pathEnd + "'", start: "'" + pathStart + "'"}
}

// name is the SQL of the name of node x; for numbered nodes, with the map routes in scope (names).
func (k nodeKind) name(x string) string {
	if !k.numbered {
		return x
	}
	return "CASE " + x + " WHEN " + k.end + " THEN '" + pathEnd + "' WHEN " + k.start + " THEN '" + pathStart + "' " +
		"ELSE coalesce(routes[" + x + "], " + unknownNode + ") END"
}

// names is the FROM item that brings into scope the map routes of the route numbers that numbers (SQL) selects;
// "" for nodes that are names already.
func (k nodeKind) names(numbers string) string {
	if !k.numbered {
		return ""
	}
	return ", (SELECT map(list(route_no::BIGINT), list(route)) AS routes FROM route_numbers WHERE route_no IN (" + numbers + "))"
}

// unknownNode names a step whose page has no plugin (or no route).
const unknownNode = "'(unknown)'"

// walkSteps reads the sessions of a span from session_steps: the nodes of a session are a list (pages, or
// view_routes for route nodes), the anchor a position in it, and the edges the pairs of neighbours from there.
func walkSteps(q *query, b *sqlb, p Paths, k nodeKind, span sessionSpan) string {
	node := func(i string) string { return "coalesce(n[" + i + "], " + k.unknown + ")" }
	depth := strconv.Itoa(p.Depth)
	// The placeholders bind in the text's order: each piece is written where it stands.
	switch q.Lens {
	case LensJourneys:
		return "SELECT user_no AS u, list_transform(" + k.list + "[1:" + depth + "], x -> coalesce(x, " + k.unknown + ")) AS key, " +
			"len(" + k.list + ") > " + depth + " AS more " + stepsOf(q, b, span)
	case LensPrevious: // step k: into the node k-1 before the anchor
		return "SELECT k AS step, CASE WHEN a - k >= 1 THEN " + node("a - k") + " ELSE " + k.start + " END AS source, " +
			node("a - k + 1") + " AS target, u FROM (SELECT user_no AS u, " + k.list + " AS n, " + anchorPosition(b, p, true) + " AS a " +
			stepsOf(q, b, span) + ") AS st, range(1, " + depth + " + 1) AS r(k) WHERE a > 0 AND k <= a"
	default: // step k: out of the node k-1 after the anchor
		return "SELECT k AS step, " + node("a + k - 1") + " AS source, CASE WHEN a + k <= len(n) THEN " + node("a + k") + " ELSE " +
			k.end + " END AS target, u FROM (SELECT user_no AS u, " + k.list + " AS n, " + anchorPosition(b, p, false) + " AS a " +
			stepsOf(q, b, span) + ") AS st, range(1, " + depth + " + 1) AS r(k) WHERE a > 0 AND a + k - 1 <= len(n)"
	}
}

// stepsOf is the FROM clause of walkSteps: the sessions of the span.
func stepsOf(q *query, b *sqlb, span sessionSpan) string {
	return "FROM session_steps WHERE true" + b.in("instance", q.filter(FilterInstance)) + " AND session_start_ms >= " + b.arg(span.from.UnixMilli()) +
		" AND session_start_ms < " + b.arg(span.to.UnixMilli())
}

// anchorPosition is the position in a session_steps row's nodes (n) of its first (last: the previous lens) page
// that matches the anchor, 0 where none does; without an anchor, its first (last) node. It is found by
// list_position in a list of the views (in pages for a plugin anchor and plugin nodes), whose position maps to
// its page through view_pages for plugin nodes.
func anchorPosition(b *sqlb, p Paths, last bool) string {
	switch {
	case p.Anchor == nil && last:
		return "len(n)"
	case p.Anchor == nil:
		return "1"
	}
	a := *p.Anchor
	// Placeholders are in list or in value, never in both: their order cannot go wrong.
	list, value, length := "", "true", "len(view_subjects)"
	switch {
	case a.Subject == "" && a.SubjectPrefix == "" && p.Node == NodePlugin:
		list, value, length = "pages", b.arg(a.Plugin), "len(pages)"
	case a.Subject == "" && a.SubjectPrefix == "":
		list, value = "view_plugins", b.arg(a.Plugin)
	case a.Plugin == "" && a.SubjectPrefix == "":
		list, value = "view_subjects", b.arg(a.Subject)
	case a.Plugin == "" && a.Subject == "": // a lambda over one list costs half of one over the positions
		list = "list_transform(view_subjects, x -> starts_with(x, " + b.arg(a.SubjectPrefix) + "))"
	default:
		var conds string
		if a.Plugin != "" {
			conds += " AND view_plugins[i] = " + b.arg(a.Plugin)
		}
		if a.Subject != "" {
			conds += " AND view_subjects[i] = " + b.arg(a.Subject)
		}
		if a.SubjectPrefix != "" {
			conds += " AND starts_with(view_subjects[i], " + b.arg(a.SubjectPrefix) + ")"
		}
		list = "list_transform(range(1, len(view_subjects) + 1), i -> true" + conds + ")"
	}
	position := "list_position(" + list + ", " + value + ")" // NULL where none matches
	if last {
		position = length + " + 1 - list_position(list_reverse(" + list + "), " + value + ")"
	}
	if length != "len(pages)" && p.Node == NodePlugin {
		position = "view_pages[" + position + "]"
	}
	return "coalesce(" + position + ", 0)"
}

// walkViews reads the sessions of a span from their page views, by the numbers the sessionization processor
// gave them: insights.session.page for plugin nodes (a plugin's pages in a row are one step),
// insights.session.view for route nodes (every view is a step). Numbered at ingest, the walks need no window
// over the views: the anchors from the few views that match one, then the steps near them.
func walkViews(q *query, b *sqlb, p Paths, k nodeKind, span sessionSpan) string {
	// raw is what a step's node is made of: the plugin, or the number of the route pattern the store gave the
	// view at ingest.
	raw, numbering := k.view, k.numbering
	nodeOf := func(raw string) string { return "coalesce(" + raw + ", " + k.unknown + ")" }
	// views selects the page views of the span's sessions (a session is its user u and its start s, both
	// numbers: no session id to hash or join; i is the step), read up to a session's length after the span so
	// that the sessions still open at its end are whole. Each use is its own scan of page_views: DuckDB reads
	// only the columns and row groups it needs. cond, when set, adds a condition: a func, so that its
	// placeholders bind after those before it.
	views := func(columns string, cond func() string) string {
		sql := "(SELECT pv.user_no AS u, pv.session_start_ms AS s, " + numbering + " AS i" + columns + " FROM page_views pv WHERE true" +
			b.in("pv.instance", q.filter(FilterInstance)) + " AND pv.session_start_ms >= " + b.arg(span.from.UnixMilli()) +
			" AND pv.session_start_ms < " + b.arg(span.to.UnixMilli()) + " AND pv.ts >= " + b.arg(span.from) + " AND pv.ts < " + b.arg(span.to.Add(sessionReach))
		if cond != nil {
			sql += " AND " + cond()
		}
		return sql + ")"
	}
	hits := func() string { // the views that match the anchor
		if p.Anchor == nil {
			return views("", nil)
		}
		return views("", func() string { return "(true" + matchSQL(b, "pv.", *p.Anchor) + ")" })
	}
	firstSteps := func() string { return numbering + " <= " + strconv.Itoa(p.Depth) + " + 1" }
	// steps: one row per step of a session (a plugin's pages in a row are one step).
	steps := "SELECT u, s, i, " + nodeOf("any_value(raw)") + " AS node FROM "
	depth := strconv.Itoa(p.Depth)
	switch {
	case q.Lens == LensJourneys:
		parts := make([]string, p.Depth)
		for i := range parts {
			parts[i] = "any_value(" + nodeOf("raw") + ") FILTER (WHERE i = " + strconv.Itoa(i+1) + ")" // none: skipped
		}
		return "SELECT u, list_filter([" + strings.Join(parts, ", ") + "], x -> x IS NOT NULL) AS key, max(i) > " + depth + " AS more " +
			"FROM " + views(", "+raw+" AS raw", firstSteps) + " GROUP BY u, s"
	case q.Lens == LensPrevious:
		return "WITH anchor AS (SELECT u, s, max(i) AS a FROM " + hits() + " GROUP BY u, s), " +
			"w AS (SELECT st.*, a - i + 1 AS step FROM (" + steps + views(", "+raw+" AS raw", nil) + " JOIN anchor USING (u, s) WHERE i BETWEEN a - " + depth + " AND a " +
			"GROUP BY u, s, i) st JOIN anchor USING (u, s)) " +
			"SELECT w.step, coalesce(w2.node, " + k.start + ") AS source, w.node AS target, w.u FROM w LEFT JOIN w w2 " +
			"ON w2.u = w.u AND w2.s = w.s AND w2.i = w.i - 1 WHERE w.step <= " + depth
	case p.Anchor != nil:
		// One row per session: the nodes at the anchor and the depth steps after it (k: the k-th), so that
		// the edges need neither a row per step nor a join of the steps with themselves.
		nodes := make([]string, p.Depth+1)
		for j := range nodes {
			at := "i = a + " + strconv.Itoa(j)
			nodes[j] = "any_value(" + nodeOf("raw") + ") FILTER (WHERE " + at + ") AS n" + strconv.Itoa(j) // none: ended
		}
		sql := "WITH anchor AS (SELECT u, s, min(i) AS a FROM " + hits() + " GROUP BY u, s), " +
			"p AS (SELECT u, s, " + strings.Join(nodes, ", ") + " FROM " + views(", "+raw+" AS raw", nil) + " JOIN anchor USING (u, s) " +
			"WHERE i BETWEEN a AND a + " + depth + " GROUP BY u, s) "
		parts := make([]string, p.Depth)
		for j := range parts {
			source, target := "n"+strconv.Itoa(j), "n"+strconv.Itoa(j+1)
			parts[j] = "SELECT " + strconv.Itoa(j+1) + " AS step, " + source + " AS source, coalesce(" + target + ", " + k.end +
				") AS target, u FROM p WHERE " + source + " IS NOT NULL"
		}
		return sql + strings.Join(parts, " UNION ALL ")
	default: // from the first step
		return "WITH w AS (SELECT *, i AS step FROM (" + steps + views(", "+raw+" AS raw", firstSteps) + " GROUP BY u, s, i)) " +
			"SELECT w.step, w.node AS source, coalesce(w2.node, " + k.end + ") AS target, w.u FROM w LEFT JOIN w w2 " +
			"ON w2.u = w.u AND w2.s = w.s AND w2.i = w.i + 1 WHERE w.step <= " + depth
	}
}

func pathColumns() []Column {
	return []Column{ordinal("step", "", ""), dimension("source"), dimension("target"), dimension("source_id"), dimension("target_id"),
		number("sessions", "sessions", ""), colUsers}
}

// edges counts the edges (step, source, target) of a walk's rows, one per session and user u: per user first,
// then per edge (two plain aggregations cost less than one count(DISTINCT …)); then names their nodes.
func edges(walk string, k nodeKind) string {
	return "WITH e AS (SELECT step, s, t, sum(n) AS sessions, count(*) AS users FROM (SELECT step, source AS s, target AS t, u, count(*) AS n " +
		"FROM (" + walk + ") GROUP BY ALL) GROUP BY step, s, t), " +
		"named AS (SELECT step, " + k.name("s") + " AS source, " + k.name("t") + " AS target, sessions, users FROM e" + k.names("SELECT s FROM e UNION SELECT t FROM e") + ") " +
		"SELECT step, source, target, (step - 1) || ':' || source AS source_id, step || ':' || target AS target_id, sessions, users FROM named " +
		"ORDER BY step, sessions DESC, source, target"
}
