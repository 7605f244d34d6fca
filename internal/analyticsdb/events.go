package analyticsdb

import (
	"context"
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"
	"github.com/google/uuid"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/insights-collector/insights-collector/internal/semconv"
)

type valueKind int

const (
	kindString valueKind = iota
	kindDouble
	kindInt
	kindBool
	kindStrings
	kindJSON
)

// attrColumn maps one attribute of the event contract onto a typed column of the events table.
type attrColumn struct {
	attr, column string
	kind         valueKind
}

// eventAttrColumns are the contract's attributes with a column of their own (every other attribute goes to the
// attributes JSON column). A test checks it against semconv.Registry and the table.
var eventAttrColumns = []attrColumn{
	{semconv.AttrAction, "action", kindString},
	{semconv.AttrSubject, "subject", kindString},
	{semconv.AttrValue, "value", kindDouble},
	{semconv.AttrPluginID, "plugin_id", kindString},
	{semconv.AttrExtensionID, "extension_id", kindString},
	{semconv.AttrRouteRef, "route_ref", kindString},
	{semconv.AttrEntityRef, "entity_ref", kindString},
	{semconv.AttrEntityKind, "entity_kind", kindString},
	{semconv.AttrUserID, "user_id", kindString},
	{semconv.AttrUserHash, "user_hash", kindString},
	{semconv.AttrEnduserPseudoID, "anonymous_id", kindString},
	{semconv.AttrUserTeams, "teams", kindStrings},
	{semconv.AttrSessionID, "session_id", kindString},
	{semconv.AttrSessionPreviousID, "session_previous_id", kindString},
	{semconv.AttrClientAddress, "client_address", kindString},
	{semconv.AttrUserAgent, "user_agent", kindString},
	{semconv.AttrURLFull, "url_full", kindString},
	{semconv.AttrURLPath, "url_path", kindString},
	{semconv.AttrHTTPMethod, "http_method", kindString},
	{semconv.AttrAuditEventID, "audit_event_id", kindString},
	{semconv.AttrAuditSeverity, "audit_severity", kindString},
	{semconv.AttrAuditStatus, "audit_status", kindString},
	{semconv.AttrAuditActor, "audit_actor", kindString},
	{semconv.AttrSourceFormat, "source_format", kindString},
	{semconv.AttrTimestampFallback, "timestamp_fallback", kindString},
	{semconv.AttrTimestampOriginal, "timestamp_original", kindString},
	{semconv.AttrEngagementScore, "engagement_score", kindDouble},
	{semconv.AttrEngagementTier, "engagement_tier", kindString},
	{semconv.AttrFeatureFlagKey, "feature_flag_key", kindJSON},
	{semconv.AttrFeatureFlagVariant, "feature_flag_variant", kindJSON},
}

// addedAttrColumns are the processors' attributes of an event that migrations 8 to 13 added at the end of the
// table.
var addedAttrColumns = []attrColumn{
	{semconv.AttrSessionStartMs, "session_start_ms", kindInt},
	{semconv.AttrSessionSequence, "session_sequence", kindInt},
	{semconv.AttrSessionLate, "session_late", kindBool},
	{semconv.AttrSessionClientID, "session_client_id", kindString},
	{semconv.AttrEngagementPreviousTier, "engagement_previous_tier", kindString}, // migration 9
	{semconv.AttrFeatureFlagWeight, "feature_flag_weight", kindDouble},           // migration 10
	{semconv.AttrEntityOwner, "entity_owner", kindString},                        // migration 12
	{semconv.AttrSessionPage, "session_page", kindInt},                           // migration 13
	{semconv.AttrSessionView, "session_view", kindInt},
}

// eventResourceColumns are the resource attributes with a column.
var eventResourceColumns = []attrColumn{
	{semconv.ResourceServiceName, "service_name", kindString},
	{semconv.ResourceDeploymentEnvironment, "environment", kindString},
	{semconv.ResourceInstance, "instance", kindString},
}

// eventColumns is the events table's columns, in its order (a test checks it against the table).
var eventColumns = func() []string {
	cols := []string{"event_id", "ts", "observed_ts", "event_name", "user_key"}
	for _, c := range eventAttrColumns {
		cols = append(cols, c.column)
	}
	for _, c := range eventResourceColumns {
		cols = append(cols, c.column)
	}
	// Last, the columns migrations added.
	cols = append(cols, "attributes", "ingest_batch", "user_no", "search_term")
	for _, c := range addedAttrColumns {
		cols = append(cols, c.column)
	}
	return cols
}()

