package insightsstoreexporter

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/extension/extensiontest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/goleak"

	"github.com/insights-collector/insights-collector/exporter/insightsstoreexporter/internal/metadata"
	"github.com/insights-collector/insights-collector/extension/insightsstore"
	"github.com/insights-collector/insights-collector/internal/analyticsdb"
	"github.com/insights-collector/insights-collector/internal/backstagesamples"
	"github.com/insights-collector/insights-collector/internal/componentconfigtest"
	"github.com/insights-collector/insights-collector/internal/semconv"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestComponentFactoryType(t *testing.T) {
	require.Equal(t, metadata.Type, NewFactory().Type())
}

func TestComponentConfigStruct(t *testing.T) {
	require.NoError(t, componenttest.CheckConfigStruct(NewFactory().CreateDefaultConfig()))
}

func loadConfig(t *testing.T, name string) (*Config, error) {
	return componentconfigtest.Load[*Config](t, NewFactory(), name)
}

func TestLoadConfig(t *testing.T) {
	cfg, err := loadConfig(t, "defaults")
	require.NoError(t, err)
	assert.Equal(t, "insights_store", cfg.Store.String())
	batch := cfg.QueueConfig.Get().Batch.Get()
	assert.Equal(t, time.Second, batch.FlushTimeout)
	assert.Equal(t, int64(5000), batch.MinSize)

	cfg, err = loadConfig(t, "custom")
	require.NoError(t, err)
	assert.Equal(t, "insights_store/secondary", cfg.Store.String())
	assert.Equal(t, "file_storage", cfg.QueueConfig.Get().StorageID.String())
	assert.Equal(t, 2*time.Second, cfg.QueueConfig.Get().Batch.Get().FlushTimeout)
	assert.Equal(t, 10*time.Second, cfg.TimeoutConfig.Timeout)

	_, err = loadConfig(t, "wrong_extension")
	assert.ErrorContains(t, err, `store must name an insights_store extension (e.g. insights_store or insights_store/main), not "file_storage"`)
}

type host map[component.ID]component.Component

func (h host) GetExtensions() map[component.ID]component.Component { return h }

// startStore starts a real insights_store extension on a temporary file.
func startStore(t *testing.T) (component.Component, component.ID, string) {
	factory := insightsstore.NewFactory()
	cfg := factory.CreateDefaultConfig().(*insightsstore.Config)
	cfg.Path = filepath.Join(t.TempDir(), "insights.duckdb")
	ext, err := factory.Create(context.Background(), extensiontest.NewNopSettings(factory.Type()), cfg)
	require.NoError(t, err)
	require.NoError(t, ext.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, ext.Shutdown(context.Background())) })
	return ext, component.NewID(factory.Type()), cfg.Path
}

func TestExportsEveryBackendSignalAndEvents(t *testing.T) {
	ext, id, path := startStore(t)
	cfg := createDefaultConfig().(*Config)
	cfg.QueueConfig.Get().Batch.Get().FlushTimeout = 10 * time.Millisecond
	set := exportertest.NewNopSettings(metadata.Type)
	ctx := context.Background()

	logsExp, err := NewFactory().CreateLogs(ctx, set, cfg)
	require.NoError(t, err)
	tracesExp, err := NewFactory().CreateTraces(ctx, set, cfg)
	require.NoError(t, err)
	metricsExp, err := NewFactory().CreateMetrics(ctx, set, cfg)
	require.NoError(t, err)
	for _, c := range []component.Component{logsExp, tracesExp, metricsExp} {
		require.NoError(t, c.Start(ctx, host{id: ext}))
	}

	ld := plog.NewLogs()
	lr := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr.SetEventName("backstage.navigate")
	lr.Attributes().PutStr(semconv.AttrEventID, "0193a0f0-5b7e-7cde-8f00-0123456789ab")
	require.NoError(t, logsExp.ConsumeLogs(ctx, ld))
	td, err := backstagesamples.BackendTraces()
	require.NoError(t, err)
	require.NoError(t, tracesExp.ConsumeTraces(ctx, td))
	md, err := backstagesamples.BackendMetrics()
	require.NoError(t, err)
	require.NoError(t, metricsExp.ConsumeMetrics(ctx, md))

	for _, c := range []component.Component{logsExp, tracesExp, metricsExp} {
		require.NoError(t, c.Shutdown(ctx)) // drains the queue
	}
	require.NoError(t, ext.Shutdown(ctx))
	store, err := analyticsdb.Open(ctx, analyticsdb.Options{Path: path})
	require.NoError(t, err)
	defer store.Close(ctx)
	for table, want := range map[string]int{"events": 1, "backend_requests": 2, "backend_metrics": 10} {
		var n int
		require.NoError(t, store.DB().QueryRow("SELECT count(*) FROM "+table).Scan(&n))
		assert.Equal(t, want, n, table)
	}
}

func TestStartNeedsTheStoreExtension(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	exp, err := NewFactory().CreateLogs(context.Background(), exportertest.NewNopSettings(metadata.Type), cfg)
	require.NoError(t, err)
	assert.ErrorContains(t, exp.Start(context.Background(), host{}), `the extension "insights_store" is not configured`)
	require.NoError(t, exp.Shutdown(context.Background()))

	exp, err = NewFactory().CreateLogs(context.Background(), exportertest.NewNopSettings(metadata.Type), cfg)
	require.NoError(t, err)
	assert.ErrorContains(t, exp.Start(context.Background(), host{component.MustNewID("insights_store"): notAStore{}}), "is not an insights_store extension")
	require.NoError(t, exp.Shutdown(context.Background()))
}

type notAStore struct {
	component.StartFunc
	component.ShutdownFunc
}

// failingWriter is a store whose database fails: the exporter must hand the error to its retry.
type failingWriter struct {
	component.StartFunc
	component.ShutdownFunc
}

var errDisk = errors.New("disk full")

func (failingWriter) WriteLogs(context.Context, plog.Logs) (analyticsdb.WriteResult, error) {
	return analyticsdb.WriteResult{}, errDisk
}
func (failingWriter) WriteTraces(context.Context, ptrace.Traces) (analyticsdb.WriteResult, error) {
	return analyticsdb.WriteResult{}, errDisk
}
func (failingWriter) WriteMetrics(context.Context, pmetric.Metrics) (analyticsdb.WriteResult, error) {
	return analyticsdb.WriteResult{}, errDisk
}

func TestDatabaseErrorsAreReturned(t *testing.T) {
	e, err := newStoreExporter(createDefaultConfig().(*Config), exportertest.NewNopSettings(metadata.Type))
	require.NoError(t, err)
	require.NoError(t, e.start(context.Background(), host{component.MustNewID("insights_store"): failingWriter{}}))
	assert.ErrorIs(t, e.pushLogs(context.Background(), plog.NewLogs()), errDisk)
	assert.ErrorIs(t, e.pushTraces(context.Background(), ptrace.NewTraces()), errDisk)
	assert.ErrorIs(t, e.pushMetrics(context.Background(), pmetric.NewMetrics()), errDisk)
}
