package analyticsdb

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/insights-collector/insights-collector/internal/semconv"
)

func sessionEvents(t *testing.T) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr(semconv.ResourceInstance, "portal-eu")
	records := rl.ScopeLogs().AppendEmpty().LogRecords()
	end := now.Add(-time.Hour)
	add := func(name string, attrs map[string]any) {
		lr := records.AppendEmpty()
		lr.SetEventName(name)
		lr.SetTimestamp(pcommon.NewTimestampFromTime(end))
		require.NoError(t, lr.Attributes().FromRaw(attrs))
	}
	add(semconv.EventSessionStart, map[string]any{semconv.AttrSessionID: "s1", semconv.AttrUserHash: "k1.ana",
		semconv.AttrEventID: "0193a0f0-5b7e-7cde-8f00-000000000001"})
	full := map[string]any{semconv.AttrSessionID: "s1", semconv.AttrUserHash: "k1.ana", semconv.AttrSessionDurationMs: int64(90_500),
		semconv.AttrSessionEventCount: int64(7), semconv.AttrSessionNavigateCount: int64(3), semconv.AttrSessionPlugins: []any{"catalog", "search"},
		semconv.AttrSessionEntryRoute: "/catalog", semconv.AttrSessionExitRoute: "/search", semconv.AttrSessionEndReason: semconv.SessionEndInactivity,
		semconv.AttrEventID: "0193a0f0-5b7e-7cde-8f00-000000000002"}
	add(semconv.EventSessionEnd, full)
	add(semconv.EventSessionEnd, full)                                                                       // delivered twice
	add(semconv.EventSessionEnd, map[string]any{semconv.AttrSessionID: "s2", semconv.AttrUserHash: "k1.bo"}) // no duration
	return ld
}

// session.end events fill the sessions table, once per session; session.start events are skipped; a malformed
// one is rejected and the rest proceed.
func TestSessionEndEventsFillTheSessionsTable(t *testing.T) {
	s, _ := openStore(t)
	res, err := s.WriteLogs(context.Background(), sessionEvents(t), now)
	require.NoError(t, err)
	assert.Equal(t, 1, res.Skipped)
	require.Len(t, res.Rejected, 1)
	assert.Equal(t, 3, res.Rejected[0].Index)
	assert.Contains(t, res.Rejected[0].Reason, "insights.session.duration_ms")
	assert.Zero(t, count(t, s, `SELECT count(*) FROM events`), "session events are not events")

	var user, instance, entry, exit, reason string
	var start, end time.Time
	var duration float64
	var events, navigates int
	var plugins []any
	require.NoError(t, s.DB().QueryRow(`SELECT user_key, instance, start_ts, end_ts, duration_s, event_count, navigate_count, plugins,
		entry_route, exit_route, end_reason FROM sessions WHERE session_id = 's1'`).Scan(&user, &instance, &start, &end, &duration,
		&events, &navigates, &plugins, &entry, &exit, &reason))
	assert.Equal(t, "k1.ana", user)
	assert.Equal(t, "portal-eu", instance)
	assert.Equal(t, now.Add(-time.Hour), end.UTC())
	assert.Equal(t, now.Add(-time.Hour-90500*time.Millisecond), start.UTC())
	assert.InDelta(t, 90.5, duration, 1e-9)
	assert.Equal(t, []any{"catalog", "search"}, plugins)
	assert.Equal(t, []any{7, 3, "/catalog", "/search", semconv.SessionEndInactivity}, []any{events, navigates, entry, exit, reason})

	_, err = s.WriteLogs(context.Background(), sessionEvents(t), now)
	require.NoError(t, err)
	assert.Equal(t, 1, count(t, s, `SELECT count(*) FROM sessions`), "a redelivered session is stored once")

	deleted, err := s.EraseUser(context.Background(), "k1.ana")
	require.NoError(t, err)
	assert.Equal(t, int64(1), deleted["sessions"])
}

