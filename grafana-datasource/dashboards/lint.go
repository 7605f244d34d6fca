package dashboards

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/grafana/grafana-foundation-sdk/go/dashboard"

	"github.com/insights-collector/insights-collector/grafana-datasource/pkg/plugin"
)

// SchemaVersion is the dashboard JSON model the suite is written in (Grafana 12–13's).
const SchemaVersion = 42

// API is what the lint knows of the query API: its metrics and filters (from its OpenAPI document).
type API struct {
	Metrics   []string
	Filters   []string
	Intervals []string
}

// ReadAPI reads the metric and filter names from the query API's OpenAPI document (docs/query-api.openapi.json).
func ReadAPI(openapi []byte) (API, error) {
	var doc struct {
		Components struct {
			Schemas struct {
				Query struct {
					Properties struct {
						Metric   struct{ Enum []string }
						Interval struct{ Enum []string }
						Filters  struct{ Properties map[string]json.RawMessage }
					}
				}
			}
		}
	}
	if err := json.Unmarshal(openapi, &doc); err != nil {
		return API{}, fmt.Errorf("read the OpenAPI document: %w", err)
	}
	q := doc.Components.Schemas.Query.Properties
	api := API{Metrics: q.Metric.Enum, Intervals: q.Interval.Enum}
	for name := range q.Filters.Properties {
		api.Filters = append(api.Filters, name)
	}
	if len(api.Metrics) == 0 || len(api.Filters) == 0 {
		return API{}, fmt.Errorf("the OpenAPI document lists no metrics or filters")
	}
	return api, nil
}

// lintDashboard is the part of a dashboard the rules read: the JSON as Grafana stores it.
type lintDashboard struct {
	UID           string                        `json:"uid"`
	Title         string                        `json:"title"`
	Tags          []string                      `json:"tags"`
	Editable      bool                          `json:"editable"`
	SchemaVersion int                           `json:"schemaVersion"`
	Panels        []lintPanel                   `json:"panels"`
	Links         []lintLink                    `json:"links"`
	Templating    struct{ List []lintVariable } `json:"templating"`
}

type lintPanel struct {
	ID          int                      `json:"id"`
	Type        string                   `json:"type"`
	Title       string                   `json:"title"`
	Description string                   `json:"description"`
	Datasource  *lintRef                 `json:"datasource"`
	Targets     []json.RawMessage        `json:"targets"`
	GridPos     struct{ H, W, X, Y int } `json:"gridPos"`
	FieldConfig struct {
		Defaults struct {
			Unit string `json:"unit"`
		} `json:"defaults"`
	} `json:"fieldConfig"`
}

type lintRef struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type lintLink struct {
	Type       string   `json:"type"`
	Tags       []string `json:"tags"`
	AsDropdown bool     `json:"asDropdown"`
}

type lintVariable struct {
	Type       string   `json:"type"`
	Name       string   `json:"name"`
	Query      any      `json:"query"`
	Datasource *lintRef `json:"datasource"`
	Refresh    int      `json:"refresh"`
	Multi      bool     `json:"multi"`
	IncludeAll bool     `json:"includeAll"`
	AllValue   string   `json:"allValue"`
}

// variableUse finds $name, ${name}, ${name:format} and [[name]] in a dashboard's JSON.
var variableUse = regexp.MustCompile(`\$\{([A-Za-z0-9_]+)(?::[^}]*)?\}|\$([A-Za-z0-9_]+)|\[\[([A-Za-z0-9_]+)\]\]`)

// Lint checks a dashboard against the suite's rules (those of Grafana's dashboard-linter that apply to a
// non-Prometheus data source, and the query API's contract); it returns every problem found.
func Lint(raw []byte, api API) []error {
	var problems []error
	report := func(format string, args ...any) { problems = append(problems, fmt.Errorf(format, args...)) }

	var model dashboard.Dashboard // the SDK's own checks: it reads what Grafana reads
	if err := json.Unmarshal(raw, &model); err != nil {
		return []error{fmt.Errorf("not a dashboard: %w", err)}
	}
	if err := model.Validate(); err != nil {
		report("invalid: %v", err)
	}
	var d lintDashboard
	if err := json.Unmarshal(raw, &d); err != nil {
		return append(problems, fmt.Errorf("not a dashboard: %w", err))
	}
	if d.SchemaVersion != SchemaVersion {
		report("schemaVersion %d, want %d", d.SchemaVersion, SchemaVersion)
	}
	if d.UID == "" || len(d.UID) > 40 {
		report("uid %q: set one of at most 40 characters (links use it)", d.UID)
	}
	if d.Title == "" {
		report("no title")
	}
	if d.Editable {
		report("editable: a provisioned dashboard is read-only (uneditable-dashboard)")
	}
	if !slices.Contains(d.Tags, Tag) {
		report("no %q tag: the suite's links dropdown would not list it", Tag)
	}
	if !slices.ContainsFunc(d.Links, func(l lintLink) bool { return l.Type == "dashboards" && l.AsDropdown && slices.Contains(l.Tags, Tag) }) {
		report("no dropdown of the suite's dashboards (a dashboards link on tag %q)", Tag)
	}
	lintVariables(d, report)
	lintPanels(d, api, report)
	defined := map[string]bool{}
	for _, v := range d.Templating.List {
		defined[v.Name] = true
	}
	for _, m := range variableUse.FindAllStringSubmatch(string(raw), -1) {
		name := m[1] + m[2] + m[3]
		if !defined[name] && !strings.HasPrefix(name, "__") {
			report("variable $%s is used but not defined", name)
			defined[name] = true // once
		}
	}
	return problems
}

