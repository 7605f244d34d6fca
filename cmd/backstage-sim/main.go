// Command backstage-sim sends simulated Backstage traffic to an Insights Collector: a deterministic
// organisation (users, teams, catalog, templates, TechDocs) whose sessions follow working hours, weekdays and
// power-law activity. It backfills days of history as fast as the collector takes them, or streams live
// events at a steady rate, in any wire format the Backstage receiver accepts.
//
// It also serves the organisation as a Backstage catalog (users, nested groups, owned entities), so that the
// collector's backstage_catalog extension has teams to sync.
//
//	backstage-sim -mode backfill -days 30 -format events
//	backstage-sim -mode live -rate 50 -format otlp
//	backstage-sim -mode catalog -catalog-addr localhost:7007
package main

import (
	"context"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/insights-collector/insights-collector/internal/simulator"
	"github.com/insights-collector/insights-collector/internal/wireformat"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "backstage-sim:", err)
		os.Exit(1)
	}
}

type options struct {
	endpoint, format, mode string
	otlpEndpoint           string
	token, basic, writeKey string
	catalogAddr            string
	catalogToken           string
	sim                    simulator.Config
	rate                   float64
	duration               time.Duration
	batch, concurrency     int
	dryRun                 bool
	progressEvery          time.Duration
}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	o := &options{sim: simulator.DefaultConfig()}
	fs := flag.NewFlagSet("backstage-sim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.endpoint, "endpoint", "http://localhost:4320", "base URL of the collector's Backstage receiver")
	fs.StringVar(&o.otlpEndpoint, "otlp-endpoint", "http://localhost:4318", "base URL of the collector's OTLP/HTTP receiver for the backend's traces and metrics that the events cause (platform health, template results); empty: send none")
	fs.StringVar(&o.format, "format", string(wireformat.FormatEvents), "wire format: otlp, otlp-json, events, generic or segment")
	fs.StringVar(&o.mode, "mode", "backfill", "backfill (history up to now, as fast as accepted), live (events stamped now, at -rate) or catalog (serve the organisation as a Backstage catalog)")
	fs.StringVar(&o.catalogAddr, "catalog-addr", "localhost:7007", "catalog: the address to serve /api/catalog/entities/by-query on")
	fs.StringVar(&o.catalogToken, "catalog-token", envOr("INSIGHTS_CATALOG_TOKEN", "dev-catalog-token"), "catalog: the static token callers must send (default $INSIGHTS_CATALOG_TOKEN)")
	fs.StringVar(&o.token, "token", envOr("INSIGHTS_TOKEN", "dev-insights-token"), "bearer token (default $INSIGHTS_TOKEN)")
	fs.StringVar(&o.basic, "basic", "", "user:password for HTTP Basic instead of the bearer token")
	fs.StringVar(&o.writeKey, "write-key", envOr("INSIGHTS_SEGMENT_WRITE_KEY", "dev-segment-write-key"), "Segment write key, used with -format segment (default $INSIGHTS_SEGMENT_WRITE_KEY)")
	seed := fs.Uint64("seed", o.sim.Seed, "seed: the same seed gives the same organisation and events")
	fs.IntVar(&o.sim.Users, "users", o.sim.Users, "number of users")
	fs.IntVar(&o.sim.Teams, "teams", o.sim.Teams, "number of teams")
	fs.IntVar(&o.sim.Days, "days", 7, "backfill: days of history ending today; live: days of behaviour to cycle through")
	fs.Float64Var(&o.sim.Intensity, "intensity", o.sim.Intensity, "how often users come (1: a typical portal)")
	fs.Float64Var(&o.rate, "rate", 20, "live: events per second")
	fs.DurationVar(&o.duration, "duration", 0, "live: stop after this long (0: until interrupted)")
	fs.IntVar(&o.batch, "batch", 100, "events per request")
	fs.IntVar(&o.concurrency, "concurrency", 2, "backfill: requests in flight")
	fs.BoolVar(&o.dryRun, "dry-run", false, "generate and count the events without sending them")
	fs.DurationVar(&o.progressEvery, "progress", 2*time.Second, "how often to print progress (0: never)")
	collapse := fs.String("collapse", "", "scenario: a plugin whose usage collapses on a day of the simulated period, plugin@day[:share] (share kept, default 0.1), e.g. search@20")
	fs.IntVar(&o.sim.Scenarios.GrowingTeam, "growing-team", 0, "scenario: the rank (1: the first) of a team whose members join one by one over the period")
	fs.Float64Var(&o.sim.Scenarios.OnboardingDropOff, "onboarding-drop-off", 0, "scenario: the share of new users who leave after the getting-started docs")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if *collapse != "" {
		c, err := parseCollapse(*collapse)
		if err != nil {
			return nil, err
		}
		o.sim.Scenarios.Collapse = c
	}
	o.sim.Seed = *seed
	if !isFormat(o.format) {
		return nil, fmt.Errorf("unknown -format %q (want one of %v)", o.format, wireformat.Formats)
	}
	if o.mode != "backfill" && o.mode != "live" && o.mode != "catalog" {
		return nil, fmt.Errorf("unknown -mode %q (want backfill, live or catalog)", o.mode)
	}
	if o.batch < 1 || o.concurrency < 1 || o.rate <= 0 {
		return nil, errors.New("-batch, -concurrency and -rate must be positive")
	}
	if o.basic != "" && !strings.Contains(o.basic, ":") {
		return nil, errors.New("-basic must be user:password")
	}
	return o, nil
}

