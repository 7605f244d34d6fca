// Package metadata holds the component's identity (what mdatagen would generate from metadata.yaml; mdatagen is
// not served by the module proxy here).
package metadata

import "go.opentelemetry.io/collector/component"

var Type = component.MustNewType("insights_store")

const (
	ScopeName          = "github.com/insights-collector/insights-collector/extension/insightsstore"
	ExtensionStability = component.StabilityLevelAlpha
)
