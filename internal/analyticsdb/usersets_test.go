package analyticsdb

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/insights-collector/insights-collector/internal/simulator"
	"github.com/insights-collector/insights-collector/internal/wireformat"
)

// writeDays writes days of simulated traffic, a write per day, and returns its occurrences.
func writeDays(t *testing.T, s *Store, days, users int) []wireformat.Occurrence {
	cfg := simulator.DefaultConfig()
	cfg.Start, cfg.Days, cfg.Users, cfg.Teams = now.AddDate(0, 0, -days), days, users, 4
	w, err := simulator.NewWorld(cfg)
	require.NoError(t, err)
	var occs []wireformat.Occurrence
	for d := range days {
		day := w.Day(d)
		occs = append(occs, day...)
		_, err := s.WriteLogs(context.Background(), wireformat.OTLP(day), now)
		require.NoError(t, err)
	}
	return occs
}

// assertSetsAgree checks every day's user sets against their rollup's rows, for the days not pending: each
// user of a key has its bit (and no other user does), and the sums match.
func assertSetsAgree(t *testing.T, s *Store) {
	t.Helper()
	for _, r := range dailyRollups {
		if r.sets == nil {
			continue
		}
		built := " WHERE day NOT IN (SELECT day FROM rollup_days WHERE rollup = '" + r.table + "')"
		members := count(t, s, "SELECT count(*) FROM (SELECT DISTINCT day, "+r.sets.keys+", user_no FROM "+r.table+built+")")
		keys := ""
		for _, k := range append(strings.Split(r.sets.keys, ", "), "day") {
			keys += " AND u." + k + " = x." + k
		}
		found := count(t, s, "SELECT count(*) FROM (SELECT DISTINCT day, "+r.sets.keys+", user_no FROM "+r.table+built+") x JOIN "+r.sets.table+
			" u ON u.block = "+UserBlockSQL("x.user_no")+keys+" WHERE get_bit(u.users, ((x.user_no - 1) % "+userBlockBits+")::INTEGER) = 1")
		assert.Equal(t, members, found, "%s: every user of a key has its bit", r.sets.table)
		assert.Equal(t, members, count(t, s, "SELECT coalesce(sum(bit_count(users)), 0)::INTEGER FROM "+r.sets.table), "%s: no other bit is set", r.sets.table)
		assert.Equal(t, rowsOf(t, s, "SELECT day, "+r.sets.keys+", "+r.sets.sums+" FROM "+r.table+built+" GROUP BY ALL ORDER BY ALL"),
			rowsOf(t, s, "SELECT day, "+r.sets.keys+", "+r.sets.sums+" FROM "+r.sets.table+" GROUP BY ALL ORDER BY ALL"), "%s: the sums", r.sets.table)
	}
}

func TestUserSetsFollowTheRollups(t *testing.T) {
	s, _ := openStore(t)
	ctx := context.Background()
	occs := writeDays(t, s, 3, 40)
	assert.Zero(t, count(t, s, "SELECT count(*) FROM plugin_users"), "pending until the compaction")
	require.NoError(t, s.CompactRollups(ctx))
	require.Positive(t, count(t, s, "SELECT count(*) FROM plugin_users"))
	assertSetsAgree(t, s)

	// A later write of a day marks it: its sets are out of date until the compaction builds them again.
	writeDays(t, s, 1, 40)
	require.Positive(t, count(t, s, "SELECT count(*) FROM rollup_days WHERE rollup = 'plugin_daily'"))
	require.NoError(t, s.CompactRollups(ctx))
	assertSetsAgree(t, s)

	// An erasure leaves no bit of the user and marks the user's days.
	victim := occs[0].User
	number := count(t, s, `SELECT user_no FROM user_numbers WHERE user_key = ?`, victim)
	days := count(t, s, `SELECT count(DISTINCT day) FROM plugin_daily WHERE user_no = ?`, number)
	require.Positive(t, days)
	_, err := s.EraseUser(ctx, victim)
	require.NoError(t, err)
	assert.Zero(t, count(t, s, "SELECT count(*) FROM plugin_users WHERE block = "+UserBlockSQL("?::UINTEGER")+
		" AND get_bit(users, ((?::UINTEGER - 1) % "+userBlockBits+")::INTEGER) = 1", number, number))
	assert.Equal(t, days, count(t, s, "SELECT count(*) FROM rollup_days WHERE rollup = 'plugin_daily'"))
	assertSetsAgree(t, s)
	require.NoError(t, s.CompactRollups(ctx))
	assertSetsAgree(t, s)

	// Retention drops the sets of the days it drops.
	cutoff := now.AddDate(0, 0, -1)
	_, err = s.DeleteOlderThan(ctx, cutoff)
	require.NoError(t, err)
	assert.Zero(t, count(t, s, "SELECT count(*) FROM plugin_users WHERE day + INTERVAL 1 DAY <= ?", cutoff))
	assertSetsAgree(t, s)

	// Rebuilt rollups (another time zone) mark every day for the compaction.
	_, err = s.DB().Exec(`DELETE FROM store_settings`)
	require.NoError(t, err)
	_, err = s.ensureRollupTimezone(ctx)
	require.NoError(t, err)
	assert.Zero(t, count(t, s, "SELECT count(*) FROM plugin_users"))
	require.NoError(t, s.CompactRollups(ctx))
	assertSetsAgree(t, s)
}

// Users of several blocks: each block's bitmap holds its own users.
func TestUserSetsBlocks(t *testing.T) {
	s, _ := openStore(t)
	ctx := context.Background()
	day := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	users := []uint32{1, 2, userBlock, userBlock + 1, 3*userBlock + 7}
	for i, u := range users {
		_, err := s.DB().Exec("INSERT INTO plugin_daily VALUES (?, 'portal', 'catalog', ?, ?)", day, u, i+1)
		require.NoError(t, err)
	}
	require.NoError(t, s.markDays(ctx, map[string][]time.Time{"plugin_daily": {day}}))
	require.NoError(t, s.CompactRollups(ctx))
	assertSetsAgree(t, s)
	assert.Equal(t, []string{"0 3 6", "1 1 4", "3 1 5"}, rowsOf(t, s, "SELECT block, bit_count(users), events FROM plugin_users ORDER BY block"))
}
