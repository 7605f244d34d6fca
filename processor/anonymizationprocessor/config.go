package anonymizationprocessor

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"time"

	"go.opentelemetry.io/collector/config/configopaque"

	"github.com/insights-collector/insights-collector/internal/pseudonym"
	"github.com/insights-collector/insights-collector/internal/semconv"
)

// Modes.
const (
	// ModeStrict refuses a configuration that would let a direct identifier (a user id, an IP address) through.
	ModeStrict = "strict"
	// ModePermissive allows `keep` for them: for a pipeline whose destinations may hold plain ids.
	ModePermissive = "permissive"
)

// Actions of field rules and policies.
const (
	ActionHash       = "hash"       // the keyed pseudonym of the value
	ActionRedact     = "redact"     // the value replaced by RedactedValue
	ActionDrop       = "drop"       // the attribute removed
	ActionKeep       = "keep"       // left as it is: no default treatment, no scrubbing
	ActionScrub      = "scrub"      // e-mail addresses, secrets, user refs and query strings taken out of the text
	ActionTruncate   = "truncate"   // IP addresses: IPv4 to /24, IPv6 to /48
	ActionGeneralize = "generalize" // user agents: browser family, major version and OS family
)

// RedactedValue replaces a redacted value.
const RedactedValue = "[redacted]"

// Config is the anonymization processor's configuration.
type Config struct {
	// Mode is strict (the default) or permissive.
	Mode string `mapstructure:"mode"`
	// Keys are the HMAC keys, at least 32 bytes each; ActiveKey names the one that makes pseudonyms (optional
	// with a single key). Older keys stay listed after a rotation so their pseudonyms are recognised.
	Keys      []KeyConfig `mapstructure:"keys"`
	ActiveKey string      `mapstructure:"active_key"`
	// KeyFile holds the key when Keys is empty; a key is generated into it on the first start. Keep it with the
	// data it pseudonymised: a new key makes every returning user a new user.
	KeyFile string `mapstructure:"key_file"`
	// ClientAddress is truncate (the default), drop or keep; for client.address and network.peer.address.
	ClientAddress string `mapstructure:"client_address"`
	// UserAgent is generalize (the default), drop or keep.
	UserAgent string `mapstructure:"user_agent"`
	// SearchTerms is scrub (the default), keep, hash or drop.
	SearchTerms string `mapstructure:"search_terms"`
	// FreeText is scrub (the default) or keep: subjects, URLs and the events' own attributes, context and audit
	// meta.
	FreeText string `mapstructure:"free_text"`
	// AllowedQueryParams are the query parameters kept in URLs and navigate subjects; every other parameter,
	// and the fragment, is removed.
	AllowedQueryParams []string `mapstructure:"allowed_query_params"`
	// KeepTraits are the traits of Segment identify calls that are kept; the others are dropped.
	KeepTraits []string `mapstructure:"keep_traits"`
	// Rules apply to attributes by name or pattern before the defaults; the first that matches wins.
	Rules []Rule `mapstructure:"rules"`
	// Consent drops the events of users who opted out.
	Consent ConsentConfig `mapstructure:"consent"`
}

// KeyConfig is one HMAC key.
type KeyConfig struct {
	ID     string              `mapstructure:"id"`
	Secret configopaque.String `mapstructure:"secret"`
}

// Rule is a field rule: an attribute named exactly (Attribute) or whose name matches a regular expression
// (Pattern), and what to do with its value.
type Rule struct {
	Name      string `mapstructure:"name"` // in the self-metrics; the attribute or pattern when empty
	Attribute string `mapstructure:"attribute"`
	Pattern   string `mapstructure:"pattern"`
	Action    string `mapstructure:"action"` // hash, redact, drop or keep
}

// ConsentConfig is the opt-out list.
type ConsentConfig struct {
	// OptOutFile lists users who opted out, one per line: a user ref (or any user id) or a pseudonym; blank
	// lines and lines starting with # are ignored. It is read again when it changes.
	OptOutFile string `mapstructure:"opt_out_file"`
	// ReloadInterval is how often the file is checked for changes.
	ReloadInterval time.Duration `mapstructure:"reload_interval"`
}

// identityAttributes directly identify a person: strict mode refuses to keep them.
var identityAttributes = []string{semconv.AttrUserID, semconv.AttrEnduserPseudoID, attrEnduserID, semconv.AttrClientAddress, attrPeerAddress}

