package backstagecatalog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/insights-collector/insights-collector/extension/backstagecatalog/internal/metadata"
	"github.com/insights-collector/insights-collector/internal/componentstate"
)

// Catalog is what other components look up through the host (host.GetExtensions) to learn users' teams.
type Catalog interface {
	// Snapshot returns the last complete snapshot of the catalog, or nil before the first one.
	Snapshot() *Snapshot
}

// retryMin is the first wait after a failed sync; it doubles up to the interval.
const retryMin = 5 * time.Second

// snapshotKey is the storage key of the last complete snapshot.
const snapshotKey = "snapshot"

type catalogExtension struct {
	cfg       *Config
	id        component.ID
	logger    *zap.Logger
	client    *client
	telemetry *telemetry

	snapshot atomic.Pointer[Snapshot]
	store    *componentstate.Store
	host     component.Host
	retryMin time.Duration // the first wait after a failed sync

	cancel context.CancelFunc
	done   sync.WaitGroup
}

var _ extension.Extension = (*catalogExtension)(nil)

func newExtension(cfg *Config, set extension.Settings) (*catalogExtension, error) {
	tel, err := newTelemetry(set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	return &catalogExtension{
		cfg: cfg, id: set.ID, logger: set.Logger, telemetry: tel,
		client:   &client{http: &http.Client{Timeout: cfg.Timeout}, baseURL: cfg.Endpoint, token: string(cfg.Token), pageSize: cfg.PageSize},
		retryMin: retryMin,
	}, nil
}

// Snapshot returns the snapshot in force.
func (e *catalogExtension) Snapshot() *Snapshot { return e.snapshot.Load() }

// Start loads the persisted snapshot and syncs in the background: a catalog that is down at start does not
// stop the collector (the persisted snapshot, if any, serves meanwhile).
func (e *catalogExtension) Start(ctx context.Context, host component.Host) error {
	e.host = host
	if e.cfg.Storage != nil {
		store, err := componentstate.Open(ctx, host, *e.cfg.Storage, e.id, component.KindExtension, "catalog")
		if err != nil {
			return err
		}
		e.store = store
		if err := e.loadSnapshot(ctx); err != nil {
			e.logger.Warn("Could not read the persisted catalog snapshot; waiting for the first sync", zap.Error(err))
		}
	}
	runCtx, cancel := context.WithCancel(context.Background())
	e.cancel = cancel
	e.done.Add(1)
	go e.run(runCtx)
	return nil
}

// run syncs now and then every interval; after a failure it retries sooner, backing off from retryMin.
func (e *catalogExtension) run(ctx context.Context) {
	defer e.done.Done()
	wait := time.Duration(0)
	failures := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		if err := e.sync(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			failures++
			wait = min(e.retryMin<<min(failures-1, 16), e.cfg.Interval)
			e.logger.Warn("Catalog sync failed; the last complete snapshot stays in force", zap.Error(err),
				zap.Duration("retry_in", wait), zap.Bool("have_snapshot", e.Snapshot() != nil))
			componentstatus.ReportStatus(e.host, componentstatus.NewRecoverableErrorEvent(err))
			continue
		}
		failures, wait = 0, e.cfg.Interval
		componentstatus.ReportStatus(e.host, componentstatus.NewEvent(componentstatus.StatusOK))
	}
}

// sync reads the whole catalog and swaps the snapshot in only when the reading completed.
func (e *catalogExtension) sync(ctx context.Context) error {
	entities, err := e.client.fetch(ctx)
	if err != nil {
		e.telemetry.synced(ctx, false, nil)
		return err
	}
	s := buildSnapshot(entities)
	s.Read = time.Now()
	e.snapshot.Store(s)
	e.telemetry.synced(ctx, true, s)
	e.logger.Info("Catalog synced", zap.Int("users", len(s.Users)), zap.Int("groups", len(s.Groups)), zap.Int("skipped", s.Skipped))
	if e.store == nil {
		return nil
	}
	raw, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("encode the catalog snapshot: %w", err)
	}
	return e.store.Write(ctx, "", map[string][]byte{snapshotKey: raw})
}

func (e *catalogExtension) loadSnapshot(ctx context.Context) error {
	return e.store.Load(ctx, snapshotKey, func(_ string, value []byte) error {
		var s Snapshot
		if err := json.Unmarshal(value, &s); err != nil {
			return err
		}
		e.snapshot.Store(&s)
		e.logger.Info("Using the persisted catalog snapshot until the first sync", zap.String("snapshot", s.String()),
			zap.Time("read", s.Read))
		return nil
	})
}

// Shutdown stops the sync.
func (e *catalogExtension) Shutdown(ctx context.Context) error {
	if e.cancel != nil {
		e.cancel()
		e.done.Wait()
	}
	if e.store != nil {
		return e.store.Close(ctx)
	}
	return nil
}

type telemetry struct {
	syncs       metric.Int64Counter
	entities    metric.Int64Gauge
	lastSuccess metric.Int64Gauge
}

func newTelemetry(set component.TelemetrySettings) (*telemetry, error) {
	meter := set.MeterProvider.Meter(metadata.ScopeName)
	syncs, err1 := meter.Int64Counter("otelcol_extension_backstage_catalog_syncs",
		metric.WithDescription("Catalog syncs, by outcome (ok, failed)."), metric.WithUnit("{sync}"))
	entities, err2 := meter.Int64Gauge("otelcol_extension_backstage_catalog_entities",
		metric.WithDescription("Users, groups and skipped entities of the snapshot in force, by kind."), metric.WithUnit("{entity}"))
	last, err3 := meter.Int64Gauge("otelcol_extension_backstage_catalog_last_success",
		metric.WithDescription("When the snapshot in force was read (Unix seconds)."), metric.WithUnit("s"))
	if err := errors.Join(err1, err2, err3); err != nil {
		return nil, fmt.Errorf("create the catalog metrics: %w", err)
	}
	return &telemetry{syncs: syncs, entities: entities, lastSuccess: last}, nil
}

func (t *telemetry) synced(ctx context.Context, ok bool, s *Snapshot) {
	outcome := "ok"
	if !ok {
		outcome = "failed"
	}
	t.syncs.Add(ctx, 1, metric.WithAttributes(attribute.String("outcome", outcome)))
	if s == nil {
		return
	}
	for kind, n := range map[string]int{"user": len(s.Users), "group": len(s.Groups), "skipped": s.Skipped} {
		t.entities.Record(ctx, int64(n), metric.WithAttributes(attribute.String("kind", kind)))
	}
	t.lastSuccess.Record(ctx, s.Read.Unix())
}
