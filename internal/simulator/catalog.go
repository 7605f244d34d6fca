package simulator

import (
	"cmp"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
)

// Group is a group of the simulated catalog: the teams users belong to, under departments under one
// organisation.
type Group struct {
	Ref, Type, Parent string // Parent is a group ref, or "" for the organisation
}

// Group types of the simulated catalog.
const (
	GroupOrganisation = "organization"
	GroupDepartment   = "department"
	GroupTeam         = "team"
)

// teamsPerDepartment sizes the group tree: departments of about this many teams each.
const teamsPerDepartment = 4

// buildGroups lays the teams out under departments (round robin) under the organisation. It draws no random
// numbers, so that the rest of the world is the same with or without the tree.
func (w *World) buildGroups() {
	org := "group:default/acme"
	w.Groups = append(w.Groups, Group{Ref: org, Type: GroupOrganisation})
	departments := (len(w.Teams) + teamsPerDepartment - 1) / teamsPerDepartment
	for d := range departments {
		w.Groups = append(w.Groups, Group{Ref: "group:default/" + departmentNames[d%len(departmentNames)] + departmentSuffix(d), Type: GroupDepartment, Parent: org})
	}
	for i, team := range w.Teams {
		w.Groups = append(w.Groups, Group{Ref: team, Type: GroupTeam, Parent: w.Groups[1+i%departments].Ref})
	}
}

func departmentSuffix(d int) string {
	if round := d / len(departmentNames); round > 0 {
		return "-" + strconv.Itoa(round+1)
	}
	return ""
}

var departmentNames = []string{"product-engineering", "infrastructure", "data", "customer-experience", "security-and-compliance", "corporate-it"}

// Above returns a group and the groups above it, nearest first.
func (w *World) Above(group string) []string {
	parent := map[string]string{}
	for _, g := range w.Groups {
		parent[g.Ref] = g.Parent
	}
	var out []string
	for ref := group; ref != ""; ref = parent[ref] {
		out = append(out, ref)
	}
	return out
}

// Members returns each group's members: the users whose teams are the group or groups below it.
func (w *World) Members() map[string]map[string]bool {
	out := map[string]map[string]bool{}
	for _, u := range w.Users {
		for _, team := range u.Teams {
			for _, g := range w.Above(team) {
				if out[g] == nil {
					out[g] = map[string]bool{}
				}
				out[g][u.Ref] = true
			}
		}
	}
	return out
}

// GroupSize is a group with its place in the tree and its members, as a catalog sync computes them.
type GroupSize struct {
	Group
	Ancestors     []string // nearest first
	Direct, Total int      // users whose teams name the group; with those of the groups below it
}

// GroupSizes returns every group with its ancestors and member counts.
func (w *World) GroupSizes() []GroupSize {
	members := w.Members()
	direct := map[string]int{}
	for _, u := range w.Users {
		for _, team := range u.Teams {
			direct[team]++
		}
	}
	out := make([]GroupSize, len(w.Groups))
	for i, g := range w.Groups {
		out[i] = GroupSize{Group: g, Ancestors: w.Above(g.Ref)[1:], Direct: direct[g.Ref], Total: len(members[g.Ref])}
	}
	return out
}

// CatalogEntities returns the world as a Backstage catalog holds it: the groups (spec.type, spec.parent and
// childOf relations), the users (spec.memberOf and memberOf relations) and the components and APIs (spec.owner).
// Refs inside specs are short, as people write them in catalog-info.yaml.
func (w *World) CatalogEntities() []json.RawMessage {
	var out []json.RawMessage
	add := func(kind, ref string, spec map[string]any, relations []map[string]string) {
		_, name, _ := strings.Cut(strings.TrimPrefix(ref, strings.ToLower(kind)+":"), "/")
		e := map[string]any{"apiVersion": "backstage.io/v1alpha1", "kind": kind,
			"metadata": map[string]any{"name": name, "namespace": "default"}, "spec": spec}
		if relations != nil {
			e["relations"] = relations
		}
		b, _ := json.Marshal(e)
		out = append(out, b)
	}
	for _, g := range w.Groups {
		spec := map[string]any{"type": g.Type, "profile": map[string]any{"displayName": displayName(g.Ref)}, "children": []string{}}
		var relations []map[string]string
		if g.Parent != "" {
			spec["parent"] = shortRef(g.Parent)
			relations = append(relations, map[string]string{"type": "childOf", "targetRef": g.Parent})
		}
		add("Group", g.Ref, spec, relations)
	}
	for _, u := range w.Users {
		var memberOf []string
		var relations []map[string]string
		for _, t := range u.Teams {
			memberOf = append(memberOf, shortRef(t))
			relations = append(relations, map[string]string{"type": "memberOf", "targetRef": t})
		}
		add("User", u.Ref, map[string]any{"profile": map[string]any{"displayName": displayName(u.Ref)}, "memberOf": memberOf}, relations)
	}
	for _, e := range w.Entities {
		kind := map[string]string{"component": "Component", "api": "API"}[e.Kind]
		add(kind, e.Ref(), map[string]any{"type": "service", "lifecycle": "production", "owner": shortRef(e.Owner)}, nil)
	}
	return out
}

// shortRef drops the default namespace and the group kind, as catalog-info.yaml files write references.
func shortRef(ref string) string { return strings.TrimPrefix(ref, "group:default/") }

func displayName(ref string) string {
	_, name, _ := strings.Cut(ref, "/")
	return strings.ReplaceAll(name, "-", " ")
}

