// Package cputime measures the CPU time of the process, for benchmarks: DuckDB works on several threads, so
// wall time alone hides what a query or a write costs.
package cputime

import (
	"syscall"
	"time"
)

// Process is the process's user and system CPU time so far, all its threads included.
func Process() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
