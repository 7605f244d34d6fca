package queryapi

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/xuri/excelize/v2"
)

func TestRequestErrorsNameTheField(t *testing.T) {
	f := setup(t)
	day := baseRequest("active_users")
	day.Interval = "day"
	tests := []struct {
		name  string
		body  any
		field string
		want  string
	}{
		{"unknown metric", Request{Metric: "vibes", From: at(queryFrom), To: at(queryTo)}, "metric", "unknown metric"},
		{"no metric", Request{From: at(queryFrom), To: at(queryTo)}, "metric", "is missing"},
		{"no from", Request{Metric: "plugin_adoption", To: at(queryTo)}, "from", "is missing"},
		{"from after to", Request{Metric: "plugin_adoption", From: at(queryTo), To: at(queryFrom)}, "from", "must be before to"},
		{"range too long", Request{Metric: "plugin_adoption", From: at(queryTo.AddDate(-4, 0, 0)), To: at(queryTo)}, "to", "at most"},
		{"interval missing", Request{Metric: "active_users", From: at(queryFrom), To: at(queryTo)}, "interval", "is required"},
		{"unknown interval", Request{Metric: "active_users", From: at(queryFrom), To: at(queryTo), Interval: "fortnight"}, "interval", "unknown interval"},
		{"interval not supported", Request{Metric: "plugin_adoption", From: at(queryFrom), To: at(queryTo), Interval: "day"}, "interval", "does not bucket"},
		{"interval not among the metric's", Request{Metric: "stickiness", From: at(queryFrom), To: at(queryTo), Interval: "hour"}, "interval", "stickiness buckets by week or month"},
		{"unknown lens", Request{Metric: "retention", From: at(queryFrom), To: at(queryTo), Interval: "week", Lens: "sideways"}, "lens", "first_time, recurring"},
		{"a lens on a metric without", Request{Metric: "churn", From: at(queryFrom), To: at(queryTo), Interval: "week", Lens: LensRecurring}, "lens", "churn has no lenses"},
		{"unknown filter", Request{Metric: "plugin_adoption", From: at(queryFrom), To: at(queryTo), Filters: map[string][]string{"team": {"a"}}}, "filters.team", "does not filter by team"},
		{"filter not for this metric", Request{Metric: "platform_health", From: at(queryFrom), To: at(queryTo), Filters: map[string][]string{"entity_kind": {"component"}}}, "filters.entity_kind", "does not filter"},
		{"empty filter", Request{Metric: "plugin_adoption", From: at(queryFrom), To: at(queryTo), Filters: map[string][]string{"plugin": {}}}, "filters.plugin", "at least one value"},
		{"bad group_by", Request{Metric: "active_users", From: at(queryFrom), To: at(queryTo), Interval: "day", GroupBy: []string{"user"}}, "group_by", "cannot group by"},
		{"bad time zone", Request{Metric: "active_users", From: at(queryFrom), To: at(queryTo), Interval: "day", Timezone: "Mars/Olympus"}, "timezone", "unknown time zone"},
		{"negative limit", Request{Metric: "plugin_adoption", From: at(queryFrom), To: at(queryTo), Limit: -1}, "limit", "between"},
		{"malformed JSON", `{"metric": `, "", "invalid query JSON"},
		{"unknown field", `{"metric":"live","colour":"blue"}`, "", "unknown field"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := f.do(t, http.MethodPost, "/api/v1/query", viewerToken, tt.body)
			require.Equal(t, http.StatusBadRequest, a.status, string(a.body))
			e := a.apiError(t)
			assert.Equal(t, tt.field, e.Field)
			assert.Contains(t, e.Message, tt.want)
		})
	}
}

func TestRelativeTimes(t *testing.T) {
	f := setup(t)
	now := f.events[len(f.events)-1].Time.Add(time.Minute) // the fixture's clock
	absolute := f.query(t, Request{Metric: "plugin_adoption", From: at(now.Add(-7 * 24 * time.Hour)), To: at(now)})
	raw := f.do(t, http.MethodPost, "/api/v1/query", viewerToken, `{"metric":"plugin_adoption","from":"now-7d","to":"now"}`).result(t)
	assert.Equal(t, absolute.Rows, raw.Rows, "now-7d..now is the last seven days")
	assert.True(t, raw.Meta.From.Equal(now.Add(-7*24*time.Hour)))

	bad := f.do(t, http.MethodPost, "/api/v1/query", viewerToken, `{"metric":"plugin_adoption","from":"yesterday","to":"now"}`)
	assert.Equal(t, http.StatusBadRequest, bad.status)
	assert.Contains(t, bad.apiError(t).Message, "neither RFC 3339 nor relative")
}