// Positions in an event row of the columns the store fills in (and the rollups read).
var (
	attributesAt   = slices.Index(eventColumns, "attributes")
	ingestBatchAt  = slices.Index(eventColumns, "ingest_batch")
	userNoAt       = slices.Index(eventColumns, "user_no")
	searchTermAt   = slices.Index(eventColumns, "search_term")
	teamsAt        = slices.Index(eventColumns, "teams")
	sessionStartAt = slices.Index(eventColumns, "session_start_ms")
	sessionPageAt  = slices.Index(eventColumns, "session_page")
	sessionViewAt  = slices.Index(eventColumns, "session_view")
)

// attrColumnAt maps each attribute with a column to the column's position in an event row.
var attrColumnAt = func() map[string]attrPosition {
	m := map[string]attrPosition{}
	for _, c := range append(slices.Clone(eventAttrColumns), addedAttrColumns...) {
		m[c.attr] = attrPosition{slices.Index(eventColumns, c.column), c.kind}
	}
	return m
}()

type attrPosition struct {
	at   int
	kind valueKind
}

// Rejection says why a record could not be stored.
type Rejection struct {
	Index  int // among the log records of the write, across resources and scopes
	Reason string
}

// WriteResult counts one write.
type WriteResult struct {
	Stored     int // new rows
	Duplicates int // rows already stored (a redelivery)
	Rejected   []Rejection
	Skipped    int // records that are not events (no EventName), or spans and points the store does not keep
}

// WriteLogs stores the events among the log records, atomically: the events and the rollups fed from them are
// committed together or not at all. An event whose id was stored by a recent write (a redelivery) or appears
// earlier in the same write is counted as a duplicate and not stored again. The sessionization processor's
// session.end events fill the sessions table (once per session id) instead of the events; its session.start
// events are skipped (the session's row has its start).
func (s *Store) WriteLogs(ctx context.Context, ld plog.Logs, now time.Time) (WriteResult, error) {
	res, rows, sessions := s.eventRows(ld, now)
	s.mu.Lock()
	defer s.mu.Unlock()
	fresh := rows[:0]
	for _, row := range rows {
		if s.recent.has(row[0].(duckdb.UUID)) {
			res.Duplicates++
			continue
		}
		fresh = append(fresh, row)
	}
	if len(fresh) == 0 && len(sessions) == 0 {
		return res, nil
	}
	searches, err := s.writeRows(ctx, fresh, sessions)
	for _, n := range []numbers{&s.users, &s.entities, &s.features} {
		if err != nil {
			n.rollback()
		} else {
			n.commit()
		}
	}
	if err != nil {
		return WriteResult{}, fmt.Errorf("write %d events: %w", len(fresh), err)
	}
	s.nextBatch++
	for _, row := range fresh {
		s.recent.add(row[0].(duckdb.UUID))
	}
	for sess, sr := range searches {
		s.searches.remember(sess, sr)
	}
	s.searches.forgetOld()
	res.Stored = len(fresh) + len(sessions)
	return res, nil
}

// writeRows numbers the rows' users, entities and features, attributes their discovers to searches and stores
// them with their rollups in one transaction; it returns the write's latest search per session.
func (s *Store) writeRows(ctx context.Context, rows, sessions [][]driver.Value) (map[string]search, error) {
	s.numberUsers(rows)
	searches, err := s.attributeSearches(ctx, rows)
	if err != nil {
		return nil, err
	}
	aggregates := newDailyAggregates(s.loc, &s.entities, &s.features)
	for _, row := range rows {
		row[ingestBatchAt] = s.nextBatch
		aggregates.add(row)
	}
	return searches, s.inTx(ctx, func() error {
		for _, n := range []numbers{&s.users, &s.entities, &s.features} {
			if err := s.appendRows(n.pendingRows()); err != nil {
				return err
			}
		}
		if err := s.appendRows("events", rows); err != nil {
			return err
		}
		if err := s.insertRows("sessions", sessions); err != nil {
			return err
		}
		return s.appendRollups(ctx, aggregates)
	})
}

