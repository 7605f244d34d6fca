package dashboards

import (
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

// live answers who is on the portal now; its panels follow the data source's stream.
func live() *dashboard.DashboardBuilder {
	return newDashboard("insights-live", "Insights: live",
		"Current activity: users and events of the last five minutes, streamed by the data source every few seconds.",
		instanceVariable()).Time("now-15m", "now").Refresh("1m").
		WithRow(row("Who is on the portal now?")).
		WithPanel(singleStat("Users active now", "Distinct users with an event in the last five minutes (live), updated by the stream.",
			unitCount, "lastNotNull", "/^active_users$/", inInstance(query("live"))).Span(widthThird)).
		WithPanel(singleStat("Events in the last five minutes", "Events received in the last five minutes (live), updated by the stream.",
			unitCount, "lastNotNull", "/^events$/", inInstance(query("live"))).Span(widthThird)).
		WithPanel(ranking("Active now by plugin", "Distinct users of each plugin in the last five minutes (live by plugin).",
			unitCount, "active_users", inInstance(query("live").by("plugin"))).Span(widthThird)).
		WithPanel(timeSeries("Activity, as it streams",
			"Users and events of the last five minutes, a point every few seconds while the dashboard is open (the "+
				"data source's live stream).",
			unitCount, inInstance(query("live"))).Span(widthFull))
}
