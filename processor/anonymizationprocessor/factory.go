package anonymizationprocessor

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processorhelper"

	"github.com/insights-collector/insights-collector/processor/anonymizationprocessor/internal/metadata"
)

const defaultReloadInterval = 10 * time.Second

// defaultAllowedQueryParams are Backstage's catalog filters and paging: they say what a page shows, never who
// looks at it.
var defaultAllowedQueryParams = []string{"filters[kind]", "filters[type]", "filters[lifecycles]", "filters[user]", "limit"}

// NewFactory creates the factory of the anonymization processor.
func NewFactory() processor.Factory {
	return processor.NewFactory(metadata.Type, createDefaultConfig,
		processor.WithLogs(createLogs, metadata.LogsStability),
		processor.WithTraces(createTraces, metadata.TracesStability))
}

func createDefaultConfig() component.Config {
	return &Config{
		Mode:               ModeStrict,
		ClientAddress:      ActionTruncate,
		UserAgent:          ActionGeneralize,
		SearchTerms:        ActionScrub,
		FreeText:           ActionScrub,
		AllowedQueryParams: defaultAllowedQueryParams,
		Consent:            ConsentConfig{ReloadInterval: defaultReloadInterval},
	}
}

var capabilities = processorhelper.WithCapabilities(consumer.Capabilities{MutatesData: true})

func createLogs(ctx context.Context, set processor.Settings, cfg component.Config, next consumer.Logs) (processor.Logs, error) {
	p, err := newProcessor(cfg.(*Config), set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	return processorhelper.NewLogs(ctx, set, cfg, next, p.processLogs, capabilities,
		processorhelper.WithStart(p.start), processorhelper.WithShutdown(p.shutdown))
}

func createTraces(ctx context.Context, set processor.Settings, cfg component.Config, next consumer.Traces) (processor.Traces, error) {
	p, err := newProcessor(cfg.(*Config), set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	return processorhelper.NewTraces(ctx, set, cfg, next, p.processTraces, capabilities,
		processorhelper.WithStart(p.start), processorhelper.WithShutdown(p.shutdown))
}
