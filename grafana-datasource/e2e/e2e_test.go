// Package e2e runs the data source as Grafana does — the built plugin binary, started through go-plugin with
// Grafana's handshake, called over gRPC — against a real collector seeded by the simulator on loopback.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/backend/grpcplugin"
	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/grafana/grafana-plugin-sdk-go/genproto/pluginv2"
	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	adminToken  = "dev-admin-token-0123456789" // config/insights.yaml's development defaults
	grafanaTok  = "dev-grafana-token-0123456789"
	senderToken = "dev-insights-token"
)

// build compiles a command of a module into dir, with the flags `make` uses (the build cache is shared).
func build(t *testing.T, moduleDir, pkg, out string, cgo bool) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), out)
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, pkg)
	cmd.Dir = moduleDir
	cmd.Env = append(os.Environ(), fmt.Sprintf("CGO_ENABLED=%d", map[bool]int{true: 1, false: 0}[cgo]))
	output, err := cmd.CombinedOutput()
	require.NoError(t, err, "go build %s: %s", pkg, output)
	return bin
}

func freeAddress(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().String()
}

// world is what the collector is started with and seeded by.
type world struct {
	days, users, teams int
	// catalog: the simulator also serves its organisation as a Backstage catalog, which the collector syncs
	// (config/catalog.yaml) for the team metrics.
	catalog bool
	// experiments, when set, is the cohort processor's experiments file.
	experiments string
	// set are the collector's --set options (key::key=value).
	set []string
	// scenarios are the simulator's scenario flags (-collapse search@20, …).
	scenarios []string
}

// startCollector runs otelcol-insights on config/insights.yaml with free loopback ports and a temporary store,
// and backfills two weeks of a simulated organisation through its Backstage receiver.
func startCollector(t *testing.T, repo string) (queryAPI string) {
	t.Helper()
	queryAPI, _ = startWorld(t, repo, world{days: 14, users: 60, teams: 4})
	return queryAPI
}

// startWorld runs the collector for a world and backfills its history (events, and the backend's telemetry
// through the OTLP receiver); live sends a few seconds of current traffic.
func startWorld(t *testing.T, repo string, w world) (queryAPI string, live func()) {
	t.Helper()
	collector := build(t, repo, "./cmd/otelcol-insights", "otelcol-insights", true)
	sim := build(t, repo, "./cmd/backstage-sim", "backstage-sim", true)
	receiver, health, otlp := freeAddress(t), freeAddress(t), freeAddress(t)
	queryAPI = freeAddress(t)
	people := []string{"-users", fmt.Sprint(w.users), "-teams", fmt.Sprint(w.teams)}
	// Its own telemetry off: the default Prometheus port (8888) may be another collector's.
	args := []string{"--config", filepath.Join("config", "insights.yaml"), "--set=service.telemetry.metrics.level=none"}
	env := append(os.Environ(), "INSIGHTS_ENDPOINT="+receiver, "INSIGHTS_OTLP_ENDPOINT="+otlp, "INSIGHTS_HEALTH_ENDPOINT="+health,
		"INSIGHTS_QUERY_ENDPOINT="+queryAPI, "INSIGHTS_DATA_DIR="+t.TempDir(),
		fmt.Sprintf("INSIGHTS_MAX_EVENT_AGE=%dh", (w.days+1)*24)) // keep the backfilled events' own times
	for _, option := range w.set {
		args = append(args, "--set="+option)
	}
	if w.catalog {
		catalog := freeAddress(t)
		serve := exec.Command(sim, append([]string{"-mode", "catalog", "-catalog-addr", catalog}, people...)...)
		require.NoError(t, serve.Start())
		t.Cleanup(func() { _ = serve.Process.Kill(); _ = serve.Wait() })
		args = append(args, "--config", filepath.Join("config", "catalog.yaml"))
		env = append(env, "INSIGHTS_CATALOG_ENDPOINT=http://"+catalog, "INSIGHTS_CATALOG_WAIT=60s")
	}
	if w.experiments != "" {
		file := filepath.Join(t.TempDir(), "experiments.yaml")
		require.NoError(t, os.WriteFile(file, []byte(w.experiments), 0o600))
		env = append(env, "INSIGHTS_EXPERIMENTS_FILE="+file)
	}
	cmd := exec.Command(collector, args...)
	cmd.Dir = repo
	cmd.Env = env
	output := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = output, output
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the collector's output:\n%s", output)
		}
	})
	require.Eventually(t, func() bool {
		resp, err := http.Get("http://" + health + "/")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 90*time.Second, 100*time.Millisecond, "the collector did not become healthy:\n%s", output)
	send := append([]string{"-endpoint", "http://" + receiver, "-token", senderToken, "-progress", "0", "-otlp-endpoint", "http://" + otlp}, people...)
	seed := exec.Command(sim, append(append([]string{"-days", fmt.Sprint(w.days)}, w.scenarios...), send...)...)
	out, err := seed.CombinedOutput()
	require.NoError(t, err, "backstage-sim: %s", out)
	require.Eventually(t, func() bool { // the exporter flushes within seconds
		return len(apiQuery(t, queryAPI, `{"metric":"plugin_adoption","from":"now-30d","to":"now"}`).Rows) > 0
	}, 30*time.Second, 200*time.Millisecond, "the store holds no events:\n%s", output)
	live = func() {
		traffic := exec.Command(sim, append([]string{"-mode", "live", "-rate", "200", "-duration", "3s"}, send...)...)
		out, err := traffic.CombinedOutput()
		require.NoError(t, err, "backstage-sim live: %s", out)
	}
	return queryAPI, live
}

