// Package e2e tests the built otelcol-insights binary as a user meets it: the README's commands against the
// default configuration, over loopback.
package e2e

import (
	"bytes"
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

// buildBinary compiles the collector the way `make build` does (same flags: the build cache is shared).
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "otelcol-insights")
	cmd := exec.Command("go", "build", "-trimpath", "-o", bin, "./cmd/otelcol-insights")
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))
	return bin
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
	assert.Contains(t, string(out), "name: backstage")
	assert.Contains(t, string(out), "github.com/insights-collector/insights-collector")

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
// examples against it and finds the normalised events in the debug output.
func TestReadmeQuickStart(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Fatal("curl is needed to run the README's examples")
	}
	bin := buildBinary(t)
	receiver, otlp, health := freeAddress(t), freeAddress(t), freeAddress(t)
	var output syncBuffer
	collector := exec.Command(bin, "--config", filepath.Join("config", "insights.yaml"))
	collector.Dir = repoRoot
	collector.Env = append(os.Environ(), "INSIGHTS_ENDPOINT="+receiver, "INSIGHTS_OTLP_ENDPOINT="+otlp, "INSIGHTS_HEALTH_ENDPOINT="+health)
	collector.Stdout, collector.Stderr = &output, &output
	require.NoError(t, collector.Start())
	exited := make(chan error, 1)
	go func() { exited <- collector.Wait() }()
	t.Cleanup(func() {
		_ = collector.Process.Kill()
	})

	require.Eventually(t, func() bool {
		resp, err := http.Get("http://" + health + "/")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 60*time.Second, 100*time.Millisecond, "the collector did not become healthy:\n%s", output.String())

	curls := readmeCurls(t)
	require.Len(t, curls, 4, "the README shows one curl example per format")
	for _, c := range curls {
		c = strings.ReplaceAll(c, "localhost:4320", receiver) + ` -o /dev/null -w '%{http_code}'`
		cmd := exec.Command("bash", "-c", c)
		cmd.Dir = repoRoot
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s: %s", c, out)
		assert.Equal(t, "200", string(out), c)
	}

	// 5 events per example, each printed by the debug exporter with its contract attributes.
	eventNames := regexp.MustCompile(`EventName: backstage\.\w+`)
	require.Eventually(t, func() bool { return len(eventNames.FindAllString(output.String(), -1)) >= 20 },
		30*time.Second, 100*time.Millisecond, "expected 20 events in the debug output:\n%s", output.String())
	out := output.String()
	for _, want := range []string{"EventName: backstage.navigate", "EventName: backstage.create", "EventName: backstage.search",
		"backstage.entity_ref: Str(component:default/example-website)", "insights.source.format: Str(segment)",
		"insights.source.format: Str(generic)", "insights.source.format: Str(analytics_event)", "insights.source.format: Str(otlp)"} {
		assert.Contains(t, out, want)
	}
	assert.NotContains(t, out, "dev-insights-token", "secrets are never logged")

	require.NoError(t, collector.Process.Signal(syscall.SIGTERM))
	select {
	case err := <-exited:
		assert.NoError(t, err, "a clean shutdown on SIGTERM")
	case <-time.After(20 * time.Second):
		t.Fatal("the collector did not stop within 20s of SIGTERM")
	}
}
