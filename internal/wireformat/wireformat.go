// Package wireformat encodes Backstage analytics events the way real senders put them on the wire: Red Hat's
// adoption-insights module (bare AnalyticsEvents), the Generic HTTP module (envelopes), the Backstage Segment
// provider (Segment spec) and our own Backstage module (OTLP log records of the event contract). The
// simulator, the tests and the benchmarks all send through it, so each format is produced in one place.
package wireformat

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"

	"github.com/insights-collector/insights-collector/internal/semconv"
)

// Format names a wire format, as the simulator's -format flag spells it.
type Format string

const (
	FormatOTLP     Format = "otlp"      // OTLP/HTTP protobuf on /v1/logs
	FormatOTLPJSON Format = "otlp-json" // OTLP/HTTP JSON on /v1/logs
	FormatEvents   Format = "events"    // bare AnalyticsEvents on /v1/events (adoption-insights module)
	FormatGeneric  Format = "generic"   // Generic HTTP module envelopes on /v1/events
	FormatSegment  Format = "segment"   // Segment batch on /v1/batch (Backstage Segment provider)
)

// Formats lists every format.
var Formats = []Format{FormatOTLP, FormatOTLPJSON, FormatEvents, FormatGeneric, FormatSegment}

// Event is a Backstage AnalyticsEvent as the frontend's analytics API hands it to an analytics module.
type Event struct {
	Action     string         `json:"action"`
	Subject    string         `json:"subject"`
	Value      *float64       `json:"value,omitempty"`
	Attributes map[string]any `json:"attributes,omitempty"`
	Context    map[string]any `json:"context"`
}

// Occurrence is an event as a module sends it: who, when, in which session.
type Occurrence struct {
	Event
	User      string // user entity ref; "" when the module has no identity
	Time      time.Time
	SessionID string
	Teams     []string // group refs (the Generic module's teamMetadata)
	ID        string   // the sender's event id (UUID); "" when it sends none
}

// Path returns the receiver path a format is sent to.
func (f Format) Path() string {
	switch f {
	case FormatOTLP, FormatOTLPJSON:
		return "/v1/logs"
	case FormatSegment:
		return "/v1/batch"
	default:
		return "/v1/events"
	}
}

// ContentType returns the Content-Type a format is sent with.
func (f Format) ContentType() string {
	if f == FormatOTLP {
		return "application/x-protobuf"
	}
	return "application/json"
}

// Encode encodes a batch of occurrences in the format.
func Encode(f Format, occs []Occurrence) ([]byte, error) {
	switch f {
	case FormatOTLP:
		return plogotlp.NewExportRequestFromLogs(OTLP(occs)).MarshalProto()
	case FormatOTLPJSON:
		return plogotlp.NewExportRequestFromLogs(OTLP(occs)).MarshalJSON()
	case FormatEvents:
		return AdoptionInsights(occs)
	case FormatGeneric:
		return Generic(occs)
	case FormatSegment:
		return Segment(occs, time.Now())
	default:
		return nil, fmt.Errorf("unknown format %q (want one of %v)", f, Formats)
	}
}

// ISOTime formats a time as JavaScript's Date.toISOString does.
func ISOTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// AdoptionInsights encodes bare AnalyticsEvents as Red Hat's adoption-insights module sends them: user and time
// injected into the context (userName plain, userId its SHA-256).
func AdoptionInsights(occs []Occurrence) ([]byte, error) {
	out := make([]Event, len(occs))
	for i, o := range occs {
		ctx := copyMap(o.Context)
		if o.User != "" {
			ctx["userName"] = o.User
			ctx["userId"] = sha256Hex(o.User)
		}
		ctx["timestamp"] = ISOTime(o.Time)
		out[i] = o.Event
		out[i].Context = ctx
	}
	return json.Marshal(out)
}

type genericEnvelope struct {
	Event        Event          `json:"event"`
	Timestamp    string         `json:"timestamp"`
	User         string         `json:"user"`
	TeamMetadata map[string]any `json:"teamMetadata,omitempty"`
	SessionID    string         `json:"sessionId"`
}

// Generic encodes envelopes as the Generic HTTP analytics module sends them (teamMetadata = the User entity).
func Generic(occs []Occurrence) ([]byte, error) {
	out := make([]genericEnvelope, len(occs))
	for i, o := range occs {
		out[i] = genericEnvelope{Event: o.Event, Timestamp: ISOTime(o.Time), User: o.User, SessionID: o.SessionID}
		if len(o.Teams) > 0 {
			_, name, _ := strings.Cut(o.User, "/")
			out[i].TeamMetadata = map[string]any{
				"apiVersion": "backstage.io/v1alpha1", "kind": "User",
				"metadata": map[string]any{"name": name, "namespace": "default"},
				"spec":     map[string]any{"memberOf": o.Teams},
			}
		}
	}
	return json.Marshal(out)
}

