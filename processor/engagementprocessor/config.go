package engagementprocessor

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"go.opentelemetry.io/collector/component"
)

// Config is the engagement processor's scoring model and state.
type Config struct {
	// Weights are the points of an event, by action (of backstage.<action> events) or by event name (other
	// events, e.g. session.start); configured ones override and add to the defaults (0 ignores an action).
	// DefaultWeight is that of any other event.
	Weights       map[string]float64 `mapstructure:"weights"`
	DefaultWeight float64            `mapstructure:"default_weight"`
	// PluginMultipliers scale the points of a plugin's events (1 for plugins not listed).
	PluginMultipliers map[string]float64 `mapstructure:"plugin_multipliers"`
	// DailyCaps count at most this many events of an action per user and day (in Timezone); more earn nothing,
	// so that a script cannot buy a score.
	DailyCaps map[string]int `mapstructure:"daily_caps"`
	Timezone  string         `mapstructure:"timezone"`
	// HalfLife: points lose half their value in this time.
	HalfLife time.Duration `mapstructure:"half_life"`
	// Scale normalises points to 0–100: score = 100 × (1 − e^(−points / scale)).
	Scale float64 `mapstructure:"scale"`
	// Tiers, from the highest: a user is in the first tier whose min_score the score reaches.
	Tiers []Tier `mapstructure:"tiers"`
	// CheckInterval is how often every user's tier is evaluated again, so that demotions (dormancy) are seen
	// when a user sends nothing.
	CheckInterval time.Duration `mapstructure:"check_interval"`
	// MaxIdle forgets users inactive for longer (their score is about 0 by then).
	MaxIdle time.Duration `mapstructure:"max_idle"`
	// Storage names a storage extension that keeps the users' state across restarts.
	Storage         *component.ID `mapstructure:"storage"`
	PersistInterval time.Duration `mapstructure:"persist_interval"`
}

// Tier is a named band of scores.
type Tier struct {
	Name     string  `mapstructure:"name"`
	MinScore float64 `mapstructure:"min_score"`
}

// Validate checks the model.
func (c *Config) Validate() error {
	var errs []error
	for name, w := range c.Weights {
		if w < 0 || math.IsNaN(w) {
			errs = append(errs, fmt.Errorf("weights[%s]: %v is negative", name, w))
		}
	}
	if c.DefaultWeight < 0 {
		errs = append(errs, fmt.Errorf("default_weight: %v is negative", c.DefaultWeight))
	}
	for plugin, m := range c.PluginMultipliers {
		if m < 0 || math.IsNaN(m) {
			errs = append(errs, fmt.Errorf("plugin_multipliers[%s]: %v is negative", plugin, m))
		}
	}
	for action, n := range c.DailyCaps {
		if n < 1 {
			errs = append(errs, fmt.Errorf("daily_caps[%s]: %d, want at least 1", action, n))
		}
	}
	if _, err := time.LoadLocation(c.Timezone); err != nil {
		errs = append(errs, fmt.Errorf("timezone %q: %w", c.Timezone, err))
	}
	for _, d := range []struct {
		name  string
		value time.Duration
	}{{"half_life", c.HalfLife}, {"check_interval", c.CheckInterval}, {"max_idle", c.MaxIdle}, {"persist_interval", c.PersistInterval}} {
		if d.value <= 0 {
			errs = append(errs, fmt.Errorf("%s must be positive", d.name))
		}
	}
	if c.Scale <= 0 {
		errs = append(errs, errors.New("scale must be positive"))
	}
	return errors.Join(append(errs, validateTiers(c.Tiers)...)...)
}

// validateTiers: named, distinct, from the highest min_score down to a tier at 0 (every score has a tier).
func validateTiers(tiers []Tier) []error {
	if len(tiers) == 0 {
		return []error{errors.New("tiers: at least one")}
	}
	var errs []error
	names := map[string]bool{}
	for i, t := range tiers {
		switch {
		case t.Name == "":
			errs = append(errs, fmt.Errorf("tiers[%d]: no name", i))
		case names[t.Name]:
			errs = append(errs, fmt.Errorf("tiers[%d]: %q appears twice", i, t.Name))
		}
		names[t.Name] = true
		if t.MinScore < 0 || t.MinScore > 100 {
			errs = append(errs, fmt.Errorf("tiers[%d] %s: min_score %v is outside 0–100", i, t.Name, t.MinScore))
		}
		if i > 0 && t.MinScore >= tiers[i-1].MinScore {
			errs = append(errs, fmt.Errorf("tiers[%d] %s overlaps %s: min_score %v must be below %v (tiers go from the highest down)",
				i, t.Name, tiers[i-1].Name, t.MinScore, tiers[i-1].MinScore))
		}
	}
	if last := tiers[len(tiers)-1]; last.MinScore != 0 {
		errs = append(errs, fmt.Errorf("tiers: the last, %s, must start at 0 so that every score has a tier", last.Name))
	}
	return errs
}

// tierNames lists the tiers' names, highest first.
func (c *Config) tierNames() []string {
	names := make([]string, len(c.Tiers))
	for i, t := range c.Tiers {
		names[i] = t.Name
	}
	return slices.Clip(names)
}
