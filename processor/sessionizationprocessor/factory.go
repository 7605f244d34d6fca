package sessionizationprocessor

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processorhelper"

	"github.com/insights-collector/insights-collector/processor/sessionizationprocessor/internal/metadata"
)

// NewFactory creates the factory of the sessionization processor.
func NewFactory() processor.Factory {
	return processor.NewFactory(metadata.Type, createDefaultConfig, processor.WithLogs(createLogs, metadata.LogsStability))
}

func createDefaultConfig() component.Config {
	return &Config{
		InactivityGap:     30 * time.Minute, // PostHog, Amplitude (web) and Mixpanel agree
		MaxDuration:       24 * time.Hour,   // PostHog's cap
		Timezone:          "UTC",
		AllowedLateness:   5 * time.Minute,
		MaxActiveSessions: 100_000,
		CheckInterval:     10 * time.Second,
		PersistInterval:   5 * time.Second,
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
