package sessionizationprocessor

import (
	"math"
	"slices"
	"strings"
	"time"

	"github.com/insights-collector/insights-collector/internal/semconv"
)

// event is what the tracker needs of one event; times are Unix milliseconds.
type event struct {
	ts       int64
	plugin   string
	navigate bool
	subject  string // the route of a navigate
	clientID string // the session id the client sent, if any
	resource uint16 // interned resource attributes, for the session's own events
	userAttr uint8  // which attribute identifies the user
}

// session is an open session. It is kept small (128 bytes, ~280 with its id, the map entry and the user):
// plugins, resources and routes are interned, times are milliseconds.
type session struct {
	id, prevID  string
	startMs     int64 // the first event's time as it was seen: the session's id-like start, never moved
	first, last int64 // the earliest and latest event times (a late event may move first back)
	lastArrival int64 // processing time of the latest event: inactivity is checked against it
	events      uint32
	navigates   uint32
	plugins     pluginSet
	entry, exit string
	resource    uint16
	userAttr    uint8
	// pages counts the page views with the plugin of one in a row counting once; lastPage is that plugin (its
	// id + 1). They fit in the struct's padding.
	pages, lastPage uint16
}

// pluginSet holds the distinct plugins of a session, and its first and last, as interned ids: a bit per plugin
// for the first 64 of the process (a portal has a few dozen), a list for the rare others.
type pluginSet struct {
	bits        uint64
	more        *[]uint16
	first, last uint16 // id + 1; 0: none yet
}

func (p *pluginSet) add(id uint16) {
	if p.first == 0 {
		p.first = id + 1
	}
	p.last = id + 1
	switch {
	case id < 64:
		p.bits |= 1 << id
	case p.more == nil:
		p.more = &[]uint16{id}
	case !slices.Contains(*p.more, id):
		*p.more = append(*p.more, id)
	}
}

// ids returns the distinct plugins, by id.
func (p *pluginSet) ids() []uint16 {
	var out []uint16
	for id := uint16(0); id < 64; id++ {
		if p.bits&(1<<id) != 0 {
			out = append(out, id)
		}
	}
	if p.more != nil {
		out = append(out, *p.more...)
	}
	return out
}

// past is a user's previous session, kept so that a late event of its time gets its id.
type past struct {
	id          string
	first, last int64
	ended       int64 // processing time it ended at
}

type user struct {
	cur  *session
	prev past
}

// stamp is what an event gets.
type stamp struct {
	id, prevID string
	startMs    int64
	seq        uint32
	page, view uint32 // a navigate's numbers (insights.session.page and .view); 0 otherwise
	late       bool   // no session: flagged insights.session.late
}

// lateOutcome says how an event older than allowed_lateness was handled.
type lateOutcome int

const (
	notLate lateOutcome = iota
	lateStamped
	lateFlagged
)

// emitter receives the sessions that start and end.
type emitter interface {
	started(key string, s *session)
	ended(key string, s *session, plugins sessionPlugins, reason string)
}

// tracker assigns events to sessions, per user. It is not safe for concurrent use.
type tracker struct {
	gap, maxDuration, lateness int64 // milliseconds
	loc                        *time.Location
	splitAtMidnight            bool
	trustClient                bool
	users                      map[string]*user
	active                     int
	newID                      func(startMs int64) string
	plugins                    interner
	routes                     map[string]string // interned routes: the sessions on one page share its string
	dirty                      map[string]bool   // users changed since the state was last persisted; nil without storage
}

func newTracker(cfg *Config, newID func(int64) string) *tracker {
	loc, _ := time.LoadLocation(cfg.Timezone) // Validate loaded it
	return &tracker{
		gap: cfg.InactivityGap.Milliseconds(), maxDuration: cfg.MaxDuration.Milliseconds(), lateness: cfg.AllowedLateness.Milliseconds(),
		loc: loc, splitAtMidnight: cfg.SplitAtMidnight, trustClient: cfg.TrustClientSessions,
		users: map[string]*user{}, newID: newID, plugins: newInterner(), routes: map[string]string{},
	}
}

