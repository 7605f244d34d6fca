package cohortprocessor

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor/processortest"
	"go.uber.org/goleak"

	"github.com/insights-collector/insights-collector/internal/componentstate/componentstatetest"
	"github.com/insights-collector/insights-collector/internal/growthbook"
	"github.com/insights-collector/insights-collector/internal/semconv"
	"github.com/insights-collector/insights-collector/processor/cohortprocessor/internal/metadata"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var t0 = time.Date(2026, 11, 10, 9, 0, 0, 0, time.UTC)

func half(key string) Experiment {
	return Experiment{Key: key, Variants: []Variant{{"control", 0.5}, {"treatment", 0.5}}}
}

func start(t *testing.T, cfg *Config, host component.Host) *tagger {
	t.Helper()
	require.NoError(t, cfg.Validate())
	p := newProcessor(cfg, processortest.NewNopSettings(metadata.Type))
	p.now = func() time.Time { return t0 }
	require.NoError(t, p.start(context.Background(), host))
	t.Cleanup(func() { require.NoError(t, p.shutdown(context.Background())) })
	return p
}

func testConfig(exps ...Experiment) *Config {
	cfg := createDefaultConfig().(*Config)
	cfg.Experiments = exps
	return cfg
}

type ev struct {
	user, plugin string
	teams        []string
	at           time.Duration
	attrs        map[string]any
}

func batch(instance string, events ...ev) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr(semconv.ResourceInstance, instance)
	records := rl.ScopeLogs().AppendEmpty().LogRecords()
	for _, e := range events {
		lr := records.AppendEmpty()
		lr.SetEventName("backstage.navigate")
		lr.SetTimestamp(pcommon.NewTimestampFromTime(t0.Add(e.at)))
		attrs := lr.Attributes()
		_ = attrs.FromRaw(e.attrs)
		attrs.PutStr(semconv.AttrUserHash, e.user)
		if e.plugin != "" {
			attrs.PutStr(semconv.AttrPluginID, e.plugin)
		}
		if len(e.teams) > 0 {
			teams := attrs.PutEmptySlice(semconv.AttrUserTeams)
			for _, team := range e.teams {
				teams.AppendEmpty().SetStr(team)
			}
		}
	}
	return ld
}

// result is what came out: each event's experiment → variant, and the exposures (experiment/user → variant).
type result struct {
	tags      []map[string]any
	exposures map[string]string
}

func (p *tagger) run(t *testing.T, ld plog.Logs) result {
	t.Helper()
	out, err := p.processLogs(context.Background(), ld)
	require.NoError(t, err)
	r := result{exposures: map[string]string{}}
	for _, rl := range out.ResourceLogs().All() {
		for _, sl := range rl.ScopeLogs().All() {
			for _, lr := range sl.LogRecords().All() {
				a := lr.Attributes().AsRaw()
				if lr.EventName() == semconv.EventFeatureFlagEvaluation {
					r.exposures[fmt.Sprint(a[semconv.AttrFeatureFlagKey], "/", a[semconv.AttrUserHash])] = a[semconv.AttrFeatureFlagVariant].(string)
					continue
				}
				tags, _ := a[semconv.AttrFeatureFlagVariant].(map[string]any)
				r.tags = append(r.tags, tags)
			}
		}
	}
	return r
}

// Assignments are GrowthBook's: the same variant a GrowthBook SDK computes from the seed and the pseudonym,
// spread by the weights within 1% over 100,000 users.
func TestAssignmentIsGrowthBooks(t *testing.T) {
	exp := Experiment{Key: "new-home", Seed: "home-2026", Variants: []Variant{{"control", 0.6}, {"a", 0.3}, {"b", 0.1}}}
	p := start(t, testConfig(exp), componenttest.NewNopHost())
	const n = 100_000
	counts := map[string]int{}
	for round := range n / 1000 {
		events := make([]ev, 1000)
		for i := range events {
			events[i] = ev{user: fmt.Sprintf("k1.user%06d", round*1000+i)}
		}
		r := p.run(t, batch("portal", events...))
		require.Len(t, r.exposures, 1000, "one exposure per new user")
		for i, tags := range r.tags {
			variant := tags["new-home"].(string)
			counts[variant]++
			if i%97 == 0 {
				h, _ := growthbook.Hash("home-2026", events[i].user, 2)
				want := []string{"control", "a", "b"}[growthbook.ChooseVariation(h, growthbook.BucketRanges([]float64{0.6, 0.3, 0.1}, 1))]
				assert.Equal(t, want, variant, events[i].user)
			}
		}
	}
	for variant, w := range map[string]float64{"control": 0.6, "a": 0.3, "b": 0.1} {
		assert.InDelta(t, w, float64(counts[variant])/n, 0.01, variant)
	}
}

