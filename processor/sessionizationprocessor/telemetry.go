package sessionizationprocessor

import (
	"context"
	"fmt"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/insights-collector/insights-collector/processor/sessionizationprocessor/internal/metadata"
)

type telemetry struct {
	active   metric.Int64Gauge
	sessions metric.Int64Counter
	late     metric.Int64Counter
}

func newTelemetry(set component.TelemetrySettings) (*telemetry, error) {
	meter := set.MeterProvider.Meter(metadata.ScopeName)
	active, err := meter.Int64Gauge("otelcol_processor_sessionization_active_sessions",
		metric.WithDescription("Sessions open now."), metric.WithUnit("{session}"))
	if err != nil {
		return nil, fmt.Errorf("create active sessions gauge: %w", err)
	}
	sessions, err := meter.Int64Counter("otelcol_processor_sessionization_sessions",
		metric.WithDescription("Sessions started and ended, by event (start, end) and, for ends, reason."), metric.WithUnit("{session}"))
	if err != nil {
		return nil, fmt.Errorf("create sessions counter: %w", err)
	}
	late, err := meter.Int64Counter("otelcol_processor_sessionization_late_events",
		metric.WithDescription("Events older than allowed_lateness, by outcome (stamped from a known session, or flagged late)."),
		metric.WithUnit("{event}"))
	if err != nil {
		return nil, fmt.Errorf("create late events counter: %w", err)
	}
	return &telemetry{active: active, sessions: sessions, late: late}, nil
}

// changes are the session events of one batch or timer run, counted once.
type changes struct {
	starts []startedSession
	ends   []endedSession
	late   map[lateOutcome]int64
}

func (t *telemetry) record(ctx context.Context, c *changes, active int) {
	t.active.Record(ctx, int64(active))
	if len(c.starts) > 0 {
		t.sessions.Add(ctx, int64(len(c.starts)), metric.WithAttributes(attribute.String("event", "start"), attribute.String("reason", "")))
	}
	reasons := map[string]int64{}
	for _, e := range c.ends {
		reasons[e.reason]++
	}
	for reason, n := range reasons {
		t.sessions.Add(ctx, n, metric.WithAttributes(attribute.String("event", "end"), attribute.String("reason", reason)))
	}
	for outcome, n := range c.late {
		name := "stamped"
		if outcome == lateFlagged {
			name = "flagged"
		}
		t.late.Add(ctx, n, metric.WithAttributes(attribute.String("outcome", name)))
	}
}
