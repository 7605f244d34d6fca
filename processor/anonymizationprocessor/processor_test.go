package anonymizationprocessor

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processortest"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/insights-collector/insights-collector/internal/backstagesamples"
	"github.com/insights-collector/insights-collector/internal/normalize"
	"github.com/insights-collector/insights-collector/internal/pseudonym"
	"github.com/insights-collector/insights-collector/internal/semconv"
	"github.com/insights-collector/insights-collector/internal/wireformat"
	"github.com/insights-collector/insights-collector/processor/anonymizationprocessor/internal/metadata"
)

const testSecret = "0123456789abcdef0123456789abcdef"

func testConfig(mutate ...func(*Config)) *Config {
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	cfg.Keys = []KeyConfig{{ID: "k1", Secret: testSecret}}
	for _, m := range mutate {
		m(cfg)
	}
	return cfg
}

type harness struct {
	logs   processor.Logs
	traces processor.Traces
	sink   *consumertest.LogsSink
	spans  *consumertest.TracesSink
	tel    *componenttest.Telemetry
	keys   *pseudonym.Keyring
}

func start(t *testing.T, cfg *Config) *harness {
	t.Helper()
	require.NoError(t, cfg.Validate())
	h := &harness{sink: new(consumertest.LogsSink), spans: new(consumertest.TracesSink), tel: componenttest.NewTelemetry()}
	set := processortest.NewNopSettings(metadata.Type)
	set.TelemetrySettings = h.tel.NewTelemetrySettings()
	var err error
	h.logs, err = NewFactory().CreateLogs(context.Background(), set, cfg, h.sink)
	require.NoError(t, err)
	h.traces, err = NewFactory().CreateTraces(context.Background(), set, cfg, h.spans)
	require.NoError(t, err)
	require.NoError(t, h.logs.Start(context.Background(), componenttest.NewNopHost()))
	require.NoError(t, h.traces.Start(context.Background(), componenttest.NewNopHost()))
	h.keys, err = cfg.keyring()
	require.NoError(t, err)
	t.Cleanup(func() {
		require.NoError(t, h.logs.Shutdown(context.Background()))
		require.NoError(t, h.traces.Shutdown(context.Background()))
		require.NoError(t, h.tel.Shutdown(context.Background()))
	})
	return h
}

// process sends the logs through and returns the records that came out.
func (h *harness) process(t *testing.T, ld plog.Logs) []plog.LogRecord {
	t.Helper()
	h.sink.Reset()
	require.NoError(t, h.logs.ConsumeLogs(context.Background(), ld))
	var out []plog.LogRecord
	for _, got := range h.sink.AllLogs() {
		for _, rl := range got.ResourceLogs().All() {
			for _, sl := range rl.ScopeLogs().All() {
				for _, lr := range sl.LogRecords().All() {
					out = append(out, lr)
				}
			}
		}
	}
	return out
}

// event is one log record with the given attributes.
func event(t *testing.T, name string, attrs map[string]any) plog.Logs {
	t.Helper()
	ld := plog.NewLogs()
	lr := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr.SetEventName(name)
	require.NoError(t, lr.Attributes().FromRaw(attrs))
	return ld
}

func (h *harness) one(t *testing.T, name string, attrs map[string]any) map[string]any {
	t.Helper()
	out := h.process(t, event(t, name, attrs))
	require.Len(t, out, 1)
	return out[0].Attributes().AsRaw()
}

func counts(t *testing.T, tel *componenttest.Telemetry, name string, labels ...string) map[string]int64 {
	t.Helper()
	m, err := tel.GetMetric(name)
	require.NoError(t, err)
	out := map[string]int64{}
	for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
		var key []string
		for _, l := range labels {
			v, _ := dp.Attributes.Value(attribute.Key(l))
			key = append(key, v.AsString())
		}
		out[strings.Join(key, "/")] += dp.Value
	}
	return out
}

// allStrings collects every string of a value, inside maps and slices, with the attribute names too.
func allStrings(m map[string]any) []string {
	var out []string
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case string:
			out = append(out, x)
		case map[string]any:
			for k, inner := range x {
				out = append(out, k)
				walk(inner)
			}
		case []any:
			for _, inner := range x {
				walk(inner)
			}
		}
	}
	walk(m)
	return out
}

