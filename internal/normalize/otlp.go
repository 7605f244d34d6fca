package normalize

import (
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/insights-collector/insights-collector/internal/semconv"
)

// OTLP normalises OTLP log records in place. Records that are already Backstage events (EventName
// "backstage.<action>", as our Backstage module sends them) are validated and completed; Backstage audit
// events (isAuditEvent=true) become events; any other record is rejected as not an event.
func OTLP(ld plog.Logs, opts *Options, req *Request) Result {
	res := Result{Logs: ld}
	index := 0
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		rl := rls.At(i)
		setResource(rl.Resource().Attributes(), req)
		sls := rl.ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			records := sls.At(j).LogRecords()
			var drop []bool
			for k := 0; k < records.Len(); k++ {
				if err := normalizeRecord(records.At(k), opts, req); err != nil {
					res.Rejected = append(res.Rejected, Rejection{Index: index, Reason: err.reason, Message: err.message})
					if drop == nil {
						drop = make([]bool, records.Len())
					}
					drop[k] = true
				} else {
					res.Accepted++
				}
				index++
			}
			if drop != nil {
				k := 0
				records.RemoveIf(func(plog.LogRecord) bool { k++; return drop[k-1] })
			}
		}
		sls.RemoveIf(func(sl plog.ScopeLogs) bool { return sl.LogRecords().Len() == 0 })
	}
	rls.RemoveIf(func(rl plog.ResourceLogs) bool { return rl.ScopeLogs().Len() == 0 })
	return res
}

// setResource completes the resource of a request's events: a service name, and the Backstage instance.
func setResource(attrs pcommon.Map, req *Request) {
	if _, ok := attrs.Get(semconv.ResourceServiceName); !ok {
		attrs.PutStr(semconv.ResourceServiceName, semconv.DefaultServiceName)
	}
	if req.Instance == "" {
		return
	}
	if _, ok := attrs.Get(semconv.ResourceInstance); !ok || req.ForceInstance {
		attrs.PutStr(semconv.ResourceInstance, req.Instance)
	}
}

func normalizeRecord(lr plog.LogRecord, opts *Options, req *Request) *fieldError {
	if action, ok := semconv.ActionOf(lr.EventName()); ok {
		return normalizeOTLPEvent(lr, action, opts, req)
	}
	if isAudit, ok := lr.Attributes().Get("isAuditEvent"); ok && isAudit.Type() == pcommon.ValueTypeBool && isAudit.Bool() {
		return normalizeAudit(lr, opts, req)
	}
	if strings.HasPrefix(lr.EventName(), semconv.EventNamePrefix) {
		return &fieldError{ReasonMissingAction, fmt.Sprintf("event name %q has no action", lr.EventName())}
	}
	return &fieldError{ReasonNotAnEvent, "neither a Backstage event (EventName backstage.<action>) nor a Backstage audit event (isAuditEvent=true)"}
}

