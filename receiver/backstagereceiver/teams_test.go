package backstagereceiver

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/insights-collector/insights-collector/extension/backstagecatalog"
	"github.com/insights-collector/insights-collector/internal/semconv"
	"github.com/insights-collector/insights-collector/internal/wireformat"
	"github.com/insights-collector/insights-collector/receiver/backstagereceiver/internal/metadata"
)

// fakeCatalog is a backstage_catalog extension with a fixed snapshot.
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

func snapshot() *backstagecatalog.Snapshot {
	return &backstagecatalog.Snapshot{
		Users: map[string][]string{"user:development/guest": {"group:default/guests"}, "user:default/ana": {"group:default/sre"}},
		Groups: map[string]*backstagecatalog.Group{
			"group:default/guests":   {Ref: "group:default/guests", Type: "team"},
			"group:default/sre":      {Ref: "group:default/sre", Type: "sub-team", Parent: "group:default/platform", Ancestors: []string{"group:default/platform"}},
			"group:default/platform": {Ref: "group:default/platform", Type: "team"},
		},
		Owners: map[string]string{"component:default/example-website": "group:default/guests"},
	}
}

func TestTeamsFromTheCatalog(t *testing.T) {
	id := component.MustNewID("backstage_catalog")
	host := catalogHost{componenttest.NewNopHost(), map[component.ID]component.Component{id: &fakeCatalog{snapshot: snapshot()}}}
	sink := &consumertest.LogsSink{}
	rcv := startReceiverWithHost(t, sink, host, func(c *Config) {
		c.Catalog, c.CatalogTeams = &id, CatalogTeams{Ancestors: true, Types: []string{"team"}}
		c.MaxEventAge = 365 * 24 * time.Hour
	})
	occs := sampleOccurrences(t) // the samples' user: user:development/guest
	occs = append(occs[:5], wireformat.Occurrence{Event: occs[0].Event, User: "user:default/ana", Time: occs[0].Time},
		wireformat.Occurrence{Event: occs[0].Event, User: "user:default/stranger", Time: occs[0].Time})
	body, err := wireformat.Encode(wireformat.FormatEvents, occs)
	require.NoError(t, err)
	resp := post(t, rcv.url+"/v1/events", "application/json", body, bearer(testToken)...)
	require.Equal(t, http.StatusOK, resp.status, string(resp.body))
	teams := map[string]any{}
	owners := 0
	for _, lr := range sink.AllLogs()[0].ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().All() {
		a := lr.Attributes().AsRaw()
		teams[fmt.Sprint(a[semconv.AttrUserID])] = a[semconv.AttrUserTeams]
		if a[semconv.AttrEntityRef] == "component:default/example-website" {
			assert.Equal(t, "group:default/guests", a[semconv.AttrEntityOwner])
			owners++
		}
	}
	assert.Positive(t, owners, "the samples' entity events carry the entity's owner")
	assert.Equal(t, []any{"group:default/guests"}, teams["user:development/guest"])
	assert.Equal(t, []any{"group:default/platform"}, teams["user:default/ana"], "the team above her sub-team")
	assert.Nil(t, teams["user:default/stranger"], "a user the catalog does not know")

	// The Generic module sends teams itself: they are kept.
	generic, err := wireformat.Encode(wireformat.FormatGeneric, []wireformat.Occurrence{{Event: occs[0].Event, User: "user:default/ana",
		Time: occs[0].Time, Teams: []string{"group:default/from-the-browser"}, SessionID: "s1"}})
	require.NoError(t, err)
	sink.Reset()
	require.Equal(t, http.StatusOK, post(t, rcv.url+"/v1/events", "application/json", generic, bearer(testToken)...).status)
	got, _ := sink.AllLogs()[0].ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Attributes().Get(semconv.AttrUserTeams)
	assert.Equal(t, []any{"group:default/from-the-browser"}, got.Slice().AsRaw())
}