// The real events of a Backstage app, in every wire format the receiver takes: after the processor, no value
// names the user, and every event carries the user's pseudonym.
func TestSamplesLeakNoIdentity(t *testing.T) {
	h := start(t, testConfig())
	occs, err := backstagesamples.AnalyticsEvents()
	require.NoError(t, err)
	for i := range occs {
		if occs[i].User == "" {
			occs[i].User = "user:development/guest"
		}
	}
	want := h.keys.Of("user:development/guest")
	received := time.Date(2026, 11, 25, 20, 0, 0, 0, time.UTC)
	opts := &normalize.Options{MaxEventAge: 30 * 24 * time.Hour}
	formats := map[string]func() plog.Logs{
		"otlp": func() plog.Logs {
			ld := wireformat.OTLP(occs)
			normalize.OTLP(ld, opts, &normalize.Request{Received: received})
			return ld
		},
	}
	for _, f := range []wireformat.Format{wireformat.FormatEvents, wireformat.FormatGeneric, wireformat.FormatSegment} {
		formats[string(f)] = func() plog.Logs {
			body, err := wireformat.Encode(f, occs)
			require.NoError(t, err)
			decode := func(body []byte, opts *normalize.Options, req *normalize.Request) (normalize.Result, error) {
				return normalize.Segment(body, normalize.SegmentBatch, opts, req)
			}
			if f != wireformat.FormatSegment {
				decode = normalize.AnalyticsEvents
			}
			res, err := decode(body, opts, &normalize.Request{Received: received})
			require.NoError(t, err)
			require.Empty(t, res.Rejected)
			return res.Logs
		}
	}
	for name, logs := range formats {
		t.Run(name, func(t *testing.T) {
			out := h.process(t, logs())
			require.Len(t, out, len(occs))
			for _, lr := range out {
				attrs := lr.Attributes().AsRaw()
				for _, s := range allStrings(attrs) {
					assert.NotContains(t, strings.ToLower(s), "guest", "%s: %v", lr.EventName(), attrs)
				}
				assert.Equal(t, want, attrs[semconv.AttrUserHash])
				assert.NotContains(t, attrs, semconv.AttrUserID)
				if attrs[semconv.AttrAction] == semconv.ActionSearch {
					assert.Contains(t, []any{"example", "website"}, attrs[semconv.AttrSubject], "search terms without personal data are kept")
				}
				if s, _ := attrs[semconv.AttrSubject].(string); strings.HasPrefix(s, "/search") {
					assert.Equal(t, "/search", s, "the query string is removed")
				}
			}
		})
	}
}

func TestFieldRules(t *testing.T) {
	h := start(t, testConfig(func(c *Config) {
		c.Rules = []Rule{
			{Name: "tickets", Pattern: `^backstage\.attributes\.ticket`, Action: ActionRedact},
			{Attribute: "backstage.attributes.team_email", Action: ActionDrop},
			{Attribute: "backstage.attributes.employee_no", Action: ActionHash},
			{Attribute: "backstage.attributes.note", Action: ActionKeep},
		}
	}))
	got := h.one(t, "backstage.click", map[string]any{
		semconv.AttrUserID: "user:default/jdoe", "backstage.attributes.ticket_id": "INC-1234",
		"backstage.attributes.team_email": "team@example.com", "backstage.attributes.employee_no": "E-42",
		"backstage.attributes.note": "mail jdoe@example.com", "backstage.attributes.other": "mail jdoe@example.com",
	})
	assert.Equal(t, RedactedValue, got["backstage.attributes.ticket_id"])
	assert.NotContains(t, got, "backstage.attributes.team_email")
	assert.Equal(t, h.keys.Of("E-42"), got["backstage.attributes.employee_no"])
	assert.Equal(t, "mail jdoe@example.com", got["backstage.attributes.note"], "keep: no default treatment")
	assert.Equal(t, "mail [email]", got["backstage.attributes.other"])
	assert.Equal(t, map[string]int64{
		"redact/tickets": 1, "drop/backstage.attributes.team_email": 1, "hash/backstage.attributes.employee_no": 1,
		"keep/backstage.attributes.note": 1, "hash/user_id": 1, "scrub/free_text": 1,
	}, counts(t, h.tel, "otelcol_processor_anonymization_fields", "action", "rule"))
}

