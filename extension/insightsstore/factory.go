package insightsstore

import (
	"context"
	"github.com/insights-collector/insights-collector/extension/insightsstore/internal/queryapi"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/extension"

	"github.com/insights-collector/insights-collector/extension/insightsstore/internal/metadata"
	"github.com/insights-collector/insights-collector/internal/analyticsdb"
)

const (
	defaultPath                = "./data/insights.duckdb"
	defaultMemoryLimit         = "512MB"
	defaultRetention           = 400 * 24 * time.Hour
	defaultMaintenanceInterval = 24 * time.Hour
	defaultQueryEndpoint       = "localhost:4321"
	defaultKAnonymity          = 5
	defaultTimezone            = "UTC"
)

// NewFactory creates the factory of the insights_store extension.
func NewFactory() extension.Factory {
	return extension.NewFactory(metadata.Type, createDefaultConfig, create, metadata.ExtensionStability)
}

func createDefaultConfig() component.Config {
	server := confighttp.NewDefaultServerConfig()
	server.NetAddr.Endpoint = defaultQueryEndpoint
	return &Config{
		Path:                defaultPath,
		MemoryLimit:         defaultMemoryLimit,
		Retention:           defaultRetention,
		MaintenanceInterval: defaultMaintenanceInterval,
		Timezone:            defaultTimezone,
		DedupWindow:         analyticsdb.DefaultDedupWindow,
		QueryAPI:            configoptional.Default(QueryAPIConfig{ServerConfig: server, KAnonymity: defaultKAnonymity, ROI: defaultROI()}),
	}
}

// defaultROI counts what the templates say they save, and nothing else (DefaultValueModel).
func defaultROI() ROIConfig {
	v := queryapi.DefaultValueModel()
	return ROIConfig{UseTemplateTimeSaved: v.TemplateTimeSaved, Currency: v.Currency}
}

func create(_ context.Context, set extension.Settings, cfg component.Config) (extension.Extension, error) {
	return newStoreExtension(cfg.(*Config), set)
}
