package backstagereceiver

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/confmap"

	"github.com/insights-collector/insights-collector/internal/componentconfigtest"
)

func loadConfig(t *testing.T, name string) (*Config, error) {
	return componentconfigtest.Load[*Config](t, NewFactory(), name)
}

func TestLoadConfig(t *testing.T) {
	cfg, err := loadConfig(t, "defaults_with_token")
	require.NoError(t, err)
	assert.Equal(t, "localhost:4320", cfg.NetAddr.Endpoint)
	assert.Equal(t, Formats{OTLP: true, Events: true, Segment: true}, cfg.Formats)
	assert.Equal(t, 2500, cfg.MaxEventsPerRequest)
	assert.Equal(t, 7*24*time.Hour, cfg.MaxEventAge)
	assert.Equal(t, 5*time.Minute, cfg.MaxClockSkew)
	assert.Equal(t, 5*time.Second, cfg.RetryAfter)

	cfg, err = loadConfig(t, "full")
	require.NoError(t, err)
	assert.Equal(t, "0.0.0.0:4320", cfg.NetAddr.Endpoint)
	assert.Equal(t, "portal-eu", cfg.Instance)
	assert.Equal(t, int64(1048576), cfg.MaxRequestBodySize)
	assert.Equal(t, []string{"https://backstage.example.com"}, cfg.CORS.Get().AllowedOrigins)
	require.Len(t, cfg.Credentials, 4)
	assert.Equal(t, "portal-us", cfg.Credentials[1].Instance)
	assert.Equal(t, "backstage", cfg.Credentials[2].Username)
	assert.Equal(t, "segment-write-key", string(cfg.Credentials[3].WriteKey))
	assert.Equal(t, Formats{OTLP: true, Events: true}, cfg.Formats)
	assert.Equal(t, 500, cfg.MaxEventsPerRequest)
	assert.Equal(t, 8, cfg.MaxConcurrentRequests)
	assert.Equal(t, 48*time.Hour, cfg.MaxEventAge)
	assert.Equal(t, time.Minute, cfg.MaxClockSkew)
	assert.Equal(t, 10*time.Second, cfg.RetryAfter)

	cfg, err = loadConfig(t, "anonymous")
	require.NoError(t, err)
	assert.True(t, cfg.AllowAnonymous)
}

func TestConfigValidationErrors(t *testing.T) {
	tests := []struct {
		name string
		want []string
	}{
		{"no_credentials", []string{"no credentials"}},
		{"short_token", []string{"credentials[0]: bearer_token must have at least 8 characters"}},
		{"two_kinds", []string{"credentials[0]: set exactly one of"}},
		{"half_basic", []string{"credentials[0]: username and password must both be set"}},
		{"duplicate", []string{"credentials[1]: the same secret as credentials[0]"}},
		{"no_formats", []string{"enable at least one of otlp, events, segment"}},
		{"bad_limits", []string{"max_events_per_request must be at least 1", "max_concurrent_requests must be at least 1",
			"max_event_age must be positive", "max_clock_skew must not be negative", "retry_after must be at least 1s",
			"wait_for_sync needs catalog"}},
		{"no_endpoint", []string{"endpoint must be set"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadConfig(t, tt.name)
			require.Error(t, err)
			for _, want := range tt.want {
				assert.ErrorContains(t, err, want)
			}
		})
	}
}

func TestSecretsAreNotPrinted(t *testing.T) {
	cfg, err := loadConfig(t, "full")
	require.NoError(t, err)
	conf := confmap.New()
	require.NoError(t, conf.Marshal(cfg))
	out := conf.ToStringMap()
	assert.NotContains(t, stringify(out), "frontend-token-1234")
	assert.NotContains(t, stringify(out), "s3cret-password")
	assert.NotContains(t, stringify(out), "segment-write-key")
	assert.Contains(t, stringify(out), "[REDACTED]")
}

func stringify(v any) string { return fmt.Sprintf("%v", v) }
