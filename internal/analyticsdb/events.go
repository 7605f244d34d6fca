package analyticsdb

import (
	"context"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
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
	return append(cols, "attributes", "ingest_batch")
}()

var attrColumnIndex = func() map[string]int {
	m := make(map[string]int, len(eventAttrColumns))
	for i, c := range eventAttrColumns {
		m[c.attr] = i
	}
	return m
}()

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
// committed together or not at all. (The sessions table is filled once the sessionization processor emits
// session.end events.)
//
// The common case, new events only, takes the fast path: a plain Appender, with the rollups aggregated in Go.
// A redelivery trips the primary key; the write is then redone with `INSERT … ON CONFLICT DO NOTHING`, which
// skips the stored events, and the rollups are fed by SQL from what was inserted.
func (s *Store) WriteLogs(ctx context.Context, ld plog.Logs, now time.Time) (WriteResult, error) {
	var res WriteResult
	var rows [][]driver.Value
	ids := map[duckdb.UUID]bool{} // an event twice in one write (two senders, two formats) is stored once
	index := 0
	for i := 0; i < ld.ResourceLogs().Len(); i++ {
		rl := ld.ResourceLogs().At(i)
		resource := rl.Resource().Attributes()
		for j := 0; j < rl.ScopeLogs().Len(); j++ {
			records := rl.ScopeLogs().At(j).LogRecords()
			for k := 0; k < records.Len(); k++ {
				row, err := eventRow(records.At(k), resource, now)
				switch {
				case err != nil:
					res.Rejected = append(res.Rejected, Rejection{Index: index, Reason: err.Error()})
				case row == nil:
					res.Skipped++
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
	if len(rows) == 0 {
		return res, nil
	}
	ids = nil

	s.mu.Lock()
	defer s.mu.Unlock()
	batch := s.nextBatch
	for _, row := range rows {
		row[len(row)-1] = batch
	}
	err := s.inTx(ctx, func() error {
		if err := s.appendRows("events", rows); err != nil {
			return err
		}
		res.Stored = len(rows)
		return s.appendRollups(ctx, rows)
	})
	if isDuplicateKey(err) {
		err = s.inTx(ctx, func() error {
			if err := s.insertRows("events", rows); err != nil {
				return err
			}
			if err := s.writeConn.QueryRowContext(ctx, `SELECT count(*) FROM events WHERE ingest_batch = ?`, batch).Scan(&res.Stored); err != nil {
				return fmt.Errorf("count stored events: %w", err)
			}
			return s.feedRollups(ctx, batch)
		})
	}
	if err != nil {
		return WriteResult{}, fmt.Errorf("write %d events: %w", len(rows), err)
	}
	s.nextBatch++
	res.Duplicates += len(rows) - res.Stored
	return res, nil
}

func isDuplicateKey(err error) bool {
	var dbErr *duckdb.Error
	if errors.As(err, &dbErr) && dbErr.Type == duckdb.ErrorTypeConstraint {
		return true
	}
	return err != nil && strings.Contains(strings.ToLower(err.Error()), "duplicate key") // the appender's wrapping hides the type
}

// Positions of the rollups' inputs in an event row.
var (
	tsAt       = slices.Index(eventColumns, "ts")
	userKeyAt  = slices.Index(eventColumns, "user_key")
	pluginAt   = slices.Index(eventColumns, "plugin_id")
	instanceAt = slices.Index(eventColumns, "instance")
)

type userHour struct {
	hour           time.Time
	instance, user string
}

type pluginHour struct {
	userHour
	plugin string
}

type seen struct{ first, last time.Time }

// appendRollups aggregates new event rows into the rollups (the same as feedRollups, without SQL).
func (s *Store) appendRollups(ctx context.Context, rows [][]driver.Value) error {
	users, plugins := map[userHour]int64{}, map[pluginHour]int64{}
	days := map[time.Time]bool{}
	firstLast := map[[2]string]seen{}
	for _, row := range rows {
		user, ok := row[userKeyAt].(string)
		if !ok {
			continue
		}
		instance, _ := row[instanceAt].(string)
		ts := row[tsAt].(time.Time)
		key := userHour{ts.UTC().Truncate(time.Hour), instance, user}
		users[key]++
		days[key.hour.Truncate(24*time.Hour)] = true
		if plugin, ok := row[pluginAt].(string); ok {
			plugins[pluginHour{key, plugin}]++
		}
		id := [2]string{instance, user}
		fl, ok := firstLast[id]
		if !ok || ts.Before(fl.first) {
			fl.first = ts
		}
		if !ok || ts.After(fl.last) {
			fl.last = ts
		}
		firstLast[id] = fl
	}
	rollup := make([][]driver.Value, 0, len(users))
	for k, n := range users {
		rollup = append(rollup, []driver.Value{k.hour, k.instance, k.user, n})
	}
	if err := s.appendRows("user_hourly", rollup); err != nil {
		return err
	}
	rollup = rollup[:0]
	for k, n := range plugins {
		rollup = append(rollup, []driver.Value{k.hour, k.instance, k.plugin, k.user, n})
	}
	if err := s.appendRows("plugin_hourly", rollup); err != nil {
		return err
	}
	rollup = rollup[:0]
	for id, fl := range firstLast {
		rollup = append(rollup, []driver.Value{id[0], id[1], fl.first, fl.last})
	}
	if err := s.appendRows("users", rollup); err != nil {
		return err
	}
	return s.markTouched(ctx, days, len(rollup) > 0)
}

// markTouched records the days the write added rollup rows to, for the compaction.
func (s *Store) markTouched(ctx context.Context, days map[time.Time]bool, users bool) error {
	if err := s.markDays(ctx, "user_hourly", days); err != nil {
		return err
	}
	if err := s.markDays(ctx, "plugin_hourly", days); err != nil {
		return err
	}
	if users {
		return s.markDays(ctx, "users", map[time.Time]bool{wholeTable: true})
	}
	return nil
}

// feedRollups adds the events of one write to the rollups, in SQL (the path of writes with duplicates).
func (s *Store) feedRollups(ctx context.Context, batch int64) error {
	for _, q := range []string{
		`INSERT INTO user_hourly
		 SELECT date_trunc('hour', ts), coalesce(instance, ''), user_key, count(*)
		 FROM events WHERE ingest_batch = ? AND user_key IS NOT NULL GROUP BY ALL`,
		`INSERT INTO plugin_hourly
		 SELECT date_trunc('hour', ts), coalesce(instance, ''), plugin_id, user_key, count(*)
		 FROM events WHERE ingest_batch = ? AND user_key IS NOT NULL AND plugin_id IS NOT NULL GROUP BY ALL`,
		`INSERT INTO users
		 SELECT coalesce(instance, ''), user_key, min(ts), max(ts)
		 FROM events WHERE ingest_batch = ? AND user_key IS NOT NULL GROUP BY ALL`,
	} {
		if _, err := s.writeConn.ExecContext(ctx, q, batch); err != nil {
			return fmt.Errorf("feed rollups: %w", err)
		}
	}
	rows, err := s.writeConn.QueryContext(ctx, `SELECT DISTINCT date_trunc('day', ts) FROM events WHERE ingest_batch = ? AND user_key IS NOT NULL`, batch)
	if err != nil {
		return fmt.Errorf("feed rollups: %w", err)
	}
	days := map[time.Time]bool{}
	for rows.Next() {
		var day time.Time
		if err := rows.Scan(&day); err != nil {
			rows.Close()
			return err
		}
		days[day.UTC()] = true
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return err
	}
	return s.markTouched(ctx, days, len(days) > 0)
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
		row[5+attrColumnIndex[semconv.AttrAction]] = action // events named backstage.<action> always have one
	}
	rest := map[string]any{}
	attrs.Range(func(k string, v pcommon.Value) bool {
		i, typed := attrColumnIndex[k]
		if !typed {
			if k != semconv.AttrEventID {
				rest[k] = v.AsRaw()
			}
			return true
		}
		row[5+i] = columnValue(eventAttrColumns[i].kind, v)
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
		row[len(row)-2] = string(raw)
	}
	return row, nil
}

// userKey is the identity the metrics count: the pseudonym, else the plain id, else the anonymous id.
func userKey(row []driver.Value) driver.Value {
	for _, attr := range []string{semconv.AttrUserHash, semconv.AttrUserID, semconv.AttrEnduserPseudoID} {
		if v, ok := row[5+attrColumnIndex[attr]].(string); ok && v != "" {
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
