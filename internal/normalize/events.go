package normalize

import (
	jsoniter "github.com/json-iterator/go"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/insights-collector/insights-collector/internal/semconv"
)

// AnalyticsEvents decodes a JSON array of Backstage AnalyticsEvents in either shape found in the wild:
//
//   - the bare event, as Red Hat's adoption-insights module sends it, with the user and time injected into
//     its context: {action, subject, value?, attributes?, context: {pluginId, extensionId | extension,
//     routeRef?, entityRef?, userName?, userId?, timestamp?, …}};
//   - the Generic HTTP module's envelope: {event: <AnalyticsEvent>, timestamp, user, teamMetadata?, sessionId}.
//
// Both frontend systems are understood: legacy contexts (routeRef, extension) and new ones (extensionId).
func AnalyticsEvents(body []byte, opts *Options, req *Request) (Result, error) {
	res, records := newResult(req)
	it := borrowIterator(body)
	defer returnIterator(it)

	var events []event
	err := readEvents(it, opts.MaxEvents, true, func(it *jsoniter.Iterator, _ int) {
		events = append(events, newEvent(records, semconv.FormatAnalyticsEvent))
		decodeEventElement(it, &events[len(events)-1])
	})
	if err == nil {
		err = syntaxError(it)
	}
	if err != nil {
		return Result{}, err
	}
	finishAll(events, records, opts, req, &res)
	return res, nil
}

func decodeEventElement(it *jsoniter.Iterator, ev *event) {
	if it.WhatIsNext() != jsoniter.ObjectValue {
		it.Skip()
		ev.fail(&fieldError{ReasonNotAnObject, "the event is not a JSON object"})
		return
	}
	envelope, bare := false, false
	it.ReadObjectCB(func(it *jsoniter.Iterator, field string) bool {
		switch field {
		case "event":
			envelope = true
			if it.WhatIsNext() != jsoniter.ObjectValue {
				it.Skip()
				ev.fail(invalidField("event", "an AnalyticsEvent object"))
				return true
			}
			it.ReadObjectCB(func(it *jsoniter.Iterator, field string) bool {
				decodeAnalyticsField(it, field, ev, "event.")
				return true
			})
		case "timestamp":
			envelope = true
			decodeTime(it, ev, "timestamp")
		case "user":
			envelope = true
			decodeString(it, ev, &ev.userID, "user")
		case "sessionId":
			envelope = true
			decodeString(it, ev, &ev.sessionID, "sessionId")
		case "teamMetadata":
			envelope = true
			ev.teams = decodeMemberOf(it)
		case "action", "subject", "value", "attributes", "context":
			bare = true
			decodeAnalyticsField(it, field, ev, "")
		default:
			it.Skip() // fields that analytics modules add for themselves (href, capturedAt, …)
		}
		return true
	})
	ev.format = semconv.FormatAnalyticsEvent
	if envelope {
		ev.format = semconv.FormatGeneric
		if bare {
			ev.fail(&fieldError{ReasonAmbiguousShape, "the object mixes a Generic envelope (event, user, timestamp, …) with bare AnalyticsEvent fields (action, subject, …)"})
		}
	}
}

// decodeAnalyticsField decodes one field of a Backstage AnalyticsEvent; path prefixes field names in errors.
func decodeAnalyticsField(it *jsoniter.Iterator, field string, ev *event, path string) {
	switch field {
	case "action":
		decodeString(it, ev, &ev.action, path+"action")
	case "subject":
		decodeString(it, ev, &ev.subject, path+"subject")
	case "value":
		decodeValue(it, ev, path+"value")
	case "attributes":
		decodeAttributes(it, ev, path+"attributes")
	case "context":
		decodeContext(it, ev, path+"context", ev.rec.Attributes())
	default:
		it.Skip()
	}
}

func decodeString(it *jsoniter.Iterator, ev *event, dst *string, field string) {
	s, ok := readString(it)
	if !ok {
		ev.fail(invalidField(field, "a string"))
		return
	}
	*dst = s
}

func decodeValue(it *jsoniter.Iterator, ev *event, field string) {
	v, has, ok := readNumber(it)
	if !ok {
		ev.fail(invalidField(field, "a number"))
		return
	}
	ev.value, ev.hasValue = v, has
}

func decodeTime(it *jsoniter.Iterator, ev *event, field string) {
	t, has, ok := readTime(it)
	if !ok {
		ev.fail(invalidField(field, "an ISO-8601 time or epoch milliseconds"))
		return
	}
	ev.time, ev.hasTime = t, has
}

