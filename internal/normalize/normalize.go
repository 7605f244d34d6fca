// Package normalize decodes every wire format the Backstage receiver accepts and turns each event into a log
// record of the event contract (internal/semconv). It is pure: no I/O, no clock, no global state, so each
// decoder can be fuzzed and benchmarked on its own.
package normalize

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/insights-collector/insights-collector/internal/semconv"
)

// Options are the receiver's settings that shape normalisation.
type Options struct {
	// MaxEventAge and MaxClockSkew bound the payload times that are believed: an event older than
	// MaxEventAge or later than MaxClockSkew (relative to the time the collector received it) gets the
	// observed time instead, flagged with insights.timestamp.fallback.
	MaxEventAge  time.Duration
	MaxClockSkew time.Duration
	// MaxEvents is the most events one request may carry (0: no limit).
	MaxEvents int
}

// Request is what normalisation needs to know about one HTTP request.
type Request struct {
	Received time.Time
	// Instance is the backstage.instance to stamp on events whose payload names none ("" leaves it unset).
	Instance string
	// ForceInstance overrides the payload's backstage.instance (the credential is bound to an instance).
	ForceInstance bool
	// Body is the raw request body; events without an id and a timestamp take their id from its digest.
	Body []byte
	// Scope is the instrumentation scope of the events decoded from JSON formats (the receiver's).
	Scope string

	bodyDigest *[sha256.Size]byte
}

func (r *Request) digest() [sha256.Size]byte {
	if r.bodyDigest == nil {
		d := sha256.Sum256(r.Body)
		r.bodyDigest = &d
	}
	return *r.bodyDigest
}

// Reason is a machine-readable rejection cause; it labels the receiver's self-metrics, so the set is fixed.
type Reason string

const (
	ReasonNotAnObject     Reason = "not_an_object"
	ReasonMissingAction   Reason = "missing_action"
	ReasonInvalidAction   Reason = "invalid_action"
	ReasonActionMismatch  Reason = "action_mismatch"
	ReasonInvalidField    Reason = "invalid_field"
	ReasonFieldTooLong    Reason = "field_too_long"
	ReasonAmbiguousShape  Reason = "ambiguous_shape"
	ReasonMissingIdentity Reason = "missing_identity"
	ReasonUnsupportedType Reason = "unsupported_type"
	ReasonNotAnEvent      Reason = "not_an_event"
)

// Rejection names one event that was not accepted and why.
type Rejection struct {
	Index   int    `json:"index"`
	Reason  Reason `json:"reason"`
	Message string `json:"message"`
}

// Result is the outcome of normalising one request.
type Result struct {
	// Logs holds the accepted events.
	Logs     plog.Logs
	Accepted int
	Rejected []Rejection
	// WriteKey is the Segment write key found in the body, if any (Segment's browser library authenticates so).
	WriteKey string
}

// ErrMalformed wraps a body that cannot be decoded at all: nothing in it is accepted.
var ErrMalformed = errors.New("malformed payload")

// TooManyEventsError reports a batch longer than Options.MaxEvents.
type TooManyEventsError struct{ Count, Max int }

func (e *TooManyEventsError) Error() string {
	return fmt.Sprintf("the batch has %d events; at most %d are accepted per request", e.Count, e.Max)
}

// fieldError is a problem with one event's field; the event is rejected.
type fieldError struct {
	reason  Reason
	message string
}

func invalidField(field, want string) *fieldError {
	return &fieldError{ReasonInvalidField, fmt.Sprintf("%s must be %s", field, want)}
}

// event gathers the fields of one decoded event before finish writes them into its log record. Attributes
// that need no decision (the event's own attributes, extra context keys) are written to rec while decoding.
type event struct {
	rec    plog.LogRecord
	format string
	err    *fieldError

	action, subject string
	value           float64
	hasValue        bool

	pluginID, extensionID, extension, routeRef, entityRef string
	routeKind, routeNamespace, routeName                  string

	userID, hashedUserID, anonymousID, sessionID string
	teams                                        []string
	payloadID                                    string

	time    time.Time
	hasTime bool

	clientAddress, userAgent, urlFull string
}

// fail records the first problem of the event.
func (e *event) fail(err *fieldError) {
	if e.err == nil {
		e.err = err
	}
}