// Events the pipeline derives (an engagement tier change) are stored, but do not make their user active: a
// dormant user demoted by a timer is not a user of the day.
func TestDerivedEventsAreNotActivity(t *testing.T) {
	s, _ := openStore(t)
	ld := plog.NewLogs()
	records := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	for i, name := range []string{"backstage.navigate", semconv.EventEngagementTierChange} {
		lr := records.AppendEmpty()
		lr.SetEventName(name)
		lr.SetTimestamp(pcommon.NewTimestampFromTime(now.Add(-time.Duration(48-24*i) * time.Hour)))
		require.NoError(t, lr.Attributes().FromRaw(map[string]any{semconv.AttrUserHash: "k1.ana",
			semconv.AttrEventID: fmt.Sprintf("0193a0f0-5b7e-7cde-8f00-00000000000%d", i), semconv.AttrEngagementTier: "dormant",
			semconv.AttrEngagementPreviousTier: "casual"}))
	}
	res, err := s.WriteLogs(context.Background(), ld, now)
	require.NoError(t, err)
	assert.Equal(t, 2, res.Stored)
	assert.Equal(t, 1, count(t, s, `SELECT count(*) FROM events JOIN event_details USING (event_id) WHERE event_name = ? AND engagement_previous_tier = 'casual'`, semconv.EventEngagementTierChange))
	assert.Equal(t, 1, count(t, s, `SELECT sum(events)::INTEGER FROM user_daily`), "one day of activity")
	assert.Equal(t, 1, count(t, s, `SELECT count(*) FROM users WHERE last_seen = ?`, now.Add(-48*time.Hour)))
}

// Page views the sessionization processor numbered are kept in page_views with their route pattern, as the
// migrations that created the table and its routes fill it from the events; erasure removes them.
func TestPageViews(t *testing.T) {
	s, _ := openStore(t)
	ld := plog.NewLogs()
	records := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	for i, v := range []struct {
		action, plugin, subject string
		page                    int64
	}{{"navigate", "catalog", "/catalog", 1}, {"click", "catalog", "Docs", 0}, {"navigate", "techdocs", "/docs/default/component/a", 2}} {
		lr := records.AppendEmpty()
		lr.SetEventName("backstage." + v.action)
		lr.SetTimestamp(pcommon.NewTimestampFromTime(now.Add(-time.Hour + time.Duration(i)*time.Minute)))
		attrs := map[string]any{semconv.AttrUserHash: "k1.ana", semconv.AttrAction: v.action, semconv.AttrPluginID: v.plugin,
			semconv.AttrSubject: v.subject, semconv.AttrEventID: fmt.Sprintf("0193a0f0-5b7e-7cde-8f00-00000000010%d", i),
			semconv.AttrSessionStartMs: now.Add(-time.Hour).UnixMilli()}
		if v.page > 0 {
			attrs[semconv.AttrSessionPage], attrs[semconv.AttrSessionView] = v.page, v.page
		}
		require.NoError(t, lr.Attributes().FromRaw(attrs))
	}
	_, err := s.WriteLogs(context.Background(), ld, now)
	require.NoError(t, err)
	const views = `SELECT list(plugin_id || ' ' || page || ' ' || view || ' ' || route ORDER BY page) FROM page_views`
	var atIngest []any
	require.NoError(t, s.DB().QueryRow(views).Scan(&atIngest))
	assert.Equal(t, []any{"catalog 1 1 /catalog", "techdocs 2 2 /docs/:namespace/component/:name"}, atIngest)
	assert.Equal(t, 2, count(t, s, `SELECT count(*) FROM page_views JOIN route_numbers r USING (route_no) WHERE r.route = page_views.route`),
		"each view carries its route's number")

	_, err = s.DB().Exec(`DELETE FROM page_views`)
	require.NoError(t, err)
	// Migration 15's copy, into the columns it knew, then migration 16's routes.
	i := slices.IndexFunc(migrations, func(m migration) bool { return m.version == 15 })
	copySQL := migrations[i].sql[strings.Index(migrations[i].sql, "SELECT"):]
	_, err = s.DB().Exec(`INSERT INTO page_views (ts, instance, user_no, session_start_ms, page, view, plugin_id, subject) ` + copySQL)
	require.NoError(t, err)
	_, err = s.DB().Exec(migrations[i+1].sql[strings.Index(migrations[i+1].sql, "UPDATE"):])
	require.NoError(t, err)
	var rebuilt []any
	require.NoError(t, s.DB().QueryRow(views).Scan(&rebuilt))
	assert.Equal(t, atIngest, rebuilt, "the migrations copy what the store writes")

	deleted, err := s.EraseUser(context.Background(), "k1.ana")
	require.NoError(t, err)
	assert.Equal(t, int64(2), deleted["page_views"])
}