func TestAccess(t *testing.T) {
	f := setup(t)
	events := baseRequest("events")
	assert.Equal(t, http.StatusUnauthorized, f.do(t, http.MethodPost, "/api/v1/query", "", events).status)
	assert.Equal(t, http.StatusUnauthorized, f.do(t, http.MethodPost, "/api/v1/query", "guess", events).status)
	assert.Equal(t, http.StatusForbidden, f.do(t, http.MethodPost, "/api/v1/query", viewerToken, events).status, "raw events need an analyst")
	assert.Equal(t, http.StatusOK, f.do(t, http.MethodPost, "/api/v1/query", analystToken, events).status)
	assert.Equal(t, http.StatusForbidden, f.do(t, http.MethodDelete, "/api/v1/users/someone", analystToken, nil).status, "only admins erase")
	assert.Equal(t, http.StatusUnauthorized, f.do(t, http.MethodGet, "/api/v1/metrics", "", nil).status)
	a := f.do(t, http.MethodPost, "/api/v1/query", viewerToken, "x", "Content-Type", "text/plain")
	assert.Equal(t, http.StatusUnsupportedMediaType, a.status)
	assert.Equal(t, http.StatusMethodNotAllowed, f.do(t, http.MethodGet, "/api/v1/query", viewerToken, nil).status)
	assert.Equal(t, http.StatusNotFound, f.do(t, http.MethodGet, "/api/v1/nothing", viewerToken, nil).status)

	huge := baseRequest("plugin_adoption")
	huge.Filters = map[string][]string{FilterPlugin: {strings.Repeat("p", maxQueryBytes)}}
	tooLarge := f.do(t, http.MethodPost, "/api/v1/query", viewerToken, huge)
	assert.Equal(t, http.StatusRequestEntityTooLarge, tooLarge.status)
	assert.Contains(t, tooLarge.apiError(t).Message, "at most 65536 bytes")
}

func TestEveryQueryIsAudited(t *testing.T) {
	f := setup(t)
	var before int
	require.NoError(t, f.store.DB().QueryRow(`SELECT count(*) FROM audit_log`).Scan(&before))
	req := baseRequest("plugin_adoption")
	res := f.query(t, req)
	f.do(t, http.MethodPost, "/api/v1/query", viewerToken, Request{Metric: "nope", From: at(queryFrom), To: at(queryTo)})
	var principal, role, action, target, params string
	var rows, suppressed int64
	var status int
	require.NoError(t, f.store.DB().QueryRow(`SELECT principal, role, action, target, params, row_count, suppressed, status
		FROM audit_log WHERE target = 'plugin_adoption' ORDER BY ts DESC LIMIT 1`).Scan(&principal, &role, &action, &target, &params, &rows, &suppressed, &status))
	assert.Equal(t, "grafana", principal)
	assert.Equal(t, "viewer", role)
	assert.Equal(t, "query", action)
	assert.Contains(t, params, `"metric":"plugin_adoption"`)
	assert.Equal(t, int64(len(res.Rows)), rows)
	assert.Equal(t, int64(res.Meta.SuppressedRows), suppressed)
	assert.Equal(t, http.StatusOK, status)
	var after int
	require.NoError(t, f.store.DB().QueryRow(`SELECT count(*) FROM audit_log`).Scan(&after))
	assert.Equal(t, before+2, after, "failed queries are audited too")
}

func TestKAnonymityFloor(t *testing.T) {
	f := setup(t)
	req := baseRequest("feature_adoption")
	req.Limit = maxLimit
	res := f.query(t, req)
	require.Positive(t, res.Meta.SuppressedRows, "clicks on rare items are withheld")
	assert.Equal(t, testK, res.Meta.KAnonymity)
	for _, users := range column(t, res, "users") {
		assert.GreaterOrEqual(t, users.(float64), float64(testK))
	}
}

