package normalize

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/insights-collector/insights-collector/internal/backstagesamples"
	"github.com/insights-collector/insights-collector/internal/semconv"
	"github.com/insights-collector/insights-collector/internal/simulator"
	"github.com/insights-collector/insights-collector/internal/wireformat"
)

// received is when the tests' requests arrive: shortly after the samples were captured.
var received = time.Date(2026, 11, 25, 20, 0, 0, 0, time.UTC)

func testOptions() *Options {
	return &Options{MaxEventAge: 7 * 24 * time.Hour, MaxClockSkew: 5 * time.Minute, MaxEvents: 2500}
}

func newRequest(body []byte) *Request { return &Request{Received: received, Body: body} }

func samples(t testing.TB) []wireformat.Occurrence {
	occs, err := backstagesamples.AnalyticsEvents()
	require.NoError(t, err)
	require.Len(t, occs, 32)
	return occs
}

func records(ld plog.Logs) []plog.LogRecord {
	var out []plog.LogRecord
	for i := 0; i < ld.ResourceLogs().Len(); i++ {
		sls := ld.ResourceLogs().At(i).ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			lrs := sls.At(j).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				out = append(out, lrs.At(k))
			}
		}
	}
	return out
}

func attr(t testing.TB, lr plog.LogRecord, key string) pcommon.Value {
	t.Helper()
	v, ok := lr.Attributes().Get(key)
	require.True(t, ok, "attribute %s missing; have %v", key, lr.Attributes().AsRaw())
	return v
}

func str(t testing.TB, lr plog.LogRecord, key string) string { return attr(t, lr, key).Str() }

func decodeEvents(t testing.TB, body []byte) Result {
	t.Helper()
	res, err := AnalyticsEvents(body, testOptions(), newRequest(body))
	require.NoError(t, err)
	return res
}

func TestAnalyticsEventsFromAdoptionInsightsModule(t *testing.T) {
	occs := samples(t)
	body, err := wireformat.AdoptionInsights(occs)
	require.NoError(t, err)
	res := decodeEvents(t, body)
	require.Empty(t, res.Rejected)
	require.Equal(t, len(occs), res.Accepted)
	recs := records(res.Logs)
	require.Len(t, recs, len(occs))

	ids := map[string]bool{}
	for i, lr := range recs {
		occ := occs[i]
		assert.Equal(t, "backstage."+occ.Action, lr.EventName())
		assert.Equal(t, occ.Action, str(t, lr, semconv.AttrAction))
		assert.Equal(t, occ.Time, lr.Timestamp().AsTime(), "payload time within the window is kept")
		assert.Equal(t, received, lr.ObservedTimestamp().AsTime())
		assert.Equal(t, semconv.FormatAnalyticsEvent, str(t, lr, semconv.AttrSourceFormat))
		assert.Equal(t, occ.Context["pluginId"], str(t, lr, semconv.AttrPluginID))
		assert.Equal(t, occ.Context["extensionId"], str(t, lr, semconv.AttrExtensionID))
		if occ.User != "" {
			assert.Equal(t, occ.User, str(t, lr, semconv.AttrUserID), "context.userName is the plain user")
		} else {
			_, ok := lr.Attributes().Get(semconv.AttrUserID)
			assert.False(t, ok, "an event captured before sign-in has no user")
		}
		id := str(t, lr, semconv.AttrEventID)
		assert.Len(t, id, 36)
		assert.False(t, ids[id], "event ids are unique")
		ids[id] = true
		_, hasFallback := lr.Attributes().Get(semconv.AttrTimestampFallback)
		assert.False(t, hasFallback)
	}

	// navigate to an entity page: the entity comes from the route params.
	assert.Equal(t, "component:default/example-website", str(t, recs[4], semconv.AttrEntityRef))
	assert.Equal(t, "component", str(t, recs[4], semconv.AttrEntityKind))
	assert.Equal(t, "example-website", str(t, recs[4], semconv.AttrAttributesPrefix+"name"))
	// click with context.entityRef.
	assert.Equal(t, "component:default/example-website", str(t, recs[5], semconv.AttrEntityRef))
	assert.Equal(t, "/catalog/default/component/example-website/apis", str(t, recs[5], semconv.AttrAttributesPrefix+"to"))
	// create: the template, and an integer attribute stays an integer.
	create := recs[17]
	require.Equal(t, "backstage.create", create.EventName())
	assert.Equal(t, "template:default/local-debug-template", str(t, create, semconv.AttrEntityRef))
	assert.Equal(t, "template", str(t, create, semconv.AttrEntityKind))
	assert.Equal(t, int64(1), attr(t, create, semconv.AttrAttributesPrefix+"templateSteps").Int())
	// search: the term and the result count.
	search := recs[20]
	require.Equal(t, "backstage.search", search.EventName())
	assert.Equal(t, "example", str(t, search, semconv.AttrSubject))
	assert.Equal(t, 4.0, attr(t, search, semconv.AttrValue).Double())
	// discover: extensionId wins; the legacy-style extension and searchTypes stay as context.
	discover := recs[22]
	require.Equal(t, "backstage.discover", discover.EventName())
	assert.Equal(t, "search-result-list-item:catalog", str(t, discover, semconv.AttrExtensionID))
	assert.Equal(t, "SearchResult", str(t, discover, semconv.AttrContextPrefix+"extension"))
	assert.Equal(t, "", str(t, discover, semconv.AttrContextPrefix+"searchTypes"))
	assert.Equal(t, 1.0, attr(t, discover, semconv.AttrValue).Double())

	// The same batch again (a retry) yields the same ids.
	again := records(decodeEvents(t, body).Logs)
	for i := range recs {
		assert.Equal(t, str(t, recs[i], semconv.AttrEventID), str(t, again[i], semconv.AttrEventID))
	}
}

