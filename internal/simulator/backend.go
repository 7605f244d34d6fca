package simulator

import (
	"hash/fnv"
	"math"
	"math/rand/v2"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/insights-collector/insights-collector/internal/semconv"
	"github.com/insights-collector/insights-collector/internal/wireformat"
)

// BackendService is the service.name of the simulated backend, as a Backstage backend reports it.
const BackendService = "backstage-backend"

// Backend turns the frontend's events into the backend telemetry they cause, as Backstage's backend
// instrumented with OpenTelemetry reports it: an HTTP server span per request a page or action makes (the
// routes the plugins serve under /api/<plugin>), and the scaffolder's cumulative scaffolder.task.count per
// template and result. Latencies and errors differ by plugin; templates with more steps fail more often.
// Record is called with the events in time order (day after day); Backend is not safe for concurrent use.
type Backend struct {
	w     *World
	rng   *rand.Rand
	start time.Time         // the counter's start
	tasks map[taskKey]int64 // cumulative runs
}

type taskKey struct{ template, result string }

// NewBackend starts the backend of the world, its counters at zero at the world's start.
func (w *World) NewBackend() *Backend {
	return &Backend{w: w, rng: rand.New(rand.NewPCG(w.cfg.Seed, 0xbac1)), start: w.start, tasks: map[taskKey]int64{}}
}

// request is a backend request a frontend event causes.
type request struct {
	method, route, plugin string
	status                int
}

// Record returns the spans of the requests the events cause, and the task counter's points at the time of
// the batch's last event (none when no template ran).
func (b *Backend) Record(occs []wireformat.Occurrence) (ptrace.Traces, pmetric.Metrics) {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr(semconv.ResourceServiceName, BackendService)
	spans := rs.ScopeSpans().AppendEmpty()
	spans.Scope().SetName("@opentelemetry/instrumentation-http")
	ran := false
	for _, o := range occs {
		req, ok := b.requestOf(o)
		if !ok {
			continue
		}
		if req.route == "/api/scaffolder/v2/tasks" {
			ran = true
			result := "ok"
			if b.rng.Float64() < b.failureRate(o) {
				result = "failed"
			}
			b.tasks[taskKey{templateOf(o), result}]++
		}
		b.span(spans.Spans().AppendEmpty(), o.Time, req)
	}
	md := pmetric.NewMetrics()
	if ran {
		b.counter(md, occs[len(occs)-1].Time)
	}
	return td, md
}

// requestOf maps an event to the request its page or action makes; clicks make none.
func (b *Backend) requestOf(o wireformat.Occurrence) (request, bool) {
	plugin, _ := o.Context["pluginId"].(string)
	switch o.Action {
	case semconv.ActionSearch:
		return request{"GET", "/api/search/query", "search", 200}, true
	case semconv.ActionCreate:
		return request{"POST", "/api/scaffolder/v2/tasks", "scaffolder", 201}, true
	case semconv.ActionNotFound:
		return request{"GET", "/api/techdocs/static/docs/:namespace/:kind/:name/*", "techdocs", 404}, true
	case semconv.ActionNavigate:
	default:
		return request{}, false
	}
	var route string
	switch plugin {
	case "catalog":
		route = "/api/catalog/entities/by-query"
		if strings.HasPrefix(o.Subject, "/catalog/") {
			route = "/api/catalog/entities/by-name/:kind/:namespace/:name"
		}
	case "techdocs":
		route = "/api/techdocs/metadata/techdocs/:namespace/:kind/:name"
		if strings.Count(o.Subject, "/") > 4 {
			route = "/api/techdocs/static/docs/:namespace/:kind/:name/*"
		}
	case "scaffolder":
		route = "/api/scaffolder/v2/templates/:namespace/:kind/:name/parameter-schema"
		if o.Subject == "/create" || o.Subject == "/create/templates" {
			route = "/api/catalog/entities/by-query" // the template list is the catalog's
			plugin = "catalog"
		}
	case "kubernetes":
		route = "/api/kubernetes/services/:serviceId"
	case "api-docs":
		route = "/api/catalog/entities/by-refs"
		plugin = "catalog"
	case "search":
		route = "/api/search/query"
	default: // home, settings: the frontend's own pages
		return request{}, false
	}
	return request{"GET", route, plugin, 200}, true
}

// latency is each plugin's median request time (a log-normal around it).
var latency = map[string]time.Duration{"catalog": 25 * time.Millisecond, "search": 140 * time.Millisecond,
	"techdocs": 60 * time.Millisecond, "scaffolder": 320 * time.Millisecond, "kubernetes": 450 * time.Millisecond}

// span writes a request as an HTTP server span (the stable HTTP semantic conventions).
func (b *Backend) span(sp ptrace.Span, at time.Time, req request) {
	median := latency[req.plugin]
	duration := time.Duration(float64(median) * math.Exp(0.6*b.rng.NormFloat64()))
	status := req.status
	if status < 400 && b.rng.Float64() < errorRate(req.plugin) {
		status = 503
	}
	var trace [16]byte
	var id [8]byte
	for i := range trace {
		trace[i] = byte(b.rng.Uint32())
	}
	for i := range id {
		id[i] = byte(b.rng.Uint32())
	}
	sp.SetTraceID(trace)
	sp.SetSpanID(id)
	sp.SetKind(ptrace.SpanKindServer)
	sp.SetName(req.method + " " + req.route)
	start := at.Add(20 * time.Millisecond) // the request follows the page
	sp.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
	sp.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(duration)))
	a := sp.Attributes()
	a.PutStr(semconv.AttrHTTPMethod, req.method)
	a.PutStr("http.route", req.route)
	a.PutInt("http.response.status_code", int64(status))
	if status >= 500 {
		sp.Status().SetCode(ptrace.StatusCodeError)
	}
}

// errorRate is a plugin's share of 5xx responses: between 0.2% and 3%, fixed by its name.
func errorRate(plugin string) float64 {
	h := fnv.New32a()
	_, _ = h.Write([]byte(plugin))
	return 0.002 + float64(h.Sum32()%29)/1000
}

// failureRate is a template's share of failed runs: 2%, and 2.5 points more per step beyond two.
func (b *Backend) failureRate(o wireformat.Occurrence) float64 {
	steps, _ := o.Attributes["templateSteps"].(int)
	return 0.02 + 0.025*float64(max(steps-2, 0))
}

func templateOf(o wireformat.Occurrence) string {
	ref, _ := o.Context["entityRef"].(string)
	return ref
}

// counter writes scaffolder.task.count's cumulative value per template and result at a time.
func (b *Backend) counter(md pmetric.Metrics, at time.Time) {
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr(semconv.ResourceServiceName, BackendService)
	m := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	m.SetName("scaffolder.task.count")
	m.SetDescription("Count of task runs")
	sum := m.SetEmptySum()
	sum.SetIsMonotonic(true)
	sum.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
	for key, runs := range b.tasks {
		p := sum.DataPoints().AppendEmpty()
		p.SetStartTimestamp(pcommon.NewTimestampFromTime(b.start))
		p.SetTimestamp(pcommon.NewTimestampFromTime(at))
		p.SetIntValue(runs)
		p.Attributes().PutStr("template", key.template)
		p.Attributes().PutStr("result", key.result)
	}
}
