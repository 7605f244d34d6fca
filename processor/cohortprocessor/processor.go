package cohortprocessor

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor"
	"go.uber.org/zap"
	"go.yaml.in/yaml/v3"

	"github.com/insights-collector/insights-collector/internal/componentstate"
	"github.com/insights-collector/insights-collector/internal/growthbook"
	"github.com/insights-collector/insights-collector/internal/periodic"
	"github.com/insights-collector/insights-collector/internal/semconv"
	"github.com/insights-collector/insights-collector/processor/cohortprocessor/internal/metadata"
)

// Storage keys: a user's exposure to an experiment (value: the variant), and an experiment's fingerprint.
const (
	exposurePrefix   = "exposure/"
	experimentPrefix = "experiment/"
)

// eventIDNamespace makes the insights.event.id of an exposure from its experiment and user: emitted again (a
// crash before the exposure was persisted), it is stored once.
var eventIDNamespace = uuid.MustParse("2f6d9a4e-1b3c-4e5f-8a7b-9c0d1e2f3a4b")

type tagger struct {
	cfg    *Config
	id     component.ID
	logger *zap.Logger
	now    func() time.Time

	mu           sync.Mutex
	experiments  []*experiment
	exposed      map[string]map[string]string // experiment → user → variant: the sticky assignments
	fingerprints map[string]string            // experiment → the fingerprint users were assigned under
	changes      map[string][]byte            // storage keys changed since the last write (nil: deleted)
	store        *componentstate.Store
	fileMod      time.Time
	fileSize     int64

	jobs *periodic.Runner
}

func newProcessor(cfg *Config, set processor.Settings) *tagger {
	return &tagger{
		cfg: cfg, id: set.ID, logger: set.Logger, now: time.Now,
		exposed: map[string]map[string]string{}, fingerprints: map[string]string{}, changes: map[string][]byte{},
	}
}

func (p *tagger) start(ctx context.Context, host component.Host) error {
	if p.cfg.Storage != nil {
		store, err := componentstate.Open(ctx, host, *p.cfg.Storage, p.id, component.KindProcessor, "cohorts")
		if err != nil {
			return err
		}
		p.store = store
		if err := p.load(ctx); err != nil {
			return err
		}
	}
	if err := p.reload(true); err != nil {
		return err
	}
	jobs := []periodic.Job{{Every: p.cfg.PersistInterval, Run: p.persist, Failure: "Could not persist the exposures"}}
	if p.cfg.ExperimentsFile != "" {
		jobs = append(jobs, periodic.Job{Every: p.cfg.ReloadInterval, Run: func(context.Context) error { return p.reload(false) },
			Failure: "Kept the running experiments: the experiments file could not be applied"})
	}
	p.jobs = periodic.Start(p.logger, jobs...)
	return nil
}

func (p *tagger) shutdown(ctx context.Context) error {
	p.jobs.Stop()
	if p.store == nil {
		return nil
	}
	return errors.Join(p.persist(ctx), p.store.Close(ctx))
}

func (p *tagger) load(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	err := p.store.Load(ctx, exposurePrefix, func(key string, value []byte) error {
		exp, user, ok := strings.Cut(key, "/")
		if !ok {
			return errors.New("malformed key")
		}
		p.exposures(exp)[user] = string(value)
		return nil
	})
	if err != nil {
		return err
	}
	return p.store.Load(ctx, experimentPrefix, func(key string, value []byte) error {
		p.fingerprints[key] = string(value)
		return nil
	})
}

func (p *tagger) exposures(exp string) map[string]string {
	if p.exposed[exp] == nil {
		p.exposed[exp] = map[string]string{}
	}
	return p.exposed[exp]
}

// reload applies the configured experiments and those of the file: at start always, later when the file
// changed. A file that does not validate, or that reweights a started experiment without reassign, is refused
// and the running experiments stay.
func (p *tagger) reload(force bool) error {
	exps := p.cfg.Experiments
	if path := p.cfg.ExperimentsFile; path != "" {
		info, err := os.Stat(path)
		switch {
		case errors.Is(err, fs.ErrNotExist): // no file (yet): the configured experiments only
			if !force && p.fileSize < 0 {
				return nil
			}
			p.fileMod, p.fileSize = time.Time{}, -1
		case err != nil:
			return fmt.Errorf("experiments file %q: %w", path, err)
		case !force && info.ModTime().Equal(p.fileMod) && info.Size() == p.fileSize:
			return nil
		default:
			fromFile, err := readExperiments(path)
			if err != nil {
				return err
			}
			exps = append(append([]Experiment{}, exps...), fromFile...)
			p.fileMod, p.fileSize = info.ModTime(), info.Size()
		}
	}
	if err := errors.Join(validateExperiments(exps)...); err != nil {
		return fmt.Errorf("experiments: %w", err)
	}
	if err := p.apply(exps, p.now().UnixMilli()); err != nil {
		return err
	}
	if !force {
		p.logger.Info("Applied the experiments file", zap.Int("experiments", len(exps)))
	}
	return nil
}

// readExperiments reads a YAML file {experiments: [...]} with the collector's own decoding.
func readExperiments(path string) ([]Experiment, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read experiments file %q: %w", path, err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("experiments file %q: %w", path, err)
	}
	var file struct {
		Experiments []Experiment `mapstructure:"experiments"`
	}
	if err := confmap.NewFromStringMap(doc).Unmarshal(&file); err != nil {
		return nil, fmt.Errorf("experiments file %q: %w", path, err)
	}
	return file.Experiments, nil
}

