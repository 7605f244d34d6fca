package sessionizationprocessor

import (
	"fmt"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/insights-collector/insights-collector/internal/semconv"
)

// recorder is an emitter that remembers what started and ended.
type recorder struct {
	log []string
}

func (r *recorder) started(key string, s *session) {
	r.log = append(r.log, fmt.Sprintf("start %s %s prev=%s", key, s.id, s.prevID))
}

func (r *recorder) ended(key string, s *session, plugins sessionPlugins, reason string) {
	r.log = append(r.log, fmt.Sprintf("end %s %s %s events=%d span=%s plugins=%v", key, s.id, reason, s.events,
		time.Duration(s.last-s.first)*time.Millisecond, plugins.distinct))
}

var t0 = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

// at is a time as milliseconds after t0.
func at(d time.Duration) int64 { return t0.Add(d).UnixMilli() }

func testTracker(mutate ...func(*Config)) *tracker {
	cfg := createDefaultConfig().(*Config)
	for _, m := range mutate {
		m(cfg)
	}
	n := 0
	return newTracker(cfg, func(int64) string { n++; return fmt.Sprintf("s%d", n) })
}

type step struct {
	user   string
	at     time.Duration
	plugin string
	client string
	want   string // the session id it gets, or "late"
}

func run(t *testing.T, tr *tracker, steps []step) *recorder {
	t.Helper()
	rec := &recorder{}
	for i, s := range steps {
		ev := event{ts: at(s.at), plugin: s.plugin, clientID: s.client}
		st, _ := tr.observe(s.user, &ev, at(s.at), rec)
		got := st.id
		if st.late {
			got = "late"
		}
		assert.Equal(t, s.want, got, "step %d (%s at %s)", i, s.user, s.at)
	}
	return rec
}

func TestTimelines(t *testing.T) {
	min := time.Minute
	for _, tc := range []struct {
		name   string
		mutate func(*Config)
		steps  []step
		log    []string
	}{
		{"a gap of exactly the inactivity gap continues the session, one millisecond more does not", nil, []step{
			{"ana", 0, "catalog", "", "s1"}, {"ana", 30 * min, "search", "", "s1"}, {"ana", 60*min + time.Millisecond, "", "", "s2"},
		}, []string{"start ana s1 prev=", "end ana s1 inactivity events=2 span=30m0s plugins=[catalog search]", "start ana s2 prev=s1"}},
		{"max duration", func(c *Config) { c.MaxDuration = 2 * time.Hour }, []step{
			{"ana", 0, "", "", "s1"}, {"ana", 25 * min, "", "", "s1"}, {"ana", 50 * min, "", "", "s1"}, {"ana", 75 * min, "", "", "s1"},
			{"ana", 100 * min, "", "", "s1"}, {"ana", 120 * min, "", "", "s2"},
		}, []string{"start ana s1 prev=", "end ana s1 max_duration events=5 span=1h40m0s plugins=[]", "start ana s2 prev=s1"}},
		{"midnight in the configured time zone", func(c *Config) { c.SplitAtMidnight, c.Timezone = true, "America/New_York" }, []step{
			{"ana", 19*time.Hour + 50*min, "", "", "s1"}, {"ana", 19*time.Hour + 59*min, "", "", "s1"}, // 23:59 in New York
			{"ana", 20*time.Hour + 10*min, "", "", "s2"}, // 00:10
		}, []string{"start ana s1 prev=", "end ana s1 midnight events=2 span=9m0s plugins=[]", "start ana s2 prev=s1"}},
		{"users interleaved are independent", nil, []step{
			{"ana", 0, "", "", "s1"}, {"bo", 10 * min, "", "", "s2"}, {"ana", 25 * min, "", "", "s1"}, {"bo", 50 * min, "", "", "s3"},
		}, []string{"start ana s1 prev=", "start bo s2 prev=", "end bo s2 inactivity events=1 span=0s plugins=[]", "start bo s3 prev=s2"}},
		{"out of order within the allowed lateness joins, and moves the start back", nil, []step{
			{"ana", 10 * min, "", "", "s1"}, {"ana", 12 * min, "", "", "s1"}, {"ana", 8 * min, "", "", "s1"}, {"ana", 11 * min, "", "", "s1"},
			{"ana", 45 * min, "", "", "s2"},
		}, []string{"start ana s1 prev=", "end ana s1 inactivity events=4 span=4m0s plugins=[]", "start ana s2 prev=s1"}},
		{"later than the allowance: stamped from the session that covered its time, else late", nil, []step{
			{"ana", 0, "", "", "s1"}, {"ana", 5 * min, "", "", "s1"}, {"ana", 60 * min, "", "", "s2"},
			{"ana", 58 * min, "", "", "s2"}, // within the allowance, before the current session's start
			{"ana", 70 * min, "", "", "s2"},
			{"ana", 3 * min, "", "", "s1"},    // beyond it: covered by the previous session
			{"ana", 40 * min, "", "", "late"}, // between the two sessions
		}, []string{"start ana s1 prev=", "end ana s1 inactivity events=2 span=5m0s plugins=[]", "start ana s2 prev=s1"}},
		{"trusted client sessions", func(c *Config) { c.TrustClientSessions = true }, []step{
			{"ana", 0, "", "tab-1", "tab-1"}, {"ana", 90 * min, "", "tab-1", "tab-1"}, {"ana", 95 * min, "", "tab-2", "tab-2"},
			{"ana", 200 * min, "", "", "s1"},
		}, []string{"start ana tab-1 prev=", "end ana tab-1 client events=2 span=1h30m0s plugins=[]", "start ana tab-2 prev=tab-1",
			"end ana tab-2 inactivity events=1 span=0s plugins=[]", "start ana s1 prev=tab-2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mutate []func(*Config)
			if tc.mutate != nil {
				mutate = append(mutate, tc.mutate)
			}
			assert.Equal(t, tc.log, run(t, testTracker(mutate...), tc.steps).log)
		})
	}
}