func TestCatalogThatIsNotConfigured(t *testing.T) {
	id := component.MustNewID("backstage_catalog")
	cfg := createDefaultConfig().(*Config)
	cfg.Catalog, cfg.AllowAnonymous = &id, true
	cfg.NetAddr.Endpoint = "127.0.0.1:0"
	r, err := newReceiver(cfg, receivertest.NewNopSettings(metadata.Type), consumertest.NewNop())
	require.NoError(t, err)
	assert.ErrorContains(t, r.Start(context.Background(), componenttest.NewNopHost()), "extension backstage_catalog is not configured")
}

// BenchmarkTeams is the enrichment's lookup with 20,000 users in 2,000 groups (a cached user's teams).
func BenchmarkTeams(b *testing.B) {
	s := &backstagecatalog.Snapshot{Users: map[string][]string{}, Groups: map[string]*backstagecatalog.Group{}}
	for g := range 2000 {
		ref := fmt.Sprintf("group:default/g%04d", g)
		s.Groups[ref] = &backstagecatalog.Group{Ref: ref, Type: "team"}
	}
	users := make([]string, 20_000)
	for i := range users {
		users[i] = fmt.Sprintf("user:default/u%05d", i)
		s.Users[users[i]] = []string{fmt.Sprintf("group:default/g%04d", i%2000)}
	}
	e := &teamEnricher{catalog: &fakeCatalog{snapshot: s}}
	for _, u := range users {
		e.teams(u)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if len(e.teams(users[i%len(users)])) != 1 {
			b.Fatal("no team")
		}
	}
}

// laterCatalog has its first snapshot after a delay.
type laterCatalog struct {
	component.StartFunc
	component.ShutdownFunc
	snapshot atomic.Pointer[backstagecatalog.Snapshot]
}

func (c *laterCatalog) Snapshot() *backstagecatalog.Snapshot { return c.snapshot.Load() }

// catalog_teams.wait_for_sync: the start waits for the catalog's first sync, up to the limit, and says so.
func TestWaitForTheCatalog(t *testing.T) {
	for name, tc := range map[string]struct {
		syncAfter, wait time.Duration
		teams           bool
		log             string
	}{
		"synced while waiting": {syncAfter: 200 * time.Millisecond, wait: 5 * time.Second, teams: true, log: "The catalog's snapshot is in"},
		"not within the wait":  {syncAfter: time.Hour, wait: 300 * time.Millisecond, log: "events get no teams until its first sync"},
		"no wait":              {syncAfter: time.Hour, log: "events get no teams until its first sync"},
	} {
		t.Run(name, func(t *testing.T) {
			id := component.MustNewID("backstage_catalog")
			catalog := &laterCatalog{}
			timer := time.AfterFunc(tc.syncAfter, func() { catalog.snapshot.Store(snapshot()) })
			defer timer.Stop()
			cfg := createDefaultConfig().(*Config)
			cfg.Catalog, cfg.AllowAnonymous, cfg.CatalogTeams.WaitForSync = &id, true, tc.wait
			cfg.NetAddr.Endpoint = "127.0.0.1:0"
			require.NoError(t, cfg.Validate())
			core, logs := observer.New(zap.InfoLevel)
			set := receivertest.NewNopSettings(metadata.Type)
			set.Logger = zap.New(core)
			r, err := newReceiver(cfg, set, consumertest.NewNop())
			require.NoError(t, err)
			start := time.Now()
			require.NoError(t, r.Start(context.Background(), catalogHost{componenttest.NewNopHost(), map[component.ID]component.Component{id: catalog}}))
			defer func() { require.NoError(t, r.Shutdown(context.Background())) }()
			took := time.Since(start)
			assert.Equal(t, tc.teams, catalog.Snapshot() != nil)
			assert.Less(t, took, max(tc.wait, time.Second)+time.Second)
			if tc.wait > 0 && !tc.teams {
				assert.GreaterOrEqual(t, took, tc.wait, "waited the whole limit")
			}
			assert.Equal(t, 1, logs.FilterMessageSnippet(tc.log).Len(), "%v", logs.All())
		})
	}
}
