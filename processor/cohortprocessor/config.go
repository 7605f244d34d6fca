package cohortprocessor

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"time"

	"go.opentelemetry.io/collector/component"
)

// Config is the cohort processor's configuration.
type Config struct {
	// Experiments run from the configuration; ExperimentsFile adds those of a YAML file ({experiments: [...]}),
	// read again when it changes (checked every ReloadInterval) and swapped in only once it validates. A
	// missing file is no experiments, until it appears.
	Experiments     []Experiment  `mapstructure:"experiments"`
	ExperimentsFile string        `mapstructure:"experiments_file"`
	ReloadInterval  time.Duration `mapstructure:"reload_interval"`
	// Holdout is the share of users kept out of every experiment (a global holdout, to measure what the
	// experiments do together).
	Holdout float64 `mapstructure:"holdout"`
	// Storage names a storage extension that remembers exposures (one exposure event per user and experiment,
	// across restarts) and each experiment's variants and weights (to refuse unsafe reweighting).
	Storage         *component.ID `mapstructure:"storage"`
	PersistInterval time.Duration `mapstructure:"persist_interval"`
}

// Experiment is one A/B (or A/B/n) experiment.
type Experiment struct {
	Key string `mapstructure:"key"`
	// Seed of the hash (default: the key): GrowthBook's v2 hash of the seed and the user's pseudonym.
	Seed     string    `mapstructure:"seed"`
	Variants []Variant `mapstructure:"variants"`
	// Traffic is the share of users in the experiment (GrowthBook's coverage; default 1).
	Traffic *float64 `mapstructure:"traffic"`
	// Start and End bound the experiment (RFC 3339; either may be empty); outside them it tags nothing.
	Start     string    `mapstructure:"start"`
	End       string    `mapstructure:"end"`
	Targeting Targeting `mapstructure:"targeting"`
	// Reassign allows changing the variants or weights of a started experiment: users are assigned afresh (and
	// exposed again). Without it such a change is refused, since moving users silently corrupts the results.
	Reassign bool `mapstructure:"reassign"`
}

// Variant is one arm of an experiment; the first is the control.
type Variant struct {
	Key    string  `mapstructure:"key"`
	Weight float64 `mapstructure:"weight"`
}

// Targeting restricts an experiment; every non-empty condition must hold.
type Targeting struct {
	Teams      []string         `mapstructure:"teams"`     // the user is in one of these groups (backstage.user.teams)
	Plugins    []string         `mapstructure:"plugins"`   // the event is in one of these plugins
	Instances  []string         `mapstructure:"instances"` // the event comes from one of these portals
	Attributes []AttributeMatch `mapstructure:"attributes"`
}

// AttributeMatch is a condition on an event attribute: equal to Equals, or one of In.
type AttributeMatch struct {
	Key    string   `mapstructure:"key"`
	Equals string   `mapstructure:"equals"`
	In     []string `mapstructure:"in"`
}

var keyPattern = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$`)

// Validate checks the configuration's own experiments (a file's are checked when it is read).
func (c *Config) Validate() error {
	errs := validateExperiments(c.Experiments)
	if c.Holdout < 0 || c.Holdout >= 1 {
		errs = append(errs, fmt.Errorf("holdout %v: want a share in [0, 1)", c.Holdout))
	}
	if c.ExperimentsFile != "" && c.ReloadInterval <= 0 {
		errs = append(errs, errors.New("reload_interval must be positive"))
	}
	if c.PersistInterval <= 0 {
		errs = append(errs, errors.New("persist_interval must be positive"))
	}
	return errors.Join(errs...)
}

func validateExperiments(exps []Experiment) []error {
	var errs []error
	keys := map[string]bool{}
	for i, e := range exps {
		where := fmt.Sprintf("experiments[%d] %s", i, e.Key)
		if !keyPattern.MatchString(e.Key) {
			errs = append(errs, fmt.Errorf("experiments[%d]: key %q: want letters, digits, '.', '_' or '-'", i, e.Key))
		}
		if keys[e.Key] {
			errs = append(errs, fmt.Errorf("%s: the key appears twice", where))
		}
		keys[e.Key] = true
		if len(e.Variants) < 2 {
			errs = append(errs, fmt.Errorf("%s: at least two variants (the first is the control)", where))
		}
		sum, variants := 0.0, map[string]bool{}
		for _, v := range e.Variants {
			if v.Key == "" || variants[v.Key] {
				errs = append(errs, fmt.Errorf("%s: variant keys must be set and distinct", where))
			}
			variants[v.Key] = true
			if v.Weight <= 0 {
				errs = append(errs, fmt.Errorf("%s: variant %s: weight %v must be positive", where, v.Key, v.Weight))
			}
			sum += v.Weight
		}
		if len(e.Variants) > 0 && math.Abs(sum-1) > 1e-9 {
			errs = append(errs, fmt.Errorf("%s: the weights add up to %v, not 1", where, sum))
		}
		if e.Traffic != nil && (*e.Traffic <= 0 || *e.Traffic > 1) {
			errs = append(errs, fmt.Errorf("%s: traffic %v: want a share in (0, 1]", where, *e.Traffic))
		}
		start, end, err := e.window()
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", where, err))
		} else if !start.IsZero() && !end.IsZero() && !end.After(start) {
			errs = append(errs, fmt.Errorf("%s: end %s is not after start %s", where, e.End, e.Start))
		}
		for j, a := range e.Targeting.Attributes {
			if a.Key == "" || (a.Equals == "") == (len(a.In) == 0) {
				errs = append(errs, fmt.Errorf("%s: targeting.attributes[%d]: a key and exactly one of equals and in", where, j))
			}
		}
	}
	return errs
}

// window parses the experiment's start and end (zero when not set).
func (e *Experiment) window() (start, end time.Time, err error) {
	for _, b := range []struct {
		s   string
		dst *time.Time
	}{{e.Start, &start}, {e.End, &end}} {
		if b.s == "" {
			continue
		}
		if *b.dst, err = time.Parse(time.RFC3339, b.s); err != nil {
			return start, end, fmt.Errorf("%q is not an RFC 3339 time", b.s)
		}
	}
	return start, end, nil
}
