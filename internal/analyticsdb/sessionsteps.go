package analyticsdb

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// sessionSteps is the table of a row per session with its page views as lists (schema 18), and the name its
// pending days go by in rollup_days. A day there is a UTC day of session starts whose rows are missing or out of
// date: writes mark the days of the sessions their page views belong to, and BuildSessionSteps rebuilds each
// marked day from page_views. Until it has, readers walk that day's page views instead.
const sessionSteps = "session_steps"

const dayMillis = int64(24 * time.Hour / time.Millisecond)

// SessionDay is the UTC day of a session that started at startMillis (Unix milliseconds): the unit that
// session_steps is built in.
func SessionDay(startMillis int64) time.Time {
	return time.UnixMilli(startMillis - startMillis%dayMillis).UTC()
}

// buildSessionStepsSQL computes the session_steps rows of the sessions that started in [$1, $2) (Unix ms).
// Lists are built unordered and sorted after (list_sort of structs led by the page or view number): an ordered
// list() aggregate cost 0.7 s per day of the bench data set against 0.16 s. Pages are grouped first so that
// each view can carry the position of its page.
const buildSessionStepsSQL = `SELECT instance, user_no, session_start_ms, list_transform(ps, p -> p.plugin),
	flatten(list_transform(ps, (p, i) -> list_transform(p.views, v -> i::UINTEGER))),
	flatten(list_transform(ps, p -> list_transform(p.views, v -> v.plugin))),
	flatten(list_transform(ps, p -> list_transform(p.views, v -> v.route))),
	flatten(list_transform(ps, p -> list_transform(p.views, v -> v.subject)))
FROM (SELECT instance, user_no, session_start_ms, list_sort(list({'page': page, 'plugin': plugin, 'views': views})) AS ps
	FROM (SELECT instance, user_no, session_start_ms, page, any_value(plugin_id) AS plugin,
			list_sort(list({'view': view, 'plugin': plugin_id, 'route': route_no, 'subject': subject})) AS views
		FROM page_views WHERE session_start_ms >= $1 AND session_start_ms < $2 GROUP BY ALL)
	GROUP BY ALL)`

// BuildSessionSteps builds session_steps for the days pending there, a day per transaction, and returns how many
// it built.
func (s *Store) BuildSessionSteps(ctx context.Context) (int, error) {
	days, err := markedDays(ctx, s.db, sessionSteps)
	if err != nil {
		return 0, err
	}
	for i, day := range days {
		if err := s.buildSessionSteps(ctx, day); err != nil {
			return i, err
		}
	}
	return len(days), nil
}

// buildSessionSteps replaces the session_steps rows of the sessions that started on day (UTC) with rows built
// from page_views, and clears the day's mark, in one transaction: readers see either the day pending or built.
func (s *Store) buildSessionSteps(ctx context.Context, day time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	from := day.UnixMilli()
	return s.inTx(ctx, func() error {
		for _, q := range []string{
			"DELETE FROM " + sessionSteps + " WHERE session_start_ms >= $1 AND session_start_ms < $2",
			"INSERT INTO " + sessionSteps + " " + buildSessionStepsSQL,
		} {
			if _, err := s.writeConn.ExecContext(ctx, q, from, from+dayMillis); err != nil {
				return fmt.Errorf("build the session steps of %s: %w", day.Format(time.DateOnly), err)
			}
		}
		_, err := s.writeConn.ExecContext(ctx, "DELETE FROM rollup_days WHERE rollup = '"+sessionSteps+"' AND day = $1", day)
		return err
	})
}

// Queryer is what reads the store: a *sql.DB, *sql.Conn or *sql.Tx.
type Queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// PendingSessionDays returns the UTC days whose sessions session_steps does not hold as they are (see
// sessionSteps): readers walk those days' page views instead. Read it in the transaction of the query it
// shapes.
func PendingSessionDays(ctx context.Context, q Queryer) ([]time.Time, error) {
	return markedDays(ctx, q, sessionSteps)
}
