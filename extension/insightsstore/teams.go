package insightsstore

import (
	"context"
	"fmt"
	"sort"

	"go.opentelemetry.io/collector/component"
	"go.uber.org/zap"

	"github.com/insights-collector/insights-collector/extension/backstagecatalog"
	"github.com/insights-collector/insights-collector/internal/analyticsdb"
)

// teamsRefresh copies each new snapshot of the backstage_catalog extension into the store's teams table: the
// dimension and denominators of the team metrics.
type teamsRefresh struct {
	catalog backstagecatalog.Catalog
	store   func() *analyticsdb.Store
	logger  *zap.Logger
	last    *backstagecatalog.Snapshot
}

func newTeamsRefresh(host component.Host, id component.ID, store func() *analyticsdb.Store, logger *zap.Logger) (*teamsRefresh, error) {
	ext, ok := host.GetExtensions()[id]
	if !ok {
		return nil, fmt.Errorf("catalog: extension %s is not configured (add it to service.extensions)", id)
	}
	catalog, ok := ext.(backstagecatalog.Catalog)
	if !ok {
		return nil, fmt.Errorf("catalog: extension %s is not a backstage_catalog extension", id)
	}
	return &teamsRefresh{catalog: catalog, store: store, logger: logger}, nil
}

// run copies the catalog's snapshot when it changed since the last copy.
func (r *teamsRefresh) run(ctx context.Context) error {
	s := r.catalog.Snapshot()
	if s == nil || s == r.last {
		return nil
	}
	teams := make([]analyticsdb.Team, 0, len(s.Groups))
	for _, g := range s.Groups {
		teams = append(teams, analyticsdb.Team{Team: g.Ref, Parent: g.Parent, Ancestors: g.Ancestors, Type: g.Type,
			DisplayName: g.DisplayName, Members: g.DirectMembers, TotalMembers: g.TotalMembers})
	}
	sort.Slice(teams, func(i, j int) bool { return teams[i].Team < teams[j].Team })
	if err := r.store().ReplaceTeams(ctx, teams, s.Read); err != nil {
		return err
	}
	r.last = s
	r.logger.Info("Teams refreshed from the catalog", zap.Int("teams", len(teams)))
	return nil
}
