package analyticsdb

import (
	"context"
	"crypto/sha256"
	"database/sql/driver"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"strings"

	duckdb "github.com/duckdb/duckdb-go/v2"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/insights-collector/insights-collector/internal/semconv"
)

// Attribute names of the backend's HTTP server spans (OpenTelemetry HTTP semantic conventions, stable and the
// old ones that instrumentation-http still emits without OTEL_SEMCONV_STABILITY_OPT_IN).
const (
	attrHTTPRoute     = "http.route"
	attrHTTPMethodOld = "http.method"
	attrHTTPStatus    = "http.response.status_code"
	attrHTTPStatusOld = "http.status_code"
	attrURLPathOld    = "http.target"
)

// requestColumns and metricColumns are the tables' columns, in their order (a test checks them).
var requestColumns = []string{"trace_id", "span_id", "ts", "duration_ms", "service_name", "instance", "method",
	"route", "plugin_id", "status_code", "error"}

// WriteTraces stores the backend's HTTP server spans as requests (route, plugin, status, duration); other spans
// (internal, database, client) are skipped.
func (s *Store) WriteTraces(ctx context.Context, td ptrace.Traces) (WriteResult, error) {
	var res WriteResult
	var rows [][]driver.Value
	for i := 0; i < td.ResourceSpans().Len(); i++ {
		rs := td.ResourceSpans().At(i)
		service, instance := resourceIdentity(rs.Resource().Attributes())
		for j := 0; j < rs.ScopeSpans().Len(); j++ {
			spans := rs.ScopeSpans().At(j).Spans()
			for k := 0; k < spans.Len(); k++ {
				if row := requestRow(spans.At(k), service, instance); row != nil {
					rows = append(rows, row)
				} else {
					res.Skipped++
				}
			}
		}
	}
	return res, s.writeBackend(ctx, "backend_requests", rows, &res)
}

func (s *Store) writeBackend(ctx context.Context, table string, rows [][]driver.Value, res *WriteResult) error {
	if len(rows) == 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var before, after int
	err := s.inTx(ctx, func() error {
		if err := s.writeConn.QueryRowContext(ctx, "SELECT count(*) FROM "+table).Scan(&before); err != nil {
			return err
		}
		if err := s.insertRows(table, rows); err != nil { // backend telemetry is small beside events: no fast path
			return err
		}
		return s.writeConn.QueryRowContext(ctx, "SELECT count(*) FROM "+table).Scan(&after)
	})
	if err != nil {
		return fmt.Errorf("write %d rows to %s: %w", len(rows), table, err)
	}
	res.Stored, res.Duplicates = after-before, len(rows)-(after-before)
	return nil
}

func resourceIdentity(attrs pcommon.Map) (service, instance driver.Value) {
	if v, ok := attrs.Get(semconv.ResourceServiceName); ok {
		service = v.AsString()
	}
	if v, ok := attrs.Get(semconv.ResourceInstance); ok {
		instance = v.AsString()
	}
	return service, instance
}

func requestRow(span ptrace.Span, service, instance driver.Value) []driver.Value {
	if span.Kind() != ptrace.SpanKindServer {
		return nil
	}
	attrs := span.Attributes()
	route := firstString(attrs, attrHTTPRoute)
	path := firstString(attrs, semconv.AttrURLPath, attrURLPathOld)
	method := firstString(attrs, semconv.AttrHTTPMethod, attrHTTPMethodOld)
	if method == "" || (route == "" && path == "") {
		return nil // not an HTTP request
	}
	status := firstInt(attrs, attrHTTPStatus, attrHTTPStatusOld)
	pluginFrom := route
	if pluginFrom == "" {
		pluginFrom = path
	}
	var plugin driver.Value
	if p := pluginOfPath(pluginFrom); p != "" {
		plugin = p
	}
	var statusValue driver.Value
	if status > 0 {
		statusValue = int32(status)
	}
	traceID, spanID := span.TraceID(), span.SpanID()
	duration := float64(span.EndTimestamp()-span.StartTimestamp()) / 1e6
	return []driver.Value{
		duckdb.UUID(traceID), binary.BigEndian.Uint64(spanID[:]), span.StartTimestamp().AsTime(), math.Max(duration, 0),
		service, instance, method, nullable(route), plugin, statusValue,
		status >= 500 || span.Status().Code() == ptrace.StatusCodeError,
	}
}

// pluginOfPath returns the Backstage plugin a backend path belongs to: plugins are mounted at /api/<plugin>.
func pluginOfPath(path string) string {
	rest, ok := strings.CutPrefix(path, "/api/")
	if !ok {
		return ""
	}
	plugin, _, _ := strings.Cut(rest, "/")
	if plugin == "" || strings.HasPrefix(plugin, ":") {
		return ""
	}
	return plugin
}

func firstString(attrs pcommon.Map, keys ...string) string {
	for _, k := range keys {
		if v, ok := attrs.Get(k); ok && v.AsString() != "" {
			return v.AsString()
		}
	}
	return ""
}

func firstInt(attrs pcommon.Map, keys ...string) int64 {
	for _, k := range keys {
		if v, ok := attrs.Get(k); ok {
			switch v.Type() {
			case pcommon.ValueTypeInt:
				return v.Int()
			case pcommon.ValueTypeDouble:
				return int64(v.Double())
			}
		}
	}
	return 0
}