func lintVariables(d lintDashboard, report func(string, ...any)) {
	var source *lintVariable
	for i, v := range d.Templating.List {
		switch v.Type {
		case "datasource":
			if v.Name == varDatasource && v.Query == plugin.ID {
				source = &d.Templating.List[i]
			}
		case "query":
			if v.Datasource == nil || v.Datasource.Type != plugin.ID || v.Datasource.UID != "${"+varDatasource+"}" {
				report("variable %s: query it from the data source variable (${%s})", v.Name, varDatasource)
			}
			if v.Refresh == 0 {
				report("variable %s: refresh never: its values would be those of the day it was saved", v.Name)
			}
		}
		if v.Multi && v.IncludeAll && v.AllValue != AllValue {
			report("variable %s: All must send %q (allValue), not every value", v.Name, AllValue)
		}
	}
	if source == nil {
		report("no data source variable %q of type %s (template-datasource-rule)", varDatasource, plugin.ID)
	}
}

func lintPanels(d lintDashboard, api API, report func(string, ...any)) {
	ids := map[int]bool{}
	var cells []lintPanel
	for _, p := range d.Panels {
		name := fmt.Sprintf("panel %d %q", p.ID, p.Title)
		if p.ID == 0 || ids[p.ID] {
			report("%s: id missing or used twice", name)
		}
		ids[p.ID] = true
		if p.GridPos.W <= 0 || p.GridPos.X < 0 || p.GridPos.X+p.GridPos.W > 24 {
			report("%s: gridPos outside the 24 columns", name)
		}
		for _, c := range cells {
			if overlap(c, p) {
				report("%s overlaps panel %d", name, c.ID)
			}
		}
		cells = append(cells, p)
		if p.Type == "row" {
			if p.Title == "" {
				report("%s: a row says which question it answers: give it a title", name)
			}
			continue
		}
		if p.Title == "" || p.Description == "" {
			report("%s: title and description are required (panel-title-description-rule)", name)
		}
		if p.FieldConfig.Defaults.Unit == "" {
			report("%s: no unit (panel-units-rule)", name)
		}
		if p.Datasource == nil || p.Datasource.UID != "${"+varDatasource+"}" {
			report("%s: use the data source variable (panel-datasource-rule)", name)
		}
		if len(p.Targets) == 0 {
			report("%s: no query (panel-no-targets-rule)", name)
		}
		for i, raw := range p.Targets {
			for _, err := range lintTarget(raw, api) {
				report("%s, target %d: %v", name, i, err)
			}
		}
	}
}

func overlap(a, b lintPanel) bool {
	return a.GridPos.X < b.GridPos.X+b.GridPos.W && b.GridPos.X < a.GridPos.X+a.GridPos.W &&
		a.GridPos.Y < b.GridPos.Y+b.GridPos.H && b.GridPos.Y < a.GridPos.Y+a.GridPos.H
}

// lintTarget decodes a target strictly into the data source's query model and checks it against the API.
func lintTarget(raw json.RawMessage, api API) []error {
	var q Query
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&q); err != nil {
		return []error{fmt.Errorf("not the data source's query model: %w", err)}
	}
	var problems []error
	if q.Datasource == nil || q.Datasource.Type == nil || *q.Datasource.Type != plugin.ID || q.Datasource.Uid == nil ||
		*q.Datasource.Uid != "${"+varDatasource+"}" {
		problems = append(problems, fmt.Errorf("use the data source variable"))
	}
	if !slices.Contains(api.Metrics, q.QueryType) {
		problems = append(problems, fmt.Errorf("queryType %q is not a metric of the query API", q.QueryType))
	}
	if q.Interval != "" && q.Interval != "auto" && !slices.Contains(api.Intervals, q.Interval) {
		problems = append(problems, fmt.Errorf("interval %q is not one of the query API's", q.Interval))
	}
	for name := range q.Filters {
		if !slices.Contains(api.Filters, name) {
			problems = append(problems, fmt.Errorf("filter %q is not one of the query API's", name))
		}
	}
	return problems
}