// normalizeOTLPEvent validates a record that is already a Backstage event and completes it.
func normalizeOTLPEvent(lr plog.LogRecord, action string, opts *Options, req *Request) *fieldError {
	if err := validateAction(action); err != nil {
		return err
	}
	attrs := lr.Attributes()
	if v, ok := attrs.Get(semconv.AttrAction); ok && v.AsString() != action {
		return &fieldError{ReasonActionMismatch, fmt.Sprintf("%s %q does not match the event name %q", semconv.AttrAction, v.AsString(), lr.EventName())}
	}
	attrs.PutStr(semconv.AttrAction, action)

	var f idFields
	var err *fieldError
	for _, s := range [...]struct {
		key string
		dst *string
	}{
		{semconv.AttrSubject, &f.subject}, {semconv.AttrUserID, &f.user}, {semconv.AttrEnduserPseudoID, &f.anonymous},
		{semconv.AttrSessionID, &f.session}, {semconv.AttrPluginID, &f.plugin}, {semconv.AttrExtensionID, &f.extension},
		{semconv.AttrEntityRef, &f.entity}, {semconv.AttrEventID, &f.payloadID},
	} {
		if *s.dst, err = stringAttr(attrs, s.key); err != nil {
			return err
		}
	}
	if len(f.subject) > semconv.MaxSubjectBytes {
		return &fieldError{ReasonFieldTooLong, fmt.Sprintf("%s has %d bytes; at most %d are accepted", semconv.AttrSubject, len(f.subject), semconv.MaxSubjectBytes)}
	}
	if f.value, f.hasValue, err = doubleAttr(attrs, semconv.AttrValue); err != nil {
		return err
	}
	if f.entity == "" && action == semconv.ActionNavigate {
		f.entity = routeEntityRef(attrs)
	}
	f.entity = putEntityRef(attrs, f.entity)
	if _, ok := attrs.Get(semconv.AttrSourceFormat); !ok {
		attrs.PutStr(semconv.AttrSourceFormat, semconv.FormatOTLP)
	}

	f.action = action
	t, has := recordTime(lr)
	if has {
		f.time = t.UnixNano()
	} else {
		f.bodyDigest, f.useBody = req.digest(), true
	}
	lr.SetObservedTimestamp(pcommon.NewTimestampFromTime(req.Received))
	stampTime(lr, opts, req.Received, t, has)
	attrs.PutStr(semconv.AttrEventID, f.derive())
	return nil
}

func recordTime(lr plog.LogRecord) (time.Time, bool) {
	if lr.Timestamp() == 0 {
		return time.Time{}, false
	}
	return lr.Timestamp().AsTime(), true
}

// routeEntityRef builds the entity ref of a navigate event from its route params.
func routeEntityRef(attrs pcommon.Map) string {
	param := func(name string) string {
		if v, ok := attrs.Get(semconv.AttrAttributesPrefix + name); ok && v.Type() == pcommon.ValueTypeStr {
			return v.Str()
		}
		return ""
	}
	kind, name := param("kind"), param("name")
	if kind == "" || name == "" {
		return ""
	}
	ns := param("namespace")
	if ns == "" {
		ns = "default"
	}
	return kind + ":" + ns + "/" + name
}

func stringAttr(attrs pcommon.Map, key string) (string, *fieldError) {
	v, ok := attrs.Get(key)
	if !ok {
		return "", nil
	}
	if v.Type() != pcommon.ValueTypeStr {
		return "", invalidField(key, "a string")
	}
	return v.Str(), nil
}

// doubleAttr reads backstage.value, converting an int (JavaScript numbers often arrive as intValue) to double.
func doubleAttr(attrs pcommon.Map, key string) (float64, bool, *fieldError) {
	v, ok := attrs.Get(key)
	if !ok {
		return 0, false, nil
	}
	switch v.Type() {
	case pcommon.ValueTypeDouble:
		return v.Double(), true, nil
	case pcommon.ValueTypeInt:
		d := float64(v.Int())
		v.SetDouble(d)
		return d, true, nil
	default:
		return 0, false, invalidField(key, "a number")
	}
}

