package engagementprocessor

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor"
	"go.uber.org/zap"

	"github.com/insights-collector/insights-collector/internal/componentstate"
	"github.com/insights-collector/insights-collector/internal/periodic"
	"github.com/insights-collector/insights-collector/internal/resourceset"
	"github.com/insights-collector/insights-collector/internal/semconv"
	"github.com/insights-collector/insights-collector/processor/engagementprocessor/internal/metadata"
)

// eventIDNamespace makes the insights.event.id of tier_change events from the user, time and tier.
var eventIDNamespace = uuid.MustParse("8e4b1d2a-3c5f-4a7b-9d0e-6f1a2b3c4d5e")

// backfillLag: when the newest event time lags the clock by more than this while events keep arriving, the
// processor is being fed history, and evaluates dormancy at the history's time rather than the clock's.
const backfillLag = time.Hour

type scorer struct {
	cfg       *Config
	id        component.ID
	logger    *zap.Logger
	next      consumer.Logs
	telemetry *telemetry
	now       func() time.Time
	model     *model
	tiers     []string

	mu          sync.Mutex
	users       map[string]*user
	resources   *resourceset.Set
	watermark   int64 // the newest event time seen (ms)
	lastArrival int64 // when the newest batch arrived (ms, clock)
	dirty       map[string]bool
	store       *componentstate.Store

	jobs *periodic.Runner
}

