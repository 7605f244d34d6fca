package insightsstoreexporter

import (
	"context"
	"fmt"
	"strings"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/insights-collector/insights-collector/exporter/insightsstoreexporter/internal/metadata"
	"github.com/insights-collector/insights-collector/extension/insightsstore"
	"github.com/insights-collector/insights-collector/internal/analyticsdb"
)

type storeExporter struct {
	cfg    *Config
	logger *zap.Logger
	writer insightsstore.Writer
	rows   metric.Int64Counter
}

func newStoreExporter(cfg *Config, set exporter.Settings) (*storeExporter, error) {
	rows, err := set.MeterProvider.Meter(metadata.ScopeName).Int64Counter("otelcol_exporter_insights_store_rows",
		metric.WithDescription("Records the store took, by signal and outcome (stored, duplicate, rejected, skipped)."),
		metric.WithUnit("{record}"))
	if err != nil {
		return nil, fmt.Errorf("create rows counter: %w", err)
	}
	return &storeExporter{cfg: cfg, logger: set.Logger, rows: rows}, nil
}

// start finds the store extension through the host.
func (e *storeExporter) start(_ context.Context, host component.Host) error {
	ext, ok := host.GetExtensions()[e.cfg.Store]
	if !ok {
		return fmt.Errorf("the extension %q is not configured: add it under extensions and service::extensions", e.cfg.Store)
	}
	writer, ok := ext.(insightsstore.Writer)
	if !ok {
		return fmt.Errorf("the extension %q is not an insights_store extension", e.cfg.Store)
	}
	e.writer = writer
	return nil
}

// The push functions return database errors for the exporter's retry; records the store cannot take (an event
// without an id) are reported in the log and the self-metrics, and the rest are stored.

func (e *storeExporter) pushLogs(ctx context.Context, ld plog.Logs) error {
	res, err := e.writer.WriteLogs(ctx, ld)
	return e.record(ctx, "logs", res, err)
}

func (e *storeExporter) pushTraces(ctx context.Context, td ptrace.Traces) error {
	res, err := e.writer.WriteTraces(ctx, td)
	return e.record(ctx, "traces", res, err)
}

func (e *storeExporter) pushMetrics(ctx context.Context, md pmetric.Metrics) error {
	res, err := e.writer.WriteMetrics(ctx, md)
	return e.record(ctx, "metrics", res, err)
}

const maxReasonsLogged = 5

func (e *storeExporter) record(ctx context.Context, signal string, res analyticsdb.WriteResult, err error) error {
	if err != nil {
		return err
	}
	for outcome, n := range map[string]int{"stored": res.Stored, "duplicate": res.Duplicates, "rejected": len(res.Rejected), "skipped": res.Skipped} {
		if n > 0 {
			e.rows.Add(ctx, int64(n), metric.WithAttributes(attribute.String("signal", signal), attribute.String("outcome", outcome)))
		}
	}
	if len(res.Rejected) > 0 {
		reasons := make([]string, 0, maxReasonsLogged)
		for _, r := range res.Rejected[:min(len(res.Rejected), maxReasonsLogged)] {
			reasons = append(reasons, fmt.Sprintf("#%d %s", r.Index, r.Reason))
		}
		e.logger.Warn("The store rejected records", zap.String("signal", signal), zap.Int("rejected", len(res.Rejected)),
			zap.Int("stored", res.Stored), zap.String("first_reasons", strings.Join(reasons, "; ")))
	}
	return nil
}
