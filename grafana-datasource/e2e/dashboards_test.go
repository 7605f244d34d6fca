package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/grafana/grafana-plugin-sdk-go/genproto/pluginv2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/insights-collector/insights-collector/grafana-datasource/dashboards"
	"github.com/insights-collector/insights-collector/grafana-datasource/dashboards/render"
)

// experiment runs over the whole simulated history, on everyone who opens the catalog.
const experiment = `experiments:
  - key: catalog-cards
    variants:
      - {key: control, weight: 0.5}
      - {key: cards, weight: 0.5}
    traffic: 1
    start: "2020-01-01T00:00:00Z"
    end: "2099-01-01T00:00:00Z"
    targeting:
      plugins: [catalog]
`

// valueModel prices the platform's uses, for the roi metric.
var valueModel = []string{
	"extensions::insights_store::query_api::roi::use_template_time_saved=true",
	"extensions::insights_store::query_api::roi::search_success_minutes=3",
	"extensions::insights_store::query_api::roi::techdocs_view_minutes=2",
	"extensions::insights_store::query_api::roi::hourly_cost=95",
	"extensions::insights_store::query_api::roi::platform_cost_per_month=12000",
}

// TestEveryDashboardPanelAnswers runs the query of every panel of every bundled dashboard, its variables
// substituted as Grafana substitutes them, through the plugin binary against a collector seeded with three months
// of a simulated organisation (catalog, experiment, backend, value model and a collapse included), and checks that each answers with
// data in the shape its panel draws: the fields its options and transformations name exist.
func TestEveryDashboardPanelAnswers(t *testing.T) {
	repo, err := filepath.Abs("../..")
	require.NoError(t, err)
	bin := os.Getenv("PLUGIN_BIN")
	if bin == "" {
		bin = build(t, "..", "./pkg", "gpx_insights", false)
	}
	queryAPI, live := startWorld(t, repo, world{days: 91, users: 120, teams: 8, catalog: true, experiments: experiment, set: valueModel,
		scenarios: []string{"-collapse", "search@84"}}) // search collapses a week ago: the unusual days have rows
	live() // the live dashboard looks at the last five minutes
	p := startPlugin(t, bin)
	settings := pluginContext("http://"+queryAPI, grafanaTok)
	now := time.Now().UTC()
	// make datasource-fixtures: keep each metric's query, request and answer for the plugin's unit tests.
	rec := newRecorder(t, "http://"+queryAPI, os.Getenv("INSIGHTS_RECORD"))
	if rec != nil {
		settings = pluginContext(rec.URL, grafanaTok)
		settings.DataSourceInstanceSettings.JSONData = []byte(`{"cacheSeconds": -1}`) // every query reaches the recorder
	}

	values := map[string][]string{} // each query variable's options, from the plugin's resource
	for _, dimension := range []string{"instance", "plugin", "team", "experiment"} {
		res := callResource(t, p, settings, "values/"+dimension)
		require.Equal(t, int32(http.StatusOK), res.Code, string(res.Body))
		var options []struct{ Value string }
		require.NoError(t, json.Unmarshal(res.Body, &options))
		require.NotEmpty(t, options, "the %s variable has values", dimension)
		for _, o := range options {
			values[dimension] = append(values[dimension], o.Value)
		}
	}

	pictures := os.Getenv("INSIGHTS_SCREENSHOTS") // make screenshots: draw each dashboard from the answers
	for _, d := range dashboards.Suite() {
		raw, err := os.ReadFile(filepath.Join("..", dashboards.Dir, d.File))
		require.NoError(t, err)
		b, err := render.ReadBoard(raw)
		require.NoError(t, err)
		from, to := relative(t, b.Time.From, now), relative(t, b.Time.To, now)
		t.Run(d.File, func(t *testing.T) {
			for i, panel := range b.Panels {
				if panel.Type == "row" {
					continue
				}
				t.Run(panel.Title, func(t *testing.T) {
					// All of every multi-value variable, the first value of a single one.
					all := substitute(b, values, func(options []string, multi bool) string {
						if multi {
							return dashboards.AllValue
						}
						return options[0]
					})
					from := from
					if panel.TimeFrom != "" { // the panel's own range, up to now
						from = relative(t, "now-"+panel.TimeFrom, now)
					}
					queries := panelQueries(t, panel.Targets, all, from, to)
					seen := rec.count()
					frames := queryPanel(t, p, settings, queries, true)
					checkShape(t, panel.Type, panel.Options, panel.Transformations, frames)
					rec.save(t, queries, seen)
					for _, target := range frames {
						b.Panels[i].Frames = append(b.Panels[i].Frames, target...)
					}
					// And the first value of each: the filters reach the collector and it accepts them.
					first := substitute(b, values, func(options []string, _ bool) string { return options[0] })
					queryPanel(t, p, settings, panelQueries(t, panel.Targets, first, from, to), false)
				})
			}
			if pictures != "" {
				out, err := os.Create(filepath.Join(pictures, strings.TrimSuffix(d.File, ".json")+".png"))
				require.NoError(t, err)
				defer out.Close()
				require.NoError(t, render.PNG(b, out))
			}
		})
	}

	// The raw events (no dashboard shows them) need the analyst role: a viewer's token gets the reason.
	t.Run("raw events", func(t *testing.T) {
		query := []backend.DataQuery{{RefID: "A", QueryType: "events", JSON: []byte(`{"limit": 20}`),
			TimeRange: backend.TimeRange{From: now.AddDate(0, 0, -7), To: now}, Interval: time.Hour, MaxDataPoints: 500}}
		raw, err := p.data.QueryData(context.Background(), backend.ToProto().QueryDataRequest(&backend.QueryDataRequest{
			PluginContext: settings, Queries: query}))
		require.NoError(t, err)
		resp, err := backend.FromProto().QueryDataResponse(raw)
		require.NoError(t, err)
		require.Error(t, resp.Responses["A"].Error)
		assert.Contains(t, resp.Responses["A"].Error.Error(), "analyst")
		admin := settings
		admin.DataSourceInstanceSettings = &backend.DataSourceInstanceSettings{}
		*admin.DataSourceInstanceSettings = *settings.DataSourceInstanceSettings
		admin.DataSourceInstanceSettings.UID = "insights-admin" // another instance: another token
		admin.DataSourceInstanceSettings.DecryptedSecureJSONData = map[string]string{"token": adminToken}
		seen := rec.count()
		frames := queryPanel(t, p, admin, query, true)
		rec.save(t, query, seen)
		rows, _ := frames[0][0].RowLen()
		assert.Equal(t, 20, rows, "limit")
		user, _ := frames[0][0].FieldByName("user")
		require.NotNil(t, user)
		assert.NotContains(t, fmt.Sprint(user.At(0)), "user:default/", "pseudonyms, not user refs")
	})
}

