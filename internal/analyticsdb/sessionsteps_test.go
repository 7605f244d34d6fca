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

// pageView is a navigate event as the sessionization processor numbered it.
type pageView struct {
	user          string
	start         time.Time // the session's
	page, view    int64
	plugin, route string
}

func writePageViews(t *testing.T, s *Store, views ...pageView) {
	t.Helper()
	ld := plog.NewLogs()
	records := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	for _, v := range views {
		lr := records.AppendEmpty()
		lr.SetEventName(semconv.EventName(semconv.ActionNavigate))
		lr.SetTimestamp(pcommon.NewTimestampFromTime(v.start.Add(time.Duration(v.view) * time.Minute)))
		attrs := map[string]any{semconv.AttrUserHash: v.user, semconv.AttrAction: semconv.ActionNavigate, semconv.AttrSubject: v.route,
			semconv.AttrEventID:        fmt.Sprintf("0193a0f0-5b7e-7cde-8f00-%012d", v.start.Unix()%1e6*100+v.view),
			semconv.AttrSessionStartMs: v.start.UnixMilli(), semconv.AttrSessionPage: v.page, semconv.AttrSessionView: v.view}
		if v.plugin != "" {
			attrs[semconv.AttrPluginID] = v.plugin
		}
		require.NoError(t, lr.Attributes().FromRaw(attrs))
	}
	res, err := s.WriteLogs(context.Background(), ld, now)
	require.NoError(t, err)
	require.Equal(t, len(views), res.Stored)
}

// sessionStepRows returns session_steps as one line per session: its start, then its lists (routes named).
func sessionStepRows(t *testing.T, s *Store) []string {
	t.Helper()
	rows, err := s.DB().Query(`SELECT session_start_ms, pages::VARCHAR, view_pages::VARCHAR, view_plugins::VARCHAR,
		list_transform(view_routes, r -> routes[r])::VARCHAR
		FROM session_steps, (SELECT map(list(route_no), list(route)) AS routes FROM route_numbers) ORDER BY session_start_ms`)
	require.NoError(t, err)
	defer rows.Close()
	var out []string
	for rows.Next() {
		var start int64
		var lists [4]string
		require.NoError(t, rows.Scan(&start, &lists[0], &lists[1], &lists[2], &lists[3]))
		out = append(out, time.UnixMilli(start).UTC().Format(time.RFC3339)+" "+strings.Join(lists[:], " "))
	}
	require.NoError(t, rows.Err())
	return out
}

// session_steps holds each session's page views as lists, in the sessionizer's order whatever the order they
// arrived in; a day stays pending from a write of its sessions' views until the maintenance has rebuilt it, late
// views included; retention and erasure remove the rows.
func TestSessionSteps(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	day1 := time.Date(2026, 11, 20, 23, 50, 0, 0, time.UTC) // a session that runs past midnight belongs to its start
	day2 := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	// Out of order and over two writes; no plugin on one view.
	writePageViews(t, s,
		pageView{"k1.ana", day1, 3, 4, "catalog", "/catalog"},
		pageView{"k1.ana", day1, 2, 3, "", "/somewhere"},
		pageView{"k2.bo", day2, 1, 1, "techdocs", "/docs/default/component/a"})
	writePageViews(t, s,
		pageView{"k1.ana", day1, 1, 2, "catalog", "/catalog/default/component/b"},
		pageView{"k1.ana", day1, 1, 1, "catalog", "/catalog"})

	pending, err := PendingSessionDays(ctx, s.DB())
	require.NoError(t, err)
	assert.Equal(t, []time.Time{SessionDay(day1.UnixMilli()), SessionDay(day2.UnixMilli())}, pending)
	require.NoError(t, s.CompactRollups(ctx))
	assert.Empty(t, sessionStepRows(t, s), "built by BuildSessionSteps, not by the compaction")
	assert.Equal(t, time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC), SessionDay(day1.UnixMilli()))

	built, err := s.BuildSessionSteps(ctx)
	require.NoError(t, err)
	assert.Equal(t, 2, built)
	want := []string{
		"2026-11-20T23:50:00Z [catalog, NULL, catalog] [1, 1, 2, 3] [catalog, catalog, NULL, catalog] " +
			"[/catalog, '/catalog/:namespace/component/:name', /somewhere, /catalog]",
		"2026-11-22T09:00:00Z [techdocs] [1] [techdocs] ['/docs/:namespace/component/:name']",
	}
	assert.Equal(t, want, sessionStepRows(t, s))
	pending, err = PendingSessionDays(ctx, s.DB())
	require.NoError(t, err)
	assert.Empty(t, pending)

	writePageViews(t, s, pageView{"k2.bo", day2, 2, 2, "catalog", "/catalog"}) // late
	pending, err = PendingSessionDays(ctx, s.DB())
	require.NoError(t, err)
	assert.Equal(t, []time.Time{SessionDay(day2.UnixMilli())}, pending)
	built, err = s.BuildSessionSteps(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, built, "the day of the late view only")
	want[1] = "2026-11-22T09:00:00Z [techdocs, catalog] [1, 2] [techdocs, catalog] ['/docs/:namespace/component/:name', /catalog]"
	assert.Equal(t, want, sessionStepRows(t, s))

	deleted, err := s.DeleteOlderThan(ctx, day1.Add(time.Hour))
	require.NoError(t, err)
	assert.Equal(t, int64(1), deleted[sessionSteps])
	deleted, err = s.EraseUser(ctx, "k2.bo")
	require.NoError(t, err)
	assert.Equal(t, int64(1), deleted[sessionSteps])
	assert.Empty(t, sessionStepRows(t, s))
}

// Migration 18 marks the days of the page views already stored, so that the maintenance builds them.
func TestSessionStepsMigration(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	start := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	writePageViews(t, s, pageView{"k1.ana", start, 1, 1, "catalog", "/catalog"})
	_, err := s.DB().Exec(`DELETE FROM rollup_days`)
	require.NoError(t, err)
	i := slices.IndexFunc(migrations, func(m migration) bool { return m.version == 18 })
	_, err = s.DB().Exec(migrations[i].sql[strings.Index(migrations[i].sql, "INSERT"):])
	require.NoError(t, err)
	pending, err := PendingSessionDays(ctx, s.DB())
	require.NoError(t, err)
	assert.Equal(t, []time.Time{SessionDay(start.UnixMilli())}, pending)
}