// maxRoutes bounds the route table (~5 MB of paths): when it is full it starts again, and the sessions keep
// the strings they hold.
const maxRoutes = 65536

// route returns the shared copy of a route. A copy, not the event's string: that would pin the decoded request
// it came from for as long as the session lasts.
func (t *tracker) route(path string) string {
	if path == "" {
		return ""
	}
	if r, ok := t.routes[path]; ok {
		return r
	}
	if len(t.routes) >= maxRoutes {
		clear(t.routes)
	}
	r := strings.Clone(path)
	t.routes[r] = r
	return r
}

// observe assigns an event of a user to a session, ending and starting sessions as it must.
func (t *tracker) observe(key string, ev *event, now int64, out emitter) (stamp, lateOutcome) {
	u := t.users[key]
	if u == nil {
		u = &user{}
		t.users[key] = u
	}
	t.touch(key)
	s := u.cur
	if s != nil && ev.ts < s.last {
		return t.outOfOrder(u, ev, now)
	}
	if s != nil {
		if reason := t.endsBefore(s, ev); reason != "" {
			t.end(key, u, now, reason, out)
			s = nil
		}
	}
	if s == nil {
		if ev.ts < u.prev.last && ev.ts >= u.prev.first-t.gap { // the user's previous session covers it
			return stamp{id: u.prev.id, startMs: u.prev.first}, lateStamped
		}
		s = t.begin(key, u, ev, out)
	}
	return t.add(s, ev, now), notLate
}

// outOfOrder handles an event older than its user's latest.
func (t *tracker) outOfOrder(u *user, ev *event, now int64) (stamp, lateOutcome) {
	s := u.cur
	switch {
	case ev.ts >= s.first:
		return t.add(s, ev, now), notLate // within the session's span: it joins, whatever its lateness
	case s.last-ev.ts <= t.lateness && ev.ts >= s.first-t.gap && s.last-ev.ts < t.maxDuration:
		s.first = ev.ts // late but within the allowance: the session began earlier than thought
		return t.add(s, ev, now), notLate
	case u.prev.id != "" && ev.ts >= u.prev.first-t.gap && ev.ts <= u.prev.last+t.gap:
		return stamp{id: u.prev.id, startMs: u.prev.first}, lateStamped
	}
	return stamp{late: true}, lateFlagged
}

// touch marks a user's state as changed since it was last persisted.
func (t *tracker) touch(key string) {
	if t.dirty != nil {
		t.dirty[key] = true
	}
}

// endsBefore returns why the session ends before an in-order event, or "".
func (t *tracker) endsBefore(s *session, ev *event) string {
	switch {
	case t.trustClient && ev.clientID != "" && ev.clientID != s.id:
		return semconv.SessionEndClient
	case t.trustClient && ev.clientID != "":
		return "" // the client's session goes on, however long
	case ev.ts-s.last > t.gap:
		return semconv.SessionEndInactivity
	case ev.ts-s.startMs >= t.maxDuration:
		return semconv.SessionEndMaxDuration
	case t.splitAtMidnight && t.localDay(ev.ts) != t.localDay(s.startMs):
		return semconv.SessionEndMidnight
	}
	return ""
}

func (t *tracker) begin(key string, u *user, ev *event, out emitter) *session {
	s := &session{startMs: ev.ts, first: ev.ts, last: ev.ts, prevID: u.prev.id, resource: ev.resource, userAttr: ev.userAttr}
	if t.trustClient && ev.clientID != "" {
		s.id = ev.clientID
	} else {
		s.id = t.newID(ev.ts)
	}
	u.cur = s
	t.active++
	out.started(key, s)
	return s
}

