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
	{semconv.AttrSourceFormat, "source_format", kindString},
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
	{semconv.AttrFeatureFlagWeight, "feature_flag_weight", kindDouble}, // migration 10
	{semconv.AttrEntityOwner, "entity_owner", kindString},              // migration 12
	{semconv.AttrSessionPage, "session_page", kindInt},                 // migration 13
	{semconv.AttrSessionView, "session_view", kindInt},
}

// detailAttrColumns are the contract's attributes most events lack (an audit event's fields, the request's
// address and agent, corrected timestamps, late and client sessions, a tier change's previous tier): typed
// columns of event_details (migration 17), a row for each event that has one of them. DuckDB spends on a NULL
// nearly what it spends on a value, so mostly empty columns in the events table would cost every event.
var detailAttrColumns = []attrColumn{
	{semconv.AttrClientAddress, "client_address", kindString},
	{semconv.AttrUserAgent, "user_agent", kindString},
	{semconv.AttrURLFull, "url_full", kindString},
	{semconv.AttrURLPath, "url_path", kindString},
	{semconv.AttrHTTPMethod, "http_method", kindString},
	{semconv.AttrAuditEventID, "audit_event_id", kindString},
	{semconv.AttrAuditSeverity, "audit_severity", kindString},
	{semconv.AttrAuditStatus, "audit_status", kindString},
	{semconv.AttrAuditActor, "audit_actor", kindString},
	{semconv.AttrTimestampFallback, "timestamp_fallback", kindString},
	{semconv.AttrTimestampOriginal, "timestamp_original", kindString},
	{semconv.AttrSessionLate, "session_late", kindBool},
	{semconv.AttrSessionClientID, "session_client_id", kindString},
	{semconv.AttrEngagementPreviousTier, "engagement_previous_tier", kindString},
}

// detailColumns is the event_details table's columns, in its order: the event's id, time and user number, then
// the attributes.
var detailColumns = func() []string {
	cols := []string{"event_id", "ts", "user_no"}
	for _, c := range detailAttrColumns {
		cols = append(cols, c.column)
	}
	return cols
}()

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

// attrColumnAt maps each attribute with a column to the column's position in an event row, or in its
// details row.
var attrColumnAt = func() map[string]attrPosition {
	m := map[string]attrPosition{}
	for _, c := range append(slices.Clone(eventAttrColumns), addedAttrColumns...) {
		m[c.attr] = attrPosition{at: slices.Index(eventColumns, c.column), kind: c.kind}
	}
	for _, c := range detailAttrColumns {
		m[c.attr] = attrPosition{at: slices.Index(detailColumns, c.column), kind: c.kind, detail: true}
	}
	return m
}()

