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
		WithPanel(singleStat("Events per minute", "Events received in the last five minutes, per minute (live: events_per_minute), updated by the stream.",
			unitCount, "lastNotNull", "/^events_per_minute$/", inInstance(query("live"))).Span(widthThird)).
		WithPanel(ranking("Active now by plugin", "Distinct users of each plugin in the last five minutes (live by plugin).",
			unitCount, "active_users", inInstance(query("live").by("plugin"))).Span(widthThird)).
		WithPanel(timeSeries("Activity, as it streams",
			"Users active in the last five minutes and events per minute, a point every few seconds while the dashboard "+
				"is open (the data source's live stream).",
			unitCount, inInstance(query("live"))).
			WithTransformation(onlyFields("time", "active_users", "events_per_minute")).Span(widthFull))
}
