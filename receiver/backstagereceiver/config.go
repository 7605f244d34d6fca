package backstagereceiver

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configopaque"
)

// Config of the Backstage receiver.
type Config struct {
	// ServerConfig: endpoint, tls, cors, auth (an authenticator extension), max_request_body_size,
	// compression_algorithms, include_metadata, timeouts.
	confighttp.ServerConfig `mapstructure:",squash"`

	// Credentials accepted from senders. A request must present one of them unless AllowAnonymous is set or
	// an authenticator extension (`auth`) already vouched for it.
	Credentials []Credential `mapstructure:"credentials"`
	// AllowAnonymous accepts requests without credentials. Off by default: analytics events are personal data.
	AllowAnonymous bool `mapstructure:"allow_anonymous"`

	// Instance is the backstage.instance of events whose sender names none (companies with several portals).
	Instance string `mapstructure:"instance"`
	// Formats turns the endpoints of each wire format on or off.
	Formats Formats `mapstructure:"formats"`

	// MaxEventsPerRequest is the longest batch accepted; a longer one is refused whole with 413.
	MaxEventsPerRequest int `mapstructure:"max_events_per_request"`
	// MaxConcurrentRequests bounds the requests decoded at once; beyond it the receiver answers 429.
	MaxConcurrentRequests int `mapstructure:"max_concurrent_requests"`
	// MaxEventAge and MaxClockSkew form the clock-skew window: a payload time older than MaxEventAge, or later
	// than MaxClockSkew, is replaced by the time the event was received (and flagged).
	MaxEventAge  time.Duration `mapstructure:"max_event_age"`
	MaxClockSkew time.Duration `mapstructure:"max_clock_skew"`
	// RetryAfter is what a refused request is told to wait (Retry-After) when the pipeline refuses data.
	RetryAfter time.Duration `mapstructure:"retry_after"`
	// Catalog names a backstage_catalog extension: each event of a user it knows gets the user's groups in
	// backstage.user.teams, unless the sender sent them (the Generic module's teamMetadata).
	Catalog *component.ID `mapstructure:"catalog"`
	// CatalogTeams chooses those groups.
	CatalogTeams CatalogTeams `mapstructure:"catalog_teams"`
}

// CatalogTeams chooses which of a user's groups are the user's teams.
type CatalogTeams struct {
	// Ancestors adds the parents of the user's groups, up to the root.
	Ancestors bool `mapstructure:"ancestors"`
	// Types keeps only groups of these types (spec.type, e.g. team); all when empty.
	Types []string `mapstructure:"types"`
	// WaitForSync holds the receiver's start until the catalog's first sync, for at most this long, so that
	// no event goes without teams while the catalog is reachable; 0 starts at once (events get teams from the
	// first sync on).
	WaitForSync time.Duration `mapstructure:"wait_for_sync"`
}

// maxWaitForSync bounds catalog_teams.wait_for_sync: the collector is not ready while it waits.
const maxWaitForSync = 10 * time.Minute

// Credential is one secret a sender may present: a bearer token, a username and password (HTTP Basic, as the
// Generic HTTP analytics module sends), or a Segment write key (Basic with the key as username, or writeKey in
// the body).
type Credential struct {
	BearerToken configopaque.String `mapstructure:"bearer_token"`
	Username    string              `mapstructure:"username"`
	Password    configopaque.String `mapstructure:"password"`
	WriteKey    configopaque.String `mapstructure:"write_key"`
	// Instance, when set, is the backstage.instance of every event sent with this credential, whatever the
	// payload says: the credential identifies the portal.
	Instance string `mapstructure:"instance"`
}

// Formats enables the endpoints of each wire format.
type Formats struct {
	// OTLP: POST /v1/logs (OTLP/HTTP logs: Backstage events and audit events).
	OTLP bool `mapstructure:"otlp"`
	// Events: POST /v1/events (JSON arrays of Backstage AnalyticsEvents, bare or in the Generic envelope).
	Events bool `mapstructure:"events"`
	// Segment: POST /v1/batch, /v1/track, /v1/page, /v1/screen, /v1/identify, /v1/group (and analytics.js's
	// short forms /v1/b, /v1/t, /v1/p, /v1/s, /v1/i, /v1/g).
	Segment bool `mapstructure:"segment"`
}

const minBearerTokenLength = 8 // Backstage's own minimum for static external-access tokens

// Validate checks the configuration.
func (cfg *Config) Validate() error {
	var errs []error
	if cfg.NetAddr.Endpoint == "" {
		errs = append(errs, errors.New("endpoint must be set, e.g. localhost:4320"))
	}
	if !cfg.Formats.OTLP && !cfg.Formats.Events && !cfg.Formats.Segment {
		errs = append(errs, errors.New("formats: enable at least one of otlp, events, segment"))
	}
	if len(cfg.Credentials) == 0 && !cfg.AllowAnonymous && !cfg.Auth.HasValue() {
		errs = append(errs, errors.New("no credentials: list credentials, configure an auth extension, or set allow_anonymous: true"))
	}
	seen := map[string]int{}
	for i, c := range cfg.Credentials {
		if err := c.validate(); err != nil {
			errs = append(errs, fmt.Errorf("credentials[%d]: %w", i, err))
			continue
		}
		key := c.key()
		if j, dup := seen[key]; dup {
			errs = append(errs, fmt.Errorf("credentials[%d]: the same secret as credentials[%d]", i, j))
		}
		seen[key] = i
	}
	if cfg.MaxEventsPerRequest < 1 {
		errs = append(errs, errors.New("max_events_per_request must be at least 1"))
	}
	if cfg.MaxConcurrentRequests < 1 {
		errs = append(errs, errors.New("max_concurrent_requests must be at least 1"))
	}
	if cfg.MaxEventAge <= 0 {
		errs = append(errs, errors.New("max_event_age must be positive"))
	}
	if cfg.MaxClockSkew < 0 {
		errs = append(errs, errors.New("max_clock_skew must not be negative"))
	}
	if cfg.RetryAfter < time.Second {
		errs = append(errs, errors.New("retry_after must be at least 1s (Retry-After counts whole seconds)"))
	}
	switch w := cfg.CatalogTeams.WaitForSync; {
	case w < 0 || w > maxWaitForSync:
		errs = append(errs, fmt.Errorf("catalog_teams: wait_for_sync must be between 0 and %s", maxWaitForSync))
	case w > 0 && cfg.Catalog == nil:
		errs = append(errs, errors.New("catalog_teams: wait_for_sync needs catalog (a backstage_catalog extension)"))
	}
	return errors.Join(errs...)
}

func (c *Credential) validate() error {
	kinds := 0
	if c.BearerToken != "" {
		kinds++
		if len(c.BearerToken) < minBearerTokenLength || strings.ContainsAny(string(c.BearerToken), " \t\r\n") {
			return fmt.Errorf("bearer_token must have at least %d characters and no white space", minBearerTokenLength)
		}
	}
	if c.Username != "" || c.Password != "" {
		kinds++
		if c.Username == "" || c.Password == "" || strings.Contains(c.Username, ":") {
			return errors.New("username and password must both be set, and the username must not contain ':'")
		}
	}
	if c.WriteKey != "" {
		kinds++
	}
	if kinds != 1 {
		return errors.New("set exactly one of bearer_token, username/password, write_key")
	}
	return nil
}

// key identifies the credential's secret, to find duplicates.
func (c *Credential) key() string {
	return string(c.BearerToken) + "\x00" + c.Username + "\x00" + string(c.Password) + "\x00" + string(c.WriteKey)
}
