package engagementprocessor

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/insights-collector/insights-collector/internal/normalize"
	"github.com/insights-collector/insights-collector/internal/simulator"
	"github.com/insights-collector/insights-collector/internal/wireformat"
)

// The simulator's 90-day history through the default model: each simulated person lands in the tier their
// behaviour implies — people active on most weekdays of the last four weeks are power users, and one-time
// visitors (a day or two of activity) are dormant a month later.
func TestPersonasLandInTheirTiers(t *testing.T) {
	cfg := simulator.DefaultConfig()
	cfg.Users, cfg.Teams, cfg.Days = 1000, 20, 90
	cfg.Start = time.Date(2026, 8, 1, 0, 0, 0, 0, time.UTC)
	world, err := simulator.NewWorld(cfg)
	require.NoError(t, err)
	h := newHarness(t, createDefaultConfig().(*Config))
	end := cfg.Start.AddDate(0, 0, cfg.Days)
	activeDays := map[string]map[int]bool{} // user → days with an event
	for d := range cfg.Days {
		day := world.Day(d)
		for _, o := range day {
			if activeDays[o.User] == nil {
				activeDays[o.User] = map[int]bool{}
			}
			activeDays[o.User][d] = true
		}
		ld := wireformat.OTLP(day)
		normalize.OTLP(ld, &normalize.Options{MaxEventAge: 3 * 24 * time.Hour}, &normalize.Request{Received: cfg.Start.AddDate(0, 0, d+1)})
		h.clock.set(cfg.Start.AddDate(0, 0, d+1))
		_, err := h.p.processLogs(context.Background(), ld)
		require.NoError(t, err)
	}
	h.clock.set(end)
	require.NoError(t, h.p.evaluate(context.Background()))

	tierOf := func(user string) string { return h.p.tiers[h.p.users[user].tier-1] }
	weekdays := 0
	for d := cfg.Days - 28; d < cfg.Days; d++ {
		if wd := cfg.Start.AddDate(0, 0, d).Weekday(); wd != time.Saturday && wd != time.Sunday {
			weekdays++
		}
	}
	var power, gone int
	counts := map[string]int{}
	for user, days := range activeDays {
		counts[tierOf(user)]++
		recent, last := 0, 0
		for d := range days {
			last = max(last, d)
			if d >= cfg.Days-28 {
				recent++
			}
		}
		switch {
		case recent >= weekdays*3/5:
			power++
			assert.Equal(t, "power", tierOf(user), "%s was active on %d of the last %d weekdays", user, recent, weekdays)
		case len(days) <= 2 && last < cfg.Days-30:
			gone++
			assert.Equal(t, "dormant", tierOf(user), "%s came on %d days, the last %d days before the end", user, len(days), cfg.Days-last)
		}
	}
	t.Logf("tiers: %v; %d regular users, %d one-time visitors a month ago", counts, power, gone)
	require.GreaterOrEqual(t, power, 3, "the simulation has regular users")
	require.GreaterOrEqual(t, gone, 3, "and one-time visitors")
}
