package backstagecatalog

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension"

	"github.com/insights-collector/insights-collector/extension/backstagecatalog/internal/metadata"
)

// NewFactory creates the factory of the backstage_catalog extension.
func NewFactory() extension.Factory {
	return extension.NewFactory(metadata.Type, createDefaultConfig, create, metadata.ExtensionStability)
}

func createDefaultConfig() component.Config {
	return &Config{Interval: 10 * time.Minute, Timeout: 30 * time.Second, PageSize: 500}
}

func create(_ context.Context, set extension.Settings, cfg component.Config) (extension.Extension, error) {
	return newExtension(cfg.(*Config), set)
}
