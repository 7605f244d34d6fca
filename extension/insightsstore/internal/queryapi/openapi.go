package queryapi

import (
	"encoding/json"
	"slices"
)

// OpenAPIPath is where OpenAPIJSON's output is committed, relative to the repository root.
const OpenAPIPath = "docs/query-api.openapi.json"

// OpenAPIJSON renders the OpenAPI document of the whole catalogue, indented, as committed in OpenAPIPath.
func OpenAPIJSON() ([]byte, error) {
	doc, err := json.MarshalIndent(OpenAPI(Catalog()), "", "  ")
	return append(doc, '\n'), err
}

// MetricInfo is a metric as GET /api/v1/metrics describes it; the Grafana data source builds its query editor
// from it.
type MetricInfo struct {
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Interval    string   `json:"interval"` // none, optional, required
	TimeRange   bool     `json:"time_range"`
	Filters     []string `json:"filters"`
	GroupBy     []string `json:"group_by"`
	Columns     []Column `json:"columns"`
	Role        string   `json:"role"`
	// Intervals are the intervals the metric buckets by, when not all of them.
	Intervals []string `json:"intervals,omitempty"`
	// Lenses are the ways the metric can look at its data (the first is the default).
	Lenses []string `json:"lenses,omitempty"`
	// Parameters are the request's objects the metric reads (goal, funnel, paths), required or optional.
	Parameters []string `json:"parameters,omitempty"`
}

// MetricListing is the body of GET /api/v1/metrics.
type MetricListing struct {
	Metrics    []MetricInfo `json:"metrics"`
	Intervals  []string     `json:"intervals"`
	KAnonymity int          `json:"k_anonymity"`
}

// Listing describes the catalogue, sorted by name.
func Listing(catalog map[string]*Metric, k int) MetricListing {
	out := MetricListing{Intervals: Intervals, KAnonymity: k}
	for _, m := range catalog {
		out.Metrics = append(out.Metrics, MetricInfo{
			Name: m.Name, Description: m.Description, Interval: [...]string{"none", "optional", "required"}[m.Interval],
			TimeRange: !m.NoTimeRange, Filters: m.Filters, GroupBy: nonNil(m.GroupBy), Columns: m.Columns, Role: m.Role.String(),
			Intervals: m.Intervals, Lenses: m.Lenses, Parameters: m.parameters(),
		})
	}
	slices.SortFunc(out.Metrics, func(a, b MetricInfo) int {
		if a.Name < b.Name {
			return -1
		}
		return 1
	})
	return out
}