// add counts an event into its session and returns its stamp. A page view is numbered as it arrives: one
// that comes out of order counts where it arrives, not where its time would put it.
func (t *tracker) add(s *session, ev *event, now int64) stamp {
	s.events++
	s.last = max(s.last, ev.ts)
	s.lastArrival = max(s.lastArrival, now)
	plugin := uint16(0) // id + 1
	if ev.plugin != "" {
		id := t.plugins.id(ev.plugin)
		s.plugins.add(id)
		plugin = id + 1
	}
	st := stamp{id: s.id, prevID: s.prevID, startMs: s.startMs, seq: s.events}
	if ev.navigate {
		s.navigates++
		if s.exit != ev.subject {
			s.exit = t.route(ev.subject)
		}
		if s.entry == "" {
			s.entry = s.exit
		}
		if (s.pages == 0 || plugin != s.lastPage) && s.pages < math.MaxUint16 {
			s.pages++
		}
		s.lastPage = plugin
		st.page, st.view = uint32(s.pages), s.navigates
	}
	return st
}

// end closes a user's open session.
func (t *tracker) end(key string, u *user, now int64, reason string, out emitter) {
	s := u.cur
	out.ended(key, s, t.pluginNames(&s.plugins), reason)
	u.prev = past{id: s.id, first: s.first, last: s.last, ended: now}
	u.cur = nil
	t.active--
	t.touch(key)
}

// expire ends the sessions whose users have sent nothing for the inactivity gap (by processing time: a
// backfill of old events keeps its sessions open while it streams), and forgets users whose last session ended
// long ago.
func (t *tracker) expire(now int64, out emitter) {
	for key, u := range t.users {
		if u.cur != nil && now-u.cur.lastArrival > t.gap {
			t.end(key, u, now, semconv.SessionEndInactivity, out)
		}
		if u.cur == nil && now-u.prev.ended > t.maxDuration {
			delete(t.users, key)
			t.touch(key)
		}
	}
}

// evict closes the least recently active sessions until at most limit remain (and 1% more, so that a full
// tracker does not sort at every new session).
func (t *tracker) evict(limit int, now int64, out emitter) int {
	if t.active <= limit {
		return 0
	}
	type open struct {
		key     string
		arrival int64
	}
	all := make([]open, 0, t.active)
	for key, u := range t.users {
		if u.cur != nil {
			all = append(all, open{key, u.cur.lastArrival})
		}
	}
	slices.SortFunc(all, func(a, b open) int { return int(a.arrival - b.arrival) })
	n := min(len(all), t.active-limit+limit/100)
	for _, o := range all[:n] {
		t.end(o.key, t.users[o.key], now, semconv.SessionEndEvicted, out)
	}
	return n
}

// pluginNames returns a session's plugins: the distinct ones, then the first and the last.
func (t *tracker) pluginNames(p *pluginSet) sessionPlugins {
	out := sessionPlugins{}
	for _, id := range p.ids() {
		out.distinct = append(out.distinct, t.plugins.name(id))
	}
	if p.first != 0 {
		out.first, out.last = t.plugins.name(p.first-1), t.plugins.name(p.last-1)
	}
	return out
}

// sessionPlugins are the plugins of an ended session, by name.
type sessionPlugins struct {
	distinct    []string
	first, last string
}

// localDay is the date of an instant in the configured time zone (as days since the epoch).
func (t *tracker) localDay(ms int64) int64 {
	y, m, d := time.UnixMilli(ms).In(t.loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400
}

// otherName stands for the names past an interner's bound.
const otherName = "(other)"

// interner gives strings small numbers (plugin ids: a few dozen per portal).
type interner struct {
	byName map[string]uint16
	names  []string
}

func newInterner() interner {
	return interner{byName: map[string]uint16{otherName: 0}, names: []string{otherName}}
}

// maxInterned bounds the names an interner keeps (they come from senders); later ones share the last id.
const maxInterned = 1 << 15

func (in *interner) id(name string) uint16 {
	if id, ok := in.byName[name]; ok {
		return id
	}
	if len(in.names) >= maxInterned {
		return 0 // otherName
	}
	id := uint16(len(in.names))
	in.names = append(in.names, name)
	in.byName[name] = id
	return id
}

func (in *interner) name(id uint16) string { return in.names[id] }
