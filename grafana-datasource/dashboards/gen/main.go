// Command gen writes the bundled dashboards as JSON into src/dashboards (run it from grafana-datasource/;
// `make dashboards` does). A test fails when the committed files drift from the code.
package main

import (
	"log"
	"os"
	"path/filepath"

	"github.com/insights-collector/insights-collector/grafana-datasource/dashboards"
)

func main() {
	if err := os.MkdirAll(dashboards.Dir, 0o755); err != nil {
		log.Fatal(err)
	}
	for _, d := range dashboards.Suite() {
		out, err := d.JSON()
		if err != nil {
			log.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dashboards.Dir, d.File), out, 0o644); err != nil {
			log.Fatal(err)
		}
	}
}
