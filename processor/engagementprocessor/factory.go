package engagementprocessor

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processorhelper"

	"github.com/insights-collector/insights-collector/internal/semconv"
	"github.com/insights-collector/insights-collector/processor/engagementprocessor/internal/metadata"
)

// NewFactory creates the factory of the engagement processor.
func NewFactory() processor.Factory {
	return processor.NewFactory(metadata.Type, createDefaultConfig, processor.WithLogs(createLogs, metadata.LogsStability))
}

func createDefaultConfig() component.Config {
	return &Config{
		// Creating from a template is the outcome a platform exists for; a page view is the least signal.
		Weights: map[string]float64{
			semconv.ActionCreate: 10, semconv.ActionDiscover: 3, semconv.ActionSearch: 2, semconv.ActionClick: 1,
			semconv.ActionNavigate: 1, semconv.EventSessionStart: 2,
		},
		Timezone: "UTC",
		HalfLife: 14 * 24 * time.Hour,
		Scale:    200,
		Tiers: []Tier{
			{Name: "power", MinScore: 70}, {Name: "core", MinScore: 40}, {Name: "casual", MinScore: 10}, {Name: "dormant", MinScore: 0},
		},
		CheckInterval:   10 * time.Minute,
		MaxIdle:         90 * 24 * time.Hour,
		PersistInterval: 5 * time.Second,
	}
}

func createLogs(ctx context.Context, set processor.Settings, cfg component.Config, next consumer.Logs) (processor.Logs, error) {
	p, err := newProcessor(cfg.(*Config), set, next)
	if err != nil {
		return nil, err
	}
	return processorhelper.NewLogs(ctx, set, cfg, next, p.processLogs,
		processorhelper.WithCapabilities(consumer.Capabilities{MutatesData: true}),
		processorhelper.WithStart(p.start), processorhelper.WithShutdown(p.shutdown))
}
