// Package metadata holds the component's identity (what mdatagen would generate; mdatagen is not served by
// the module proxy here, so it is written by hand from metadata.yaml).
package metadata

import "go.opentelemetry.io/collector/component"

var Type = component.MustNewType("backstage_catalog")

const (
	ScopeName          = "github.com/insights-collector/insights-collector/extension/backstagecatalog"
	ExtensionStability = component.StabilityLevelDevelopment
)
