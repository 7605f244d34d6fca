package dashboards

import (
	"github.com/grafana/grafana-foundation-sdk/go/barchart"
	"github.com/grafana/grafana-foundation-sdk/go/bargauge"
	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/variants"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/table"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
)

// Units of the panels, Grafana's ids.
const (
	unitCount   = "short"
	unitPercent = "percentunit"
	unitMS      = "ms"
	unitSeconds = "s"
	unitHours   = "h"
	unitReqPS   = "reqps"
	unitNone    = "none"
)

// Panel sizes on Grafana's 24-column grid; the SDK flows panels left to right.
const (
	widthStat  = 6
	widthHalf  = 12
	widthThird = 8
	widthFull  = 24
	heightStat = 5
	heightTall = 9
)

// targeted is a panel builder of any type: they all take targets.
type targeted[P any] interface {
	WithTarget(cog.Builder[variants.Dataquery]) P
}

// withTargets adds the queries with refIds A, B, … in order.
func withTargets[P targeted[P]](p P, targets []*Query) P {
	for i, t := range targets {
		t.RefID = string(rune('A' + i))
		p = p.WithTarget(t)
	}
	return p
}

// timeSeries is a time series panel: lines over time, one per field of the wide frame the plugin returns.
func timeSeries(title, description, unit string, targets ...*Query) *timeseries.PanelBuilder {
	p := timeseries.NewPanelBuilder().Title(title).Description(description).Unit(unit).Datasource(*datasourceRef()).
		Span(widthHalf).Height(heightTall).LineWidth(2).FillOpacity(10).ShowPoints(common.VisibilityModeNever).
		Legend(common.NewVizLegendOptionsBuilder().ShowLegend(true).DisplayMode(common.LegendDisplayModeList).
			Placement(common.LegendPlacementBottom)).
		Tooltip(common.NewVizTooltipOptionsBuilder().Mode(common.TooltipDisplayModeMulti).Sort(common.SortOrderDescending))
	return withTargets(p, targets)
}

// bars is a time series panel drawn as stacked bars: parts of a whole per bucket.
func bars(title, description, unit string, targets ...*Query) *timeseries.PanelBuilder {
	return timeSeries(title, description, unit, targets...).DrawStyle(common.GraphDrawStyleBars).FillOpacity(80).
		Stacking(common.NewStackingConfigBuilder().Mode(common.StackingModeNormal))
}

// singleStat is one big number: the last value of a series, or the field calc of a table (fields: a regexp of
// field names, "" for all numbers).
func singleStat(title, description, unit, calc, fields string, targets ...*Query) *stat.PanelBuilder {
	p := stat.NewPanelBuilder().Title(title).Description(description).Unit(unit).Datasource(*datasourceRef()).
		Span(widthStat).Height(heightStat).GraphMode(common.BigValueGraphModeArea).ColorMode(common.BigValueColorModeValue).
		ReduceOptions(common.NewReduceDataOptionsBuilder().Values(false).Calcs([]string{calc}).Fields(fields))
	return withTargets(p, targets)
}

// dataTable is a table of the answer's rows with a filter on each column.
func dataTable(title, description, unit string, targets ...*Query) *table.PanelBuilder {
	p := table.NewPanelBuilder().Title(title).Description(description).Unit(unit).Datasource(*datasourceRef()).
		Span(widthHalf).Height(heightTall).Filterable(true).CellHeight(common.TableCellHeightSm).
		// The SDK's default footer does not round-trip (its reducer is required): set it.
		Footer(common.NewTableFooterOptionsBuilder().Show(false).Reducer([]string{"sum"}))
	return withTargets(p, targets)
}

// sorted sorts a table by a column.
func sorted(p *table.PanelBuilder, column string, descending bool) *table.PanelBuilder {
	return p.SortBy([]cog.Builder[common.TableSortByFieldState]{common.NewTableSortByFieldStateBuilder().DisplayName(column).Desc(descending)})
}

