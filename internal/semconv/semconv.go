// Package semconv is the event contract of Insights Collector: every event name and attribute key that one
// component writes and another reads is defined here, once. docs/semantic-conventions.md is generated from
// the Registry in registry.go (`make generate`), so the names and their documentation cannot drift apart.
package semconv

import (
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// EventNamePrefix starts the EventName of every Backstage analytics event: "backstage.<action>".
const EventNamePrefix = "backstage."

// Event names of the events that the pipeline derives itself (not sent by Backstage).
const (
	EventSessionStart          = "session.start"
	EventSessionEnd            = "session.end"
	EventFeatureFlagEvaluation = "feature_flag.evaluation"
	EventEngagementTierChange  = "insights.engagement.tier_change"
)

// AuditActionPrefix starts the action of a Backstage audit event: "audit.<plugin>.<eventId>", so its event
// name is "backstage.audit.catalog.entity-fetch".
const AuditActionPrefix = "audit."

// The actions that Backstage core and its first-party plugins emit (plugins may emit any other action).
const (
	ActionNavigate = "navigate"
	ActionClick    = "click"
	ActionSearch   = "search"
	ActionDiscover = "discover"
	ActionCreate   = "create"
	ActionNotFound = "not-found"
	ActionSignIn   = "signIn"
	// ActionIdentify and ActionGroup come from Segment-spec identify and group calls.
	ActionIdentify = "identify"
	ActionGroup    = "group"
)

// Attributes of an event's log record.
const (
	AttrAction      = "backstage.action"
	AttrSubject     = "backstage.subject"
	AttrValue       = "backstage.value"
	AttrPluginID    = "backstage.plugin.id"
	AttrExtensionID = "backstage.extension.id"
	AttrRouteRef    = "backstage.route_ref"
	AttrEntityRef   = "backstage.entity_ref"
	AttrEntityKind  = "backstage.entity.kind"
	AttrEntityOwner = "backstage.entity.owner"
	AttrUserTeams   = "backstage.user.teams"

	// AttrAttributesPrefix + key holds each of the event's own attributes.
	AttrAttributesPrefix = "backstage.attributes."
	// AttrContextPrefix + key holds each context key that has no attribute of its own.
	AttrContextPrefix = "backstage.context."

	AttrUserID          = "user.id"
	AttrUserHash        = "user.hash"
	AttrEnduserPseudoID = "enduser.pseudo.id"

	AttrSessionID         = "session.id"
	AttrSessionPreviousID = "session.previous_id"

	// Set by the sessionization processor on every event of a session.
	AttrSessionStartMs  = "insights.session.start_ms"
	AttrSessionSequence = "insights.session.sequence"
	AttrSessionPage     = "insights.session.page"
	AttrSessionView     = "insights.session.view"
	AttrSessionLate     = "insights.session.late"
	AttrSessionClientID = "insights.session.client_id"
	// Carried by session.end events: the session's summary.
	AttrSessionDurationMs    = "insights.session.duration_ms"
	AttrSessionEventCount    = "insights.session.event_count"
	AttrSessionNavigateCount = "insights.session.navigate_count"
	AttrSessionPlugins       = "insights.session.plugins"
	AttrSessionFirstPlugin   = "insights.session.first_plugin"
	AttrSessionLastPlugin    = "insights.session.last_plugin"
	AttrSessionEntryRoute    = "insights.session.entry_route"
	AttrSessionExitRoute     = "insights.session.exit_route"
	AttrSessionEndReason     = "insights.session.end_reason"

	AttrEventID           = "insights.event.id"
	AttrSourceFormat      = "insights.source.format"
	AttrTimestampFallback = "insights.timestamp.fallback"
	AttrTimestampOriginal = "insights.timestamp.original"
	AttrEngagementScore   = "insights.engagement.score"
	AttrEngagementTier    = "insights.engagement.tier"
	// AttrEngagementPreviousTier is on tier_change events: the tier the user left.
	AttrEngagementPreviousTier = "insights.engagement.previous_tier"
	AttrFeatureFlagKey         = "feature_flag.key"
	AttrFeatureFlagVariant     = "feature_flag.result.variant"
	// AttrFeatureFlagWeight is on feature_flag.evaluation events: the variant's weight, for the sample-ratio check.
	AttrFeatureFlagWeight = "insights.feature_flag.weight"

	AttrClientAddress = "client.address"
	AttrUserAgent     = "user_agent.original"
	AttrURLFull       = "url.full"
	AttrURLPath       = "url.path"
	AttrHTTPMethod    = "http.request.method"

	AttrAuditEventID  = "backstage.audit.event_id"
	AttrAuditSeverity = "backstage.audit.severity"
	AttrAuditStatus   = "backstage.audit.status"
	AttrAuditActor    = "backstage.audit.actor"
	// AttrAuditMetaPrefix + key holds each key of an audit event's meta object.
	AttrAuditMetaPrefix = "backstage.audit.meta."
)

// Limits of a single event: a longer action or subject is rejected (with its reason), the rest of its batch
// proceeds. Actions are low-cardinality names; a subject is at most a URL.
const (
	MaxActionBytes  = 128
	MaxSubjectBytes = 8192
)

// Resource attributes.
const (
	ResourceServiceName           = "service.name"
	ResourceDeploymentEnvironment = "deployment.environment.name"
	ResourceInstance              = "backstage.instance"
)

// DefaultServiceName is the service.name of events whose sender did not name one.
const DefaultServiceName = "backstage"

// Values of AttrSourceFormat: the wire format an event arrived in.
const (
	FormatOTLP           = "otlp"
	FormatAnalyticsEvent = "analytics_event"
	FormatGeneric        = "generic"
	FormatSegment        = "segment"
	FormatAudit          = "audit"
)

// Values of AttrSessionEndReason: why a session ended.
const (
	SessionEndInactivity  = "inactivity"   // no event for the inactivity gap
	SessionEndMaxDuration = "max_duration" // it reached the maximum length
	SessionEndMidnight    = "midnight"     // the day ended in the configured time zone
	SessionEndEvicted     = "evicted"      // the processor was at its limit of active sessions
	SessionEndClient      = "client"       // the client started another session (trusted client session ids)
	SessionEndShutdown    = "shutdown"     // the collector stopped without a storage extension to keep it open
)

// Values of AttrTimestampFallback: why the event's time is the collector's observed time.
const (
	TimestampMissing  = "missing"
	TimestampTooOld   = "too_old"
	TimestampInFuture = "in_future"
)

// UserKeyAttributes identify the user of an event, in order of preference: the pseudonym, the plain id (in a
// pipeline without anonymization), the anonymous device id. The store counts users by the first present, and
// the stateful processors (sessions, engagement) keep their state by it.
var UserKeyAttributes = []string{AttrUserHash, AttrUserID, AttrEnduserPseudoID}

// UserKey returns the user of an event's attributes and the index in UserKeyAttributes of the attribute that
// named it; "" for an event without a user.
func UserKey(attrs pcommon.Map) (string, uint8) {
	for i, a := range UserKeyAttributes {
		if v, ok := attrs.Get(a); ok && v.Type() == pcommon.ValueTypeStr && v.Str() != "" {
			return v.Str(), uint8(i)
		}
	}
	return "", 0
}

// EventName returns the event name of a Backstage action.
func EventName(action string) string { return EventNamePrefix + action }

// ActionOf returns the action of a Backstage event name, and false for any other event name.
func ActionOf(eventName string) (string, bool) {
	action, ok := strings.CutPrefix(eventName, EventNamePrefix)
	if !ok || action == "" {
		return "", false
	}
	return action, true
}
