package queryapi

import (
	"context"
	"strconv"
	"strings"

	"github.com/insights-collector/insights-collector/internal/semconv"
)

// teamRowsFloor is how the team metrics apply the k-anonymity floor: a team's row is withheld when the team has
// fewer than k members, the crowd its members' activity hides in (a team nobody uses still shows, at zero).
const teamRowsFloor = "members"

// inTeams returns " AND column IN (…)": the teams of the team filter and the teams below them; "" without the
// filter. Team refs compare case-insensitively, as Backstage's do.
func (b *sqlb) inTeams(q *query, column string) string {
	teams := q.filter(FilterTeam)
	if len(teams) == 0 {
		return ""
	}
	return " AND " + column + " IN (" + b.teamsBelow(teams) + ")"
}

// teamsBelow is a relation of the teams among the given ones, and those below them.
func (b *sqlb) teamsBelow(teams []string) string {
	lower := lowered(teams)
	return "SELECT team FROM teams WHERE team IN (" + b.list(lower) + ") OR list_has_any(coalesce(ancestors, []), [" + b.list(lower) + "])"
}

func lowered(values []string) []string {
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = strings.ToLower(v)
	}
	return out
}

// teamsKey selects the teams list of a relation's rows for a grouping by th, the list's hash: grouping by the
// list itself took a third longer. (A collision would need two team lists of one user with the same 64-bit hash.)
const teamsKey = "hash(teams) AS th, any_value(teams) AS teams"

// credited returns the rows of a relation that has a teams list (the events' direct teams), as its columns plus
// the team credited: each of the row's teams and every team above them, once (two teams may share a parent), so
// that sub-teams' members count for their parents — the scope of the catalog's total member count. The teams are
// expanded by a hash join on a small relation of (member team, credited team) pairs: a lateral unnest of each
// row's ancestors took 37 s over 3 million events. Callers pre-aggregate the events per user and teams list, and
// those with several lists per user name a list by its hash (th) among the columns: a DISTINCT comparing the lists
// themselves, and the pairs built by a lateral join, made team comparison's statement 12-15% slower (40 runs
// alternated).
func credited(relation, columns string) string {
	return "SELECT DISTINCT " + columns + ", credit.team FROM (SELECT *, unnest(teams) AS member FROM " + relation + ") x JOIN " +
		"(SELECT team AS member, unnest(list_prepend(team, coalesce(ancestors, []))) AS team FROM teams) credit USING (member)"
}

func teamAdoptionMetric() *Metric {
	return &Metric{
		Name: "team_adoption",
		Description: "Per team (from the catalog's groups): active members — users whose events name the team or a team " +
			"below it — against its members (the catalog's count, sub-teams included), the adoption share and events per " +
			"active member; with an interval, per bucket (the trend). A team's engagement tier mix is the engagement metric " +
			"grouped by team. Teams with fewer than k members are withheld.",
		Interval: intervalOptional, Filters: []string{FilterPlugin, FilterInstance, FilterTeam},
		Columns: []Column{colTime, dimension("team"), number("active_members", "users", ""), number("members", "users", "catalog members"),
			number("adoption", "ratio", "active members / members"), number("events_per_active_member", "events", "")},
		UsersColumn: teamRowsFloor, Role: RoleTeamLead, build: teamAdoption,
	}
}

// teamAdoption credits each event to the teams it names and to their ancestors, so that a team's active members
// include its sub-teams' — the same scope as the catalog's total member count.
func teamAdoption(q *query, b *sqlb) []Column {
	bucket := "0"
	if q.Interval != "" {
		bucket = b.localBucket(q, "lt")
	}
	b.WriteString("WITH ut AS (SELECT " + bucket + " AS t, user_no, " + teamsKey + ", sum(events) AS events FROM " +
		b.from(q, teamActivity, 0, "x") + " GROUP BY t, user_no, th), " +
		"c AS (" + credited("ut", "x.t, x.user_no, x.th, x.events") + ") SELECT ")
	columns := []Column{}
	if q.Interval != "" {
		b.WriteString(b.instant(q, "c.t") + " AS time, ")
		columns = append(columns, colTime)
	}
	b.WriteString("c.team, count(DISTINCT c.user_no) AS active_members, any_value(tm.total_members) AS members, " +
		"count(DISTINCT c.user_no) / nullif(any_value(tm.total_members), 0) AS adoption, " +
		"sum(c.events) / count(DISTINCT c.user_no) AS events_per_active_member " +
		"FROM c JOIN teams tm USING (team) WHERE true" + b.inTeams(q, "c.team") + " GROUP BY c.t, c.team ORDER BY c.t, adoption DESC, c.team")
	return append(columns, dimension("team"), number("active_members", "users", ""), number("members", "users", ""),
		number("adoption", "ratio", ""), number("events_per_active_member", "events", ""))
}