// substitute returns how each variable of a dashboard is replaced, as Grafana does with the chosen values.
func substitute(b render.Board, values map[string][]string, choose func(options []string, multi bool) string) map[string]string {
	out := map[string]string{"datasource": "insights"}
	for _, v := range b.Templating.List {
		switch v.Type {
		case "query":
			dimension, _ := v.Query.(map[string]any)["dimension"].(string)
			out[v.Name] = choose(values[dimension], v.Multi)
		case "custom":
			out[v.Name] = choose(strings.Split(v.Query.(string), ","), v.Multi)
		}
	}
	return out
}

var variableUse = regexp.MustCompile(`\$\{([A-Za-z0-9_]+)(?::[^}]*)?\}|\$([A-Za-z0-9_]+)`)

// panelQueries are a panel's targets as Grafana sends them: variables substituted, the time range and interval.
func panelQueries(t *testing.T, targets []json.RawMessage, vars map[string]string, from, to time.Time) []backend.DataQuery {
	t.Helper()
	var queries []backend.DataQuery
	for _, target := range targets {
		replaced := variableUse.ReplaceAllStringFunc(string(target), func(use string) string {
			m := variableUse.FindStringSubmatch(use)
			value, ok := vars[m[1]+m[2]]
			require.True(t, ok, "variable %s is substituted", use)
			return value
		})
		var head struct{ RefID, QueryType string }
		require.NoError(t, json.Unmarshal([]byte(replaced), &head))
		queries = append(queries, backend.DataQuery{RefID: head.RefID, QueryType: head.QueryType, JSON: []byte(replaced),
			TimeRange: backend.TimeRange{From: from, To: to}, Interval: to.Sub(from) / 500, MaxDataPoints: 500})
	}
	return queries
}

