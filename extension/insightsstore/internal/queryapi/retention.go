package queryapi

import (
	"time"
)

// Lenses of the retention metric.
const (
	LensFirstTime = "first_time"
	LensRecurring = "recurring"
)

func retentionMetric() *Metric {
	return &Metric{
		Name: "retention",
		Description: "Cohort retention: users grouped by the bucket of their first Backstage event (lens first_time: first " +
			"seen in the range, on any plugin) or by every bucket they were active in (lens recurring), and how many of each " +
			"cohort were active again n buckets later (period 0 is the cohort's own bucket; the filters apply to the activity). " +
			"A row per cohort and period, up to the range's end; periods without a returning user are absent. Cohorts of " +
			"fewer than k users are withheld.",
		Interval: intervalRequired, Lenses: []string{LensFirstTime, LensRecurring}, Filters: CommonFilters,
		Columns: []Column{{Name: "time", Type: typeTime, Description: "the cohort's bucket"}, number("cohort_size", "users", ""),
			ordinal("period", "buckets", "buckets since the cohort's"), colUsers, number("retention", "ratio", "users / cohort_size")},
		UsersColumn: "cohort_size", CohortRows: true, Role: RoleViewer, build: retention,
	}
}

// activeBuckets writes the relation act(user_no, b) of the users active in each bucket (a wall-clock TIMESTAMP of
// the caller's time zone), from lookback before the range to its end.
func activeBuckets(q *query, b *sqlb, lookback time.Duration) string {
	return "act AS (SELECT DISTINCT user_no, " + b.localBucket(q, "lt") + " AS b FROM " + b.activity(q, lookback, false) + ")"
}

// firstBuckets writes the relation first(user_no, f): the bucket of each user's first Backstage event (on the
// filtered instances); inRange keeps the users first seen in the query's range.
func firstBuckets(q *query, b *sqlb, inRange bool) string {
	sql := "first AS (SELECT user_no, " + b.localBucket(q, b.local(q, "min(first_seen)")) + " AS f FROM users WHERE true" +
		b.in("instance", q.filter(FilterInstance)) + " GROUP BY 1"
	if inRange {
		sql += " HAVING min(first_seen) >= " + b.arg(q.from) + " AND min(first_seen) < " + b.arg(q.to)
	}
	return sql + ")"
}

func retention(q *query, b *sqlb) []Column {
	b.WriteString("WITH " + activeBuckets(q, b, 0) + ", ")
	if q.Lens == LensRecurring {
		b.WriteString("cohorts AS (SELECT user_no, b AS c FROM act), ")
	} else {
		b.WriteString(firstBuckets(q, b, true) + ", cohorts AS (SELECT user_no, f AS c FROM first), ")
	}
	b.WriteString("sizes AS (SELECT c, count(*) AS size FROM cohorts GROUP BY c) " +
		"SELECT " + b.instant(q, "cohorts.c") + " AS time, any_value(sizes.size) AS cohort_size, date_diff('" + q.Interval + "', cohorts.c, act.b) AS period, " +
		"count(*) AS users, count(*) / any_value(sizes.size) AS retention " +
		"FROM cohorts JOIN act ON act.user_no = cohorts.user_no AND act.b >= cohorts.c JOIN sizes USING (c) " +
		"GROUP BY cohorts.c, period ORDER BY time, period")
	return []Column{colTime, number("cohort_size", "users", ""), ordinal("period", "buckets", ""), colUsers, number("retention", "ratio", "")}
}

func lifecycleMetric() *Metric {
	return &Metric{
		Name: "lifecycle",
		Description: "Per bucket, the active users by where they are in their life: new (first seen in the bucket), " +
			"returning (also active in the bucket before), resurrecting (active again after at least one bucket away); " +
			"and dormant: active in the bucket before, not in this one.",
		Interval: intervalRequired, Filters: CommonFilters,
		Columns: []Column{colTime, number("new_users", "users", ""), number("returning_users", "users", ""),
			number("resurrecting_users", "users", ""), number("dormant_users", "users", "active in the previous bucket only")},
		Role: RoleViewer, build: lifecycle,
	}
}

func churnMetric() *Metric {
	return &Metric{
		Name: "churn",
		Description: "Per bucket: the users active in the bucket before, those of them not active in this one (churned), " +
			"the churn rate, and the resurrected users (active again after at least one bucket away, not new).",
		Interval: intervalRequired, Filters: CommonFilters,
		Columns: []Column{colTime, number("previous_active", "users", "active in the previous bucket"), number("churned", "users", ""),
			number("churn_rate", "ratio", "churned / previous_active"), number("resurrected", "users", "")},
		Role: RoleViewer, build: churn,
	}
}

// lifecycleStatus writes the relations up to status(b, s): each user's status in each bucket of the range and
// the one after it: new, returning, resurrecting (active in b), dormant (active in the bucket before b only).
func lifecycleStatus(q *query, b *sqlb) {
	one := "INTERVAL 1 " + q.Interval
	b.WriteString("WITH " + activeBuckets(q, b, q.from.Sub(addBuckets(q, bucketStart(q, q.from), -1))) + ", " + firstBuckets(q, b, false) + ", " +
		"status AS (SELECT a.b, CASE WHEN fi.f = a.b THEN 'new' WHEN p.user_no IS NOT NULL THEN 'returning' ELSE 'resurrecting' END AS s " +
		"FROM act a LEFT JOIN first fi USING (user_no) LEFT JOIN act p ON p.user_no = a.user_no AND p.b = a.b - " + one + " " +
		"UNION ALL SELECT p.b + " + one + ", 'dormant' FROM act p LEFT JOIN act n ON n.user_no = p.user_no AND n.b = p.b + " + one +
		" WHERE n.user_no IS NULL) ")
}

