package backstagereceiver

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/receiver"

	"github.com/insights-collector/insights-collector/receiver/backstagereceiver/internal/metadata"
)

const (
	defaultEndpoint              = "localhost:4320"
	defaultMaxEventsPerRequest   = 2500 // Segment's documented batch limit; far above what Backstage modules send
	defaultMaxConcurrentRequests = 64
	defaultMaxEventAge           = 7 * 24 * time.Hour
	defaultMaxClockSkew          = 5 * time.Minute
	defaultRetryAfter            = 5 * time.Second
)

// NewFactory creates the factory of the Backstage receiver.
func NewFactory() receiver.Factory {
	return receiver.NewFactory(metadata.Type, createDefaultConfig,
		receiver.WithLogs(createLogs, metadata.LogsStability))
}

func createDefaultConfig() component.Config {
	server := confighttp.NewDefaultServerConfig()
	server.NetAddr.Endpoint = defaultEndpoint
	return &Config{
		ServerConfig:          server,
		Formats:               Formats{OTLP: true, Events: true, Segment: true},
		MaxEventsPerRequest:   defaultMaxEventsPerRequest,
		MaxConcurrentRequests: defaultMaxConcurrentRequests,
		MaxEventAge:           defaultMaxEventAge,
		MaxClockSkew:          defaultMaxClockSkew,
		RetryAfter:            defaultRetryAfter,
	}
}

func createLogs(_ context.Context, set receiver.Settings, cfg component.Config, next consumer.Logs) (receiver.Logs, error) {
	return newReceiver(cfg.(*Config), set, next)
}
