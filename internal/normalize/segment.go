package normalize

import (
	"fmt"
	"time"

	jsoniter "github.com/json-iterator/go"

	"github.com/insights-collector/insights-collector/internal/semconv"
)

// Segment calls, as the endpoint path names them (Segment's HTTP API: /v1/track…, analytics.js: /v1/t…).
const (
	SegmentBatch    = "batch"
	SegmentTrack    = "track"
	SegmentPage     = "page"
	SegmentScreen   = "screen"
	SegmentIdentify = "identify"
	SegmentGroup    = "group"
)

// segmentMessage holds what a Segment message says beyond the Backstage event fields, until the whole body is
// read: a batch's sentAt and context may follow its messages.
type segmentMessage struct {
	typ, event, name, category, groupID string
	properties                          []byte // decoded once the type is known
	traits                              []byte
	timestamp, originalTimestamp        time.Time
	sentAt                              time.Time
	context                             segmentContext
}

type segmentContext struct {
	ip, userAgent, groupID, pageURL string
}

func (c *segmentContext) fillFrom(d segmentContext) {
	for _, f := range [...]struct {
		dst *string
		src string
	}{
		{&c.ip, d.ip}, {&c.userAgent, d.userAgent}, {&c.groupID, d.groupID}, {&c.pageURL, d.pageURL},
	} {
		if *f.dst == "" {
			*f.dst = f.src
		}
	}
}

// Segment decodes a Segment-spec call: a batch {batch: [...], context?, sentAt?, writeKey?} or a single message
// of the type the endpoint names. It maps what the Backstage Segment provider sends back to Backstage events:
// page → navigate (category = plugin, name = subject), track → the action (properties.subject, .context,
// .attributes), identify and group → identify and group events.
func Segment(body []byte, call string, opts *Options, req *Request) (Result, error) {
	res, records := newResult(req)
	it := borrowIterator(body)
	defer returnIterator(it)

	var (
		events   []event
		messages []segmentMessage
		batch    segmentMessage // batch-level sentAt and context
		err      error
	)
	decode := func(it *jsoniter.Iterator, defaultType string) {
		events = append(events, newEvent(records, semconv.FormatSegment))
		messages = append(messages, segmentMessage{typ: defaultType})
		decodeSegmentMessage(it, &events[len(events)-1], &messages[len(messages)-1], &res.WriteKey)
	}
	if it.WhatIsNext() != jsoniter.ObjectValue {
		return Result{}, fmt.Errorf("%w: the body must be a JSON object", ErrMalformed)
	}
	if call != SegmentBatch {
		decode(it, call)
	} else {
		it.ReadObjectCB(func(it *jsoniter.Iterator, field string) bool {
			switch field {
			case "batch":
				err = readEvents(it, opts.MaxEvents, false, func(it *jsoniter.Iterator, _ int) { decode(it, "") })
				if err != nil {
					return false
				}
			case "context":
				batch.context = decodeSegmentContext(it, nil)
			case "sentAt":
				batch.sentAt, _, _ = readTime(it)
			case "writeKey":
				res.WriteKey, _ = readString(it)
			default:
				it.Skip()
			}
			return true
		})
	}
	if err == nil {
		err = syntaxError(it)
	}
	if err != nil {
		return Result{}, err
	}
	for i := range events {
		messages[i].context.fillFrom(batch.context)
		if messages[i].sentAt.IsZero() {
			messages[i].sentAt = batch.sentAt
		}
		applySegmentMessage(&events[i], &messages[i], req.Received)
	}
	finishAll(events, records, opts, req, &res)
	return res, nil
}

