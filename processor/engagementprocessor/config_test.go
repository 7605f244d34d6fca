package engagementprocessor

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"

	"github.com/insights-collector/insights-collector/internal/componentconfigtest"
)

func loadConfig(t *testing.T, name string) (*Config, error) {
	return componentconfigtest.Load[*Config](t, NewFactory(), name)
}

func TestLoadConfig(t *testing.T) {
	cfg, err := loadConfig(t, "")
	require.NoError(t, err)
	assert.Equal(t, createDefaultConfig(), cfg)

	cfg, err = loadConfig(t, "custom")
	require.NoError(t, err)
	storage := component.MustNewID("file_storage")
	// Configured weights override the defaults and add to them (0 ignores an action).
	assert.Equal(t, map[string]float64{"create": 20, "navigate": 0.5, "session.start": 1, "deploy": 5, "click": 1, "discover": 3, "search": 2},
		cfg.Weights)
	assert.Equal(t, 0.1, cfg.DefaultWeight)
	assert.Equal(t, map[string]float64{"scaffolder": 2}, cfg.PluginMultipliers)
	assert.Equal(t, map[string]int{"navigate": 50}, cfg.DailyCaps)
	assert.Equal(t, 7*24*time.Hour, cfg.HalfLife)
	assert.Equal(t, []Tier{{"champion", 80}, {"active", 20}, {"idle", 0}}, cfg.Tiers)
	assert.Equal(t, &storage, cfg.Storage)
}

func TestConfigValidationErrors(t *testing.T) {
	_, err := loadConfig(t, "bad")
	require.Error(t, err)
	for _, want := range []string{
		"weights[navigate]: -1 is negative", "plugin_multipliers[catalog]: -2 is negative", "daily_caps[click]: 0, want at least 1",
		"half_life must be positive", "scale must be positive",
		"tiers[1] core overlaps power: min_score 60 must be below 50", `tiers[2]: "core" appears twice`,
		"tiers: the last, core, must start at 0",
	} {
		assert.Contains(t, err.Error(), want)
	}
}