// gaugeCells shows a table's ratio column as a bar inside its cell.
func gaugeCells(p *table.PanelBuilder, fields ...string) *table.PanelBuilder {
	for _, f := range fields {
		p = p.OverrideByName(f, []dashboard.DynamicConfigValue{
			{Id: "custom.cellOptions", Value: map[string]any{"type": "gauge", "mode": "basic"}},
			{Id: "unit", Value: unitPercent}, {Id: "min", Value: 0}, {Id: "max", Value: 1},
		})
	}
	return p
}

// heatCells colours every number cell of a table by its value: a matrix read as a heatmap.
func heatCells(p *table.PanelBuilder) *table.PanelBuilder {
	return p.OverrideByFieldType("number", []dashboard.DynamicConfigValue{
		{Id: "custom.cellOptions", Value: map[string]any{"type": "color-background", "mode": "gradient"}},
		{Id: "color", Value: map[string]any{"mode": "continuous-YlBl"}},
	})
}

// ranking is a bar gauge of a table's rows: one bar per row (a plugin, a team) for the value field.
func ranking(title, description, unit, field string, targets ...*Query) *bargauge.PanelBuilder {
	p := bargauge.NewPanelBuilder().Title(title).Description(description).Unit(unit).Datasource(*datasourceRef()).
		Span(widthHalf).Height(heightTall).DisplayMode(common.BarGaugeDisplayModeGradient).Orientation(common.VizOrientationHorizontal).
		ShowUnfilled(true).Min(0).
		ReduceOptions(common.NewReduceDataOptionsBuilder().Values(true).Calcs([]string{"lastNotNull"}).Fields("/^" + field + "$/"))
	return withTargets(p, targets)
}

// barChart is a bar chart of a table: x a string or number column, bars the numbers.
func barChart(title, description, unit, x string, targets ...*Query) *barchart.PanelBuilder {
	p := barchart.NewPanelBuilder().Title(title).Description(description).Unit(unit).Datasource(*datasourceRef()).
		Span(widthHalf).Height(heightTall).XField(x).ShowValue(common.VisibilityModeAuto).
		Legend(common.NewVizLegendOptionsBuilder().ShowLegend(true).DisplayMode(common.LegendDisplayModeList).
			Placement(common.LegendPlacementBottom))
	return withTargets(p, targets)
}

// organize shows only the named columns of a table, in that order (Grafana's organize transformation).
func organize(columns ...string) dashboard.DataTransformerConfig {
	index, included := map[string]any{}, map[string]any{}
	for i, c := range columns {
		index[c], included[c] = i, true
	}
	return dashboard.DataTransformerConfig{Id: "organize", Options: map[string]any{"indexByName": index, "includeByName": included}}
}

// onlyFields keeps the fields of these names (every series of each: their labels differ, not their names).
func onlyFields(names ...string) dashboard.DataTransformerConfig {
	return dashboard.DataTransformerConfig{Id: "filterFieldsByName", Options: map[string]any{"include": map[string]any{"names": names}}}
}

// join joins the queries' tables on a column (outer: rows of either side are kept).
func join(column string) dashboard.DataTransformerConfig {
	return dashboard.DataTransformerConfig{Id: "joinByField", Options: map[string]any{"byField": column, "mode": "outer"}}
}

// matrix pivots a long table (row, column, value) into a grid: the retention triangle, tiers per team.
func matrix(rowField, columnField, valueField string) dashboard.DataTransformerConfig {
	return dashboard.DataTransformerConfig{Id: "groupingToMatrix", Options: map[string]any{
		"rowField": rowField, "columnField": columnField, "valueField": valueField, "emptyValue": "null"}}
}

// drillDown links a panel's rows to another dashboard of the suite, for the row's value of a field as that
// dashboard's variable, keeping the time range, the data source and the instance.
func drillDown(title, uid, variable, field string) []cog.Builder[dashboard.DashboardLink] {
	url := "/d/" + uid + "?var-" + variable + "=${__data.fields." + field + "}&${__url_time_range}&${" + varDatasource +
		":queryparam}&${" + varInstance + ":queryparam}"
	return []cog.Builder[dashboard.DashboardLink]{dashboard.NewDashboardLinkBuilder(title).Type(dashboard.DashboardLinkTypeLink).Url(url)}
}
