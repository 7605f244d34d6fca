package simulator

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/insights-collector/insights-collector/internal/semconv"
	"github.com/insights-collector/insights-collector/internal/wireformat"
)

// monday is the first simulated day of the tests.
var monday = time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)

func testWorld(t testing.TB, mutate ...func(*Config)) *World {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Start = monday
	cfg.Days = 28
	for _, m := range mutate {
		m(&cfg)
	}
	w, err := NewWorld(cfg)
	require.NoError(t, err)
	return w
}

func allDays(w *World) []wireformat.Occurrence {
	var out []wireformat.Occurrence
	for d := range w.cfg.Days {
		out = append(out, w.Day(d)...)
	}
	return out
}

func TestSameSeedSameTraffic(t *testing.T) {
	a, _ := json.Marshal(testWorld(t).Day(3))
	b, _ := json.Marshal(testWorld(t).Day(3))
	assert.Equal(t, string(a), string(b))
	c, _ := json.Marshal(testWorld(t, func(c *Config) { c.Seed = 2 }).Day(3))
	assert.NotEqual(t, string(a), string(c))
}

func TestDaysAreSortedAndWithinTheirDay(t *testing.T) {
	w := testWorld(t)
	for d := range 7 {
		events := w.Day(d)
		require.NotEmpty(t, events)
		assert.True(t, slices.IsSortedFunc(events, func(a, b wireformat.Occurrence) int { return a.Time.Compare(b.Time) }))
		assert.False(t, events[0].Time.Before(w.DayStart(d)))
		assert.True(t, events[len(events)-1].Time.Before(w.DayStart(d+1)))
	}
}

func TestWorkingHoursAndWeekdays(t *testing.T) {
	w := testWorld(t)
	weekday, weekend, inHours, total := 0, 0, 0, 0
	for d := range 14 {
		for _, e := range w.Day(d) {
			total++
			if h := e.Time.Hour(); h >= 7 && h < 21 {
				inHours++
			}
			if wd := e.Time.Weekday(); wd == time.Saturday || wd == time.Sunday {
				weekend++
			} else {
				weekday++
			}
		}
	}
	assert.Greater(t, float64(inHours)/float64(total), 0.95, "nearly all activity in working hours")
	assert.Greater(t, float64(weekday)/5, 4*float64(weekend)/2, "a weekday is far busier than a weekend day")
}

func TestPowerLawActivity(t *testing.T) {
	perUser := map[string]int{}
	events := allDays(testWorld(t))
	for _, e := range events {
		perUser[e.User]++
	}
	counts := make([]int, 0, len(perUser))
	for _, n := range perUser {
		counts = append(counts, n)
	}
	slices.Sort(counts)
	slices.Reverse(counts)
	top := 0
	for _, n := range counts[:len(counts)/10] {
		top += n
	}
	assert.Greater(t, float64(top)/float64(len(events)), 0.3, "the top 10%% of users make a large share of the events")
	assert.Greater(t, counts[0], 10*counts[len(counts)/2], "the busiest user is far busier than the median")
}

func TestSessionsHaveRealGaps(t *testing.T) {
	byUser := map[string][]wireformat.Occurrence{}
	for _, e := range allDays(testWorld(t)) {
		byUser[e.User] = append(byUser[e.User], e)
	}
	sessions := 0
	for _, events := range byUser {
		for i := 1; i < len(events); i++ {
			gap := events[i].Time.Sub(events[i-1].Time)
			if events[i].SessionID == events[i-1].SessionID {
				assert.Less(t, gap, 30*time.Minute, "no 30-minute pause inside a session")
			} else {
				sessions++
				assert.GreaterOrEqual(t, gap, 40*time.Minute, "sessions are separated by more than the inactivity gap")
			}
		}
	}
	assert.Greater(t, sessions, 100)
}

func TestNewUsersJoinOverTime(t *testing.T) {
	w := testWorld(t)
	firstSeen := map[string]int{}
	for d := range w.cfg.Days {
		for _, e := range w.Day(d) {
			if _, ok := firstSeen[e.User]; !ok {
				firstSeen[e.User] = d
			}
		}
	}
	joiners := 0
	for _, u := range w.Users {
		if u.JoinDay == 0 {
			continue
		}
		joiners++
		assert.Equal(t, u.JoinDay, firstSeen[u.Ref], "a new user first appears on the day they join")
	}
	assert.Greater(t, joiners, w.cfg.Users/5)
	// A new user's first session is onboarding: it reads docs.
	u := w.Users[slices.IndexFunc(w.Users, func(u User) bool { return u.JoinDay > 0 })]
	var first []wireformat.Occurrence
	for _, e := range w.Day(u.JoinDay) {
		if e.User == u.Ref && (len(first) == 0 || e.SessionID == first[0].SessionID) {
			first = append(first, e)
		}
	}
	assert.True(t, slices.ContainsFunc(first, func(e wireformat.Occurrence) bool { return e.Context["pluginId"] == "techdocs" }))
}

