package analyticsdb

import (
	"context"
	"database/sql"
	"fmt"
)

// migration is one schema version. Migrations are append-only: a released one is never edited, a change is a
// new version.
type migration struct {
	version     int
	description string
	sql         string
}

var migrations = []migration{
	{1, "events, sessions, backend requests and metrics", `
CREATE TABLE events (
	event_id            UUID PRIMARY KEY,     -- insights.event.id: a redelivered event is stored once
	ts                  TIMESTAMPTZ NOT NULL, -- when it happened
	observed_ts         TIMESTAMPTZ NOT NULL, -- when the collector received it
	event_name          VARCHAR NOT NULL,
	user_key            VARCHAR,              -- who, for counting: user.hash, else user.id, else enduser.pseudo.id
	action              VARCHAR,
	subject             VARCHAR,
	value               DOUBLE,
	plugin_id           VARCHAR,
	extension_id        VARCHAR,
	route_ref           VARCHAR,
	entity_ref          VARCHAR,
	entity_kind         VARCHAR,
	user_id             VARCHAR,
	user_hash           VARCHAR,
	anonymous_id        VARCHAR,
	teams               VARCHAR[],
	session_id          VARCHAR,
	session_previous_id VARCHAR,
	client_address      VARCHAR,
	user_agent          VARCHAR,
	url_full            VARCHAR,
	url_path            VARCHAR,
	http_method         VARCHAR,
	audit_event_id      VARCHAR,
	audit_severity      VARCHAR,
	audit_status        VARCHAR,
	audit_actor         VARCHAR,
	source_format       VARCHAR,
	timestamp_fallback  VARCHAR,
	timestamp_original  VARCHAR,
	engagement_score    DOUBLE,
	engagement_tier     VARCHAR,
	feature_flag_key    VARCHAR,              -- JSON text, as every JSON column here (the appender writes text)
	feature_flag_variant VARCHAR,
	service_name        VARCHAR,
	environment         VARCHAR,
	instance            VARCHAR,
	attributes          VARCHAR,              -- JSON: every other attribute (backstage.attributes.*, backstage.context.*, …)
	ingest_batch        BIGINT NOT NULL       -- which write stored it: the rollups are fed from it
);

CREATE TABLE sessions (
	session_id     VARCHAR PRIMARY KEY,
	user_key       VARCHAR,
	instance       VARCHAR,
	start_ts       TIMESTAMPTZ NOT NULL,
	end_ts         TIMESTAMPTZ NOT NULL,
	duration_s     DOUBLE,
	event_count    BIGINT,
	navigate_count BIGINT,
	plugins        VARCHAR[],
	entry_route    VARCHAR,
	exit_route     VARCHAR
);

CREATE TABLE backend_requests (
	trace_id    UUID NOT NULL,
	span_id     UBIGINT NOT NULL,
	ts          TIMESTAMPTZ NOT NULL,
	duration_ms DOUBLE NOT NULL,
	service_name VARCHAR,
	instance    VARCHAR,
	method      VARCHAR,
	route       VARCHAR,
	plugin_id   VARCHAR,              -- from /api/<plugin>/…
	status_code INTEGER,
	error       BOOLEAN,
	PRIMARY KEY (trace_id, span_id)
);

CREATE TABLE backend_metrics (
	point_key     UUID PRIMARY KEY,   -- metric, series and time: a redelivered point is stored once
	ts            TIMESTAMPTZ NOT NULL,
	start_ts      TIMESTAMPTZ,
	service_name  VARCHAR,
	instance      VARCHAR,
	scope         VARCHAR,
	metric        VARCHAR NOT NULL,
	unit          VARCHAR,
	kind          VARCHAR NOT NULL,   -- gauge, sum, histogram
	monotonic     BOOLEAN,
	cumulative    BOOLEAN,
	attributes    VARCHAR,            -- JSON
	value         DOUBLE,             -- gauge and sum points
	count         UBIGINT,            -- histogram points
	sum           DOUBLE,
	bounds        DOUBLE[],
	bucket_counts UBIGINT[]
);

-- Rollups kept at ingest so that dashboards do not scan every event. Rows of one hour and key may repeat (one
-- per write); queries sum them, and maintenance compacts them.
CREATE TABLE user_hourly (
	hour     TIMESTAMPTZ NOT NULL,
	instance VARCHAR NOT NULL,
	user_key VARCHAR NOT NULL,
	events   BIGINT NOT NULL
);

CREATE TABLE plugin_hourly (
	hour      TIMESTAMPTZ NOT NULL,
	instance  VARCHAR NOT NULL,
	plugin_id VARCHAR NOT NULL,
	user_key  VARCHAR NOT NULL,
	events    BIGINT NOT NULL
);

-- The days of each rollup that writes have added rows to since the last compaction.
CREATE TABLE rollup_days (
	rollup VARCHAR NOT NULL,
	day    TIMESTAMPTZ NOT NULL,
	PRIMARY KEY (rollup, day)
);

-- First and last time each user was seen per instance (new vs returning, onboarding); like the rollups, one
-- row per write, merged by queries (min/max) and by compaction.
CREATE TABLE users (
	instance   VARCHAR NOT NULL,
	user_key   VARCHAR NOT NULL,
	first_seen TIMESTAMPTZ NOT NULL,
	last_seen  TIMESTAMPTZ NOT NULL
);

-- Who asked what of the query API, and every erasure.
CREATE TABLE audit_log (
	ts        TIMESTAMPTZ NOT NULL DEFAULT current_timestamp,
	principal VARCHAR NOT NULL,
	role      VARCHAR NOT NULL,
	action    VARCHAR NOT NULL,   -- query, export, erase
	target    VARCHAR,            -- the metric, or the erased pseudonym
	params    VARCHAR,            -- JSON
	row_count BIGINT,
	suppressed BIGINT,            -- rows withheld by the k-anonymity floor
	status    INTEGER NOT NULL    -- the HTTP status answered
);
`},
	{2, "daily rollups in a configured time zone; event ids deduplicated against recent writes instead of a primary key", `
-- The primary key on every event id ever stored grew with the table and was rewritten at every checkpoint
-- (a third of the ingest CPU at 10 million events); redeliveries are now recognised against the ids of recent
-- writes, which the store keeps in memory.
CREATE TABLE events_v2 AS FROM events LIMIT 0;
ALTER TABLE events_v2 ALTER COLUMN event_id SET NOT NULL;
ALTER TABLE events_v2 ALTER COLUMN ts SET NOT NULL;
ALTER TABLE events_v2 ALTER COLUMN observed_ts SET NOT NULL;
ALTER TABLE events_v2 ALTER COLUMN event_name SET NOT NULL;
ALTER TABLE events_v2 ALTER COLUMN ingest_batch SET NOT NULL;
INSERT INTO events_v2 FROM events ORDER BY ingest_batch;
DROP TABLE events;
ALTER TABLE events_v2 RENAME TO events;

-- Hourly rollups gave way to daily ones (days of the rollup time zone): 3 to 5 times fewer rows, and the
-- entities and features that dashboards rank no longer scan the events. The store fills them from the events
-- when it opens (see store_settings).
DROP TABLE user_hourly;
DROP TABLE plugin_hourly;
DELETE FROM rollup_days;

CREATE TABLE user_daily (
	day      TIMESTAMPTZ NOT NULL,  -- start of the day in the rollup time zone
	instance VARCHAR NOT NULL,
	user_key VARCHAR NOT NULL,
	events   BIGINT NOT NULL
);

CREATE TABLE plugin_daily (
	day       TIMESTAMPTZ NOT NULL,
	instance  VARCHAR NOT NULL,
	plugin_id VARCHAR NOT NULL,
	user_key  VARCHAR NOT NULL,
	events    BIGINT NOT NULL
);

-- Events concerning a catalog entity (top entities, TechDocs).
CREATE TABLE entity_daily (
	day         TIMESTAMPTZ NOT NULL,
	instance    VARCHAR NOT NULL,
	plugin_id   VARCHAR,
	entity_kind VARCHAR,
	entity_ref  VARCHAR NOT NULL,
	user_key    VARCHAR,
	views       BIGINT NOT NULL,  -- navigate events
	events      BIGINT NOT NULL
);

-- The frontend's analytics events by plugin, action and (for clicks) subject: feature adoption.
CREATE TABLE feature_daily (
	day       TIMESTAMPTZ NOT NULL,
	instance  VARCHAR NOT NULL,
	plugin_id VARCHAR,
	action    VARCHAR,
	subject   VARCHAR,
	user_key  VARCHAR,
	events    BIGINT NOT NULL
);

CREATE TABLE store_settings (
	name  VARCHAR PRIMARY KEY,
	value VARCHAR NOT NULL
);
`},
	{3, "template runs in the entity rollup", `
-- Scaffolder runs (create events) and the minutes they saved, so that the templates metric reads the rollup.
ALTER TABLE entity_daily ADD COLUMN creates BIGINT DEFAULT 0;
ALTER TABLE entity_daily ADD COLUMN create_value DOUBLE;
DELETE FROM store_settings WHERE name = 'rollup_timezone'; -- the store rebuilds the rollups when it opens
`},
	{4, "users counted by number; rollup days as dates", `
-- Every user key gets a number: distinct counts over integers are 25-70% faster than over the pseudonyms'
-- strings, and the rollups shrink. The key itself stays in the events (and here, for erasure and drill-down).
CREATE TABLE user_numbers (
	user_no  UINTEGER PRIMARY KEY,
	user_key VARCHAR NOT NULL UNIQUE
);
INSERT INTO user_numbers
	SELECT row_number() OVER (ORDER BY user_key), user_key FROM (SELECT DISTINCT user_key FROM events WHERE user_key IS NOT NULL);

CREATE TABLE events_v4 AS FROM events LIMIT 0;
ALTER TABLE events_v4 ADD COLUMN user_no UINTEGER;
ALTER TABLE events_v4 ALTER COLUMN event_id SET NOT NULL;
ALTER TABLE events_v4 ALTER COLUMN ts SET NOT NULL;
ALTER TABLE events_v4 ALTER COLUMN observed_ts SET NOT NULL;
ALTER TABLE events_v4 ALTER COLUMN event_name SET NOT NULL;
ALTER TABLE events_v4 ALTER COLUMN ingest_batch SET NOT NULL;
INSERT INTO events_v4 SELECT e.*, n.user_no FROM events e LEFT JOIN user_numbers n ON n.user_key = e.user_key ORDER BY e.ingest_batch;
DROP TABLE events;
ALTER TABLE events_v4 RENAME TO events;

-- A rollup day is the calendar date in the rollup time zone: bucketing a DATE by week or month is arithmetic,
-- where a TIMESTAMPTZ needs a time-zone conversion per row (80 ms per million rows here). The rollups are
-- rebuilt from the events when the store opens.
DROP TABLE user_daily;
DROP TABLE plugin_daily;
DROP TABLE entity_daily;
DROP TABLE feature_daily;
DROP TABLE rollup_days;
DROP TABLE users;
DELETE FROM store_settings WHERE name = 'rollup_timezone';

CREATE TABLE user_daily (
	day      DATE NOT NULL,
	instance VARCHAR NOT NULL,
	user_no  UINTEGER NOT NULL,
	events   BIGINT NOT NULL
);

CREATE TABLE plugin_daily (
	day       DATE NOT NULL,
	instance  VARCHAR NOT NULL,
	plugin_id VARCHAR NOT NULL,
	user_no   UINTEGER NOT NULL,
	events    BIGINT NOT NULL
);

CREATE TABLE entity_daily (
	day          DATE NOT NULL,
	instance     VARCHAR NOT NULL,
	plugin_id    VARCHAR,
	entity_kind  VARCHAR,
	entity_ref   VARCHAR NOT NULL,
	user_no      UINTEGER,
	views        BIGINT NOT NULL,
	events       BIGINT NOT NULL,
	creates      BIGINT NOT NULL,
	create_value DOUBLE
);

CREATE TABLE feature_daily (
	day       DATE NOT NULL,
	instance  VARCHAR NOT NULL,
	plugin_id VARCHAR,
	action    VARCHAR,
	subject   VARCHAR,
	user_no   UINTEGER,
	events    BIGINT NOT NULL
);

CREATE TABLE rollup_days (
	rollup VARCHAR NOT NULL,
	day    DATE NOT NULL,
	PRIMARY KEY (rollup, day)
);

-- First and last time each user was seen per instance.
CREATE TABLE users (
	instance   VARCHAR NOT NULL,
	user_no    UINTEGER NOT NULL,
	first_seen TIMESTAMPTZ NOT NULL,
	last_seen  TIMESTAMPTZ NOT NULL
);
INSERT INTO users SELECT coalesce(instance, ''), user_no, min(ts), max(ts) FROM events WHERE user_no IS NOT NULL GROUP BY ALL;
`},
	{5, "discovers attributed to their search at ingest", `
-- The search term a discover (a click on a search result) came from: the latest search at or before it, within
-- 24 hours, in its session (or, without a session id, of its user). The store fills it in as it writes;
-- here for the events already stored (searches at the same instant: the greatest term, as at ingest).
ALTER TABLE events ADD COLUMN search_term VARCHAR;
UPDATE events SET search_term = a.term FROM (
	SELECT d.event_id, s.term FROM
		(SELECT event_id, ts, coalesce(session_id, user_key) AS sess FROM events
		 WHERE action = 'discover' AND coalesce(session_id, user_key) IS NOT NULL) d
	ASOF JOIN
		(SELECT coalesce(session_id, user_key) AS sess, ts, max(subject) AS term FROM events
		 WHERE action = 'search' AND subject IS NOT NULL AND coalesce(session_id, user_key) IS NOT NULL GROUP BY 1, 2) s
	ON d.sess = s.sess AND d.ts >= s.ts
	WHERE s.ts >= d.ts - INTERVAL 24 HOURS
) a WHERE events.event_id = a.event_id;
`},
	{6, "daily search rollup", `
-- Searches and clicks on their results per term, user and day: the search metric read every search and click
-- of its range (112 ms for 28 days of a 2,000-person organisation). Built from the events when the store opens.
CREATE TABLE search_daily (
	day          DATE NOT NULL,
	instance     VARCHAR NOT NULL,
	plugin_id    VARCHAR,
	entity_kind  VARCHAR,
	term         VARCHAR NOT NULL,
	user_no      UINTEGER,
	searches     BIGINT NOT NULL,
	zero_results BIGINT NOT NULL, -- searches with no result (value 0)
	clicks       BIGINT NOT NULL, -- discovers attributed to a search of the term
	rank_sum     DOUBLE,          -- the sum and the count of the clicked ranks (a discover's value)
	ranked       BIGINT NOT NULL
);
DELETE FROM store_settings WHERE name = 'rollup_timezone';
`},
	{7, "entities and features counted by number", `
-- Each entity ref and each feature (plugin, action, clicked item) gets a small number, which entity_daily and
-- feature_daily hold instead of the strings: grouping by an integer halved the top-entities metric and cut
-- feature adoption to a third. The rollups are rebuilt when the store opens.
CREATE TABLE entity_numbers (
	entity_no  UINTEGER PRIMARY KEY,
	entity_ref VARCHAR NOT NULL UNIQUE
);
INSERT INTO entity_numbers SELECT row_number() OVER (ORDER BY entity_ref), entity_ref
	FROM (SELECT DISTINCT entity_ref FROM events WHERE entity_ref IS NOT NULL);
CREATE TABLE feature_numbers (
	feature_no UINTEGER PRIMARY KEY,
	plugin_id  VARCHAR,
	action     VARCHAR,
	subject    VARCHAR -- the clicked item, for clicks
);
INSERT INTO feature_numbers SELECT row_number() OVER (ORDER BY plugin_id, action, subject), * FROM (
	SELECT DISTINCT plugin_id, action, CASE WHEN action = 'click' THEN subject END AS subject FROM events
	WHERE starts_with(event_name, 'backstage.'));
DROP TABLE feature_daily;
CREATE TABLE feature_daily (
	day        DATE NOT NULL,
	instance   VARCHAR NOT NULL,
	plugin_id  VARCHAR,          -- the feature's, for filters
	feature_no UINTEGER NOT NULL,
	user_no    UINTEGER,
	events     BIGINT NOT NULL
);
DROP TABLE entity_daily;
CREATE TABLE entity_daily (
	day          DATE NOT NULL,
	instance     VARCHAR NOT NULL,
	plugin_id    VARCHAR,
	entity_kind  VARCHAR,
	entity_no    UINTEGER NOT NULL,
	user_no      UINTEGER,
	views        BIGINT NOT NULL,
	events       BIGINT NOT NULL,
	creates      BIGINT NOT NULL,
	create_value DOUBLE
);
DELETE FROM store_settings WHERE name = 'rollup_timezone';
`},
	{8, "the sessionization processor's attributes of an event, and why a session ended", `
ALTER TABLE events ADD COLUMN session_start_ms BIGINT;    -- insights.session.start_ms
ALTER TABLE events ADD COLUMN session_sequence BIGINT;    -- insights.session.sequence
ALTER TABLE events ADD COLUMN session_late BOOLEAN;       -- insights.session.late
ALTER TABLE events ADD COLUMN session_client_id VARCHAR;  -- insights.session.client_id
ALTER TABLE sessions ADD COLUMN end_reason VARCHAR;       -- insights.session.end_reason
`},
	{9, "engagement tier changes", `
ALTER TABLE events ADD COLUMN engagement_previous_tier VARCHAR; -- insights.engagement.previous_tier
`},
	{10, "the weight of an experiment's variant", `
ALTER TABLE events ADD COLUMN feature_flag_weight DOUBLE; -- insights.feature_flag.weight, on exposures
`},
	{11, "teams from the catalog", `
-- The groups of the Backstage catalog as the backstage_catalog extension last read them: team analytics'
-- dimension and denominators. Replaced whole at each new snapshot.
CREATE TABLE teams (
	team          VARCHAR PRIMARY KEY, -- group:<namespace>/<name>
	parent        VARCHAR,
	ancestors     VARCHAR[],           -- the parents up to the root, nearest first
	type          VARCHAR,
	display_name  VARCHAR,
	members       BIGINT NOT NULL,     -- direct members
	total_members BIGINT NOT NULL,     -- with the members of the groups below (each user once)
	snapshot_ts   TIMESTAMPTZ NOT NULL
);
`},
	{12, "the owner of an event's entity", `
ALTER TABLE events ADD COLUMN entity_owner VARCHAR; -- backstage.entity.owner, from the catalog
`},
	{13, "page numbers in sessions", `
-- Numbered as the sessionization processor sees the page views, so that paths need no window over them.
ALTER TABLE events ADD COLUMN session_page BIGINT; -- insights.session.page: by plugin, repeats in a row sharing one
ALTER TABLE events ADD COLUMN session_view BIGINT; -- insights.session.view: every page view
`},
	{14, "daily team rollup", `
-- Per day, user and teams list (backstage.user.teams, as the event named it): the team metrics read this instead
-- of every event of their users (team comparison: 6 million rows for two periods of 28 days). Built from the
-- events when the store opens.
CREATE TABLE team_daily (
	day         DATE NOT NULL,
	instance    VARCHAR NOT NULL,
	user_no     UINTEGER NOT NULL,
	teams       VARCHAR[] NOT NULL,
	events      BIGINT NOT NULL, -- Backstage events
	runs        BIGINT NOT NULL, -- template runs: creates of an entity (a template)
	run_value   DOUBLE,          -- the sum of the runs' values (minutes saved), NULL without one
	runs_valued BIGINT NOT NULL, -- the runs that have a value
	searches    BIGINT NOT NULL,
	finds       BIGINT NOT NULL, -- clicks on a result attributed to a search (discover with a search term)
	docs        BIGINT NOT NULL  -- views of an entity's TechDocs
);
DELETE FROM store_settings WHERE name = 'rollup_timezone';
`},
	{15, "page views in sessions", `
-- The page views that carry their numbers in their session (schema 13), in a narrow table of their own: the
-- paths metric walks a month of them, which read from the wide events table cost 0.2 to 0.4 s.
CREATE TABLE page_views (
	ts               TIMESTAMPTZ NOT NULL,
	instance         VARCHAR NOT NULL,
	user_no          UINTEGER NOT NULL,
	session_start_ms BIGINT NOT NULL,
	page             BIGINT NOT NULL, -- insights.session.page
	view             BIGINT NOT NULL, -- insights.session.view
	plugin_id        VARCHAR,
	subject          VARCHAR
);
INSERT INTO page_views SELECT ts, coalesce(instance, ''), user_no, session_start_ms, session_page, session_view, plugin_id, subject
FROM events WHERE action = 'navigate' AND session_page IS NOT NULL AND session_view IS NOT NULL AND session_start_ms IS NOT NULL
AND user_no IS NOT NULL ORDER BY ts;
`},
	{16, "page views with their route pattern", `
-- The kind of page a view is (routePattern: no query or fragment; the namespace and name of catalog, TechDocs and
-- template pages replaced), computed at ingest: three regular expressions per step cost the paths metric 0.17 s
-- of a 0.25 s walk by route over a month.
ALTER TABLE page_views ADD COLUMN route VARCHAR;
UPDATE page_views SET route = regexp_replace(regexp_replace(regexp_replace(subject, '[?#].*$', ''),
	'^/(catalog|docs)/[^/]+/([^/]+)/[^/]+', '/\1/:namespace/\2/:name'),
	'^/create/templates/[^/]+/[^/]+', '/create/templates/:namespace/:name');
`},
	{17, "the contract's rare fields in a side table", `
-- Fields most events lack (an audit event's, the request's address and agent, corrected timestamps, late and
-- client sessions, a tier change's previous tier) leave the events table for event_details, a row per event that
-- has one of them. DuckDB spends on a NULL nearly what it spends on a value: appending the 19 columns the
-- simulated events fill cost 9.4 us per row against 19 us for the table's 51 (bench/README.md).
CREATE TABLE event_details (
	event_id                 UUID NOT NULL,
	ts                       TIMESTAMPTZ NOT NULL, -- the event's, for retention
	user_no                  UINTEGER,             -- the event's user
	client_address           VARCHAR,
	user_agent               VARCHAR,
	url_full                 VARCHAR,
	url_path                 VARCHAR,
	http_method              VARCHAR,
	audit_event_id           VARCHAR,
	audit_severity           VARCHAR,
	audit_status             VARCHAR,
	audit_actor              VARCHAR,
	timestamp_fallback       VARCHAR,
	timestamp_original       VARCHAR,
	session_late             BOOLEAN,
	session_client_id        VARCHAR,
	engagement_previous_tier VARCHAR
);
INSERT INTO event_details SELECT event_id, ts, user_no, client_address, user_agent, url_full, url_path, http_method,
	audit_event_id, audit_severity, audit_status, audit_actor, timestamp_fallback, timestamp_original, session_late,
	session_client_id, engagement_previous_tier
FROM events WHERE client_address IS NOT NULL OR user_agent IS NOT NULL OR url_full IS NOT NULL OR url_path IS NOT NULL
	OR http_method IS NOT NULL OR audit_event_id IS NOT NULL OR audit_severity IS NOT NULL OR audit_status IS NOT NULL
	OR audit_actor IS NOT NULL OR timestamp_fallback IS NOT NULL OR timestamp_original IS NOT NULL
	OR session_late IS NOT NULL OR session_client_id IS NOT NULL OR engagement_previous_tier IS NOT NULL;
CREATE TABLE events_v17 AS SELECT event_id, ts, observed_ts, event_name, user_key, action, subject, value, plugin_id,
	extension_id, route_ref, entity_ref, entity_kind, user_id, user_hash, anonymous_id, teams, session_id,
	session_previous_id, source_format, engagement_score, engagement_tier, feature_flag_key, feature_flag_variant,
	service_name, environment, instance, attributes, ingest_batch, user_no, search_term, session_start_ms,
	session_sequence, feature_flag_weight, entity_owner, session_page, session_view
FROM events;
ALTER TABLE events_v17 ALTER COLUMN event_id SET NOT NULL;
ALTER TABLE events_v17 ALTER COLUMN ts SET NOT NULL;
ALTER TABLE events_v17 ALTER COLUMN observed_ts SET NOT NULL;
ALTER TABLE events_v17 ALTER COLUMN event_name SET NOT NULL;
ALTER TABLE events_v17 ALTER COLUMN ingest_batch SET NOT NULL;
DROP TABLE events;
ALTER TABLE events_v17 RENAME TO events;
`},
	{18, "each session's steps as lists", `
-- A row per session with its page views as lists, built by the maintenance a day of session starts at a time
-- (sessionsteps.go): the paths metric finds the anchor and the steps after it inside a row instead of joining
-- a month of page views with the anchors found in them (105-165 ms by plugin or route against 40-75).
CREATE TABLE session_steps (
	instance         VARCHAR NOT NULL,
	user_no          UINTEGER NOT NULL,
	session_start_ms BIGINT NOT NULL,
	pages            VARCHAR[] NOT NULL, -- the plugin of each page (insights.session.page), in order
	view_pages       UINTEGER[] NOT NULL, -- of each page view in order: the position of its page in pages
	view_plugins     VARCHAR[] NOT NULL,
	view_routes      VARCHAR[] NOT NULL,
	view_subjects    VARCHAR[] NOT NULL
);
INSERT INTO rollup_days SELECT DISTINCT 'session_steps', DATE '1970-01-01' + CAST(session_start_ms // 86400000 AS INTEGER)
FROM page_views ON CONFLICT DO NOTHING;
`},
	{19, "template run task pages as one route", `
-- A template run's task page (/create/tasks/<id>) became a route of its own per run: 133,000 routes in the bench
-- data set, each below any k, so that the paths by route lost the step after a template run.
UPDATE page_views SET route = regexp_replace(route, '^/create/tasks/[^/]+', '/create/tasks/:taskId') WHERE starts_with(route, '/create/tasks/');
INSERT INTO rollup_days SELECT DISTINCT 'session_steps', DATE '1970-01-01' + CAST(session_start_ms // 86400000 AS INTEGER)
FROM page_views WHERE starts_with(route, '/create/tasks/') ON CONFLICT DO NOTHING;
`},
	{20, "route numbers", `
-- Page views carry the number of their route pattern, and session_steps lists the numbers: a month of route
-- lists read as strings cost the paths metric 15 to 27 ms of a 75 to 105 ms walk, and its aggregation over the
-- route strings most of the rest. The walks name the routes once counted (route_numbers).
CREATE TABLE route_numbers (
	route_no UINTEGER NOT NULL,
	route    VARCHAR NOT NULL
);
INSERT INTO route_numbers SELECT row_number() OVER (ORDER BY route), route FROM (SELECT DISTINCT route FROM page_views WHERE route IS NOT NULL);
ALTER TABLE page_views ADD COLUMN route_no UINTEGER;
UPDATE page_views SET route_no = r.route_no FROM route_numbers r WHERE r.route = page_views.route;
DROP TABLE session_steps;
CREATE TABLE session_steps (
	instance         VARCHAR NOT NULL,
	user_no          UINTEGER NOT NULL,
	session_start_ms BIGINT NOT NULL,
	pages            VARCHAR[] NOT NULL,  -- the plugin of each page (insights.session.page), in order
	view_pages       UINTEGER[] NOT NULL, -- of each page view in order: the position of its page in pages
	view_plugins     VARCHAR[] NOT NULL,
	view_routes      UINTEGER[] NOT NULL, -- route numbers
	view_subjects    VARCHAR[] NOT NULL
);
INSERT INTO rollup_days SELECT DISTINCT 'session_steps', DATE '1970-01-01' + CAST(session_start_ms // 86400000 AS INTEGER)
FROM page_views ON CONFLICT DO NOTHING;
`},
	{21, "the users of each plugin as bitmaps", `
-- Per day, plugin and block of 2,048 user numbers, the users as a bitmap (usersets.go), built by the compaction
-- from plugin_daily: plugin adoption ORs a few hundred bitmaps instead of counting distinct users over 500,000
-- rows. Every day is marked for the compaction to build it.
CREATE TABLE plugin_users (
	day       DATE NOT NULL,
	instance  VARCHAR NOT NULL,
	plugin_id VARCHAR NOT NULL,
	block     UINTEGER NOT NULL, -- user numbers block * 2048 + 1 to (block + 1) * 2048
	users     BIT NOT NULL,      -- bit i (from 1, left to right): user number block * 2048 + i
	events    BIGINT NOT NULL
);
INSERT INTO rollup_days SELECT DISTINCT 'plugin_daily', day FROM plugin_daily ON CONFLICT DO NOTHING;
`},
}

// migrate applies the migrations the database has not seen, each in its own transaction.
func migrate(ctx context.Context, db *sql.DB) (applied int, err error) {
	return applyMigrations(ctx, db, migrations)
}

func applyMigrations(ctx context.Context, db *sql.DB, migrations []migration) (applied int, err error) {
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, description VARCHAR, applied_at TIMESTAMPTZ DEFAULT current_timestamp)`); err != nil {
		return 0, fmt.Errorf("create schema_migrations: %w", err)
	}
	var current int
	if err := db.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	if latest := migrations[len(migrations)-1].version; current > latest {
		return 0, fmt.Errorf("the database has schema version %d, newer than this collector's %d: upgrade the collector", current, latest)
	}
	for _, m := range migrations {
		if m.version <= current {
			continue
		}
		if err := apply(ctx, db, m); err != nil {
			return applied, err
		}
		applied++
	}
	return applied, nil
}

func apply(ctx context.Context, db *sql.DB, m migration) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return fmt.Errorf("migration %d (%s): %w", m.version, m.description, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, description) VALUES (?, ?)`, m.version, m.description); err != nil {
		return fmt.Errorf("record migration %d: %w", m.version, err)
	}
	return tx.Commit()
}
