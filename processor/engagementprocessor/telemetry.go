package engagementprocessor

import (
	"context"
	"fmt"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/insights-collector/insights-collector/processor/engagementprocessor/internal/metadata"
)

type telemetry struct {
	users     metric.Int64Gauge
	tierUsers metric.Int64Gauge
	changes   metric.Int64Counter
}

func newTelemetry(set component.TelemetrySettings) (*telemetry, error) {
	meter := set.MeterProvider.Meter(metadata.ScopeName)
	users, err := meter.Int64Gauge("otelcol_processor_engagement_users", metric.WithDescription("Users tracked."), metric.WithUnit("{user}"))
	if err != nil {
		return nil, fmt.Errorf("create users gauge: %w", err)
	}
	tierUsers, err := meter.Int64Gauge("otelcol_processor_engagement_tier_users",
		metric.WithDescription("Users per engagement tier, as last evaluated."), metric.WithUnit("{user}"))
	if err != nil {
		return nil, fmt.Errorf("create tier users gauge: %w", err)
	}
	changes, err := meter.Int64Counter("otelcol_processor_engagement_tier_changes",
		metric.WithDescription("Tier changes, by previous and new tier."), metric.WithUnit("{change}"))
	if err != nil {
		return nil, fmt.Errorf("create tier changes counter: %w", err)
	}
	return &telemetry{users: users, tierUsers: tierUsers, changes: changes}, nil
}

// evaluated records the users and the users per tier of an evaluation of every user.
func (t *telemetry) evaluated(ctx context.Context, users int, perTier []int64, tiers []string) {
	t.users.Record(ctx, int64(users))
	for i, n := range perTier {
		t.tierUsers.Record(ctx, n, metric.WithAttributes(attribute.String("tier", tiers[i])))
	}
}

func (t *telemetry) changed(ctx context.Context, changes []tierChange, tiers []string) {
	for _, c := range changes {
		t.changes.Add(ctx, 1, metric.WithAttributes(attribute.String("from", tiers[c.from-1]), attribute.String("to", tiers[c.to-1])))
	}
}