func TestTargetingWindowsTrafficAndHoldout(t *testing.T) {
	traffic := 0.5
	p := start(t, testConfig(
		Experiment{Key: "teams", Variants: half("").Variants, Targeting: Targeting{Teams: []string{"group:default/platform"}}},
		Experiment{Key: "plugin", Variants: half("").Variants, Targeting: Targeting{Plugins: []string{"catalog"}}},
		Experiment{Key: "instance", Variants: half("").Variants, Targeting: Targeting{Instances: []string{"portal-eu"}}},
		Experiment{Key: "attr", Variants: half("").Variants, Targeting: Targeting{Attributes: []AttributeMatch{{Key: "backstage.route_ref", Equals: "home"}}}},
		Experiment{Key: "window", Variants: half("").Variants, Start: "2026-11-10T10:00:00Z", End: "2026-11-10T11:00:00Z"},
		Experiment{Key: "traffic", Variants: half("").Variants, Traffic: &traffic},
	), componenttest.NewNopHost())
	r := p.run(t, batch("portal-eu",
		ev{user: "k1.ana", teams: []string{"group:default/platform"}, plugin: "catalog", attrs: map[string]any{"backstage.route_ref": "home"}, at: 30 * time.Minute},
		ev{user: "k1.ana", plugin: "techdocs", at: 90 * time.Minute},
		ev{user: "k1.ana", at: 150 * time.Minute},
	))
	has := func(i int, key string) bool { _, ok := r.tags[i][key]; return ok }
	assert.True(t, has(0, "teams") && has(0, "plugin") && has(0, "instance") && has(0, "attr"))
	assert.False(t, has(0, "window"), "before its start")
	assert.True(t, has(1, "window"))
	assert.False(t, has(1, "plugin"), "another plugin")
	assert.False(t, has(1, "teams"), "no team on the event")
	assert.False(t, has(2, "window"), "after its end")

	inTraffic := 0
	for i := range 1000 {
		if tags := p.run(t, batch("x", ev{user: fmt.Sprintf("k1.u%d", i)})).tags[0]; tags["traffic"] != nil {
			inTraffic++
		}
	}
	assert.InDelta(t, 500, inTraffic, 50, "half the users are in a 50% traffic share")

	held := start(t, func() *Config { c := testConfig(half("exp")); c.Holdout = 0.2; return c }(), componenttest.NewNopHost())
	tagged := 0
	for i := range 1000 {
		if tags := held.run(t, batch("x", ev{user: fmt.Sprintf("k1.u%d", i)})).tags[0]; tags["exp"] != nil {
			tagged++
		}
	}
	assert.InDelta(t, 800, tagged, 40, "a 20% holdout")
}

// The same users keep their variants across a restart and a reload, and are exposed once; reweighting a
// started experiment is refused unless it says reassign.
func TestStickyAcrossRestartsAndReloads(t *testing.T) {
	h, storageID := componentstatetest.FileStorage(t)
	file := filepath.Join(t.TempDir(), "experiments.yaml")
	write := func(weights string, reassign bool) {
		require.NoError(t, os.WriteFile(file, fmt.Appendf(nil, `experiments:
  - key: onboarding
    variants: [{key: control, weight: %s}, {key: guided, weight: %s}]
    reassign: %v
`, weights, map[string]string{"0.5": "0.5", "0.2": "0.8"}[weights], reassign), 0o600))
	}
	write("0.5", false)
	cfg := testConfig(half("home"))
	cfg.ExperimentsFile, cfg.Storage = file, &storageID

	users := []ev{{user: "k1.ana"}, {user: "k1.bo"}, {user: "k1.cy"}}
	first := newProcessor(cfg, processortest.NewNopSettings(metadata.Type))
	first.now = func() time.Time { return t0 }
	require.NoError(t, first.start(context.Background(), h))
	before := first.run(t, batch("x", users...))
	require.Len(t, before.exposures, 6)
	require.NoError(t, first.shutdown(context.Background()))

	second := start(t, cfg, h)
	after := second.run(t, batch("x", users...))
	assert.Equal(t, before.tags, after.tags, "the same variants after a restart")
	assert.Empty(t, after.exposures, "exposed once, across the restart")

	write("0.2", false) // a started experiment reweighted: refused, the running one stays
	assert.ErrorContains(t, second.reload(false), "experiment onboarding has started")
	assert.Equal(t, before.tags, second.run(t, batch("x", users...)).tags)

	write("0.2", true) // with reassign: everyone is assigned afresh, and exposed again
	require.NoError(t, second.reload(false))
	again := second.run(t, batch("x", users...))
	assert.Len(t, again.exposures, 3, "the reassigned experiment's users are exposed again")
	for key := range again.exposures {
		assert.Contains(t, key, "onboarding/")
	}
}

// A missing experiments file is no experiments, until it appears; a file that does not validate is refused.
func TestExperimentsFileAppears(t *testing.T) {
	file := filepath.Join(t.TempDir(), "experiments.yaml")
	cfg := testConfig()
	cfg.ExperimentsFile = file
	p := start(t, cfg, componenttest.NewNopHost())
	assert.Empty(t, p.run(t, batch("x", ev{user: "k1.ana"})).tags[0])

	require.NoError(t, os.WriteFile(file, []byte("experiments:\n  - key: home\n    variants: [{key: a, weight: 0.5}, {key: b, weight: 0.4}]\n"), 0o600))
	assert.ErrorContains(t, p.reload(false), "the weights add up to 0.9, not 1")
	require.NoError(t, os.WriteFile(file, []byte("experiments:\n  - key: home\n    variants: [{key: a, weight: 0.5}, {key: b, weight: 0.5}]\n"), 0o600))
	require.NoError(t, p.reload(false))
	assert.Contains(t, p.run(t, batch("x", ev{user: "k1.ana"})).tags[0], "home")

	require.NoError(t, os.Remove(file))
	require.NoError(t, p.reload(false))
	assert.Empty(t, p.run(t, batch("x", ev{user: "k1.ana"})).tags[0], "the file's experiments are gone with it")
}

// Without storage nothing is kept for writing: exposures do not pile up as pending changes.
func TestNoStorageKeepsNoChanges(t *testing.T) {
	p := start(t, testConfig(half("home")), componenttest.NewNopHost())
	for i := range 100 {
		p.run(t, batch("x", ev{user: fmt.Sprintf("k1.u%d", i)}))
	}
	assert.Empty(t, p.changes)
}
