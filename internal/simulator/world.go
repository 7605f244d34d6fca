// Package simulator generates deterministic Backstage traffic: users in teams, a catalog with templates and
// TechDocs, and sessions of real-looking journeys (navigate, click, search, discover, create, not-found) with
// power-law activity, working hours, weekdays, session gaps and users who join over time. The same seed gives
// the same events on every machine, so the demo, the tests and the benchmarks can count on them.
package simulator

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/insights-collector/insights-collector/internal/growthbook"
)

// Config sizes the simulated organisation and the period it is simulated over.
type Config struct {
	Seed      uint64
	Users     int
	Teams     int
	Entities  int // catalog components (plus an API for every third one)
	Templates int
	// Start is the first simulated day (its date in Location counts); Days is how many days follow.
	Start time.Time
	Days  int
	// NewUserShare is the share of users who join during the period rather than before it.
	NewUserShare float64
	// Location is the users' time zone: working hours and weekends follow it.
	Location *time.Location
	// Intensity scales how often users come (1 is a typical portal: ~3 events per user and day; the store
	// benchmark's 10 million events over 90 days for 2,000 users needs about 16).
	Intensity float64
	// Experiment, when set, makes people behave differently by variant: a true effect for the experiment
	// results to find.
	Experiment *Experiment
	// Scenarios plant behaviours for the analytics to find (none by default).
	Scenarios Scenarios
}

// Scenarios are behaviours the advanced analytics should detect.
type Scenarios struct {
	// Collapse makes a plugin's usage collapse on a day.
	Collapse *Collapse
	// GrowingTeam is the rank in World.Teams (1: the first) of a team whose members join one by one over the
	// period, none before it; 0: none.
	GrowingTeam int
	// OnboardingDropOff is the share of new users who leave for good after the first step of their onboarding
	// (the getting-started docs), never reaching the catalog.
	OnboardingDropOff float64
}

// Collapse: from day Day (an index into the period) on, only Share of the uses of Plugin still happen; the
// sessions that would have used it are shorter.
type Collapse struct {
	Plugin string
	Day    int
	Share  float64
}

// Experiment assigns users to variants as the cohort processor does (GrowthBook's v2 hash of the seed and the
// user ref, variants laid out by weight), and gives some variants an effect: a session of one of their users
// ends with a template run with that extra probability.
type Experiment struct {
	Seed     string
	Variants []string
	Weights  []float64
	Effects  map[string]float64
}

// variantOf returns a user's variant.
func (e *Experiment) variantOf(userRef string) string {
	n, _ := growthbook.Hash(e.Seed, userRef, 2)
	if i := growthbook.ChooseVariation(n, growthbook.BucketRanges(e.Weights, 1)); i >= 0 {
		return e.Variants[i]
	}
	return ""
}

// DefaultConfig is a mid-sized organisation: 200 users in 12 teams, 150 components, 12 templates.
func DefaultConfig() Config {
	return Config{Seed: 1, Users: 200, Teams: 12, Entities: 150, Templates: 12, Days: 30, NewUserShare: 0.3, Location: time.UTC, Intensity: 1}
}

// Validate checks the sizes.
func (c Config) Validate() error {
	switch {
	case c.Users < 1:
		return fmt.Errorf("users must be at least 1, not %d", c.Users)
	case c.Teams < 1 || c.Teams > c.Users:
		return fmt.Errorf("teams must be between 1 and the number of users (%d), not %d", c.Users, c.Teams)
	case c.Entities < 3:
		return fmt.Errorf("entities must be at least 3, not %d", c.Entities)
	case c.Templates < 1:
		return fmt.Errorf("templates must be at least 1, not %d", c.Templates)
	case c.Days < 1:
		return fmt.Errorf("days must be at least 1, not %d", c.Days)
	case c.NewUserShare < 0 || c.NewUserShare > 1:
		return fmt.Errorf("new user share must be between 0 and 1, not %v", c.NewUserShare)
	case c.Intensity <= 0:
		return fmt.Errorf("intensity must be positive, not %v", c.Intensity)
	}
	return c.Scenarios.validate(c)
}

func (s Scenarios) validate(c Config) error {
	if col := s.Collapse; col != nil {
		switch {
		case !slices.Contains(activityPlugins[:], col.Plugin):
			return fmt.Errorf("collapse: unknown plugin %q (one of %v)", col.Plugin, activityPlugins)
		case col.Day < 0 || col.Day >= c.Days:
			return fmt.Errorf("collapse: the day must be within the %d simulated days, not %d", c.Days, col.Day)
		case col.Share < 0 || col.Share > 1:
			return fmt.Errorf("collapse: the share must be between 0 and 1, not %v", col.Share)
		}
	}
	switch {
	case s.GrowingTeam < 0 || s.GrowingTeam > c.Teams:
		return fmt.Errorf("growing team: the rank must be between 1 and the number of teams (%d), not %d", c.Teams, s.GrowingTeam)
	case s.OnboardingDropOff < 0 || s.OnboardingDropOff > 1:
		return fmt.Errorf("onboarding drop-off must be between 0 and 1, not %v", s.OnboardingDropOff)
	}
	return nil
}

