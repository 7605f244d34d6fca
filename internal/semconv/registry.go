package semconv

// Type is the pdata value type of an attribute.
type Type string

const (
	TypeString      Type = "string"
	TypeDouble      Type = "double"
	TypeInt         Type = "int"
	TypeBool        Type = "boolean"
	TypeStringSlice Type = "string[]"
	TypeAny         Type = "any"
)

// Sources says where an attribute comes from in each input format; empty means the format never sets it.
type Sources struct {
	OTLP           string // OTLP/HTTP log records sent to /v1/logs
	AnalyticsEvent string // bare Backstage AnalyticsEvent (Red Hat adoption-insights module) on /v1/events
	Generic        string // Generic HTTP module envelope {event, timestamp, user, teamMetadata, sessionId} on /v1/events
	Segment        string // Segment-spec messages on /v1/batch, /v1/track, /v1/page, /v1/identify, /v1/group
	Audit          string // Backstage audit events (winston logs with isAuditEvent=true) on /v1/logs
}

// Attribute documents one name of the contract.
type Attribute struct {
	Key      string
	Type     Type
	Resource bool   // a resource attribute rather than a record attribute
	SetBy    string // the component that writes it
	Brief    string
	Example  string
	From     Sources
}

const (
	setByReceiver      = "backstage receiver"
	setByAnonymization = "anonymization processor"
	setBySession       = "sessionization processor"
	setByEngagement    = "engagement processor"
	setByCohort        = "cohort processor"
	setByCatalog       = "backstage receiver (catalog enrichment) or the payload"
)

