package analyticsdb

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/insights-collector/insights-collector/internal/semconv"
)

// searchEvent is a search (subject: the term) or a discover (subject: the clicked result) of a session.
type searchEvent struct {
	id, action, session, subject string
	at                           time.Duration // after base
}

var searchBase = now.Add(-72 * time.Hour)

func searchLogs(events ...searchEvent) plog.Logs {
	ld := plog.NewLogs()
	records := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	for _, e := range events {
		r := records.AppendEmpty()
		r.SetEventName(semconv.EventNamePrefix + e.action)
		r.SetTimestamp(pcommon.NewTimestampFromTime(searchBase.Add(e.at)))
		attrs := r.Attributes()
		attrs.PutStr(semconv.AttrEventID, uuid.NewSHA1(uuid.NameSpaceOID, []byte(e.id)).String())
		attrs.PutStr(semconv.AttrAction, e.action)
		attrs.PutStr(semconv.AttrSubject, e.subject)
		attrs.PutStr(semconv.AttrUserHash, "k1.user-of-"+e.session)
		attrs.PutStr(semconv.AttrSessionID, e.session)
	}
	return ld
}

func termOf(t *testing.T, s *Store, id string) any {
	t.Helper()
	var term any
	require.NoError(t, s.DB().QueryRow(`SELECT search_term FROM events WHERE event_id = ?`,
		uuid.NewSHA1(uuid.NameSpaceOID, []byte(id)).String()).Scan(&term))
	return term
}

func TestDiscoversAreAttributedToTheirSearch(t *testing.T) {
	const search, discover = semconv.ActionSearch, semconv.ActionDiscover
	tests := []struct {
		name   string
		writes [][]searchEvent
		reopen bool // between the writes
		want   map[string]any
	}{
		{
			name: "in one write, in any order",
			writes: [][]searchEvent{{
				{"d2", discover, "s1", "component-b", 3 * time.Minute},
				{"q1", search, "s1", "alpha", time.Minute},
				{"d1", discover, "s1", "component-a", 2 * time.Minute},
				{"q2", search, "s1", "beta", 150 * time.Second},
				{"other", discover, "s2", "component-c", 4 * time.Minute},
			}},
			want: map[string]any{"d1": "alpha", "d2": "beta", "other": nil, "q1": nil},
		},
		{
			name: "a search and a click at the same instant",
			writes: [][]searchEvent{{
				{"d1", discover, "s1", "component-a", time.Minute},
				{"q1", search, "s1", "alpha", time.Minute},
			}},
			want: map[string]any{"d1": "alpha"},
		},
		{
			name: "the click in a later write",
			writes: [][]searchEvent{
				{{"q1", search, "s1", "alpha", time.Minute}},
				{{"d1", discover, "s1", "component-a", 2 * time.Minute}},
			},
			want: map[string]any{"d1": "alpha"},
		},
		{
			name: "the click after a restart",
			writes: [][]searchEvent{
				{{"q1", search, "s1", "alpha", time.Minute}},
				{{"d1", discover, "s1", "component-a", 2 * time.Minute}},
			},
			reopen: true,
			want:   map[string]any{"d1": "alpha"},
		},
		{
			name: "a late click, after a later search of its session was stored",
			writes: [][]searchEvent{
				{{"q1", search, "s1", "alpha", time.Minute}, {"q2", search, "s1", "beta", 10 * time.Minute}},
				{{"d1", discover, "s1", "component-a", 2 * time.Minute}},
			},
			want: map[string]any{"d1": "alpha"},
		},
		{
			name: "a late search and its click, after a later search was stored",
			writes: [][]searchEvent{
				{{"q0", search, "s1", "early", 0}, {"q2", search, "s1", "beta", 10 * time.Minute}},
				{{"q1", search, "s1", "alpha", time.Minute}, {"d1", discover, "s1", "component-a", 2 * time.Minute}},
			},
			want: map[string]any{"d1": "alpha"},
		},
		{
			name: "more than 24 hours after the search",
			writes: [][]searchEvent{
				{{"q1", search, "s1", "alpha", 0}},
				{{"d1", discover, "s1", "component-a", 25 * time.Hour}},
			},
			want: map[string]any{"d1": nil},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, path := openStore(t)
			for i, w := range tt.writes {
				if tt.reopen && i > 0 {
					require.NoError(t, s.Close(context.Background()))
					var err error
					s, err = Open(context.Background(), Options{Path: path})
					require.NoError(t, err)
					t.Cleanup(func() { _ = s.Close(context.Background()) })
				}
				res, err := s.WriteLogs(context.Background(), searchLogs(w...), now)
				require.NoError(t, err)
				require.Len(t, res.Rejected, 0)
			}
			for id, term := range tt.want {
				assert.Equal(t, term, termOf(t, s, id), id)
			}
		})
	}
}
