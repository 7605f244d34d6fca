package normalize

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/insights-collector/insights-collector/internal/backstagesamples"
	"github.com/insights-collector/insights-collector/internal/semconv"
	"github.com/insights-collector/insights-collector/internal/wireformat"
)

func TestOTLPEventsFromOurModulePassThrough(t *testing.T) {
	occs := samples(t)
	ld := wireformat.OTLP(occs)
	res := OTLP(ld, testOptions(), newRequest(nil))
	require.Empty(t, res.Rejected)
	recs := records(res.Logs)
	require.Len(t, recs, len(occs))

	// The same events sent as bare AnalyticsEvents get the same ids: the id follows the event, not the format.
	body, err := wireformat.AdoptionInsights(occs)
	require.NoError(t, err)
	viaJSON := records(decodeEvents(t, body).Logs)
	for i, lr := range recs {
		assert.Equal(t, occs[i].Action, str(t, lr, semconv.AttrAction))
		assert.Equal(t, semconv.FormatOTLP, str(t, lr, semconv.AttrSourceFormat))
		assert.Equal(t, received, lr.ObservedTimestamp().AsTime())
		assert.Equal(t, str(t, viaJSON[i], semconv.AttrEventID), str(t, lr, semconv.AttrEventID), "event %d", i)
	}
	assert.Equal(t, "component:default/example-website", str(t, recs[4], semconv.AttrEntityRef), "navigate route params")
	assert.Equal(t, int64(1), attr(t, recs[17], semconv.AttrAttributesPrefix+"templateSteps").Int())
}

func TestOTLPEventValidation(t *testing.T) {
	tests := []struct {
		name   string
		build  func(lr plog.LogRecord)
		reason Reason
		check  func(t *testing.T, lr plog.LogRecord)
	}{
		{name: "int value becomes double", build: func(lr plog.LogRecord) {
			lr.SetEventName("backstage.search")
			lr.Attributes().PutInt(semconv.AttrValue, 4)
		}, check: func(t *testing.T, lr plog.LogRecord) {
			assert.Equal(t, pcommon.ValueTypeDouble, attr(t, lr, semconv.AttrValue).Type())
			assert.Equal(t, 4.0, attr(t, lr, semconv.AttrValue).Double())
		}},
		{name: "client event id is kept, canonical", build: func(lr plog.LogRecord) {
			lr.SetEventName("backstage.click")
			lr.Attributes().PutStr(semconv.AttrEventID, "0193A0F0-5B7E-7CDE-8F00-0123456789AB")
		}, check: func(t *testing.T, lr plog.LogRecord) {
			assert.Equal(t, "0193a0f0-5b7e-7cde-8f00-0123456789ab", str(t, lr, semconv.AttrEventID))
		}},
		{name: "entity ref is normalised", build: func(lr plog.LogRecord) {
			lr.SetEventName("backstage.click")
			lr.Attributes().PutStr(semconv.AttrEntityRef, "Component:petstore")
		}, check: func(t *testing.T, lr plog.LogRecord) {
			assert.Equal(t, "component:default/petstore", str(t, lr, semconv.AttrEntityRef))
			assert.Equal(t, "component", str(t, lr, semconv.AttrEntityKind))
		}},
		{name: "action attribute that disagrees", build: func(lr plog.LogRecord) {
			lr.SetEventName("backstage.click")
			lr.Attributes().PutStr(semconv.AttrAction, "navigate")
		}, reason: ReasonActionMismatch},
		{name: "event name without action", build: func(lr plog.LogRecord) { lr.SetEventName("backstage.") }, reason: ReasonMissingAction},
		{name: "value as string", build: func(lr plog.LogRecord) {
			lr.SetEventName("backstage.search")
			lr.Attributes().PutStr(semconv.AttrValue, "4")
		}, reason: ReasonInvalidField},
		{name: "user id not a string", build: func(lr plog.LogRecord) {
			lr.SetEventName("backstage.click")
			lr.Attributes().PutInt(semconv.AttrUserID, 4)
		}, reason: ReasonInvalidField},
		{name: "an ordinary log line", build: func(lr plog.LogRecord) {
			lr.Body().SetStr("Listening on :7007")
			lr.Attributes().PutStr("plugin", "rootHttpRouter")
		}, reason: ReasonNotAnEvent},
		{name: "some other event", build: func(lr plog.LogRecord) { lr.SetEventName("session.start") }, reason: ReasonNotAnEvent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ld := plog.NewLogs()
			lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
			ok := lrs.AppendEmpty()
			ok.SetEventName("backstage.navigate")
			ok.SetTimestamp(pcommon.NewTimestampFromTime(received.Add(-time.Minute)))
			tt.build(lrs.AppendEmpty())
			res := OTLP(ld, testOptions(), newRequest([]byte("body")))
			if tt.reason != "" {
				require.Len(t, res.Rejected, 1)
				assert.Equal(t, 1, res.Rejected[0].Index)
				assert.Equal(t, tt.reason, res.Rejected[0].Reason)
				assert.Equal(t, 1, res.Accepted)
				assert.Equal(t, 1, res.Logs.LogRecordCount(), "the rejected record is removed, the other kept")
				return
			}
			require.Empty(t, res.Rejected)
			tt.check(t, records(res.Logs)[1])
		})
	}
}