// Every Backstage field that leaks identity (research/backstage.md §1.7), with its default treatment.
func TestDefaultTreatments(t *testing.T) {
	h := start(t, testConfig())
	jdoe := h.keys.Of("user:default/jdoe")
	for _, tc := range []struct {
		name  string
		event string
		in    map[string]any
		want  map[string]any
	}{
		{"user id", "backstage.navigate", map[string]any{semconv.AttrUserID: "User:Default/JDoe"},
			map[string]any{semconv.AttrUserHash: jdoe}},
		{"navigate to a user's page", "backstage.navigate", map[string]any{semconv.AttrSubject: "/catalog/default/user/jdoe",
			"backstage.attributes.kind": "user", "backstage.attributes.namespace": "default", "backstage.attributes.name": "jdoe",
			semconv.AttrEntityRef: "user:default/jdoe", semconv.AttrEntityKind: "user"},
			map[string]any{semconv.AttrSubject: "/catalog/default/user/" + jdoe, "backstage.attributes.kind": "user",
				"backstage.attributes.namespace": "default", "backstage.attributes.name": jdoe,
				semconv.AttrEntityRef: "user:default/" + jdoe, semconv.AttrEntityKind: "user"}},
		{"a component page is kept", "backstage.navigate", map[string]any{semconv.AttrSubject: "/catalog/default/component/jdoe",
			"backstage.attributes.kind": "component", "backstage.attributes.name": "jdoe", semconv.AttrEntityRef: "component:default/jdoe"},
			map[string]any{semconv.AttrSubject: "/catalog/default/component/jdoe", "backstage.attributes.kind": "component",
				"backstage.attributes.name": "jdoe", semconv.AttrEntityRef: "component:default/jdoe"}},
		{"click to a user page", "backstage.click", map[string]any{semconv.AttrSubject: "Jane Doe", "backstage.attributes.to": "/catalog/default/user/jdoe"},
			map[string]any{semconv.AttrSubject: "Jane Doe", "backstage.attributes.to": "/catalog/default/user/" + jdoe}},
		{"query string and href", "backstage.navigate", map[string]any{semconv.AttrSubject: "/search?query=jdoe&filters%5Bkind%5D=user",
			semconv.AttrURLFull: "https://backstage.example.com/catalog?filters%5Buser%5D=owned&token=abc#x"},
			map[string]any{semconv.AttrSubject: "/search?filters%5Bkind%5D=user",
				semconv.AttrURLFull: "https://backstage.example.com/catalog?filters%5Buser%5D=owned"}},
		{"e-mail typed into search", "backstage.search", map[string]any{semconv.AttrSubject: "jane.doe@example.com", semconv.AttrAction: "search"},
			map[string]any{semconv.AttrSubject: "[email]", semconv.AttrAction: "search"}},
		{"client address and user agent", "backstage.navigate", map[string]any{semconv.AttrClientAddress: "198.51.100.23",
			semconv.AttrUserAgent: "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"},
			map[string]any{semconv.AttrClientAddress: "198.51.100.0", semconv.AttrUserAgent: "Firefox 133 (Linux)"}},
		{"anonymous id", "backstage.navigate", map[string]any{semconv.AttrEnduserPseudoID: "device-7f3a"},
			map[string]any{semconv.AttrEnduserPseudoID: h.keys.Of("device-7f3a")}},
		{"unsalted hash from the adoption-insights module", "backstage.navigate",
			map[string]any{semconv.AttrUserHash: "6a0c1c1f6b5c8a1e7f0d9b5e0a6c3d2e1f4b7a8c9d0e1f2a3b4c5d6e7f8a9b0c"},
			map[string]any{semconv.AttrUserHash: h.keys.Of("6a0c1c1f6b5c8a1e7f0d9b5e0a6c3d2e1f4b7a8c9d0e1f2a3b4c5d6e7f8a9b0c")}},
		{"audit actor and meta", "backstage.audit.catalog.entity-fetch", map[string]any{semconv.AttrAuditActor: "user:default/jdoe",
			"backstage.audit.meta.entityRefs": []any{"user:default/jdoe", "group:default/team-a"}},
			map[string]any{semconv.AttrAuditActor: "user:default/" + jdoe,
				"backstage.audit.meta.entityRefs": []any{"user:default/" + jdoe, "group:default/team-a"}}},
		{"context keys", "backstage.click", map[string]any{"backstage.context.userName": "user:default/jdoe", "backstage.context.pluginId": "catalog"},
			map[string]any{"backstage.context.userName": "user:default/" + jdoe, "backstage.context.pluginId": "catalog"}},
		{"identify traits", "backstage.identify", map[string]any{semconv.AttrUserID: "jdoe", "backstage.attributes.email": "jdoe@example.com",
			"backstage.attributes.name": "Jane Doe"},
			map[string]any{semconv.AttrUserHash: jdoe}},
		{"personal attributes", "backstage.click", map[string]any{"user.email": "jdoe@example.com", "user.name": "jdoe", "user.full_name": "Jane Doe"},
			map[string]any{}},
		{"pseudonyms of ours pass unchanged", "backstage.click", map[string]any{semconv.AttrUserHash: jdoe, semconv.AttrEntityRef: "user:default/" + jdoe},
			map[string]any{semconv.AttrUserHash: jdoe, semconv.AttrEntityRef: "user:default/" + jdoe}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, h.one(t, tc.event, tc.in))
		})
	}
}

