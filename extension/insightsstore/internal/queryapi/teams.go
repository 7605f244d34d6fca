package queryapi

import (
	"github.com/insights-collector/insights-collector/internal/analyticsdb"
	"github.com/insights-collector/insights-collector/internal/semconv"
)

func teamAdoptionMetric() *Metric {
	return &Metric{
		Name: "team_adoption",
		Description: "Per team (from the catalog's groups): active members — users whose events name the team or a team " +
			"below it — against its members (the catalog's count, sub-teams included), the adoption share and events per " +
			"active member; with an interval, per bucket. Teams with fewer than k active members are withheld.",
		Interval: intervalOptional, Filters: []string{FilterPlugin, FilterInstance},
		Columns: []Column{colTime, dimension("team"), number("active_members", "users", ""), number("members", "users", "catalog members"),
			number("adoption", "ratio", "active members / members"), number("events_per_active_member", "events", "")},
		UsersColumn: "active_members", Role: RoleViewer, build: teamAdoption,
	}
}

// teamAdoption credits each event to the teams it names and to their ancestors, so that a team's active members
// include its sub-teams' — the same scope as the catalog's total member count.
func teamAdoption(q *query, b *sqlb) []Column {
	bucket, timeColumn, columns := "0", "", []Column{}
	if q.Interval != "" {
		bucket, timeColumn, columns = b.bucket(q, "e.ts"), "c.t AS time, ", []Column{colTime}
	}
	b.WriteString("WITH ev AS (SELECT " + bucket + " AS t, e.event_id, e.user_no, unnest(e.teams) AS team FROM events e " +
		"WHERE e.user_no IS NOT NULL AND e.teams IS NOT NULL AND " + analyticsdb.ActivitySQL("e.") + " AND " + b.eventFilters(q, 0) + "), " +
		"c AS (SELECT ev.t, ev.event_id, ev.user_no, credited.team FROM ev JOIN teams tm ON tm.team = ev.team, " +
		"unnest(list_prepend(tm.team, coalesce(tm.ancestors, []))) AS credited(team)) " +
		"SELECT " + timeColumn + "c.team, count(DISTINCT c.user_no) AS active_members, any_value(tm.total_members) AS members, " +
		"count(DISTINCT c.user_no) / nullif(any_value(tm.total_members), 0) AS adoption, " +
		"count(DISTINCT c.event_id) / count(DISTINCT c.user_no) AS events_per_active_member " +
		"FROM c JOIN teams tm USING (team) GROUP BY c.t, c.team ORDER BY c.t, adoption DESC, c.team")
	return append(columns, dimension("team"), number("active_members", "users", ""), number("members", "users", ""),
		number("adoption", "ratio", ""), number("events_per_active_member", "events", ""))
}

func crossTeamMetric() *Metric {
	return &Metric{
		Name: "cross_team",
		Description: "Knowledge sharing: per owning team (the catalog's owner of the entities viewed), page views of its " +
			"entities and their viewers, and how many came from people of other teams (users whose teams are known and do " +
			"not include the owner).",
		Interval: intervalOptional, Filters: []string{FilterPlugin, FilterEntityKind, FilterInstance},
		Columns: []Column{colTime, dimension("owner"), number("views", "views", ""), colUsers,
			number("views_from_other_teams", "views", ""), number("users_from_other_teams", "users", ""),
			number("share_from_other_teams", "ratio", "views from other teams / views")},
		UsersColumn: "users", Role: RoleViewer, build: crossTeam,
	}
}

func crossTeam(q *query, b *sqlb) []Column {
	bucket, timeColumn, columns := "0", "", []Column{}
	if q.Interval != "" {
		bucket, timeColumn, columns = b.bucket(q, "e.ts"), "t AS time, ", []Column{colTime}
	}
	b.WriteString("WITH v AS (SELECT " + bucket + " AS t, e.entity_owner AS owner, e.user_no, " +
		"e.teams IS NOT NULL AND NOT list_contains(e.teams, e.entity_owner) AS other FROM events e WHERE e.action = '" + semconv.ActionNavigate + "' " +
		"AND e.entity_owner IS NOT NULL AND " + b.eventFilters(q, 0) + ") " +
		"SELECT " + timeColumn + "owner, count(*) AS views, count(DISTINCT user_no) AS users, count(*) FILTER (WHERE other) AS views_from_other_teams, " +
		"count(DISTINCT user_no) FILTER (WHERE other) AS users_from_other_teams, count(*) FILTER (WHERE other) / count(*) AS share_from_other_teams " +
		"FROM v GROUP BY t, owner ORDER BY t, views DESC, owner")
	return append(columns, dimension("owner"), number("views", "views", ""), colUsers, number("views_from_other_teams", "views", ""),
		number("users_from_other_teams", "users", ""), number("share_from_other_teams", "ratio", ""))
}
