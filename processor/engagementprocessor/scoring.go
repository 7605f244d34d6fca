package engagementprocessor

import (
	"math"
	"time"

	"github.com/insights-collector/insights-collector/internal/semconv"
)

// model is the scoring model of the configuration, ready to use.
//
// A user's points are the sum of the weights of their events, each multiplied by its plugin's multiplier and
// halved every half-life since it happened: points(t) = Σ wᵢ·mᵢ·2^(−(t−tᵢ)/H). The score maps points to 0–100
// with a curve that does not depend on other users or on today: score = 100·(1 − e^(−points/scale)).
type model struct {
	weights       map[string]float64
	defaultWeight float64
	multipliers   map[string]float64
	capIndex      map[string]int // action → its index in a user's daily counts
	capLimits     []uint16
	lambda        float64 // decay per millisecond: ln 2 / half-life
	scale         float64
	minScores     []float64 // of the tiers, highest first
	loc           *time.Location
}

func newModel(cfg *Config) *model {
	loc, _ := time.LoadLocation(cfg.Timezone) // Validate loaded it
	m := &model{
		weights: cfg.Weights, defaultWeight: cfg.DefaultWeight, multipliers: cfg.PluginMultipliers, capIndex: map[string]int{},
		lambda: math.Ln2 / float64(cfg.HalfLife.Milliseconds()), scale: cfg.Scale, loc: loc,
	}
	for action, limit := range cfg.DailyCaps {
		m.capIndex[action] = len(m.capLimits)
		m.capLimits = append(m.capLimits, uint16(min(limit, math.MaxUint16)))
	}
	for _, t := range cfg.Tiers {
		m.minScores = append(m.minScores, t.MinScore)
	}
	return m
}

// user is one user's state: 40 bytes and the daily counts when caps are configured.
type user struct {
	points   float64
	at       int64    // the time (ms) the points are valued at: the latest event's, or a later evaluation's
	seen     int64    // the latest event's time (ms): a user inactive for max_idle is forgotten
	capDay   int64    // the local day (days since the epoch) of capCounts
	capCount []uint16 // events counted today, per capped action
	tier     uint8    // index + 1 of the current tier; 0: none yet
	resource uint16
	userAttr uint8
}

// event is what scoring needs of one event.
type event struct {
	name, action, plugin string
	ts                   int64
}

// weight returns the points an event earns, before decay; capped events earn nothing.
func (m *model) weight(u *user, ev *event) float64 {
	w, ok := m.weights[ev.action]
	if ev.action == "" || !ok {
		if w, ok = m.weights[ev.name]; !ok {
			w = m.defaultWeight
		}
	}
	if w == 0 {
		return 0
	}
	if mult, ok := m.multipliers[ev.plugin]; ok {
		w *= mult
	}
	if i, capped := m.capIndex[ev.action]; capped && !m.countToday(u, i, ev.ts) {
		return 0
	}
	return w
}

// countToday counts an event of a capped action; false when the day's cap is reached. An event of an earlier
// day than the counts' (a late one) is not capped: its day's counts are gone.
func (m *model) countToday(u *user, i int, ts int64) bool {
	day := m.localDay(ts)
	switch {
	case day < u.capDay:
		return true
	case day > u.capDay || u.capCount == nil:
		if u.capCount == nil {
			u.capCount = make([]uint16, len(m.capLimits))
		} else {
			clear(u.capCount)
		}
		u.capDay = day
	}
	if u.capCount[i] >= m.capLimits[i] {
		return false
	}
	u.capCount[i]++
	return true
}

// add scores an event and returns the user's score at its time (or at the user's latest time, for a late one).
func (m *model) add(u *user, ev *event) float64 {
	w := m.weight(u, ev)
	if ev.ts >= u.at {
		m.decayTo(u, ev.ts)
		u.points += w
	} else {
		u.points += w * math.Exp(-m.lambda*float64(u.at-ev.ts))
	}
	u.seen = max(u.seen, ev.ts)
	return m.score(u.points)
}

// decayTo values a user's points at a later time.
func (m *model) decayTo(u *user, t int64) {
	if t > u.at {
		u.points *= math.Exp(-m.lambda * float64(t-u.at))
		u.at = t
	}
}

func (m *model) score(points float64) float64 { return 100 * (1 - math.Exp(-points/m.scale)) }

// tierOf returns the index + 1 of a score's tier.
func (m *model) tierOf(score float64) uint8 {
	for i, min := range m.minScores {
		if score >= min {
			return uint8(i + 1)
		}
	}
	return uint8(len(m.minScores))
}

func (m *model) localDay(ms int64) int64 {
	y, mo, d := time.UnixMilli(ms).In(m.loc).Date()
	return time.Date(y, mo, d, 0, 0, 0, 0, time.UTC).Unix() / 86400
}

// eventOf reads what scoring needs of an event name.
func eventOf(name string) event {
	ev := event{name: name}
	ev.action, _ = semconv.ActionOf(name)
	return ev
}