// User is a simulated person.
type User struct {
	Ref   string   // user:default/<name>
	Teams []string // group refs
	// JoinDay is the first day (index into the period) the user is active; 0 for users who were there before.
	JoinDay int
	// activity is the probability of being active on a weekday: a power law over users.
	activity float64
	// affinity weighs the activities of the user's sessions (plugins they favour).
	affinity [numActivities]float64
	// effect is the extra probability of a template run per session (the experiment's effect on the user).
	effect float64
	// dropsOut: a new user who leaves during their first session, for good (Scenarios.OnboardingDropOff).
	dropsOut bool
}

// Entity is a catalog entity.
type Entity struct {
	Kind, Name string
	Owner      string // group ref
	HasDocs    bool
}

// Ref returns the entity ref.
func (e Entity) Ref() string { return e.Kind + ":default/" + e.Name }

// Template is a scaffolder template.
type Template struct {
	Name         string
	Steps        int
	MinutesSaved float64
}

// SearchTerm is something users search for; ZeroResults of them find nothing.
type SearchTerm struct {
	Term        string
	ZeroResults bool
}

// World is the simulated organisation. It is immutable once built; Day can be called from any goroutine.
type World struct {
	cfg       Config
	start     time.Time // midnight of the first day in cfg.Location
	Users     []User
	Teams     []string // the groups users are members of
	Groups    []Group  // the teams and the groups above them
	Entities  []Entity
	Templates []Template
	Terms     []SearchTerm

	entityPick, templatePick, termPick, docPick *zipf
	docs                                        []int // indexes of entities with TechDocs
}

// NewWorld builds the organisation of a config.
func NewWorld(cfg Config) (*World, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Location == nil {
		cfg.Location = time.UTC
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x5eed))
	w := &World{cfg: cfg}
	y, m, d := cfg.Start.In(cfg.Location).Date()
	w.start = time.Date(y, m, d, 0, 0, 0, 0, cfg.Location)

	for _, name := range uniqueNames(rng, cfg.Teams, "-", teamWords, teamSuffixes) {
		w.Teams = append(w.Teams, "group:default/"+name)
	}
	for i, name := range uniqueNames(rng, cfg.Entities, "-", serviceWords, serviceKinds) {
		w.Entities = append(w.Entities, Entity{Kind: "component", Name: name, Owner: w.Teams[rng.IntN(len(w.Teams))], HasDocs: rng.Float64() < 0.6})
		if i%3 == 0 {
			w.Entities = append(w.Entities, Entity{Kind: "api", Name: name + "-api", Owner: w.Entities[len(w.Entities)-1].Owner})
		}
	}
	for i := range w.Entities {
		if w.Entities[i].HasDocs {
			w.docs = append(w.docs, i)
		}
	}
	if len(w.docs) == 0 {
		w.Entities[0].HasDocs, w.docs = true, []int{0}
	}
	for _, name := range uniqueNames(rng, cfg.Templates, "-", templateWords, []string{"template"}) {
		w.Templates = append(w.Templates, Template{
			Name:         name,
			Steps:        2 + rng.IntN(6),
			MinutesSaved: float64(15 * (1 + rng.IntN(16))),
		})
	}
	for _, term := range uniqueNames(rng, 300, " ", searchWords, searchQualifiers) {
		w.Terms = append(w.Terms, SearchTerm{
			Term:        term,
			ZeroResults: rng.Float64() < 0.12,
		})
	}
	w.entityPick = newZipf(len(w.Entities), 1.1)
	w.templatePick = newZipf(len(w.Templates), 1.2)
	w.termPick = newZipf(len(w.Terms), 1.05)
	w.docPick = newZipf(len(w.docs), 1.1)
	w.buildUsers(rng)
	w.buildGroups()
	return w, nil
}

