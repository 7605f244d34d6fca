package analyticsdb

import (
	"database/sql/driver"
	"fmt"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/insights-collector/insights-collector/internal/semconv"
)

// sessionEndAttributes are the attributes of session.end events the sessions table keeps (the first and last
// plugin are the ends of its plugins list; the session id, its user and its times have columns of their own).
var sessionEndAttributes = []string{semconv.AttrSessionDurationMs, semconv.AttrSessionEventCount, semconv.AttrSessionNavigateCount,
	semconv.AttrSessionPlugins, semconv.AttrSessionFirstPlugin, semconv.AttrSessionLastPlugin, semconv.AttrSessionEntryRoute,
	semconv.AttrSessionExitRoute, semconv.AttrSessionEndReason}

// sessionRow converts a session.end event (the sessionization processor's summary of a session) to a row of
// the sessions table, in its column order.
func sessionRow(lr plog.LogRecord, resource pcommon.Map) ([]driver.Value, error) {
	attrs := lr.Attributes()
	str := func(key string) driver.Value {
		if v, ok := attrs.Get(key); ok && v.Type() == pcommon.ValueTypeStr && v.Str() != "" {
			return v.Str()
		}
		return nil
	}
	integer := func(key string) (int64, bool) {
		v, ok := attrs.Get(key)
		if !ok || v.Type() != pcommon.ValueTypeInt {
			return 0, false
		}
		return v.Int(), true
	}
	id := str(semconv.AttrSessionID)
	if id == nil {
		return nil, fmt.Errorf("%s event has no %s", semconv.EventSessionEnd, semconv.AttrSessionID)
	}
	duration, ok := integer(semconv.AttrSessionDurationMs)
	if !ok || duration < 0 || lr.Timestamp() == 0 {
		return nil, fmt.Errorf("%s event %s: no time or %s", semconv.EventSessionEnd, id, semconv.AttrSessionDurationMs)
	}
	end := lr.Timestamp().AsTime()
	events, _ := integer(semconv.AttrSessionEventCount)
	navigates, _ := integer(semconv.AttrSessionNavigateCount)
	var plugins []string
	if v, ok := attrs.Get(semconv.AttrSessionPlugins); ok && v.Type() == pcommon.ValueTypeSlice {
		for _, p := range v.Slice().All() {
			plugins = append(plugins, p.AsString())
		}
	}
	var instance driver.Value
	if v, ok := resource.Get(semconv.ResourceInstance); ok {
		instance = v.AsString()
	}
	var user driver.Value
	if key, _ := semconv.UserKey(attrs); key != "" {
		user = key
	}
	return []driver.Value{id, user, instance, end.Add(-time.Duration(duration) * time.Millisecond), end,
		float64(duration) / 1000, events, navigates, plugins, str(semconv.AttrSessionEntryRoute), str(semconv.AttrSessionExitRoute),
		str(semconv.AttrSessionEndReason)}, nil
}
