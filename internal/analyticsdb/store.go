// Package analyticsdb is the embedded analytics database of Insights Collector: a DuckDB file holding the events,
// sessions and backend telemetry, the rollups the dashboards read, and the audit log. One process owns the file
// (DuckDB locks it); writes are serialised on one connection, queries run on the pool beside them (MVCC).
package analyticsdb

import (
	"cmp"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"
)

// Options configure the database.
type Options struct {
	// Path of the database file; its directory is created if missing.
	Path string
	// MemoryLimit bounds DuckDB's memory, e.g. "512MB" (the appender's Go-side buffers come on top).
	MemoryLimit string
	// Threads DuckDB may use; 0 leaves DuckDB's default (the number of cores).
	Threads int
	// Timezone is the IANA time zone whose days the daily rollups are cut by (default UTC). Dashboards asking
	// for days in this zone read the rollups; other zones are answered from the events, more slowly. Changing it
	// rebuilds the rollups from the events when the store opens.
	Timezone string
	// DedupWindow is how many of the most recently stored event ids a write is checked against, so that a
	// redelivered event is stored once (default 1,000,000, about 40 MB of memory).
	DedupWindow int
}

// DefaultDedupWindow is the number of recent event ids remembered when Options.DedupWindow is 0.
const DefaultDedupWindow = 1_000_000

// Store is an open database.
type Store struct {
	db *sql.DB

	// mu serialises writes: DuckDB has one writer per process anyway, and the rollups are fed per write.
	mu        sync.Mutex
	writeConn *sql.Conn
	nextBatch int64
	recent    *recentIDs
	users     numbering[string]  // user keys: user_numbers
	entities  numbering[string]  // entity refs: entity_numbers
	features  numbering[feature] // feature_numbers
	routes    numbering[string]  // page views' route patterns: route_numbers
	searches  searchTerms

	loc            *time.Location // the rollups' days
	rebuiltRollups bool
}

// Open opens (or creates) the database, applies pending migrations and prepares the writer.
func Open(ctx context.Context, opts Options) (*Store, error) {
	// Options first: nothing is opened for a store that cannot work.
	if opts.DedupWindow < 0 {
		return nil, fmt.Errorf("open %q: the dedup window must not be negative (0 takes the default of %d)", opts.Path, DefaultDedupWindow)
	}
	loc, err := time.LoadLocation(cmp.Or(opts.Timezone, "UTC"))
	if err != nil {
		return nil, fmt.Errorf("rollup time zone: %w", err)
	}
	if dir := filepath.Dir(opts.Path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("create the directory of %q: %w", opts.Path, err)
		}
	}
	if err := tuneAllocator(); err != nil {
		return nil, fmt.Errorf("open %q: DuckDB's allocator: %w", opts.Path, err)
	}
	connector, err := duckdb.NewConnector(opts.Path, func(execer driver.ExecerContext) error {
		return configure(ctx, execer, opts)
	})
	if err != nil {
		return nil, fmt.Errorf("open %q: %w", opts.Path, err)
	}
	db := sql.OpenDB(connector)
	s := &Store{db: db, loc: loc, recent: newRecentIDs(cmp.Or(opts.DedupWindow, DefaultDedupWindow))}
	if err := s.init(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open %q: %w", opts.Path, err)
	}
	return s, nil
}

// configure applies the settings to each new connection (they are per database, so setting them again is
// harmless).
func configure(ctx context.Context, execer driver.ExecerContext, opts Options) error {
	// A larger WAL before DuckDB checkpoints on its own: each checkpoint recompresses the row groups it touches,
	// and checkpointing 16 times less often than the default (16MB) costs 16% less CPU per stored event
	// (BenchmarkWriteLogs; 30% with schema 1, whose checkpoints also rewrote the event id's index). The
	// maintenance job and Close checkpoint anyway.
	settings := []string{"SET TimeZone = 'UTC'", "SET checkpoint_threshold = '256MB'"}
	if opts.MemoryLimit != "" {
		settings = append(settings, fmt.Sprintf("SET memory_limit = '%s'", strings.ReplaceAll(opts.MemoryLimit, "'", "")))
	}
	if opts.Threads > 0 {
		settings = append(settings, fmt.Sprintf("SET threads = %d", opts.Threads))
	}
	for _, s := range settings {
		if _, err := execer.ExecContext(ctx, s, nil); err != nil {
			return fmt.Errorf("%s: %w", s, err)
		}
	}
	return nil
}