// parseCollapse reads plugin@day[:share].
func parseCollapse(s string) (*simulator.Collapse, error) {
	plugin, rest, ok := strings.Cut(s, "@")
	if !ok || plugin == "" {
		return nil, fmt.Errorf("-collapse %q: want plugin@day[:share], e.g. search@20", s)
	}
	dayText, shareText, hasShare := strings.Cut(rest, ":")
	day, err := strconv.Atoi(dayText)
	if err != nil {
		return nil, fmt.Errorf("-collapse %q: the day must be a number of days into the period: %w", s, err)
	}
	c := &simulator.Collapse{Plugin: plugin, Day: day, Share: 0.1}
	if hasShare {
		if c.Share, err = strconv.ParseFloat(shareText, 64); err != nil {
			return nil, fmt.Errorf("-collapse %q: the share must be a number between 0 and 1: %w", s, err)
		}
	}
	return c, nil
}

func isFormat(f string) bool {
	for _, known := range wireformat.Formats {
		if string(known) == f {
			return true
		}
	}
	return false
}

func envOr(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}

func (o *options) authorization() string {
	switch {
	case o.basic != "":
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(o.basic))
	case wireformat.Format(o.format) == wireformat.FormatSegment:
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(o.writeKey+":"))
	default:
		return "Bearer " + o.token
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	now := time.Now()
	o.sim.Start = now.AddDate(0, 0, -o.sim.Days+1)
	if o.mode == "live" {
		o.sim.Start = now
	}
	world, err := simulator.NewWorld(o.sim)
	if err != nil {
		return err
	}
	if o.mode == "catalog" {
		return serveCatalog(ctx, world, o, stdout)
	}
	sender := &simulator.Sender{Endpoint: strings.TrimRight(o.endpoint, "/"), Format: wireformat.Format(o.format),
		Authorization: o.authorization(), MaxAttempts: 20}
	st := &stats{start: time.Now()}
	var be *backendSender
	if o.otlpEndpoint != "" && !o.dryRun {
		be = newBackendSender(world, strings.TrimRight(o.otlpEndpoint, "/"), st)
	}
	if o.progressEvery > 0 {
		done := make(chan struct{})
		defer close(done)
		go st.report(stderr, o.progressEvery, done)
	}
	if o.mode == "backfill" {
		if o.sim.Days > 7 && !o.dryRun {
			fmt.Fprintf(stderr, "note: backfilling %d days; the receiver keeps payload times up to its max_event_age (7 days by default) and stamps older events with their arrival time\n", o.sim.Days)
		}
		err = backfill(ctx, world, o, sender, be, st, now)
	} else {
		err = live(ctx, world, o, sender, be, st)
	}
	fmt.Fprintln(stdout, st.summary(o.dryRun))
	return err
}

// serveCatalog serves the world's users, groups and owned entities until ctx ends (or -duration passes).
func serveCatalog(ctx context.Context, world *simulator.World, o *options, stdout io.Writer) error {
	if o.duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.duration)
		defer cancel()
	}
	listener, err := net.Listen("tcp", o.catalogAddr)
	if err != nil {
		return fmt.Errorf("serve the catalog: %w", err)
	}
	server := &http.Server{Handler: &simulator.CatalogServer{Token: o.catalogToken, Entities: world.CatalogEntities()}, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(stdout, "serving a catalog of %d users in %d groups at http://%s/api/catalog/entities/by-query\n",
		len(world.Users), len(world.Groups), listener.Addr())
	go func() {
		<-ctx.Done()
		_ = server.Close()
	}()
	if err := server.Serve(listener); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// stats counts the run; it is shared by the senders and the progress reporter.
type stats struct {
	start                         time.Time
	generated, accepted, rejected atomic.Int64
	retries                       atomic.Int64
	spans                         atomic.Int64
	day, days                     atomic.Int64
}

func (s *stats) add(r simulator.SendResult) {
	s.accepted.Add(int64(r.Accepted))
	s.rejected.Add(int64(r.Rejected))
	s.retries.Add(int64(r.Retries))
}

func (s *stats) line() string {
	elapsed := time.Since(s.start).Seconds()
	sent := s.accepted.Load() + s.rejected.Load()
	return fmt.Sprintf("day %d/%d · %d events generated · %d sent (%.0f/s) · %d accepted · %d rejected · %d retries · %d backend spans",
		s.day.Load(), s.days.Load(), s.generated.Load(), sent, float64(sent)/max(elapsed, 1e-9), s.accepted.Load(), s.rejected.Load(), s.retries.Load(),
		s.spans.Load())
}

func (s *stats) report(w io.Writer, every time.Duration, done <-chan struct{}) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-t.C:
			fmt.Fprintln(w, s.line())
		}
	}
}

