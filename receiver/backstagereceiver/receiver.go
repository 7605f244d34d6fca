package backstagereceiver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receiverhelper"
	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/insights-collector/insights-collector/internal/normalize"
	"github.com/insights-collector/insights-collector/receiver/backstagereceiver/internal/metadata"
)

// Media types the endpoints accept.
const (
	mediaJSON     = "application/json"
	mediaProtobuf = "application/x-protobuf"
	mediaText     = "text/plain" // analytics.js sends its JSON as text/plain to avoid a CORS preflight
)

// Endpoint names, the `endpoint` label of the self-metrics.
const (
	endpointOTLP    = "otlp"
	endpointEvents  = "events"
	endpointSegment = "segment"
)

type backstageReceiver struct {
	cfg  *Config
	set  receiver.Settings
	next consumer.Logs
	obs  *receiverhelper.ObsReport
	tel  *telemetry
	auth *authenticator
	opts normalize.Options
	// slots bounds the requests in flight (max_concurrent_requests).
	slots chan struct{}
	// now is the clock; tests replace it.
	now func() time.Time

	server *http.Server
	wg     sync.WaitGroup
	// teams enriches events with users' teams from the catalog, when configured.
	teams *teamEnricher
}

func newReceiver(cfg *Config, set receiver.Settings, next consumer.Logs) (*backstageReceiver, error) {
	obs, err := receiverhelper.NewObsReport(receiverhelper.ObsReportSettings{
		ReceiverID: set.ID, Transport: "http", ReceiverCreateSettings: set,
	})
	if err != nil {
		return nil, fmt.Errorf("create obsreport: %w", err)
	}
	tel, err := newTelemetry(set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	return &backstageReceiver{
		cfg:   cfg,
		set:   set,
		next:  next,
		obs:   obs,
		tel:   tel,
		auth:  newAuthenticator(cfg),
		opts:  normalize.Options{MaxEventAge: cfg.MaxEventAge, MaxClockSkew: cfg.MaxClockSkew, MaxEvents: cfg.MaxEventsPerRequest},
		slots: make(chan struct{}, cfg.MaxConcurrentRequests),
		now:   time.Now,
	}, nil
}

// Start binds the endpoint and serves the enabled formats.
func (r *backstageReceiver) Start(ctx context.Context, host component.Host) error {
	if r.cfg.AllowAnonymous {
		r.set.Logger.Warn("allow_anonymous is on: anyone who can reach the endpoint can send events")
	}
	if r.cfg.Catalog != nil {
		catalog, err := findCatalog(host, *r.cfg.Catalog)
		if err != nil {
			return err
		}
		r.teams = &teamEnricher{catalog: catalog, cfg: r.cfg.CatalogTeams}
		r.waitForCatalog(ctx, catalog)
	}
	ln, err := r.cfg.ServerConfig.ToListener(ctx)
	if err != nil {
		return fmt.Errorf("listen on %q: %w", r.cfg.NetAddr.Endpoint, err)
	}
	server, err := r.cfg.ServerConfig.ToServer(ctx, host.GetExtensions(), r.set.TelemetrySettings, r.mux())
	if err != nil {
		_ = ln.Close()
		return fmt.Errorf("create HTTP server: %w", err)
	}
	r.server = server
	r.set.Logger.Info("Backstage receiver listening", zap.String("endpoint", ln.Addr().String()),
		zap.Bool("otlp", r.cfg.Formats.OTLP), zap.Bool("events", r.cfg.Formats.Events), zap.Bool("segment", r.cfg.Formats.Segment))
	r.wg.Go(func() {
		if err := server.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			componentstatus.ReportStatus(host, componentstatus.NewFatalErrorEvent(err))
		}
	})
	return nil
}

// Shutdown stops accepting requests and waits for those in flight.
func (r *backstageReceiver) Shutdown(ctx context.Context) error {
	var err error
	if r.server != nil {
		err = r.server.Shutdown(ctx)
	}
	r.wg.Wait()
	return err
}