func TestAnalyticsEventsFromGenericModule(t *testing.T) {
	occs := samples(t)[:6]
	for i := range occs {
		occs[i].SessionID = "lqk2j3m1a8x"
		occs[i].Teams = []string{"team-a", "group:Default/Platform"}
	}
	body, err := wireformat.Generic(occs)
	require.NoError(t, err)
	res := decodeEvents(t, body)
	require.Empty(t, res.Rejected)
	recs := records(res.Logs)
	require.Len(t, recs, 6)
	for i, lr := range recs {
		assert.Equal(t, semconv.FormatGeneric, str(t, lr, semconv.AttrSourceFormat))
		assert.Equal(t, occs[i].User, str(t, lr, semconv.AttrUserID))
		assert.Equal(t, "lqk2j3m1a8x", str(t, lr, semconv.AttrSessionID))
		assert.Equal(t, occs[i].Time, lr.Timestamp().AsTime())
		assert.Equal(t, []any{"group:default/team-a", "group:default/platform"}, attr(t, lr, semconv.AttrUserTeams).Slice().AsRaw())
	}
	assert.Equal(t, "component:default/example-website", str(t, recs[4], semconv.AttrEntityRef))
}

func TestAnalyticsEventsHashedUserIDOnly(t *testing.T) {
	lr := records(decodeEvents(t, []byte(`[{"action":"click","context":{"userId":"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}}]`)).Logs)[0]
	assert.Equal(t, "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", str(t, lr, semconv.AttrUserID),
		"without userName, the module's hashed userId identifies the user")
}

func TestAnalyticsEventsLegacyFrontendSystem(t *testing.T) {
	body := []byte(`[{"action":"navigate","subject":"/catalog/default/component/petstore",
		"attributes":{"namespace":"default","kind":"Component","name":"petstore"},
		"context":{"routeRef":"catalog:entity","pluginId":"catalog","extension":"App","userName":"user:default/jdoe","timestamp":"2026-11-25T19:59:00.000Z"}}]`)
	lr := records(decodeEvents(t, body).Logs)[0]
	assert.Equal(t, "App", str(t, lr, semconv.AttrExtensionID))
	assert.Equal(t, "catalog:entity", str(t, lr, semconv.AttrRouteRef))
	assert.Equal(t, "component:default/petstore", str(t, lr, semconv.AttrEntityRef), "entity refs are lower-cased")
	_, ok := lr.Attributes().Get(semconv.AttrContextPrefix + "extension")
	assert.False(t, ok, "a lone legacy extension is the extension id, not extra context")
}

