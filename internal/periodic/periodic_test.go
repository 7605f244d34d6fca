package periodic

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

func TestJobsRunUntilStopped(t *testing.T) {
	core, logs := observer.New(zap.ErrorLevel)
	var runs atomic.Int64
	r := Start(zap.New(core),
		Job{Every: time.Millisecond, Run: func(context.Context) error { runs.Add(1); return nil }},
		Job{Every: time.Millisecond, Run: func(context.Context) error { return errors.New("disk full") }, Failure: "Could not persist"})
	assert.Eventually(t, func() bool { return runs.Load() >= 3 && logs.Len() >= 1 }, 5*time.Second, time.Millisecond)
	r.Stop()
	stopped := runs.Load()
	time.Sleep(10 * time.Millisecond)
	assert.Equal(t, stopped, runs.Load(), "nothing runs after Stop")
	assert.Equal(t, "Could not persist", logs.All()[0].Message)
	assert.Equal(t, "disk full", logs.All()[0].ContextMap()["error"])

	var never *Runner
	never.Stop() // a component that never started
}