// CatalogServer serves entities as Backstage's catalog backend serves GET /api/catalog/entities/by-query, and
// enforces its contract: a Bearer token; filters (each `filter` parameter a comma-separated AND of key=value or
// key-exists conditions, the parameters OR-ed; keys and values case-insensitive); a field projection; limit,
// orderField; and an opaque cursor that carries the query, so that a request with a cursor may not repeat the
// filters. Answers {items, totalItems, pageInfo: {nextCursor}} and Backstage's error bodies.
type CatalogServer struct {
	Token    string
	Entities []json.RawMessage
	requests atomic.Int64
}

// Requests returns how many requests the server answered.
func (c *CatalogServer) Requests() int { return int(c.requests.Load()) }

// cursor is the query a page continues.
type cursor struct {
	Filters    []string `json:"f"`
	OrderField string   `json:"o"`
	Offset     int      `json:"n"`
}

func (c *CatalogServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.requests.Add(1)
	if r.Method != http.MethodGet || r.URL.Path != "/api/catalog/entities/by-query" {
		backstageError(w, http.StatusNotFound, "NotFoundError", "Not found: "+r.Method+" "+r.URL.Path)
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+c.Token {
		backstageError(w, http.StatusUnauthorized, "AuthenticationError", "Missing credentials")
		return
	}
	params := r.URL.Query()
	q := cursor{Filters: params["filter"], OrderField: params.Get("orderField")}
	if raw := params.Get("cursor"); raw != "" {
		if len(params["filter"]) > 0 || params.Has("orderField") {
			backstageError(w, http.StatusBadRequest, "InputError", "Cannot specify cursor together with filter or orderField")
			return
		}
		decoded, err := base64.RawURLEncoding.DecodeString(raw)
		if err != nil || json.Unmarshal(decoded, &q) != nil {
			backstageError(w, http.StatusBadRequest, "InputError", "Malformed cursor")
			return
		}
	}
	limit := len(c.Entities)
	if l := params.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 0 {
			backstageError(w, http.StatusBadRequest, "InputError", "Invalid limit "+strconv.Quote(l))
			return
		}
		limit = n
	}
	matched := c.match(q)
	end := min(q.Offset+limit, len(matched))
	items := make([]any, 0, end-q.Offset)
	for _, e := range matched[q.Offset:end] {
		items = append(items, project(e, params.Get("fields")))
	}
	page := map[string]any{"items": items, "totalItems": len(matched), "pageInfo": map[string]any{}}
	if end < len(matched) {
		next := q
		next.Offset = end
		b, _ := json.Marshal(next)
		page["pageInfo"] = map[string]any{"nextCursor": base64.RawURLEncoding.EncodeToString(b)}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(page)
}

// match returns the entities a query selects, in its order (text that is not JSON is no entity at all).
func (c *CatalogServer) match(q cursor) []any {
	var out []any
	for _, raw := range c.Entities {
		var e any
		if json.Unmarshal(raw, &e) != nil {
			continue
		}
		if len(q.Filters) == 0 || slices.ContainsFunc(q.Filters, func(f string) bool { return matchesFilter(e, f) }) {
			out = append(out, e)
		}
	}
	field, order, _ := strings.Cut(q.OrderField, ",")
	if field != "" {
		slices.SortStableFunc(out, func(a, b any) int {
			c := cmp.Compare(fmt.Sprint(lookup(a, field)...), fmt.Sprint(lookup(b, field)...))
			if order == "desc" {
				return -c
			}
			return c
		})
	}
	return out
}

// matchesFilter: every condition of a filter holds (key=value: some value at the key equals it; key: the key
// exists).
func matchesFilter(e any, filter string) bool {
	for _, cond := range strings.Split(filter, ",") {
		key, want, hasValue := strings.Cut(cond, "=")
		values := lookup(e, strings.TrimSpace(key))
		if len(values) == 0 {
			return false
		}
		if hasValue && !slices.ContainsFunc(values, func(v any) bool { return strings.EqualFold(fmt.Sprint(v), strings.TrimSpace(want)) }) {
			return false
		}
	}
	return true
}

// lookup returns the values at a dotted path (keys case-insensitive; arrays fan out).
func lookup(v any, path string) []any {
	if path == "" {
		if list, ok := v.([]any); ok {
			return list
		}
		return []any{v}
	}
	head, rest, _ := strings.Cut(path, ".")
	switch node := v.(type) {
	case map[string]any:
		for k, child := range node {
			if strings.EqualFold(k, head) {
				return lookup(child, rest)
			}
		}
	case []any:
		var out []any
		for _, item := range node {
			out = append(out, lookup(item, path)...)
		}
		return out
	}
	return nil
}

// project keeps the listed dotted paths of an entity (all of it without a projection).
func project(e any, fields string) any {
	if fields == "" {
		return e
	}
	out := map[string]any{}
	for _, f := range strings.Split(fields, ",") {
		copyPath(e, out, strings.Split(strings.TrimSpace(f), "."))
	}
	return out
}

func copyPath(from any, to map[string]any, path []string) {
	node, ok := from.(map[string]any)
	if !ok {
		return
	}
	child, ok := node[path[0]]
	if !ok {
		return
	}
	if len(path) == 1 {
		to[path[0]] = child
		return
	}
	if _, isObject := child.(map[string]any); !isObject {
		return
	}
	sub, _ := to[path[0]].(map[string]any)
	if sub == nil {
		sub = map[string]any{}
		to[path[0]] = sub
	}
	copyPath(child, sub, path[1:])
}

// backstageError writes Backstage's error body.
func backstageError(w http.ResponseWriter, status int, name, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"name": name, "message": message},
		"response": map[string]int{"statusCode": status}})
}
