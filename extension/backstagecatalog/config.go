package backstagecatalog

import (
	"errors"
	"fmt"
	"net/url"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configopaque"
)

// Config is the catalog sync's configuration.
type Config struct {
	// Endpoint is the Backstage backend's base URL (backend.baseUrl); the catalog is read at
	// <endpoint>/api/catalog/entities/by-query.
	Endpoint string `mapstructure:"endpoint"`
	// Token is a static external-access token of the backend (backend.auth.externalAccess, type static) with
	// read access to the catalog plugin, sent as a Bearer token.
	Token configopaque.String `mapstructure:"token"`
	// Interval is how often the catalog is read again; a failed sync is retried sooner, with backoff.
	Interval time.Duration `mapstructure:"interval"`
	// Timeout bounds one page's request.
	Timeout  time.Duration `mapstructure:"timeout"`
	PageSize int           `mapstructure:"page_size"`
	// Storage names a storage extension that keeps the last complete snapshot, so that a restart during a
	// catalog outage still knows the teams.
	Storage *component.ID `mapstructure:"storage"`
}

// Validate checks the configuration.
func (c *Config) Validate() error {
	var errs []error
	if u, err := url.Parse(c.Endpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("endpoint %q: want the Backstage backend's base URL, http(s)://host[:port]", c.Endpoint))
	}
	if len(c.Token) < 8 {
		errs = append(errs, errors.New("token: a static external-access token of at least 8 characters (Backstage's minimum)"))
	}
	if c.Interval <= 0 || c.Timeout <= 0 {
		errs = append(errs, errors.New("interval and timeout must be positive"))
	}
	if c.PageSize < 1 || c.PageSize > 10_000 {
		errs = append(errs, fmt.Errorf("page_size %d: want 1 to 10000", c.PageSize))
	}
	return errors.Join(errs...)
}