// Registry lists every attribute of the contract, in documentation order.
var Registry = []Attribute{
	{Key: AttrEventID, Type: TypeString, SetBy: setByReceiver,
		Brief:   "Stable idempotency key of the event, UUID-shaped (Mixpanel's 36-character `$insert_id` accepts it). A retried batch yields the same ids, so every store can deduplicate on it.",
		Example: "`0191f0c2-7a1e-8b9c-9d3e-5f6a7b8c9d0e`",
		From: Sources{
			OTLP:           "`insights.event.id` when present (kept if it is a UUID, else hashed into one); else derived from the event's content",
			AnalyticsEvent: "derived from the event's content (user, action, subject, time, plugin, extension, entity, value); without a timestamp also from the request body and the event's index",
			Generic:        "derived from the event's content, including `sessionId`",
			Segment:        "`messageId` (kept if a UUID, else hashed into one); else derived from the content",
			Audit:          "derived from trace id, span id, time, event id, actor and status",
		}},
	{Key: AttrAction, Type: TypeString, SetBy: setByReceiver,
		Brief:   "The Backstage action. The record's `EventName` is always `backstage.<action>`.",
		Example: "`navigate`, `click`, `search`, `discover`, `create`, `not-found`, `audit.scaffolder.task`",
		From: Sources{
			OTLP:           "the part of `EventName` after `backstage.`",
			AnalyticsEvent: "`action`",
			Generic:        "`event.action`",
			Segment:        "track: `event`; page and screen: `navigate`; identify: `identify`; group: `group`",
			Audit:          "`audit.` + the record body (`<plugin>.<eventId>`)",
		}},
	{Key: AttrSubject, Type: TypeString, SetBy: setByReceiver,
		Brief:   "What the action was applied to: the path navigated to (with query string, until anonymization scrubs it), the link text, the search term, the result title.",
		Example: "`/catalog/default/component/example-website`",
		From: Sources{
			OTLP:           "`backstage.subject`",
			AnalyticsEvent: "`subject`",
			Generic:        "`event.subject`",
			Segment:        "track: `properties.subject`; page: `name`, else `properties.path`; group: `groupId`",
			Audit:          "`meta.entityRef` or `meta.templateRef`, else `request.url`",
		}},
	{Key: AttrValue, Type: TypeDouble, SetBy: setByReceiver,
		Brief:   "The event's number: result count of `search`, rank of `discover`, minutes saved of `create`.",
		Example: "`4`",
		From: Sources{
			OTLP:           "`backstage.value` (an int is converted to double)",
			AnalyticsEvent: "`value`",
			Generic:        "`event.value`",
			Segment:        "`properties.value`",
		}},
	{Key: AttrPluginID, Type: TypeString, SetBy: setByReceiver,
		Brief:   "The Backstage plugin the event happened in (the same key Backstage's tracing service uses).",
		Example: "`catalog`, `scaffolder`, `techdocs`",
		From: Sources{
			OTLP:           "`backstage.plugin.id`",
			AnalyticsEvent: "`context.pluginId`",
			Generic:        "`event.context.pluginId`",
			Segment:        "track: `properties.context.pluginId`; page: `category`, else `properties.pluginId`",
			Audit:          "`plugin`",
		}},
	{Key: AttrExtensionID, Type: TypeString, SetBy: setByReceiver,
		Brief:   "The extension that emitted the event: `extensionId` in the new frontend system, `extension` in legacy apps.",
		Example: "`page:catalog`, `entity-content:catalog/overview`, `App`",
		From: Sources{
			OTLP:           "`backstage.extension.id`",
			AnalyticsEvent: "`context.extensionId`, else `context.extension`",
			Generic:        "`event.context.extensionId`, else `event.context.extension`",
			Segment:        "`properties.context.extensionId` / `extension` (track), `properties.extensionId` / `extension` (page)",
		}},
	{Key: AttrRouteRef, Type: TypeString, SetBy: setByReceiver,
		Brief:   "The route ref id (legacy frontend system only).",
		Example: "`catalog:entity`",
		From: Sources{
			OTLP:           "`backstage.route_ref`",
			AnalyticsEvent: "`context.routeRef`",
			Generic:        "`event.context.routeRef`",
			Segment:        "`properties.context.routeRef` (track), `properties.routeRef` (page)",
		}},
	{Key: AttrEntityRef, Type: TypeString, SetBy: setByReceiver,
		Brief:   "The catalog entity the event concerns, as a lower-case entity ref `kind:namespace/name` (Backstage compares refs case-insensitively, and catalog relations use lower case).",
		Example: "`component:default/example-website`",
		From: Sources{
			OTLP:           "`backstage.entity_ref`",
			AnalyticsEvent: "`context.entityRef`; for `navigate`, else the route params `attributes.kind`/`namespace`/`name`",
			Generic:        "as for the bare event, inside `event`",
			Segment:        "`properties.context.entityRef` (track), `properties.entityRef` (page)",
			Audit:          "`meta.entityRef`, else `meta.templateRef`",
		}},
	{Key: AttrEntityKind, Type: TypeString, SetBy: setByReceiver,
		Brief:   "The kind part of `backstage.entity_ref`, lower case.",
		Example: "`component`, `template`, `user`",
		From:    Sources{OTLP: "derived", AnalyticsEvent: "derived", Generic: "derived", Segment: "derived", Audit: "derived"}},
	{Key: AttrEntityOwner, Type: TypeString, SetBy: setByCatalog,
		Brief:   "The owner of `backstage.entity_ref` in the catalog (its `spec.owner`, as a ref), for which team's components are used.",
		Example: "`group:default/payments`"},
	{Key: AttrAttributesPrefix + "<key>", Type: TypeAny, SetBy: setByReceiver,
		Brief:   "Each of the event's own attributes (scalars as they came; nested Segment properties as maps).",
		Example: "`backstage.attributes.to` = `/catalog/default/component/example-website`",
		From: Sources{
			OTLP:           "as sent",
			AnalyticsEvent: "`attributes.<key>`",
			Generic:        "`event.attributes.<key>`",
			Segment:        "track: `properties.attributes.<key>`, or each other `properties.<key>`; page: each `properties.<key>`; identify and group: each `traits.<key>`",
		}},
	{Key: AttrContextPrefix + "<key>", Type: TypeAny, SetBy: setByReceiver,
		Brief:   "Each context key that has no attribute of its own (e.g. `searchTypes`).",
		Example: "`backstage.context.searchTypes` = `techdocs`",
		From: Sources{
			OTLP:           "as sent",
			AnalyticsEvent: "`context.<key>`",
			Generic:        "`event.context.<key>`",
			Segment:        "`properties.context.<key>` (track)",
		}},
	{Key: AttrUserID, Type: TypeString, SetBy: setByReceiver,
		Brief:   "The plain user entity ref. Personal data: the anonymization processor replaces it with `user.hash`, and nothing after it carries it unless configured so.",
		Example: "`user:default/jdoe`",
		From: Sources{
			OTLP:           "`user.id`",
			AnalyticsEvent: "`context.userName`, else `context.userId` (the module's unsalted SHA-256 of it)",
			Generic:        "`user`",
			Segment:        "`userId`",
			Audit:          "`actor.actorId` when it is a user ref",
		}},
	{Key: AttrUserHash, Type: TypeString, SetBy: setByAnonymization,
		Brief:   "Keyed pseudonym of `user.id`: `<key id>.` and the first 128 bits of HMAC-SHA256 over the canonical user ref, base64url (the key id lets keys rotate).",
		Example: "`k1.q2h7XJ0m3Jb5dVxw4tGmRA`"},
	{Key: AttrEnduserPseudoID, Type: TypeString, SetBy: setByReceiver,
		Brief:   "An anonymous device/browser id, used to group events of a visitor who is not signed in. The anonymization processor replaces it with its keyed pseudonym.",
		Example: "`0f2b0c9e-3c1a-4a77-9b1e-2d5c3f6a7b8c`",
		From:    Sources{OTLP: "`enduser.pseudo.id`", Segment: "`anonymousId`"}},
	{Key: AttrUserTeams, Type: TypeStringSlice, SetBy: setByCatalog,
		Brief:   "Group refs of the user's teams.",
		Example: "`[\"group:default/platform\"]`",
		From: Sources{
			OTLP:    "`backstage.user.teams`",
			Generic: "`teamMetadata.spec.memberOf` (group refs completed to `group:<namespace>/<name>`)",
			Segment: "`context.groupId`",
		}},
	{Key: AttrSessionID, Type: TypeString, SetBy: setByReceiver + ", " + setBySession,
		Brief:   "The session the event belongs to (OpenTelemetry `session.id`).",
		Example: "`0193a0f0-5b7e-7cde-8f00-0123456789ab`",
		From:    Sources{OTLP: "`session.id`", Generic: "`sessionId`"}},
	{Key: AttrSessionPreviousID, Type: TypeString, SetBy: setBySession,
		Brief: "The user's previous session (OpenTelemetry `session.previous_id`)."},
	{Key: AttrSessionStartMs, Type: TypeInt, SetBy: setBySession,
		Brief:   "When the session began, in milliseconds since the Unix epoch: Amplitude's numeric `session_id`.",
		Example: "`1795635170603`"},
	{Key: AttrSessionSequence, Type: TypeInt, SetBy: setBySession,
		Brief: "The event's number in its session, from 1 in the order the processor saw the events."},
	{Key: AttrSessionPage, Type: TypeInt, SetBy: setBySession,
		Brief: "On a `navigate`: the page's number in its session, from 1, page views of one plugin in a row sharing it (the steps of a path by plugin)."},
	{Key: AttrSessionView, Type: TypeInt, SetBy: setBySession,
		Brief: "On a `navigate`: the page view's number in its session, from 1 (the steps of a path by route)."},
	{Key: AttrSessionLate, Type: TypeBool, SetBy: setBySession,
		Brief: "The event came later than `allowed_lateness` and no known session covered its time: it has no session."},
	{Key: AttrSessionClientID, Type: TypeString, SetBy: setBySession,
		Brief: "The session id the client sent, kept when the processor's session id replaces it (`trust_client_sessions` off)."},
	{Key: AttrSessionDurationMs, Type: TypeInt, SetBy: setBySession,
		Brief: "On `session.end`: from the session's first event to its last, in milliseconds."},
	{Key: AttrSessionEventCount, Type: TypeInt, SetBy: setBySession,
		Brief: "On `session.end`: the session's events."},
	{Key: AttrSessionNavigateCount, Type: TypeInt, SetBy: setBySession,
		Brief: "On `session.end`: the session's `navigate` events (page views)."},
	{Key: AttrSessionPlugins, Type: TypeStringSlice, SetBy: setBySession,
		Brief: "On `session.end`: the distinct plugins of the session's events."},
	{Key: AttrSessionFirstPlugin, Type: TypeString, SetBy: setBySession,
		Brief: "On `session.end`: the plugin of the session's first event that had one."},
	{Key: AttrSessionLastPlugin, Type: TypeString, SetBy: setBySession,
		Brief: "On `session.end`: the plugin of the session's last event that had one."},
	{Key: AttrSessionEntryRoute, Type: TypeString, SetBy: setBySession,
		Brief: "On `session.end`: the subject of the session's first `navigate` (its landing page)."},
	{Key: AttrSessionExitRoute, Type: TypeString, SetBy: setBySession,
		Brief: "On `session.end`: the subject of the session's last `navigate` (its exit page)."},
	{Key: AttrSessionEndReason, Type: TypeString, SetBy: setBySession,
		Brief:   "On `session.end`: why it ended: `inactivity`, `max_duration`, `midnight`, `evicted`, `client` or `shutdown`.",
		Example: "`inactivity`"},
	{Key: AttrClientAddress, Type: TypeString, SetBy: setByReceiver,
		Brief:   "IP address of the browser or client. Personal data: the anonymization processor truncates or drops it.",
		Example: "`203.0.113.7`",
		From:    Sources{OTLP: "`client.address`", Segment: "`context.ip`", Audit: "`actor.ip`"}},
	{Key: AttrUserAgent, Type: TypeString, SetBy: setByReceiver,
		Brief: "The browser's user agent. The anonymization processor generalises it.",
		From:  Sources{OTLP: "`user_agent.original`", Segment: "`context.userAgent`", Audit: "`actor.userAgent`"}},
	{Key: AttrURLFull, Type: TypeString, SetBy: setByReceiver,
		Brief: "Full URL of the page (Segment page calls).",
		From:  Sources{OTLP: "`url.full`", Segment: "`properties.url`, else `context.page.url`"}},
	{Key: AttrURLPath, Type: TypeString, SetBy: setByReceiver,
		Brief: "Path of the backend request an audit event records.",
		From:  Sources{OTLP: "`url.path`", Audit: "`request.url`"}},
	{Key: AttrHTTPMethod, Type: TypeString, SetBy: setByReceiver,
		Brief: "Method of the backend request an audit event records.",
		From:  Sources{OTLP: "`http.request.method`", Audit: "`request.method`"}},
	{Key: AttrAuditEventID, Type: TypeString, SetBy: setByReceiver,
		Brief: "The audit event id within its plugin.", Example: "`entity-fetch`, `task`",
		From: Sources{Audit: "`eventId`"}},
	{Key: AttrAuditSeverity, Type: TypeString, SetBy: setByReceiver,
		Brief: "Audit severity: `low`, `medium`, `high` or `critical`.", From: Sources{Audit: "`severityLevel`"}},
	{Key: AttrAuditStatus, Type: TypeString, SetBy: setByReceiver,
		Brief: "Audit status: `initiated`, `succeeded` or `failed`.", From: Sources{Audit: "`status`"}},
	{Key: AttrAuditActor, Type: TypeString, SetBy: setByReceiver,
		Brief: "The acting principal when it is not a user (a plugin or an external service).", Example: "`plugin:auth`",
		From: Sources{Audit: "`actor.actorId` when it is not a user ref"}},
	{Key: AttrAuditMetaPrefix + "<key>", Type: TypeAny, SetBy: setByReceiver,
		Brief: "Each key of the audit event's `meta` object.", Example: "`backstage.audit.meta.actionType` = `create`",
		From: Sources{Audit: "`meta.<key>`"}},
	{Key: AttrSourceFormat, Type: TypeString, SetBy: setByReceiver,
		Brief: "The wire format the event arrived in: `otlp`, `analytics_event`, `generic`, `segment` or `audit`.",
		From:  Sources{OTLP: "`otlp`", AnalyticsEvent: "`analytics_event`", Generic: "`generic`", Segment: "`segment`", Audit: "`audit`"}},
	{Key: AttrTimestampFallback, Type: TypeString, SetBy: setByReceiver,
		Brief: "Set when the record's `Timestamp` is the collector's observed time instead of the payload's: `missing` (the payload had none), `too_old` (older than `max_event_age`) or `in_future` (later than `max_clock_skew`)."},
	{Key: AttrTimestampOriginal, Type: TypeString, SetBy: setByReceiver,
		Brief: "The payload's own time (RFC 3339) when it fell outside the accepted window."},
	{Key: AttrEngagementScore, Type: TypeDouble, SetBy: setByEngagement,
		Brief: "The user's engagement score, 0-100."},
	{Key: AttrEngagementTier, Type: TypeString, SetBy: setByEngagement,
		Brief: "The user's engagement tier: `power`, `core`, `casual` or `dormant`."},
	{Key: AttrEngagementPreviousTier, Type: TypeString, SetBy: setByEngagement,
		Brief: "On `insights.engagement.tier_change` events: the tier the user left (empty for a user's first tier)."},
	{Key: AttrFeatureFlagKey, Type: TypeAny, SetBy: setByCohort,
		Brief: "On `feature_flag.evaluation` (exposure) events: the experiment (OpenTelemetry `feature_flag.key`)."},
	{Key: AttrFeatureFlagVariant, Type: TypeAny, SetBy: setByCohort,
		Brief: "Cohort tags: on the events of an assigned user, a map from each of the user's running experiments (its `feature_flag.key`) to the user's variant; on exposure events, the variant (OpenTelemetry `feature_flag.result.variant`)."},
	{Key: AttrFeatureFlagWeight, Type: TypeDouble, SetBy: setByCohort,
		Brief: "On `feature_flag.evaluation` events: the variant's weight in its experiment (the share of assigned users it should get)."},
	{Key: ResourceServiceName, Type: TypeString, Resource: true, SetBy: setByReceiver,
		Brief: "The sending service; `backstage` when the sender names none.", Example: "`backstage`",
		From: Sources{OTLP: "resource `service.name`", AnalyticsEvent: "`backstage`", Generic: "`backstage`", Segment: "`backstage`", Audit: "resource `service.name`"}},
	{Key: ResourceDeploymentEnvironment, Type: TypeString, Resource: true, SetBy: setByReceiver,
		Brief: "The deployment environment.", Example: "`production`",
		From: Sources{OTLP: "resource `deployment.environment.name`"}},
	{Key: ResourceInstance, Type: TypeString, Resource: true, SetBy: setByReceiver,
		Brief:   "Which Backstage portal sent the event (companies with several portals). The credential's `instance`, else the resource attribute, else the receiver's `instance` setting.",
		Example: "`portal-eu`"},
}
