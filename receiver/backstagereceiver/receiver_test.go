package backstagereceiver

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configauth"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/insights-collector/insights-collector/internal/backstagesamples"
	"github.com/insights-collector/insights-collector/internal/semconv"
	"github.com/insights-collector/insights-collector/internal/wireformat"
	"github.com/insights-collector/insights-collector/receiver/backstagereceiver/internal/metadata"

	"github.com/insights-collector/insights-collector/internal/loopback"
)

const (
	testToken    = "test-token-0123456789"
	testWriteKey = "test-write-key"
	testUser     = "backstage"
	testPassword = "test-password"
)

func freeAddress(t *testing.T) string {
	t.Helper()
	addr, err := loopback.FreeAddress()
	require.NoError(t, err)
	return addr
}

type testReceiver struct {
	url string
	tel *componenttest.Telemetry
}

// startReceiver starts a receiver on a free loopback port with the test credentials.
func startReceiver(t *testing.T, next consumer.Logs, mutate ...func(*Config)) *testReceiver {
	return startReceiverWithHost(t, next, componenttest.NewNopHost(), mutate...)
}

func startReceiverWithHost(t *testing.T, next consumer.Logs, host component.Host, mutate ...func(*Config)) *testReceiver {
	t.Helper()
	cfg := createDefaultConfig().(*Config)
	cfg.NetAddr.Endpoint = freeAddress(t)
	cfg.Credentials = []Credential{
		{BearerToken: testToken},
		{Username: testUser, Password: testPassword},
		{WriteKey: testWriteKey},
		{BearerToken: "portal-us-token-123", Instance: "portal-us"},
		{WriteKey: "portal-seg-write-key", Instance: "portal-seg"},
	}
	for _, m := range mutate {
		m(cfg)
	}
	require.NoError(t, cfg.Validate())
	tel := componenttest.NewTelemetry()
	set := receivertest.NewNopSettings(metadata.Type)
	set.TelemetrySettings = tel.NewTelemetrySettings()
	r, err := newReceiver(cfg, set, next)
	require.NoError(t, err)
	r.now = func() time.Time { return time.Date(2026, 11, 25, 20, 0, 0, 0, time.UTC) }
	require.NoError(t, r.Start(context.Background(), host))
	t.Cleanup(func() {
		require.NoError(t, r.Shutdown(context.Background()))
		require.NoError(t, tel.Shutdown(context.Background()))
	})
	return &testReceiver{url: "http://" + cfg.NetAddr.Endpoint, tel: tel}
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var out map[string]any
	require.NoError(t, json.Unmarshal(r.body, &out), string(r.body))
	return out
}

func send(t *testing.T, method, url, contentType string, body []byte, headers ...string) response {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	require.NoError(t, err)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return response{status: resp.StatusCode, header: resp.Header, body: out}
}

func post(t *testing.T, url, contentType string, body []byte, headers ...string) response {
	return send(t, http.MethodPost, url, contentType, body, headers...)
}

func bearer(token string) []string { return []string{"Authorization", "Bearer " + token} }