// parameters names the request objects a metric reads.
func (m *Metric) parameters() []string {
	var out []string
	for _, p := range []struct {
		name  string
		reads bool
	}{{"goal", m.NeedsGoal}, {"funnel", m.NeedsFunnel}, {"paths", m.Name == "paths"}, {"series", m.NeedsSeries}} {
		if p.reads {
			out = append(out, p.name)
		}
	}
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// OpenAPI returns the OpenAPI 3.1 document of the API, built from the catalogue so that it cannot drift from it.
func OpenAPI(catalog map[string]*Metric) map[string]any {
	names := make([]string, 0, len(catalog))
	filters, lenses := map[string]any{}, []string{}
	for name, m := range catalog {
		names = append(names, name)
		for _, f := range m.Filters {
			filters[f] = stringArray()
		}
		for _, l := range m.Lenses {
			if !slices.Contains(lenses, l) {
				lenses = append(lenses, l)
			}
		}
	}
	slices.Sort(names)
	slices.Sort(lenses)
	errorResponse := func(description string) map[string]any {
		return map[string]any{"description": description, "content": map[string]any{mediaJSON: map[string]any{"schema": ref("Error")}}}
	}
	queryBody := map[string]any{"required": true, "content": map[string]any{mediaJSON: map[string]any{"schema": ref("Query")}}}
	queryResponses := map[string]any{
		"200": map[string]any{"description": "the result table", "content": map[string]any{
			mediaJSON: map[string]any{"schema": ref("Result")},
			mediaCSV:  map[string]any{"schema": map[string]any{"type": "string"}},
			mediaXLSX: map[string]any{"schema": map[string]any{"type": "string", "format": "binary"}},
		}},
		"400": errorResponse("a bad query; error.field names the field"),
		"401": errorResponse("no or an unknown bearer token"),
		"403": errorResponse("the token's role may not query this metric"),
		"415": errorResponse("the body is not application/json"),
	}
	return map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{"title": "Insights Collector query API", "version": "1",
			"description": "Adoption metrics of Backstage from the embedded analytics store. Bearer tokens carry a role (team_lead, viewer, analyst, admin); every query is audited; breakdown rows covering fewer than k users (team rows: teams of fewer than k members) are withheld."},
		"security": []any{map[string]any{"bearer": []any{}}},
		"paths": map[string]any{
			"/api/v1/metrics": map[string]any{"get": map[string]any{"summary": "List the metrics with their parameters and columns",
				"responses": map[string]any{"200": map[string]any{"description": "the catalogue", "content": map[string]any{mediaJSON: map[string]any{"schema": ref("MetricListing")}}},
					"401": errorResponse("no or an unknown bearer token")}}},
			"/api/v1/query": map[string]any{"post": map[string]any{"summary": "Run a metric; Accept: text/csv or the XLSX type for a file",
				"requestBody": queryBody, "responses": queryResponses}},
			"/api/v1/export": map[string]any{"post": map[string]any{"summary": "Run a metric and download it",
				"parameters":  []any{map[string]any{"name": "format", "in": "query", "schema": map[string]any{"type": "string", "enum": []string{"xlsx", "csv"}, "default": "xlsx"}}},
				"requestBody": queryBody, "responses": queryResponses}},
			"/api/v1/users/{pseudonym}": map[string]any{"delete": map[string]any{"summary": "Erase every row of a user (GDPR); admin only; audited",
				"parameters": []any{map[string]any{"name": "pseudonym", "in": "path", "required": true, "schema": map[string]any{"type": "string"}}},
				"responses": map[string]any{"200": map[string]any{"description": "rows deleted per table"}, "401": errorResponse("no or an unknown bearer token"),
					"403": errorResponse("only admins may erase")}}},
			"/api/v1/openapi.json": map[string]any{"get": map[string]any{"summary": "This document", "security": []any{},
				"responses": map[string]any{"200": map[string]any{"description": "OpenAPI 3.1"}}}},
		},
		"components": map[string]any{
			"securitySchemes": map[string]any{"bearer": map[string]any{"type": "http", "scheme": "bearer"}},
			"schemas": map[string]any{
				"Query": map[string]any{"type": "object", "required": []string{"metric"}, "additionalProperties": false, "properties": map[string]any{
					"metric":   map[string]any{"type": "string", "enum": names},
					"from":     map[string]any{"type": "string", "description": "RFC 3339, or relative to now: now, now-7d, now-12h (units s, m, h, d, w)"},
					"to":       map[string]any{"type": "string", "description": "RFC 3339, or relative to now"},
					"interval": map[string]any{"type": "string", "enum": Intervals},
					"timezone": map[string]any{"type": "string", "description": "IANA time zone of the buckets (default UTC)"},
					"filters":  map[string]any{"type": "object", "additionalProperties": false, "properties": filters},
					"lens":     map[string]any{"type": "string", "enum": lenses, "description": "how the metric looks at its data (the listing names each metric's lenses)"},
					"compare": map[string]any{"type": "string", "enum": Compares, "description": "add each number's value over an earlier period " +
						"(the same length just before, or a year before) and its change: columns <name>_previous, <name>_change, <name>_change_ratio"},
					"goal": map[string]any{"type": "object", "additionalProperties": false, "description": "experiment_results: what the variants are compared on",
						"required": []string{"type"}, "properties": map[string]any{
							"type":        map[string]any{"type": "string", "enum": []string{GoalConversion, GoalEventsPerUser, GoalRetentionD7}},
							"event":       map[string]any{"type": "string", "description": "conversion: the event name converted to (backstage.<action>)"},
							"within_days": map[string]any{"type": "integer", "minimum": 1, "maximum": 90},
							"control":     map[string]any{"type": "string", "default": "control"}}},
					"funnel": map[string]any{"type": "object", "additionalProperties": false, "description": "funnel: its steps", "required": []string{"steps"},
						"properties": map[string]any{
							"steps":        map[string]any{"type": "array", "minItems": 2, "maxItems": maxFunnelSteps, "items": ref("Step")},
							"within_hours": map[string]any{"type": "integer", "minimum": 1, "maximum": maxFunnelHours, "default": defaultFunnelHours},
							"session":      map[string]any{"type": "boolean", "description": "every step in the session of the first"},
							"new_users":    map[string]any{"type": "boolean", "description": "only users first seen in the range"},
							"order":        map[string]any{"type": "string", "enum": []string{OrderSequential, OrderAny}, "default": OrderSequential}}},
					"paths": map[string]any{"type": "object", "additionalProperties": false, "description": "paths: what it walks",
						"properties": map[string]any{
							"anchor": ref("Step"),
							"depth":  map[string]any{"type": "integer", "minimum": 1, "maximum": maxPathDepth, "default": defaultPathDepth},
							"node":   map[string]any{"type": "string", "enum": []string{NodePlugin, NodeRoute}, "default": NodePlugin}}},
					"series": map[string]any{"type": "object", "additionalProperties": false, "description": "forecast, anomalies: the series", "required": []string{"metric"},
						"properties": map[string]any{
							"metric":  map[string]any{"type": "string", "description": "a viewer's metric that buckets by interval"},
							"column":  map[string]any{"type": "string", "description": "its number column (default: the first)"},
							"horizon": map[string]any{"type": "integer", "minimum": 1, "maximum": maxHorizon, "description": "forecast: buckets ahead"},
							"recent":  map[string]any{"type": "integer", "minimum": 1, "description": "anomalies: the range's last buckets checked"},
							"level":   map[string]any{"type": "number", "minimum": 0.5, "exclusiveMaximum": 1, "default": 0.95}}},
					"group_by": map[string]any{"type": "array", "maxItems": 1, "items": map[string]any{"type": "string"}},
					"limit":    map[string]any{"type": "integer", "minimum": 1, "maximum": maxLimit, "default": defaultLimit},
					"offset":   map[string]any{"type": "integer", "minimum": 0},
				}},
				"Step": map[string]any{"type": "object", "additionalProperties": false, "description": "events matching all of the given fields",
					"properties": map[string]any{
						"name":           map[string]any{"type": "string", "description": "a label (default: the event name)"},
						"event":          map[string]any{"type": "string", "description": "backstage.<action>; a paths anchor is always backstage.navigate"},
						"plugin":         map[string]any{"type": "string"},
						"subject":        map[string]any{"type": "string"},
						"subject_prefix": map[string]any{"type": "string"},
						"entity_kind":    map[string]any{"type": "string"},
						"attributes":     map[string]any{"type": "object", "additionalProperties": map[string]any{"type": "string"}}}},
				"Column": map[string]any{"type": "object", "properties": map[string]any{"name": map[string]any{"type": "string"},
					"type": map[string]any{"type": "string", "enum": []string{typeTime, typeString, typeNumber}}, "unit": map[string]any{"type": "string"},
					"description": map[string]any{"type": "string"}}},
				"Result": map[string]any{"type": "object", "properties": map[string]any{
					"columns": map[string]any{"type": "array", "items": ref("Column")},
					"rows":    map[string]any{"type": "array", "items": map[string]any{"type": "array"}},
					"meta": map[string]any{"type": "object", "properties": map[string]any{"metric": map[string]any{"type": "string"},
						"suppressed_rows": map[string]any{"type": "integer"}, "k_anonymity": map[string]any{"type": "integer"},
						"query_ms": map[string]any{"type": "number"}, "from_rollups": map[string]any{"type": "boolean"},
						"sample_ratio_p_value": map[string]any{"type": "number"}, "sample_ratio_mismatch": map[string]any{"type": "boolean"},
						"compare_from": map[string]any{"type": "string"}, "compare_to": map[string]any{"type": "string"},
						"models": map[string]any{"type": "array", "items": map[string]any{"type": "object"}}}}}},
				"MetricListing": map[string]any{"type": "object", "properties": map[string]any{
					"metrics":   map[string]any{"type": "array", "items": map[string]any{"type": "object"}},
					"intervals": stringArray(), "k_anonymity": map[string]any{"type": "integer"}}},
				"Error": map[string]any{"type": "object", "properties": map[string]any{"error": map[string]any{"type": "object", "properties": map[string]any{
					"code": map[string]any{"type": "integer"}, "field": map[string]any{"type": "string"}, "message": map[string]any{"type": "string"}}}}},
			},
		},
	}
}

func ref(name string) map[string]any { return map[string]any{"$ref": "#/components/schemas/" + name} }

func stringArray() map[string]any {
	return map[string]any{"type": "array", "items": map[string]any{"type": "string"}}
}