type segmentMessage struct {
	Type        string         `json:"type"`
	Event       string         `json:"event,omitempty"`
	Name        string         `json:"name,omitempty"`
	Category    string         `json:"category,omitempty"`
	UserID      string         `json:"userId,omitempty"`
	AnonymousID string         `json:"anonymousId,omitempty"`
	MessageID   string         `json:"messageId,omitempty"`
	Timestamp   string         `json:"timestamp"`
	Properties  map[string]any `json:"properties,omitempty"`
}

// Segment encodes a Segment batch as the Backstage Segment provider sends it through analytics.js: navigate
// becomes page (category = plugin, name = subject, properties = the context), any other action becomes track
// (event = action, properties = {subject, context, attributes}). sentAt is when the batch is sent.
func Segment(occs []Occurrence, sentAt time.Time) ([]byte, error) {
	batch := make([]segmentMessage, len(occs))
	for i, o := range occs {
		m := segmentMessage{UserID: o.User, MessageID: o.ID, Timestamp: ISOTime(o.Time)}
		if o.User == "" {
			// analytics.js always has an anonymous id; the session is the closest the simulator knows.
			m.AnonymousID = o.SessionID
			if m.AnonymousID == "" {
				m.AnonymousID = "anonymous"
			}
		}
		if o.Action == semconv.ActionNavigate {
			m.Type, m.Name = "page", o.Subject
			m.Category, _ = o.Context["pluginId"].(string)
			m.Properties = copyMap(o.Context)
		} else {
			m.Type, m.Event = "track", o.Action
			m.Properties = map[string]any{"subject": o.Subject, "context": o.Context}
			if len(o.Attributes) > 0 {
				m.Properties["attributes"] = o.Attributes
			}
			if o.Value != nil {
				m.Properties["value"] = *o.Value
			}
		}
		batch[i] = m
	}
	return json.Marshal(map[string]any{"batch": batch, "sentAt": ISOTime(sentAt)})
}

// OTLP builds the log records our Backstage module sends: one record per event, named backstage.<action>,
// with the contract's attributes.
func OTLP(occs []Occurrence) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr(semconv.ResourceServiceName, semconv.DefaultServiceName)
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName("backstage-plugin-analytics-module-insights")
	records := sl.LogRecords()
	records.EnsureCapacity(len(occs))
	for _, o := range occs {
		appendRecord(records.AppendEmpty(), o)
	}
	return ld
}

func appendRecord(lr plog.LogRecord, o Occurrence) {
	lr.SetEventName(semconv.EventName(o.Action))
	lr.SetTimestamp(pcommon.NewTimestampFromTime(o.Time))
	attrs := lr.Attributes()
	attrs.PutStr(semconv.AttrSubject, o.Subject)
	if o.Value != nil {
		attrs.PutDouble(semconv.AttrValue, *o.Value)
	}
	for key, v := range o.Context {
		s, isString := v.(string)
		switch {
		case key == "pluginId" && isString:
			attrs.PutStr(semconv.AttrPluginID, s)
		case key == "extensionId" && isString:
			attrs.PutStr(semconv.AttrExtensionID, s)
		case key == "extension" && isString && o.Context["extensionId"] == nil:
			attrs.PutStr(semconv.AttrExtensionID, s) // a legacy app's extension
		case key == "routeRef" && isString:
			attrs.PutStr(semconv.AttrRouteRef, s)
		case key == "entityRef" && isString:
			attrs.PutStr(semconv.AttrEntityRef, s)
		default:
			_ = attrs.PutEmpty(semconv.AttrContextPrefix + key).FromRaw(jsNumber(v))
		}
	}
	for key, v := range o.Attributes {
		_ = attrs.PutEmpty(semconv.AttrAttributesPrefix + key).FromRaw(jsNumber(v))
	}
	if o.User != "" {
		attrs.PutStr(semconv.AttrUserID, o.User)
	}
	if o.SessionID != "" {
		attrs.PutStr(semconv.AttrSessionID, o.SessionID)
	}
	if len(o.Teams) > 0 {
		teams := attrs.PutEmptySlice(semconv.AttrUserTeams)
		for _, t := range o.Teams {
			teams.AppendEmpty().SetStr(t)
		}
	}
	if o.ID != "" {
		attrs.PutStr(semconv.AttrEventID, o.ID)
	}
}

// jsNumber turns an integral float64 into an int64, as OpenTelemetry JS encodes integral numbers as intValue.
func jsNumber(v any) any {
	if f, ok := v.(float64); ok && f == math.Trunc(f) && math.Abs(f) < 1<<53 {
		return int64(f)
	}
	return v
}

func copyMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m)+3)
	for k, v := range m {
		out[k] = v
	}
	return out
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
