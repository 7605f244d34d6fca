package insightsstore

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/insights-collector/insights-collector/extension/insightsstore/internal/metadata"
	"github.com/insights-collector/insights-collector/extension/insightsstore/internal/queryapi"
	"github.com/insights-collector/insights-collector/internal/analyticsdb"
	"github.com/insights-collector/insights-collector/internal/periodic"
)

// Writer is what the insights_store exporter writes through; the extension implements it once started.
type Writer interface {
	WriteLogs(ctx context.Context, ld plog.Logs) (analyticsdb.WriteResult, error)
	WriteTraces(ctx context.Context, td ptrace.Traces) (analyticsdb.WriteResult, error)
	WriteMetrics(ctx context.Context, md pmetric.Metrics) (analyticsdb.WriteResult, error)
}

// ErrNotStarted is returned by writes before Start or after Shutdown.
var ErrNotStarted = errors.New("the insights_store extension is not running")

type storeExtension struct {
	cfg *Config
	set extension.Settings

	mu    sync.RWMutex // guards store against writes racing Shutdown
	store *analyticsdb.Store

	server  *http.Server
	stop    chan struct{}
	wg      sync.WaitGroup
	deleted metric.Int64Counter
	teams   *periodic.Runner // copies the catalog's teams, when configured
}

var _ Writer = (*storeExtension)(nil)

func newStoreExtension(cfg *Config, set extension.Settings) (*storeExtension, error) {
	deleted, err := set.MeterProvider.Meter(metadata.ScopeName).Int64Counter("otelcol_insights_store_retention_deleted_rows",
		metric.WithDescription("Rows the retention job deleted, by table."), metric.WithUnit("{row}"))
	if err != nil {
		return nil, fmt.Errorf("create retention counter: %w", err)
	}
	return &storeExtension{cfg: cfg, set: set, deleted: deleted}, nil
}

// Start opens the database, starts the maintenance job and serves the query API.
func (e *storeExtension) Start(ctx context.Context, host component.Host) error {
	store, err := analyticsdb.Open(ctx, analyticsdb.Options{Path: e.cfg.Path, MemoryLimit: e.cfg.MemoryLimit, Threads: e.cfg.Threads,
		Timezone: e.cfg.Timezone, DedupWindow: e.cfg.DedupWindow})
	if err != nil {
		return err
	}
	e.mu.Lock()
	e.store = store
	e.mu.Unlock()
	e.set.Logger.Info("Analytics store open", zap.String("path", e.cfg.Path), zap.String("memory_limit", e.cfg.MemoryLimit),
		zap.Duration("retention", e.cfg.Retention), zap.String("rollup_timezone", e.cfg.Timezone), zap.Bool("rollups_rebuilt", store.RebuiltRollups()))

	if api := e.cfg.QueryAPI.Get(); api != nil {
		if err := e.serve(ctx, host, api); err != nil {
			return errors.Join(err, e.Shutdown(ctx))
		}
	}
	stop := make(chan struct{})
	e.stop = stop
	e.wg.Go(func() { e.maintain(stop) })
	if e.cfg.Catalog != nil {
		refresh, err := newTeamsRefresh(host, *e.cfg.Catalog, func() *analyticsdb.Store { return store }, e.set.Logger)
		if err != nil {
			return errors.Join(err, e.Shutdown(ctx))
		}
		e.teams = periodic.Start(e.set.Logger, periodic.Job{Every: teamsRefreshInterval, Run: refresh.run,
			Failure: "Could not copy the catalog's teams into the store"})
	}
	return nil
}

// teamsRefreshInterval is how often the catalog's snapshot is checked for a new one to copy: a pointer
// comparison, so often enough that team metrics follow a sync within seconds.
const teamsRefreshInterval = 2 * time.Second

func (e *storeExtension) serve(ctx context.Context, host component.Host, api *QueryAPIConfig) error {
	ln, err := api.ServerConfig.ToListener(ctx)
	if err != nil {
		return fmt.Errorf("query API: listen on %q: %w", api.ServerConfig.NetAddr.Endpoint, err)
	}
	options := []queryapi.Option{queryapi.WithValueModel(api.ROI.valueModel()), queryapi.WithCustomMetrics(api.CustomMetrics)}
	if e.cfg.Threads > 0 { // as many statements at once as DuckDB has threads
		options = append(options, queryapi.WithConcurrency(e.cfg.Threads))
	}
	handler := queryapi.NewServer(e.store, api.tokens(), api.KAnonymity, e.set.Logger, options...).Handler()
	server, err := api.ServerConfig.ToServer(ctx, host.GetExtensions(), e.set.TelemetrySettings, handler)
	if err != nil {
		_ = ln.Close()
		return fmt.Errorf("query API: %w", err)
	}
	e.server = server
	e.set.Logger.Info("Query API listening", zap.String("endpoint", ln.Addr().String()), zap.Int("tokens", len(api.Tokens)),
		zap.Int("k_anonymity", api.KAnonymity))
	e.wg.Go(func() {
		if err := server.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			componentstatus.ReportStatus(host, componentstatus.NewFatalErrorEvent(err))
		}
	})
	return nil
}

// sessionStepsInterval is how often the session steps of new page views are built between maintenances: until
// they are, the paths metric walks those days' page views, slower (a backfill's 90 days: 100-160 ms instead of
// 35-60).
const sessionStepsInterval = 5 * time.Minute