func TestAnalyticsEventsRejectsBadEventsAndKeepsTheRest(t *testing.T) {
	good := `{"action":"click","subject":"Docs","context":{"pluginId":"techdocs","extensionId":"page:techdocs"}}`
	tests := []struct {
		name   string
		event  string
		reason Reason
		detail string
	}{
		{"not an object", `"click"`, ReasonNotAnObject, "not a JSON object"},
		{"missing action", `{"subject":"x","context":{}}`, ReasonMissingAction, "action is missing"},
		{"empty action", `{"action":"","context":{}}`, ReasonMissingAction, "action is missing"},
		{"action of the wrong type", `{"action":5,"context":{}}`, ReasonInvalidField, "action must be a string"},
		{"action too long", `{"action":"` + strings.Repeat("a", semconv.MaxActionBytes+1) + `"}`, ReasonInvalidAction, "at most 128"},
		{"action with a control character", `{"action":"cl\nick"}`, ReasonInvalidAction, "control character"},
		{"subject too long", `{"action":"click","subject":"` + strings.Repeat("s", semconv.MaxSubjectBytes+1) + `"}`, ReasonFieldTooLong, "subject has"},
		{"value not a number", `{"action":"search","value":"4"}`, ReasonInvalidField, "value must be a number"},
		{"attributes not an object", `{"action":"click","attributes":[1]}`, ReasonInvalidField, "attributes must be an object"},
		{"context not an object", `{"action":"click","context":"catalog"}`, ReasonInvalidField, "context must be an object"},
		{"pluginId not a string", `{"action":"click","context":{"pluginId":7}}`, ReasonInvalidField, "context.pluginId must be a string"},
		{"bad timestamp", `{"action":"click","context":{"timestamp":"yesterday"}}`, ReasonInvalidField, "context.timestamp must be"},
		{"envelope event not an object", `{"event":"click","user":"user:default/a"}`, ReasonInvalidField, "event must be an AnalyticsEvent"},
		{"envelope and bare mixed", `{"event":{"action":"click"},"action":"click"}`, ReasonAmbiguousShape, "mixes a Generic envelope"},
		{"envelope user not a string", `{"event":{"action":"click"},"user":{"id":1}}`, ReasonInvalidField, "user must be a string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := []byte("[" + good + "," + tt.event + "," + good + "]")
			res := decodeEvents(t, body)
			assert.Equal(t, 2, res.Accepted)
			require.Len(t, res.Rejected, 1)
			assert.Equal(t, 1, res.Rejected[0].Index)
			assert.Equal(t, tt.reason, res.Rejected[0].Reason)
			assert.Contains(t, res.Rejected[0].Message, tt.detail)
			recs := records(res.Logs)
			require.Len(t, recs, 2, "only the accepted events are passed on")
			for _, lr := range recs {
				assert.Equal(t, "backstage.click", lr.EventName())
			}
		})
	}
}

