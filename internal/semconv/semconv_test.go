package semconv

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEventNameRoundTrip(t *testing.T) {
	tests := []struct {
		eventName string
		action    string
		ok        bool
	}{
		{"backstage.navigate", "navigate", true},
		{"backstage.audit.scaffolder.task", "audit.scaffolder.task", true},
		{"backstage.", "", false},
		{"session.start", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.eventName, func(t *testing.T) {
			action, ok := ActionOf(tt.eventName)
			assert.Equal(t, tt.ok, ok)
			assert.Equal(t, tt.action, action)
			if ok {
				assert.Equal(t, tt.eventName, EventName(action))
			}
		})
	}
}

func TestRegistryKeysAreUnique(t *testing.T) {
	seen := map[string]bool{}
	for _, a := range Registry {
		require.NotEmpty(t, a.Key)
		require.NotEmpty(t, a.Brief, a.Key)
		require.NotEmpty(t, a.SetBy, a.Key)
		assert.False(t, seen[a.Key], "duplicate key %s", a.Key)
		seen[a.Key] = true
	}
}

// Every exported Attr*/Resource* constant must be documented in the Registry.
func TestEveryConstantIsInTheRegistry(t *testing.T) {
	src, err := os.ReadFile("semconv.go")
	require.NoError(t, err)
	documented := map[string]bool{}
	for _, a := range Registry {
		documented[strings.TrimSuffix(a.Key, "<key>")] = true
	}
	for _, line := range strings.Split(string(src), "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "Attr") && !strings.HasPrefix(line, "Resource") {
			continue
		}
		_, value, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		key := strings.Trim(strings.TrimSpace(value), `"`)
		assert.True(t, documented[key], "constant %q is not documented in Registry", line)
	}
}

func TestGeneratedDocIsUpToDate(t *testing.T) {
	committed, err := os.ReadFile(filepath.Join("..", "..", DocPath))
	require.NoError(t, err, "run `make generate`")
	assert.Equal(t, Markdown(), string(committed), "%s is stale: run `make generate`", DocPath)
}
