// Command genopenapi writes docs/query-api.openapi.json from the query API's metric catalogue. Run it from the
// repository root (`make generate` does); a test fails when the committed file drifts.
package main

import (
	"log"
	"os"

	"github.com/insights-collector/insights-collector/extension/insightsstore/internal/queryapi"
)

func main() {
	doc, err := queryapi.OpenAPIJSON()
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(queryapi.OpenAPIPath, doc, 0o644); err != nil {
		log.Fatalf("write %s: %v", queryapi.OpenAPIPath, err)
	}
}