type result struct {
	Columns []struct{ Name string } `json:"columns"`
	Rows    [][]any                 `json:"rows"`
}

// syncBuffer collects a process's output while it runs.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// apiQuery asks the query API directly: the values the plugin's frames must hold.
func apiQuery(t *testing.T, queryAPI, body string) result {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, "http://"+queryAPI+"/api/v1/query", strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(raw))
	var r result
	require.NoError(t, json.Unmarshal(raw, &r))
	return r
}

// plugin is the data source binary, started as Grafana starts it.
type plugin struct {
	data        grpcplugin.DataClient
	diagnostics grpcplugin.DiagnosticsClient
	resource    grpcplugin.ResourceClient
	stream      grpcplugin.StreamClient
}

func startPlugin(t *testing.T, bin string) plugin {
	t.Helper()
	client := goplugin.NewClient(&goplugin.ClientConfig{
		HandshakeConfig: goplugin.HandshakeConfig{ProtocolVersion: grpcplugin.ProtocolVersion,
			MagicCookieKey: grpcplugin.MagicCookieKey, MagicCookieValue: grpcplugin.MagicCookieValue},
		VersionedPlugins: map[int]goplugin.PluginSet{grpcplugin.ProtocolVersion: {
			"diagnostics": &grpcplugin.DiagnosticsGRPCPlugin{}, "resource": &grpcplugin.ResourceGRPCPlugin{},
			"data": &grpcplugin.DataGRPCPlugin{}, "stream": &grpcplugin.StreamGRPCPlugin{}}},
		Cmd: exec.Command(bin), AllowedProtocols: []goplugin.Protocol{goplugin.ProtocolGRPC}, Stderr: io.Discard,
		Logger: hclog.New(&hclog.LoggerOptions{Level: hclog.Warn, Output: io.Discard}),
	})
	t.Cleanup(client.Kill)
	rpc, err := client.Client()
	require.NoError(t, err)
	var p plugin
	for name, target := range map[string]any{"data": &p.data, "diagnostics": &p.diagnostics, "resource": &p.resource, "stream": &p.stream} {
		raw, err := rpc.Dispense(name)
		require.NoError(t, err, name)
		switch v := target.(type) {
		case *grpcplugin.DataClient:
			*v = raw.(grpcplugin.DataClient)
		case *grpcplugin.DiagnosticsClient:
			*v = raw.(grpcplugin.DiagnosticsClient)
		case *grpcplugin.ResourceClient:
			*v = raw.(grpcplugin.ResourceClient)
		case *grpcplugin.StreamClient:
			*v = raw.(grpcplugin.StreamClient)
		}
	}
	return p
}