// A session ends when its gap elapses with no event, checked by the timer, with its real end time.
func TestExpiry(t *testing.T) {
	tr := testTracker()
	rec := run(t, tr, []step{{"ana", 0, "", "", "s1"}, {"ana", 10 * time.Minute, "", "", "s1"}, {"bo", 20 * time.Minute, "", "", "s2"}})
	tr.expire(at(40*time.Minute), rec) // exactly the gap: not yet
	assert.Equal(t, 2, tr.active)
	tr.expire(at(41*time.Minute), rec) // ana's gap elapsed, bo's not
	assert.Equal(t, "end ana s1 inactivity events=2 span=10m0s plugins=[]", rec.log[len(rec.log)-1])
	assert.Equal(t, 1, tr.active)
	require.Nil(t, tr.users["ana"].cur)
	assert.Equal(t, "s1", tr.users["ana"].prev.id, "remembered for late events and session.previous_id")

	tr.expire(at(25*time.Hour), rec)
	assert.NotContains(t, tr.users, "ana", "users whose last session ended long ago are forgotten")
	assert.Zero(t, tr.active)
	tr.expire(at(50*time.Hour), rec)
	assert.Empty(t, tr.users)
}

func TestEviction(t *testing.T) {
	tr := testTracker()
	rec := &recorder{}
	for i, user := range []string{"a", "b", "c", "d", "e"} {
		ev := event{ts: at(time.Duration(i) * time.Minute)}
		tr.observe(user, &ev, ev.ts, rec)
	}
	assert.Equal(t, 2, tr.evict(3, at(5*time.Minute), rec))
	assert.Equal(t, 3, tr.active)
	assert.Nil(t, tr.users["a"].cur)
	assert.Nil(t, tr.users["b"].cur)
	assert.NotNil(t, tr.users["c"].cur)
	assert.Contains(t, rec.log, "end a s1 "+semconv.SessionEndEvicted+" events=1 span=0s plugins=[]")
}

func TestRoutesAreShared(t *testing.T) {
	tr := testTracker()
	rec := &recorder{}
	for i, user := range []string{"a", "b"} {
		path := fmt.Sprintf("/catalog/default/component/%s", "svc") // a string of its own per event
		ev := event{ts: at(time.Duration(i) * time.Minute), navigate: true, subject: path}
		tr.observe(user, &ev, ev.ts, rec)
	}
	a, b := tr.users["a"].cur, tr.users["b"].cur
	assert.Equal(t, "/catalog/default/component/svc", a.entry)
	assert.Same(t, unsafe.StringData(a.entry), unsafe.StringData(b.exit), "one copy of the route for both sessions")

	for i := range maxRoutes {
		tr.route(fmt.Sprint(i))
	}
	assert.Len(t, tr.routes, 1, "a full table starts again")
	assert.Equal(t, "/catalog/default/component/svc", a.exit, "sessions keep their routes")
}
