package sessionizationprocessor

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/processor/processortest"
	"go.uber.org/goleak"

	"github.com/insights-collector/insights-collector/processor/sessionizationprocessor/internal/metadata"
)

// The tests mdatagen would generate (mdatagen is not available here), written by hand.

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestComponentFactoryType(t *testing.T) {
	require.Equal(t, metadata.Type, NewFactory().Type())
}

func TestComponentConfigStruct(t *testing.T) {
	require.NoError(t, componenttest.CheckConfigStruct(NewFactory().CreateDefaultConfig()))
}

func TestComponentLifecycle(t *testing.T) {
	set := processortest.NewNopSettings(metadata.Type)
	cfg := NewFactory().CreateDefaultConfig()
	t.Run("shutdown without start", func(t *testing.T) {
		p, err := NewFactory().CreateLogs(context.Background(), set, cfg, consumertest.NewNop())
		require.NoError(t, err)
		require.NoError(t, p.Shutdown(context.Background()))
	})
	t.Run("start and shutdown", func(t *testing.T) {
		p, err := NewFactory().CreateLogs(context.Background(), set, cfg, consumertest.NewNop())
		require.NoError(t, err)
		require.NoError(t, p.Start(context.Background(), componenttest.NewNopHost()))
		require.NoError(t, p.Shutdown(context.Background()))
	})
	t.Run("a storage that is not configured", func(t *testing.T) {
		c := NewFactory().CreateDefaultConfig().(*Config)
		missing := component.MustNewID("file_storage")
		c.Storage = &missing
		p, err := NewFactory().CreateLogs(context.Background(), set, c, consumertest.NewNop())
		require.NoError(t, err)
		require.ErrorContains(t, p.Start(context.Background(), componenttest.NewNopHost()), "storage extension file_storage is not configured")
		require.NoError(t, p.Shutdown(context.Background()))
	})
}