func TestJourneysCoverTheProduct(t *testing.T) {
	actions, plugins := map[string]int{}, map[string]int{}
	zeroResultSearches, creates := 0, 0
	for _, e := range allDays(testWorld(t)) {
		actions[e.Action]++
		plugins[e.Context["pluginId"].(string)]++
		if e.Action == semconv.ActionSearch && *e.Value == 0 {
			zeroResultSearches++
		}
		if e.Action == semconv.ActionCreate {
			creates++
			assert.Contains(t, e.Context["entityRef"], "template:default/")
			assert.Positive(t, *e.Value, "minutes saved")
		}
		if e.Action == semconv.ActionNavigate && e.Context["extensionId"] == "entity-content:catalog/overview" {
			assert.Equal(t, "default", e.Attributes["namespace"], "entity pages carry their route params")
		}
	}
	for _, a := range []string{semconv.ActionNavigate, semconv.ActionClick, semconv.ActionSearch, semconv.ActionDiscover,
		semconv.ActionCreate, semconv.ActionNotFound, semconv.ActionSignIn} {
		assert.Positive(t, actions[a], a)
	}
	for _, p := range []string{"catalog", "search", "scaffolder", "techdocs", "api-docs", "kubernetes", "user-settings"} {
		assert.Positive(t, plugins[p], p)
	}
	assert.Positive(t, zeroResultSearches)
	assert.Less(t, creates, actions[semconv.ActionNavigate]/10)
}

func TestIntensityScalesTraffic(t *testing.T) {
	base := len(testWorld(t).Day(1))
	busy := len(testWorld(t, func(c *Config) { c.Intensity = 4 }).Day(1))
	assert.Greater(t, busy, 2*base)
}

func TestConfigValidation(t *testing.T) {
	for name, mutate := range map[string]func(*Config){
		"no users":                      func(c *Config) { c.Users = 0 },
		"too many teams":                func(c *Config) { c.Teams = c.Users + 1 },
		"no days":                       func(c *Config) { c.Days = 0 },
		"bad share":                     func(c *Config) { c.NewUserShare = 2 },
		"no intensity":                  func(c *Config) { c.Intensity = 0 },
		"tiny catalog":                  func(c *Config) { c.Entities = 1 },
		"no templates":                  func(c *Config) { c.Templates = 0 },
		"collapse of an unknown plugin": func(c *Config) { c.Scenarios.Collapse = &Collapse{Plugin: "jenkins", Day: 3} },
		"collapse after the period":     func(c *Config) { c.Scenarios.Collapse = &Collapse{Plugin: "techdocs", Day: c.Days} },
		"growing team out of range":     func(c *Config) { c.Scenarios.GrowingTeam = c.Teams + 1 },
		"drop-off share":                func(c *Config) { c.Scenarios.OnboardingDropOff = -0.1 },
	} {
		t.Run(name, func(t *testing.T) {
			cfg := DefaultConfig()
			mutate(&cfg)
			_, err := NewWorld(cfg)
			assert.Error(t, err)
		})
	}
}

func TestScenarios(t *testing.T) {
	t.Run("a plugin's usage collapses on a day", func(t *testing.T) {
		usesPerDay := func(w *World) []int {
			out := make([]int, w.cfg.Days)
			for d := range w.cfg.Days {
				for _, e := range w.Day(d) {
					if e.Action == semconv.ActionNavigate && e.Context["pluginId"] == "techdocs" {
						out[d]++
					}
				}
			}
			return out
		}
		plain := usesPerDay(testWorld(t))
		collapsed := usesPerDay(testWorld(t, func(c *Config) { c.Scenarios.Collapse = &Collapse{Plugin: "techdocs", Day: 14, Share: 0.1} }))
		assert.Equal(t, plain[:14], collapsed[:14], "nothing changes before the collapse")
		before, after := 0, 0
		for d := 14; d < 28; d++ {
			before, after = before+plain[d], after+collapsed[d]
		}
		assert.InDelta(t, 0.1, float64(after)/float64(before), 0.05)
	})
	t.Run("a team grows", func(t *testing.T) {
		w := testWorld(t, func(c *Config) { c.Scenarios.GrowingTeam = 2 })
		joined := map[int]int{}
		for _, u := range w.Users {
			if u.Teams[0] == w.Teams[1] {
				require.Positive(t, u.JoinDay, "nobody of the team was there before")
				joined[u.JoinDay/7]++
			}
		}
		assert.Len(t, joined, 4, "members join in every week")
	})
	t.Run("new users drop off during onboarding", func(t *testing.T) {
		w := testWorld(t, func(c *Config) { c.Scenarios.OnboardingDropOff = 0.5 })
		days := map[string]map[int]bool{}
		reachedCatalog := map[string]bool{}
		for d := range w.cfg.Days {
			for _, e := range w.Day(d) {
				if days[e.User] == nil {
					days[e.User] = map[int]bool{}
				}
				days[e.User][d] = true
				if e.Context["pluginId"] == "catalog" {
					reachedCatalog[e.User] = true
				}
			}
		}
		dropped, joiners := 0, 0
		for _, u := range w.Users {
			if u.JoinDay == 0 {
				continue
			}
			joiners++
			if u.dropsOut {
				dropped++
				assert.Equal(t, map[int]bool{u.JoinDay: true}, days[u.Ref], "seen on the day they joined only")
				assert.False(t, reachedCatalog[u.Ref], "never reached the catalog")
			}
		}
		assert.InDelta(t, 0.5, float64(dropped)/float64(joiners), 0.15)
	})
}
