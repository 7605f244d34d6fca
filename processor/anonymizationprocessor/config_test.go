package anonymizationprocessor

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/insights-collector/insights-collector/internal/componentconfigtest"
)

func loadConfig(t *testing.T, name string) (*Config, error) {
	return componentconfigtest.Load[*Config](t, NewFactory(), name)
}

func TestLoadConfig(t *testing.T) {
	cfg, err := loadConfig(t, "")
	require.NoError(t, err)
	assert.Equal(t, ModeStrict, cfg.Mode)
	assert.Equal(t, ActionTruncate, cfg.ClientAddress)
	assert.Equal(t, ActionGeneralize, cfg.UserAgent)
	assert.Equal(t, ActionScrub, cfg.SearchTerms)
	assert.Equal(t, ActionScrub, cfg.FreeText)
	assert.Equal(t, defaultAllowedQueryParams, cfg.AllowedQueryParams)
	assert.Equal(t, 10*time.Second, cfg.Consent.ReloadInterval)

	cfg, err = loadConfig(t, "full")
	require.NoError(t, err)
	assert.Len(t, cfg.Keys, 2)
	assert.Equal(t, "k2", cfg.ActiveKey)
	assert.Equal(t, ActionDrop, cfg.ClientAddress)
	assert.Equal(t, ActionHash, cfg.SearchTerms)
	assert.Equal(t, ActionKeep, cfg.FreeText)
	assert.Equal(t, []string{"filters[kind]", "limit"}, cfg.AllowedQueryParams)
	assert.Equal(t, []string{"department"}, cfg.KeepTraits)
	require.Len(t, cfg.Rules, 2)
	assert.Equal(t, Rule{Name: "ticket ids", Pattern: `^backstage\.attributes\.ticket`, Action: ActionRedact}, cfg.Rules[0])
	assert.Equal(t, 30*time.Second, cfg.Consent.ReloadInterval)

	for _, name := range []string{"keyfile", "keepuser_permissive"} {
		_, err := loadConfig(t, name)
		require.NoError(t, err, name)
	}
}

func TestConfigValidationErrors(t *testing.T) {
	for name, want := range map[string][]string{
		"nokey":    {"set keys (with secrets of at least 32 bytes) or key_file"},
		"shortkey": {`keys[0]: key "k1": the secret has 9 bytes, want at least 32`},
		"keepuser": {"rules[0]: keep on user.id passes a direct identifier on: not allowed in strict mode"},
		"badrule":  {"rules[0]: pattern: error parsing regexp", `rules[0]: action "shred": want hash, redact, drop or keep`},
		"twokeys":  {"active_key: name the key that makes pseudonyms (there are several)"},
	} {
		_, err := loadConfig(t, name)
		require.Error(t, err, name)
		for _, w := range want {
			assert.Contains(t, err.Error(), w, name)
		}
	}
}