// queryPanel sends a panel's queries in one QueryData request, as a panel does, and returns each target's
// frames, in the targets' order; every target must answer without error, and with rows when withData.
func queryPanel(t *testing.T, p plugin, settings backend.PluginContext, queries []backend.DataQuery, withData bool) [][]*data.Frame {
	t.Helper()
	req := &backend.QueryDataRequest{PluginContext: settings, Queries: queries}
	raw, err := p.data.QueryData(context.Background(), backend.ToProto().QueryDataRequest(req))
	require.NoError(t, err)
	resp, err := backend.FromProto().QueryDataResponse(raw)
	require.NoError(t, err)
	var out [][]*data.Frame
	for _, q := range req.Queries {
		r, ok := resp.Responses[q.RefID]
		require.True(t, ok, "target %s answered", q.RefID)
		require.NoError(t, r.Error, "target %s (%s): %s", q.RefID, q.QueryType, q.JSON)
		require.NotEmpty(t, r.Frames, "target %s", q.RefID)
		if rows, _ := r.Frames[0].RowLen(); withData {
			assert.Positive(t, rows, "target %s (%s) has data: %s", q.RefID, q.QueryType, q.JSON)
		}
		out = append(out, r.Frames)
	}
	return out
}

// checkShape checks that the frames are what the panel draws: a time series for a time series panel, and the
// fields that the panel's options and transformations name.
func checkShape(t *testing.T, panelType string, options map[string]any, transformations []render.Transformation, frames [][]*data.Frame) {
	t.Helper()
	fields := map[string]data.FieldType{}
	for target, fs := range frames {
		for _, f := range fs {
			for _, field := range f.Fields {
				fields[field.Name] = field.Type()
			}
			if panelType == "timeseries" {
				assert.Contains(t, []data.FrameType{data.FrameTypeTimeSeriesWide, data.FrameTypeTimeSeriesLong}, f.Meta.Type, "target %d is a time series", target)
			}
		}
	}
	has := func(name, what string) {
		_, ok := fields[name]
		assert.True(t, ok, "%s names field %q; the frames have %v", what, name, keys(fields))
	}
	matrixed := false
	for _, tr := range transformations {
		switch tr.ID {
		case "filterFieldsByName":
			for _, name := range tr.Options["include"].(map[string]any)["names"].([]any) {
				has(name.(string), "filterFieldsByName")
			}
		case "organize":
			for name := range tr.Options["includeByName"].(map[string]any) {
				has(name, "organize")
			}
		case "groupingToMatrix":
			matrixed = true
			for _, k := range []string{"rowField", "columnField", "valueField"} {
				has(tr.Options[k].(string), "groupingToMatrix "+k)
			}
		case "joinByField":
			has(tr.Options["byField"].(string), "joinByField")
		}
	}
	switch panelType {
	case "stat", "bargauge":
		pattern := options["reduceOptions"].(map[string]any)["fields"].(string)
		re := regexp.MustCompile(strings.Trim(pattern, "/"))
		assert.True(t, slices.ContainsFunc(keys(fields), func(name string) bool { return re.MatchString(name) && fields[name] == data.FieldTypeNullableFloat64 }),
			"reduceOptions.fields %s matches a number field of %v", pattern, keys(fields))
	case "barchart":
		has(options["xField"].(string), "xField")
	case "table":
		for target, fs := range frames {
			if !slices.ContainsFunc(transformations, func(t render.Transformation) bool { return t.ID == "timeSeriesTable" }) {
				assert.Equal(t, data.FrameTypeTable, fs[0].Meta.Type, "target %d of a table is a table: format table", target)
			}
		}
		if sortBy, ok := options["sortBy"].([]any); ok && !matrixed {
			for _, s := range sortBy {
				has(s.(map[string]any)["displayName"].(string), "sortBy")
			}
		}
	}
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// relative reads Grafana's relative times: now, now-30d, now-6h, now-15m.
func relative(t *testing.T, expr string, now time.Time) time.Time {
	t.Helper()
	if expr == "now" {
		return now
	}
	rest, ok := strings.CutPrefix(expr, "now-")
	require.True(t, ok, "relative time %q", expr)
	n, err := strconv.Atoi(rest[:len(rest)-1])
	require.NoError(t, err, expr)
	unit := map[byte]time.Duration{'m': time.Minute, 'h': time.Hour, 'd': 24 * time.Hour}[rest[len(rest)-1]]
	require.NotZero(t, unit, expr)
	return now.Add(-time.Duration(n) * unit)
}

func callResource(t *testing.T, p plugin, settings backend.PluginContext, path string) *pluginv2.CallResourceResponse {
	t.Helper()
	stream, err := p.resource.CallResource(context.Background(), backend.ToProto().CallResourceRequest(&backend.CallResourceRequest{
		PluginContext: settings, Path: path, Method: http.MethodGet, URL: path}))
	require.NoError(t, err)
	res, err := stream.Recv()
	require.NoError(t, err)
	return res
}
