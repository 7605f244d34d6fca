package analyticsdb

import (
	"context"
	"database/sql/driver"
	"fmt"
	"time"
)

// Team is a group of the catalog, as the teams table holds it.
type Team struct {
	Team, Parent, Type, DisplayName string
	Ancestors                       []string
	Members, TotalMembers           int
}

// ReplaceTeams replaces the teams table with a snapshot of the catalog read at the given time.
func (s *Store) ReplaceTeams(ctx context.Context, teams []Team, read time.Time) error {
	rows := make([][]driver.Value, len(teams))
	for i, t := range teams {
		rows[i] = []driver.Value{t.Team, nullIfEmpty(t.Parent), t.Ancestors, nullIfEmpty(t.Type), nullIfEmpty(t.DisplayName),
			int64(t.Members), int64(t.TotalMembers), read}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	err := s.inTx(ctx, func() error {
		if _, err := s.writeConn.ExecContext(ctx, "DELETE FROM teams"); err != nil {
			return err
		}
		return s.appendRows("teams", rows)
	})
	if err != nil {
		return fmt.Errorf("replace the teams: %w", err)
	}
	return nil
}

func nullIfEmpty(s string) driver.Value {
	if s == "" {
		return nil
	}
	return s
}