func pluginContext(url, token string) backend.PluginContext {
	return backend.PluginContext{OrgID: 1, PluginID: "insights-collector-datasource", DataSourceInstanceSettings: &backend.DataSourceInstanceSettings{
		ID: 1, UID: "insights", Name: "Insights", URL: url, JSONData: []byte(`{}`), Updated: time.Unix(1, 0),
		DecryptedSecureJSONData: map[string]string{"token": token}}}
}

func TestThePluginAgainstACollector(t *testing.T) {
	repo, err := filepath.Abs("../..")
	require.NoError(t, err)
	bin := os.Getenv("PLUGIN_BIN") // make test-datasource builds it; a plain go test builds its own
	if bin == "" {
		bin = build(t, "..", "./pkg", "gpx_insights", false)
	}
	queryAPI := startCollector(t, repo)
	p := startPlugin(t, bin)
	ctx := context.Background()
	pc := backend.ToProto().PluginContext(pluginContext("http://"+queryAPI, grafanaTok))

	t.Run("health", func(t *testing.T) {
		res, err := p.diagnostics.CheckHealth(ctx, &pluginv2.CheckHealthRequest{PluginContext: pc})
		require.NoError(t, err)
		assert.Equal(t, pluginv2.CheckHealthResponse_OK, res.Status, res.Message)
		assert.Contains(t, res.Message, "Connected to the collector's query API")
		bad := backend.ToProto().PluginContext(pluginContext("http://"+queryAPI, "not-the-token-0123456789"))
		bad.DataSourceInstanceSettings.Uid = "other"
		res, err = p.diagnostics.CheckHealth(ctx, &pluginv2.CheckHealthRequest{PluginContext: bad})
		require.NoError(t, err)
		assert.Equal(t, pluginv2.CheckHealthResponse_ERROR, res.Status)
		assert.Contains(t, res.Message, "refused the token")
	})

	now := time.Now().UTC().Truncate(time.Hour)
	from, to := now.AddDate(0, 0, -14), now
	query := func(refID, metric, model string) backend.DataQuery {
		return backend.DataQuery{RefID: refID, QueryType: metric, JSON: []byte(model), Interval: 2 * time.Hour, // auto: days
			TimeRange: backend.TimeRange{From: from, To: to}, MaxDataPoints: 500}
	}
	t.Run("query", func(t *testing.T) {
		req := &backend.QueryDataRequest{PluginContext: pluginContext("http://"+queryAPI, grafanaTok), Queries: []backend.DataQuery{
			query("dau", "active_users", `{"interval": "auto"}`),
			query("plugins", "plugin_adoption", `{}`),
			query("byplugin", "active_users", `{"interval": "day", "groupBy": ["plugin"]}`),
			query("bad", "revenue", `{}`),
		}}
		raw, err := p.data.QueryData(ctx, backend.ToProto().QueryDataRequest(req))
		require.NoError(t, err)
		resp, err := backend.FromProto().QueryDataResponse(raw)
		require.NoError(t, err)

		// DAU per day, as the query API gives it.
		direct := apiQuery(t, queryAPI, fmt.Sprintf(`{"metric":"active_users","interval":"day","from":%q,"to":%q,"timezone":"UTC"}`,
			from.Format(time.RFC3339), to.Format(time.RFC3339)))
		dau := resp.Responses["dau"]
		require.NoError(t, dau.Error)
		frame := dau.Frames[0]
		assert.Equal(t, data.FrameTypeTimeSeriesWide, frame.Meta.Type)
		users, _ := frame.FieldByName("active_users")
		require.NotNil(t, users)
		require.Equal(t, len(direct.Rows), users.Len())
		for i, row := range direct.Rows {
			assert.Equal(t, row[1], *users.At(i).(*float64), "day %d", i)
		}

		// Plugin adoption as a table.
		plugins := resp.Responses["plugins"]
		require.NoError(t, plugins.Error)
		directPlugins := apiQuery(t, queryAPI, fmt.Sprintf(`{"metric":"plugin_adoption","from":%q,"to":%q,"timezone":"UTC"}`,
			from.Format(time.RFC3339), to.Format(time.RFC3339)))
		names, _ := plugins.Frames[0].FieldByName("plugin")
		require.NotNil(t, names)
		require.Equal(t, len(directPlugins.Rows), names.Len())
		for i, row := range directPlugins.Rows {
			assert.Equal(t, row[0], *names.At(i).(*string))
		}
		share, _ := plugins.Frames[0].FieldByName("share")
		assert.Equal(t, "percentunit", share.Config.Unit)

		// Per plugin: a wide frame, a field per plugin.
		byPlugin := resp.Responses["byplugin"]
		require.NoError(t, byPlugin.Error)
		assert.Greater(t, len(byPlugin.Frames[0].Fields), 3, "time and a field per plugin")
		assert.NotEmpty(t, byPlugin.Frames[0].Fields[1].Labels["plugin"])

		// The bad query fails alone, in words.
		require.Error(t, resp.Responses["bad"].Error)
		assert.Contains(t, resp.Responses["bad"].Error.Error(), `unknown metric "revenue"`)
	})

	t.Run("resources", func(t *testing.T) {
		call := func(path string) *pluginv2.CallResourceResponse {
			stream, err := p.resource.CallResource(ctx, backend.ToProto().CallResourceRequest(&backend.CallResourceRequest{
				PluginContext: pluginContext("http://"+queryAPI, grafanaTok), Path: path, Method: http.MethodGet, URL: path}))
			require.NoError(t, err)
			res, err := stream.Recv()
			require.NoError(t, err)
			return res
		}
		metrics := call("metrics")
		assert.Equal(t, int32(http.StatusOK), metrics.Code)
		assert.Contains(t, string(metrics.Body), `"recommendations"`)
		values := call("values/plugin")
		assert.Equal(t, int32(http.StatusOK), values.Code)
		var options []struct{ Text, Value string }
		require.NoError(t, json.Unmarshal(values.Body, &options))
		assert.Contains(t, options, struct{ Text, Value string }{"catalog", "catalog"})
		experiments := call("values/experiment")
		assert.Equal(t, int32(http.StatusOK), experiments.Code, string(experiments.Body))
		assert.JSONEq(t, `[]`, string(experiments.Body), "the simulated organisation runs no experiment")
	})

	t.Run("live stream", func(t *testing.T) {
		pc := backend.ToProto().PluginContext(pluginContext("http://"+queryAPI, grafanaTok))
		sub, err := p.stream.SubscribeStream(ctx, &pluginv2.SubscribeStreamRequest{PluginContext: pc, Path: "live"})
		require.NoError(t, err)
		assert.Equal(t, pluginv2.SubscribeStreamResponse_OK, sub.Status)
		streamCtx, cancel := context.WithTimeout(ctx, 30*time.Second) // a first frame comes at once
		defer cancel()
		packets, err := p.stream.RunStream(streamCtx, &pluginv2.RunStreamRequest{PluginContext: pc, Path: "live"})
		require.NoError(t, err)
		packet, err := packets.Recv()
		require.NoError(t, err)
		var frame data.Frame
		require.NoError(t, json.Unmarshal(packet.Data, &frame))
		events, _ := frame.FieldByName("events")
		require.NotNil(t, events)
		direct := apiQuery(t, queryAPI, `{"metric":"live"}`)
		assert.Equal(t, direct.Rows[0][1], events.At(0), "the collector's live numbers (nothing is sent meanwhile)")
	})
}
