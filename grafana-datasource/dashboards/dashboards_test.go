package dashboards

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// committed is where the tests find the generated files, from this package's directory.
var committed = filepath.Join("..", Dir)

func readAPI(t *testing.T) API {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "docs", "query-api.openapi.json"))
	require.NoError(t, err)
	api, err := ReadAPI(raw)
	require.NoError(t, err)
	return api
}

func TestTheCommittedDashboardsAreGenerated(t *testing.T) {
	var files []string
	for _, d := range Suite() {
		want, err := d.JSON()
		require.NoError(t, err)
		got, err := os.ReadFile(filepath.Join(committed, d.File))
		require.NoError(t, err, "run make dashboards")
		assert.Equal(t, string(want), string(got), "%s drifted from the code: run make dashboards", d.File)
		again, err := d.JSON()
		require.NoError(t, err)
		assert.Equal(t, want, again, "%s: the generator is not deterministic", d.File)
		files = append(files, d.File)
	}
	entries, err := os.ReadDir(committed)
	require.NoError(t, err)
	for _, e := range entries {
		assert.Contains(t, files, e.Name(), "%s is not generated: remove it or add it to Suite", e.Name())
	}
}

func TestTheDashboardsPassTheLint(t *testing.T) {
	api := readAPI(t)
	uids := map[string]string{}
	for _, d := range Suite() {
		raw, err := os.ReadFile(filepath.Join(committed, d.File))
		require.NoError(t, err)
		assert.Empty(t, Lint(raw, api), d.File)
		var head struct{ UID string }
		require.NoError(t, json.Unmarshal(raw, &head))
		assert.NotContains(t, uids, head.UID, "%s and %s share a uid", d.File, uids[head.UID])
		uids[head.UID] = d.File
	}
}

func TestTheLintFindsEachProblem(t *testing.T) {
	api := readAPI(t)
	good, err := Suite()[1].JSON() // adoption: variables, rows, every panel type but the bar gauge
	require.NoError(t, err)
	for _, tc := range []struct {
		name    string
		edit    func(d map[string]any)
		problem string
	}{
		{"schema version", func(d map[string]any) { d["schemaVersion"] = 39 }, "schemaVersion 39"},
		{"editable", func(d map[string]any) { d["editable"] = true }, "read-only"},
		{"no tag", func(d map[string]any) { d["tags"] = []any{} }, `no "insights" tag`},
		{"no links", func(d map[string]any) { d["links"] = []any{} }, "no dropdown"},
		{"no description", func(d map[string]any) { panel(d, 1)["description"] = "" }, "panel-title-description-rule"},
		{"no unit", func(d map[string]any) { panel(d, 1)["fieldConfig"] = map[string]any{"defaults": map[string]any{}} }, "panel-units-rule"},
		{"fixed data source", func(d map[string]any) { panel(d, 1)["datasource"] = map[string]any{"uid": "P1234"} }, "panel-datasource-rule"},
		{"no targets", func(d map[string]any) { panel(d, 1)["targets"] = []any{} }, "panel-no-targets-rule"},
		{"duplicate id", func(d map[string]any) { panel(d, 2)["id"] = panel(d, 1)["id"] }, "used twice"},
		{"overlap", func(d map[string]any) { panel(d, 2)["gridPos"] = panel(d, 1)["gridPos"] }, "overlaps"},
		{"too wide", func(d map[string]any) { panel(d, 1)["gridPos"].(map[string]any)["w"] = 30 }, "outside the 24 columns"},
		{"unknown metric", func(d map[string]any) { target(d, 1)["queryType"] = "revenue" }, `"revenue" is not a metric`},
		{"typo in the model", func(d map[string]any) { target(d, 1)["group_by"] = []any{"plugin"} }, `unknown field "group_by"`},
		{"unknown filter", func(d map[string]any) { target(d, 1)["filters"] = map[string]any{"country": []any{"de"}} }, `filter "country"`},
		{"unknown interval", func(d map[string]any) { target(d, 1)["interval"] = "fortnight" }, `interval "fortnight"`},
		{"undefined variable", func(d map[string]any) { target(d, 1)["filters"] = map[string]any{"team": []any{"$team"}} }, "$team is used but not defined"},
		{"no data source variable", func(d map[string]any) { variables(d)[0]["query"] = "prometheus" }, "template-datasource-rule"},
		{"All expands", func(d map[string]any) { variables(d)[1]["allValue"] = "" }, "All must send"},
		{"never refreshed", func(d map[string]any) { variables(d)[1]["refresh"] = 0 }, "refresh never"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var d map[string]any
			require.NoError(t, json.Unmarshal(good, &d))
			tc.edit(d)
			raw, err := json.Marshal(d)
			require.NoError(t, err)
			problems := Lint(raw, api)
			require.NotEmpty(t, problems)
			var all []string
			for _, p := range problems {
				all = append(all, p.Error())
			}
			assert.Contains(t, strings.Join(all, "\n"), tc.problem)
		})
	}
}