func (r *backstageReceiver) mux() *http.ServeMux {
	mux := http.NewServeMux()
	if r.cfg.Formats.OTLP {
		mux.Handle("/v1/logs", r.handler(otlpEndpoint()))
	}
	if r.cfg.Formats.Events {
		mux.Handle("/v1/events", r.handler(eventsEndpoint()))
	}
	if r.cfg.Formats.Segment {
		for short, call := range map[string]string{
			"b": normalize.SegmentBatch, "t": normalize.SegmentTrack, "p": normalize.SegmentPage,
			"s": normalize.SegmentScreen, "i": normalize.SegmentIdentify, "g": normalize.SegmentGroup,
		} {
			h := r.handler(segmentEndpoint(call))
			mux.Handle("/v1/"+call, h)
			mux.Handle("/v1/"+short, h)
		}
	}
	return mux
}

// endpoint describes one wire format's endpoint; the request handling around it is shared.
type endpoint struct {
	name       string
	mediaTypes []string
	// bodyWriteKey: a Segment write key in the body may authenticate the request.
	bodyWriteKey bool
	decode       func(media string, body []byte, opts *normalize.Options, req *normalize.Request) (normalize.Result, error)
	reply        replier
}

// replier writes an endpoint's responses in its protocol's shape.
type replier interface {
	accepted(w http.ResponseWriter, media string, res *normalize.Result)
	failed(w http.ResponseWriter, media string, f *failure)
}

// failure is a request that was not accepted (as a whole).
type failure struct {
	status     int
	message    string
	rejected   []normalize.Rejection
	retryAfter time.Duration
}

func (r *backstageReceiver) handler(e *endpoint) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, hr *http.Request) {
		media := mediaType(hr)
		if f := r.serve(w, hr, e, media); f != nil {
			if f.retryAfter > 0 {
				w.Header().Set("Retry-After", fmt.Sprint(int(f.retryAfter.Seconds())))
			}
			if f.status == http.StatusUnauthorized {
				w.Header().Set("WWW-Authenticate", `Bearer realm="insights", Basic realm="insights"`)
			}
			e.reply.failed(w, media, f)
			r.tel.recordRequest(hr.Context(), e.name, f.status)
			return
		}
		r.tel.recordRequest(hr.Context(), e.name, http.StatusOK)
	})
}

// serve handles one request; it returns nil when it wrote a 200 response, else the failure to write.
func (r *backstageReceiver) serve(w http.ResponseWriter, hr *http.Request, e *endpoint, media string) *failure {
	if hr.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return &failure{status: http.StatusMethodNotAllowed, message: hr.Method + " is not allowed; use POST"}
	}
	select {
	case r.slots <- struct{}{}:
		defer func() { <-r.slots }()
	default:
		return &failure{status: http.StatusTooManyRequests, retryAfter: time.Second,
			message: fmt.Sprintf("too many concurrent requests (max_concurrent_requests is %d)", cap(r.slots))}
	}
	instance, authRes := r.auth.checkHeader(hr.Header.Get("Authorization"))
	if authRes == authInvalid || (authRes == authMissing && !e.bodyWriteKey) {
		return &failure{status: http.StatusUnauthorized, message: "missing or invalid credentials"}
	}
	if !accepts(e.mediaTypes, media) {
		return &failure{status: http.StatusUnsupportedMediaType,
			message: fmt.Sprintf("unsupported Content-Type %q; use one of %v", hr.Header.Get("Content-Type"), e.mediaTypes)}
	}
	body, err := readBody(hr, r.cfg.MaxRequestBodySize)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return &failure{status: http.StatusRequestEntityTooLarge,
				message: fmt.Sprintf("the body exceeds max_request_body_size (%d bytes)", tooLarge.Limit)}
		}
		return &failure{status: http.StatusBadRequest, message: "reading the body: " + err.Error()}
	}

	req := &normalize.Request{Received: r.now(), Instance: r.cfg.Instance, Body: body, Scope: metadata.ScopeName}
	if instance != "" {
		req.Instance, req.ForceInstance = instance, true
	}
	res, err := e.decode(media, body, &r.opts, req)
	if err != nil {
		var tooMany *normalize.TooManyEventsError
		if errors.As(err, &tooMany) {
			return &failure{status: http.StatusRequestEntityTooLarge, message: err.Error()}
		}
		return &failure{status: http.StatusBadRequest, message: err.Error()}
	}
	if authRes == authMissing {
		// Only endpoints that take a body write key get here: the key must be in the body.
		bodyInstance, ok := r.auth.checkWriteKey(res.WriteKey)
		if !ok {
			return &failure{status: http.StatusUnauthorized, message: "missing or invalid credentials (no valid writeKey in the body)"}
		}
		if bodyInstance != "" {
			// The key was only known after decoding: the events were stamped with the default instance.
			return r.consume(w, hr, e, media, withInstance(res, bodyInstance))
		}
	}
	return r.consume(w, hr, e, media, res)
}

