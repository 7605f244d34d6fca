package backstagecatalog

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/extension/extensiontest"
	"go.uber.org/goleak"
	"go.uber.org/zap/zaptest"

	"github.com/insights-collector/insights-collector/extension/backstagecatalog/internal/metadata"
	"github.com/insights-collector/insights-collector/internal/componentconfigtest"
	"github.com/insights-collector/insights-collector/internal/componentstate/componentstatetest"

	"github.com/insights-collector/insights-collector/internal/simulator"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestConfig(t *testing.T) {
	cfg, err := componentconfigtest.Load[*Config](t, NewFactory(), "")
	require.NoError(t, err)
	assert.Equal(t, 10*time.Minute, cfg.Interval)
	assert.Equal(t, 500, cfg.PageSize)
	cfg, err = componentconfigtest.Load[*Config](t, NewFactory(), "full")
	require.NoError(t, err)
	assert.Equal(t, 1000, cfg.PageSize)
	_, err = componentconfigtest.Load[*Config](t, NewFactory(), "bad")
	require.Error(t, err)
	for _, want := range []string{`endpoint "backstage.example.com"`, "token: a static external-access token", "interval and timeout must be positive",
		"page_size 0"} {
		assert.Contains(t, err.Error(), want)
	}
}

// switchable is a fake catalog that can be taken down and brought back.
type switchable struct {
	catalog *simulator.CatalogServer
	down    atomic.Bool
}

func (s *switchable) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.down.Load() {
		http.Error(w, "catalog unavailable", http.StatusServiceUnavailable)
		return
	}
	s.catalog.ServeHTTP(w, r)
}

func start(t *testing.T, url string, host component.Host, storage *component.ID) *catalogExtension {
	t.Helper()
	cfg := createDefaultConfig().(*Config)
	cfg.Endpoint, cfg.Token, cfg.Interval, cfg.Storage = url, "catalog-token-123", 50*time.Millisecond, storage
	require.NoError(t, cfg.Validate())
	set := extensiontest.NewNopSettings(metadata.Type)
	set.ID = component.NewID(metadata.Type) // the same extension after a restart (the test settings name each one anew)
	set.Logger = zaptest.NewLogger(t)
	e, err := newExtension(cfg, set)
	require.NoError(t, err)
	e.retryMin = 10 * time.Millisecond
	require.NoError(t, e.Start(context.Background(), host))
	return e
}

func users(e *catalogExtension) int {
	if s := e.Snapshot(); s != nil {
		return len(s.Users)
	}
	return -1
}

// A catalog down at start: the collector starts without teams, and the snapshot comes once the catalog is back;
// down later, the last snapshot stays; a restart during an outage uses the persisted one.
func TestOutages(t *testing.T) {
	fake := &switchable{catalog: &simulator.CatalogServer{Token: "catalog-token-123", Entities: []json.RawMessage{group("ops", "team", ""), user("ana", "ops")}}}
	fake.down.Store(true)
	server := httptest.NewServer(fake)
	defer server.Close()
	host, storageID := componentstatetest.FileStorage(t)

	first := start(t, server.URL, host, &storageID)
	time.Sleep(100 * time.Millisecond)
	assert.Nil(t, first.Snapshot(), "no snapshot while the catalog is down")
	fake.down.Store(false)
	require.Eventually(t, func() bool { return users(first) == 1 }, 5*time.Second, 10*time.Millisecond)
	assert.Equal(t, []string{"group:default/ops"}, first.Snapshot().Teams("user:default/ana", false, nil))

	fake.down.Store(true)
	time.Sleep(150 * time.Millisecond) // several failed syncs
	assert.Equal(t, 1, users(first), "the last complete snapshot stays in force")
	require.NoError(t, first.Shutdown(context.Background()))

	second := start(t, server.URL, host, &storageID) // a restart while the catalog is down
	defer func() { require.NoError(t, second.Shutdown(context.Background())) }()
	require.NotNil(t, second.Snapshot(), "the persisted snapshot serves")
	assert.Equal(t, []string{"group:default/ops"}, second.Snapshot().Teams("user:default/ana", false, nil))
}

func TestRefusedToken(t *testing.T) {
	server := httptest.NewServer(&simulator.CatalogServer{Token: "another-token"})
	defer server.Close()
	e := start(t, server.URL, componenttest.NewNopHost(), nil)
	time.Sleep(100 * time.Millisecond)
	assert.Nil(t, e.Snapshot())
	require.NoError(t, e.Shutdown(context.Background()))
}