func TestPolicies(t *testing.T) {
	search := map[string]any{semconv.AttrAction: "search", semconv.AttrSubject: "Kafka jdoe@example.com"}
	for _, tc := range []struct {
		name   string
		mutate func(*Config)
		in     map[string]any
		want   map[string]any
	}{
		{"search terms kept", func(c *Config) { c.SearchTerms = ActionKeep }, search, search},
		{"search terms dropped", func(c *Config) { c.SearchTerms = ActionDrop }, search, map[string]any{semconv.AttrAction: "search"}},
		{"client address dropped", func(c *Config) { c.ClientAddress = ActionDrop },
			map[string]any{semconv.AttrClientAddress: "2001:db8:abcd:12::1"}, map[string]any{}},
		{"client address kept (permissive)", func(c *Config) { c.Mode, c.ClientAddress = ModePermissive, ActionKeep },
			map[string]any{semconv.AttrClientAddress: "2001:db8:abcd:12::1"}, map[string]any{semconv.AttrClientAddress: "2001:db8:abcd:12::1"}},
		{"not an IP: dropped", nil, map[string]any{semconv.AttrClientAddress: "unknown"}, map[string]any{}},
		{"free text kept", func(c *Config) { c.FreeText = ActionKeep }, map[string]any{semconv.AttrURLFull: "/x?q=jdoe@example.com"},
			map[string]any{semconv.AttrURLFull: "/x?q=jdoe@example.com"}},
		{"user agent dropped", func(c *Config) { c.UserAgent = ActionDrop }, map[string]any{semconv.AttrUserAgent: "curl/8.5.0"}, map[string]any{}},
		{"user agent kept", func(c *Config) { c.UserAgent = ActionKeep }, map[string]any{semconv.AttrUserAgent: "curl/8.5.0"},
			map[string]any{semconv.AttrUserAgent: "curl/8.5.0"}},
		{"traits kept by name", func(c *Config) { c.KeepTraits = []string{"department"} },
			map[string]any{"backstage.attributes.department": "R&D", "backstage.attributes.email": "x@example.com"},
			map[string]any{"backstage.attributes.department": "R&D"}},
		{"user id kept (permissive)", func(c *Config) {
			c.Mode, c.Rules = ModePermissive, []Rule{{Attribute: semconv.AttrUserID, Action: ActionKeep}}
		},
			map[string]any{semconv.AttrUserID: "user:default/jdoe"}, map[string]any{semconv.AttrUserID: "user:default/jdoe"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig()
			if tc.mutate != nil {
				tc.mutate(cfg)
			}
			h := start(t, cfg)
			name := "backstage.search"
			if _, traits := tc.in["backstage.attributes.department"]; traits {
				name = "backstage.identify"
			}
			assert.Equal(t, tc.want, h.one(t, name, tc.in))
		})
	}

	h := start(t, testConfig(func(c *Config) { c.SearchTerms = ActionHash }))
	got := h.one(t, "backstage.search", search)
	assert.Equal(t, h.keys.Of(searchTermDomain+"kafka jdoe@example.com"), got[semconv.AttrSubject])
	assert.NotEqual(t, h.keys.Of("jdoe"), h.one(t, "backstage.search", map[string]any{semconv.AttrAction: "search", semconv.AttrSubject: "jdoe"})[semconv.AttrSubject],
		"a term does not hash to the pseudonym of the user of that name")
}

