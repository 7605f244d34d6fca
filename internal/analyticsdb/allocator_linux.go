//go:build linux && cgo

package analyticsdb

/*
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>

// DuckDB's jemalloc (linked in from the DuckDB library on Linux), under its prefix.
int duckdb_je_mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen);

static int set_ssize(const char *name, ssize_t value) {
	return duckdb_je_mallctl(name, NULL, NULL, &value, sizeof(value));
}

// set_decay sets the time freed pages stay dirty, then muzzy, before they go back to the system: the default
// of arenas made later, and that of every arena made so far (an arena not yet initialised answers EFAULT and
// takes the default when it is).
static int set_decay(ssize_t ms) {
	const char *kinds[] = {"dirty", "muzzy"};
	unsigned narenas;
	size_t len = sizeof(narenas);
	int rc = duckdb_je_mallctl("arenas.narenas", &narenas, &len, NULL, 0);
	if (rc != 0) {
		return rc;
	}
	for (int k = 0; k < 2; k++) {
		char name[64];
		snprintf(name, sizeof(name), "arenas.%s_decay_ms", kinds[k]);
		if ((rc = set_ssize(name, ms)) != 0) {
			return rc;
		}
		for (unsigned i = 0; i < narenas; i++) {
			snprintf(name, sizeof(name), "arena.%u.%s_decay_ms", i, kinds[k]);
			if ((rc = set_ssize(name, ms)) != 0 && rc != EFAULT) {
				return rc;
			}
		}
	}
	return 0;
}

static ssize_t get_ssize(const char *name) {
	ssize_t value = -2;
	size_t len = sizeof(value);
	duckdb_je_mallctl(name, &value, &len, NULL, 0);
	return value;
}
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// setAllocatorDecay sets how long DuckDB's allocator keeps freed memory before it returns it to the system.
func setAllocatorDecay(ms int) error {
	if rc := C.set_decay(C.ssize_t(ms)); rc != 0 {
		return fmt.Errorf("set the decay of freed memory: jemalloc error %d", int(rc))
	}
	return nil
}

// allocatorDecays returns the decay times of arenas made from now on (-2 when unreadable), for the tests.
func allocatorDecays() (dirty, muzzy int) {
	return allocatorSetting("arenas.dirty_decay_ms"), allocatorSetting("arenas.muzzy_decay_ms")
}

func allocatorSetting(name string) int {
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	return int(C.get_ssize(cname))
}