func (w *World) buildUsers(rng *rand.Rand) {
	n := w.cfg.Users
	// Team sizes follow a power law: a few large teams, many small ones.
	teamPick := newZipf(len(w.Teams), 0.8)
	ranks := rng.Perm(n)
	for i, name := range uniqueNames(rng, n, ".", firstNames, lastNames) {
		u := User{Ref: "user:default/" + name}
		u.Teams = []string{w.Teams[teamPick.pick(rng)]}
		if rng.Float64() < 0.15 { // some people are in a second team
			if other := w.Teams[rng.IntN(len(w.Teams))]; other != u.Teams[0] {
				u.Teams = append(u.Teams, other)
			}
		}
		// Daily activity is a power law over users: a handful use the portal every day, most now and then.
		u.activity = math.Min(0.95, 0.95*math.Pow(float64(ranks[i]+1), -0.4))
		if rng.Float64() < w.cfg.NewUserShare && w.cfg.Days > 1 {
			u.JoinDay = 1 + rng.IntN(w.cfg.Days-1)
		}
		for a := range u.affinity {
			u.affinity[a] = activityWeights[a] * (0.3 + 1.4*rng.Float64())
		}
		if e := w.cfg.Experiment; e != nil {
			u.effect = e.Effects[e.variantOf(u.Ref)]
		}
		if share := w.cfg.Scenarios.OnboardingDropOff; share > 0 && u.JoinDay > 0 { // no draw without the scenario
			u.dropsOut = rng.Float64() < share
		}
		w.Users = append(w.Users, u)
	}
	if rank := w.cfg.Scenarios.GrowingTeam; rank > 0 && w.cfg.Days > 1 {
		w.growTeam(w.Teams[rank-1])
	}
}

// growTeam makes a team's members (by their first team) join one by one, evenly over the period.
func (w *World) growTeam(team string) {
	var members []int
	for i, u := range w.Users {
		if u.Teams[0] == team {
			members = append(members, i)
		}
	}
	for k, i := range members {
		w.Users[i].JoinDay = 1 + k*(w.cfg.Days-1)/len(members)
		w.Users[i].dropsOut = false
	}
}

// uniqueNames draws n distinct names "<first><sep><second>" from two word lists, in random order; once the
// combinations are used up, names repeat with a numeric suffix ("-2", "-3", …).
func uniqueNames(rng *rand.Rand, n int, sep string, first, second []string) []string {
	combos := len(first) * len(second)
	order := rng.Perm(combos)
	names := make([]string, n)
	for i := range names {
		c := order[i%combos]
		names[i] = first[c/len(second)]
		if w := second[c%len(second)]; w != "" {
			names[i] += sep + w
		}
		if round := i / combos; round > 0 {
			names[i] += fmt.Sprintf("-%d", round+1)
		}
	}
	return names
}

// zipf picks ranks 0..n-1 with probability proportional to 1/(rank+1)^s.
type zipf struct{ cdf []float64 }

func newZipf(n int, s float64) *zipf {
	z := &zipf{cdf: make([]float64, n)}
	sum := 0.0
	for i := range n {
		sum += 1 / math.Pow(float64(i+1), s)
		z.cdf[i] = sum
	}
	for i := range z.cdf {
		z.cdf[i] /= sum
	}
	return z
}

func (z *zipf) pick(rng *rand.Rand) int {
	u := rng.Float64()
	lo, hi := 0, len(z.cdf)-1
	for lo < hi {
		mid := (lo + hi) / 2
		if z.cdf[mid] < u {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

var (
	teamWords        = []string{"platform", "payments", "checkout", "search", "identity", "data", "mobile", "growth", "infra", "security", "billing", "catalog", "media", "ml", "observability", "devex"}
	teamSuffixes     = []string{"team", "squad", "guild"}
	serviceWords     = []string{"orders", "payments", "checkout", "inventory", "shipping", "accounts", "profile", "search", "recommendations", "pricing", "catalog", "reviews", "notifications", "auth", "ledger", "invoices", "reports", "gateway", "media", "analytics", "fraud", "loyalty", "cart", "tax"}
	serviceKinds     = []string{"service", "api", "web", "worker", "frontend", "backend", "db"}
	templateWords    = []string{"go-service", "react-app", "python-lib", "kafka-consumer", "terraform-module", "java-service", "node-service", "docs-site", "data-pipeline", "ml-model", "grpc-api", "cron-job"}
	searchQualifiers = []string{"", "docs", "guide", "setup", "error", "dashboard", "owner", "example", "config", "alerts"}
	searchWords      = []string{"kafka", "oncall", "deploy", "terraform", "payments", "auth", "helm", "grafana", "runbook", "postgres", "api guidelines", "onboarding", "ci", "secrets", "vault", "kubernetes", "rate limit", "feature flags", "sla", "incident", "logging", "tracing", "golden path", "cost", "release", "migration", "schema", "graphql", "s3", "redis"}
	firstNames       = []string{"alex", "sam", "jo", "kim", "lee", "max", "ana", "ben", "cleo", "dan", "eva", "finn", "gus", "hana", "ida", "jan", "kai", "lina", "mo", "nia", "otto", "pia", "quinn", "rosa", "tom", "uma", "vic", "wen", "xia", "yara", "zoe"}
	lastNames        = []string{"smith", "jones", "garcia", "muller", "rossi", "kowalski", "nguyen", "kim", "silva", "dubois", "jansen", "berg", "costa", "novak", "haddad", "sato", "okafor", "larsen", "ivanova", "moreau"}
)
