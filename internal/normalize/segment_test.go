package normalize

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/insights-collector/insights-collector/internal/semconv"
	"github.com/insights-collector/insights-collector/internal/wireformat"
)

func decodeSegment(t testing.TB, call, body string) Result {
	t.Helper()
	res, err := Segment([]byte(body), call, testOptions(), newRequest([]byte(body)))
	require.NoError(t, err)
	return res
}

func TestSegmentBatchFromBackstageSegmentProvider(t *testing.T) {
	occs := samples(t)
	// The provider sends whole batches at once; sentAt equal to the newest event (no client clock skew).
	body, err := wireformat.Segment(occs, received)
	require.NoError(t, err)
	res := decodeSegment(t, SegmentBatch, string(body))
	require.Empty(t, res.Rejected)
	recs := records(res.Logs)
	require.Len(t, recs, len(occs))
	for i, lr := range recs {
		occ := occs[i]
		assert.Equal(t, "backstage."+occ.Action, lr.EventName())
		assert.Equal(t, occ.Subject, str(t, lr, semconv.AttrSubject))
		assert.Equal(t, occ.Context["pluginId"], str(t, lr, semconv.AttrPluginID))
		assert.Equal(t, occ.Context["extensionId"], str(t, lr, semconv.AttrExtensionID))
		assert.Equal(t, semconv.FormatSegment, str(t, lr, semconv.AttrSourceFormat))
		assert.Equal(t, occ.Time, lr.Timestamp().AsTime().UTC())
		if occ.User != "" {
			assert.Equal(t, occ.User, str(t, lr, semconv.AttrUserID))
		} else {
			assert.Equal(t, "anonymous", str(t, lr, semconv.AttrEnduserPseudoID))
		}
	}
	create := recs[17]
	assert.Equal(t, "template:default/local-debug-template", str(t, create, semconv.AttrEntityRef))
	assert.Equal(t, int64(1), attr(t, create, semconv.AttrAttributesPrefix+"templateSteps").Int())
	assert.Equal(t, 4.0, attr(t, recs[20], semconv.AttrValue).Double())
}

