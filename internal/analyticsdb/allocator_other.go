//go:build !linux || !cgo

package analyticsdb

// setAllocatorDecay does nothing where DuckDB is built without jemalloc (it is on Linux only).
func setAllocatorDecay(int) error { return nil }