func crossTeamMetric() *Metric {
	return &Metric{
		Name: "cross_team",
		Description: "Knowledge sharing: per owning team (the catalog's owner of the entities viewed), page views of its " +
			"entities and their viewers, and how many came from people of other teams (users whose teams are known and do " +
			"not include the owner).",
		Interval: intervalOptional, Filters: []string{FilterPlugin, FilterEntityKind, FilterInstance, FilterTeam},
		Columns: []Column{colTime, dimension("owner"), number("views", "views", ""), colUsers,
			number("views_from_other_teams", "views", ""), number("users_from_other_teams", "users", ""),
			number("share_from_other_teams", "ratio", "views from other teams / views")},
		UsersColumn: "users", Role: RoleTeamLead, build: crossTeam,
	}
}

func crossTeam(q *query, b *sqlb) []Column {
	bucket, timeColumn, columns := "0", "", []Column{}
	if q.Interval != "" {
		bucket, timeColumn, columns = b.bucket(q, "e.ts"), "t AS time, ", []Column{colTime}
	}
	b.WriteString("WITH v AS (SELECT " + bucket + " AS t, e.entity_owner AS owner, e.user_no, " +
		"e.teams IS NOT NULL AND NOT list_contains(e.teams, e.entity_owner) AS other FROM events e WHERE e.action = '" + semconv.ActionNavigate + "' " +
		"AND e.entity_owner IS NOT NULL AND " + b.eventFilters(q, 0) + b.inTeams(q, "e.entity_owner") + ") " +
		"SELECT " + timeColumn + "owner, count(*) AS views, count(DISTINCT user_no) AS users, count(*) FILTER (WHERE other) AS views_from_other_teams, " +
		"count(DISTINCT user_no) FILTER (WHERE other) AS users_from_other_teams, count(*) FILTER (WHERE other) / count(*) AS share_from_other_teams " +
		"FROM v GROUP BY t, owner ORDER BY t, views DESC, owner")
	return append(columns, dimension("owner"), number("views", "views", ""), colUsers, number("views_from_other_teams", "views", ""),
		number("users_from_other_teams", "users", ""), number("share_from_other_teams", "ratio", ""))
}

func onboardingMetric() *Metric {
	return &Metric{
		Name: "onboarding",
		Description: "Time to value: users first seen in the range (their first Backstage event on any instance, or on the " +
			"filtered ones), how many have reached a key action since (a create — a template run — unless filters.key_action " +
			"names actions), the share who reached it within 7 and within 30 days of their first event (of the users first seen " +
			"at least that long ago, so that recent users do not lower it), and the median hours to it; with an interval, per " +
			"bucket of first sight; with group_by team, per team of their events (sub-teams' included; a user of two teams " +
			"counts in both). Rows of fewer than k new users are withheld.",
		Interval: intervalOptional, Filters: []string{FilterInstance, FilterTeam, FilterKeyAction}, GroupBy: []string{"team"},
		Columns: []Column{colTime, dimension("team (with group_by)"), number("new_users", "users", "users first seen in the bucket"),
			number("reached", "users", "new users who have reached a key action"),
			number("reached_7d", "ratio", "reached within 7 days / new users first seen at least 7 days ago"),
			number("reached_30d", "ratio", "reached within 30 days / new users first seen at least 30 days ago"),
			number("median_hours_to_value", "h", "median time from the first event to the first key action, of those who reached it")},
		UsersColumn: "new_users", Role: RoleTeamLead, build: onboarding,
	}
}