func basic(user, password string) []string {
	return []string{"Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))}
}

func sampleOccurrences(t *testing.T) []wireformat.Occurrence {
	occs, err := backstagesamples.AnalyticsEvents()
	require.NoError(t, err)
	return occs
}

func TestEveryFormatIsAccepted(t *testing.T) {
	occs := sampleOccurrences(t)
	for _, format := range wireformat.Formats {
		t.Run(string(format), func(t *testing.T) {
			sink := &consumertest.LogsSink{}
			rcv := startReceiver(t, sink)
			body, err := wireformat.Encode(format, occs)
			require.NoError(t, err)
			resp := post(t, rcv.url+format.Path(), format.ContentType(), body, bearer(testToken)...)
			require.Equal(t, http.StatusOK, resp.status, string(resp.body))
			require.Equal(t, len(occs), sink.LogRecordCount())
			lr := sink.AllLogs()[0].ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
			assert.Equal(t, "backstage.navigate", lr.EventName())
			if format == wireformat.FormatOTLP {
				export := plogotlp.NewExportResponse()
				require.NoError(t, export.UnmarshalProto(resp.body))
				assert.Equal(t, int64(0), export.PartialSuccess().RejectedLogRecords())
				return
			}
			if format != wireformat.FormatOTLPJSON {
				assert.Equal(t, float64(len(occs)), resp.json(t)["accepted"])
			}
		})
	}
}

func TestAuditEventsOverOTLP(t *testing.T) {
	sink := &consumertest.LogsSink{}
	rcv := startReceiver(t, sink, func(c *Config) { c.MaxEventAge = 24 * time.Hour })
	body, err := backstagesamples.BackendLogsJSON()
	require.NoError(t, err)
	resp := post(t, rcv.url+"/v1/logs", "application/json", body, bearer(testToken)...)
	require.Equal(t, http.StatusOK, resp.status, string(resp.body))
	require.Equal(t, 2, sink.LogRecordCount())
	lr := sink.AllLogs()[0].ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
	assert.Equal(t, "backstage.audit.catalog.entity-fetch", lr.EventName())
}

func TestAuthentication(t *testing.T) {
	events := []byte(`[{"action":"click","subject":"x"}]`)
	segment := func(writeKey string) []byte {
		return []byte(`{"writeKey":"` + writeKey + `","userId":"u1","event":"click"}`)
	}
	tests := []struct {
		name        string
		path, ctype string
		body        []byte
		headers     []string
		want        int
		instance    string
	}{
		{"bearer token", "/v1/events", "application/json", events, bearer(testToken), http.StatusOK, "default"},
		{"bearer token bound to an instance", "/v1/events", "application/json", events, bearer("portal-us-token-123"), http.StatusOK, "portal-us"},
		{"basic", "/v1/events", "application/json", events, basic(testUser, testPassword), http.StatusOK, "default"},
		{"segment write key as basic user", "/v1/batch", "application/json", []byte(`{"batch":[{"type":"track","userId":"u","event":"x"}]}`), basic(testWriteKey, ""), http.StatusOK, "default"},
		{"segment write key in the body, as text/plain", "/v1/t", "text/plain", segment(testWriteKey), nil, http.StatusOK, "default"},
		{"segment write key in the body bound to an instance", "/v1/t", "text/plain", segment("portal-seg-write-key"), nil, http.StatusOK, "portal-seg"},
		{"no credentials", "/v1/events", "application/json", events, nil, http.StatusUnauthorized, ""},
		{"wrong bearer token", "/v1/events", "application/json", events, bearer("not-the-token"), http.StatusUnauthorized, ""},
		{"wrong password", "/v1/events", "application/json", events, basic(testUser, "guess"), http.StatusUnauthorized, ""},
		{"basic that is not base64", "/v1/events", "application/json", events, []string{"Authorization", "Basic %%%"}, http.StatusUnauthorized, ""},
		{"unknown scheme", "/v1/events", "application/json", events, []string{"Authorization", "Digest abc"}, http.StatusUnauthorized, ""},
		{"write key in the body of a non-Segment endpoint", "/v1/events", "application/json", []byte(`[{"action":"x","writeKey":"` + testWriteKey + `"}]`), nil, http.StatusUnauthorized, ""},
		{"wrong write key in the body", "/v1/t", "text/plain", segment("guess"), nil, http.StatusUnauthorized, ""},
		{"no write key in the body", "/v1/track", "application/json", []byte(`{"userId":"u1","event":"click"}`), nil, http.StatusUnauthorized, ""},
		{"bearer token for OTLP", "/v1/logs", "application/json", []byte(`{}`), bearer(testToken), http.StatusOK, ""},
		{"no credentials for OTLP", "/v1/logs", "application/json", []byte(`{}`), nil, http.StatusUnauthorized, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sink := &consumertest.LogsSink{}
			rcv := startReceiver(t, sink, func(c *Config) { c.Instance = "default" })
			resp := post(t, rcv.url+tt.path, tt.ctype, tt.body, tt.headers...)
			require.Equal(t, tt.want, resp.status, string(resp.body))
			if tt.want == http.StatusUnauthorized {
				assert.Contains(t, resp.header.Get("WWW-Authenticate"), "Bearer")
				assert.Equal(t, 0, sink.LogRecordCount(), "nothing passes without credentials")
				return
			}
			if tt.instance != "" {
				require.Equal(t, 1, sink.LogRecordCount())
				instance, _ := sink.AllLogs()[0].ResourceLogs().At(0).Resource().Attributes().Get(semconv.ResourceInstance)
				assert.Equal(t, tt.instance, instance.Str())
			}
		})
	}
}

func TestAnonymousAccess(t *testing.T) {
	sink := &consumertest.LogsSink{}
	rcv := startReceiver(t, sink, func(c *Config) {
		c.Credentials = nil
		c.AllowAnonymous = true
	})
	resp := post(t, rcv.url+"/v1/events", "application/json", []byte(`[{"action":"click"}]`))
	require.Equal(t, http.StatusOK, resp.status, string(resp.body))
}

