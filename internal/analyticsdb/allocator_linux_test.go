//go:build linux && cgo

package analyticsdb

import (
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
)

// Opening a store keeps freed memory allocatorDecay, unless DUCKDB_JE_MALLOC_CONF says otherwise.
func TestAllocatorKeepsFreedMemory(t *testing.T) {
	if _, set := os.LookupEnv("DUCKDB_JE_MALLOC_CONF"); set {
		t.Skip("DUCKDB_JE_MALLOC_CONF is set: the operator's configuration applies")
	}
	openStore(t)
	dirty, muzzy := allocatorDecays()
	assert.Equal(t, int(allocatorDecay.Milliseconds()), dirty)
	assert.Equal(t, int(allocatorDecay.Milliseconds()), muzzy)
}