func TestCSVAndXLSX(t *testing.T) {
	f := setup(t)
	req := baseRequest("plugin_adoption")
	want := f.query(t, req)

	a := f.do(t, http.MethodPost, "/api/v1/query", viewerToken, req, "Accept", "text/csv")
	require.Equal(t, http.StatusOK, a.status)
	assert.Equal(t, "text/csv", a.header.Get("Content-Type"))
	records, err := csv.NewReader(bytes.NewReader(a.body)).ReadAll()
	require.NoError(t, err)
	require.Len(t, records, len(want.Rows)+1)
	assert.Equal(t, []string{"plugin", "users", "events", "share", "previous_users", "trend", "retained_users", "retention"}, records[0])
	assert.Equal(t, want.Rows[0][0], records[1][0])

	a = f.do(t, http.MethodPost, "/api/v1/export?format=xlsx", viewerToken, req)
	require.Equal(t, http.StatusOK, a.status, string(a.body))
	assert.Contains(t, a.header.Get("Content-Disposition"), "plugin_adoption.xlsx")
	book, err := excelize.OpenReader(bytes.NewReader(a.body))
	require.NoError(t, err)
	rows, err := book.GetRows("plugin_adoption")
	require.NoError(t, err)
	require.Len(t, rows, len(want.Rows)+1)
	assert.Equal(t, want.Rows[0][0], rows[1][0])

	assert.Equal(t, http.StatusBadRequest, f.do(t, http.MethodPost, "/api/v1/export?format=pdf", viewerToken, req).status)
}

func TestMetricListingAndOpenAPI(t *testing.T) {
	f := setup(t)
	a := f.do(t, http.MethodGet, "/api/v1/metrics", viewerToken, nil)
	require.Equal(t, http.StatusOK, a.status)
	var listing MetricListing
	require.NoError(t, json.Unmarshal(a.body, &listing))
	names := map[string]bool{}
	for _, m := range listing.Metrics {
		names[m.Name] = true
		assert.NotEmpty(t, m.Description)
		assert.NotEmpty(t, m.Columns)
	}
	for _, want := range []string{"active_users", "new_vs_returning", "plugin_adoption", "feature_adoption", "top_entities",
		"templates", "search", "techdocs", "platform_health", "live", "events"} {
		assert.True(t, names[want], want)
	}

	a = f.do(t, http.MethodGet, "/api/v1/openapi.json", "", nil)
	require.Equal(t, http.StatusOK, a.status, "the document needs no token")
	var doc map[string]any
	require.NoError(t, json.Unmarshal(a.body, &doc))
	assert.Equal(t, "3.1.0", doc["openapi"])
	paths := doc["paths"].(map[string]any)
	for _, p := range []string{"/api/v1/metrics", "/api/v1/query", "/api/v1/export", "/api/v1/users/{pseudonym}"} {
		assert.Contains(t, paths, p)
	}
	enum := doc["components"].(map[string]any)["schemas"].(map[string]any)["Query"].(map[string]any)["properties"].(map[string]any)["metric"].(map[string]any)["enum"].([]any)
	assert.Len(t, enum, len(listing.Metrics), "every metric of the catalogue is in the document")
}

func TestErasureIsAuditedAndComplete(t *testing.T) {
	f := newFixture(t, t.TempDir(), "Europe/Berlin", nil) // its own: erasure changes the data the other tests compare with
	defer f.close()
	victim := f.events[0].User
	a := f.do(t, http.MethodDelete, "/api/v1/users/"+url.PathEscape(victim), adminToken, nil)
	require.Equal(t, http.StatusOK, a.status, string(a.body))
	var n int
	require.NoError(t, f.store.DB().QueryRow(`SELECT count(*) FROM events WHERE user_key = ?`, victim).Scan(&n))
	assert.Zero(t, n)
	require.NoError(t, f.store.DB().QueryRow(`SELECT count(*) FROM audit_log WHERE action = 'erase' AND target = ? AND row_count > 0`, victim).Scan(&n))
	assert.Equal(t, 1, n)
}

func TestCommittedOpenAPIIsUpToDate(t *testing.T) {
	want, err := OpenAPIJSON()
	require.NoError(t, err)
	committed, err := os.ReadFile(filepath.Join("..", "..", "..", "..", OpenAPIPath))
	require.NoError(t, err, "run `make generate`")
	assert.Equal(t, string(want), string(committed), "%s is stale: run `make generate`", OpenAPIPath)
}