// maintain runs retention, rollup compaction, the session steps and a checkpoint at start and then every
// maintenance interval, and the session steps every sessionStepsInterval.
func (e *storeExtension) maintain(stop <-chan struct{}) {
	ticker := time.NewTicker(e.cfg.MaintenanceInterval)
	defer ticker.Stop()
	steps := time.NewTicker(sessionStepsInterval)
	defer steps.Stop()
	e.runMaintenance(context.Background(), time.Now())
	for {
		select {
		case <-stop:
			return
		case <-ticker.C:
			e.runMaintenance(context.Background(), time.Now())
		case <-steps.C:
			e.mu.RLock()
			if e.store != nil {
				e.buildSessionSteps(context.Background())
			}
			e.mu.RUnlock()
		}
	}
}

func (e *storeExtension) runMaintenance(ctx context.Context, now time.Time) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.store == nil {
		return
	}
	cutoff := now.Add(-e.cfg.Retention)
	deleted, err := e.store.DeleteOlderThan(ctx, cutoff)
	if err != nil {
		e.set.Logger.Error("Retention failed; it runs again at the next maintenance", zap.Error(err))
	} else {
		fields := []zap.Field{zap.Time("older_than", cutoff), zap.Int64("rows", deleted.Total())}
		for table, n := range deleted {
			e.deleted.Add(ctx, n, metric.WithAttributes(attribute.String("table", table)))
			if n > 0 {
				fields = append(fields, zap.Int64(table, n))
			}
		}
		e.set.Logger.Info("Retention done", fields...)
	}
	e.compactRollups(ctx)
	e.buildSessionSteps(ctx)
	if err := e.store.Checkpoint(ctx); err != nil {
		e.set.Logger.Error("Checkpoint failed", zap.Error(err))
	}
}

// loggedBacklog is how many days of maintenance work the store logs the start and end of: a week's worth, more
// than a maintenance interval leaves, comes from an upgrade or a backfill and takes a while.
const loggedBacklog = 7

// compactRollups compacts the rollups and builds their user sets; the caller holds e.mu and has a store. Many days
// (the first run after an upgrade that adds user sets, a backfill) take a while: it says so.
func (e *storeExtension) compactRollups(ctx context.Context) {
	days, err := analyticsdb.CompactionBacklog(ctx, e.store.DB())
	many := err == nil && days > loggedBacklog
	if many {
		e.set.Logger.Info("Compacting the rollups and building their user sets", zap.Int("days", days))
	}
	start := time.Now()
	switch err := e.store.CompactRollups(ctx); {
	case err != nil:
		e.set.Logger.Error("Compacting the rollups failed; the days left are read from the rollups' rows", zap.Error(err))
	case many:
		e.set.Logger.Info("Rollups compacted", zap.Int("days", days), zap.Duration("took", time.Since(start).Round(time.Millisecond)))
	}
}

// buildSessionSteps builds the session steps of the pending days; the caller holds e.mu and has a store. The
// steps of many days (the first run after an upgrade, a backfill) take a while, about 0.2 s a day: it says so.
func (e *storeExtension) buildSessionSteps(ctx context.Context) {
	pending, err := analyticsdb.PendingSessionDays(ctx, e.store.DB())
	many := err == nil && len(pending) > loggedBacklog
	if many {
		e.set.Logger.Info("Building the session steps of the paths metric", zap.Int("days", len(pending)))
	}
	start := time.Now()
	built, err := e.store.BuildSessionSteps(ctx)
	switch {
	case err != nil:
		e.set.Logger.Error("Building the session steps failed; the paths metric walks the page views of the days left", zap.Int("built", built), zap.Error(err))
	case many:
		e.set.Logger.Info("Session steps built", zap.Int("days", built), zap.Duration("took", time.Since(start).Round(time.Millisecond)))
	}
}

// Shutdown stops the API and the maintenance job and closes the database (after a checkpoint).
func (e *storeExtension) Shutdown(ctx context.Context) error {
	var errs []error
	if e.server != nil {
		errs = append(errs, e.server.Shutdown(ctx))
	}
	e.teams.Stop()
	if e.stop != nil {
		close(e.stop)
		e.stop = nil
	}
	e.wg.Wait()
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.store != nil {
		errs = append(errs, e.store.Close(ctx))
		e.store = nil
	}
	return errors.Join(errs...)
}

func (e *storeExtension) WriteLogs(ctx context.Context, ld plog.Logs) (analyticsdb.WriteResult, error) {
	return withStore(e, func(s *analyticsdb.Store) (analyticsdb.WriteResult, error) { return s.WriteLogs(ctx, ld, time.Now()) })
}

func (e *storeExtension) WriteTraces(ctx context.Context, td ptrace.Traces) (analyticsdb.WriteResult, error) {
	return withStore(e, func(s *analyticsdb.Store) (analyticsdb.WriteResult, error) { return s.WriteTraces(ctx, td) })
}

func (e *storeExtension) WriteMetrics(ctx context.Context, md pmetric.Metrics) (analyticsdb.WriteResult, error) {
	return withStore(e, func(s *analyticsdb.Store) (analyticsdb.WriteResult, error) { return s.WriteMetrics(ctx, md) })
}

func withStore(e *storeExtension, write func(*analyticsdb.Store) (analyticsdb.WriteResult, error)) (analyticsdb.WriteResult, error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.store == nil {
		return analyticsdb.WriteResult{}, ErrNotStarted
	}
	return write(e.store)
}