type attrPosition struct {
	at     int
	kind   valueKind
	detail bool // a column of event_details
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
	res, rows, sessions, details := s.eventRows(ld, now)
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
	searches, err := s.writeRows(ctx, fresh, sessions, details)
	for _, n := range s.numberings() {
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

// numberings are the numbers a write may add to.
func (s *Store) numberings() []numbers {
	return []numbers{&s.users, &s.entities, &s.features, &s.routes}
}

// writeRows numbers the rows' users, entities and features, attributes their discovers to searches and stores
// them with their details and rollups in one transaction; it returns the write's latest search per session.
func (s *Store) writeRows(ctx context.Context, rows, sessions [][]driver.Value, details map[duckdb.UUID][]driver.Value) (map[string]search, error) {
	s.numberUsers(rows)
	searches, err := s.attributeSearches(ctx, rows)
	if err != nil {
		return nil, err
	}
	aggregates := newDailyAggregates(s.loc, &s.entities, &s.features, &s.routes)
	for _, row := range rows {
		row[ingestBatchAt] = s.nextBatch
		aggregates.add(row)
	}
	return searches, s.inTx(ctx, func() error {
		for _, n := range s.numberings() {
			if err := s.appendRows(n.pendingRows()); err != nil {
				return err
			}
		}
		if err := s.appendRows("events", rows); err != nil {
			return err
		}
		if err := s.appendRows("event_details", detailRows(rows, details)); err != nil {
			return err
		}
		if err := s.insertRows("sessions", sessions); err != nil {
			return err
		}
		return s.appendRollups(ctx, aggregates)
	})
}

// eventRows converts the log records to event rows, their details rows by event id and session rows, counting
// what is not stored: rejected records, records that are not events, and events repeated within the write (two
// senders, two formats).
func (s *Store) eventRows(ld plog.Logs, now time.Time) (WriteResult, [][]driver.Value, [][]driver.Value, map[duckdb.UUID][]driver.Value) {
	var res WriteResult
	var rows, sessions [][]driver.Value
	details := map[duckdb.UUID][]driver.Value{}
	ids := map[duckdb.UUID]bool{}
	index := 0
	for i := 0; i < ld.ResourceLogs().Len(); i++ {
		rl := ld.ResourceLogs().At(i)
		resource := rl.Resource().Attributes()
		for j := 0; j < rl.ScopeLogs().Len(); j++ {
			records := rl.ScopeLogs().At(j).LogRecords()
			for k := 0; k < records.Len(); k++ {
				lr := records.At(k)
				var row, detail []driver.Value
				var err error
				switch lr.EventName() {
				case semconv.EventSessionEnd:
					if row, err = sessionRow(lr, resource); err == nil {
						sessions = append(sessions, row)
					}
				case semconv.EventSessionStart: // the session's row has its start
				default:
					row, detail, err = eventRow(lr, resource, now)
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
					if detail != nil {
						details[row[0].(duckdb.UUID)] = detail
					}
				}
				index++
			}
		}
	}
	return res, rows, sessions, details
}

// eventRow converts a log record to a row of the events table and, when it has attributes of event_details, a
// row of that table (its id, time and user number filled in as it is written); nil (and no error) for a
// record that is not an event.
func eventRow(lr plog.LogRecord, resource pcommon.Map, now time.Time) (row, details []driver.Value, err error) {
	if lr.EventName() == "" {
		return nil, nil, nil
	}
	attrs := lr.Attributes()
	idValue, ok := attrs.Get(semconv.AttrEventID)
	if !ok {
		return nil, nil, fmt.Errorf("event %q has no %s", lr.EventName(), semconv.AttrEventID)
	}
	id, err := uuid.Parse(idValue.AsString())
	if err != nil {
		return nil, nil, fmt.Errorf("event %q: %s %q is not a UUID", lr.EventName(), semconv.AttrEventID, idValue.AsString())
	}
	observed := now
	if lr.ObservedTimestamp() != 0 {
		observed = lr.ObservedTimestamp().AsTime()
	}
	ts := observed
	if lr.Timestamp() != 0 {
		ts = lr.Timestamp().AsTime()
	}

	row = make([]driver.Value, len(eventColumns))
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
		if pos.detail {
			if details == nil {
				details = make([]driver.Value, len(detailColumns))
			}
			details[pos.at] = columnValue(pos.kind, v)
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
			return nil, nil, fmt.Errorf("event %s: encode attributes: %w", id, err)
		}
		row[attributesAt] = string(raw)
	}
	return row, details, nil
}

// detailRows gives the details rows of the events about to be stored, with the events' ids, times and user
// numbers.
func detailRows(rows [][]driver.Value, details map[duckdb.UUID][]driver.Value) [][]driver.Value {
	if len(details) == 0 {
		return nil
	}
	var out [][]driver.Value
	for _, row := range rows {
		if d, ok := details[row[0].(duckdb.UUID)]; ok {
			d[0], d[1], d[2] = row[0], row[tsAt], row[userNoAt]
			out = append(out, d)
		}
	}
	return out
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