// normalizeAudit turns a Backstage audit event (a winston log line with isAuditEvent=true and structured
// actor, request and meta) into a Backstage event. It is the server-side truth of who did what.
func normalizeAudit(lr plog.LogRecord, opts *Options, req *Request) *fieldError {
	attrs := lr.Attributes()
	name := lr.Body().AsString()
	plugin, _ := stringAttr(attrs, "plugin")
	eventID, _ := stringAttr(attrs, "eventId")
	if name == "" && plugin != "" && eventID != "" {
		name = plugin + "." + eventID
	}
	action := semconv.AuditActionPrefix + name
	if name == "" {
		return &fieldError{ReasonMissingAction, "the audit event has neither a body nor plugin and eventId"}
	}
	if err := validateAction(action); err != nil {
		return err
	}

	out := pcommon.NewMap()
	out.EnsureCapacity(attrs.Len() + 4)
	f := idFields{action: action}
	status, timestamp := "", ""
	attrs.Range(func(k string, v pcommon.Value) bool {
		switch k {
		case "isAuditEvent", "service":
			// implied by the event name and the resource
		case "timestamp":
			timestamp = v.AsString() // the record's Timestamp, as winston wrote it
		case "plugin":
			out.PutStr(semconv.AttrPluginID, v.AsString())
		case "eventId":
			out.PutStr(semconv.AttrAuditEventID, v.AsString())
		case "severityLevel":
			out.PutStr(semconv.AttrAuditSeverity, v.AsString())
		case "status":
			status = v.AsString()
			out.PutStr(semconv.AttrAuditStatus, status)
		case "actor":
			f.user = auditActor(v, out)
		case "request":
			forEachEntry(v, func(k string, v pcommon.Value) {
				switch k {
				case "url":
					out.PutStr(semconv.AttrURLPath, v.AsString())
				case "method":
					out.PutStr(semconv.AttrHTTPMethod, v.AsString())
				}
			})
		case "meta":
			forEachEntry(v, func(k string, v pcommon.Value) {
				v.CopyTo(out.PutEmpty(semconv.AttrAuditMetaPrefix + k))
				if (k == "entityRef" || k == "templateRef") && v.Type() == pcommon.ValueTypeStr && f.entity == "" {
					f.entity = v.Str()
				}
			})
		default:
			v.CopyTo(out.PutEmpty(k))
		}
		return true
	})
	if f.entity = putEntityRef(out, f.entity); f.entity != "" {
		f.subject = f.entity
	} else if p, ok := out.Get(semconv.AttrURLPath); ok {
		f.subject = p.Str()
	}
	out.PutStr(semconv.AttrAction, action)
	putNonEmpty(out, semconv.AttrSubject, f.subject)
	out.PutStr(semconv.AttrSourceFormat, semconv.FormatAudit)
	out.MoveTo(attrs)

	t, has := recordTime(lr)
	if !has && timestamp != "" {
		t, has = parseTime(timestamp)
	}
	lr.SetEventName(semconv.EventName(action))
	lr.SetObservedTimestamp(pcommon.NewTimestampFromTime(req.Received))
	stampTime(lr, opts, req.Received, t, has)
	// Audit events carry no id of their own: trace and span id, time, actor and status identify one.
	f.payloadID = auditKey(lr, t, f.user, status)
	attrs.PutStr(semconv.AttrEventID, f.derive())
	return nil
}

// auditActor maps the audit actor: a user ref is the event's user; any other principal is kept as the actor.
func auditActor(v pcommon.Value, out pcommon.Map) (user string) {
	forEachEntry(v, func(k string, v pcommon.Value) {
		switch k {
		case "actorId":
			if id := v.AsString(); strings.HasPrefix(strings.ToLower(id), "user:") {
				user = id
				out.PutStr(semconv.AttrUserID, id)
			} else if id != "" {
				out.PutStr(semconv.AttrAuditActor, id)
			}
		case "ip":
			out.PutStr(semconv.AttrClientAddress, v.AsString())
		case "userAgent":
			out.PutStr(semconv.AttrUserAgent, v.AsString())
		}
	})
	return user
}

func forEachEntry(v pcommon.Value, fn func(k string, v pcommon.Value)) {
	if v.Type() != pcommon.ValueTypeMap {
		return
	}
	v.Map().Range(func(k string, v pcommon.Value) bool {
		fn(k, v)
		return true
	})
}

func auditKey(lr plog.LogRecord, t time.Time, actor, status string) string {
	traceID, spanID := lr.TraceID(), lr.SpanID()
	return "audit\x00" + hex.EncodeToString(traceID[:]) + hex.EncodeToString(spanID[:]) + "\x00" +
		t.UTC().Format(time.RFC3339Nano) + "\x00" + lr.EventName() + "\x00" + actor + "\x00" + status
}
