// Package hostinfo describes the machine a benchmark ran on, for its report.
package hostinfo

import (
	"fmt"
	"os"
	"runtime"
	"strings"
)

// Describe returns the core count, the CPU model and the Go version.
func Describe() string {
	model := "unknown CPU"
	if raw, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(raw), "\n") {
			if name, ok := strings.CutPrefix(line, "model name"); ok {
				model = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(name), ":"))
				break
			}
		}
	}
	return fmt.Sprintf("%d cores (%s), %s", runtime.NumCPU(), model, runtime.Version())
}
