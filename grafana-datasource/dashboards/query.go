package dashboards

import (
	"encoding/json"
	"reflect"

	"github.com/grafana/grafana-foundation-sdk/go/cog/variants"
	"github.com/grafana/grafana-foundation-sdk/go/common"

	"github.com/insights-collector/insights-collector/grafana-datasource/pkg/plugin"
)

// Query is a panel's target as Grafana stores it: the fields every data source query has, and the data source's
// own model (pkg/plugin reads the same struct, so a field the backend does not know cannot be written here).
type Query struct {
	RefID      string                `json:"refId"`
	Hide       bool                  `json:"hide,omitempty"`
	Datasource *common.DataSourceRef `json:"datasource,omitempty"`
	// QueryType is the collector's metric.
	QueryType string `json:"queryType"`
	plugin.Model
}

var _ variants.Dataquery = Query{}

func (Query) ImplementsDataqueryVariant() {}

func (Query) DataqueryType() string { return plugin.ID }

func (q Query) Equals(other variants.Dataquery) bool { return reflect.DeepEqual(q, other) }

func (Query) Validate() error { return nil }

// query starts a target on a metric, against the dashboard's data source variable.
func query(metric string) *Query {
	return &Query{QueryType: metric, Datasource: datasourceRef()}
}

// Build makes a *Query a target builder of the SDK's panels.
func (q *Query) Build() (variants.Dataquery, error) { return *q, nil }

// every buckets the metric by an interval (auto: from the panel's width and time range).
func (q *Query) every(interval string) *Query { q.Interval = interval; return q }

// where filters on a dimension; values are usually a template variable ("$team").
func (q *Query) where(filter string, values ...string) *Query {
	if q.Filters == nil {
		q.Filters = map[string][]string{}
	}
	q.Filters[filter] = append(q.Filters[filter], values...)
	return q
}

// inInstance filters on the dashboard's instance variable: most metrics take it.
func inInstance(q *Query) *Query { return q.where("instance", "$"+varInstance) }

// by groups by dimensions.
func (q *Query) by(dimensions ...string) *Query { q.GroupBy = dimensions; return q }

func (q *Query) top(n int) *Query { q.Limit = n; return q }

func (q *Query) lens(lens string) *Query { q.Lens = lens; return q }

func (q *Query) compare(to string) *Query { q.Compare = to; return q }

// table frames the answer as a table even when it has a time column.
func (q *Query) table() *Query { q.Format = plugin.FormatTable; return q }

func (q *Query) series(v any) *Query { q.Series = raw(v); return q }

func (q *Query) funnel(v any) *Query { q.Funnel = raw(v); return q }

func (q *Query) paths(v any) *Query { q.Paths = raw(v); return q }

func (q *Query) goal(v any) *Query { q.Goal = raw(v); return q }

// raw is a metric's parameter object as JSON; the values are literals of this package, so they always encode.
func raw(v any) json.RawMessage {
	out, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return out
}

// datasourceRef points at the dashboard's data source variable, as every panel and target must.
func datasourceRef() *common.DataSourceRef {
	id, uid := plugin.ID, "${"+varDatasource+"}"
	return &common.DataSourceRef{Type: &id, Uid: &uid}
}
