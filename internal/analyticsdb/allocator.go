package analyticsdb

import (
	"os"
	"sync"
	"time"
)

// allocatorDecay is how long DuckDB's allocator keeps the memory a query freed, for the next queries, before it
// gives it back to the system. DuckDB's own setting, 1 s, gives it back between two bursts of a dashboard's
// queries, and the next burst faults every page in again and zeroes it (a fifth of a query's CPU in perf). At 10
// million events, after pauses of 1 s: plugin adoption 34–37 ms with 1 s, 11–20 ms with 30 s; recommendations
// 160–172 against 74–84 ms (7 and 88 ms back to back). Later DuckDB releases keep it 10 s; 30 s also spans a
// dashboard's usual refresh. What is kept is what the last queries used, within memory_limit.
const allocatorDecay = 30 * time.Second

// tuneAllocator sets allocatorDecay once per process (the allocator is the process's), unless the operator has
// configured DuckDB's allocator through DUCKDB_JE_MALLOC_CONF.
var tuneAllocator = sync.OnceValue(func() error {
	if _, set := os.LookupEnv("DUCKDB_JE_MALLOC_CONF"); set {
		return nil
	}
	return setAllocatorDecay(int(allocatorDecay.Milliseconds()))
})
