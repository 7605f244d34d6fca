package sessionizationprocessor

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
	assert.Equal(t, 30*time.Minute, cfg.InactivityGap)
	assert.Equal(t, 24*time.Hour, cfg.MaxDuration)

	cfg, err = loadConfig(t, "full")
	require.NoError(t, err)
	storage := component.MustNewIDWithName("file_storage", "sessions")
	assert.Equal(t, &Config{
		InactivityGap: 20 * time.Minute, MaxDuration: 12 * time.Hour, SplitAtMidnight: true, Timezone: "Europe/Berlin",
		TrustClientSessions: true, AllowedLateness: 2 * time.Minute, MaxActiveSessions: 5000, CheckInterval: 5 * time.Second,
		Storage: &storage, PersistInterval: 2 * time.Second,
	}, cfg)
}

func TestConfigValidationErrors(t *testing.T) {
	for name, want := range map[string][]string{
		"bad": {"inactivity_gap must be positive", `timezone "Mars/Olympus"`, "allowed_lateness must not be negative",
			"max_active_sessions must be at least 1"},
		"gap_too_long": {"inactivity_gap must not exceed max_duration"},
	} {
		_, err := loadConfig(t, name)
		require.Error(t, err, name)
		for _, w := range want {
			assert.Contains(t, err.Error(), w, name)
		}
	}
}