func decodeSegmentMessage(it *jsoniter.Iterator, ev *event, msg *segmentMessage, writeKey *string) {
	if it.WhatIsNext() != jsoniter.ObjectValue {
		it.Skip()
		ev.fail(&fieldError{ReasonNotAnObject, "the message is not a JSON object"})
		return
	}
	it.ReadObjectCB(func(it *jsoniter.Iterator, field string) bool {
		switch field {
		case "type":
			decodeString(it, ev, &msg.typ, "type")
		case "event":
			decodeString(it, ev, &msg.event, "event")
		case "name":
			decodeString(it, ev, &msg.name, "name")
		case "category":
			decodeString(it, ev, &msg.category, "category")
		case "groupId":
			decodeID(it, ev, &msg.groupID, "groupId")
		case "userId":
			decodeID(it, ev, &ev.userID, "userId")
		case "anonymousId":
			decodeID(it, ev, &ev.anonymousID, "anonymousId")
		case "messageId":
			decodeString(it, ev, &ev.payloadID, "messageId")
		case "timestamp":
			msg.timestamp = decodeSegmentTime(it, ev, "timestamp")
		case "originalTimestamp":
			msg.originalTimestamp = decodeSegmentTime(it, ev, "originalTimestamp")
		case "sentAt":
			msg.sentAt = decodeSegmentTime(it, ev, "sentAt")
		case "properties":
			msg.properties = captureObject(it, ev, "properties")
		case "traits":
			msg.traits = captureObject(it, ev, "traits")
		case "context":
			msg.context = decodeSegmentContext(it, ev)
		case "writeKey":
			if s, ok := readString(it); ok && s != "" {
				*writeKey = s
			}
		default:
			it.Skip() // integrations, _metadata, version, …
		}
		return true
	})
}

// decodeID reads an identifier that Segment senders write as a string or a number.
func decodeID(it *jsoniter.Iterator, ev *event, dst *string, field string) {
	s, ok := readID(it)
	if !ok {
		ev.fail(invalidField(field, "a string"))
		return
	}
	*dst = s
}

func decodeSegmentTime(it *jsoniter.Iterator, ev *event, field string) time.Time {
	t, _, ok := readTime(it)
	if !ok {
		ev.fail(invalidField(field, "an ISO-8601 time"))
	}
	return t
}

// captureObject copies an object's bytes to decode it once the message's type is known.
func captureObject(it *jsoniter.Iterator, ev *event, field string) []byte {
	switch it.WhatIsNext() {
	case jsoniter.ObjectValue:
		return it.SkipAndReturnBytes()
	case jsoniter.NilValue:
		it.ReadNil()
	default:
		it.Skip()
		ev.fail(invalidField(field, "an object"))
	}
	return nil
}

// decodeSegmentContext reads the context fields the contract has names for; scalar keys such as locale and
// timezone go to ev's backstage.context.<key> (ev is nil for a batch's context).
func decodeSegmentContext(it *jsoniter.Iterator, ev *event) segmentContext {
	var c segmentContext
	if !isObject(it) {
		return c
	}
	it.ReadObjectCB(func(it *jsoniter.Iterator, key string) bool {
		switch key {
		case "ip":
			c.ip, _ = readString(it)
		case "userAgent":
			c.userAgent, _ = readString(it)
		case "groupId":
			c.groupID, _ = readID(it)
		case "page":
			if !isObject(it) {
				return true
			}
			it.ReadObjectCB(func(it *jsoniter.Iterator, key string) bool {
				if key == "url" {
					c.pageURL, _ = readString(it)
				} else {
					it.Skip()
				}
				return true
			})
		default:
			switch it.WhatIsNext() {
			case jsoniter.StringValue, jsoniter.NumberValue, jsoniter.BoolValue:
				if ev != nil {
					putValue(it, ev.rec.Attributes(), semconv.AttrContextPrefix+validString(key))
					return true
				}
			}
			it.Skip() // library, os, screen, campaign, …: nothing the contract uses
		}
		return true
	})
	return c
}