func TestAnalyticsEventsBodyErrors(t *testing.T) {
	tests := []struct {
		name string
		body string
		max  int
		want string
	}{
		{"not JSON", `[{"action":`, 0, "invalid JSON"},
		{"trailing garbage in an event", `[{"action":"click"}}]`, 0, "invalid JSON"},
		{"a string", `"hello"`, 0, "expected a JSON array"},
		{"empty body", ``, 0, "expected a JSON array"},
		{"two arrays", `[{"action":"click"}][]`, 0, "unexpected data after"},
		{"too many events", `[{"action":"a"},{"action":"b"},{"action":"c"}]`, 2, "at most 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := testOptions()
			opts.MaxEvents = tt.max
			_, err := AnalyticsEvents([]byte(tt.body), opts, newRequest([]byte(tt.body)))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestAnalyticsEventsSingleObjectIsABatchOfOne(t *testing.T) {
	res := decodeEvents(t, []byte(`{"action":"click","subject":"x"}`))
	assert.Equal(t, 1, res.Accepted)
}

func TestTimestampWindow(t *testing.T) {
	tests := []struct {
		name     string
		ts       string
		want     time.Time
		fallback string
	}{
		{"within the window", `"2026-11-25T19:00:00.000Z"`, time.Date(2026, 11, 25, 19, 0, 0, 0, time.UTC), ""},
		{"epoch milliseconds", `1795636800000`, time.UnixMilli(1795636800000).UTC(), ""},
		{"fractional epoch milliseconds", `1795636800000.7`, time.UnixMilli(1795636800000).UTC(), ""},
		{"missing", `null`, received, semconv.TimestampMissing},
		{"older than max_event_age", `"2026-11-01T00:00:00.000Z"`, received, semconv.TimestampTooOld},
		{"beyond the clock skew", `"2026-11-25T20:10:00.000Z"`, received, semconv.TimestampInFuture},
		{"within the clock skew", `"2026-11-25T20:04:00.000Z"`, time.Date(2026, 11, 25, 20, 4, 0, 0, time.UTC), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lr := records(decodeEvents(t, []byte(`[{"action":"click","context":{"timestamp":`+tt.ts+`}}]`)).Logs)[0]
			assert.Equal(t, tt.want, lr.Timestamp().AsTime().UTC())
			fallback, ok := lr.Attributes().Get(semconv.AttrTimestampFallback)
			if tt.fallback == "" {
				assert.False(t, ok)
				return
			}
			require.True(t, ok)
			assert.Equal(t, tt.fallback, fallback.Str())
			_, hasOriginal := lr.Attributes().Get(semconv.AttrTimestampOriginal)
			assert.Equal(t, tt.fallback != semconv.TimestampMissing, hasOriginal)
		})
	}
}

func TestEventIDsWithoutTimestampFollowTheBody(t *testing.T) {
	body := []byte(`[{"action":"click","subject":"x"},{"action":"click","subject":"x"}]`)
	first := records(decodeEvents(t, body).Logs)
	again := records(decodeEvents(t, body).Logs)
	assert.NotEqual(t, str(t, first[0], semconv.AttrEventID), str(t, first[1], semconv.AttrEventID), "the index tells identical events apart")
	assert.Equal(t, str(t, first[0], semconv.AttrEventID), str(t, again[0], semconv.AttrEventID), "a byte-identical retry has the same ids")
	other := records(decodeEvents(t, []byte(`[{"action":"click","subject":"x"}, {"action":"click","subject":"x"}]`)).Logs)
	assert.NotEqual(t, str(t, first[0], semconv.AttrEventID), str(t, other[0], semconv.AttrEventID))
}

func TestInstanceStamping(t *testing.T) {
	body := []byte(`[{"action":"click"}]`)
	req := newRequest(body)
	req.Instance = "portal-eu"
	res, err := AnalyticsEvents(body, testOptions(), req)
	require.NoError(t, err)
	resource := res.Logs.ResourceLogs().At(0).Resource().Attributes()
	v, _ := resource.Get(semconv.ResourceInstance)
	assert.Equal(t, "portal-eu", v.Str())
	v, _ = resource.Get(semconv.ResourceServiceName)
	assert.Equal(t, semconv.DefaultServiceName, v.Str())
}

func TestRejectionsEncodeAsJSON(t *testing.T) {
	res := decodeEvents(t, []byte(`[{"action":""}]`))
	out, err := json.Marshal(res.Rejected)
	require.NoError(t, err)
	assert.JSONEq(t, `[{"index":0,"reason":"missing_action","message":"action is missing or empty"}]`, string(out))
}

// The simulator's traffic is what the demo, the benchmarks and later the store's tests send: every event of it
// must be accepted in every format, with its user, plugin and time intact.
func TestSimulatedTrafficIsAcceptedInEveryFormat(t *testing.T) {
	cfg := simulator.DefaultConfig()
	cfg.Start, cfg.Days, cfg.Users, cfg.Teams = received.Add(-24*time.Hour), 1, 40, 4
	world, err := simulator.NewWorld(cfg)
	require.NoError(t, err)
	occs := world.Day(0)
	require.NotEmpty(t, occs)
	for _, format := range wireformat.Formats {
		t.Run(string(format), func(t *testing.T) {
			received := occs[len(occs)-1].Time.Add(time.Minute)
			body, err := wireformat.Encode(format, occs)
			if format == wireformat.FormatSegment {
				body, err = wireformat.Segment(occs, received) // sent as it is received: no clock skew
			}
			require.NoError(t, err)
			req := newRequest(body)
			req.Received = received
			var res Result
			switch format {
			case wireformat.FormatOTLP, wireformat.FormatOTLPJSON:
				res = OTLP(wireformat.OTLP(occs), testOptions(), req)
			case wireformat.FormatSegment:
				res, err = Segment(body, SegmentBatch, testOptions(), req)
			default:
				res, err = AnalyticsEvents(body, testOptions(), req)
			}
			require.NoError(t, err)
			require.Empty(t, res.Rejected)
			recs := records(res.Logs)
			require.Len(t, recs, len(occs))
			for i, lr := range recs {
				assert.Equal(t, occs[i].User, str(t, lr, semconv.AttrUserID))
				assert.Equal(t, occs[i].Context["pluginId"], str(t, lr, semconv.AttrPluginID))
				assert.WithinDuration(t, occs[i].Time, lr.Timestamp().AsTime(), time.Millisecond, "JSON formats carry milliseconds")
			}
		})
	}
}