// decodeAttributes writes the event's own attributes and picks up the route params of navigate events.
func decodeAttributes(it *jsoniter.Iterator, ev *event, field string) {
	if !isObject(it) {
		ev.fail(invalidField(field, "an object"))
		return
	}
	attrs := ev.rec.Attributes()
	it.ReadObjectCB(func(it *jsoniter.Iterator, key string) bool {
		key = validString(key)
		putValue(it, attrs, semconv.AttrAttributesPrefix+key)
		switch key {
		case "kind", "namespace", "name":
			if v, ok := attrs.Get(semconv.AttrAttributesPrefix + key); ok && v.Type() == pcommon.ValueTypeStr {
				*routeParam(ev, key) = v.Str()
			}
		}
		return true
	})
}

func routeParam(ev *event, key string) *string {
	switch key {
	case "kind":
		return &ev.routeKind
	case "namespace":
		return &ev.routeNamespace
	default:
		return &ev.routeName
	}
}

// decodeContext maps the context keys with a meaning of their own and writes the others to extra as
// backstage.context.<key>.
func decodeContext(it *jsoniter.Iterator, ev *event, field string, extra pcommon.Map) {
	if !isObject(it) {
		ev.fail(invalidField(field, "an object"))
		return
	}
	it.ReadObjectCB(func(it *jsoniter.Iterator, key string) bool {
		dst := contextField(ev, key)
		switch key {
		case "userName": // injected by the adoption-insights module
			dst = &ev.userID
		case "userId": // its unsalted SHA-256 of userName
			dst = &ev.hashedUserID
		case "timestamp":
			decodeTime(it, ev, field+".timestamp")
			return true
		}
		if dst == nil {
			putValue(it, extra, semconv.AttrContextPrefix+validString(key))
			return true
		}
		decodeString(it, ev, dst, field+"."+key)
		return true
	})
}

// contextField returns the field of a Backstage context key that has an attribute of its own, or nil.
func contextField(ev *event, key string) *string {
	switch key {
	case "pluginId":
		return &ev.pluginID
	case "extensionId":
		return &ev.extensionID
	case "extension":
		return &ev.extension
	case "routeRef":
		return &ev.routeRef
	case "entityRef":
		return &ev.entityRef
	}
	return nil
}

// decodeMemberOf reads the group refs of a catalog User entity (the Generic module's teamMetadata):
// spec.memberOf, else the memberOf relations.
func decodeMemberOf(it *jsoniter.Iterator) []string {
	if !isObject(it) {
		return nil
	}
	var memberOf, relations []string
	it.ReadObjectCB(func(it *jsoniter.Iterator, key string) bool {
		switch key {
		case "spec":
			if !isObject(it) {
				return true
			}
			it.ReadObjectCB(func(it *jsoniter.Iterator, key string) bool {
				if key == "memberOf" {
					memberOf = readStrings(it, memberOf)
				} else {
					it.Skip()
				}
				return true
			})
		case "relations":
			relations = readMemberOfRelations(it)
		default:
			it.Skip()
		}
		return true
	})
	if len(memberOf) == 0 {
		memberOf = relations
	}
	for i, ref := range memberOf {
		memberOf[i] = groupRef(ref)
	}
	return memberOf
}

func readMemberOfRelations(it *jsoniter.Iterator) []string {
	if it.WhatIsNext() != jsoniter.ArrayValue {
		it.Skip()
		return nil
	}
	var refs []string
	it.ReadArrayCB(func(it *jsoniter.Iterator) bool {
		if !isObject(it) {
			return true
		}
		var typ, target string
		it.ReadObjectCB(func(it *jsoniter.Iterator, key string) bool {
			switch key {
			case "type":
				typ, _ = readString(it)
			case "targetRef":
				target, _ = readString(it)
			default:
				it.Skip()
			}
			return true
		})
		if typ == "memberOf" && target != "" {
			refs = append(refs, target)
		}
		return true
	})
	return refs
}

func readStrings(it *jsoniter.Iterator, dst []string) []string {
	if it.WhatIsNext() != jsoniter.ArrayValue {
		it.Skip()
		return dst
	}
	it.ReadArrayCB(func(it *jsoniter.Iterator) bool {
		if s, ok := readString(it); ok && s != "" {
			dst = append(dst, s)
		}
		return true
	})
	return dst
}

// isObject reports whether the next value is an object, skipping it when it is not.
func isObject(it *jsoniter.Iterator) bool {
	if it.WhatIsNext() == jsoniter.ObjectValue {
		return true
	}
	it.Skip()
	return false
}
