package backstagereceiver

import (
	"context"
	"fmt"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/insights-collector/insights-collector/internal/normalize"
	"github.com/insights-collector/insights-collector/receiver/backstagereceiver/internal/metadata"
)

// Outcomes of an event, the `outcome` label of otelcol_receiver_backstage_events.
const (
	outcomeAccepted = "accepted"
	outcomeRejected = "rejected" // bad input: the sender is told which event and why
	outcomeRefused  = "refused"  // the pipeline refused it: the sender is told to retry
)

// Reasons for refused events.
const (
	refusedByPipeline = "pipeline"
	refusedPermanent  = "pipeline_permanent"
)

// telemetry holds the receiver's own metrics (beyond the standard otelcol_receiver_* ones of ObsReport).
type telemetry struct {
	events   metric.Int64Counter
	requests metric.Int64Counter
}

func newTelemetry(set component.TelemetrySettings) (*telemetry, error) {
	meter := set.MeterProvider.Meter(metadata.ScopeName)
	events, err := meter.Int64Counter("otelcol_receiver_backstage_events",
		metric.WithDescription("Events the receiver decoded, by outcome (accepted, rejected, refused), endpoint and reason."),
		metric.WithUnit("{event}"))
	if err != nil {
		return nil, fmt.Errorf("create events counter: %w", err)
	}
	requests, err := meter.Int64Counter("otelcol_receiver_backstage_requests",
		metric.WithDescription("HTTP requests the receiver answered, by endpoint and status code."),
		metric.WithUnit("{request}"))
	if err != nil {
		return nil, fmt.Errorf("create requests counter: %w", err)
	}
	return &telemetry{events: events, requests: requests}, nil
}

func (t *telemetry) recordEvents(ctx context.Context, endpoint, outcome, reason string, n int) {
	if n == 0 {
		return
	}
	t.events.Add(ctx, int64(n), metric.WithAttributes(
		attribute.String("endpoint", endpoint),
		attribute.String("outcome", outcome),
		attribute.String("reason", reason)))
}

func (t *telemetry) recordRejections(ctx context.Context, endpoint string, rejected []normalize.Rejection) {
	counts := map[normalize.Reason]int{}
	for _, r := range rejected {
		counts[r.Reason]++
	}
	for reason, n := range counts {
		t.recordEvents(ctx, endpoint, outcomeRejected, string(reason), n)
	}
}

func (t *telemetry) recordRequest(ctx context.Context, endpoint string, status int) {
	t.requests.Add(ctx, 1, metric.WithAttributes(
		attribute.String("endpoint", endpoint),
		attribute.Int("http.response.status_code", status)))
}
