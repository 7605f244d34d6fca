package cohortprocessor

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/insights-collector/insights-collector/internal/growthbook"
	"github.com/insights-collector/insights-collector/internal/semconv"
)

// hashVersion is GrowthBook's unbiased hash, the default of its current experiments.
const hashVersion = 2

// holdoutSeed seeds the global holdout's hash.
const holdoutSeed = "__insights_holdout"

// experiment is an experiment ready to assign users.
type experiment struct {
	Experiment
	seed        string
	variants    []string
	ranges      []growthbook.Range
	start, end  int64 // Unix ms; 0: open
	fingerprint string
	assigned    map[string]string // user → variant: the processor's exposures of this experiment
}

func compile(e Experiment) *experiment {
	c := &experiment{Experiment: e, seed: e.Seed}
	if c.seed == "" {
		c.seed = e.Key
	}
	weights := make([]float64, len(e.Variants))
	for i, v := range e.Variants {
		c.variants = append(c.variants, v.Key)
		weights[i] = v.Weight
	}
	traffic := 1.0
	if e.Traffic != nil {
		traffic = *e.Traffic
	}
	c.ranges = growthbook.BucketRanges(weights, traffic)
	start, end, _ := e.window() // Validate parsed them
	if !start.IsZero() {
		c.start = start.UnixMilli()
	}
	if !end.IsZero() {
		c.end = end.UnixMilli()
	}
	c.fingerprint = fingerprint(e)
	return c
}

// fingerprint is what assigns users to variants: the seed, the variants, their weights and the traffic. A
// started experiment whose fingerprint changes moves users between variants.
func fingerprint(e Experiment) string {
	var b strings.Builder
	seed := e.Seed
	if seed == "" {
		seed = e.Key
	}
	b.WriteString(seed)
	for _, v := range e.Variants {
		fmt.Fprintf(&b, "|%s=%s", v.Key, strconv.FormatFloat(v.Weight, 'g', -1, 64))
	}
	if e.Traffic != nil {
		fmt.Fprintf(&b, "|traffic=%s", strconv.FormatFloat(*e.Traffic, 'g', -1, 64))
	}
	return b.String()
}

// weight returns a variant's weight.
func (e *experiment) weight(variant string) float64 {
	for _, v := range e.Variants {
		if v.Key == variant {
			return v.Weight
		}
	}
	return 0
}

func (e *experiment) running(ts int64) bool {
	return (e.start == 0 || ts >= e.start) && (e.end == 0 || ts < e.end)
}

// assign returns the variant of a user, or "" when the user is outside the traffic share.
func (e *experiment) assign(user string) string {
	n, _ := growthbook.Hash(e.seed, user, hashVersion)
	if i := growthbook.ChooseVariation(n, e.ranges); i >= 0 {
		return e.variants[i]
	}
	return ""
}

// targets says whether the experiment applies to an event of its user.
func (e *experiment) targets(attrs, resource pcommon.Map) bool {
	t := &e.Targeting
	if len(t.Plugins) > 0 && !slices.Contains(t.Plugins, str(attrs, semconv.AttrPluginID)) {
		return false
	}
	if len(t.Instances) > 0 && !slices.Contains(t.Instances, str(resource, semconv.ResourceInstance)) {
		return false
	}
	if len(t.Teams) > 0 && !inAnyTeam(attrs, t.Teams) {
		return false
	}
	for _, a := range t.Attributes {
		v := str(attrs, a.Key)
		if a.Equals != "" && v != a.Equals || len(a.In) > 0 && !slices.Contains(a.In, v) {
			return false
		}
	}
	return true
}

func inAnyTeam(attrs pcommon.Map, teams []string) bool {
	v, ok := attrs.Get(semconv.AttrUserTeams)
	if !ok || v.Type() != pcommon.ValueTypeSlice {
		return false
	}
	for _, team := range v.Slice().All() {
		if slices.Contains(teams, team.AsString()) {
			return true
		}
	}
	return false
}

func str(m pcommon.Map, key string) string {
	if v, ok := m.Get(key); ok {
		return v.AsString()
	}
	return ""
}