// applySegmentMessage maps a decoded Segment message onto the Backstage event.
func applySegmentMessage(ev *event, msg *segmentMessage, received time.Time) {
	if ev.userID == "" && ev.anonymousID == "" {
		ev.fail(&fieldError{ReasonMissingIdentity, "a Segment message needs a userId or an anonymousId"})
	}
	ev.time, ev.hasTime = segmentTime(msg, received)
	ev.clientAddress, ev.userAgent, ev.urlFull = msg.context.ip, msg.context.userAgent, msg.context.pageURL
	if msg.context.groupID != "" {
		ev.teams = []string{groupRef(msg.context.groupID)}
	}
	attrs := ev.rec.Attributes()
	switch msg.typ {
	case SegmentTrack:
		if msg.event == "" {
			ev.fail(&fieldError{ReasonMissingAction, "a track message needs an event"})
		}
		ev.action = msg.event
		decodeCaptured(msg.properties, ev, "properties", func(it *jsoniter.Iterator, key string) {
			switch key {
			case "subject", "value", "context", "attributes":
				decodeAnalyticsField(it, key, ev, "properties.")
			default:
				putValue(it, attrs, semconv.AttrAttributesPrefix+validString(key))
			}
		})
	case SegmentPage, SegmentScreen:
		ev.action, ev.subject, ev.pluginID = semconv.ActionNavigate, msg.name, msg.category
		path := ""
		decodeCaptured(msg.properties, ev, "properties", func(it *jsoniter.Iterator, key string) {
			switch key {
			case "path":
				path, _ = readString(it)
			case "url":
				decodeString(it, ev, &ev.urlFull, "properties.url")
			default:
				// The Backstage provider spreads the event's context into the page properties.
				if dst := contextField(ev, key); dst != nil {
					decodeString(it, ev, dst, "properties."+key)
				} else {
					putValue(it, attrs, semconv.AttrContextPrefix+validString(key))
				}
			}
		})
		if ev.subject == "" {
			ev.subject = path
		}
	case SegmentIdentify:
		ev.action = semconv.ActionIdentify
		decodeTraits(msg.traits, ev)
	case SegmentGroup:
		ev.action, ev.subject = semconv.ActionGroup, msg.groupID
		if msg.groupID == "" {
			ev.fail(&fieldError{ReasonInvalidField, "a group message needs a groupId"})
		} else {
			ev.teams = []string{groupRef(msg.groupID)}
		}
		decodeTraits(msg.traits, ev)
	case "":
		ev.fail(&fieldError{ReasonUnsupportedType, "the message has no type"})
	default:
		ev.fail(&fieldError{ReasonUnsupportedType, fmt.Sprintf("message type %q is not supported (track, page, screen, identify and group are)", msg.typ)})
	}
}

func decodeTraits(traits []byte, ev *event) {
	attrs := ev.rec.Attributes()
	decodeCaptured(traits, ev, "traits", func(it *jsoniter.Iterator, key string) {
		putValue(it, attrs, semconv.AttrAttributesPrefix+validString(key))
	})
}

// decodeCaptured walks the keys of an object captured by captureObject.
func decodeCaptured(raw []byte, ev *event, field string, fn func(it *jsoniter.Iterator, key string)) {
	if len(raw) == 0 {
		return
	}
	it := borrowIterator(raw)
	defer returnIterator(it)
	it.ReadObjectCB(func(it *jsoniter.Iterator, key string) bool {
		fn(it, key)
		return true
	})
	if it.Error != nil {
		ev.fail(invalidField(field, "a valid JSON object"))
	}
}

// segmentTime is Segment's own rule: the client's time, corrected for its clock skew by sentAt
// (timestamp = receivedAt − (sentAt − originalTimestamp)) when the client says when it sent the message.
func segmentTime(msg *segmentMessage, received time.Time) (time.Time, bool) {
	t := msg.timestamp
	if t.IsZero() {
		t = msg.originalTimestamp
	}
	if t.IsZero() {
		return time.Time{}, false
	}
	if !msg.sentAt.IsZero() {
		t = received.Add(-msg.sentAt.Sub(t))
	}
	return t, true
}