func lifecycle(q *query, b *sqlb) []Column {
	lifecycleStatus(q, b)
	b.WriteString("SELECT buckets.t AS time, count(*) FILTER (WHERE s = 'new') AS new_users, count(*) FILTER (WHERE s = 'returning') AS returning_users, " +
		"count(*) FILTER (WHERE s = 'resurrecting') AS resurrecting_users, count(*) FILTER (WHERE s = 'dormant') AS dormant_users " +
		"FROM " + b.buckets(q) + " LEFT JOIN status ON status.b = buckets.lt GROUP BY 1 ORDER BY 1")
	return []Column{colTime, number("new_users", "users", ""), number("returning_users", "users", ""),
		number("resurrecting_users", "users", ""), number("dormant_users", "users", "")}
}

func churn(q *query, b *sqlb) []Column {
	lifecycleStatus(q, b)
	b.WriteString("SELECT time, previous_active, churned, churned / nullif(previous_active, 0) AS churn_rate, resurrected FROM (" +
		"SELECT buckets.t AS time, count(*) FILTER (WHERE s IN ('returning', 'dormant')) AS previous_active, " +
		"count(*) FILTER (WHERE s = 'dormant') AS churned, count(*) FILTER (WHERE s = 'resurrecting') AS resurrected " +
		"FROM " + b.buckets(q) + " LEFT JOIN status ON status.b = buckets.lt GROUP BY 1) ORDER BY 1")
	return []Column{colTime, number("previous_active", "users", ""), number("churned", "users", ""), number("churn_rate", "ratio", ""),
		number("resurrected", "users", "")}
}

func stickinessMetric() *Metric {
	return &Metric{
		Name: "stickiness",
		Description: "How many days a week users come back: for each calendar week wholly inside the range (weeks start on " +
			"Monday, in the requested time zone), each active user counts once, under the number of days (1–7) they were " +
			"active; the share is of all such user-weeks. With an interval (week or month), per bucket of the weeks' start.",
		Interval: intervalOptional, Intervals: []string{"week", "month"}, Filters: CommonFilters,
		Columns: []Column{colTime, ordinal("days_active", "days", "days of the week the user was active"),
			number("user_weeks", "users", "users × weeks"), number("share", "ratio", "user_weeks / all user-weeks of the bucket")},
		Role: RoleViewer, build: stickiness,
	}
}

func stickiness(q *query, b *sqlb) []Column {
	days := *q // the activity by the caller's days (the rollup answers when its days are the caller's)
	days.Interval = "day"
	b.WriteString("WITH d AS (SELECT DISTINCT user_no, date_trunc('day', lt) AS d FROM " + b.activity(&days, 0, false) + "), " +
		"uw AS (SELECT user_no, date_trunc('week', d) AS w, count(*) AS days FROM d GROUP BY 1, 2) SELECT ")
	bucket, columns := "0", []Column{}
	if q.Interval != "" {
		bucket, columns = "date_trunc('"+q.Interval+"', w)", []Column{colTime}
		b.WriteString(b.instant(q, "t") + " AS time, ") // placeholders bind in the text's order
	}
	b.WriteString("days AS days_active, count(*) AS user_weeks, count(*) / sum(count(*)) OVER (PARTITION BY t) AS share " +
		"FROM (SELECT " + bucket + " AS t, days FROM uw WHERE w >= " + b.localTime(q, q.from) + " AND w + INTERVAL 7 DAY <= " +
		b.localTime(q, q.to) + ") GROUP BY t, days ORDER BY t, days")
	return append(columns, ordinal("days_active", "days", ""), number("user_weeks", "users", ""), number("share", "ratio", ""))
}

// bucketStart returns the start of the bucket of the query's interval and time zone that t falls in (weeks
// start on Monday, as DuckDB's date_trunc has them).
func bucketStart(q *query, t time.Time) time.Time {
	loc, _ := time.LoadLocation(q.Timezone) // validated
	l := t.In(loc)
	y, m, d := l.Date()
	switch q.Interval {
	case "hour":
		return time.Date(y, m, d, l.Hour(), 0, 0, 0, loc)
	case "week":
		return time.Date(y, m, d-(int(l.Weekday())+6)%7, 0, 0, 0, 0, loc)
	case "month":
		return time.Date(y, m, 1, 0, 0, 0, 0, loc)
	case "quarter":
		return time.Date(y, m-(m-1)%3, 1, 0, 0, 0, 0, loc)
	case "year":
		return time.Date(y, 1, 1, 0, 0, 0, 0, loc)
	default:
		return time.Date(y, m, d, 0, 0, 0, 0, loc)
	}
}

// addBuckets moves a bucket start by n buckets, in wall-clock terms.
func addBuckets(q *query, t time.Time, n int) time.Time {
	switch q.Interval {
	case "hour":
		return t.Add(time.Duration(n) * time.Hour)
	case "week":
		return t.AddDate(0, 0, 7*n)
	case "month":
		return t.AddDate(0, n, 0)
	case "quarter":
		return t.AddDate(0, 3*n, 0)
	case "year":
		return t.AddDate(n, 0, 0)
	default:
		return t.AddDate(0, 0, n)
	}
}