// consume hands the accepted events to the pipeline and answers.
func (r *backstageReceiver) consume(w http.ResponseWriter, hr *http.Request, e *endpoint, media string, res normalize.Result) *failure {
	ctx := hr.Context()
	r.tel.recordRejections(ctx, e.name, res.Rejected)
	if res.Accepted == 0 && len(res.Rejected) > 0 && e.name != endpointOTLP {
		return &failure{status: http.StatusBadRequest, rejected: res.Rejected,
			message: fmt.Sprintf("all %d events were rejected", len(res.Rejected))}
	}
	if res.Accepted > 0 {
		if r.teams != nil {
			r.teams.enrich(res.Logs)
		}
		opCtx := r.obs.StartLogsOp(ctx)
		err := r.next.ConsumeLogs(opCtx, res.Logs)
		r.obs.EndLogsOp(opCtx, e.name, res.Accepted, err)
		if err != nil {
			f := r.refusal(err)
			r.tel.recordEvents(ctx, e.name, outcomeRefused, refusalReason(f.status), res.Accepted)
			return f
		}
		r.tel.recordEvents(ctx, e.name, outcomeAccepted, "", res.Accepted)
	}
	e.reply.accepted(w, media, &res)
	return nil
}

// refusal maps a pipeline error to the answer the OTLP specification gives: retryable errors are 503 (429 for
// resource exhaustion) with Retry-After; a permanent error is 500, not to be retried.
func (r *backstageReceiver) refusal(err error) *failure {
	if consumererror.IsPermanent(err) {
		return &failure{status: http.StatusInternalServerError, message: "the pipeline rejected the events permanently: " + err.Error()}
	}
	code := http.StatusServiceUnavailable
	if s, ok := status.FromError(err); ok && s.Code() == codes.ResourceExhausted {
		code = http.StatusTooManyRequests
	}
	return &failure{status: code, retryAfter: r.cfg.RetryAfter, message: "the pipeline refused the events; retry later: " + err.Error()}
}

func refusalReason(status int) string {
	if status == http.StatusInternalServerError {
		return refusedPermanent
	}
	return refusedByPipeline
}

func mediaType(hr *http.Request) string {
	media, _, err := mime.ParseMediaType(hr.Header.Get("Content-Type"))
	if err != nil {
		return ""
	}
	return media
}

func accepts(types []string, media string) bool {
	for _, t := range types {
		if t == media {
			return true
		}
	}
	return false
}

// readBody reads the whole body; confighttp has already bounded it by max_request_body_size (limit), so a
// declared length within the limit is allocated at once.
func readBody(hr *http.Request, limit int64) ([]byte, error) {
	defer hr.Body.Close()
	if hr.ContentLength > 0 && hr.ContentLength <= limit {
		buf := make([]byte, hr.ContentLength)
		if _, err := io.ReadFull(hr.Body, buf); err != nil {
			return nil, err
		}
		return buf, nil
	}
	return io.ReadAll(hr.Body)
}