func TestOTLPRemovesEmptyResourcesAndScopes(t *testing.T) {
	ld := plog.NewLogs()
	for range 2 {
		ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty().Body().SetStr("plain log")
	}
	res := OTLP(ld, testOptions(), newRequest(nil))
	assert.Equal(t, 0, res.Accepted)
	assert.Len(t, res.Rejected, 2)
	assert.Equal(t, 0, res.Logs.ResourceLogs().Len())
	assert.Equal(t, []int{0, 1}, []int{res.Rejected[0].Index, res.Rejected[1].Index})
}

func TestAuditEventsFromRealBackend(t *testing.T) {
	ld, err := backstagesamples.BackendLogs()
	require.NoError(t, err)
	// The sample was captured at 19:36–19:38; receive it shortly after.
	req := &Request{Received: time.Date(2026, 11, 25, 19, 40, 0, 0, time.UTC)}
	res := OTLP(ld, testOptions(), req)
	require.Empty(t, res.Rejected)
	recs := records(res.Logs)
	require.Len(t, recs, 2)

	fetch, task := recs[0], recs[1]
	assert.Equal(t, "backstage.audit.catalog.entity-fetch", fetch.EventName())
	assert.Equal(t, "audit.catalog.entity-fetch", str(t, fetch, semconv.AttrAction))
	assert.Equal(t, "user:development/guest", str(t, fetch, semconv.AttrUserID), "the actor is the user")
	assert.Equal(t, "catalog", str(t, fetch, semconv.AttrPluginID))
	assert.Equal(t, "entity-fetch", str(t, fetch, semconv.AttrAuditEventID))
	assert.Equal(t, "low", str(t, fetch, semconv.AttrAuditSeverity))
	assert.Equal(t, "succeeded", str(t, fetch, semconv.AttrAuditStatus))
	assert.Equal(t, "127.0.0.1", str(t, fetch, semconv.AttrClientAddress))
	assert.Contains(t, str(t, fetch, semconv.AttrUserAgent), "HeadlessChrome")
	assert.Equal(t, "/api/catalog/entities/by-refs", str(t, fetch, semconv.AttrURLPath))
	assert.Equal(t, "/api/catalog/entities/by-refs", str(t, fetch, semconv.AttrSubject))
	assert.Equal(t, "POST", str(t, fetch, semconv.AttrHTTPMethod))
	assert.Equal(t, "by-refs", str(t, fetch, semconv.AttrAuditMetaPrefix+"queryType"))
	assert.Equal(t, []any{"group:default/guests", "system:default/examples"}, attr(t, fetch, semconv.AttrAuditMetaPrefix+"entityRefs").Slice().AsRaw())
	assert.Equal(t, semconv.FormatAudit, str(t, fetch, semconv.AttrSourceFormat))
	assert.Equal(t, time.Date(2026, 11, 25, 19, 36, 53, 445000000, time.UTC), fetch.Timestamp().AsTime().UTC())
	for _, gone := range []string{"isAuditEvent", "actor", "request", "meta", "service", "timestamp", "plugin", "eventId"} {
		_, ok := fetch.Attributes().Get(gone)
		assert.False(t, ok, "raw attribute %s is replaced by the contract's", gone)
	}

	assert.Equal(t, "backstage.audit.scaffolder.task", task.EventName())
	assert.Equal(t, "template:default/local-debug-template", str(t, task, semconv.AttrEntityRef))
	assert.Equal(t, "template", str(t, task, semconv.AttrEntityKind))
	assert.Equal(t, "template:default/local-debug-template", str(t, task, semconv.AttrSubject))
	assert.Equal(t, "create", str(t, task, semconv.AttrAuditMetaPrefix+"actionType"))
	assert.Equal(t, "medium", str(t, task, semconv.AttrAuditSeverity))
	assert.NotEqual(t, str(t, fetch, semconv.AttrEventID), str(t, task, semconv.AttrEventID))

	// The same audit log delivered twice keeps its ids.
	again, err := backstagesamples.BackendLogs()
	require.NoError(t, err)
	againRecs := records(OTLP(again, testOptions(), req).Logs)
	assert.Equal(t, str(t, fetch, semconv.AttrEventID), str(t, againRecs[0], semconv.AttrEventID))
}

