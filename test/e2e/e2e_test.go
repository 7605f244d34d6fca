// Package e2e tests the built otelcol-insights binary as a user meets it: the README's commands against the
// default configuration, over loopback, and a crash in the middle of ingest.
package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/insights-collector/insights-collector/internal/loopback"
)

// repoRoot is the repository root, relative to this package.
var repoRoot = filepath.Join("..", "..")

var (
	buildOnce sync.Once
	binary    string
	buildErr  error
	buildDir  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		_ = os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// buildBinary compiles the collector once, the way `make build` does (same flags: the build cache is shared).
func buildBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		if buildDir, buildErr = os.MkdirTemp("", "insights-e2e-"); buildErr != nil {
			return
		}
		binary = filepath.Join(buildDir, "otelcol-insights")
		cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", binary, "./cmd/otelcol-insights")
		cmd.Dir = repoRoot
		cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("%w: %s", err, out)
		}
	})
	require.NoError(t, buildErr)
	return binary
}

func freeAddress(t *testing.T) string {
	t.Helper()
	addr, err := loopback.FreeAddress()
	require.NoError(t, err)
	return addr
}

// syncBuffer collects the collector's output while it runs.
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

// collector is otelcol-insights running on config/insights.yaml, as `make run` starts it, on free ports.
type collector struct {
	receiver, queryAPI string
	output             *syncBuffer
	cmd                *exec.Cmd
	exited             chan error
}

const adminToken = "dev-admin-token-0123456789" // config/insights.yaml's development default

func startCollector(t *testing.T, dataDir string, env ...string) *collector {
	t.Helper()
	return startCollectorWith(t, dataDir, []string{"insights.yaml"}, env...)
}