// finish validates the event and writes its contract attributes; it returns the rejection, if any.
func (e *event) finish(opts *Options, req *Request, index int) *fieldError {
	if e.err != nil {
		return e.err
	}
	if err := validateAction(e.action); err != nil {
		return err
	}
	if len(e.subject) > semconv.MaxSubjectBytes {
		return &fieldError{ReasonFieldTooLong, fmt.Sprintf("subject has %d bytes; at most %d are accepted", len(e.subject), semconv.MaxSubjectBytes)}
	}
	rec, attrs := e.rec, e.rec.Attributes()
	rec.SetEventName(semconv.EventName(e.action))
	rec.SetObservedTimestamp(pcommon.NewTimestampFromTime(req.Received))
	stampTime(rec, opts, req.Received, e.time, e.hasTime)

	attrs.PutStr(semconv.AttrAction, e.action)
	putNonEmpty(attrs, semconv.AttrSubject, e.subject)
	if e.hasValue {
		attrs.PutDouble(semconv.AttrValue, e.value)
	}
	putNonEmpty(attrs, semconv.AttrPluginID, e.pluginID)
	extensionID := e.extensionID
	if extensionID == "" {
		extensionID = e.extension
	} else if e.extension != "" {
		attrs.PutStr(semconv.AttrContextPrefix+"extension", e.extension)
	}
	putNonEmpty(attrs, semconv.AttrExtensionID, extensionID)
	putNonEmpty(attrs, semconv.AttrRouteRef, e.routeRef)
	entityRef := e.entityRef
	if entityRef == "" && e.action == semconv.ActionNavigate && e.routeKind != "" && e.routeName != "" {
		ns := e.routeNamespace
		if ns == "" {
			ns = "default"
		}
		entityRef = e.routeKind + ":" + ns + "/" + e.routeName
	}
	entityRef = putEntityRef(attrs, entityRef)

	userID := e.userID
	if userID == "" {
		userID = e.hashedUserID
	}
	putNonEmpty(attrs, semconv.AttrUserID, userID)
	putNonEmpty(attrs, semconv.AttrEnduserPseudoID, e.anonymousID)
	putNonEmpty(attrs, semconv.AttrSessionID, e.sessionID)
	if len(e.teams) > 0 {
		teams := attrs.PutEmptySlice(semconv.AttrUserTeams)
		teams.EnsureCapacity(len(e.teams))
		for _, t := range e.teams {
			teams.AppendEmpty().SetStr(t)
		}
	}
	putNonEmpty(attrs, semconv.AttrClientAddress, e.clientAddress)
	putNonEmpty(attrs, semconv.AttrUserAgent, e.userAgent)
	putNonEmpty(attrs, semconv.AttrURLFull, e.urlFull)
	attrs.PutStr(semconv.AttrSourceFormat, e.format)

	id := idFields{
		payloadID: e.payloadID, user: userID, anonymous: e.anonymousID, session: e.sessionID, action: e.action,
		subject: e.subject, plugin: e.pluginID, extension: extensionID, entity: entityRef,
		value: e.value, hasValue: e.hasValue,
	}
	if e.hasTime {
		id.time = e.time.UnixNano()
	} else {
		id.bodyDigest, id.index, id.useBody = req.digest(), index, true
	}
	attrs.PutStr(semconv.AttrEventID, id.derive())
	return nil
}

// stampTime sets the record's Timestamp to the payload time when it lies within the accepted window, and to
// the observed time (flagged) otherwise.
func stampTime(rec plog.LogRecord, opts *Options, received, t time.Time, has bool) {
	reason := ""
	switch {
	case !has:
		reason = semconv.TimestampMissing
	case opts.MaxEventAge > 0 && received.Sub(t) > opts.MaxEventAge:
		reason = semconv.TimestampTooOld
	case t.Sub(received) > opts.MaxClockSkew:
		reason = semconv.TimestampInFuture
	}
	if reason == "" {
		rec.SetTimestamp(pcommon.NewTimestampFromTime(t))
		return
	}
	rec.SetTimestamp(pcommon.NewTimestampFromTime(received))
	attrs := rec.Attributes()
	attrs.PutStr(semconv.AttrTimestampFallback, reason)
	if has {
		attrs.PutStr(semconv.AttrTimestampOriginal, t.UTC().Format(time.RFC3339Nano))
	}
}

func validateAction(action string) *fieldError {
	if action == "" {
		return &fieldError{ReasonMissingAction, "action is missing or empty"}
	}
	if len(action) > semconv.MaxActionBytes {
		return &fieldError{ReasonInvalidAction, fmt.Sprintf("action has %d bytes; at most %d are accepted", len(action), semconv.MaxActionBytes)}
	}
	for _, r := range action {
		if r < 0x20 || r == 0x7f {
			return &fieldError{ReasonInvalidAction, fmt.Sprintf("action %q contains a control character", action)}
		}
	}
	return nil
}

// putEntityRef writes the normalised entity ref and its kind, and returns the normalised ref.
func putEntityRef(attrs pcommon.Map, ref string) string {
	if ref == "" {
		return ""
	}
	ref, kind := normalizeEntityRef(ref)
	attrs.PutStr(semconv.AttrEntityRef, ref)
	putNonEmpty(attrs, semconv.AttrEntityKind, kind)
	return ref
}

// normalizeEntityRef lower-cases an entity ref and completes a missing namespace ("kind:name" is
// "kind:default/name"); a ref without a kind is returned lower-cased with an empty kind.
func normalizeEntityRef(ref string) (normalized, kind string) {
	ref = strings.ToLower(ref)
	kind, rest, ok := strings.Cut(ref, ":")
	if !ok || kind == "" || rest == "" {
		return ref, ""
	}
	if !strings.Contains(rest, "/") {
		return kind + ":default/" + rest, kind
	}
	return ref, kind
}

// groupRef completes a memberOf entry to a full group ref ("team-a" is "group:default/team-a").
func groupRef(ref string) string {
	ref = strings.ToLower(ref)
	if !strings.Contains(ref, ":") {
		ref = "group:" + ref
	}
	normalized, _ := normalizeEntityRef(ref)
	return normalized
}

func putNonEmpty(attrs pcommon.Map, key, value string) {
	if value != "" {
		attrs.PutStr(key, value)
	}
}

// validString makes a decoded string safe for pdata, whose protobuf encoding requires UTF-8.
func validString(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// parseTime reads an ISO-8601 time, as JavaScript's Date.toISOString writes it.
func parseTime(s string) (time.Time, bool) {
	t, err := time.Parse(time.RFC3339Nano, s)
	return t, err == nil
}
