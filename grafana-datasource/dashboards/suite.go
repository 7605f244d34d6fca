// Package dashboards defines the bundled Grafana dashboards as code (the Grafana foundation SDK): the suite,
// its shared variables and links, and one file per dashboard. `make dashboards` writes them as JSON into the
// plugin's src/dashboards, from where the plugin ships them (plugin.json includes) and Grafana provisions them.
package dashboards

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"

	"github.com/insights-collector/insights-collector/grafana-datasource/pkg/plugin"
)

// Dir is where the dashboards' JSON lives, from the module's root: the plugin's bundle copies it.
const Dir = "src/dashboards"

// Tag is on every dashboard of the suite: the links dropdown lists the dashboards that carry it.
const Tag = "insights"

// Template variables of the suite.
const (
	varDatasource = "datasource"
	varInstance   = "instance"
	varTeam       = "team"
	varPlugin     = "plugin"
	varExperiment = "experiment"
	varKind       = "kind"
)

// AllValue is what a multi-value variable sends when "All" is chosen: the data source drops the filter
// instead of expanding every value.
const AllValue = plugin.AllValue

// Dashboard is one dashboard of the suite: its file name and how to build it.
type Dashboard struct {
	File  string
	build func() *dashboard.DashboardBuilder
}

// Suite is every bundled dashboard, in the order of the links dropdown.
func Suite() []Dashboard {
	return []Dashboard{
		{"executive-overview.json", executiveOverview},
		{"adoption-engagement.json", adoptionEngagement},
		{"plugins-features.json", pluginsFeatures},
		{"catalog-search.json", catalogSearch},
		{"templates.json", templates},
		{"techdocs.json", techdocs},
		{"teams.json", teams},
		{"experiments.json", experiments},
		{"platform-health.json", platformHealth},
		{"live.json", live},
	}
}

// JSON builds the dashboard and encodes it as the committed file: indented, with panel ids in order.
func (d Dashboard) JSON() ([]byte, error) {
	built, err := d.build().Build()
	if err != nil {
		return nil, fmt.Errorf("build %s: %w", d.File, err)
	}
	for i, p := range built.Panels { // the SDK leaves ids unset; links and the linter need them unique
		id := uint32(i + 1)
		switch {
		case p.Panel != nil:
			p.Panel.Id = &id
			if p.Panel.FieldConfig != nil {
				for j := range p.Panel.FieldConfig.Defaults.Links { // a data link has no place in the controls
					p.Panel.FieldConfig.Defaults.Links[j].Placement = nil
				}
			}
		case p.RowPanel != nil:
			p.RowPanel.Id = id
		}
	}
	for i := range built.Links { // the SDK's default hides the links in the controls menu: show them on top
		built.Links[i].Placement = nil
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(built); err != nil {
		return nil, fmt.Errorf("encode %s: %w", d.File, err)
	}
	// The SDK's own marshallers escape &, < and > in URLs; the file reads better with them as they are.
	return []byte(strings.NewReplacer(`\u0026`, "&", `\u003c`, "<", `\u003e`, ">").Replace(out.String())), nil
}

// newDashboard starts a dashboard with the suite's defaults: the shared tag and links dropdown, a shared
// crosshair, the browser's time zone, read-only (it is provisioned: copy it to change it), the data source
// variable first and then the given ones.
func newDashboard(uid, title, description string, variables ...cog.Builder[dashboard.VariableModel]) *dashboard.DashboardBuilder {
	b := dashboard.NewDashboardBuilder(title).Uid(uid).Description(description).Tags([]string{Tag}).
		Timezone("browser").Tooltip(dashboard.DashboardCursorSyncCrosshair).Time("now-30d", "now").Readonly().
		Link(dashboard.NewDashboardLinkBuilder("Insights").Type(dashboard.DashboardLinkTypeDashboards).Tags([]string{Tag}).
			AsDropdown(true).IncludeVars(true).KeepTime(true)).
		WithVariable(dashboard.NewDatasourceVariableBuilder(varDatasource).Label("Data source").Type(plugin.ID))
	for _, v := range variables {
		b = b.WithVariable(v)
	}
	return b
}

// dimensionVariable lists a dimension's values from the data source (its values/<dimension> resource: the last
// 90 days, whatever the time range). Multi-value ones offer All, sent as AllValue.
func dimensionVariable(name, label string, multi bool) *dashboard.QueryVariableBuilder {
	v := dashboard.NewQueryVariableBuilder(name).Label(label).Datasource(*datasourceRef()).
		Query(dashboard.StringOrMap{Map: map[string]any{"dimension": name}}).Definition("Insights " + name).
		Refresh(dashboard.VariableRefreshOnDashboardLoad).Sort(dashboard.VariableSortAlphabeticalCaseInsensitiveAsc)
	if multi {
		v = v.Multi(true).IncludeAll(true).AllValue(AllValue).Current(allOption())
	}
	return v
}

func allOption() dashboard.VariableOption {
	return dashboard.VariableOption{Text: dashboard.StringOrArrayOfString{String: cog.ToPtr("All")},
		Value: dashboard.StringOrArrayOfString{ArrayOfString: []string{"$__all"}}}
}

func instanceVariable() *dashboard.QueryVariableBuilder {
	return dimensionVariable(varInstance, "Backstage instance", true)
}

// row starts a section; its title is the question the section answers.
func row(question string) *dashboard.RowBuilder { return dashboard.NewRowBuilder(question) }