func newProcessor(cfg *Config, set processor.Settings, next consumer.Logs) (*scorer, error) {
	tel, err := newTelemetry(set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	return &scorer{
		cfg: cfg, id: set.ID, logger: set.Logger, next: next, telemetry: tel, now: time.Now, model: newModel(cfg),
		tiers: cfg.tierNames(), users: map[string]*user{}, resources: resourceset.New(),
	}, nil
}

func (p *scorer) start(ctx context.Context, host component.Host) error {
	if p.cfg.Storage != nil {
		store, err := componentstate.Open(ctx, host, *p.cfg.Storage, p.id, component.KindProcessor, "engagement")
		if err != nil {
			return err
		}
		p.store, p.dirty = store, map[string]bool{}
		p.mu.Lock()
		err = p.load(ctx)
		p.mu.Unlock()
		if err != nil {
			return err
		}
	}
	p.jobs = periodic.Start(p.logger,
		periodic.Job{Every: p.cfg.CheckInterval, Run: p.evaluate, Failure: "Could not pass on the tier changes of inactive users"},
		periodic.Job{Every: p.cfg.PersistInterval, Run: p.persist, Failure: "Could not persist the engagement state"})
	return nil
}

func (p *scorer) shutdown(ctx context.Context) error {
	p.jobs.Stop()
	if p.store == nil {
		return nil
	}
	return errors.Join(p.persist(ctx), p.store.Close(ctx))
}

// tierChange is a user's move from one tier to another.
type tierChange struct {
	key      string
	at       int64
	score    float64
	from, to uint8
	resource uint16
	userAttr uint8
}

func (p *scorer) processLogs(ctx context.Context, ld plog.Logs) (plog.Logs, error) {
	var changes []tierChange
	now := p.now().UnixMilli()
	p.mu.Lock()
	p.lastArrival = now
	for _, rl := range ld.ResourceLogs().All() {
		resource := -1
		for _, sl := range rl.ScopeLogs().All() {
			for _, lr := range sl.LogRecords().All() {
				key, attr := semconv.UserKey(lr.Attributes())
				if key == "" || lr.EventName() == semconv.EventEngagementTierChange {
					continue
				}
				if resource < 0 {
					resource = int(p.resources.Intern(rl.Resource().Attributes()))
				}
				if c, ok := p.score(lr, key, attr, uint16(resource)); ok {
					changes = append(changes, c)
				}
			}
		}
	}
	p.mu.Unlock()
	p.telemetry.changed(ctx, changes, p.tiers)
	p.appendChanges(ld, changes)
	return ld, nil
}

// score adds one event to its user's score and stamps it; it returns the user's tier change, if any. The
// caller holds p.mu.
func (p *scorer) score(lr plog.LogRecord, key string, attr uint8, resource uint16) (tierChange, bool) {
	ev := eventOf(lr.EventName())
	ts := lr.Timestamp()
	if ts == 0 {
		ts = lr.ObservedTimestamp()
	}
	ev.ts = ts.AsTime().UnixMilli()
	attrs := lr.Attributes()
	if v, ok := attrs.Get(semconv.AttrPluginID); ok {
		ev.plugin = v.Str()
	}
	u := p.users[key]
	if u == nil {
		u = &user{at: ev.ts}
		p.users[key] = u
	}
	u.resource, u.userAttr = resource, attr
	p.watermark = max(p.watermark, ev.ts)
	if p.dirty != nil {
		p.dirty[key] = true
	}
	score := p.model.add(u, &ev)
	tier := p.model.tierOf(score)
	attrs.PutDouble(semconv.AttrEngagementScore, math.Round(score*10)/10)
	attrs.PutStr(semconv.AttrEngagementTier, p.tiers[tier-1])
	return p.moveTo(key, u, tier, max(ev.ts, u.at), score)
}

// moveTo records a user's tier; a change of a user who had one is returned. The caller holds p.mu.
func (p *scorer) moveTo(key string, u *user, tier uint8, at int64, score float64) (tierChange, bool) {
	from := u.tier
	u.tier = tier
	if from == 0 || from == tier {
		return tierChange{}, false
	}
	return tierChange{key: key, at: at, score: score, from: from, to: tier, resource: u.resource, userAttr: u.userAttr}, true
}

// evaluate values every user's points now — or, while history is being fed in, at the history's time — and
// passes on the tier changes (a user who sends nothing still decays into dormancy); it forgets users idle for
// max_idle.
func (p *scorer) evaluate(ctx context.Context) error {
	now := p.now().UnixMilli()
	p.mu.Lock()
	at := now
	if now-p.lastArrival < p.cfg.CheckInterval.Milliseconds() && now-p.watermark > backfillLag.Milliseconds() {
		at = p.watermark
	}
	var changes []tierChange
	for key, u := range p.users {
		p.model.decayTo(u, at)
		score := p.model.score(u.points)
		c, changed := p.moveTo(key, u, p.model.tierOf(score), at, score)
		if changed {
			changes = append(changes, c)
		}
		forget := at-u.seen > p.cfg.MaxIdle.Milliseconds()
		if forget {
			delete(p.users, key)
		}
		// Decay alone need not be written: the stored points decay to the same value when read back.
		if p.dirty != nil && (changed || forget) {
			p.dirty[key] = true
		}
	}
	counts := make([]int64, len(p.tiers))
	for _, u := range p.users {
		counts[u.tier-1]++
	}
	users := len(p.users)
	p.mu.Unlock()
	p.telemetry.evaluated(ctx, users, counts, p.tiers)
	p.telemetry.changed(ctx, changes, p.tiers)
	if len(changes) == 0 {
		return nil
	}
	ld := plog.NewLogs()
	p.appendChanges(ld, changes)
	return p.next.ConsumeLogs(ctx, ld)
}

// appendChanges adds an insights.engagement.tier_change event per change, under its user's resource.
func (p *scorer) appendChanges(ld plog.Logs, changes []tierChange) {
	slices.SortStableFunc(changes, func(a, b tierChange) int { return cmp.Or(cmp.Compare(a.at, b.at), cmp.Compare(a.key, b.key)) })
	scopes := map[uint16]plog.LogRecordSlice{}
	observed := pcommon.NewTimestampFromTime(p.now())
	for _, c := range changes {
		records, ok := scopes[c.resource]
		if !ok {
			rl := ld.ResourceLogs().AppendEmpty()
			p.mu.Lock()
			p.resources.CopyTo(c.resource, rl.Resource().Attributes())
			p.mu.Unlock()
			sl := rl.ScopeLogs().AppendEmpty()
			sl.Scope().SetName(metadata.ScopeName)
			records = sl.LogRecords()
			scopes[c.resource] = records
		}
		lr := records.AppendEmpty()
		lr.SetEventName(semconv.EventEngagementTierChange)
		lr.SetTimestamp(pcommon.NewTimestampFromTime(time.UnixMilli(c.at)))
		lr.SetObservedTimestamp(observed)
		attrs := lr.Attributes()
		to := p.tiers[c.to-1]
		attrs.PutStr(semconv.AttrEventID, uuid.NewSHA1(eventIDNamespace, fmt.Appendf(nil, "%s/%d/%s", c.key, c.at, to)).String())
		attrs.PutStr(semconv.UserKeyAttributes[c.userAttr], c.key)
		attrs.PutStr(semconv.AttrEngagementTier, to)
		attrs.PutStr(semconv.AttrEngagementPreviousTier, p.tiers[c.from-1])
		attrs.PutDouble(semconv.AttrEngagementScore, math.Round(c.score*10)/10)
	}
}

func (p *scorer) persist(ctx context.Context) error {
	if p.store == nil {
		return nil
	}
	p.mu.Lock()
	changes := make(map[string][]byte, len(p.dirty))
	for key := range p.dirty {
		if u, ok := p.users[key]; ok {
			changes[key] = p.encodeUser(u)
		} else {
			changes[key] = nil
		}
	}
	clear(p.dirty)
	p.mu.Unlock()
	return p.store.Write(ctx, keyPrefix, changes)
}