func onboarding(q *query, b *sqlb) []Column {
	keys := q.filter(FilterKeyAction)
	if len(keys) == 0 {
		keys = []string{semconv.ActionCreate}
	}
	bucket, timeColumn, columns := "0", "", []Column{}
	if q.Interval != "" {
		bucket, timeColumn, columns = b.bucket(q, "first.first_seen"), "t AS time, ", []Column{colTime}
	}
	instances := q.filter(FilterInstance)
	b.WriteString("WITH first AS (SELECT user_no, min(first_seen) AS first_seen FROM users WHERE true" + b.in("instance", instances) +
		" GROUP BY 1 HAVING min(first_seen) >= " + b.arg(q.from) + " AND min(first_seen) < " + b.arg(q.to) + "), " +
		"reached AS (SELECT e.user_no, min(e.ts) AS reached FROM events e JOIN first USING (user_no) WHERE e.ts >= first.first_seen " +
		"AND e.action IN (" + b.list(keys) + ")" + b.in("coalesce(e.instance, '')", instances) + " GROUP BY 1)")
	team, teamJoin := "", ""
	if q.groupBy() == "team" || len(q.filter(FilterTeam)) > 0 {
		// The new users' teams lists from the team rollup (the teams of their Backstage events, all of them after
		// first_seen): reading and grouping by the lists of a month of events took most of the metric's time (145
		// of 210 ms of CPU; 138–187 → 23–51 ms, the same rows on the bench data set).
		b.WriteString(", ut AS (SELECT DISTINCT user_no, teams FROM team_daily JOIN first USING (user_no) WHERE true" + b.in("instance", instances) + "), " +
			"member AS (SELECT * FROM (" + credited("ut", "x.user_no") + ") WHERE true" + b.inTeams(q, "team") + ")")
		teamJoin = " JOIN (SELECT DISTINCT user_no FROM member) USING (user_no)"
		if q.groupBy() == "team" {
			team, teamJoin = "team, ", " JOIN member USING (user_no)"
		}
	}
	order := "new_users DESC"
	if team != "" {
		order += ", team"
	}
	if timeColumn != "" {
		order = "time, " + order
	}
	b.WriteString(" SELECT " + timeColumn + team + "count(*) AS new_users, count(reached) AS reached, " +
		reachedWithin(q, b, 7) + " AS reached_7d, " + reachedWithin(q, b, 30) + " AS reached_30d, " +
		"quantile_cont(epoch(reached - first_seen) / 3600, 0.5) AS median_hours_to_value " +
		"FROM (SELECT first.*, reached.reached, " + bucket + " AS t FROM first LEFT JOIN reached USING (user_no))" + teamJoin +
		" GROUP BY ALL ORDER BY " + order)
	if team != "" {
		columns = append(columns, dimension("team"))
	}
	return append(columns, number("new_users", "users", ""), number("reached", "users", ""), number("reached_7d", "ratio", ""),
		number("reached_30d", "ratio", ""), number("median_hours_to_value", "h", ""))
}

// reachedWithin is the share of the users first seen at least `days` ago who reached a key action within that
// many days of their first event.
func reachedWithin(q *query, b *sqlb, days int) string {
	window := " INTERVAL " + strconv.Itoa(days) + " DAY"
	return "count(*) FILTER (WHERE first_seen <= CAST(" + b.arg(q.now) + " AS TIMESTAMPTZ) -" + window + " AND reached < first_seen +" + window + ") / " +
		"nullif(count(*) FILTER (WHERE first_seen <= CAST(" + b.arg(q.now) + " AS TIMESTAMPTZ) -" + window + "), 0)"
}

func teamComparisonMetric() *Metric {
	return &Metric{
		Name: "team_comparison",
		Description: "Teams ranked by adoption over the range: members (the catalog's, sub-teams' included), active members, " +
			"adoption (active members / members), growth (active members against the previous period of the same length), " +
			"template runs (creates of a template) per active member, searches and search click-through (discover clicks attributed " +
			"to a search / searches), the rank and the quartile by adoption among all compared teams (withheld ones included). The teams are the groups users are direct members " +
			"of, or the groups of filters.team_type. group_by plugin shows what good looks like: per plugin, the share of " +
			"the top-quartile teams' active members who used it against that of the other teams' (and the lift). " +
			"Teams with fewer than k members are withheld.",
		Filters: []string{FilterInstance, FilterTeam, FilterTeamType}, GroupBy: []string{"plugin"},
		Columns: []Column{dimension("team"), number("members", "users", ""), number("active_members", "users", ""),
			number("adoption", "ratio", "active members / members"), number("previous_active_members", "users", "in the previous period"),
			number("growth", "ratio", "(active_members - previous_active_members) / previous_active_members"),
			number("template_runs_per_active_member", "runs", ""), number("searches", "searches", ""),
			number("search_click_through", "ratio", "discover clicks attributed to a search / searches"),
			number("rank", "rank", "1 is the highest adoption"), number("quartile", "quartile", "1 is the top quartile"),
			dimension("plugin (with group_by)"), number("top_quartile_share", "ratio", "the top quartile's active members who used the plugin / its active members"),
			number("others_share", "ratio", "the same for the other teams"), number("lift", "ratio", "top_quartile_share / others_share")},
		UsersColumn: teamRowsFloor, Role: RoleTeamLead, build: teamComparison, prepare: sizeTeamComparison,
	}
}

// sizeTeamComparison: two bitmaps per team, this period's active members and the previous one's.
func sizeTeamComparison(ctx context.Context, db queryer, q *query) error {
	return fitUserBitmaps(ctx, db, q, "SELECT count(*) FROM teams", 2)
}

