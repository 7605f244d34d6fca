// Command gpx_insights is the backend of the Insights Collector data source for Grafana: Grafana starts it as
// a plugin process and calls it over gRPC.
package main

import (
	"os"

	"github.com/grafana/grafana-plugin-sdk-go/backend/datasource"
	"github.com/grafana/grafana-plugin-sdk-go/backend/log"

	"github.com/insights-collector/insights-collector/grafana-datasource/pkg/plugin"
)

func main() {
	if err := datasource.Manage(plugin.ID, plugin.NewDatasource, datasource.ManageOpts{}); err != nil {
		log.DefaultLogger.Error("The data source stopped", "error", err.Error())
		os.Exit(1)
	}
}
