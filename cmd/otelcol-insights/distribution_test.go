package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
)

// This file is ours; ocb writes only main.go, main_others.go, main_windows.go and components.go here.

func TestDistributionHasOurAndTheStandardComponents(t *testing.T) {
	factories, err := components()
	require.NoError(t, err)
	has := func(kind string, types map[component.Type]string, want ...string) {
		for _, w := range want {
			_, ok := types[component.MustNewType(w)]
			assert.True(t, ok, "%s %s missing", kind, w)
		}
	}
	has("receiver", factories.ReceiverModules, "backstage", "otlp")
	has("processor", factories.ProcessorModules, "batch", "memory_limiter", "redaction")
	has("exporter", factories.ExporterModules, "insights_store", "debug", "nop", "otlp_grpc", "otlp_http")
	has("extension", factories.ExtensionModules, "insights_store", "file_storage", "health_check", "pprof", "bearertokenauth")
}

// TestGeneratedCodeIsUpToDate runs ocb into a temporary directory and compares its output with the committed
// files: a change to builder-config.yaml without `make generate` fails here.
func TestGeneratedCodeIsUpToDate(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	require.NoError(t, err)
	manifest, err := os.ReadFile(filepath.Join(root, "builder-config.yaml"))
	require.NoError(t, err)
	out := filepath.Join(t.TempDir(), "otelcol-insights")
	const committedPath = "output_path: ./cmd/otelcol-insights"
	require.Contains(t, string(manifest), committedPath)
	tmpManifest := filepath.Join(t.TempDir(), "builder-config.yaml")
	require.NoError(t, os.WriteFile(tmpManifest, []byte(strings.Replace(string(manifest), committedPath, "output_path: "+out, 1)), 0o600))

	cmd := exec.Command("go", "tool", "builder", "--config", tmpManifest, "--skip-get-modules", "--skip-compilation")
	cmd.Dir = root
	output, err := cmd.CombinedOutput()
	require.NoError(t, err, string(output))
	for _, name := range []string{"main.go", "main_others.go", "main_windows.go", "components.go"} {
		want, err := os.ReadFile(filepath.Join(out, name))
		require.NoError(t, err)
		got, err := os.ReadFile(name)
		require.NoError(t, err)
		if line, differs := firstDifference(string(want), string(got)); differs {
			t.Errorf("%s differs from ocb's output at line %d: run `make generate`", name, line)
		}
	}
}

func firstDifference(a, b string) (line int, differs bool) {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < max(len(al), len(bl)); i++ {
		if i >= len(al) || i >= len(bl) || al[i] != bl[i] {
			return i + 1, true
		}
	}
	return 0, false
}