// A record whose user field cannot be pseudonymised is dropped, never passed on; the others proceed.
func TestFailClosed(t *testing.T) {
	h := start(t, testConfig())
	ld := plog.NewLogs()
	records := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	for _, user := range []any{"user:default/jdoe", int64(42), "  ", map[string]any{"id": "jdoe"}, "user:default/ana"} {
		lr := records.AppendEmpty()
		lr.SetEventName("backstage.click")
		require.NoError(t, lr.Attributes().FromRaw(map[string]any{semconv.AttrUserID: user}))
	}
	out := h.process(t, ld)
	require.Len(t, out, 2)
	for _, lr := range out {
		_, plain := lr.Attributes().Get(semconv.AttrUserID)
		assert.False(t, plain)
	}
	assert.Equal(t, map[string]int64{"passed": 2, "invalid_user": 3}, counts(t, h.tel, "otelcol_processor_anonymization_records", "outcome"))

	// A batch with nothing left is not passed on at all.
	h.sink.Reset()
	require.NoError(t, h.logs.ConsumeLogs(context.Background(), event(t, "backstage.click", map[string]any{semconv.AttrUserID: int64(1)})))
	assert.Zero(t, h.sink.LogRecordCount())
}

func TestTraces(t *testing.T) {
	h := start(t, testConfig())
	td, err := backstagesamples.BackendTraces()
	require.NoError(t, err)
	span := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().AppendEmpty()
	require.NoError(t, span.Attributes().FromRaw(map[string]any{attrEnduserID: "user:development/guest", attrURLQuery: "q=guest",
		semconv.AttrClientAddress: "2001:db8:abcd:12::1"}))
	require.NoError(t, h.traces.ConsumeTraces(context.Background(), td))
	got := h.spans.AllTraces()[0]
	require.Equal(t, td.SpanCount(), got.SpanCount())
	guest := h.keys.Of("user:development/guest")
	for _, rs := range got.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			for _, span := range ss.Spans().All() {
				attrs := span.Attributes().AsRaw()
				for _, s := range allStrings(attrs) {
					assert.NotContains(t, s, "guest", "%s: %v", span.Name(), attrs)
				}
				if path, ok := attrs[semconv.AttrURLPath].(string); ok && strings.Contains(path, "by-name") {
					assert.Equal(t, "/api/catalog/entities/by-name/user/development/"+guest, path)
				}
				if addr, ok := attrs[semconv.AttrClientAddress]; ok {
					assert.Contains(t, []any{"127.0.0.0", "2001:db8:abcd::"}, addr)
				}
				if _, ok := attrs[attrEnduserID]; ok || attrs[semconv.AttrUserHash] != nil {
					assert.Equal(t, guest, attrs[semconv.AttrUserHash])
				}
			}
		}
	}
}

func TestOptOutListIsReloaded(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "opt-out.txt")
	cfg := testConfig(func(c *Config) { c.Consent = ConsentConfig{OptOutFile: file, ReloadInterval: 10 * time.Millisecond} })
	keys, err := cfg.keyring()
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(file, []byte("# opted out\nuser:default/jdoe\n\n"+keys.Of("user:default/bo")+"\n"), 0o600))
	h := start(t, cfg)

	users := func() []string {
		ld := plog.NewLogs()
		records := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
		for _, u := range []string{"JDoe", "user:default/ana", "user:default/bo", "user:default/cy"} {
			lr := records.AppendEmpty()
			lr.SetEventName("backstage.click")
			lr.Attributes().PutStr(semconv.AttrUserID, u)
		}
		var out []string
		for _, lr := range h.process(t, ld) {
			v, _ := lr.Attributes().Get(semconv.AttrUserHash)
			out = append(out, v.Str())
		}
		return out
	}
	assert.Equal(t, []string{keys.Of("ana"), keys.Of("cy")}, users(), "plain refs and pseudonyms both opt out")
	assert.Equal(t, map[string]int64{"passed": 2, "opted_out": 2}, counts(t, h.tel, "otelcol_processor_anonymization_records", "outcome"))

	require.NoError(t, os.WriteFile(file, []byte("user:default/cy\n"), 0o600))
	assert.Eventually(t, func() bool { return len(users()) == 3 }, 5*time.Second, 20*time.Millisecond, "the list is read again")
	assert.Equal(t, []string{keys.Of("jdoe"), keys.Of("ana"), keys.Of("bo")}, users())

	require.NoError(t, os.Remove(file))
	assert.Eventually(t, func() bool { return len(users()) == 4 }, 5*time.Second, 20*time.Millisecond, "no file, nobody opted out")
}