func TestSegmentCalls(t *testing.T) {
	tests := []struct {
		name, call, body string
		check            func(t *testing.T, res Result)
	}{
		{"track call with generic properties", SegmentTrack,
			`{"userId":"user:default/jdoe","event":"deploy","properties":{"subject":"petstore","value":3,"env":"prod","tags":["a","b"],"nested":{"x":1}},"timestamp":"2026-11-25T19:00:00Z"}`,
			func(t *testing.T, res Result) {
				lr := records(res.Logs)[0]
				assert.Equal(t, "backstage.deploy", lr.EventName())
				assert.Equal(t, "petstore", str(t, lr, semconv.AttrSubject))
				assert.Equal(t, 3.0, attr(t, lr, semconv.AttrValue).Double())
				assert.Equal(t, "prod", str(t, lr, semconv.AttrAttributesPrefix+"env"))
				assert.Equal(t, []any{"a", "b"}, attr(t, lr, semconv.AttrAttributesPrefix+"tags").Slice().AsRaw())
				assert.Equal(t, map[string]any{"x": int64(1)}, attr(t, lr, semconv.AttrAttributesPrefix+"nested").Map().AsRaw())
			}},
		{"page call with properties and context", SegmentPage,
			`{"anonymousId":"anon-1","name":"/docs","category":"techdocs","properties":{"path":"/docs","url":"https://backstage.example.com/docs","title":"Docs"},
			  "context":{"ip":"203.0.113.7","userAgent":"Mozilla/5.0","locale":"en-GB","library":{"name":"analytics.js"}}}`,
			func(t *testing.T, res Result) {
				lr := records(res.Logs)[0]
				assert.Equal(t, "backstage.navigate", lr.EventName())
				assert.Equal(t, "/docs", str(t, lr, semconv.AttrSubject))
				assert.Equal(t, "techdocs", str(t, lr, semconv.AttrPluginID))
				assert.Equal(t, "anon-1", str(t, lr, semconv.AttrEnduserPseudoID))
				assert.Equal(t, "https://backstage.example.com/docs", str(t, lr, semconv.AttrURLFull))
				assert.Equal(t, "Docs", str(t, lr, semconv.AttrContextPrefix+"title"))
				assert.Equal(t, "203.0.113.7", str(t, lr, semconv.AttrClientAddress))
				assert.Equal(t, "Mozilla/5.0", str(t, lr, semconv.AttrUserAgent))
				assert.Equal(t, "en-GB", str(t, lr, semconv.AttrContextPrefix+"locale"))
				_, hasLibrary := lr.Attributes().Get(semconv.AttrContextPrefix + "library")
				assert.False(t, hasLibrary)
				assert.Equal(t, semconv.TimestampMissing, str(t, lr, semconv.AttrTimestampFallback))
			}},
		{"page without a name takes the path", SegmentPage,
			`{"userId":"u1","properties":{"path":"/catalog"}}`,
			func(t *testing.T, res Result) {
				assert.Equal(t, "/catalog", str(t, records(res.Logs)[0], semconv.AttrSubject))
			}},
		{"identify call keeps traits", SegmentIdentify,
			`{"userId":"8c1f","traits":{"appVersion":"1.2.0"}}`,
			func(t *testing.T, res Result) {
				lr := records(res.Logs)[0]
				assert.Equal(t, "backstage.identify", lr.EventName())
				assert.Equal(t, "1.2.0", str(t, lr, semconv.AttrAttributesPrefix+"appVersion"))
			}},
		{"group call names the team", SegmentGroup,
			`{"userId":"8c1f","groupId":"platform","traits":{"name":"Platform"}}`,
			func(t *testing.T, res Result) {
				lr := records(res.Logs)[0]
				assert.Equal(t, "backstage.group", lr.EventName())
				assert.Equal(t, "platform", str(t, lr, semconv.AttrSubject))
				assert.Equal(t, []any{"group:default/platform"}, attr(t, lr, semconv.AttrUserTeams).Slice().AsRaw())
			}},
		{"writeKey in the body (analytics.js)", SegmentTrack,
			`{"writeKey":"wk-123","userId":"u1","event":"click"}`,
			func(t *testing.T, res Result) { assert.Equal(t, "wk-123", res.WriteKey) }},
		{"numeric userId", SegmentTrack,
			`{"userId":42,"event":"click"}`,
			func(t *testing.T, res Result) {
				assert.Equal(t, "42", str(t, records(res.Logs)[0], semconv.AttrUserID))
			}},
		{"messageId that is a UUID is kept", SegmentTrack,
			`{"userId":"u1","event":"click","messageId":"5F0C2B1E-8D4A-4C71-9E2B-1F0A3C5D7E9B"}`,
			func(t *testing.T, res Result) {
				assert.Equal(t, "5f0c2b1e-8d4a-4c71-9e2b-1f0a3c5d7e9b", str(t, records(res.Logs)[0], semconv.AttrEventID))
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := decodeSegment(t, tt.call, tt.body)
			require.Empty(t, res.Rejected)
			require.Equal(t, 1, res.Accepted)
			tt.check(t, res)
		})
	}
}

func TestSegmentMessageIDThatIsNotAUUIDIsHashedStably(t *testing.T) {
	body := `{"userId":"u1","event":"click","messageId":"ajs-next-1732560000-abc"}`
	a := str(t, records(decodeSegment(t, SegmentTrack, body).Logs)[0], semconv.AttrEventID)
	b := str(t, records(decodeSegment(t, SegmentTrack, `{"userId":"u2","event":"other","messageId":"ajs-next-1732560000-abc"}`).Logs)[0], semconv.AttrEventID)
	assert.Len(t, a, 36)
	assert.Equal(t, a, b, "the sender's id alone identifies the event")
}