func nullable(s string) driver.Value {
	if s == "" {
		return nil
	}
	return s
}

var metricColumns = []string{"point_key", "ts", "start_ts", "service_name", "instance", "scope", "metric", "unit",
	"kind", "monotonic", "cumulative", "attributes", "value", "count", "sum", "bounds", "bucket_counts"}

// WriteMetrics stores every gauge, sum and histogram point of the backend's metrics (e.g.
// scaffolder.task.count{template,result}, catalog_entities_count{kind}, http.server.request.duration);
// exponential histograms and summaries are skipped.
func (s *Store) WriteMetrics(ctx context.Context, md pmetric.Metrics) (WriteResult, error) {
	var res WriteResult
	var rows [][]driver.Value
	for i := 0; i < md.ResourceMetrics().Len(); i++ {
		rm := md.ResourceMetrics().At(i)
		service, instance := resourceIdentity(rm.Resource().Attributes())
		resourceKey := canonical(rm.Resource().Attributes())
		for j := 0; j < rm.ScopeMetrics().Len(); j++ {
			sm := rm.ScopeMetrics().At(j)
			for k := 0; k < sm.Metrics().Len(); k++ {
				m := sm.Metrics().At(k)
				base := metricPoint{service: service, instance: instance, scope: sm.Scope().Name(), metric: m.Name(),
					unit: m.Unit(), resourceKey: resourceKey}
				res.Skipped += base.rows(m, &rows)
			}
		}
	}
	return res, s.writeBackend(ctx, "backend_metrics", rows, &res)
}

type metricPoint struct {
	service, instance   driver.Value
	scope, metric, unit string
	resourceKey         string
}

// rows appends a row per point of m; it returns how many points it skipped.
func (p metricPoint) rows(m pmetric.Metric, rows *[][]driver.Value) (skipped int) {
	switch m.Type() {
	case pmetric.MetricTypeGauge:
		for i := 0; i < m.Gauge().DataPoints().Len(); i++ {
			*rows = append(*rows, p.numberRow("gauge", nil, nil, m.Gauge().DataPoints().At(i)))
		}
		return 0
	case pmetric.MetricTypeSum:
		monotonic := m.Sum().IsMonotonic()
		cumulative := m.Sum().AggregationTemporality() == pmetric.AggregationTemporalityCumulative
		for i := 0; i < m.Sum().DataPoints().Len(); i++ {
			*rows = append(*rows, p.numberRow("sum", monotonic, cumulative, m.Sum().DataPoints().At(i)))
		}
		return 0
	case pmetric.MetricTypeHistogram:
		cumulative := m.Histogram().AggregationTemporality() == pmetric.AggregationTemporalityCumulative
		for i := 0; i < m.Histogram().DataPoints().Len(); i++ {
			dp := m.Histogram().DataPoints().At(i)
			row := p.row("histogram", nil, cumulative, dp.Attributes(), dp.StartTimestamp(), dp.Timestamp())
			row[13], row[14] = dp.Count(), dp.Sum()
			row[15], row[16] = dp.ExplicitBounds().AsRaw(), dp.BucketCounts().AsRaw()
			*rows = append(*rows, row)
		}
		return 0
	default:
		return pointCount(m)
	}
}

func (p metricPoint) numberRow(kind string, monotonic, cumulative driver.Value, dp pmetric.NumberDataPoint) []driver.Value {
	row := p.row(kind, monotonic, cumulative, dp.Attributes(), dp.StartTimestamp(), dp.Timestamp())
	if dp.ValueType() == pmetric.NumberDataPointValueTypeInt {
		row[12] = float64(dp.IntValue())
	} else {
		row[12] = dp.DoubleValue()
	}
	return row
}

func (p metricPoint) row(kind string, monotonic, cumulative driver.Value, attrs pcommon.Map, start, ts pcommon.Timestamp) []driver.Value {
	attrKey := canonical(attrs)
	sum := sha256.Sum256([]byte(strings.Join([]string{p.resourceKey, p.scope, p.metric, attrKey, fmt.Sprint(ts)}, "\x00")))
	var key duckdb.UUID
	copy(key[:], sum[:16])
	var startValue driver.Value
	if start != 0 {
		startValue = start.AsTime()
	}
	row := make([]driver.Value, len(metricColumns))
	copy(row, []driver.Value{key, ts.AsTime(), startValue, p.service, p.instance, p.scope, p.metric, p.unit, kind,
		monotonic, cumulative, attrKey})
	return row
}

func pointCount(m pmetric.Metric) int {
	switch m.Type() {
	case pmetric.MetricTypeExponentialHistogram:
		return m.ExponentialHistogram().DataPoints().Len()
	case pmetric.MetricTypeSummary:
		return m.Summary().DataPoints().Len()
	}
	return 0
}

// canonical encodes attributes as JSON; encoding/json sorts map keys, so the same series always gives the
// same text.
func canonical(attrs pcommon.Map) string {
	raw, err := json.Marshal(attrs.AsRaw())
	if err != nil {
		return "{}"
	}
	return string(raw)
}
