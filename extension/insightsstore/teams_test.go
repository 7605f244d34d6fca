package insightsstore

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.uber.org/zap"

	"github.com/insights-collector/insights-collector/extension/backstagecatalog"
	"github.com/insights-collector/insights-collector/internal/analyticsdb"
)

type fakeCatalog struct {
	component.StartFunc
	component.ShutdownFunc
	snapshot *backstagecatalog.Snapshot
}

func (f *fakeCatalog) Snapshot() *backstagecatalog.Snapshot { return f.snapshot }

type catalogHost struct {
	component.Host
	extensions map[component.ID]component.Component
}

func (h catalogHost) GetExtensions() map[component.ID]component.Component { return h.extensions }

func TestTeamsRefresh(t *testing.T) {
	store, err := analyticsdb.Open(context.Background(), analyticsdb.Options{Path: filepath.Join(t.TempDir(), "t.duckdb"), MemoryLimit: "256MB"})
	require.NoError(t, err)
	defer store.Close(context.Background())
	id := component.MustNewID("backstage_catalog")
	catalog := &fakeCatalog{}
	host := catalogHost{componenttest.NewNopHost(), map[component.ID]component.Component{id: catalog}}
	r, err := newTeamsRefresh(host, id, func() *analyticsdb.Store { return store }, zap.NewNop())
	require.NoError(t, err)
	count := func() (n int) {
		require.NoError(t, store.DB().QueryRow(`SELECT count(*) FROM teams`).Scan(&n))
		return n
	}
	require.NoError(t, r.run(context.Background()))
	assert.Zero(t, count(), "no snapshot yet")

	catalog.snapshot = &backstagecatalog.Snapshot{Read: time.Now(), Groups: map[string]*backstagecatalog.Group{
		"group:default/a": {Ref: "group:default/a", Type: "team", DirectMembers: 3, TotalMembers: 5},
		"group:default/b": {Ref: "group:default/b", Parent: "group:default/a", Ancestors: []string{"group:default/a"}, DirectMembers: 2, TotalMembers: 2},
	}}
	require.NoError(t, r.run(context.Background()))
	assert.Equal(t, 2, count())
	var total int
	require.NoError(t, store.DB().QueryRow(`SELECT total_members FROM teams WHERE team = 'group:default/a'`).Scan(&total))
	assert.Equal(t, 5, total)

	catalog.snapshot = &backstagecatalog.Snapshot{Read: time.Now(), Groups: map[string]*backstagecatalog.Group{
		"group:default/c": {Ref: "group:default/c", DirectMembers: 1, TotalMembers: 1}}}
	require.NoError(t, r.run(context.Background()))
	assert.Equal(t, 1, count(), "replaced whole")

	_, err = newTeamsRefresh(componenttest.NewNopHost(), id, nil, zap.NewNop())
	assert.ErrorContains(t, err, "extension backstage_catalog is not configured")
}