// Validate checks the configuration.
func (c *Config) Validate() error {
	var errs []error
	if c.Mode != ModeStrict && c.Mode != ModePermissive {
		errs = append(errs, fmt.Errorf("mode %q: want %s or %s", c.Mode, ModeStrict, ModePermissive))
	}
	errs = append(errs, c.validateKeys()...)
	for _, p := range []struct {
		name, value string
		allowed     []string
	}{
		{"client_address", c.ClientAddress, []string{ActionTruncate, ActionDrop, ActionKeep}},
		{"user_agent", c.UserAgent, []string{ActionGeneralize, ActionDrop, ActionKeep}},
		{"search_terms", c.SearchTerms, []string{ActionScrub, ActionKeep, ActionHash, ActionDrop}},
		{"free_text", c.FreeText, []string{ActionScrub, ActionKeep}},
	} {
		if !slices.Contains(p.allowed, p.value) {
			errs = append(errs, fmt.Errorf("%s %q: want one of %v", p.name, p.value, p.allowed))
		}
	}
	for i, r := range c.Rules {
		for _, err := range r.validate() {
			errs = append(errs, fmt.Errorf("rules[%d]: %w", i, err))
		}
	}
	if c.Consent.OptOutFile != "" && c.Consent.ReloadInterval <= 0 {
		errs = append(errs, errors.New("consent.reload_interval must be positive"))
	}
	if c.Mode == ModeStrict {
		errs = append(errs, c.strictErrors()...)
	}
	return errors.Join(errs...)
}

func (c *Config) validateKeys() []error {
	if len(c.Keys) == 0 {
		if c.KeyFile == "" {
			return []error{errors.New("set keys (with secrets of at least 32 bytes) or key_file")}
		}
		return nil
	}
	var errs []error
	seen := map[string]bool{}
	for i, k := range c.Keys {
		if err := pseudonym.ValidateKey(pseudonym.Key{ID: k.ID, Secret: []byte(k.Secret)}); err != nil {
			errs = append(errs, fmt.Errorf("keys[%d]: %w", i, err))
		}
		if seen[k.ID] {
			errs = append(errs, fmt.Errorf("keys[%d]: id %q appears twice", i, k.ID))
		}
		seen[k.ID] = true
	}
	switch {
	case c.ActiveKey == "" && len(c.Keys) > 1:
		errs = append(errs, errors.New("active_key: name the key that makes pseudonyms (there are several)"))
	case c.ActiveKey != "" && !seen[c.ActiveKey]:
		errs = append(errs, fmt.Errorf("active_key %q is not among the keys", c.ActiveKey))
	}
	return errs
}

// strictErrors are the settings that would let a direct identifier through.
func (c *Config) strictErrors() []error {
	var errs []error
	if c.ClientAddress == ActionKeep {
		errs = append(errs, errors.New("client_address: keep passes IP addresses on: not allowed in strict mode"))
	}
	for i, r := range c.Rules {
		if r.Action != ActionKeep {
			continue
		}
		for _, attr := range identityAttributes {
			if r.matches(attr) {
				errs = append(errs, fmt.Errorf("rules[%d]: keep on %s passes a direct identifier on: not allowed in strict mode", i, attr))
			}
		}
	}
	return errs
}

// keyring builds the keyring from the configured keys, or from the key file (generating it on the first start).
func (c *Config) keyring() (*pseudonym.Keyring, error) {
	if len(c.Keys) == 0 {
		key, err := pseudonym.LoadOrCreateKeyFile(c.KeyFile)
		if err != nil {
			return nil, err
		}
		return pseudonym.NewKeyring([]pseudonym.Key{key}, key.ID)
	}
	keys := make([]pseudonym.Key, len(c.Keys))
	for i, k := range c.Keys {
		keys[i] = pseudonym.Key{ID: k.ID, Secret: []byte(k.Secret)}
	}
	active := c.ActiveKey
	if active == "" {
		active = c.Keys[0].ID
	}
	return pseudonym.NewKeyring(keys, active)
}

func (r *Rule) validate() []error {
	var errs []error
	if (r.Attribute == "") == (r.Pattern == "") {
		errs = append(errs, errors.New("set exactly one of attribute and pattern"))
	}
	if r.Pattern != "" {
		if _, err := regexp.Compile(r.Pattern); err != nil {
			errs = append(errs, fmt.Errorf("pattern: %w", err))
		}
	}
	if !slices.Contains([]string{ActionHash, ActionRedact, ActionDrop, ActionKeep}, r.Action) {
		errs = append(errs, fmt.Errorf("action %q: want hash, redact, drop or keep", r.Action))
	}
	return errs
}

// matches says whether the rule applies to an attribute (the pattern is compiled again: Validate only).
func (r *Rule) matches(attr string) bool {
	if r.Attribute != "" {
		return r.Attribute == attr
	}
	re, err := regexp.Compile(r.Pattern)
	return err == nil && re.MatchString(attr)
}