func TestAuditEventOfAService(t *testing.T) {
	ld := plog.NewLogs()
	lr := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr.Body().SetStr("catalog.entity-mutate")
	lr.SetTimestamp(pcommon.NewTimestampFromTime(received))
	lr.Attributes().PutBool("isAuditEvent", true)
	lr.Attributes().PutEmptyMap("actor").PutStr("actorId", "plugin:catalog")
	lr.Attributes().PutStr("subEventId", "refresh")
	res := OTLP(ld, testOptions(), newRequest(nil))
	require.Empty(t, res.Rejected)
	out := records(res.Logs)[0]
	assert.Equal(t, "plugin:catalog", str(t, out, semconv.AttrAuditActor))
	_, hasUser := out.Attributes().Get(semconv.AttrUserID)
	assert.False(t, hasUser, "a service principal is not a user")
	assert.Equal(t, "refresh", str(t, out, "subEventId"), "other attributes are kept")
}

func TestOTLPResourceInstance(t *testing.T) {
	build := func() plog.Logs {
		ld := wireformat.OTLP(samples(t)[:1])
		ld.ResourceLogs().At(0).Resource().Attributes().PutStr(semconv.ResourceInstance, "from-payload")
		return ld
	}
	instance := func(res Result) string {
		v, _ := res.Logs.ResourceLogs().At(0).Resource().Attributes().Get(semconv.ResourceInstance)
		return v.Str()
	}
	assert.Equal(t, "from-payload", instance(OTLP(build(), testOptions(), &Request{Received: received, Instance: "default"})))
	assert.Equal(t, "bound", instance(OTLP(build(), testOptions(), &Request{Received: received, Instance: "bound", ForceInstance: true})))
}

func TestSameEventSameIDAcrossFormatsWithUnnormalisedEntity(t *testing.T) {
	occ := wireformat.Occurrence{
		Event: wireformat.Event{Action: "click", Subject: "Petstore",
			Context: map[string]any{"pluginId": "catalog", "extensionId": "page:catalog", "entityRef": "Component:Petstore"}},
		User: "user:default/jdoe", Time: received.Add(-time.Minute),
	}
	body, err := wireformat.AdoptionInsights([]wireformat.Occurrence{occ})
	require.NoError(t, err)
	viaJSON := records(decodeEvents(t, body).Logs)[0]
	viaOTLP := records(OTLP(wireformat.OTLP([]wireformat.Occurrence{occ}), testOptions(), newRequest(nil)).Logs)[0]
	assert.Equal(t, "component:default/petstore", str(t, viaJSON, semconv.AttrEntityRef))
	assert.Equal(t, str(t, viaJSON, semconv.AttrEventID), str(t, viaOTLP, semconv.AttrEventID))
}