func (s *stats) summary(dryRun bool) string {
	if dryRun {
		return fmt.Sprintf("dry run: %d events over %d days (nothing sent)", s.generated.Load(), s.days.Load())
	}
	return "done: " + s.line()
}

// backfill sends the history of every day up to now, as fast as the collector accepts it.
func backfill(ctx context.Context, world *simulator.World, o *options, sender *simulator.Sender, be *backendSender, st *stats, now time.Time) error {
	st.days.Store(int64(o.sim.Days))
	batches := make(chan []wireformat.Occurrence, o.concurrency)
	var firstErr error
	var once sync.Once
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	for range o.concurrency {
		wg.Go(func() {
			for batch := range batches {
				res, err := sender.Send(ctx, batch)
				st.add(res)
				if err != nil {
					once.Do(func() { firstErr = err; cancel() })
				}
			}
		})
	}
	func() {
		defer close(batches)
		for day := range o.sim.Days {
			st.day.Store(int64(day + 1))
			events := world.Day(day)
			for len(events) > 0 && events[len(events)-1].Time.After(now) {
				events = events[:len(events)-1] // today: only what has happened yet
			}
			st.generated.Add(int64(len(events)))
			if o.dryRun {
				continue
			}
			if err := be.send(ctx, events); err != nil {
				once.Do(func() { firstErr = err; cancel() })
				return
			}
			for start := 0; start < len(events); start += o.batch {
				select {
				case batches <- events[start:min(start+o.batch, len(events))]:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	wg.Wait()
	if firstErr == nil && ctx.Err() != nil && !errors.Is(ctx.Err(), context.Canceled) {
		return ctx.Err()
	}
	return firstErr
}

// live streams the simulated behaviour at o.rate events per second, each event stamped with the time it is
// sent (so the gaps within a session are compressed or stretched by the rate).
func live(ctx context.Context, world *simulator.World, o *options, sender *simulator.Sender, be *backendSender, st *stats) error {
	if o.duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.duration)
		defer cancel()
	}
	st.days.Store(int64(o.sim.Days))
	interval := time.Duration(float64(time.Second) * float64(o.batch) / o.rate)
	next := time.Now()
	var batch []wireformat.Occurrence
	for day := 0; ; day = (day + 1) % o.sim.Days {
		st.day.Store(int64(day + 1))
		for _, ev := range world.Day(day) {
			batch = append(batch, ev)
			if len(batch) < o.batch {
				continue
			}
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(time.Until(next)):
			}
			next = next.Add(interval)
			sentAt := time.Now()
			for i := range batch {
				batch[i].Time = sentAt
			}
			st.generated.Add(int64(len(batch)))
			if !o.dryRun {
				res, err := sender.Send(ctx, batch)
				st.add(res)
				if err == nil {
					err = be.send(ctx, batch)
				}
				if err != nil && ctx.Err() == nil {
					return err
				}
			}
			batch = batch[:0]
		}
	}
}

// backendSender sends the backend telemetry the events cause to the collector's OTLP/HTTP receiver.
type backendSender struct {
	backend         *simulator.Backend
	traces, metrics *simulator.Sender
	st              *stats
}

func newBackendSender(world *simulator.World, endpoint string, st *stats) *backendSender {
	sender := func(path string) *simulator.Sender {
		return &simulator.Sender{Endpoint: endpoint, Format: wireformat.FormatOTLP, Path: path, MaxAttempts: 20}
	}
	return &backendSender{backend: world.NewBackend(), traces: sender("/v1/traces"), metrics: sender("/v1/metrics"), st: st}
}

// send records the events' backend requests and posts them; a nil sender sends nothing.
func (b *backendSender) send(ctx context.Context, events []wireformat.Occurrence) error {
	if b == nil || len(events) == 0 {
		return nil
	}
	td, md := b.backend.Record(events)
	body, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	if err != nil {
		return fmt.Errorf("encode the backend's spans: %w", err)
	}
	if _, err := b.traces.Post(ctx, body, td.SpanCount()); err != nil {
		return fmt.Errorf("send the backend's spans to %s: %w", b.traces.Endpoint, err)
	}
	b.st.spans.Add(int64(td.SpanCount()))
	if md.DataPointCount() == 0 {
		return nil
	}
	if body, err = pmetricotlp.NewExportRequestFromMetrics(md).MarshalProto(); err != nil {
		return fmt.Errorf("encode the backend's metrics: %w", err)
	}
	if _, err := b.metrics.Post(ctx, body, md.DataPointCount()); err != nil {
		return fmt.Errorf("send the backend's metrics to %s: %w", b.metrics.Endpoint, err)
	}
	return nil
}