// teamComparison ranks every team (of the chosen kind) over the range, zero adoption included.
func teamComparison(q *query, b *sqlb) []Column {
	span := q.to.Sub(q.from)
	prev := *q
	prev.from, prev.to = q.from.Add(-span), q.from
	b.WriteString("WITH cu AS (SELECT user_no, " + teamsKey + ", sum(runs) AS runs, sum(searches) AS searches, " +
		"sum(finds) AS clicks FROM " + b.from(q, teamActivity, 0, "x") + " GROUP BY user_no, th), " +
		"pu AS (SELECT user_no, " + teamsKey + " FROM " + b.from(&prev, teamActivity, 0, "y") + " GROUP BY user_no, th), " +
		"ut AS (SELECT true AS cur, user_no, th, teams, runs, searches, clicks FROM cu UNION ALL SELECT false, user_no, th, teams, 0, 0, 0 FROM pu), " +
		"c AS (" + credited("ut", "x.cur, x.user_no, x.th, x.runs, x.searches, x.clicks") + "), " +
		"s AS (SELECT team, " + q.distinctUsers("cur") + " AS active_members, " +
		q.distinctUsers("NOT cur") + " AS previous_active_members, sum(runs) FILTER (WHERE cur) AS runs, " +
		"sum(searches) FILTER (WHERE cur) AS searches, sum(clicks) FILTER (WHERE cur) AS clicks FROM c GROUP BY team), " +
		"ranked AS (SELECT tm.team, tm.total_members AS members, coalesce(s.active_members, 0) AS active_members, " +
		"coalesce(s.active_members, 0) / nullif(tm.total_members, 0) AS adoption, coalesce(s.previous_active_members, 0) AS previous_active_members, " +
		"s.runs, s.searches, s.clicks, rank() OVER (ORDER BY adoption DESC NULLS LAST) AS rank, " +
		"ntile(4) OVER (ORDER BY adoption DESC NULLS LAST, tm.team) AS quartile FROM teams tm LEFT JOIN s USING (team) WHERE " + teamKind(q, b) + ")")
	if q.groupBy() == "plugin" {
		// What good looks like: the plugins of the active members of the top quartile's teams against the others'.
		b.WriteString(", pl AS (SELECT DISTINCT plugin_id, user_no FROM " + b.activity(q, 0, true) + " WHERE plugin_id IS NOT NULL), " +
			"m AS (SELECT DISTINCT c.user_no, r.quartile = 1 AS top FROM c JOIN ranked r USING (team) WHERE c.cur) " +
			"SELECT plugin_id AS plugin, top_quartile_share, others_share, top_quartile_share / nullif(others_share, 0) AS lift FROM (" +
			"SELECT pl.plugin_id, count(DISTINCT m.user_no) FILTER (WHERE m.top) / nullif(any_value(totals.top), 0) AS top_quartile_share, " +
			"count(DISTINCT m.user_no) FILTER (WHERE NOT m.top) / nullif(any_value(totals.others), 0) AS others_share " +
			"FROM m JOIN pl USING (user_no), (SELECT count(DISTINCT user_no) FILTER (WHERE top) AS top, count(DISTINCT user_no) FILTER (WHERE NOT top) AS others FROM m) totals " +
			"GROUP BY pl.plugin_id) ORDER BY top_quartile_share DESC NULLS LAST, plugin LIMIT " + b.arg(q.Limit))
		return []Column{dimension("plugin"), number("top_quartile_share", "ratio", ""), number("others_share", "ratio", ""), number("lift", "ratio", "")}
	}
	b.WriteString(" SELECT team, members, active_members, adoption, previous_active_members, " +
		"(active_members - previous_active_members) / nullif(previous_active_members, 0) AS growth, " +
		"runs / nullif(active_members, 0) AS template_runs_per_active_member, coalesce(searches, 0) AS searches, " +
		"clicks / nullif(searches, 0) AS search_click_through, rank, quartile FROM ranked WHERE true" + b.inTeams(q, "team") +
		" ORDER BY rank, team LIMIT " + b.arg(q.Limit))
	return []Column{dimension("team"), number("members", "users", ""), number("active_members", "users", ""), number("adoption", "ratio", ""),
		number("previous_active_members", "users", ""), number("growth", "ratio", ""), number("template_runs_per_active_member", "runs", ""),
		number("searches", "searches", ""), number("search_click_through", "ratio", ""), number("rank", "rank", ""), number("quartile", "quartile", "")}
}

// teamKind is the condition on teams (alias tm) of the groups compared: those of the team_type filter, else those
// with direct members.
func teamKind(q *query, b *sqlb) string {
	if types := q.filter(FilterTeamType); len(types) > 0 {
		return "tm.type IN (" + b.list(types) + ")"
	}
	return "tm.members > 0"
}