// eventRows converts the log records to event rows and session rows, counting what is not stored: rejected
// records, records that are not events, and events repeated within the write (two senders, two formats).
func (s *Store) eventRows(ld plog.Logs, now time.Time) (WriteResult, [][]driver.Value, [][]driver.Value) {
	var res WriteResult
	var rows, sessions [][]driver.Value
	ids := map[duckdb.UUID]bool{}
	index := 0
	for i := 0; i < ld.ResourceLogs().Len(); i++ {
		rl := ld.ResourceLogs().At(i)
		resource := rl.Resource().Attributes()
		for j := 0; j < rl.ScopeLogs().Len(); j++ {
			records := rl.ScopeLogs().At(j).LogRecords()
			for k := 0; k < records.Len(); k++ {
				lr := records.At(k)
				var row []driver.Value
				var err error
				switch lr.EventName() {
				case semconv.EventSessionEnd:
					if row, err = sessionRow(lr, resource); err == nil {
						sessions = append(sessions, row)
					}
				case semconv.EventSessionStart: // the session's row has its start
				default:
					row, err = eventRow(lr, resource, now)
				}
				switch {
				case err != nil:
					res.Rejected = append(res.Rejected, Rejection{Index: index, Reason: err.Error()})
				case row == nil:
					res.Skipped++
				case lr.EventName() == semconv.EventSessionEnd:
				case ids[row[0].(duckdb.UUID)]:
					res.Duplicates++
				default:
					ids[row[0].(duckdb.UUID)] = true
					rows = append(rows, row)
				}
				index++
			}
		}
	}
	return res, rows, sessions
}

// eventRow converts a log record to a row of the events table; nil (and no error) for a record that is not
// an event.
func eventRow(lr plog.LogRecord, resource pcommon.Map, now time.Time) ([]driver.Value, error) {
	if lr.EventName() == "" {
		return nil, nil
	}
	attrs := lr.Attributes()
	idValue, ok := attrs.Get(semconv.AttrEventID)
	if !ok {
		return nil, fmt.Errorf("event %q has no %s", lr.EventName(), semconv.AttrEventID)
	}
	id, err := uuid.Parse(idValue.AsString())
	if err != nil {
		return nil, fmt.Errorf("event %q: %s %q is not a UUID", lr.EventName(), semconv.AttrEventID, idValue.AsString())
	}
	observed := now
	if lr.ObservedTimestamp() != 0 {
		observed = lr.ObservedTimestamp().AsTime()
	}
	ts := observed
	if lr.Timestamp() != 0 {
		ts = lr.Timestamp().AsTime()
	}

	row := make([]driver.Value, len(eventColumns))
	row[0], row[1], row[2], row[3] = duckdb.UUID(id), ts, observed, lr.EventName()
	if action, ok := semconv.ActionOf(lr.EventName()); ok {
		row[actionAt] = action // events named backstage.<action> always have one
	}
	rest := map[string]any{}
	attrs.Range(func(k string, v pcommon.Value) bool {
		pos, typed := attrColumnAt[k]
		if !typed {
			if k != semconv.AttrEventID {
				rest[k] = v.AsRaw()
			}
			return true
		}
		row[pos.at] = columnValue(pos.kind, v)
		return true
	})
	offset := 5 + len(eventAttrColumns)
	for i, c := range eventResourceColumns {
		if v, ok := resource.Get(c.attr); ok {
			row[offset+i] = v.AsString()
		}
	}
	row[4] = userKey(row)
	if len(rest) > 0 {
		raw, err := json.Marshal(rest)
		if err != nil {
			return nil, fmt.Errorf("event %s: encode attributes: %w", id, err)
		}
		row[attributesAt] = string(raw)
	}
	return row, nil
}

// userKey is the identity the metrics count: the pseudonym, else the plain id, else the anonymous id.
func userKey(row []driver.Value) driver.Value {
	for _, attr := range semconv.UserKeyAttributes {
		if v, ok := row[attrColumnAt[attr].at].(string); ok && v != "" {
			return v
		}
	}
	return nil
}

func columnValue(kind valueKind, v pcommon.Value) driver.Value {
	switch kind {
	case kindDouble:
		switch v.Type() {
		case pcommon.ValueTypeDouble:
			return v.Double()
		case pcommon.ValueTypeInt:
			return float64(v.Int())
		}
		return nil
	case kindInt:
		switch v.Type() {
		case pcommon.ValueTypeInt:
			return v.Int()
		case pcommon.ValueTypeDouble:
			return int64(v.Double())
		}
		return nil
	case kindBool:
		if v.Type() != pcommon.ValueTypeBool {
			return nil
		}
		return v.Bool()
	case kindStrings:
		if v.Type() != pcommon.ValueTypeSlice {
			return []string{v.AsString()}
		}
		out := make([]string, 0, v.Slice().Len())
		for i := 0; i < v.Slice().Len(); i++ {
			out = append(out, v.Slice().At(i).AsString())
		}
		return out
	case kindJSON:
		raw, err := json.Marshal(v.AsRaw())
		if err != nil {
			return nil
		}
		return string(raw)
	default:
		return v.AsString()
	}
}
