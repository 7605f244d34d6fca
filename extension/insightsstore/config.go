package insightsstore

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configoptional"

	"github.com/insights-collector/insights-collector/extension/insightsstore/internal/queryapi"
)

// Config of the embedded analytics store.
type Config struct {
	// Path of the DuckDB file (created with its directory if missing). One collector process owns it.
	Path string `mapstructure:"path"`
	// MemoryLimit bounds DuckDB's memory (e.g. 512MB, 2GB).
	MemoryLimit string `mapstructure:"memory_limit"`
	// Threads DuckDB may use; 0 means one per core.
	Threads int `mapstructure:"threads"`
	// Retention is how long data is kept; the maintenance job deletes anything older.
	Retention time.Duration `mapstructure:"retention"`
	// MaintenanceInterval is how often retention, rollup compaction and a checkpoint run.
	MaintenanceInterval time.Duration `mapstructure:"maintenance_interval"`
	// Timezone (IANA) cuts the days of the daily rollups: dashboards asking for days, weeks or months in this
	// zone read the rollups; other zones are answered from the events, more slowly. Set it to the zone your
	// dashboards use. Changing it rebuilds the rollups at the next start.
	Timezone string `mapstructure:"timezone"`
	// DedupWindow is how many of the most recently stored event ids each write is checked against, so that a
	// redelivered event is stored once (about 40 bytes of memory each).
	DedupWindow int `mapstructure:"dedup_window"`
	// QueryAPI serves the metrics over HTTP; `query_api: {enabled: false}` turns it off.
	QueryAPI configoptional.Optional[QueryAPIConfig] `mapstructure:"query_api"`
	// Catalog names a backstage_catalog extension whose groups fill the teams table (team metrics).
	Catalog *component.ID `mapstructure:"catalog"`
}

// QueryAPIConfig configures the HTTP query API.
type QueryAPIConfig struct {
	ServerConfig confighttp.ServerConfig `mapstructure:",squash"`
	// Tokens are the bearer tokens that may use the API, each with a name (for the audit log) and a role.
	Tokens []TokenConfig `mapstructure:"tokens"`
	// KAnonymity withholds breakdown rows that cover fewer users than this.
	KAnonymity int `mapstructure:"k_anonymity"`
	// ROI is the value model of the roi metric.
	ROI ROIConfig `mapstructure:"roi"`
	// CustomMetrics are metrics of your own: events matching a filter, aggregated, listed and queried like the
	// built-in ones.
	CustomMetrics []queryapi.CustomMetric `mapstructure:"custom_metrics"`
}

// ROIConfig is what the platform's uses are worth (the roi metric).
type ROIConfig struct {
	// TemplateRunMinutes is saved by a template run whose template has no backstage.io/time-saved annotation.
	TemplateRunMinutes float64 `mapstructure:"template_run_minutes"`
	// UseTemplateTimeSaved takes a run's minutes from its template's annotation where it has one.
	UseTemplateTimeSaved bool `mapstructure:"use_template_time_saved"`
	// SearchSuccessMinutes is saved by a search whose result is clicked.
	SearchSuccessMinutes float64 `mapstructure:"search_success_minutes"`
	// TechDocsViewMinutes is saved by a TechDocs page view.
	TechDocsViewMinutes float64 `mapstructure:"techdocs_view_minutes"`
	// HourlyCost is an engineer's hour; PlatformCostPerMonth the platform's cost (people, hosting). Without
	// them, the roi metric gives hours saved only.
	HourlyCost           float64 `mapstructure:"hourly_cost"`
	PlatformCostPerMonth float64 `mapstructure:"platform_cost_per_month"`
	// Currency is the ISO 4217 code of the costs (default USD).
	Currency string `mapstructure:"currency"`
}

var currencyPattern = regexp.MustCompile(`^[A-Z]{3}$`)

func (r ROIConfig) validate() error {
	var errs []error
	for name, v := range map[string]float64{"template_run_minutes": r.TemplateRunMinutes, "search_success_minutes": r.SearchSuccessMinutes,
		"techdocs_view_minutes": r.TechDocsViewMinutes, "hourly_cost": r.HourlyCost, "platform_cost_per_month": r.PlatformCostPerMonth} {
		if v < 0 {
			errs = append(errs, fmt.Errorf("query_api: roi: %s must not be negative", name))
		}
	}
	if r.Currency != "" && !currencyPattern.MatchString(r.Currency) {
		errs = append(errs, fmt.Errorf("query_api: roi: currency %q must be an ISO 4217 code such as USD or EUR", r.Currency))
	}
	return errors.Join(errs...)
}

func (r ROIConfig) valueModel() queryapi.ValueModel {
	if r.Currency == "" {
		r.Currency = queryapi.DefaultValueModel().Currency
	}
	return queryapi.ValueModel{TemplateRunMinutes: r.TemplateRunMinutes, TemplateTimeSaved: r.UseTemplateTimeSaved,
		SearchSuccessMinutes: r.SearchSuccessMinutes, TechDocsViewMinutes: r.TechDocsViewMinutes, HourlyCost: r.HourlyCost,
		PlatformCostPerMonth: r.PlatformCostPerMonth, Currency: r.Currency}
}

