// Package componentconfigtest loads a component's test configurations the way the collector does: an entry of
// testdata/config.yaml, unmarshalled onto the factory's defaults and validated.
package componentconfigtest

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"
)

// Load returns the entry `<type>/<name>` of testdata/config.yaml as the factory's config type, and the error
// its validation gives.
func Load[C component.Config](t *testing.T, factory component.Factory, name string) (C, error) {
	t.Helper()
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	sub, err := cm.Sub(component.NewIDWithName(factory.Type(), name).String())
	require.NoError(t, err)
	cfg := factory.CreateDefaultConfig()
	require.NoError(t, sub.Unmarshal(cfg))
	return cfg.(C), confmap.Validate(cfg)
}
