package sessionizationprocessor

import (
	"cmp"
	"slices"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/insights-collector/insights-collector/internal/semconv"
	"github.com/insights-collector/insights-collector/processor/sessionizationprocessor/internal/metadata"
)

// appendSessionEvents adds the session.start and session.end events (OpenTelemetry's session conventions) to
// a batch, under the resource of the sessions' own events. An end comes before a start: a user's next session
// starts after the previous one ended.
func (p *sessionizer) appendSessionEvents(ld plog.Logs, c *changes) {
	if len(c.starts) == 0 && len(c.ends) == 0 {
		return
	}
	// In time order (a timer run finds its sessions in map order).
	slices.SortStableFunc(c.ends, func(a, b endedSession) int { return cmp.Or(cmp.Compare(a.last, b.last), cmp.Compare(a.key, b.key)) })
	slices.SortStableFunc(c.starts, func(a, b startedSession) int {
		return cmp.Or(cmp.Compare(a.startMs, b.startMs), cmp.Compare(a.key, b.key))
	})
	scopes := map[uint16]plog.LogRecordSlice{}
	scopeOf := func(resource uint16) plog.LogRecordSlice {
		if s, ok := scopes[resource]; ok {
			return s
		}
		rl := ld.ResourceLogs().AppendEmpty()
		p.mu.Lock()
		p.resources.CopyTo(resource, rl.Resource().Attributes())
		p.mu.Unlock()
		sl := rl.ScopeLogs().AppendEmpty()
		sl.Scope().SetName(metadata.ScopeName)
		scopes[resource] = sl.LogRecords()
		return scopes[resource]
	}
	observed := pcommon.NewTimestampFromTime(p.now())
	for _, e := range c.ends {
		lr := scopeOf(e.resource).AppendEmpty()
		p.sessionEvent(lr, semconv.EventSessionEnd, e.startedSession, e.last, observed)
		attrs := lr.Attributes()
		attrs.PutInt(semconv.AttrSessionDurationMs, e.last-e.first)
		attrs.PutInt(semconv.AttrSessionEventCount, int64(e.events))
		attrs.PutInt(semconv.AttrSessionNavigateCount, int64(e.navigates))
		plugins := attrs.PutEmptySlice(semconv.AttrSessionPlugins)
		for _, name := range e.plugins.distinct {
			plugins.AppendEmpty().SetStr(name)
		}
		putNonEmpty(attrs, semconv.AttrSessionFirstPlugin, e.plugins.first)
		putNonEmpty(attrs, semconv.AttrSessionLastPlugin, e.plugins.last)
		putNonEmpty(attrs, semconv.AttrSessionEntryRoute, e.entry)
		putNonEmpty(attrs, semconv.AttrSessionExitRoute, e.exit)
		attrs.PutStr(semconv.AttrSessionEndReason, e.reason)
	}
	for _, s := range c.starts {
		p.sessionEvent(scopeOf(s.resource).AppendEmpty(), semconv.EventSessionStart, s, s.startMs, observed)
	}
}

func (p *sessionizer) sessionEvent(lr plog.LogRecord, name string, s startedSession, atMs int64, observed pcommon.Timestamp) {
	lr.SetEventName(name)
	lr.SetTimestamp(pcommon.NewTimestampFromTime(time.UnixMilli(atMs)))
	lr.SetObservedTimestamp(observed)
	attrs := lr.Attributes()
	attrs.PutStr(semconv.AttrEventID, uuid.NewSHA1(eventIDNamespace, []byte(s.id+"/"+name)).String())
	attrs.PutStr(semconv.UserKeyAttributes[s.userAttr], s.key)
	attrs.PutStr(semconv.AttrSessionID, s.id)
	putNonEmpty(attrs, semconv.AttrSessionPreviousID, s.prevID)
	attrs.PutInt(semconv.AttrSessionStartMs, s.startMs)
}

func putNonEmpty(attrs pcommon.Map, key, value string) {
	if value != "" {
		attrs.PutStr(key, value)
	}
}