// fakeAuth is an authenticator extension that accepts one header value.
type fakeAuth struct {
	component.StartFunc
	component.ShutdownFunc
}

func (fakeAuth) Authenticate(ctx context.Context, headers map[string][]string) (context.Context, error) {
	for _, v := range headers["X-Api-Key"] {
		if v == "sesame" {
			return ctx, nil
		}
	}
	return ctx, errors.New("no api key")
}

type hostWithExtensions map[component.ID]component.Component

func (h hostWithExtensions) GetExtensions() map[component.ID]component.Component { return h }

func TestAuthExtensionAloneAuthenticates(t *testing.T) {
	authID := component.MustNewID("fakeauth")
	sink := &consumertest.LogsSink{}
	rcv := startReceiverWithHost(t, sink, hostWithExtensions{authID: fakeAuth{}}, func(c *Config) {
		c.Credentials = nil
		c.Auth = configoptional.Some(confighttp.AuthConfig{Config: configauth.Config{AuthenticatorID: authID}})
	})
	body := []byte(`[{"action":"click"}]`)
	assert.Equal(t, http.StatusUnauthorized, post(t, rcv.url+"/v1/events", "application/json", body).status)
	resp := post(t, rcv.url+"/v1/events", "application/json", body, "X-Api-Key", "sesame", "Authorization", "Bearer whatever")
	assert.Equal(t, http.StatusOK, resp.status, string(resp.body))
	assert.Equal(t, 1, sink.LogRecordCount())
}

func TestRequestErrors(t *testing.T) {
	tests := []struct {
		name          string
		method, path  string
		ctype         string
		body          string
		mutate        func(*Config)
		want          int
		wantInMessage string
	}{
		{name: "GET", method: http.MethodGet, path: "/v1/events", ctype: "application/json", want: http.StatusMethodNotAllowed, wantInMessage: "use POST"},
		{name: "wrong content type", path: "/v1/events", ctype: "text/plain", body: `[]`, want: http.StatusUnsupportedMediaType, wantInMessage: "application/json"},
		{name: "no content type", path: "/v1/events", body: `[]`, want: http.StatusUnsupportedMediaType, wantInMessage: "unsupported Content-Type"},
		{name: "protobuf on the JSON endpoint", path: "/v1/events", ctype: "application/x-protobuf", body: `[]`, want: http.StatusUnsupportedMediaType},
		{name: "malformed JSON", path: "/v1/events", ctype: "application/json", body: `[{"action":`, want: http.StatusBadRequest, wantInMessage: "invalid JSON"},
		{name: "malformed Segment JSON", path: "/v1/batch", ctype: "application/json", body: `{"batch":[`, want: http.StatusBadRequest, wantInMessage: "invalid JSON"},
		{name: "body too large", path: "/v1/events", ctype: "application/json", body: `[{"action":"click","subject":"` + strings.Repeat("x", 2048) + `"}]`,
			mutate: func(c *Config) { c.MaxRequestBodySize = 1024 }, want: http.StatusRequestEntityTooLarge, wantInMessage: "max_request_body_size"},
		{name: "too many events", path: "/v1/events", ctype: "application/json", body: `[{"action":"a"},{"action":"b"},{"action":"c"}]`,
			mutate: func(c *Config) { c.MaxEventsPerRequest = 2 }, want: http.StatusRequestEntityTooLarge, wantInMessage: "at most 2"},
		{name: "every event rejected", path: "/v1/events", ctype: "application/json", body: `[{"subject":"a"},{"action":""}]`,
			want: http.StatusBadRequest, wantInMessage: "all 2 events were rejected"},
		{name: "disabled format", path: "/v1/batch", ctype: "application/json", body: `{"batch":[]}`,
			mutate: func(c *Config) { c.Formats.Segment = false }, want: http.StatusNotFound},
		{name: "unknown path", path: "/v1/traces", ctype: "application/json", body: `{}`, want: http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sink := &consumertest.LogsSink{}
			mutate := func(*Config) {}
			if tt.mutate != nil {
				mutate = tt.mutate
			}
			rcv := startReceiver(t, sink, mutate)
			method := tt.method
			if method == "" {
				method = http.MethodPost
			}
			resp := send(t, method, rcv.url+tt.path, tt.ctype, []byte(tt.body), bearer(testToken)...)
			require.Equal(t, tt.want, resp.status, string(resp.body))
			assert.Contains(t, string(resp.body), tt.wantInMessage)
			assert.Equal(t, 0, sink.LogRecordCount())
			if tt.want == http.StatusMethodNotAllowed {
				assert.Equal(t, http.MethodPost, resp.header.Get("Allow"))
			}
		})
	}
}

