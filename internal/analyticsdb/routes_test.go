package analyticsdb

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// routePattern and the SQL of migrations 16 and 19, which fill in the route of the page views stored before
// them, agree.
func TestRoutePattern(t *testing.T) {
	for _, tc := range []struct{ path, want string }{
		{"/catalog/default/component/api", "/catalog/:namespace/component/:name"},
		{"/catalog/default/component/api/docs", "/catalog/:namespace/component/:name/docs"},
		{"/catalog/default/component/api/", "/catalog/:namespace/component/:name/"},
		{"/catalog/default/component/api?tab=ci#top", "/catalog/:namespace/component/:name"},
		{"/docs/default/component/api/getting-started/install", "/docs/:namespace/component/:name/getting-started/install"},
		{"/create/templates/default/react-app", "/create/templates/:namespace/:name"},
		{"/create/templates/default/react-app/step/2", "/create/templates/:namespace/:name/step/2"},
		{"/create/templates/default", "/create/templates/default"},
		{"/create/tasks/1cae190a-e958-4a85-8214-3c67299a74af", "/create/tasks/:taskId"},
		{"/create/tasks/42/", "/create/tasks/:taskId/"},
		{"/create/tasks/", "/create/tasks/"},
		{"/catalog", "/catalog"},
		{"/catalog/", "/catalog/"},
		{"/catalog/default/component", "/catalog/default/component"},
		{"/catalog/default/component/", "/catalog/default/component/"},
		{"/catalog//component/api", "/catalog//component/api"},
		{"/catalogue/default/component/api", "/catalogue/default/component/api"},
		{"/search?query=kafka", "/search"},
		{"#fragment", ""},
		{"", ""},
		{"/docs/ü/ñ/名前/ページ", "/docs/:namespace/ñ/:name/ページ"},
	} {
		assert.Equal(t, tc.want, routePattern(tc.path), tc.path)
	}

	s, _ := openStore(t)
	paths := []string{"/catalog/default/component/api", "/catalog/default/component/api/docs?x=1", "/catalog/default/component",
		"/catalog//component/api", "/docs/default/component/api/a/b#c", "/create/templates/default/react-app/step",
		"/create/templates/default", "/search?query=kafka", "/", "", "/docs/ü/ñ/名前/ページ", "/catalog/a/b/c/",
		"/create/tasks/1cae190a-e958-4a85-8214-3c67299a74af?x=1", "/create/tasks/42/log", "/create/tasks/"}
	for i, p := range paths {
		_, err := s.DB().Exec(`INSERT INTO page_views (ts, instance, user_no, session_start_ms, page, view, subject) VALUES (?, '', 1, 0, ?, ?, ?)`,
			now.Add(time.Duration(i)*time.Second), i, i, p)
		require.NoError(t, err)
	}
	i := slices.IndexFunc(migrations, func(m migration) bool { return m.version == 16 })
	_, err := s.DB().Exec(migrations[i].sql[strings.Index(migrations[i].sql, "UPDATE"):])
	require.NoError(t, err)
	i = slices.IndexFunc(migrations, func(m migration) bool { return m.version == 19 })
	_, err = s.DB().Exec(migrations[i].sql)
	require.NoError(t, err)
	// Migration 20 numbers the routes it finds.
	i = slices.IndexFunc(migrations, func(m migration) bool { return m.version == 20 })
	numbering := migrations[i].sql[strings.Index(migrations[i].sql, "INSERT INTO route_numbers"):strings.Index(migrations[i].sql, "DROP TABLE")]
	_, err = s.DB().Exec(strings.Replace(numbering, "ALTER TABLE page_views ADD COLUMN route_no UINTEGER;", "", 1))
	require.NoError(t, err)
	assert.Equal(t, len(paths), count(t, s, `SELECT count(*) FROM page_views JOIN route_numbers r USING (route_no) WHERE r.route = page_views.route`),
		"every view has its route's number")
	rows, err := s.DB().Query(`SELECT subject, route FROM page_views ORDER BY view`)
	require.NoError(t, err)
	defer rows.Close()
	for rows.Next() {
		var subject, route string
		require.NoError(t, rows.Scan(&subject, &route))
		assert.Equal(t, route, routePattern(subject), "SQL and Go on %q", subject)
	}
	require.NoError(t, rows.Err())
}

func BenchmarkRoutePattern(b *testing.B) {
	for b.Loop() {
		routePattern("/catalog/default/component/service-42/docs?tab=ci")
	}
}