func panel(d map[string]any, i int) map[string]any { return d["panels"].([]any)[i].(map[string]any) }

func target(d map[string]any, i int) map[string]any {
	return panel(d, i)["targets"].([]any)[0].(map[string]any)
}

func variables(d map[string]any) []map[string]any {
	var out []map[string]any
	for _, v := range d["templating"].(map[string]any)["list"].([]any) {
		out = append(out, v.(map[string]any))
	}
	return out
}

// The plugin ships every dashboard of the suite (plugin.json includes), under its title.
func TestThePluginIncludesTheSuite(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "src", "plugin.json"))
	require.NoError(t, err)
	var meta struct {
		Includes []struct{ Type, Name, Path string }
	}
	require.NoError(t, json.Unmarshal(raw, &meta))
	var want, got []string
	for _, d := range Suite() {
		raw, err := os.ReadFile(filepath.Join(committed, d.File))
		require.NoError(t, err)
		var head struct{ Title string }
		require.NoError(t, json.Unmarshal(raw, &head))
		want = append(want, "dashboard "+head.Title+" dashboards/"+d.File)
	}
	for _, inc := range meta.Includes {
		got = append(got, inc.Type+" "+inc.Name+" "+inc.Path)
	}
	assert.Equal(t, want, got)
}

// A drill-down link lands on a dashboard of the suite, on variables that dashboard has.
func TestDrillDownsLandOnTheSuite(t *testing.T) {
	type board struct {
		UID        string
		Templating struct{ List []struct{ Name string } }
		Panels     []struct {
			Title       string
			FieldConfig struct {
				Defaults struct{ Links []struct{ URL string } }
			}
		}
	}
	boards := map[string]board{}
	for _, d := range Suite() {
		raw, err := os.ReadFile(filepath.Join(committed, d.File))
		require.NoError(t, err)
		var b board
		require.NoError(t, json.Unmarshal(raw, &b))
		boards[b.UID] = b
	}
	link := regexp.MustCompile(`^/d/([^?]+)\?(.*)$`)
	links := 0
	for _, b := range boards {
		for _, p := range b.Panels {
			for _, l := range p.FieldConfig.Defaults.Links {
				m := link.FindStringSubmatch(l.URL)
				require.NotNil(t, m, "%s / %s: %s is a link to a dashboard", b.UID, p.Title, l.URL)
				target, ok := boards[m[1]]
				require.True(t, ok, "%s / %s links to %s, not a dashboard of the suite", b.UID, p.Title, m[1])
				for _, param := range strings.Split(m[2], "&") {
					name, found := strings.CutPrefix(strings.SplitN(param, "=", 2)[0], "var-")
					if !found {
						continue
					}
					assert.True(t, slices.ContainsFunc(target.Templating.List, func(v struct{ Name string }) bool { return v.Name == name }),
						"%s / %s sets var-%s, which %s does not have", b.UID, p.Title, name, m[1])
				}
				links++
			}
		}
	}
	assert.GreaterOrEqual(t, links, 3)
}