func TestPartiallyRejectedBatch(t *testing.T) {
	sink := &consumertest.LogsSink{}
	rcv := startReceiver(t, sink)
	body := `[{"action":"click","subject":"a"},{"subject":"no action"},{"action":"search","value":"many"},{"action":"navigate","subject":"/"}]`
	resp := post(t, rcv.url+"/v1/events", "application/json", []byte(body), bearer(testToken)...)
	require.Equal(t, http.StatusOK, resp.status)
	assert.JSONEq(t, `{"accepted":2,"rejected":[
		{"index":1,"reason":"missing_action","message":"action is missing or empty"},
		{"index":2,"reason":"invalid_field","message":"value must be a number"}]}`, string(resp.body))
	assert.Equal(t, 2, sink.LogRecordCount())

	metric, err := rcv.tel.GetMetric("otelcol_receiver_backstage_events")
	require.NoError(t, err)
	assert.Equal(t, map[string]int64{
		"accepted/":               2,
		"rejected/missing_action": 1,
		"rejected/invalid_field":  1,
	}, eventCounts(metric))
}

func eventCounts(m metricdata.Metrics) map[string]int64 {
	out := map[string]int64{}
	for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
		outcome, _ := dp.Attributes.Value(attribute.Key("outcome"))
		reason, _ := dp.Attributes.Value(attribute.Key("reason"))
		out[outcome.AsString()+"/"+reason.AsString()] += dp.Value
	}
	return out
}

func TestOTLPPartialSuccess(t *testing.T) {
	sink := &consumertest.LogsSink{}
	rcv := startReceiver(t, sink)
	ld := wireformat.OTLP(sampleOccurrences(t)[:3])
	winston := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().AppendEmpty()
	winston.Body().SetStr("Plugin initialization complete")
	body, err := plogotlp.NewExportRequestFromLogs(ld).MarshalProto()
	require.NoError(t, err)

	resp := post(t, rcv.url+"/v1/logs", "application/x-protobuf", body, bearer(testToken)...)
	require.Equal(t, http.StatusOK, resp.status)
	assert.Equal(t, "application/x-protobuf", resp.header.Get("Content-Type"))
	export := plogotlp.NewExportResponse()
	require.NoError(t, export.UnmarshalProto(resp.body))
	assert.Equal(t, int64(1), export.PartialSuccess().RejectedLogRecords())
	assert.Contains(t, export.PartialSuccess().ErrorMessage(), "#3 not_an_event")
	assert.Equal(t, 3, sink.LogRecordCount())
}

func TestOTLPErrorsAreStatusMessages(t *testing.T) {
	rcv := startReceiver(t, consumertest.NewNop())
	resp := post(t, rcv.url+"/v1/logs", "application/x-protobuf", []byte{0xff, 0xff, 0xff}, bearer(testToken)...)
	require.Equal(t, http.StatusBadRequest, resp.status)
	st := &spb.Status{}
	require.NoError(t, proto.Unmarshal(resp.body, st))
	assert.Equal(t, int32(codes.InvalidArgument), st.GetCode())
	assert.Contains(t, st.GetMessage(), "invalid OTLP")

	resp = post(t, rcv.url+"/v1/logs", "application/json", []byte(`{`), bearer(testToken)...)
	require.Equal(t, http.StatusBadRequest, resp.status)
	assert.Equal(t, "application/json", resp.header.Get("Content-Type"))
	assert.Contains(t, resp.json(t)["message"], "invalid OTLP")
}

