package normalize

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"

	"github.com/insights-collector/insights-collector/internal/backstagesamples"
	"github.com/insights-collector/insights-collector/internal/semconv"
	"github.com/insights-collector/insights-collector/internal/wireformat"
)

// The fuzz targets run their seed corpus with every `go test`; `make fuzz` explores further.

// checkResult asserts what holds for any input: every accepted record is a complete contract event, the counts
// add up, and the output can be encoded as OTLP (valid UTF-8 everywhere).
func checkResult(t *testing.T, res Result) {
	require.Equal(t, res.Accepted, res.Logs.LogRecordCount())
	for _, lr := range records(res.Logs) {
		action, ok := semconv.ActionOf(lr.EventName())
		require.True(t, ok, "event name %q", lr.EventName())
		require.Equal(t, action, str(t, lr, semconv.AttrAction))
		require.Len(t, str(t, lr, semconv.AttrEventID), 36)
		require.NotZero(t, lr.Timestamp())
	}
	for _, r := range res.Rejected {
		require.NotEmpty(t, r.Reason)
		require.NotEmpty(t, r.Message)
	}
	_, err := plogotlp.NewExportRequestFromLogs(res.Logs).MarshalProto()
	require.NoError(t, err)
}

func addSampleSeeds(f *testing.F, formats ...wireformat.Format) {
	occs, err := backstagesamples.AnalyticsEvents()
	require.NoError(f, err)
	for _, format := range formats {
		body, err := wireformat.Encode(format, occs[:8])
		require.NoError(f, err)
		f.Add(body)
	}
}

func FuzzAnalyticsEvents(f *testing.F) {
	addSampleSeeds(f, wireformat.FormatEvents, wireformat.FormatGeneric)
	for _, seed := range []string{
		`[{"action":"click","attributes":{"kind":"x","name":{"a":[1,null,true]}},"context":{"timestamp":1795636800000}}]`,
		`{"event":{"action":"navigate","attributes":{"kind":"Component","name":"a"}},"teamMetadata":{"relations":[{"type":"memberOf","targetRef":"group:default/a"}]}}`,
		`[{"action":"\u0000"},{"action":"x","subject":"\ud800"},3,null,[]]`,
		`[{"event":{"action":"a"},"action":"b"}]`,
		`[{"action":"a"}]]`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		res, err := AnalyticsEvents(body, testOptions(), newRequest(body))
		if err != nil {
			return
		}
		checkResult(t, res)
	})
}

func FuzzSegment(f *testing.F) {
	addSampleSeeds(f, wireformat.FormatSegment)
	for _, seed := range []string{
		`{"batch":[{"type":"page","anonymousId":"a","properties":{"path":"/x","entityRef":"Component:x"}}],"context":{"ip":"1.2.3.4"},"sentAt":"2026-11-25T19:00:00Z","writeKey":"k"}`,
		`{"batch":[{"type":"track","userId":1,"event":"x","properties":{"context":{"pluginId":"a"},"attributes":{"b":[{}]}}},{"type":"alias"}]}`,
		`{"batch":[{"type":"group","userId":"u","groupId":"","traits":{"x":null}}]}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, call := range []string{SegmentBatch, SegmentTrack, SegmentPage} {
			res, err := Segment(body, call, testOptions(), newRequest(body))
			if err != nil {
				continue
			}
			checkResult(t, res)
		}
	})
}

// FuzzOTLP feeds arbitrary OTLP/JSON to the normalisation. (Only JSON: pdata's protobuf decoder is upstream's,
// fuzzed there, and runs at a few executions per second under the fuzzer's instrumentation.)
func FuzzOTLP(f *testing.F) {
	addSampleSeeds(f, wireformat.FormatOTLPJSON)
	audit, err := backstagesamples.BackendLogsJSON()
	require.NoError(f, err)
	f.Add(audit)
	f.Add([]byte(strings.ReplaceAll(string(audit), `"boolValue": true`, `"stringValue": "true"`)))
	f.Fuzz(func(t *testing.T, body []byte) {
		ld, err := (&plog.JSONUnmarshaler{}).UnmarshalLogs(body)
		if err != nil {
			return
		}
		checkResult(t, OTLP(ld, testOptions(), newRequest(body)))
	})
}
