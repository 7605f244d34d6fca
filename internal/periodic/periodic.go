// Package periodic runs a component's background jobs (ending expired state, persisting what changed) on
// their own tickers until the component shuts down.
package periodic

import (
	"context"
	"sync"
	"time"

	"go.uber.org/zap"
)

// Job is one periodic job; Failure is what is logged when it returns an error.
type Job struct {
	Every   time.Duration
	Run     func(context.Context) error
	Failure string
}

// Runner runs jobs until Stop.
type Runner struct {
	cancel context.CancelFunc
	done   sync.WaitGroup
}

// Start runs each job every Job.Every, each on its own goroutine.
func Start(logger *zap.Logger, jobs ...Job) *Runner {
	ctx, cancel := context.WithCancel(context.Background())
	r := &Runner{cancel: cancel}
	for _, job := range jobs {
		r.done.Add(1)
		go func() {
			defer r.done.Done()
			ticker := time.NewTicker(job.Every)
			defer ticker.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-ticker.C:
					if err := job.Run(ctx); err != nil {
						logger.Error(job.Failure, zap.Error(err))
					}
				}
			}
		}()
	}
	return r
}

// Stop stops the jobs and waits for a running one to finish; a nil Runner (never started) is stopped already.
func (r *Runner) Stop() {
	if r == nil {
		return
	}
	r.cancel()
	r.done.Wait()
}