// The same user gets the same pseudonym after a restart and on another replica with the same key, and an
// unrelated one under another key; after a rotation the old key's pseudonyms still opt out and pass unchanged.
func TestPseudonymsAcrossInstancesAndRotation(t *testing.T) {
	hashOf := func(cfg *Config, user string) string {
		h := start(t, cfg)
		return h.one(t, "backstage.click", map[string]any{semconv.AttrUserID: user})[semconv.AttrUserHash].(string)
	}
	first := hashOf(testConfig(), "user:default/jdoe")
	assert.Equal(t, first, hashOf(testConfig(), "jdoe"))
	other := testConfig(func(c *Config) { c.Keys = []KeyConfig{{ID: "k1", Secret: "another-secret-another-secret-0123"}} })
	assert.NotEqual(t, first, hashOf(other, "jdoe"))

	file := filepath.Join(t.TempDir(), "opt-out.txt")
	require.NoError(t, os.WriteFile(file, []byte(first+"\n"), 0o600)) // a k1 pseudonym
	rotated := testConfig(func(c *Config) {
		c.Keys = append(c.Keys, KeyConfig{ID: "k2", Secret: configopaque.String(strings.Repeat("z", 32))})
		c.ActiveKey = "k2"
		c.Consent = ConsentConfig{OptOutFile: file, ReloadInterval: time.Hour}
	})
	h := start(t, rotated)
	assert.Empty(t, h.process(t, event(t, "backstage.click", map[string]any{semconv.AttrUserID: "jdoe"})), "opted out under the old key")
	got := h.one(t, "backstage.click", map[string]any{semconv.AttrUserID: "ana"})[semconv.AttrUserHash].(string)
	assert.True(t, strings.HasPrefix(got, "k2."), got)
	old := pseudonym.Key{ID: "k1", Secret: []byte(testSecret)}
	oldRing, err := pseudonym.NewKeyring([]pseudonym.Key{old}, "k1")
	require.NoError(t, err)
	assert.Equal(t, oldRing.Of("bo"), h.one(t, "backstage.click", map[string]any{semconv.AttrUserHash: oldRing.Of("bo")})[semconv.AttrUserHash],
		"a pseudonym of an older key passes unchanged")
}

func TestKeyFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "data", "anonymization.key")
	cfg := testConfig(func(c *Config) { c.Keys, c.KeyFile = nil, file })
	_, err := NewFactory().CreateLogs(context.Background(), processortest.NewNopSettings(metadata.Type), cfg, consumertest.NewNop())
	require.NoError(t, err)
	assert.NoFileExists(t, file, "creating the processor (otelcol validate) writes nothing")
	first := start(t, cfg).one(t, "backstage.click", map[string]any{semconv.AttrUserID: "jdoe"})[semconv.AttrUserHash]
	info, err := os.Stat(file)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())
	assert.Equal(t, first, start(t, cfg).one(t, "backstage.click", map[string]any{semconv.AttrUserID: "jdoe"})[semconv.AttrUserHash],
		"the generated key is reused")

	require.NoError(t, os.WriteFile(file, []byte("k1 c2hvcnQ=\n"), 0o600))
	p, err := NewFactory().CreateLogs(context.Background(), processortest.NewNopSettings(metadata.Type), cfg, consumertest.NewNop())
	require.NoError(t, err)
	require.ErrorContains(t, p.Start(context.Background(), componenttest.NewNopHost()), "the secret has 5 bytes, want at least 32")
}