// startCollectorWith starts it on configuration files of config/, merged in order.
func startCollectorWith(t *testing.T, dataDir string, configs []string, env ...string) *collector {
	t.Helper()
	c := &collector{receiver: freeAddress(t), queryAPI: freeAddress(t), output: &syncBuffer{}, exited: make(chan error, 1)}
	health := freeAddress(t)
	var args []string
	for _, name := range configs {
		args = append(args, "--config", filepath.Join("config", name))
	}
	c.cmd = exec.Command(buildBinary(t), args...)
	c.cmd.Dir = repoRoot
	c.cmd.Env = append(append(os.Environ(), "INSIGHTS_ENDPOINT="+c.receiver, "INSIGHTS_OTLP_ENDPOINT="+freeAddress(t),
		"INSIGHTS_HEALTH_ENDPOINT="+health, "INSIGHTS_QUERY_ENDPOINT="+c.queryAPI, "INSIGHTS_DATA_DIR="+dataDir), env...)
	c.cmd.Stdout, c.cmd.Stderr = c.output, c.output
	require.NoError(t, c.cmd.Start())
	go func() { c.exited <- c.cmd.Wait() }()
	t.Cleanup(func() { _ = c.cmd.Process.Kill() })
	healthy := assert.Eventually(t, func() bool {
		resp, err := http.Get("http://" + health + "/")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 90*time.Second, 100*time.Millisecond)
	if !healthy { // the output as it is now, not as it was when the wait began
		t.Fatalf("the collector did not become healthy:\n%s", c.output.String())
	}
	return c
}

// stop ends the collector with SIGTERM and expects a clean exit.
func (c *collector) stop(t *testing.T) {
	t.Helper()
	require.NoError(t, c.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case err := <-c.exited:
		assert.NoError(t, err, "a clean shutdown on SIGTERM:\n%s", c.output.String())
	case <-time.After(30 * time.Second):
		t.Fatal("the collector did not stop within 30s of SIGTERM")
	}
}

// query asks the query API with the admin token.
func (c *collector) query(t *testing.T, body string) map[string]any {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, "http://"+c.queryAPI+"/api/v1/query", strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var out map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	require.Equal(t, http.StatusOK, resp.StatusCode, "%v", out)
	return out
}

// readmeCurls returns the curl commands of the README (continuation lines joined).
func readmeCurls(t *testing.T) []string {
	readme, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	require.NoError(t, err)
	var cmds []string
	var current string
	for _, line := range strings.Split(string(readme), "\n") {
		line = strings.TrimSpace(line)
		if current == "" && !strings.HasPrefix(line, "curl ") {
			continue
		}
		current += strings.TrimSuffix(line, `\`) + " "
		if !strings.HasSuffix(line, `\`) {
			cmds = append(cmds, strings.TrimSpace(current))
			current = ""
		}
	}
	return cmds
}

func TestComponentsAndValidate(t *testing.T) {
	bin := buildBinary(t)
	out, err := exec.Command(bin, "components").CombinedOutput()
	require.NoError(t, err, string(out))
	for _, name := range []string{"name: backstage", "name: insights_store"} {
		assert.Contains(t, string(out), name)
	}

	validate := exec.Command(bin, "validate", "--config", filepath.Join(repoRoot, "config", "insights.yaml"))
	out, err = validate.CombinedOutput()
	assert.NoError(t, err, string(out))

	bad := filepath.Join(t.TempDir(), "bad.yaml")
	require.NoError(t, os.WriteFile(bad, []byte("receivers:\n  backstage:\n    credentials: [{bearer_token: short}]\nexporters:\n  debug:\nservice:\n  pipelines:\n    logs:\n      receivers: [backstage]\n      exporters: [debug]\n"), 0o600))
	out, err = exec.Command(bin, "validate", "--config", bad).CombinedOutput()
	assert.Error(t, err)
	assert.Contains(t, string(out), "bearer_token must have at least 8 characters")
}

// TestReadmeQuickStart starts the binary on config/insights.yaml, as `make run` does, runs the README's curl
// examples against it, finds the normalised events in the debug output and reads them back from the store.
func TestReadmeQuickStart(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Fatal("curl is needed to run the README's examples (make deps installs it)")
	}
	c := startCollector(t, t.TempDir(), "INSIGHTS_DEBUG_VERBOSITY=detailed")
	var sends, queries []string
	for _, cmdline := range readmeCurls(t) {
		if strings.Contains(cmdline, "localhost:4321") {
			queries = append(queries, strings.ReplaceAll(cmdline, "localhost:4321", c.queryAPI))
		} else {
			sends = append(sends, strings.ReplaceAll(cmdline, "localhost:4320", c.receiver))
		}
	}
	require.Len(t, sends, 4, "the README shows one curl example per format")
	require.Len(t, queries, 1, "and one query")
	for _, cmdline := range sends {
		assert.Equal(t, "200", curl(t, cmdline+` -o /dev/null -w '%{http_code}'`), cmdline)
	}

	// 5 events per example, each printed by the debug exporter with its contract attributes.
	eventNames := regexp.MustCompile(`EventName: backstage\.\w+`)
	require.Eventually(t, func() bool { return len(eventNames.FindAllString(c.output.String(), -1)) >= 20 },
		30*time.Second, 100*time.Millisecond, "expected 20 events in the debug output:\n%s", c.output.String())
	out := c.output.String()
	for _, want := range []string{"EventName: backstage.navigate", "EventName: backstage.create", "EventName: backstage.search",
		"backstage.entity_ref: Str(component:default/example-website)", "insights.source.format: Str(segment)",
		"insights.source.format: Str(generic)", "insights.source.format: Str(analytics_event)", "insights.source.format: Str(otlp)"} {
		assert.Contains(t, out, want)
	}
	assert.NotContains(t, out, "dev-insights-token", "secrets are never logged")
	assert.NotContains(t, out, "development/guest", "the anonymization processor replaced the examples' user before any exporter")
	assert.Regexp(t, `user\.hash: Str\(k1\.[A-Za-z0-9_-]{22}\)`, out, "with a pseudonym of the generated key")

	// The same events are in the store (their times are the examples' own, or the arrival time once those are
	// older than max_event_age: within the last week either way).
	const allRecent = `{"metric":"events","from":"now-8d","to":"now+1d","limit":1000}`
	// The Backstage events, and what the pipeline derived from them (an engagement tier change).
	backstageEvents := func() (n int, derived []string) {
		for _, row := range c.query(t, allRecent)["rows"].([]any) {
			assert.NotContains(t, fmt.Sprint(row), "development/guest", "the store holds pseudonyms only")
			if name := row.([]any)[1].(string); strings.HasPrefix(name, "backstage.") {
				n++
			} else {
				derived = append(derived, name)
			}
		}
		return n, derived
	}
	require.Eventually(t, func() bool { n, _ := backstageEvents(); return n >= 15 }, 30*time.Second, 200*time.Millisecond)
	// The Generic envelopes and the OTLP records carry the same fields (user, session, time, …) for the same
	// five events, so they get the same ids and are stored once: 5 + 5 + 5.
	time.Sleep(2 * time.Second) // the exporter's queue flushes every second: nothing more may arrive
	n, derived := backstageEvents()
	assert.Equal(t, 15, n)
	assert.Equal(t, []string{"insights.engagement.tier_change"}, derived, "the user rose from dormant to casual with the create")

	var answer struct {
		Rows [][]any `json:"rows"`
	}
	require.NoError(t, json.Unmarshal([]byte(curl(t, queries[0])), &answer), "the README's query")
	require.NotEmpty(t, answer.Rows)
	active := 0.0
	for _, row := range answer.Rows {
		active = max(active, row[1].(float64))
	}
	assert.Equal(t, 1.0, active, "the examples' one user is active")
	c.stop(t)
}

// curl runs a command line of the README from the repository root and returns its output.
func curl(t *testing.T, cmdline string) string {
	t.Helper()
	cmd := exec.Command("bash", "-c", cmdline)
	cmd.Dir = repoRoot
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s: %s", cmdline, out)
	return string(out)
}