func TestSegmentCorrectsClientClockSkewWithSentAt(t *testing.T) {
	// The client's clock is 2 hours fast: it says it sent at 22:00 an event it stamped 21:59.
	body := `{"batch":[{"type":"track","userId":"u1","event":"click","timestamp":"2026-11-25T21:59:00.000Z"}],"sentAt":"2026-11-25T22:00:00.000Z"}`
	lr := records(decodeSegment(t, SegmentBatch, body).Logs)[0]
	assert.Equal(t, received.Add(-time.Minute), lr.Timestamp().AsTime().UTC())
	_, flagged := lr.Attributes().Get(semconv.AttrTimestampFallback)
	assert.False(t, flagged)
}

func TestSegmentBatchLevelContextAppliesToMessages(t *testing.T) {
	body := `{"batch":[{"type":"track","userId":"u1","event":"a"},{"type":"track","userId":"u1","event":"b","context":{"ip":"198.51.100.1"}}],
		"context":{"ip":"203.0.113.9","groupId":"ops"}}`
	recs := records(decodeSegment(t, SegmentBatch, body).Logs)
	assert.Equal(t, "203.0.113.9", str(t, recs[0], semconv.AttrClientAddress))
	assert.Equal(t, "198.51.100.1", str(t, recs[1], semconv.AttrClientAddress), "the message's own context wins")
	assert.Equal(t, []any{"group:default/ops"}, attr(t, recs[1], semconv.AttrUserTeams).Slice().AsRaw())
}

func TestSegmentRejectsBadMessagesAndKeepsTheRest(t *testing.T) {
	good := `{"type":"track","userId":"u1","event":"click"}`
	tests := []struct {
		name, message string
		reason        Reason
	}{
		{"no identity", `{"type":"track","event":"click"}`, ReasonMissingIdentity},
		{"track without event", `{"type":"track","userId":"u1"}`, ReasonMissingAction},
		{"alias", `{"type":"alias","userId":"u1","previousId":"a"}`, ReasonUnsupportedType},
		{"no type", `{"userId":"u1","event":"click"}`, ReasonUnsupportedType},
		{"group without groupId", `{"type":"group","userId":"u1"}`, ReasonInvalidField},
		{"properties not an object", `{"type":"track","userId":"u1","event":"click","properties":"x"}`, ReasonInvalidField},
		{"bad timestamp", `{"type":"track","userId":"u1","event":"click","timestamp":"soon"}`, ReasonInvalidField},
		{"not an object", `42`, ReasonNotAnObject},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := decodeSegment(t, SegmentBatch, `{"batch":[`+good+`,`+tt.message+`,`+good+`]}`)
			assert.Equal(t, 2, res.Accepted)
			require.Len(t, res.Rejected, 1)
			assert.Equal(t, 1, res.Rejected[0].Index)
			assert.Equal(t, tt.reason, res.Rejected[0].Reason, res.Rejected[0].Message)
			assert.Len(t, records(res.Logs), 2)
		})
	}
}

func TestSegmentBodyErrors(t *testing.T) {
	for name, body := range map[string]string{
		"not JSON":            `{"batch":[`,
		"an array":            `[{"type":"track"}]`,
		"batch not an array":  `{"batch":{"type":"track"}}`,
		"garbage after batch": `{"batch":[]}}`,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Segment([]byte(body), SegmentBatch, testOptions(), newRequest([]byte(body)))
			assert.ErrorIs(t, err, ErrMalformed)
		})
	}
	opts := testOptions()
	opts.MaxEvents = 1
	body := `{"batch":[{"type":"track","userId":"u","event":"a"},{"type":"track","userId":"u","event":"b"}]}`
	_, err := Segment([]byte(body), SegmentBatch, opts, newRequest([]byte(body)))
	var tooMany *TooManyEventsError
	assert.ErrorAs(t, err, &tooMany)
}
