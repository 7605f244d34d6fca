package insightsstore

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/insights-collector/insights-collector/extension/insightsstore/internal/queryapi"
	"github.com/insights-collector/insights-collector/internal/componentconfigtest"
)

func loadConfig(t *testing.T, name string) (*Config, error) {
	return componentconfigtest.Load[*Config](t, NewFactory(), name)
}

func TestLoadConfig(t *testing.T) {
	cfg, err := loadConfig(t, "defaults")
	require.NoError(t, err)
	assert.Equal(t, "./data/insights.duckdb", cfg.Path)
	assert.Equal(t, "512MB", cfg.MemoryLimit)
	assert.Equal(t, 400*24*time.Hour, cfg.Retention)
	assert.Equal(t, "UTC", cfg.Timezone)
	assert.Equal(t, 1_000_000, cfg.DedupWindow)
	assert.False(t, cfg.QueryAPI.HasValue(), "the query API is off until configured")

	cfg, err = loadConfig(t, "full")
	require.NoError(t, err)
	assert.Equal(t, "2GB", cfg.MemoryLimit)
	assert.Equal(t, 2, cfg.Threads)
	assert.Equal(t, 100*24*time.Hour, cfg.Retention)
	assert.Equal(t, 6*time.Hour, cfg.MaintenanceInterval)
	assert.Equal(t, "Europe/Berlin", cfg.Timezone)
	assert.Equal(t, 250_000, cfg.DedupWindow)
	api := cfg.QueryAPI.Get()
	require.NotNil(t, api)
	assert.Equal(t, "0.0.0.0:4321", api.ServerConfig.NetAddr.Endpoint)
	assert.Equal(t, 10, api.KAnonymity)
	require.Len(t, api.Tokens, 3)
	assert.Equal(t, "admin", api.Tokens[1].Role)
	assert.Equal(t, []string{"group:default/payments"}, api.Tokens[2].Teams)
	assert.Equal(t, ROIConfig{TemplateRunMinutes: 30, UseTemplateTimeSaved: true, SearchSuccessMinutes: 3, TechDocsViewMinutes: 5,
		HourlyCost: 95, PlatformCostPerMonth: 40000, Currency: "EUR"}, api.ROI, "the defaults kept where not set")
	require.Len(t, api.CustomMetrics, 2)
	assert.Equal(t, queryapi.Step{Event: "backstage.create", Attributes: map[string]string{"backstage.attributes.templateSteps": "3"}}, api.CustomMetrics[1].Filter)

	cfg, err = loadConfig(t, "no_api")
	require.NoError(t, err)
	assert.False(t, cfg.QueryAPI.HasValue())
}

func TestConfigErrors(t *testing.T) {
	_, err := loadConfig(t, "bad")
	require.Error(t, err)
	for _, want := range []string{"path must be set", `memory_limit "lots"`, "threads must not be negative", "retention must be at least 24h",
		"maintenance_interval must be at least 1m", `timezone "Mars/Olympus_Mons"`, "dedup_window must be at least 100000", "query_api: endpoint must be set", "tokens[0]: name must be set",
		"tokens[0] (): token must have at least 16", `unknown role "king"`, `the name "twin" is used twice`,
		"tokens[2] (twin): the same token", "k_anonymity must be at least 1", "tokens[3] (lead-without-teams): a team_lead needs teams",
		"tokens[4] (viewer-with-teams): only a team_lead has teams", `team "payments" must be a group ref`,
		"roi: hourly_cost must not be negative", `roi: currency "euro"`,
		`query_api: custom_metrics[0] (docs_readers): aggregation: unknown aggregation "distinct_user"`} {
		assert.ErrorContains(t, err, want)
	}
	_, err = loadConfig(t, "api_without_tokens")
	assert.ErrorContains(t, err, "list at least one token")
}
