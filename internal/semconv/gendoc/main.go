// Command gendoc writes docs/semantic-conventions.md from the event contract in internal/semconv.
// Run it from the repository root (`make generate` does).
package main

import (
	"log"
	"os"

	"github.com/insights-collector/insights-collector/internal/semconv"
)

func main() {
	if err := os.WriteFile(semconv.DocPath, []byte(semconv.Markdown()), 0o644); err != nil {
		log.Fatalf("write %s: %v", semconv.DocPath, err)
	}
}