// TokenConfig is one bearer token of the query API.
type TokenConfig struct {
	Name  string              `mapstructure:"name"`
	Token configopaque.String `mapstructure:"token"`
	// Role: team_lead (the team metrics of Teams), viewer (aggregated metrics), analyst (+ raw events) or admin
	// (+ erasure).
	Role string `mapstructure:"role"`
	// Teams are a team lead's teams (group refs such as group:default/payments); the teams below them are included.
	Teams []string `mapstructure:"teams"`
}

var memoryLimitPattern = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)$`)

const (
	minTokenLength = 16
	// minDedupWindow covers a few of the exporter's largest writes, which a crash may make it replay.
	minDedupWindow = 100_000
)

// Validate checks the configuration.
func (cfg *Config) Validate() error {
	var errs []error
	if cfg.Path == "" {
		errs = append(errs, errors.New("path must be set, e.g. ./data/insights.duckdb"))
	}
	if cfg.MemoryLimit != "" && !memoryLimitPattern.MatchString(cfg.MemoryLimit) {
		errs = append(errs, fmt.Errorf("memory_limit %q must be a size such as 512MB or 2GB", cfg.MemoryLimit))
	}
	if cfg.Threads < 0 {
		errs = append(errs, errors.New("threads must not be negative"))
	}
	if cfg.Retention < 24*time.Hour {
		errs = append(errs, errors.New("retention must be at least 24h"))
	}
	if cfg.MaintenanceInterval < time.Minute {
		errs = append(errs, errors.New("maintenance_interval must be at least 1m"))
	}
	if _, err := time.LoadLocation(cfg.Timezone); err != nil || cfg.Timezone == "" || cfg.Timezone == "Local" {
		errs = append(errs, fmt.Errorf("timezone %q must be an IANA time zone such as UTC or Europe/Berlin", cfg.Timezone))
	}
	if cfg.DedupWindow < minDedupWindow {
		errs = append(errs, fmt.Errorf("dedup_window must be at least %d events", minDedupWindow))
	}
	if api := cfg.QueryAPI.Get(); api != nil {
		errs = append(errs, api.validate())
	}
	return errors.Join(errs...)
}

func (api *QueryAPIConfig) validate() error {
	var errs []error
	if api.ServerConfig.NetAddr.Endpoint == "" {
		errs = append(errs, errors.New("query_api: endpoint must be set, e.g. localhost:4321"))
	}
	if len(api.Tokens) == 0 {
		errs = append(errs, errors.New("query_api: list at least one token (or disable the API with enabled: false)"))
	}
	names, secrets := map[string]bool{}, map[string]bool{}
	for i, t := range api.Tokens {
		switch {
		case t.Name == "":
			errs = append(errs, fmt.Errorf("query_api: tokens[%d]: name must be set (it identifies the caller in the audit log)", i))
		case names[t.Name]:
			errs = append(errs, fmt.Errorf("query_api: tokens[%d]: the name %q is used twice", i, t.Name))
		}
		names[t.Name] = true
		if len(t.Token) < minTokenLength {
			errs = append(errs, fmt.Errorf("query_api: tokens[%d] (%s): token must have at least %d characters", i, t.Name, minTokenLength))
		} else if secrets[string(t.Token)] {
			errs = append(errs, fmt.Errorf("query_api: tokens[%d] (%s): the same token as another entry", i, t.Name))
		}
		secrets[string(t.Token)] = true
		role, err := queryapi.ParseRole(t.Role)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("query_api: tokens[%d] (%s): %w", i, t.Name, err))
		case role == queryapi.RoleTeamLead && len(t.Teams) == 0:
			errs = append(errs, fmt.Errorf("query_api: tokens[%d] (%s): a team_lead needs teams (group refs such as group:default/payments)", i, t.Name))
		case role != queryapi.RoleTeamLead && len(t.Teams) > 0:
			errs = append(errs, fmt.Errorf("query_api: tokens[%d] (%s): only a team_lead has teams (a %s sees every team)", i, t.Name, role))
		}
		for _, team := range t.Teams {
			if !strings.HasPrefix(strings.ToLower(team), "group:") {
				errs = append(errs, fmt.Errorf("query_api: tokens[%d] (%s): team %q must be a group ref such as group:default/payments", i, t.Name, team))
			}
		}
	}
	if api.KAnonymity < 1 {
		errs = append(errs, errors.New("query_api: k_anonymity must be at least 1"))
	}
	errs = append(errs, api.ROI.validate())
	if err := queryapi.ValidateCustomMetrics(api.CustomMetrics); err != nil {
		errs = append(errs, fmt.Errorf("query_api: %w", err))
	}
	return errors.Join(errs...)
}

func (api *QueryAPIConfig) tokens() []queryapi.Token {
	out := make([]queryapi.Token, len(api.Tokens))
	for i, t := range api.Tokens {
		role, _ := queryapi.ParseRole(t.Role) // validated
		out[i] = queryapi.Token{Secret: string(t.Token), Principal: queryapi.Principal{Name: t.Name, Role: role, Teams: t.Teams}}
	}
	return out
}
