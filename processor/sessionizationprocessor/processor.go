package sessionizationprocessor

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor"
	"go.uber.org/zap"

	"github.com/insights-collector/insights-collector/internal/componentstate"
	"github.com/insights-collector/insights-collector/internal/periodic"
	"github.com/insights-collector/insights-collector/internal/resourceset"
	"github.com/insights-collector/insights-collector/internal/semconv"
)

// eventIDNamespace makes the insights.event.id of session.start and session.end events from the session id, so
// that a replayed emission is stored once.
var eventIDNamespace = uuid.MustParse("5b0c2a9e-7d3c-4f61-9a56-0e3e4b1f6d2a")

type sessionizer struct {
	cfg       *Config
	id        component.ID
	logger    *zap.Logger
	next      consumer.Logs
	telemetry *telemetry
	now       func() time.Time

	mu        sync.Mutex
	tracker   *tracker
	resources *resourceset.Set // the resources of the sessions' events
	store     *componentstate.Store

	jobs *periodic.Runner
}

func newProcessor(cfg *Config, set processor.Settings, next consumer.Logs) (*sessionizer, error) {
	tel, err := newTelemetry(set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	return &sessionizer{
		cfg: cfg, id: set.ID, logger: set.Logger, next: next, telemetry: tel, now: time.Now,
		tracker: newTracker(cfg, newSessionID), resources: resourceset.New(),
	}, nil
}

// newSessionID is a UUIDv7: unique, and ordered by the session's start.
func newSessionID(startMs int64) string {
	id, err := uuid.NewV7()
	if err != nil {
		return uuid.NewString()
	}
	// The first 48 bits are the time: the session's, not the moment it was sessionized (a backfill).
	ms := uint64(startMs)
	for i := 0; i < 6; i++ {
		id[i] = byte(ms >> (40 - 8*i))
	}
	return id.String()
}

func (p *sessionizer) start(ctx context.Context, host component.Host) error {
	if p.cfg.Storage != nil {
		store, err := componentstate.Open(ctx, host, *p.cfg.Storage, p.id, component.KindProcessor, "sessions")
		if err != nil {
			return err
		}
		p.store = store
		p.tracker.dirty = map[string]bool{}
		if err := p.restore(ctx); err != nil {
			return err
		}
	}
	p.jobs = periodic.Start(p.logger,
		periodic.Job{Every: p.cfg.CheckInterval, Run: p.expire, Failure: "Could not pass on the end events of expired sessions"},
		periodic.Job{Every: p.cfg.PersistInterval, Run: p.persist, Failure: "Could not persist the open sessions"})
	return nil
}

// restore loads the open sessions and closes those that expired while the collector was down.
func (p *sessionizer) restore(ctx context.Context) error {
	p.mu.Lock()
	err := p.load(ctx)
	c := &changes{}
	if err == nil {
		p.tracker.expire(p.now().UnixMilli(), c)
	}
	active := p.tracker.active
	p.mu.Unlock()
	if err != nil {
		return err
	}
	p.logger.Info("Restored the open sessions", zap.Int("sessions", active), zap.Int("ended_while_down", len(c.ends)))
	return p.emit(ctx, c)
}

// expire ends the sessions whose users have sent nothing for the inactivity gap, and passes their end events on.
func (p *sessionizer) expire(ctx context.Context) error {
	p.mu.Lock()
	c := &changes{}
	p.tracker.expire(p.now().UnixMilli(), c)
	p.mu.Unlock()
	return p.emit(ctx, c)
}

func (p *sessionizer) shutdown(ctx context.Context) error {
	p.jobs.Stop()
	if p.store != nil {
		return errors.Join(p.persist(ctx), p.store.Close(ctx))
	}
	// Without storage, the open sessions cannot be continued: they end here, with their summaries.
	p.mu.Lock()
	c := &changes{}
	for key, u := range p.tracker.users {
		if u.cur != nil {
			p.tracker.end(key, u, p.now().UnixMilli(), semconv.SessionEndShutdown, c)
		}
	}
	p.mu.Unlock()
	return p.emit(ctx, c)
}

func (p *sessionizer) persist(ctx context.Context) error {
	if p.store == nil {
		return nil
	}
	p.mu.Lock()
	changes := p.changed()
	p.mu.Unlock()
	return p.store.Write(ctx, keyPrefix, changes)
}

// record is one log record of a batch, with what sessionization needs.
type record struct {
	lr       plog.LogRecord
	ts       int64
	key      string
	userAttr uint8
	resource uint16
}

func (p *sessionizer) processLogs(ctx context.Context, ld plog.Logs) (plog.Logs, error) {
	records := p.collect(ld)
	// In time order: events of one batch often arrive out of order (several tabs, retries).
	slices.SortStableFunc(records, func(a, b record) int { return cmp.Compare(a.ts, b.ts) })
	now := p.now().UnixMilli()
	c := &changes{late: map[lateOutcome]int64{}}
	p.mu.Lock()
	for i := range records {
		p.sessionize(&records[i], now, c)
	}
	p.tracker.evict(p.cfg.MaxActiveSessions, now, c)
	active := p.tracker.active
	p.mu.Unlock()
	p.telemetry.record(ctx, c, active)
	p.appendSessionEvents(ld, c)
	return ld, nil
}

// collect lists the records that belong to a user's session (not the session events themselves).
func (p *sessionizer) collect(ld plog.Logs) []record {
	records := make([]record, 0, ld.LogRecordCount())
	for _, rl := range ld.ResourceLogs().All() {
		resource := -1
		for _, sl := range rl.ScopeLogs().All() {
			for _, lr := range sl.LogRecords().All() {
				key, attr := semconv.UserKey(lr.Attributes())
				if key == "" || strings.HasPrefix(lr.EventName(), "session.") {
					continue
				}
				if resource < 0 {
					p.mu.Lock()
					resource = int(p.resources.Intern(rl.Resource().Attributes()))
					p.mu.Unlock()
				}
				ts := lr.Timestamp()
				if ts == 0 {
					ts = lr.ObservedTimestamp()
				}
				records = append(records, record{lr: lr, ts: ts.AsTime().UnixMilli(), key: key, userAttr: attr, resource: uint16(resource)})
			}
		}
	}
	return records
}

// sessionize assigns one record to its session and stamps it.
func (p *sessionizer) sessionize(r *record, now int64, c *changes) {
	attrs := r.lr.Attributes()
	ev := event{ts: r.ts, resource: r.resource, userAttr: r.userAttr}
	if v, ok := attrs.Get(semconv.AttrPluginID); ok {
		ev.plugin = v.Str()
	}
	if v, ok := attrs.Get(semconv.AttrAction); ok && v.Str() == semconv.ActionNavigate {
		ev.navigate = true
		if s, ok := attrs.Get(semconv.AttrSubject); ok {
			ev.subject = s.Str()
		}
	}
	if v, ok := attrs.Get(semconv.AttrSessionID); ok {
		ev.clientID = v.AsString()
	}
	st, late := p.tracker.observe(r.key, &ev, now, c)
	if late != notLate {
		c.late[late]++
	}
	attrs.EnsureCapacity(attrs.Len() + 7)
	if ev.clientID != "" && !p.cfg.TrustClientSessions {
		attrs.PutStr(semconv.AttrSessionClientID, ev.clientID)
	}
	if st.late {
		attrs.Remove(semconv.AttrSessionID)
		attrs.PutBool(semconv.AttrSessionLate, true)
		return
	}
	attrs.PutStr(semconv.AttrSessionID, st.id)
	attrs.PutInt(semconv.AttrSessionStartMs, st.startMs)
	if st.seq > 0 {
		attrs.PutInt(semconv.AttrSessionSequence, int64(st.seq))
	}
	if st.page > 0 {
		attrs.PutInt(semconv.AttrSessionPage, int64(st.page))
		attrs.PutInt(semconv.AttrSessionView, int64(st.view))
	}
	if st.prevID != "" {
		attrs.PutStr(semconv.AttrSessionPreviousID, st.prevID)
	}
}

// emit passes on the session events of a timer run (or a restore, or a shutdown).
func (p *sessionizer) emit(ctx context.Context, c *changes) error {
	p.telemetry.record(ctx, c, p.activeSessions())
	if len(c.starts) == 0 && len(c.ends) == 0 {
		return nil
	}
	ld := plog.NewLogs()
	p.appendSessionEvents(ld, c)
	return p.next.ConsumeLogs(ctx, ld)
}

func (p *sessionizer) activeSessions() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.tracker.active
}

// startedSession and endedSession are what the session events are made of, copied out of the tracker.
type startedSession struct {
	key      string
	id       string
	prevID   string
	startMs  int64
	resource uint16
	userAttr uint8
}

type endedSession struct {
	startedSession
	reason            string
	first, last       int64
	events, navigates uint32
	plugins           sessionPlugins
	entry, exit       string
}

func (c *changes) started(key string, s *session) {
	c.starts = append(c.starts, startedSession{key, s.id, s.prevID, s.startMs, s.resource, s.userAttr})
}

func (c *changes) ended(key string, s *session, plugins sessionPlugins, reason string) {
	c.ends = append(c.ends, endedSession{startedSession: startedSession{key, s.id, s.prevID, s.startMs, s.resource, s.userAttr},
		reason: reason, first: s.first, last: s.last, events: s.events, navigates: s.navigates,
		plugins: plugins, entry: s.entry, exit: s.exit})
}
