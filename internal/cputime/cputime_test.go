package cputime

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestProcessCountsWork(t *testing.T) {
	before := Process()
	deadline := time.Now().Add(50 * time.Millisecond)
	for n := 0; time.Now().Before(deadline); n++ { // busy, not asleep
		_ = n * n
	}
	assert.GreaterOrEqual(t, Process()-before, 20*time.Millisecond)
}
