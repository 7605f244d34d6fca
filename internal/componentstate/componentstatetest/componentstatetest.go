// Package componentstatetest gives tests a real file_storage extension in a temporary directory, and a host
// that serves it, for the components that keep their state through a storage extension.
package componentstatetest

import (
	"context"
	"testing"

	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/storage/filestorage"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/extension/extensiontest"
)

// Host is a component.Host with extensions.
type Host struct {
	component.Host
	Extensions map[component.ID]component.Component
}

// GetExtensions returns the host's extensions.
func (h Host) GetExtensions() map[component.ID]component.Component { return h.Extensions }

// FileStorage starts a file_storage extension in a temporary directory (stopped when the test ends) and
// returns a host serving it and its id. Hosts made by one call share the directory: a component started twice
// on the same host finds its state again, as after a restart.
func FileStorage(t testing.TB) (Host, component.ID) {
	t.Helper()
	f := filestorage.NewFactory()
	cfg := f.CreateDefaultConfig().(*filestorage.Config)
	cfg.Directory = t.TempDir()
	ext, err := f.Create(context.Background(), extensiontest.NewNopSettings(f.Type()), cfg)
	require.NoError(t, err)
	require.NoError(t, ext.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, ext.Shutdown(context.Background())) })
	id := component.NewID(f.Type())
	return Host{Host: componenttest.NewNopHost(), Extensions: map[component.ID]component.Component{id: ext}}, id
}
