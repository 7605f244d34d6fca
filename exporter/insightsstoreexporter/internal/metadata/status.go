// Package metadata holds the component's identity (what mdatagen would generate from metadata.yaml; mdatagen is
// not served by the module proxy here).
package metadata

import "go.opentelemetry.io/collector/component"

var Type = component.MustNewType("insights_store")

const (
	ScopeName        = "github.com/insights-collector/insights-collector/exporter/insightsstoreexporter"
	LogsStability    = component.StabilityLevelAlpha
	TracesStability  = component.StabilityLevelAlpha
	MetricsStability = component.StabilityLevelAlpha
)
