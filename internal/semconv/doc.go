package semconv

import (
	"bytes"
	_ "embed"
	"strings"
	"text/template"
)

//go:embed doc.md.tmpl
var docTemplate string

// DocPath is where Markdown's output is committed, relative to the repository root.
const DocPath = "docs/semantic-conventions.md"

type formatColumn struct {
	Name   string
	Source func(Sources) string
}

var formatColumns = []formatColumn{
	{"OTLP log record (`/v1/logs`)", func(s Sources) string { return s.OTLP }},
	{"Backstage AnalyticsEvent (`/v1/events`)", func(s Sources) string { return s.AnalyticsEvent }},
	{"Generic HTTP envelope (`/v1/events`)", func(s Sources) string { return s.Generic }},
	{"Segment spec (`/v1/batch` …)", func(s Sources) string { return s.Segment }},
	{"Backstage audit event (`/v1/logs`)", func(s Sources) string { return s.Audit }},
}

type mappingRow struct{ Key, Source string }

type mappingTable struct {
	Format string
	Rows   []mappingRow
}

// Markdown renders docs/semantic-conventions.md from the Registry.
func Markdown() string {
	var records, resources []Attribute
	for _, a := range Registry {
		if a.Resource {
			resources = append(resources, a)
		} else {
			records = append(records, a)
		}
	}
	tables := make([]mappingTable, 0, len(formatColumns))
	for _, col := range formatColumns {
		t := mappingTable{Format: col.Name}
		for _, a := range Registry {
			if src := col.Source(a.From); src != "" {
				t.Rows = append(t.Rows, mappingRow{Key: a.Key, Source: src})
			}
		}
		tables = append(tables, t)
	}
	data := map[string]any{
		"Records":   records,
		"Resources": resources,
		"Mappings":  tables,
		"Events": []mappingRow{
			{EventNamePrefix + "<action>", "one Backstage analytics event or audit event"},
			{EventSessionStart, "a session began (sessionization processor)"},
			{EventEngagementTierChange, "a user's engagement tier changed, up or down (engagement processor)"},
			{EventSessionEnd, "a session ended (sessionization processor)"},
			{EventFeatureFlagEvaluation, "a user was exposed to an experiment's variant (cohort processor)"},
		},
		"MaxActionBytes":  MaxActionBytes,
		"MaxSubjectBytes": MaxSubjectBytes,
		"Actions":         []string{ActionNavigate, ActionClick, ActionSearch, ActionDiscover, ActionCreate, ActionNotFound, ActionSignIn, ActionIdentify, ActionGroup},
	}
	tmpl := template.Must(template.New("doc").Funcs(template.FuncMap{"cell": cell}).Parse(docTemplate))
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, data); err != nil {
		panic(err) // the template is embedded and fixed: a failure is a programming error caught by the tests
	}
	return buf.String()
}

// cell makes a value safe for a Markdown table cell.
func cell(s string) string {
	if s == "" {
		return "–"
	}
	return strings.ReplaceAll(s, "|", `\|`)
}
