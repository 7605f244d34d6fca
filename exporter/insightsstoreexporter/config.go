package insightsstoreexporter

import (
	"fmt"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/exporter/exporterhelper"

	"github.com/insights-collector/insights-collector/exporter/insightsstoreexporter/internal/metadata"
)

// Config of the insights_store exporter.
type Config struct {
	// Store is the insights_store extension to write to.
	Store component.ID `mapstructure:"store"`

	TimeoutConfig exporterhelper.TimeoutConfig                             `mapstructure:",squash"`
	QueueConfig   configoptional.Optional[exporterhelper.QueueBatchConfig] `mapstructure:"sending_queue"`
	RetryConfig   configretry.BackOffConfig                                `mapstructure:"retry_on_failure"`
}

// Validate checks the configuration.
func (cfg *Config) Validate() error {
	if cfg.Store.Type() != metadata.Type {
		return fmt.Errorf("store must name an insights_store extension (e.g. insights_store or insights_store/main), not %q", cfg.Store)
	}
	return nil
}