func (s *Store) init(ctx context.Context) error {
	if _, err := migrate(ctx, s.db); err != nil {
		return err
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("open the writer connection: %w", err)
	}
	s.writeConn = conn
	if err := s.db.QueryRowContext(ctx, `SELECT coalesce(max(ingest_batch), 0) + 1 FROM events`).Scan(&s.nextBatch); err != nil {
		return fmt.Errorf("read the last write: %w", err)
	}
	rebuilt, err := s.ensureRollupTimezone(ctx)
	if err != nil {
		return err
	}
	s.rebuiltRollups = rebuilt
	if s.users, err = loadStringNumbering(ctx, s.db, "user_numbers"); err != nil {
		return err
	}
	if s.entities, err = loadStringNumbering(ctx, s.db, "entity_numbers"); err != nil {
		return err
	}
	if s.features, err = loadFeatureNumbering(ctx, s.db); err != nil {
		return err
	}
	if s.routes, err = loadStringNumbering(ctx, s.db, "route_numbers"); err != nil {
		return err
	}
	if err := s.loadSearchTerms(ctx); err != nil {
		return err
	}
	return s.loadRecentIDs(ctx)
}

// RebuiltRollups says whether Open rebuilt the daily rollups from the events (a new database, one from before
// the daily rollups, or a changed time zone).
func (s *Store) RebuiltRollups() bool { return s.rebuiltRollups }

// Timezone is the time zone of the daily rollups.
func (s *Store) Timezone() *time.Location { return s.loc }

// DB is the connection pool for queries.
func (s *Store) DB() *sql.DB { return s.db }

// Checkpoint writes the WAL into the database file.
func (s *Store) Checkpoint(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.writeConn.ExecContext(ctx, "CHECKPOINT"); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	return nil
}

// Close checkpoints and closes the database.
func (s *Store) Close(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	if s.writeConn != nil {
		if _, err := s.writeConn.ExecContext(ctx, "CHECKPOINT"); err != nil {
			errs = append(errs, fmt.Errorf("checkpoint: %w", err))
		}
		errs = append(errs, s.writeConn.Close())
	}
	errs = append(errs, s.db.Close())
	return errors.Join(errs...)
}

// inTx runs fn in a transaction on the writer connection; the caller holds s.mu.
func (s *Store) inTx(ctx context.Context, fn func() error) (err error) {
	if _, err := s.writeConn.ExecContext(ctx, "BEGIN TRANSACTION"); err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer func() {
		if err != nil {
			if _, rbErr := s.writeConn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK"); rbErr != nil {
				err = errors.Join(err, fmt.Errorf("rollback: %w", rbErr))
			}
		}
	}()
	if err := fn(); err != nil {
		return err
	}
	if _, err := s.writeConn.ExecContext(ctx, "COMMIT"); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// appendRows appends rows (every column, in the table's order) through DuckDB's Appender.
func (s *Store) appendRows(table string, rows [][]driver.Value) error {
	if len(rows) == 0 {
		return nil
	}
	return s.writeConn.Raw(func(dc any) error {
		app, err := duckdb.NewAppenderFromConn(dc.(driver.Conn), "", table)
		if err != nil {
			return fmt.Errorf("appender for %s: %w", table, err)
		}
		return appendAll(app, table, rows)
	})
}

// insertRows inserts rows through an Appender whose rows are added by `INSERT … ON CONFLICT DO NOTHING`: a
// row whose key is already stored is skipped.
func (s *Store) insertRows(table string, rows [][]driver.Value) error {
	if len(rows) == 0 {
		return nil
	}
	query := "INSERT INTO " + table + " SELECT * FROM appended_data ON CONFLICT DO NOTHING"
	return s.writeConn.Raw(func(dc any) error {
		app, err := duckdb.NewTableAppender(dc.(driver.Conn), query, "", "", table, nil)
		if err != nil {
			return fmt.Errorf("appender for %s: %w", table, err)
		}
		return appendAll(app, table, rows)
	})
}

func appendAll(app *duckdb.Appender, table string, rows [][]driver.Value) error {
	for _, row := range rows {
		if err := app.AppendRow(row...); err != nil {
			_ = app.Close()
			return fmt.Errorf("append to %s: %w", table, err)
		}
	}
	if err := app.Close(); err != nil {
		return fmt.Errorf("flush %s: %w", table, err)
	}
	return nil
}