func TestPipelineRefusal(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		want       int
		retryAfter string
	}{
		{"memory limiter refuses", errors.New("data refused due to high memory usage"), http.StatusServiceUnavailable, "7"},
		{"resource exhausted", status.Error(codes.ResourceExhausted, "queue is full"), http.StatusTooManyRequests, "7"},
		{"permanent error", consumererror.NewPermanent(errors.New("cannot store")), http.StatusInternalServerError, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rcv := startReceiver(t, consumertest.NewErr(tt.err), func(c *Config) { c.RetryAfter = 7 * time.Second })
			for _, path := range []string{"/v1/events", "/v1/logs"} {
				body := []byte(`[{"action":"click"}]`)
				if path == "/v1/logs" {
					body, _ = plogotlp.NewExportRequestFromLogs(wireformat.OTLP(sampleOccurrences(t)[:1])).MarshalJSON()
				}
				resp := post(t, rcv.url+path, "application/json", body, bearer(testToken)...)
				assert.Equal(t, tt.want, resp.status, string(resp.body))
				assert.Equal(t, tt.retryAfter, resp.header.Get("Retry-After"))
				assert.Contains(t, string(resp.body), "pipeline")
			}
			metric, err := rcv.tel.GetMetric("otelcol_receiver_backstage_events")
			require.NoError(t, err)
			reason := refusedByPipeline
			if tt.want == http.StatusInternalServerError {
				reason = refusedPermanent
			}
			assert.Equal(t, map[string]int64{"refused/" + reason: 2}, eventCounts(metric))
		})
	}
}

func TestConcurrencyLimit(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{}, 1)
	blocking, err := consumer.NewLogs(func(context.Context, plog.Logs) error {
		entered <- struct{}{}
		<-release
		return nil
	})
	require.NoError(t, err)
	rcv := startReceiver(t, blocking, func(c *Config) { c.MaxConcurrentRequests = 1 })
	body := []byte(`[{"action":"click"}]`)
	first := make(chan response, 1)
	go func() { first <- post(t, rcv.url+"/v1/events", "application/json", body, bearer(testToken)...) }()
	<-entered
	resp := post(t, rcv.url+"/v1/events", "application/json", body, bearer(testToken)...)
	assert.Equal(t, http.StatusTooManyRequests, resp.status)
	assert.Equal(t, "1", resp.header.Get("Retry-After"))
	close(release)
	assert.Equal(t, http.StatusOK, (<-first).status)
}

func TestGzipBody(t *testing.T) {
	sink := &consumertest.LogsSink{}
	rcv := startReceiver(t, sink)
	body, err := wireformat.Encode(wireformat.FormatGeneric, sampleOccurrences(t))
	require.NoError(t, err)
	var gz bytes.Buffer
	w := gzip.NewWriter(&gz)
	_, _ = w.Write(body)
	require.NoError(t, w.Close())
	resp := post(t, rcv.url+"/v1/events", "application/json", gz.Bytes(), append(bearer(testToken), "Content-Encoding", "gzip")...)
	require.Equal(t, http.StatusOK, resp.status, string(resp.body))
	assert.Equal(t, 32, sink.LogRecordCount())

	resp = post(t, rcv.url+"/v1/events", "application/json", []byte("not gzip"), append(bearer(testToken), "Content-Encoding", "gzip")...)
	assert.Equal(t, http.StatusBadRequest, resp.status)
}

func TestCORSPreflight(t *testing.T) {
	rcv := startReceiver(t, consumertest.NewNop(), func(c *Config) {
		c.CORS = configoptional.Some(confighttp.CORSConfig{AllowedOrigins: []string{"https://backstage.example.com"}, AllowedHeaders: []string{"Authorization", "Content-Type"}})
	})
	resp := send(t, http.MethodOptions, rcv.url+"/v1/events", "", nil,
		"Origin", "https://backstage.example.com", "Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "authorization,content-type")
	assert.Equal(t, http.StatusNoContent, resp.status)
	assert.Equal(t, "https://backstage.example.com", resp.header.Get("Access-Control-Allow-Origin"))

	resp = send(t, http.MethodOptions, rcv.url+"/v1/events", "", nil, "Origin", "https://evil.example.com", "Access-Control-Request-Method", "POST")
	assert.Empty(t, resp.header.Get("Access-Control-Allow-Origin"))
}

func TestRequestMetrics(t *testing.T) {
	rcv := startReceiver(t, consumertest.NewNop())
	post(t, rcv.url+"/v1/events", "application/json", []byte(`[{"action":"a"}]`), bearer(testToken)...)
	post(t, rcv.url+"/v1/events", "application/json", []byte(`[{"action":"a"}]`))
	metric, err := rcv.tel.GetMetric("otelcol_receiver_backstage_requests")
	require.NoError(t, err)
	codes := map[int64]int64{}
	for _, dp := range metric.Data.(metricdata.Sum[int64]).DataPoints {
		code, _ := dp.Attributes.Value("http.response.status_code")
		codes[code.AsInt64()] += dp.Value
	}
	assert.Equal(t, map[int64]int64{200: 1, 401: 1}, codes)
}