// apply swaps in a validated set of experiments, refusing to move the users of a started experiment unless it
// says reassign.
func (p *tagger) apply(exps []Experiment, now int64) error {
	compiled := make([]*experiment, len(exps))
	for i, e := range exps {
		compiled[i] = compile(e)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, e := range compiled {
		before, known := p.fingerprints[e.Key]
		started := e.start == 0 || now >= e.start
		if known && before != e.fingerprint && started && !e.Reassign {
			return fmt.Errorf("experiment %s has started: changing its seed, variants, weights or traffic would move users "+
				"between variants and corrupt its results; set reassign: true to assign everyone afresh", e.Key)
		}
	}
	for _, e := range compiled {
		if before, known := p.fingerprints[e.Key]; known && before != e.fingerprint {
			for user := range p.exposed[e.Key] { // assigned afresh, exposed again
				p.record(exposurePrefix+e.Key+"/"+user, nil)
			}
			delete(p.exposed, e.Key)
		}
		p.fingerprints[e.Key] = e.fingerprint
		p.record(experimentPrefix+e.Key, []byte(e.fingerprint))
		e.assigned = p.exposures(e.Key)
	}
	p.experiments = compiled
	return nil
}

// record notes a change of the stored state, to be written at the next persist; without storage there is
// nothing to write, and nothing is kept. The caller holds p.mu.
func (p *tagger) record(key string, value []byte) {
	if p.store != nil {
		p.changes[key] = value
	}
}

func (p *tagger) persist(ctx context.Context) error {
	if p.store == nil {
		return nil
	}
	p.mu.Lock()
	changes := p.changes
	p.changes = map[string][]byte{}
	p.mu.Unlock()
	return p.store.Write(ctx, "", changes)
}

// tag is an experiment an event is in, and the user's variant.
type tag struct{ experiment, variant string }

// exposure is a user's first event in an experiment.
type exposure struct {
	resource         pcommon.Resource
	experiment, user string
	variant          string
	weight           float64
	ts               pcommon.Timestamp
	userAttr         uint8
}

func (p *tagger) processLogs(_ context.Context, ld plog.Logs) (plog.Logs, error) {
	var exposures []exposure
	p.mu.Lock()
	for _, rl := range ld.ResourceLogs().All() {
		for _, sl := range rl.ScopeLogs().All() {
			for _, lr := range sl.LogRecords().All() {
				if !strings.HasPrefix(lr.EventName(), semconv.EventNamePrefix) {
					continue // tag what users do, not what the pipeline derives
				}
				exposures = p.tag(lr, rl.Resource(), exposures)
			}
		}
	}
	p.mu.Unlock()
	appendExposures(ld, exposures)
	return ld, nil
}

// tag adds the user's running experiments to an event; the caller holds p.mu.
func (p *tagger) tag(lr plog.LogRecord, resource pcommon.Resource, exposures []exposure) []exposure {
	attrs := lr.Attributes()
	user, userAttr := semconv.UserKey(attrs)
	if user == "" || len(p.experiments) == 0 {
		return exposures
	}
	if p.cfg.Holdout > 0 {
		if n, _ := growthbook.Hash(holdoutSeed, user, hashVersion); n < p.cfg.Holdout {
			return exposures
		}
	}
	ts := lr.Timestamp()
	if ts == 0 {
		ts = lr.ObservedTimestamp()
	}
	ms := ts.AsTime().UnixMilli()
	var tags [8]tag // most events are in a few experiments: no allocation for the list
	assigned := tags[:0]
	for _, e := range p.experiments {
		if !e.running(ms) || !e.targets(attrs, resource.Attributes()) {
			continue
		}
		variant, exposed := e.assigned[user]
		if !exposed {
			if variant = e.assign(user); variant == "" {
				continue
			}
			e.assigned[user] = variant
			p.record(exposurePrefix+e.Key+"/"+user, []byte(variant))
			exposures = append(exposures, exposure{resource, e.Key, user, variant, e.weight(variant), ts, userAttr})
		}
		assigned = append(assigned, tag{e.Key, variant})
	}
	if len(assigned) == 0 {
		return exposures
	}
	// One map, keyed by experiment (the feature_flag.key), of variants: a user can be in several experiments.
	variants := attrs.PutEmptyMap(semconv.AttrFeatureFlagVariant)
	variants.EnsureCapacity(len(assigned))
	for _, t := range assigned {
		variants.PutStr(t.experiment, t.variant)
	}
	return exposures
}

// appendExposures adds a feature_flag.evaluation event per exposure, under the resource of the event that
// exposed the user.
func appendExposures(ld plog.Logs, exposures []exposure) {
	for _, x := range exposures {
		rl := ld.ResourceLogs().AppendEmpty()
		x.resource.Attributes().CopyTo(rl.Resource().Attributes())
		sl := rl.ScopeLogs().AppendEmpty()
		sl.Scope().SetName(metadata.ScopeName)
		lr := sl.LogRecords().AppendEmpty()
		lr.SetEventName(semconv.EventFeatureFlagEvaluation)
		lr.SetTimestamp(x.ts)
		attrs := lr.Attributes()
		attrs.PutStr(semconv.AttrEventID, uuid.NewSHA1(eventIDNamespace, []byte(x.experiment+"/"+x.user)).String())
		attrs.PutStr(semconv.UserKeyAttributes[x.userAttr], x.user)
		attrs.PutStr(semconv.AttrFeatureFlagKey, x.experiment)
		attrs.PutStr(semconv.AttrFeatureFlagVariant, x.variant)
		attrs.PutDouble(semconv.AttrFeatureFlagWeight, x.weight)
	}
}
