package cohortprocessor

import (
	"testing"

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
	assert.Equal(t, createDefaultConfig(), cfg)

	cfg, err = loadConfig(t, "full")
	require.NoError(t, err)
	require.Len(t, cfg.Experiments, 1)
	e := cfg.Experiments[0]
	assert.Equal(t, "new-home-page", e.Key)
	assert.Equal(t, []Variant{{"control", 0.5}, {"cards", 0.5}}, e.Variants)
	assert.Equal(t, 0.8, *e.Traffic)
	assert.Equal(t, []AttributeMatch{{Key: "backstage.extension.id", In: []string{"page:home"}}}, e.Targeting.Attributes)
	assert.Equal(t, 0.05, cfg.Holdout)
}

func TestConfigValidationErrors(t *testing.T) {
	_, err := loadConfig(t, "bad")
	require.Error(t, err)
	for _, want := range []string{
		"holdout 1.5", `experiments[0]: key "bad key!"`, "experiments[0] bad key!: at least two variants",
		"experiments[0] bad key!: the weights add up to 0.7, not 1", "experiments[1] dup: variant keys must be set and distinct",
		"experiments[1] dup: traffic 0", `experiments[1] dup: "yesterday" is not an RFC 3339 time`, "experiments[2] dup: the key appears twice",
		"experiments[2] dup: end 2026-11-01T00:00:00Z is not after start", "experiments[2] dup: targeting.attributes[0]",
	} {
		assert.Contains(t, err.Error(), want)
	}
}
