package sessionizationprocessor

import (
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/collector/component"
)

// Config is the sessionization processor's configuration.
type Config struct {
	// InactivityGap ends a session after this long without an event of its user.
	InactivityGap time.Duration `mapstructure:"inactivity_gap"`
	// MaxDuration ends a session this long after it began.
	MaxDuration time.Duration `mapstructure:"max_duration"`
	// SplitAtMidnight ends sessions at midnight in Timezone (Mixpanel's definition).
	SplitAtMidnight bool   `mapstructure:"split_at_midnight"`
	Timezone        string `mapstructure:"timezone"`
	// TrustClientSessions keeps the session ids clients send (Backstage's Generic module sends one per browser
	// session); off, the processor's sessions win and a client's id is kept in insights.session.client_id.
	TrustClientSessions bool `mapstructure:"trust_client_sessions"`
	// AllowedLateness: an event older than its user's latest by at most this much joins the session its time
	// falls in; an older one is stamped from a session that is still known, or flagged late.
	AllowedLateness time.Duration `mapstructure:"allowed_lateness"`
	// MaxActiveSessions bounds memory; at the limit the least recently active sessions are closed.
	MaxActiveSessions int `mapstructure:"max_active_sessions"`
	// CheckInterval is how often sessions whose gap elapsed are closed.
	CheckInterval time.Duration `mapstructure:"check_interval"`
	// Storage names a storage extension (e.g. file_storage) that keeps open sessions across restarts; without
	// it, sessions are ended when the collector stops.
	Storage *component.ID `mapstructure:"storage"`
	// PersistInterval is how often changed sessions are written to Storage (and at shutdown).
	PersistInterval time.Duration `mapstructure:"persist_interval"`
}

// Validate checks the configuration.
func (c *Config) Validate() error {
	var errs []error
	for _, d := range []struct {
		name  string
		value time.Duration
	}{{"inactivity_gap", c.InactivityGap}, {"max_duration", c.MaxDuration}, {"check_interval", c.CheckInterval}, {"persist_interval", c.PersistInterval}} {
		if d.value <= 0 {
			errs = append(errs, fmt.Errorf("%s must be positive", d.name))
		}
	}
	if c.MaxDuration > 0 && c.InactivityGap > c.MaxDuration {
		errs = append(errs, errors.New("inactivity_gap must not exceed max_duration"))
	}
	if c.AllowedLateness < 0 {
		errs = append(errs, errors.New("allowed_lateness must not be negative"))
	}
	if c.MaxActiveSessions < 1 {
		errs = append(errs, errors.New("max_active_sessions must be at least 1"))
	}
	if _, err := time.LoadLocation(c.Timezone); err != nil {
		errs = append(errs, fmt.Errorf("timezone %q: %w", c.Timezone, err))
	}
	return errors.Join(errs...)
}
