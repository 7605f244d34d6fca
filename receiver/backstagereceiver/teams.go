package backstagereceiver

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.uber.org/zap"

	"github.com/insights-collector/insights-collector/extension/backstagecatalog"
	"github.com/insights-collector/insights-collector/internal/semconv"
)

// teamEnricher adds users' teams and entities' owners from the catalog's snapshot. It remembers each user's teams for the snapshot
// in force (a map lookup per event), and starts afresh when a sync brings a new snapshot.
type teamEnricher struct {
	catalog backstagecatalog.Catalog
	cfg     CatalogTeams

	mu       sync.RWMutex
	snapshot *backstagecatalog.Snapshot
	byUser   map[string][]string
}

// findCatalog returns the configured catalog extension.
func findCatalog(host component.Host, id component.ID) (backstagecatalog.Catalog, error) {
	ext, ok := host.GetExtensions()[id]
	if !ok {
		return nil, fmt.Errorf("catalog: extension %s is not configured (add it to service.extensions)", id)
	}
	c, ok := ext.(backstagecatalog.Catalog)
	if !ok {
		return nil, fmt.Errorf("catalog: extension %s is not a backstage_catalog extension", id)
	}
	return c, nil
}

// waitForCatalog holds the start until the catalog's first snapshot, for at most catalog_teams.wait_for_sync,
// and says how it went.
func (r *backstageReceiver) waitForCatalog(ctx context.Context, catalog backstagecatalog.Catalog) {
	wait := r.cfg.CatalogTeams.WaitForSync
	start := time.Now()
	ticker := time.NewTicker(50 * time.Millisecond)
	defer ticker.Stop()
	for catalog.Snapshot() == nil && time.Since(start) < wait {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
	switch {
	case catalog.Snapshot() == nil:
		r.set.Logger.Warn("The catalog has no snapshot yet: events get no teams until its first sync", zap.Duration("waited", wait))
	case wait > 0:
		r.set.Logger.Info("The catalog's snapshot is in: events get teams", zap.Duration("waited", time.Since(start).Round(time.Millisecond)))
	}
}

// teams returns a user's teams; nil for a user the catalog does not know, or before its first sync.
func (t *teamEnricher) teams(user string) []string {
	s := t.catalog.Snapshot()
	if s == nil {
		return nil
	}
	user = strings.ToLower(user)
	t.mu.RLock()
	teams, ok := t.byUser[user]
	current := t.snapshot == s
	t.mu.RUnlock()
	if ok && current {
		return teams
	}
	if _, known := s.Users[user]; !known {
		return nil // not remembered: user ids come from senders, the catalog's users are bounded
	}
	teams = s.Teams(user, t.cfg.Ancestors, t.cfg.Types)
	t.mu.Lock()
	if t.snapshot != s {
		t.snapshot, t.byUser = s, map[string][]string{}
	}
	t.byUser[user] = teams
	t.mu.Unlock()
	return teams
}

// enrich adds backstage.user.teams to the events of known users, and backstage.entity.owner to the events of
// owned entities, where the sender sent none.
func (t *teamEnricher) enrich(ld plog.Logs) {
	snapshot := t.catalog.Snapshot()
	if snapshot == nil {
		return
	}
	for _, rl := range ld.ResourceLogs().All() {
		for _, sl := range rl.ScopeLogs().All() {
			for _, lr := range sl.LogRecords().All() {
				attrs := lr.Attributes()
				if ref, ok := attrs.Get(semconv.AttrEntityRef); ok && ref.Type() == pcommon.ValueTypeStr {
					if _, sent := attrs.Get(semconv.AttrEntityOwner); !sent {
						if owner := snapshot.Owner(ref.Str()); owner != "" {
							attrs.PutStr(semconv.AttrEntityOwner, owner)
						}
					}
				}
				user, ok := attrs.Get(semconv.AttrUserID)
				if !ok || user.Type() != pcommon.ValueTypeStr {
					continue
				}
				if _, sent := attrs.Get(semconv.AttrUserTeams); sent {
					continue
				}
				teams := t.teams(user.Str())
				if len(teams) == 0 {
					continue
				}
				slice := attrs.PutEmptySlice(semconv.AttrUserTeams)
				slice.EnsureCapacity(len(teams))
				for _, team := range teams {
					slice.AppendEmpty().SetStr(team)
				}
			}
		}
	}
}
